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
