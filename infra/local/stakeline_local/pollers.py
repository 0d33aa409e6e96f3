"""Lambda's event source mappings, emulated for the local suite: SQS queues
(``SqsEventSource``) and DynamoDB streams (``StreamEventSource``, described further down).

On AWS, Lambda polls a queue for every function with a `Type: SQS` event, hands each batch to
the function as an SQS event, and deletes what succeeded. ``SqsEventSource`` does the same
against the emulator (moto), one batch at a time:

1. ReceiveMessage (long poll, ``WaitTimeSeconds``; ``MaxNumberOfMessages`` = the batch size),
   gathering more messages for up to ``MaximumBatchingWindowInSeconds`` while the batch is not
   full;
2. invoke the function with the SQS event Lambda builds (``sqs_event``);
3. with ``ReportBatchItemFailures``, delete every message except those the response lists in
   ``batchItemFailures``; without it, delete all. If the invocation fails (HTTP error, function
   error, unreadable response) or the response names a message that is not in the batch, delete
   nothing. What is not deleted comes back after the queue's visibility timeout, and the queue's
   redrive policy moves it to the dead-letter queue after ``maxReceiveCount`` receives.

The invoke step (for both kinds) is any callable ``invoke(event) -> response``, raising
``InvocationFailed``; ``LambdaInvoker`` calls a function served by ``cargo lambda watch``.
Tests plug in their own.

Unlike AWS (up to ``ScalingConfig.MaximumConcurrency`` batches at once), one event source
processes one batch at a time.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import quote

from . import log as default_log
from .emulator import DEFAULT_REGION, aws_client
from .template import SqsEvent, StreamEvent, sqs_event_sources, stream_event_sources

# SQS hands out at most 10 messages per ReceiveMessage.
RECEIVE_LIMIT = 10
# Lambda's own long poll.
DEFAULT_WAIT_SECONDS = 20
# The longest a Lambda function may run; locally the first invocation may also compile it.
DEFAULT_INVOKE_TIMEOUT_SECONDS = 900
# Pause after an error talking to SQS or DynamoDB Streams, before trying again.
ERROR_BACKOFF_SECONDS = 1.0
# How often a batching window looks for more messages.
BATCHING_WINDOW_POLL_SECONDS = 0.1


class InvocationFailed(Exception):
    """The function could not be invoked, or it answered with an error: delete nothing."""


Invoke = Callable[[dict], Any]


class LambdaInvoker:
    """Invokes ``function`` through `cargo lambda watch`'s Lambda Invoke API:
    ``POST {base_url}/2015-03-31/functions/{function}/invocations`` with the event as the body.

    cargo lambda watch answers 200 with the function's response, 500 with the error the
    runtime reported, and 200 with ``{"errorType", "errorMessage"}`` when the function failed
    to initialise; all but the first raise ``InvocationFailed``.
    """

    def __init__(self, base_url: str, function: str, timeout: float = DEFAULT_INVOKE_TIMEOUT_SECONDS):
        self.function = function
        self.url = f"{base_url.rstrip('/')}/2015-03-31/functions/{quote(function, safe='')}/invocations"
        self.timeout = timeout
        # Loopback: never through an HTTP(S)_PROXY from the environment.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def __call__(self, event: dict) -> Any:
        request = urllib.request.Request(
            self.url,
            data=json.dumps(event).encode("utf-8"),
            method="POST",
            headers={"content-type": "application/json"},
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace")[:300]
            raise InvocationFailed(f"HTTP {error.code} from {self.function}: {detail}") from None
        except (urllib.error.URLError, OSError) as error:
            raise InvocationFailed(f"cannot invoke {self.function} at {self.url}: {error}") from None
        if not body.strip():
            return None
        try:
            payload = json.loads(body)
        except ValueError:
            raise InvocationFailed(
                f"{self.function} answered something that is not JSON: {body[:200]!r}"
            ) from None
        if isinstance(payload, dict) and {"errorType", "errorMessage"} <= set(payload) and (
            "batchItemFailures" not in payload
        ):
            raise InvocationFailed(
                f"{self.function} failed: {payload['errorType']}: {payload['errorMessage']}"
            )
        return payload


def _b64(data: Any) -> str:
    """Base64 text, as Lambda's events carry binary values."""
    raw = data if isinstance(data, (bytes, bytearray)) else str(data).encode("utf-8")
    return base64.b64encode(raw).decode("ascii")


def _lambda_message_attribute(value: dict) -> dict:
    """A ReceiveMessage message attribute in the shape Lambda's SQS event gives it."""
    converted: dict[str, Any] = {}
    if "StringValue" in value:
        converted["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        converted["binaryValue"] = _b64(value["BinaryValue"])
    converted["stringListValues"] = list(value.get("StringListValues", []))
    converted["binaryListValues"] = [_b64(item) for item in value.get("BinaryListValues", [])]
    converted["dataType"] = value.get("DataType", "String")
    return converted


def sqs_record(message: dict, *, queue_arn: str, region: str) -> dict:
    """One record of Lambda's SQS event, from one message of a ReceiveMessage answer (with
    every system attribute and message attribute requested)."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _lambda_message_attribute(value)
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    record.update({
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    })
    return record


def sqs_event(messages: list[dict], *, queue_arn: str, region: str) -> dict:
    """Lambda's SQS event for a batch of received messages."""
    return {"Records": [sqs_record(m, queue_arn=queue_arn, region=region) for m in messages]}


def failed_message_ids(response: Any, message_ids: list[str]) -> set[str] | None:
    """The messages a ReportBatchItemFailures response reports as failed, or None when the
    response fails the whole batch, as Lambda reads it: null, ``{}`` or an empty/null
    ``batchItemFailures`` is complete success; anything that is not an object, or an
    ``itemIdentifier`` that is missing, empty or not a message of the batch, is complete
    failure."""
    if response is None:
        return set()
    if not isinstance(response, dict):
        return None
    failures = response.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return None
    failed = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in message_ids:
            return None
        failed.add(identifier)
    return failed


@dataclass
class BatchOutcome:
    """What happened to one batch."""

    message_ids: list[str]
    deleted: list[str] = field(default_factory=list)
    # Reported failed by the function, or the whole batch when ``error`` is set.
    failed: list[str] = field(default_factory=list)
    # Why nothing was deleted: the invocation failed or its response was unusable.
    error: str | None = None


def queue_name(queue: str) -> str:
    """The queue name in a queue URL (any host), an ARN, or a bare name."""
    queue = queue.rstrip("/")
    if queue.startswith("arn:"):
        return queue.rsplit(":", 1)[-1]
    return queue.rsplit("/", 1)[-1]


class _EventSource:
    """What both kinds of event source share: the function, how its response is read, and the
    loop in a daemon thread (``start()``, ``request_stop()``, ``stop()``, or a ``with`` block).

    A subclass sets ``thread_name_prefix`` (the thread is named "<prefix>-<label>"), ``label``
    and ``outcomes``, and implements ``_round()``.
    """

    thread_name_prefix: str
    label: str

    def __init__(
        self,
        invoke: Invoke,
        *,
        region: str,
        function: str | None,
        batch_size: int,
        maximum_batching_window: float,
        report_batch_item_failures: bool,
        log: Callable[[str], None],
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.invoke = invoke
        self.region = region
        self.function = function or getattr(invoke, "function", "function")
        self.batch_size = batch_size
        self.maximum_batching_window = maximum_batching_window
        self.report_batch_item_failures = report_batch_item_failures
        self.log = log
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one invocation ----------------------------------------------------------------------

    def _invoke(self, event: dict, ids: list[str]) -> tuple[set[str], str | None]:
        """Hands ``event`` (the batch of ``ids``) to the function: the ids the response reports
        failed (none without ReportBatchItemFailures, where Lambda ignores the response), and
        why the whole batch failed (None when it did not)."""
        try:
            response = self.invoke(event)
        except InvocationFailed as error:
            return set(), f"invocation failed ({error})"
        except Exception as error:  # noqa: BLE001 - a broken invoker is a failed invocation too
            return set(), f"invocation failed ({type(error).__name__}: {error})"
        if not self.report_batch_item_failures:
            return set(), None
        failed = failed_message_ids(response, ids)
        if failed is None:
            return set(), f"the response fails the whole batch: {json.dumps(response)[:300]}"
        return failed, None

    # -- the loop -----------------------------------------------------------------------------

    def _round(self) -> float:
        """One round of the loop; returns how long to pause before the next."""
        raise NotImplementedError

    def run(self) -> None:
        """The loop ``start()`` runs: round after round until stopped. An error is logged and
        the round tried again after a pause: Lambda keeps polling too."""
        while not self._stop.is_set():
            try:
                pause = self._round()
            except Exception as error:  # noqa: BLE001 - keep polling, as Lambda does
                if self._stop.is_set():
                    break
                self.log(f"{self.label} -> {self.function}: {type(error).__name__}: {error}; "
                         f"retrying in {ERROR_BACKOFF_SECONDS:g} s")
                self._stop.wait(ERROR_BACKOFF_SECONDS)
                continue
            if pause:
                self._stop.wait(pause)

    def start(self) -> Self:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self.run, name=f"{self.thread_name_prefix}-{self.label}", daemon=True
            )
            self._thread.start()
        return self

    def request_stop(self) -> None:
        """Asks the loop to end after its current round; returns at once."""
        self._stop.set()

    def stop(self, timeout: float | None = None) -> bool:
        """Ends the loop and waits for it (up to ``timeout``); True once it has ended."""
        self._stop.set()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()


class SqsEventSource(_EventSource):
    """Polls one queue and hands its batches to one function, as Lambda's event source mapping.

    ``queue`` may be a URL (even with the AWS host name moto's CloudFormation reports), an ARN
    or a name: the URL is always resolved by name with GetQueueUrl on ``endpoint``.
    ``start()`` runs the loop in a daemon thread; ``poll_once()`` runs one round in the
    caller's thread (for tests). ``stop()`` ends the loop after the current round.
    """

    thread_name_prefix = "sqs-poller"

    def __init__(
        self,
        endpoint: str,
        queue: str,
        invoke: Invoke,
        *,
        region: str = DEFAULT_REGION,
        function: str | None = None,
        batch_size: int = 10,
        maximum_batching_window: float = 0,
        report_batch_item_failures: bool = True,
        wait_seconds: int = DEFAULT_WAIT_SECONDS,
        label: str | None = None,
        log: Callable[[str], None] = default_log,
    ):
        super().__init__(
            invoke,
            region=region,
            function=function,
            batch_size=batch_size,
            maximum_batching_window=maximum_batching_window,
            report_batch_item_failures=report_batch_item_failures,
            log=log,
        )
        if not 0 <= wait_seconds <= 20:
            raise ValueError(f"wait_seconds must be 0..20 (SQS's limits), got {wait_seconds}")
        self.wait_seconds = wait_seconds
        self._sqs = aws_client("sqs", endpoint, region)
        name = queue_name(queue)
        self.queue_url = self._sqs.get_queue_url(QueueName=name)["QueueUrl"]
        self.queue_arn = self._sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        self.label = label or name
        self.outcomes: list[BatchOutcome] = []

    # -- one round ---------------------------------------------------------------------------

    def _receive(self, count: int, wait_seconds: int) -> list[dict]:
        answer = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(count, RECEIVE_LIMIT),
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return answer.get("Messages", [])

    def receive_batch(self, wait_seconds: int | None = None) -> list[dict]:
        """Up to ``batch_size`` messages: a long poll, then more for up to the batching window."""
        wait = self.wait_seconds if wait_seconds is None else wait_seconds
        messages = self._receive(self.batch_size, wait)
        if not messages:
            return []
        window_ends = time.monotonic() + self.maximum_batching_window
        while len(messages) < self.batch_size and time.monotonic() < window_ends:
            more = self._receive(self.batch_size - len(messages), 0)
            messages += more
            pause = min(BATCHING_WINDOW_POLL_SECONDS, max(0.0, window_ends - time.monotonic()))
            if not more and self._stop.wait(pause):
                break
        return messages

    def process(self, messages: list[dict]) -> BatchOutcome:
        """Invokes the function with ``messages`` and deletes those that succeeded."""
        ids = [m["MessageId"] for m in messages]
        outcome = BatchOutcome(message_ids=ids)
        event = sqs_event(messages, queue_arn=self.queue_arn, region=self.region)
        failed, outcome.error = self._invoke(event, ids)
        if outcome.error:
            outcome.failed = list(ids)
        else:
            outcome.failed = [i for i in ids if i in failed]
            succeeded = [m for m in messages if m["MessageId"] not in failed]
            outcome.deleted = self._delete(succeeded)
        self.outcomes.append(outcome)
        self._report(outcome, messages)
        return outcome

    def _delete(self, messages: list[dict]) -> list[str]:
        deleted: list[str] = []
        for start in range(0, len(messages), RECEIVE_LIMIT):
            chunk = messages[start:start + RECEIVE_LIMIT]
            answer = self._sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(chunk)],
            )
            for success in answer.get("Successful", []):
                deleted.append(chunk[int(success["Id"])]["MessageId"])
            for failure in answer.get("Failed", []):
                message_id = chunk[int(failure["Id"])]["MessageId"]
                self.log(f"{self.label}: could not delete {message_id}: {failure.get('Message')}")
        return deleted

    def _report(self, outcome: BatchOutcome, messages: list[dict]) -> None:
        counts = ",".join(m.get("Attributes", {}).get("ApproximateReceiveCount", "?") for m in messages)
        head = (f"{self.label} -> {self.function}: batch of {len(messages)} "
                f"(receive counts {counts})")
        if outcome.error:
            self.log(f"{head}: {outcome.error}; nothing deleted, all {len(messages)} come back "
                     "after the visibility timeout")
        elif outcome.failed:
            self.log(f"{head}: {len(outcome.deleted)} deleted, {len(outcome.failed)} reported failed "
                     f"({', '.join(outcome.failed)}), back after the visibility timeout")
        else:
            self.log(f"{head}: all {len(outcome.deleted)} processed and deleted")

    def poll_once(self, wait_seconds: int | None = None) -> BatchOutcome | None:
        """Receives one batch and processes it; None when the queue had nothing."""
        messages = self.receive_batch(wait_seconds)
        if not messages:
            return None
        if self._stop.is_set():
            return None  # stopping: leave them to the visibility timeout
        return self.process(messages)

    def _round(self) -> float:
        self.poll_once()
        return 0  # no pause: the long poll is the wait


@dataclass
class EventSourceSpec:
    """One SQS event of the template, resolved to a local queue."""

    function: str
    timeout: int
    event: SqsEvent
    queue_url: str

    def describe(self) -> dict:
        return {
            "queue": self.event.queue,
            "queue_url": self.queue_url,
            "function": self.function,
            "batch_size": self.event.batch_size,
            "maximum_batching_window": self.event.maximum_batching_window,
            "report_batch_item_failures": self.event.report_batch_item_failures,
        }


def event_source_specs(template: dict, resources: dict[str, str]) -> list[EventSourceSpec]:
    """Every enabled SQS event of the template whose queue the emulator holds.

    ``resources`` maps logical ids to what the emulator provisioned (queue URLs for queues).
    Events on queues outside the template are looked up by the name in their ARN.
    """
    specs = []
    for function, event in sqs_event_sources(template):
        if not event.enabled:
            continue
        queue = resources.get(event.queue, event.queue)
        if event.queue in template["Resources"] and event.queue not in resources:
            raise ValueError(
                f"{function.logical_id}.{event.name}: queue {event.queue} was not provisioned locally"
            )
        specs.append(EventSourceSpec(function.binary, function.timeout, event, queue))
    return specs


def start_event_sources(
    specs: list[EventSourceSpec],
    endpoint: str,
    region: str,
    invoke_base_url: str,
    *,
    log: Callable[[str], None] = default_log,
    wait_seconds: int = DEFAULT_WAIT_SECONDS,
) -> list[SqsEventSource]:
    """One running poller per spec, invoking through `cargo lambda watch` at ``invoke_base_url``."""
    def build(spec: EventSourceSpec, invoke: LambdaInvoker) -> SqsEventSource:
        return SqsEventSource(
            endpoint,
            spec.queue_url,
            invoke,
            region=region,
            function=spec.function,
            batch_size=spec.event.batch_size,
            maximum_batching_window=spec.event.maximum_batching_window,
            report_batch_item_failures=spec.event.report_batch_item_failures,
            wait_seconds=wait_seconds,
            label=spec.event.queue,
            log=log,
        )

    return _start_each(
        specs, build, invoke_base_url, log,
        cannot=lambda spec: f"cannot poll {spec.queue_url} for {spec.function}",
        started=lambda spec: (
            f"polling {spec.event.queue} for {spec.function} (batch {spec.event.batch_size}, "
            f"window {spec.event.maximum_batching_window:g} s"
            f"{', ReportBatchItemFailures' if spec.event.report_batch_item_failures else ''})"
        ),
    )


def _start_each(
    specs: list,
    build: Callable[[Any, LambdaInvoker], _EventSource],
    invoke_base_url: str,
    log: Callable[[str], None],
    *,
    cannot: Callable[[Any], str],
    started: Callable[[Any], str],
) -> list:
    """Builds and starts one event source per spec with ``build(spec, invoker of its function)``,
    logging ``started(spec)``. When one cannot be built, stops those already running and raises
    RuntimeError saying which (``cannot(spec)``), so that none is left polling unseen."""
    sources: list[_EventSource] = []
    for spec in specs:
        try:
            # Never less than Lambda's longest run: locally the first invocation may also compile.
            timeout = max(spec.timeout, DEFAULT_INVOKE_TIMEOUT_SECONDS)
            source = build(spec, LambdaInvoker(invoke_base_url, spec.function, timeout))
        except Exception as error:  # noqa: BLE001 - report which one, stop the others
            for running in sources:
                running.stop()
            raise RuntimeError(f"{cannot(spec)}: {error}") from error
        sources.append(source.start())
        log(started(spec))
    return sources


# -- DynamoDB streams ------------------------------------------------------------------------
#
# On AWS, Lambda reads every shard of a table's stream for each function with a `Type: DynamoDB`
# event, drops the records its FilterCriteria do not match, hands the rest to the function in
# batches, in order, and checkpoints per shard. ``StreamEventSource`` does the same against the
# emulator, one batch per shard at a time:
#
# 1. DescribeTable gives the table's LatestStreamArn; DescribeStream its shards (looked up again
#    every ``SHARD_REFRESH_SECONDS``: DynamoDB closes shards and opens child shards over time,
#    and a child is only read once its parent is finished, as Lambda does);
# 2. each shard is read from StartingPosition (TRIM_HORIZON or LATEST) with GetRecords, following
#    NextShardIterator; a shard without one is closed;
# 3. records the filters do not match are dropped, as Lambda drops them (they count as done);
# 4. up to BatchSize matching records go to the function as Lambda's DynamoDB event
#    (``stream_event``), once the batch is full, the shard has nothing more, or
#    MaximumBatchingWindowInSeconds has passed since the first record of the batch was seen;
# 5. the response is read as Lambda reads it for streams with ReportBatchItemFailures:
#    - complete success (null, {}, empty or null batchItemFailures): the checkpoint moves past
#      the batch;
#    - failures reported: the checkpoint moves to the LOWEST reported sequence number N: the
#      records before N are done, and the next batch starts again AT N (so records after N in
#      the batch come again, as on AWS);
#    - a function error, an unusable response, or an itemIdentifier that is empty, missing or
#      not a sequence number of the batch: the same batch again, after a backoff that doubles
#      from ``STREAM_RETRY_BACKOFF[0]`` to ``STREAM_RETRY_BACKOFF[1]`` seconds.
#    Without ReportBatchItemFailures the response is ignored, as Lambda ignores it.
#
# Differences from AWS, on purpose: no MaximumRetryAttempts, MaximumRecordAgeInSeconds or
# on-failure destination locally (a failing batch is retried until it succeeds or the suite
# stops: nothing is ever skipped, so a bug shows up as a stuck shard in the log rather than as
# a lost event); no BisectBatchOnFunctionError (the same batch is retried whole); one thread per
# event source reads its shards in turn (AWS reads shards in parallel; order within a shard is
# the same). Only exact-value and nested-object filter patterns are implemented (the subset
# template.yaml uses); anything else is refused at start rather than matched wrongly.
#
# moto 5.2.5's stream (checked): one shard per table, that never closes (NextShardIterator is
# always there; an empty read hands back an iterator AT the same position); records are never
# trimmed (no 24 h retention); sequence numbers are consecutive integers; records say
# eventVersion "1.0" and awsRegion "us-east-1" whatever the region (rebuilt here as Lambda sends
# them); ApproximateCreationDateTime comes as a timestamp. moto_patches gives its shard
# iterators AWS's 15-minute lifetime; an expired iterator is simply asked for again, from the
# last record read.

# Lambda reads each shard about four times a second.
STREAM_POLL_INTERVAL_SECONDS = 0.25
# GetRecords' maximum.
GET_RECORDS_LIMIT = 1000
# How often the stream's shards are listed again.
SHARD_REFRESH_SECONDS = 10.0
# Retry backoff for a failed batch: first and longest pause, in seconds.
STREAM_RETRY_BACKOFF = (0.5, 10.0)


def check_filter_pattern(pattern: Any, where: str = "pattern") -> None:
    """Refuses (ValueError) what ``filter_matches`` does not implement. Supported: a JSON
    object whose members are objects (nested patterns) or non-empty lists of exact values
    (strings, numbers, booleans, null)."""
    if not isinstance(pattern, dict) or not pattern:
        raise ValueError(f"{where}: a filter pattern must be a non-empty JSON object")
    for key, expected in pattern.items():
        if key.startswith("$"):
            raise ValueError(f"{where}: {key} is not emulated locally (only exact values and nested objects)")
        if isinstance(expected, dict):
            check_filter_pattern(expected, f"{where}.{key}")
        elif isinstance(expected, list) and expected:
            for value in expected:
                if isinstance(value, (dict, list)):
                    raise ValueError(
                        f"{where}.{key}: the content filter {json.dumps(value)} (prefix, anything-but, "
                        "numeric, exists, …) is not emulated locally; only exact values are"
                    )
        else:
            raise ValueError(f"{where}.{key}: must be a non-empty list of values or an object")


def _same_value(actual: Any, expected: Any) -> bool:
    """Exact match as EventBridge-style patterns compare: booleans only equal booleans, numbers
    compare as numbers, strings as strings, null only null."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
    if actual is None or expected is None:
        return actual is None and expected is None
    if isinstance(actual, (int, float)) and isinstance(expected, (int, float)):
        return actual == expected
    return isinstance(actual, str) and isinstance(expected, str) and actual == expected


def filter_matches(pattern: dict, value: Any) -> bool:
    """Whether ``value`` (a Lambda event record) matches ``pattern``: every member of the pattern
    must be present; an object recurses, a list matches when the value (or, for an array value,
    any of its elements) equals one of its entries."""
    if not isinstance(value, dict):
        return False
    for key, expected in pattern.items():
        if key not in value:
            return False
        actual = value[key]
        if isinstance(expected, dict):
            if not filter_matches(expected, actual):
                return False
            continue
        candidates = actual if isinstance(actual, list) else [actual]
        if not any(_same_value(candidate, entry) for candidate in candidates for entry in expected):
            return False
    return True


def _attribute_value(value: dict) -> dict:
    """An AttributeValue as Lambda's event carries it (boto3 decodes binaries to bytes)."""
    (kind, content), = value.items()
    if kind == "B":
        return {"B": _b64(content)}
    if kind == "BS":
        return {"BS": [_b64(item) for item in content]}
    if kind == "M":
        return {"M": {name: _attribute_value(item) for name, item in content.items()}}
    if kind == "L":
        return {"L": [_attribute_value(item) for item in content]}
    return {kind: content}


def _image(image: dict) -> dict:
    return {name: _attribute_value(value) for name, value in image.items()}


def _epoch_seconds(moment: Any) -> int:
    if hasattr(moment, "timestamp"):
        return int(moment.timestamp())
    return int(float(moment))


def stream_record(raw: dict, *, stream_arn: str, region: str) -> dict:
    """One record of Lambda's DynamoDB event, from one record of a GetRecords answer."""
    dynamodb = raw["dynamodb"]
    built: dict[str, Any] = {}
    if "ApproximateCreationDateTime" in dynamodb:
        built["ApproximateCreationDateTime"] = _epoch_seconds(dynamodb["ApproximateCreationDateTime"])
    built["Keys"] = _image(dynamodb["Keys"])
    for image in ("NewImage", "OldImage"):
        if image in dynamodb:
            built[image] = _image(dynamodb[image])
    built["SequenceNumber"] = dynamodb["SequenceNumber"]
    built["SizeBytes"] = dynamodb["SizeBytes"]
    built["StreamViewType"] = dynamodb["StreamViewType"]
    record: dict[str, Any] = {
        "eventID": raw["eventID"],
        "eventName": raw["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": built,
    }
    if "userIdentity" in raw:  # TTL deletions: {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
        record["userIdentity"] = raw["userIdentity"]
    record["eventSourceARN"] = stream_arn
    return record


def stream_event(records: list[dict]) -> dict:
    """Lambda's DynamoDB event for a batch of records built by ``stream_record``."""
    return {"Records": list(records)}


@dataclass
class StreamBatchOutcome:
    """What happened to one batch of one shard."""

    shard_id: str
    sequence_numbers: list[str]
    # Where the next batch of the shard starts when failures were reported (the lowest one).
    checkpoint: str | None = None
    # Why the same batch comes again: the invocation failed or its response was unusable.
    error: str | None = None
    # Records the filters dropped since the shard's previous batch, up to this batch's last record.
    filtered: int = 0
    # 1 for a batch's first invocation, then 2, 3… while the same batch is retried.
    attempt: int = 1

    @property
    def succeeded(self) -> bool:
        return self.error is None and self.checkpoint is None


@dataclass
class _Shard:
    shard_id: str
    parent_id: str | None
    # Where a new iterator starts while nothing has been read: TRIM_HORIZON or LATEST.
    initial_position: str
    iterator: str | None = None
    # Sequence number of the last record read (a new iterator starts after it).
    last_read: str | None = None
    # (record, matches) read and not yet done, in order.
    buffer: list[tuple[dict, bool]] = field(default_factory=list)
    # GetRecords answered without NextShardIterator: nothing comes after the buffer.
    closed: bool = False
    # The batch to invoke again after a failed invocation.
    retry_batch: list[dict] | None = None
    attempt: int = 1
    failures: int = 0
    retry_at: float = 0.0
    window_start: float | None = None
    filtered: int = 0

    def index_of(self, sequence_number: str) -> int:
        for index, (record, _) in enumerate(self.buffer):
            if record["dynamodb"]["SequenceNumber"] == sequence_number:
                return index
        raise KeyError(sequence_number)

    @property
    def finished(self) -> bool:
        return self.closed and not self.buffer and self.retry_batch is None


class StreamEventSource(_EventSource):
    """Reads one table's stream and hands its batches to one function, as Lambda's event source
    mapping for a DynamoDB stream (see the notes above).

    ``table`` is the table's name (its stream is looked up with DescribeTable on ``endpoint``),
    or a stream ARN. ``filters`` are FilterCriteria patterns, parsed; a record is delivered when
    one matches (all records without filters). ``start()`` runs the loop in a daemon thread;
    ``poll_once()`` runs one round in the caller's thread (for tests); ``stop()`` ends the loop
    after the current round. ``streams_client`` replaces the DynamoDB Streams client (tests).
    """

    thread_name_prefix = "stream-poller"

    def __init__(
        self,
        endpoint: str,
        table: str,
        invoke: Invoke,
        *,
        region: str = DEFAULT_REGION,
        function: str | None = None,
        batch_size: int = 100,
        maximum_batching_window: float = 0,
        starting_position: str = "TRIM_HORIZON",
        report_batch_item_failures: bool = False,
        filters: list[dict] | None = None,
        poll_interval: float = STREAM_POLL_INTERVAL_SECONDS,
        retry_backoff: tuple[float, float] = STREAM_RETRY_BACKOFF,
        shard_refresh_seconds: float = SHARD_REFRESH_SECONDS,
        label: str | None = None,
        log: Callable[[str], None] = default_log,
        streams_client: Any = None,
    ):
        super().__init__(
            invoke,
            region=region,
            function=function,
            batch_size=batch_size,
            maximum_batching_window=maximum_batching_window,
            report_batch_item_failures=report_batch_item_failures,
            log=log,
        )
        if starting_position not in ("TRIM_HORIZON", "LATEST"):
            raise ValueError(f"starting_position must be TRIM_HORIZON or LATEST, got {starting_position!r}")
        self.filters = list(filters or [])
        for index, pattern in enumerate(self.filters):
            check_filter_pattern(pattern, f"filter {index}")
        self.starting_position = starting_position
        self.poll_interval = poll_interval
        self.retry_backoff = retry_backoff
        self.shard_refresh_seconds = shard_refresh_seconds
        if "/stream/" in table:
            self.stream_arn = table
            self.table = table.split(":table/", 1)[-1].split("/stream/", 1)[0]
        else:
            self.table = table
            described = aws_client("dynamodb", endpoint, region).describe_table(TableName=table)["Table"]
            if not described.get("LatestStreamArn"):
                raise ValueError(f"table {table} has no stream (it needs a StreamSpecification)")
            self.stream_arn = described["LatestStreamArn"]
        self._streams = streams_client or aws_client("dynamodbstreams", endpoint, region)
        self.label = label or f"{self.table} stream"
        self.outcomes: list[StreamBatchOutcome] = []
        self._shards: dict[str, _Shard] = {}
        self._finished: set[str] = set()
        self._listed_once = False
        self._next_refresh = 0.0

    # -- shards -------------------------------------------------------------------------------

    def refresh_shards(self) -> None:
        """Lists the stream's shards and starts following the new ones."""
        shards: list[dict] = []
        request = {"StreamArn": self.stream_arn}
        while True:
            description = self._streams.describe_stream(**request)["StreamDescription"]
            shards += description.get("Shards", [])
            last = description.get("LastEvaluatedShardId")
            if not last:
                break
            request["ExclusiveStartShardId"] = last
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id in self._shards or shard_id in self._finished:
                continue
            position = "TRIM_HORIZON"
            if not self._listed_once and self.starting_position == "LATEST":
                if "EndingSequenceNumber" in shard.get("SequenceNumberRange", {}):
                    self._finished.add(shard_id)  # closed before we started: nothing new on it
                    continue
                position = "LATEST"
            self._shards[shard_id] = _Shard(shard_id, shard.get("ParentShardId"), position)
        self._listed_once = True
        self._next_refresh = time.monotonic() + self.shard_refresh_seconds

    def _ready(self, shard: _Shard) -> bool:
        """A child shard waits until its parent (when we follow it) is finished."""
        parent = shard.parent_id
        return parent is None or parent in self._finished or parent not in self._shards

    # -- reading ------------------------------------------------------------------------------

    def _matches(self, record: dict) -> bool:
        return not self.filters or any(filter_matches(pattern, record) for pattern in self.filters)

    def _new_iterator(self, shard: _Shard) -> str:
        request = {"StreamArn": self.stream_arn, "ShardId": shard.shard_id}
        if shard.last_read is None:
            request["ShardIteratorType"] = shard.initial_position
        else:
            request.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=shard.last_read)
        return self._streams.get_shard_iterator(**request)["ShardIterator"]

    def _read(self, shard: _Shard) -> None:
        """One GetRecords, when the shard may have more and the next batch is not full yet."""
        if shard.closed or sum(1 for _, matches in shard.buffer if matches) >= self.batch_size:
            return
        if shard.iterator is None:
            shard.iterator = self._new_iterator(shard)
        try:
            answer = self._streams.get_records(ShardIterator=shard.iterator, Limit=GET_RECORDS_LIMIT)
        except Exception as error:  # noqa: BLE001 - e.g. ExpiredIteratorException: ask for a new one
            shard.iterator = None
            code = getattr(error, "response", {}).get("Error", {}).get("Code")
            if code == "ExpiredIteratorException":
                shard.iterator = self._new_iterator(shard)
                answer = self._streams.get_records(ShardIterator=shard.iterator, Limit=GET_RECORDS_LIMIT)
            else:
                raise
        for raw in answer.get("Records", []):
            record = stream_record(raw, stream_arn=self.stream_arn, region=self.region)
            shard.buffer.append((record, self._matches(record)))
            shard.last_read = record["dynamodb"]["SequenceNumber"]
        shard.iterator = answer.get("NextShardIterator")
        if shard.iterator is None:
            shard.closed = True

    def _drop_unmatched_head(self, shard: _Shard) -> None:
        """Records before the first one the filters match are done: Lambda never delivers them."""
        keep = next((i for i, (_, matches) in enumerate(shard.buffer) if matches), len(shard.buffer))
        shard.filtered += keep
        del shard.buffer[:keep]

    # -- one step of one shard ---------------------------------------------------------------

    def _backoff(self, failures: int) -> float:
        first, longest = self.retry_backoff
        return min(longest, first * (2 ** max(0, failures - 1)))

    def _next_batch(self, shard: _Shard) -> list[dict] | None:
        if shard.retry_batch is not None:
            return shard.retry_batch
        self._read(shard)
        self._drop_unmatched_head(shard)
        batch = [record for record, matches in shard.buffer if matches][: self.batch_size]
        if not batch:
            return None
        if len(batch) < self.batch_size and not shard.closed:
            now = time.monotonic()
            if shard.window_start is None:
                shard.window_start = now
            if now - shard.window_start < self.maximum_batching_window:
                return None  # still gathering
        return batch

    def _step(self, shard: _Shard) -> StreamBatchOutcome | None:
        if time.monotonic() < shard.retry_at:
            return None
        batch = self._next_batch(shard)
        if not batch or self._stop.is_set():
            return None
        sequence_numbers = [r["dynamodb"]["SequenceNumber"] for r in batch]
        # Dropped by the filters: before the batch since the previous one, and between its records.
        between = shard.index_of(sequence_numbers[-1]) + 1 - len(batch)
        outcome = StreamBatchOutcome(shard.shard_id, sequence_numbers, filtered=shard.filtered + between,
                                     attempt=shard.attempt)
        failed, outcome.error = self._invoke(stream_event(batch), sequence_numbers)
        if failed:
            outcome.checkpoint = min(failed, key=int)

        delay = 0.0
        if outcome.error:
            shard.retry_batch = batch
            shard.attempt += 1
            shard.failures += 1
            delay = self._backoff(shard.failures)
        else:
            shard.filtered = 0
            shard.retry_batch = None
            shard.attempt = 1
            if outcome.checkpoint is None:
                del shard.buffer[: shard.index_of(sequence_numbers[-1]) + 1]
                shard.failures = 0
                shard.window_start = None
            else:
                done = shard.index_of(outcome.checkpoint)
                del shard.buffer[:done]
                # Progress resets the backoff; the same record failing again lengthens it.
                shard.failures = 1 if done else shard.failures + 1
                delay = self._backoff(shard.failures)
                shard.window_start = 0.0  # a retry does not wait for a batching window
        shard.retry_at = time.monotonic() + delay
        self.outcomes.append(outcome)
        self._report(outcome, delay)
        return outcome

    def _report(self, outcome: StreamBatchOutcome, delay: float) -> None:
        numbers = outcome.sequence_numbers
        span = numbers[0] if len(numbers) == 1 else f"{numbers[0]}..{numbers[-1]}"
        filtered = f", {outcome.filtered} other records filtered out" if outcome.filtered else ""
        again = f" (attempt {outcome.attempt})" if outcome.attempt > 1 else ""
        head = (f"{self.label} -> {self.function}: batch of {len(numbers)}{again} "
                f"(sequence numbers {span}{filtered})")
        if outcome.error:
            self.log(f"{head}: {outcome.error}; the same batch again in {delay:g} s "
                     "(no retry limit locally)")
        elif outcome.checkpoint is not None:
            done = numbers.index(outcome.checkpoint)
            self.log(f"{head}: failure reported at {outcome.checkpoint}; {done} done, the next batch "
                     f"starts at {outcome.checkpoint} in {delay:g} s")
        else:
            self.log(f"{head}: all {len(numbers)} processed")

    # -- rounds and the loop --------------------------------------------------------------------

    def poll_once(self) -> list[StreamBatchOutcome]:
        """One round: lists the shards when due, then gives every ready shard one step (a read,
        then at most one invocation). Returns the batches invoked."""
        if time.monotonic() >= self._next_refresh:
            self.refresh_shards()
        outcomes = []
        for shard in list(self._shards.values()):
            if self._stop.is_set():
                break
            if not self._ready(shard):
                continue
            outcome = self._step(shard)
            if outcome is not None:
                outcomes.append(outcome)
            if shard.finished:
                self._finished.add(shard.shard_id)
                del self._shards[shard.shard_id]
        return outcomes

    def _round(self) -> float:
        outcomes = self.poll_once()
        # A backlog is worked through without pausing; an idle or retrying stream is polled.
        return 0 if any(o.error is None for o in outcomes) else self.poll_interval


@dataclass
class StreamSourceSpec:
    """One DynamoDB event of the template, resolved to a local table."""

    function: str
    timeout: int
    event: StreamEvent
    table_name: str

    def describe(self) -> dict:
        return {
            "table": self.event.table,
            "table_name": self.table_name,
            "function": self.function,
            "starting_position": self.event.starting_position,
            "batch_size": self.event.batch_size,
            "maximum_batching_window": self.event.maximum_batching_window,
            "report_batch_item_failures": self.event.report_batch_item_failures,
            "filters": self.event.filters,
        }

    def summary(self) -> str:
        filters = " or ".join(json.dumps(f, separators=(",", ":")) for f in self.event.filters) or "none"
        return (f"batch {self.event.batch_size}, window {self.event.maximum_batching_window:g} s, "
                f"from {self.event.starting_position}"
                f"{', ReportBatchItemFailures' if self.event.report_batch_item_failures else ''}; "
                f"filter {filters}")


def stream_source_specs(template: dict, resources: dict[str, str]) -> list[StreamSourceSpec]:
    """Every enabled DynamoDB event of the template, on the table the emulator provisioned."""
    specs = []
    for function, event in stream_event_sources(template):
        if not event.enabled:
            continue
        if event.table not in resources:
            raise ValueError(
                f"{function.logical_id}.{event.name}: table {event.table} was not provisioned locally"
            )
        specs.append(StreamSourceSpec(function.binary, function.timeout, event, resources[event.table]))
    return specs


def start_stream_sources(
    specs: list[StreamSourceSpec],
    endpoint: str,
    region: str,
    invoke_base_url: str,
    *,
    log: Callable[[str], None] = default_log,
    poll_interval: float = STREAM_POLL_INTERVAL_SECONDS,
) -> list[StreamEventSource]:
    """One running stream reader per spec, invoking through `cargo lambda watch`."""
    def build(spec: StreamSourceSpec, invoke: LambdaInvoker) -> StreamEventSource:
        return StreamEventSource(
            endpoint,
            spec.table_name,
            invoke,
            region=region,
            function=spec.function,
            batch_size=spec.event.batch_size,
            maximum_batching_window=spec.event.maximum_batching_window,
            starting_position=spec.event.starting_position,
            report_batch_item_failures=spec.event.report_batch_item_failures,
            filters=spec.event.filters,
            poll_interval=poll_interval,
            label=f"{spec.event.table} stream",
            log=log,
        )

    return _start_each(
        specs, build, invoke_base_url, log,
        cannot=lambda spec: f"cannot read the stream of {spec.table_name} for {spec.function}",
        started=lambda spec: f"reading the {spec.event.table} stream for {spec.function} ({spec.summary()})",
    )
