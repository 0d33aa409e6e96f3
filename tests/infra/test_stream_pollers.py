"""The local emulation of Lambda's DynamoDB stream event source mapping
(stakeline_local.pollers.StreamEventSource): against the session's moto with fake invokers, and
against a fake DynamoDB Streams client for what moto never does (closing shards).

Every test writes to a table of its own, so the stream holds exactly its records. Waits poll a
condition until a deadline; nothing relies on a sleep being long enough."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from stakeline_local.pollers import (
    InvocationFailed,
    StreamEventSource,
    check_filter_pattern,
    filter_matches,
)

from infra_helpers import RecordingFunction, wait_for

OUTBOX_FILTER = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"item_type": {"S": ["outbox"]}}}}


@pytest.fixture
def table(aws) -> str:
    """A fresh table with the wallet's keys and a NEW_AND_OLD_IMAGES stream."""
    name = f"stream-poller-{uuid.uuid4().hex[:10]}"
    aws("dynamodb").create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    return name


def put_outbox(aws, table: str, event_id: str, **extra) -> None:
    envelope = {"source": "stakeline.wallet", "detail_type": "DepositCompleted",
                "detail": {"event_id": event_id, "player_id": "p", "first_deposit": True}}
    aws("dynamodb").put_item(TableName=table, Item={
        "pk": {"S": f"OUTBOX#{event_id}"}, "sk": {"S": "OUTBOX"}, "item_type": {"S": "outbox"},
        "event": {"S": json.dumps(envelope)}, "created_at": {"N": "1795392000000"},
        "expires_at": {"N": "1795996800"}, **extra,
    })


def put_other(aws, table: str, pk: str, item_type: str = "account") -> None:
    aws("dynamodb").put_item(TableName=table, Item={
        "pk": {"S": pk}, "sk": {"S": "ACCOUNT"}, "item_type": {"S": item_type}, "cash": {"N": "0"},
    })


class FakeFunction(RecordingFunction):
    """A publisher that records each event as the real one receives it: through JSON."""

    function = "fake-publisher"

    def recorded(self, event: dict) -> dict:
        return json.loads(json.dumps(event))  # what goes over the wire

    def pks(self) -> list[list[str]]:
        with self.lock:
            return [[r["dynamodb"]["Keys"]["pk"]["S"] for r in e["Records"]] for e in self.events]

    def delivered(self) -> list[str]:
        return [pk for batch in self.pks() for pk in batch]


def numbers(event: dict) -> list[str]:
    return [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]


def source(emulator, table, invoke, lines=None, **options) -> StreamEventSource:
    options.setdefault("filters", [OUTBOX_FILTER])
    options.setdefault("report_batch_item_failures", True)
    options.setdefault("poll_interval", 0.05)
    options.setdefault("retry_backoff", (0.05, 0.2))
    return StreamEventSource(
        emulator["endpoint"], table, invoke, region=emulator["region"],
        log=(lines.append if lines is not None else lambda line: None), **options,
    )


def poll_until(poller: StreamEventSource, condition, what: str, timeout: float = 20):
    def step():
        poller.poll_once()
        return condition()
    return wait_for(step, timeout=timeout, what=what, interval=0.02)


def test_the_event_is_lambdas_dynamodb_stream_event(emulator, aws, table):
    put_outbox(aws, table, "DepositCompleted:psp-1", blob={"B": b"\x00\x01"})
    function = FakeFunction()
    poller = source(emulator, table, function)
    poll_until(poller, lambda: function.events, "the first batch")
    [event] = function.events
    [record] = event["Records"]
    stream_arn = aws("dynamodb").describe_table(TableName=table)["Table"]["LatestStreamArn"]
    assert poller.stream_arn == stream_arn
    assert list(record) == ["eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "dynamodb",
                            "eventSourceARN"]
    assert record["eventName"] == "INSERT" and record["eventVersion"] == "1.1"
    assert record["eventSource"] == "aws:dynamodb" and record["awsRegion"] == emulator["region"]
    assert record["eventSourceARN"] == stream_arn
    assert len(record["eventID"]) >= 32
    dynamodb = record["dynamodb"]
    assert list(dynamodb) == ["ApproximateCreationDateTime", "Keys", "NewImage", "SequenceNumber", "SizeBytes",
                              "StreamViewType"]
    assert isinstance(dynamodb["ApproximateCreationDateTime"], int)
    assert abs(dynamodb["ApproximateCreationDateTime"] - time.time()) < 120
    assert dynamodb["Keys"] == {"pk": {"S": "OUTBOX#DepositCompleted:psp-1"}, "sk": {"S": "OUTBOX"}}
    assert dynamodb["NewImage"]["item_type"] == {"S": "outbox"}
    assert dynamodb["NewImage"]["blob"] == {"B": "AAE="}, "binaries in base64, as Lambda sends them"
    assert json.loads(dynamodb["NewImage"]["event"]["S"])["detail"]["event_id"] == "DepositCompleted:psp-1"
    assert dynamodb["SequenceNumber"].isdigit() and isinstance(dynamodb["SizeBytes"], int)
    assert dynamodb["StreamViewType"] == "NEW_AND_OLD_IMAGES"


def test_outbox_inserts_are_delivered_in_order_and_everything_else_is_filtered_out(emulator, aws, table):
    put_outbox(aws, table, "e1")
    put_other(aws, table, "PLAYER#a")                                  # INSERT, not an outbox item
    put_outbox(aws, table, "e2")
    aws("dynamodb").update_item(                                       # MODIFY of an outbox item
        TableName=table, Key={"pk": {"S": "OUTBOX#e1"}, "sk": {"S": "OUTBOX"}},
        UpdateExpression="SET touched = :t", ExpressionAttributeValues={":t": {"N": "1"}},
    )
    aws("dynamodb").delete_item(                                       # REMOVE (a TTL deletion looks so)
        TableName=table, Key={"pk": {"S": "OUTBOX#e2"}, "sk": {"S": "OUTBOX"}})
    put_other(aws, table, "OUTBOX#lookalike", item_type="entry")       # right key, wrong item_type
    put_outbox(aws, table, "e3")
    function = FakeFunction()
    lines: list[str] = []
    poller = source(emulator, table, function, lines)
    poll_until(poller, lambda: "OUTBOX#e3" in function.delivered(), "e3")
    assert function.delivered() == ["OUTBOX#e1", "OUTBOX#e2", "OUTBOX#e3"]
    assert all(r["eventName"] == "INSERT" for e in function.events for r in e["Records"])
    all_numbers = [n for e in function.events for n in numbers(e)]
    assert [int(n) for n in all_numbers] == sorted(int(n) for n in all_numbers)
    assert len(lines) == len(function.events), "one line per batch"
    assert "filtered out" in " ".join(lines)
    # Nothing comes again.
    for _ in range(5):
        poller.poll_once()
    assert function.delivered() == ["OUTBOX#e1", "OUTBOX#e2", "OUTBOX#e3"]


def test_without_filters_every_record_is_delivered(emulator, aws, table):
    put_other(aws, table, "PLAYER#a")
    put_outbox(aws, table, "e1")
    function = FakeFunction()
    poller = source(emulator, table, function, filters=[])
    poll_until(poller, lambda: len(function.delivered()) == 2, "both records")
    assert function.delivered() == ["PLAYER#a", "OUTBOX#e1"]


def test_batches_hold_at_most_the_batch_size(emulator, aws, table):
    for n in range(7):
        put_outbox(aws, table, f"e{n}")
    function = FakeFunction()
    poller = source(emulator, table, function, batch_size=3)
    poll_until(poller, lambda: len(function.delivered()) == 7, "all seven")
    assert [len(batch) for batch in function.pks()] == [3, 3, 1]
    assert function.delivered() == [f"OUTBOX#e{n}" for n in range(7)]


def test_the_batching_window_gathers_before_invoking(emulator, aws, table):
    put_outbox(aws, table, "e1")
    function = FakeFunction()
    poller = source(emulator, table, function, maximum_batching_window=0.5)
    assert poller.poll_once() == [], "a batch that is not full waits for the window"
    put_outbox(aws, table, "e2")
    poll_until(poller, lambda: function.events, "the window to close")
    assert function.pks() == [["OUTBOX#e1", "OUTBOX#e2"]]


def test_a_reported_failure_makes_the_next_batch_start_at_that_record(emulator, aws, table):
    for n in range(5):
        put_outbox(aws, table, f"e{n}")
    calls = []

    def answer(event):
        calls.append(event)
        if len(calls) == 1:  # e2 could not be published
            return {"batchItemFailures": [{"itemIdentifier": numbers(event)[2]}]}
        return {"batchItemFailures": []}

    function = FakeFunction(answer)
    lines: list[str] = []
    poller = source(emulator, table, function, lines)
    poll_until(poller, lambda: len(function.events) == 2, "the retry from e2")
    first, second = function.events
    assert numbers(second) == numbers(first)[2:], "records before N are done; the batch restarts AT N"
    assert function.pks()[1] == ["OUTBOX#e2", "OUTBOX#e3", "OUTBOX#e4"]
    assert f"failure reported at {numbers(first)[2]}; 2 done" in lines[0]
    assert "all 3 processed" in lines[1]
    first_outcome, second_outcome = poller.outcomes
    assert first_outcome.checkpoint == numbers(first)[2] and second_outcome.succeeded


def test_with_several_failures_the_lowest_sequence_number_wins(emulator, aws, table):
    for n in range(4):
        put_outbox(aws, table, f"e{n}")

    def answer(event):
        if len(function.events) == 1:
            return {"batchItemFailures": [{"itemIdentifier": numbers(event)[3]},
                                          {"itemIdentifier": numbers(event)[1]}]}
        return None

    function = FakeFunction(answer)
    poller = source(emulator, table, function)
    poll_until(poller, lambda: len(function.events) == 2, "the retry")
    assert function.pks()[1] == ["OUTBOX#e1", "OUTBOX#e2", "OUTBOX#e3"]


def test_a_function_error_retries_the_same_batch_with_a_backoff(emulator, aws, table):
    put_outbox(aws, table, "e1")
    put_outbox(aws, table, "e2")
    failures = {"left": 2}

    def answer(event):
        if failures["left"]:
            failures["left"] -= 1
            raise InvocationFailed("HTTP 500 from fake: EventBridge is down")
        return {}

    function = FakeFunction(answer)
    lines: list[str] = []
    poller = source(emulator, table, function, lines, retry_backoff=(0.2, 1.0))
    poller.poll_once()
    assert len(function.events) == 1
    put_outbox(aws, table, "e3")  # arrives while the batch waits for its retry
    assert poller.poll_once() == [], "the backoff holds the shard"
    poll_until(poller, lambda: len(function.events) == 3, "two retries")
    assert function.events[1] == function.events[0] == function.events[2], "the very same batch, e3 not added"
    assert [o.attempt for o in poller.outcomes] == [1, 2, 3]
    assert "invocation failed" in lines[0] and "the same batch again in 0.2 s" in lines[0]
    assert "the same batch again in 0.4 s" in lines[1], "the backoff doubles"
    poll_until(poller, lambda: "OUTBOX#e3" in function.delivered(), "e3, after the batch went through")
    assert function.pks()[-1] == ["OUTBOX#e3"]


@pytest.mark.parametrize("response", [
    {"batchItemFailures": [{"itemIdentifier": "12345"}]},   # not a record of the batch
    {"batchItemFailures": [{"itemIdentifier": ""}]},
    {"batchItemFailures": [{"itemIdentifier": None}]},
    {"batchItemFailures": [{"id": "wrong key"}]},
    "not an object",
])
def test_a_response_naming_no_record_of_the_batch_fails_it_whole(emulator, aws, table, response):
    put_outbox(aws, table, "e1")
    put_outbox(aws, table, "e2")
    function = FakeFunction(lambda event: response if len(function.events) == 1 else {})
    poller = source(emulator, table, function)
    poll_until(poller, lambda: len(function.events) == 2, "the retry")
    assert function.events[0] == function.events[1]
    assert poller.outcomes[0].error.startswith("the response fails the whole batch")


def test_without_report_batch_item_failures_the_response_is_ignored(emulator, aws, table):
    put_outbox(aws, table, "e1")
    put_outbox(aws, table, "e2")

    def answer(event):
        return {"batchItemFailures": [{"itemIdentifier": numbers(event)[0]}]}

    function = FakeFunction(answer)
    poller = source(emulator, table, function, report_batch_item_failures=False)
    poll_until(poller, lambda: function.events, "the batch")
    for _ in range(5):
        poller.poll_once()
    assert function.pks() == [["OUTBOX#e1", "OUTBOX#e2"]]


def test_latest_skips_what_was_there_before(emulator, aws, table):
    put_outbox(aws, table, "old")
    function = FakeFunction()
    poller = source(emulator, table, function, starting_position="LATEST")
    poller.poll_once()
    put_outbox(aws, table, "new")
    poll_until(poller, lambda: function.events, "the new record")
    assert function.delivered() == ["OUTBOX#new"]


def test_the_thread_delivers_and_stops_cleanly(emulator, aws, table):
    function = FakeFunction()
    lines: list[str] = []
    poller = source(emulator, table, function, lines).start()
    put_outbox(aws, table, "e1")
    wait_for(lambda: function.events, what="the polling thread to deliver")
    started = time.monotonic()
    assert poller.stop(timeout=10)
    assert time.monotonic() - started < 2
    put_outbox(aws, table, "e2")
    time.sleep(0.3)
    assert function.delivered() == ["OUTBOX#e1"], "nothing after stop"


def test_stop_does_not_wait_for_a_retry_backoff(emulator, aws, table):
    def fail(event):
        raise InvocationFailed("down")

    function = FakeFunction(fail)
    poller = source(emulator, table, function, retry_backoff=(30, 30)).start()
    put_outbox(aws, table, "e1")
    wait_for(lambda: function.events, what="the first attempt")
    started = time.monotonic()
    assert poller.stop(timeout=10)
    assert time.monotonic() - started < 2
    assert len(function.events) == 1


def test_a_table_without_a_stream_is_refused(emulator, aws):
    name = f"no-stream-{uuid.uuid4().hex[:8]}"
    aws("dynamodb").create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    with pytest.raises(ValueError, match="has no stream"):
        source(emulator, name, FakeFunction())


# -- shards that close (DynamoDB does this every few hours; moto never does) ------------------


def _raw(sequence_number: int, pk: str) -> dict:
    keys = {"pk": {"S": pk}, "sk": {"S": "OUTBOX"}}
    return {"eventID": f"id-{sequence_number}", "eventName": "INSERT", "dynamodb": {
        "ApproximateCreationDateTime": 1795392000, "Keys": keys,
        "NewImage": {**keys, "item_type": {"S": "outbox"}},
        "SequenceNumber": str(sequence_number), "SizeBytes": 10, "StreamViewType": "NEW_AND_OLD_IMAGES"}}


class FakeStreams:
    """A DynamoDB Streams client over fixed shards. ``shards``: id -> (parent, closed, records).
    Iterators are (shard, position); ``expire_next`` makes the next GetRecords fail as expired."""

    def __init__(self, shards: dict, page: int = 2):
        self.shards = shards
        self.page = page
        self.listed: list[str] = []
        self.requests: list[dict] = []
        self.expire_next = False

    def describe_stream(self, StreamArn, ExclusiveStartShardId=None):  # noqa: N803 - boto3's names
        ids = list(self.shards)
        start = ids.index(ExclusiveStartShardId) + 1 if ExclusiveStartShardId else 0
        page = ids[start:start + 1]  # one shard per page: pagination is followed
        description = {"Shards": [
            {"ShardId": i, **({"ParentShardId": self.shards[i][0]} if self.shards[i][0] else {}),
             "SequenceNumberRange": {"StartingSequenceNumber": "1",
                                     **({"EndingSequenceNumber": "999"} if self.shards[i][1] else {})}}
            for i in page]}
        if start + 1 < len(ids):
            description["LastEvaluatedShardId"] = page[-1]
        return {"StreamDescription": description}

    def get_shard_iterator(self, StreamArn, ShardId, ShardIteratorType, SequenceNumber=None):  # noqa: N803
        self.requests.append({"ShardId": ShardId, "Type": ShardIteratorType, "SequenceNumber": SequenceNumber})
        records = self.shards[ShardId][2]
        if ShardIteratorType == "TRIM_HORIZON":
            position = 0
        elif ShardIteratorType == "LATEST":
            position = len(records)
        else:
            after = int(SequenceNumber)
            position = next((i for i, r in enumerate(records) if int(r["dynamodb"]["SequenceNumber"]) > after),
                            len(records))
        return {"ShardIterator": json.dumps([ShardId, position])}

    def get_records(self, ShardIterator, Limit):  # noqa: N803
        if self.expire_next:
            self.expire_next = False
            raise ClientError({"Error": {"Code": "ExpiredIteratorException", "Message": "expired"}}, "GetRecords")
        shard_id, position = json.loads(ShardIterator)
        self.listed.append(shard_id)
        _, closed, records = self.shards[shard_id]
        chunk = records[position:position + min(Limit, self.page)]
        answer = {"Records": chunk}
        end = position + len(chunk)
        if not (closed and end >= len(records)):
            answer["NextShardIterator"] = json.dumps([shard_id, end])
        return answer


STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/fake/stream/2026-11-23T00:00:00.000"


def test_a_child_shard_is_read_after_its_parent_is_finished(emulator):
    streams = FakeStreams({
        "shard-child": ("shard-parent", False, [_raw(10, "OUTBOX#c1")]),
        "shard-parent": (None, True, [_raw(1, "OUTBOX#p1"), _raw(2, "OUTBOX#p2"), _raw(3, "OUTBOX#p3")]),
    })
    function = FakeFunction()
    poller = source(emulator, STREAM_ARN, function, streams_client=streams, batch_size=2)
    poll_until(poller, lambda: "OUTBOX#c1" in function.delivered(), "the child's record")
    assert function.delivered() == ["OUTBOX#p1", "OUTBOX#p2", "OUTBOX#p3", "OUTBOX#c1"]
    first_child_read = streams.listed.index("shard-child")
    assert "shard-parent" not in streams.listed[first_child_read:], "the parent was done first"
    assert poller.table == "fake"


def test_an_expired_iterator_is_asked_for_again_after_the_last_record_read(emulator):
    streams = FakeStreams({"shard-1": (None, False, [_raw(n, f"OUTBOX#e{n}") for n in range(1, 5)])})
    function = FakeFunction()
    poller = source(emulator, STREAM_ARN, function, streams_client=streams, batch_size=2)
    poll_until(poller, lambda: len(function.delivered()) == 2, "the first page")
    streams.expire_next = True
    poll_until(poller, lambda: len(function.delivered()) == 4, "the rest")
    assert function.delivered() == [f"OUTBOX#e{n}" for n in range(1, 5)], "nothing skipped, nothing twice"
    assert streams.requests[-1] == {"ShardId": "shard-1", "Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": "2"}


def test_latest_ignores_shards_closed_before_the_start(emulator):
    streams = FakeStreams({
        "shard-old": (None, True, [_raw(1, "OUTBOX#old")]),
        "shard-new": ("shard-old", False, [_raw(5, "OUTBOX#before-start")]),
    })
    function = FakeFunction()
    poller = source(emulator, STREAM_ARN, function, streams_client=streams, starting_position="LATEST")
    poller.poll_once()
    streams.shards["shard-new"][2].append(_raw(6, "OUTBOX#after-start"))
    poll_until(poller, lambda: function.events, "the new record")
    assert function.delivered() == ["OUTBOX#after-start"]


# -- the filter patterns ------------------------------------------------------------------------


RECORD = {
    "eventName": "INSERT",
    "dynamodb": {"NewImage": {"item_type": {"S": "outbox"}, "n": {"N": "5"}, "tags": ["a", "b"],
                              "flag": True, "nothing": None, "count": 1}},
}


@pytest.mark.parametrize("pattern, matches", [
    (OUTBOX_FILTER, True),
    ({"eventName": ["MODIFY", "INSERT"]}, True),
    ({"eventName": ["MODIFY"]}, False),
    ({"dynamodb": {"NewImage": {"item_type": {"S": ["entry"]}}}}, False),
    ({"dynamodb": {"OldImage": {"item_type": {"S": ["outbox"]}}}}, False),      # absent: no match
    ({"dynamodb": {"NewImage": {"tags": ["b"]}}}, True),                      # any element of an array
    ({"dynamodb": {"NewImage": {"flag": [True]}}}, True),
    ({"dynamodb": {"NewImage": {"count": [True]}}}, False),                   # 1 is not true
    ({"dynamodb": {"NewImage": {"flag": [1]}}}, False),
    ({"dynamodb": {"NewImage": {"count": [1.0]}}}, True),                     # numbers as numbers
    ({"dynamodb": {"NewImage": {"n": {"N": ["5"]}}}}, True),                  # DynamoDB numbers are strings
    ({"dynamodb": {"NewImage": {"n": {"N": [5]}}}}, False),
    ({"dynamodb": {"NewImage": {"nothing": [None]}}}, True),
    ({"dynamodb": {"NewImage": {"item_type": ["outbox"]}}}, False),           # an object is not a value
    ({"dynamodb": {"NewImage": {"item_type": {"S": {"X": ["outbox"]}}}}}, False),
])
def test_filter_patterns_match_exact_values_and_nested_objects(pattern, matches):
    check_filter_pattern(pattern)
    assert filter_matches(pattern, RECORD) is matches


@pytest.mark.parametrize("pattern", [
    {"eventName": [{"prefix": "IN"}]},
    {"dynamodb": {"NewImage": {"n": {"N": [{"numeric": [">", 1]}]}}}},
    {"eventName": [{"anything-but": "REMOVE"}]},
    {"eventName": [{"exists": True}]},
    {"$or": [{"eventName": ["INSERT"]}]},
    {"eventName": []},
    {"eventName": "INSERT"},
    {},
])
def test_patterns_the_emulation_does_not_implement_are_refused(emulator, pattern):
    with pytest.raises(ValueError):
        check_filter_pattern(pattern)
    with pytest.raises(ValueError):
        StreamEventSource(emulator["endpoint"], STREAM_ARN, FakeFunction(), filters=[pattern],
                          streams_client=FakeStreams({}))
