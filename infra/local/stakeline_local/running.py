"""Talking to a running local suite (`./dev up`): finding it, sending to its queues, auditing
its table.

A running suite describes itself in ``.local/suite-<pid>.json`` (endpoint, region, stack,
table, queues, and once serving, base_url); `up --ready-file F` writes the same description
to F.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from . import REPO_ROOT, STATE_DIR, log
from . import emulator
from .suite import _alive

AUDIT_PACKAGE = "audit"
AUDIT_BINARY = "reconcile"


class NoSuite(Exception):
    """No local suite is running (or the given ready file does not exist)."""


def running_suites(state_dir: Path = STATE_DIR) -> list[dict]:
    """Descriptions of the suites whose `up` process is alive and whose emulator is
    provisioned, newest first."""
    found = []
    for state_file in state_dir.glob("suite-*.json"):
        try:
            state = json.loads(state_file.read_text())
            modified = state_file.stat().st_mtime
        except (OSError, ValueError):
            continue
        pid = state.get("up_pid")
        if isinstance(pid, int) and _alive(pid) and state.get("endpoint"):
            found.append((modified, state))
    return [state for _, state in sorted(found, key=lambda item: item[0], reverse=True)]


def find_suite(ready_file: Path | None = None, state_dir: Path = STATE_DIR) -> dict:
    """The suite described by ``ready_file``, else the newest running one."""
    if ready_file is not None:
        try:
            return json.loads(Path(ready_file).read_text())
        except FileNotFoundError:
            raise NoSuite(f"{ready_file} does not exist: is that suite still running?") from None
    suites = running_suites(state_dir)
    if not suites:
        raise NoSuite("no local suite is running: start one with ./dev up")
    if len(suites) > 1:
        pids = ", ".join(str(s["up_pid"]) for s in suites)
        log(f"several local suites are running (pids {pids}); using the newest, "
            f"{suites[0]['up_pid']} (--ready-file chooses another)")
    return suites[0]


def enqueue(suite: dict, queue: str, body: str, *, unsigned: bool = False) -> tuple[str, str, bool]:
    """Sends ``body`` to the suite's queue ``queue`` (a template logical id such as
    SettlementQueue, or a queue name). A message to a queue whose messages are signed
    (``auth.SIGNED_QUEUES``) carries its signature as message attributes unless ``unsigned``.
    Returns (queue URL, message id, whether it was signed)."""
    from . import auth
    from .pollers import queue_name

    queues: dict = suite.get("queues") or {}
    by_name = {queue_name(url): logical_id for logical_id, url in queues.items()}
    if queue in queues:
        logical_id, name = queue, queue_name(queues[queue])
    elif queue in by_name:
        logical_id, name = by_name[queue], queue
    else:
        known = ", ".join(sorted(queues)) or "none"
        raise ValueError(f"the suite has no queue {queue!r} (its queues: {known})")
    sqs = emulator.aws_client("sqs", suite["endpoint"], suite["region"])
    # Asked by name on the local endpoint: stack outputs carry the AWS host name.
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    message = {"QueueUrl": url, "MessageBody": body}
    signed = logical_id in auth.SIGNED_QUEUES and not unsigned
    if signed:
        message["MessageAttributes"] = auth.signed_message_attributes(body)
    message_id = sqs.send_message(**message)["MessageId"]
    return url, message_id, signed


# Dead-letter queues that `redrive` leaves to the back office, and why.
NOT_REDRIVEN = {
    "SettlementDeadLetterQueue": (
        "only the aggregator and the ops function may send to SettlementQueue (its policy "
        "denies everyone else), and each message carries the aggregator's signature: redrive "
        "it from the console's Queues page or POST /ops/queues/SettlementDeadLetterQueue/redrive, "
        "which sends each message back with its signature (an id already applied replays)"
    ),
}


# The queues `./dev redrive` sends back through the back office (`POST
# /ops/queues/{queue}/redrive`, the ops function, as the console does): what they hold cannot
# just be put on the bus again.
THROUGH_BACK_OFFICE = {
    "SettlementDeadLetterQueue": "each message goes back to SettlementQueue with its aggregator's signature",
    "OutboxFailureQueue": "each message names a stream batch, whose events are read again from the "
                          "table's stream and published",
}
# The staff member `./dev redrive` acts as (recorded with every redrive it asks for).
REDRIVE_STAFF = "dev-redrive"
# The most messages the back office moves per request.
BACK_OFFICE_BATCH = 500


def redrive_through_back_office(suite: dict, queue: str, reason: str,
                                staff: str = REDRIVE_STAFF) -> tuple[int, int, list[str]]:
    """Asks the running suite's back office to redrive ``queue`` (one of
    ``THROUGH_BACK_OFFICE``), as operator ``staff`` with ``reason``, request after request
    until a request moves less than a full batch. Returns (moved, left, the recorded action
    ids). Raises ValueError with the back office's problem when it refuses."""
    import urllib.error
    import urllib.request

    from . import auth

    base_url = suite.get("base_url")
    if not base_url:
        raise ValueError("the suite is not serving HTTP yet (no base_url): wait for ./dev up to be ready")
    token = auth.mint_token(staff, scope=auth.OPERATOR_SCOPE)
    moved_total, left, actions = 0, 0, []
    while True:
        request = urllib.request.Request(
            f"{base_url.rstrip('/')}/ops/queues/{queue}/redrive",
            data=json.dumps({"reason": reason}).encode(), method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                result = json.loads(response.read())
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            raise ValueError(f"the back office refused the redrive of {queue} ({error.code}): {detail}") from None
        moved_total += result["moved"]
        left = result["left"]
        actions.append(result["action"]["action_id"])
        if result["moved"] < BACK_OFFICE_BATCH:
            return moved_total, left, actions


def _reference(value) -> str | None:
    """The logical id an ``Fn::GetAtt``/``Ref`` names, if any."""
    if isinstance(value, dict):
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            return (target.split(".")[0] if isinstance(target, str) else target[0])
        if "Ref" in value:
            return value["Ref"]
    return None


def redrive_target(template: dict, dead_letter_queue: str) -> str:
    """The queue whose failures ``dead_letter_queue`` (a logical id) holds, from the template:
    the queue whose redrive policy names it, or the queue a rule's target delivers to when
    the target's dead-letter config names it. Raises ValueError for any other queue."""
    if dead_letter_queue in NOT_REDRIVEN:
        raise ValueError(f"{dead_letter_queue} is not redriven: {NOT_REDRIVEN[dead_letter_queue]}")
    resources = template.get("Resources", {})
    for logical_id, resource in resources.items():
        properties = resource.get("Properties") or {}
        if resource.get("Type") == "AWS::SQS::Queue":
            policy = properties.get("RedrivePolicy") or {}
            if _reference(policy.get("deadLetterTargetArn")) == dead_letter_queue:
                return logical_id
        if resource.get("Type") == "AWS::Events::Rule":
            for target in properties.get("Targets") or []:
                if _reference((target.get("DeadLetterConfig") or {}).get("Arn")) == dead_letter_queue:
                    queue = _reference(target.get("Arn"))
                    if queue in resources and resources[queue].get("Type") == "AWS::SQS::Queue":
                        return queue
    raise ValueError(
        f"{dead_letter_queue} is not the dead-letter queue of a queue or of a rule's queue target "
        "in template.yaml (OutboxFailureQueue holds stream coordinates, not messages to resend: "
        "the console's Queues page or POST /ops/queues/OutboxFailureQueue/redrive publishes "
        "their batches again from the table's stream)"
    )


def redrive(suite: dict, template: dict, dead_letter_queue: str) -> tuple[str, int, int]:
    """Sends every message of ``dead_letter_queue`` back the way it first came: its body is
    an EventBridge event, put on the wallet bus again, where the rule delivers it to the
    queue it failed from (on AWS only the rule may send to that queue: going through the bus
    is what its policy allows). A message deleted from the dead-letter queue only once put;
    one that is not an event stays. The consumers are idempotent (bonus and withdrawal ids),
    so an event put twice moves money once. Returns (the queue, messages moved, left)."""
    target = redrive_target(template, dead_letter_queue)
    queues: dict = suite.get("queues") or {}
    buses: dict = suite.get("event_buses") or {}
    if dead_letter_queue not in queues:
        raise ValueError(f"the suite has no queue {dead_letter_queue}")
    if not buses:
        raise ValueError("the suite has no event bus")
    from .pollers import queue_name

    sqs = emulator.aws_client("sqs", suite["endpoint"], suite["region"])
    events = emulator.aws_client("events", suite["endpoint"], suite["region"])
    bus = next(iter(buses.values()))
    # Asked by name on the local endpoint: stack outputs carry the AWS host name.
    url = sqs.get_queue_url(QueueName=queue_name(queues[dead_letter_queue]))["QueueUrl"]
    moved = left = 0
    seen: set[str] = set()
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                    VisibilityTimeout=60).get("Messages", [])
        batch = [m for m in batch if m["MessageId"] not in seen]
        if not batch:
            return target, moved, left
        for message in batch:
            seen.add(message["MessageId"])
            try:
                event = json.loads(message["Body"])
                entry = {"Source": event["source"], "DetailType": event["detail-type"],
                         "Detail": json.dumps(event["detail"]), "EventBusName": bus}
            except (ValueError, KeyError, TypeError):
                log(f"{message['MessageId']} is not an EventBridge event: left in {dead_letter_queue}")
                left += 1
                continue
            answer = events.put_events(Entries=[entry])
            if answer.get("FailedEntryCount"):
                log(f"{message['MessageId']}: the bus refused it: left in {dead_letter_queue}")
                left += 1
                continue
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1


def audit_command(suite: dict, extra: list[str]) -> list[str]:
    """The lead's reconciliation binary against the suite's table."""
    return [
        "cargo", "run", "-q", "-p", AUDIT_PACKAGE, "--bin", AUDIT_BINARY, "--",
        "--table", suite["table"],
        "--endpoint", suite["endpoint"],
        "--region", suite["region"],
        *extra,
    ]


def audit_environment(region: str) -> dict[str, str]:
    """This environment without AWS_* settings (no profile, no endpoint of the caller's), with
    the emulator's dummy credentials: the audit can only ever talk to moto."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    environment.update(emulator.DUMMY_CREDENTIALS)
    environment["AWS_REGION"] = region
    return environment


def exec_audit(suite: dict, extra: list[str]) -> None:
    """Replaces this process with the audit (its exit code is the command's)."""
    command = audit_command(suite, extra)
    cargo = shutil.which("cargo")
    if cargo is None:
        raise OSError("cargo is not on PATH: install the Rust toolchain with rustup")
    log(f"auditing table {suite['table']} on {suite['endpoint']}: {' '.join(command)}")
    os.chdir(REPO_ROOT)
    os.execve(cargo, command, audit_environment(suite["region"]))
