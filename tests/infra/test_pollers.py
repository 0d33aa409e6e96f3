"""The local emulation of Lambda's SQS event source mapping (stakeline_local.pollers), against
the session's moto with fake invokers, and `LambdaInvoker` against a fake `cargo lambda watch`.

Waits poll a condition until a deadline; nothing relies on a sleep being long enough."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from stakeline_local import auth, pollers, running
from stakeline_local.pollers import InvocationFailed, LambdaInvoker, SqsEventSource, failed_message_ids

from infra_helpers import RecordingFunction, wait_for

VISIBILITY_SECONDS = 1
MAX_RECEIVES = 3


@pytest.fixture
def queues(aws):
    """A fresh queue with a 1 s visibility timeout whose redrive policy moves a message to its
    own DLQ after 3 receives: (queue URL, DLQ URL)."""
    sqs = aws("sqs")
    suffix = uuid.uuid4().hex[:10]
    dlq_url = sqs.create_queue(QueueName=f"poller-dlq-{suffix}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(
        QueueName=f"poller-{suffix}",
        Attributes={
            "VisibilityTimeout": str(VISIBILITY_SECONDS),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVES}),
        },
    )["QueueUrl"]
    return queue_url, dlq_url


class FakeFunction(RecordingFunction):
    """A queue consumer that records the events as the poller builds them."""

    function = "fake-settle-queue"

    def bodies(self) -> list[list[str]]:
        with self.lock:
            return [[r["body"] for r in e["Records"]] for e in self.events]

    def receive_counts(self, body: str) -> list[str]:
        with self.lock:
            return [r["attributes"]["ApproximateReceiveCount"]
                    for e in self.events for r in e["Records"] if r["body"] == body]


def fail_bodies(*bodies: str):
    def answer(event):
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]}
                                      for r in event["Records"] if r["body"] in bodies]}
    return answer


def source(emulator, queue_url, invoke, lines=None, **options) -> SqsEventSource:
    options.setdefault("wait_seconds", 1)
    return SqsEventSource(
        emulator["endpoint"], queue_url, invoke, region=emulator["region"],
        log=(lines.append if lines is not None else lambda line: None), **options,
    )


def send(aws, url: str, *bodies: str) -> None:
    for body in bodies:
        aws("sqs").send_message(QueueUrl=url, MessageBody=body)


def depth(aws, url: str) -> int:
    attributes = aws("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_the_event_is_lambdas_sqs_event(emulator, aws, queues):
    queue_url, _ = queues
    body = '{"player_id":"p","bet_id":"b","settlement_id":"s","kind":"rollback"}'
    aws("sqs").send_message(QueueUrl=queue_url, MessageBody=body, MessageAttributes={
        "trace": {"DataType": "String", "StringValue": "abc"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
    })
    function = FakeFunction()
    poller = source(emulator, queue_url.replace("127.0.0.1", "sqs.us-east-1.amazonaws.com"), function)
    assert poller.queue_url == queue_url, "the URL is resolved by name on the local endpoint"
    poller.poll_once()
    [event] = function.events
    [record] = event["Records"]
    arn = aws("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert list(record) == ["messageId", "receiptHandle", "body", "attributes", "messageAttributes",
                            "md5OfMessageAttributes", "md5OfBody", "eventSource", "eventSourceARN", "awsRegion"]
    assert record["body"] == body
    assert record["md5OfBody"] == hashlib.md5(body.encode()).hexdigest()
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == arn
    assert record["awsRegion"] == emulator["region"]
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(record["attributes"])
    assert all(isinstance(v, str) for v in record["attributes"].values())
    assert record["messageAttributes"]["trace"] == {
        "stringValue": "abc", "stringListValues": [], "binaryListValues": [], "dataType": "String",
    }
    assert record["messageAttributes"]["blob"]["dataType"] == "Binary"
    base64.b64decode(record["messageAttributes"]["blob"]["binaryValue"], validate=True)
    json.dumps(event)  # what goes over the wire
    assert depth(aws, queue_url) == 0, "a successful batch is deleted"


def test_a_signed_settlement_reaches_the_function_with_its_signature(emulator, aws, queues):
    """`./dev enqueue SettlementQueue` signs a message in two String message attributes; the
    record hands them over as Lambda does, so settle-queue can check the signature."""
    queue_url, _ = queues
    body = '{"player_id":"p","bet_id":"b","settlement_id":"s","kind":"win","amount":1}'
    attributes = auth.signed_message_attributes(body, timestamp=1795392000)
    sent = aws("sqs").send_message(QueueUrl=queue_url, MessageBody=body, MessageAttributes=attributes)
    function = FakeFunction()
    source(emulator, queue_url, function).poll_once()
    [record] = function.events[0]["Records"]
    assert record["messageAttributes"] == {
        name: {"stringValue": value["StringValue"], "stringListValues": [], "binaryListValues": [],
               "dataType": "String"}
        for name, value in attributes.items()
    }
    assert list(record["messageAttributes"]["X-Stakeline-Signature"]) == [
        "stringValue", "stringListValues", "binaryListValues", "dataType"]
    assert record["md5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    stamp = record["messageAttributes"]["X-Stakeline-Timestamp"]["stringValue"]
    assert stamp == "1795392000"
    assert record["messageAttributes"]["X-Stakeline-Signature"]["stringValue"] == auth.signature(
        auth.INTEGRATION_SECRETS["aggregator"], stamp, "SQS", "/settlement-queue", record["body"])


def test_enqueue_signs_settlements_unless_told_not_to(emulator, aws, queues):
    """`./dev enqueue`'s sending: SettlementQueue messages (named by logical id or by queue
    name) carry the aggregator's signature, `--unsigned` ones and other queues' do not."""
    queue_url, other_url = queues
    suite = {"endpoint": emulator["endpoint"], "region": emulator["region"],
             "queues": {"SettlementQueue": queue_url, "BonusQueue": other_url}}
    body = '{"player_id":"p","bet_id":"b","settlement_id":"s","kind":"rollback"}'
    sent = [  # (message id, signed)
        running.enqueue(suite, "SettlementQueue", body)[1:],
        running.enqueue(suite, pollers.queue_name(queue_url), body)[1:],
        running.enqueue(suite, "SettlementQueue", body, unsigned=True)[1:],
    ]
    assert [signed for _, signed in sent] == [True, True, False]
    assert running.enqueue(suite, "BonusQueue", body)[2] is False

    function = FakeFunction()
    poller = source(emulator, queue_url, function, maximum_batching_window=0.5)
    wait_for(lambda: poller.poll_once() is None and len([r for e in function.events for r in e["Records"]]) == 3,
             what="the three messages")
    records = {r["messageId"]: r for e in function.events for r in e["Records"]}
    for message_id, signed in sent:
        attributes = records[message_id]["messageAttributes"]
        if not signed:
            assert attributes == {}
            continue
        stamp = attributes["X-Stakeline-Timestamp"]["stringValue"]
        assert abs(int(stamp) - time.time()) < 60
        assert attributes["X-Stakeline-Signature"]["stringValue"] == auth.signature(
            auth.INTEGRATION_SECRETS["aggregator"], stamp, "SQS", "/settlement-queue", body)


def test_one_failing_message_is_kept_and_the_others_are_deleted(emulator, aws, queues):
    queue_url, dlq_url = queues
    send(aws, queue_url, "win", "poison", "rollback")
    function = FakeFunction(fail_bodies("poison"))
    lines: list[str] = []
    poller = source(emulator, queue_url, function, lines, maximum_batching_window=0.5)

    outcome = poller.poll_once()
    assert outcome is not None and outcome.error is None
    assert sorted(function.bodies()[0]) == ["poison", "rollback", "win"]
    assert len(outcome.deleted) == 2 and len(outcome.failed) == 1
    assert "2 deleted, 1 reported failed" in lines[-1] and len(lines) == 1

    # The poison message comes back after the visibility timeout, alone, received twice now.
    wait_for(lambda: poller.poll_once(), what="the failed message to come back")
    assert function.bodies()[1:] == [["poison"]]
    assert function.receive_counts("poison") == ["1", "2"]
    assert function.receive_counts("win") == ["1"] and function.receive_counts("rollback") == ["1"]
    assert depth(aws, dlq_url) == 0


def test_a_failed_invocation_deletes_nothing(emulator, aws, queues):
    queue_url, _ = queues
    send(aws, queue_url, "a", "b")

    def crash(event):
        raise InvocationFailed("HTTP 500 from fake: panicked")

    lines: list[str] = []
    function = FakeFunction(crash)
    poller = source(emulator, queue_url, function, lines, maximum_batching_window=0.5)
    outcome = poller.poll_once()
    assert outcome.deleted == [] and sorted(outcome.failed) == sorted(outcome.message_ids)
    assert "invocation failed" in outcome.error and "nothing deleted" in lines[-1]

    # Both come back; a healthy function then takes them.
    function.answer = lambda event: None

    def both_back():
        poller.poll_once()
        return sorted(b for batch in function.bodies()[1:] for b in batch) == ["a", "b"]

    wait_for(both_back, what="both messages to come back")
    assert function.receive_counts("a") == ["1", "2"] and function.receive_counts("b") == ["1", "2"]
    assert depth(aws, queue_url) == 0


@pytest.mark.parametrize("response", [
    {"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]},
    {"batchItemFailures": [{"itemIdentifier": ""}]},
    {"batchItemFailures": [{"id": "wrong key"}]},
    {"batchItemFailures": "nope"},
    "a string is not a batch response",
])
def test_a_response_naming_no_message_of_the_batch_fails_it_whole(emulator, aws, queues, response):
    queue_url, _ = queues
    send(aws, queue_url, "x")
    outcome = source(emulator, queue_url, FakeFunction(lambda event: response)).poll_once()
    assert outcome.deleted == [] and outcome.error and outcome.error.startswith("the response fails")
    assert depth(aws, queue_url) == 1


def test_without_report_batch_item_failures_the_response_is_ignored(emulator, aws, queues):
    queue_url, _ = queues
    send(aws, queue_url, "x")
    poller = source(emulator, queue_url, FakeFunction(fail_bodies("x")), report_batch_item_failures=False)
    assert len(poller.poll_once().deleted) == 1
    assert depth(aws, queue_url) == 0


def test_after_max_receives_the_message_is_in_the_dead_letter_queue(emulator, aws, queues):
    queue_url, dlq_url = queues
    send(aws, queue_url, "ok", "poison")
    function = FakeFunction(fail_bodies("poison"))
    lines: list[str] = []
    with source(emulator, queue_url, function, lines):  # the polling thread, as in ./dev up
        wait_for(lambda: depth(aws, dlq_url) == 1, timeout=30, what="the poison message in the DLQ")
    assert function.receive_counts("poison") == [str(n) for n in range(1, MAX_RECEIVES + 1)]
    assert function.receive_counts("ok") == ["1"]
    assert depth(aws, queue_url) == 0
    [message] = aws("sqs").receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1)["Messages"]
    assert message["Body"] == "poison"
    assert len(lines) == len(function.events), "one progress line per batch"


def test_stop_ends_the_polling_thread(emulator, queues):
    queue_url, _ = queues
    poller = source(emulator, queue_url, FakeFunction()).start()
    time.sleep(0.2)
    started = time.monotonic()
    assert poller.stop(timeout=10)
    assert time.monotonic() - started < 5


def test_failed_message_ids_reads_responses_as_lambda_does():
    ids = ["m1", "m2"]
    for success in (None, {}, {"batchItemFailures": None}, {"batchItemFailures": []}):
        assert failed_message_ids(success, ids) == set()
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": "m2"}]}, ids) == {"m2"}
    for failure in ([], "x", 1, {"batchItemFailures": [{"itemIdentifier": None}]},
                    {"batchItemFailures": [{"itemIdentifier": "m3"}]}, {"batchItemFailures": {}}):
        assert failed_message_ids(failure, ids) is None


class FakeWatch:
    """Answers Lambda Invoke API calls the way `cargo lambda watch` does."""

    def __init__(self, answers: dict[str, tuple[int, bytes]]):
        self.answers = answers
        self.calls: list[tuple[str, dict]] = []
        watch = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["content-length"]))
                watch.calls.append((self.path, json.loads(body)))
                status, payload = watch.answers.get(self.path, (404, b'{"message":"no such function"}'))
                self.send_response(status)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_watch():
    watches = []

    def make(answers):
        watches.append(FakeWatch(answers))
        return watches[-1]

    yield make
    for watch in watches:
        watch.close()


ROUTE = "/2015-03-31/functions/settle-queue/invocations"


def test_lambda_invoker_speaks_cargo_lambdas_invoke_api(fake_watch):
    watch = fake_watch({ROUTE: (200, b'{"batchItemFailures":[{"itemIdentifier":"m1"}]}')})
    invoke = LambdaInvoker(watch.base_url, "settle-queue", timeout=5)
    assert invoke({"Records": []}) == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert watch.calls == [(ROUTE, {"Records": []})]
    watch.answers[ROUTE] = (200, b"")
    assert invoke({"Records": []}) is None


@pytest.mark.parametrize("status, payload, message", [
    (500, b'{"errorType":"&alloc::boxed::Box<dyn Error>","errorMessage":"boom"}', "HTTP 500"),
    (200, b'{"errorType":"Runtime.InitError","errorMessage":"TABLE_NAME missing"}', "Runtime.InitError"),
    (200, b"not json", "not JSON"),
])
def test_lambda_invoker_turns_function_errors_into_failed_invocations(fake_watch, status, payload, message):
    watch = fake_watch({ROUTE: (status, payload)})
    with pytest.raises(InvocationFailed, match=message):
        LambdaInvoker(watch.base_url, "settle-queue", timeout=5)({"Records": []})


def test_lambda_invoker_reports_an_unknown_function_or_no_server(fake_watch):
    watch = fake_watch({})
    with pytest.raises(InvocationFailed, match="HTTP 404"):
        LambdaInvoker(watch.base_url, "settle-queue", timeout=5)({})
    watch.close()
    with pytest.raises(InvocationFailed, match="cannot invoke"):
        LambdaInvoker(watch.base_url, "settle-queue", timeout=2)({})


def test_the_template_queue_is_polled_for_settle_queue(emulator, aws, template, fake_watch):
    """What `./dev up` starts: from template.yaml, through the Invoke API, on the real queue."""
    specs = pollers.event_source_specs(template, emulator["resources"])
    assert sorted((s.event.queue, s.function, s.event.batch_size, s.event.maximum_batching_window,
                   s.event.report_batch_item_failures) for s in specs) == [
        ("BonusQueue", "bonus-award", 10, 1.0, True),
        ("PayoutQueue", "payout", 1, 0.0, True),
        ("SettlementQueue", "settle-queue", 10, 1.0, True)]
    for spec in specs:
        assert spec.queue_url == emulator["resources"][spec.event.queue]
    specs = [s for s in specs if s.event.queue == "SettlementQueue"]

    watch = fake_watch({ROUTE: (200, b'{"batchItemFailures":[]}')})
    lines: list[str] = []
    sources = pollers.start_event_sources(specs, emulator["endpoint"], emulator["region"], watch.base_url,
                                          log=lines.append, wait_seconds=1)
    try:
        body = json.dumps({"player_id": "p", "bet_id": "b", "settlement_id": "s", "kind": "win", "amount": 1})
        send(aws, specs[0].queue_url, body)
        wait_for(lambda: watch.calls, what="the settle-queue invocation")
        wait_for(lambda: depth(aws, specs[0].queue_url) == 0, what="the message to be deleted")
    finally:
        for started in sources:
            started.request_stop()
        for started in sources:
            assert started.stop(timeout=30)
    [(path, event)] = watch.calls
    assert path == ROUTE and [r["body"] for r in event["Records"]] == [body]
    assert event["Records"][0]["eventSourceARN"].endswith(":" + emulator["outputs"]["SettlementQueueName"])
    assert any("SettlementQueue -> settle-queue: batch of 1" in line for line in lines)


PUBLISHER_ROUTE = "/2015-03-31/functions/publisher/invocations"


def test_the_template_table_stream_is_read_for_the_publisher(emulator, aws, template, fake_watch):
    """What `./dev up` starts for the publisher: the wallet table's stream, filtered to writes
    marked `publish` = "events" (inserts and modifies), through the Invoke API."""
    specs = pollers.stream_source_specs(template, emulator["resources"])
    assert [(s.event.table, s.table_name, s.function) for s in specs] == [
        ("WalletTable", emulator["outputs"]["WalletTableName"], "publisher")]
    assert specs[0].describe()["filters"] == [
        {"eventName": ["INSERT", "MODIFY"], "dynamodb": {"NewImage": {"publish": {"S": ["events"]}}}}]

    watch = fake_watch({PUBLISHER_ROUTE: (200, b'{"batchItemFailures":[]}')})
    lines: list[str] = []
    table = specs[0].table_name
    event_id = f"DepositCompleted:stream-{uuid.uuid4().hex[:8]}"
    sources = pollers.start_stream_sources(specs, emulator["endpoint"], emulator["region"], watch.base_url,
                                           log=lines.append, poll_interval=0.05)
    try:
        aws("dynamodb").put_item(TableName=table, Item={
            "pk": {"S": f"PLAYER#{event_id}"}, "sk": {"S": "PROFILE"}, "item_type": {"S": "profile"}})
        aws("dynamodb").put_item(TableName=table, Item={
            "pk": {"S": f"MARKED#{event_id}"}, "sk": {"S": "WALLET"}, "item_type": {"S": "wallet"},
            "events": {"S": "[]"}, "publish": {"S": "events"}})

        def delivered():
            return [r["dynamodb"]["Keys"]["pk"]["S"] for _, event in watch.calls for r in event["Records"]]

        wait_for(lambda: f"MARKED#{event_id}" in delivered(), what="the marked write handed to the publisher")
    finally:
        for started in sources:
            assert started.stop(timeout=30)
    assert {path for path, _ in watch.calls} == {PUBLISHER_ROUTE}
    assert f"PLAYER#{event_id}" not in delivered(), "only marked writes reach the publisher"
    assert all(p.startswith("MARKED#") for p in delivered())
    assert any(line.startswith("reading the WalletTable stream for publisher") for line in lines)
    assert any("WalletTable stream -> publisher: batch of" in line for line in lines)
