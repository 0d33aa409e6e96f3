"""Lambda's SQS event source mapping, emulated for the local suite.

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

The invoke step is any callable ``invoke(event) -> response``, raising ``InvocationFailed``;
``LambdaInvoker`` calls a function served by ``cargo lambda watch``. Tests plug in their own.

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
from typing import Any
from urllib.parse import quote

from . import log as default_log
from .emulator import DEFAULT_REGION, aws_client
from .template import SqsEvent, sqs_event_sources

# SQS hands out at most 10 messages per ReceiveMessage.
RECEIVE_LIMIT = 10
# Lambda's own long poll.
DEFAULT_WAIT_SECONDS = 20
# The longest a Lambda function may run; locally the first invocation may also compile it.
DEFAULT_INVOKE_TIMEOUT_SECONDS = 900
# Pause after an error talking to SQS, before trying again.
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


def _lambda_message_attribute(value: dict) -> dict:
    """A ReceiveMessage message attribute in the shape Lambda's SQS event gives it."""
    def b64(data: Any) -> str:
        raw = data if isinstance(data, (bytes, bytearray)) else str(data).encode("utf-8")
        return base64.b64encode(raw).decode("ascii")

    converted: dict[str, Any] = {}
    if "StringValue" in value:
        converted["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        converted["binaryValue"] = b64(value["BinaryValue"])
    converted["stringListValues"] = list(value.get("StringListValues", []))
    converted["binaryListValues"] = [b64(item) for item in value.get("BinaryListValues", [])]
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


class SqsEventSource:
    """Polls one queue and hands its batches to one function, as Lambda's event source mapping.

    ``queue`` may be a URL (even with the AWS host name moto's CloudFormation reports), an ARN
    or a name: the URL is always resolved by name with GetQueueUrl on ``endpoint``.
    ``start()`` runs the loop in a daemon thread; ``poll_once()`` runs one round in the
    caller's thread (for tests). ``stop()`` ends the loop after the current round.
    """

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
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if not 0 <= wait_seconds <= 20:
            raise ValueError(f"wait_seconds must be 0..20 (SQS's limits), got {wait_seconds}")
        self.invoke = invoke
        self.region = region
        self.function = function or getattr(invoke, "function", "function")
        self.batch_size = batch_size
        self.maximum_batching_window = maximum_batching_window
        self.report_batch_item_failures = report_batch_item_failures
        self.wait_seconds = wait_seconds
        self.log = log
        self._sqs = aws_client("sqs", endpoint, region)
        name = queue_name(queue)
        self.queue_url = self._sqs.get_queue_url(QueueName=name)["QueueUrl"]
        self.queue_arn = self._sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        self.label = label or name
        self.outcomes: list[BatchOutcome] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

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
        try:
            response = self.invoke(event)
        except InvocationFailed as error:
            outcome.error = f"invocation failed ({error})"
        except Exception as error:  # noqa: BLE001 - a broken invoker is a failed invocation too
            outcome.error = f"invocation failed ({type(error).__name__}: {error})"
        else:
            failed = failed_message_ids(response, ids) if self.report_batch_item_failures else set()
            if failed is None:
                outcome.error = f"the response fails the whole batch: {json.dumps(response)[:300]}"
            else:
                outcome.failed = [i for i in ids if i in failed]
                succeeded = [m for m in messages if m["MessageId"] not in failed]
                outcome.deleted = self._delete(succeeded)
        if outcome.error:
            outcome.failed = list(ids)
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

    # -- the loop -----------------------------------------------------------------------------

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception as error:  # noqa: BLE001 - keep polling, as Lambda does
                if self._stop.is_set():
                    break
                self.log(f"{self.label} -> {self.function}: {type(error).__name__}: {error}; "
                         f"retrying in {ERROR_BACKOFF_SECONDS:g} s")
                self._stop.wait(ERROR_BACKOFF_SECONDS)

    def start(self) -> "SqsEventSource":
        if self._thread is None:
            self._thread = threading.Thread(
                target=self.run, name=f"sqs-poller-{self.label}", daemon=True
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

    def __enter__(self) -> "SqsEventSource":
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()


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
    sources: list[SqsEventSource] = []
    for spec in specs:
        try:
            source = SqsEventSource(
                endpoint,
                spec.queue_url,
                LambdaInvoker(invoke_base_url, spec.function, max(spec.timeout, DEFAULT_INVOKE_TIMEOUT_SECONDS)),
                region=region,
                function=spec.function,
                batch_size=spec.event.batch_size,
                maximum_batching_window=spec.event.maximum_batching_window,
                report_batch_item_failures=spec.event.report_batch_item_failures,
                wait_seconds=wait_seconds,
                label=spec.event.queue,
                log=log,
            )
        except Exception as error:  # noqa: BLE001 - report which queue, stop the others
            for started in sources:
                started.stop()
            raise RuntimeError(f"cannot poll {spec.queue_url} for {spec.function}: {error}") from error
        sources.append(source.start())
        log(f"polling {spec.event.queue} for {spec.function} (batch {spec.event.batch_size}, "
            f"window {spec.event.maximum_batching_window:g} s"
            f"{', ReportBatchItemFailures' if spec.event.report_batch_item_failures else ''})")
    return sources
