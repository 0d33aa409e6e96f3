"""`./dev up`'s SQS side, `./dev enqueue` and `./dev audit`, with stand-ins for `cargo` and
`cargo lambda watch`: nothing here compiles or runs Rust.

The stand-in cargo-lambda serves Lambda's Invoke API the way `cargo lambda watch` does, records
each invocation, and reports every message whose body mentions "poison" as a batch item
failure. As `publisher` it does what the real one will: puts the events of each record it is
handed (a write marked `publish`) on the bus named by EVENT_BUS_NAME. The stand-in cargo records how it was called."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from stakeline_local import emulator as local_emulator
from stakeline_local import running
from stakeline_local.emulator import STACK_PY

from infra_helpers import wait_for

FAKE_WATCH = r'''
import json, os, re, signal, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

args = sys.argv[1:]
assert args[:2] == ["lambda", "watch"], args
address = args[args.index("--invoke-address") + 1]
port = int(args[args.index("--invoke-port") + 1])
environment = open(args[args.index("--env-file") + 1]).read()
variables = dict(line.split("=", 1) for line in environment.splitlines())
route = re.compile(r"^/2015-03-31/functions/([^/]+)/invocations$")


def publish(records):
    """The publisher's job: each marked write's events onto the wallet bus."""
    import boto3

    events = boto3.client("events", endpoint_url=variables["AWS_ENDPOINT_URL"],
                          region_name=variables["AWS_REGION"], aws_access_key_id="test",
                          aws_secret_access_key="test")
    for record in records:
      for event in json.loads(record["dynamodb"]["NewImage"]["events"]["S"]):
        events.put_events(Entries=[{"Source": event["source"], "DetailType": event["detail_type"],
                                    "Detail": json.dumps(event["detail"]),
                                    "EventBusName": variables["EVENT_BUS_NAME"]}])


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        event = json.loads(self.rfile.read(int(self.headers["content-length"])))
        match = route.match(self.path)
        if not match:
            self.send_response(404)
            self.end_headers()
            return
        with open(os.environ["FAKE_WATCH_CALLS"], "a") as calls:
            calls.write(json.dumps({"function": match.group(1), "event": event,
                                    "environment": environment}) + "\n")
        if match.group(1) == "publisher":
            publish(event["Records"])
        failures = [{"itemIdentifier": r["messageId"]} for r in event["Records"] if "poison" in r.get("body", "")]
        payload = json.dumps({"batchItemFailures": failures}).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
ThreadingHTTPServer((address, port), Handler).serve_forever()
'''

FAKE_CARGO = r'''
import json, os, sys
record = {"argv": sys.argv[1:], "cwd": os.getcwd(),
          "aws": {k: v for k, v in os.environ.items() if k.startswith("AWS_")}}
with open(os.environ["FAKE_CARGO_RECORD"], "w") as handle:
    json.dump(record, handle)
'''


def executable(path: Path, source: str) -> Path:
    path.write_text(f"#!{sys.executable}\n{source}")
    path.chmod(0o755)
    return path


@pytest.fixture
def fakes(tmp_path):
    """A PATH whose `cargo` is the stand-in, the stand-in cargo-lambda, and their records."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    executable(bin_dir / "cargo", FAKE_CARGO)
    watch = executable(tmp_path / "fake-watch", FAKE_WATCH)
    environment = dict(os.environ)
    environment["PATH"] = f"{bin_dir}{os.pathsep}{environment.get('PATH', '')}"
    environment["FAKE_CARGO_RECORD"] = str(tmp_path / "cargo.json")
    environment["FAKE_WATCH_CALLS"] = str(tmp_path / "calls.jsonl")
    environment["AWS_PROFILE"] = "a-real-profile-that-must-not-leak"
    return {"env": environment, "watch": watch, "cargo_record": tmp_path / "cargo.json",
            "calls": tmp_path / "calls.jsonl"}


def stack(*args: str, env: dict, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(STACK_PY), *args], env=env, capture_output=True,
                          text=True, timeout=60, **kwargs)


def calls(fakes) -> list[dict]:
    path = fakes["calls"]
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_without_a_running_suite_enqueue_and_audit_exit_2(tmp_path, fakes):
    empty = tmp_path / "state"
    empty.mkdir()
    audit = stack("audit", "--state-dir", str(empty), env=fakes["env"])
    assert audit.returncode == 2
    assert "no local suite is running" in audit.stderr and "./dev up" in audit.stderr
    assert not fakes["cargo_record"].exists(), "cargo must not run without a suite"
    enqueue = stack("enqueue", "SettlementQueue", "--body", "{}", "--state-dir", str(empty), env=fakes["env"])
    assert enqueue.returncode == 2
    redrive = stack("redrive", "PayoutDeadLetterQueue", "--state-dir", str(empty), env=fakes["env"])
    assert redrive.returncode == 2 and "no local suite is running" in redrive.stderr
    missing = stack("audit", "--ready-file", str(tmp_path / "gone.json"), env=fakes["env"])
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def test_only_live_provisioned_suites_are_found(tmp_path):
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    (tmp_path / "suite-1.json").write_text(json.dumps({"up_pid": finished.pid, "endpoint": "http://dead"}))
    (tmp_path / "suite-2.json").write_text(json.dumps({"up_pid": os.getpid()}))  # not provisioned yet
    (tmp_path / "suite-3.json").write_text("{not json")
    assert running.running_suites(tmp_path) == []
    with pytest.raises(running.NoSuite):
        running.find_suite(None, tmp_path)
    live = {"up_pid": os.getpid(), "endpoint": "http://127.0.0.1:1", "region": "us-east-1", "table": "t"}
    (tmp_path / "suite-4.json").write_text(json.dumps(live))
    assert running.find_suite(None, tmp_path) == live


def test_audit_runs_reconcile_against_the_suites_table(tmp_path, fakes, repo_root):
    ready = tmp_path / "ready.json"
    ready.write_text(json.dumps({"endpoint": "http://127.0.0.1:4566", "region": "eu-west-1",
                                 "table": "stakeline-local-WalletTable-X"}))
    result = stack("audit", "--ready-file", str(ready), "--", "--verbose", env=fakes["env"])
    assert result.returncode == 0, result.stderr
    record = json.loads(fakes["cargo_record"].read_text())
    assert record["argv"] == [
        "run", "-q", "-p", "audit", "--bin", "reconcile", "--",
        "--table", "stakeline-local-WalletTable-X", "--endpoint", "http://127.0.0.1:4566",
        "--region", "eu-west-1", "--verbose",
    ]
    assert Path(record["cwd"]) == repo_root
    assert record["aws"] == {**local_emulator.DUMMY_CREDENTIALS, "AWS_REGION": "eu-west-1"}


def test_up_polls_the_settlement_queue_and_enqueue_feeds_it(tmp_path, fakes):
    """`up` with stand-ins: the ready file names the queues, `enqueue` sends to the settlement
    queue, the poller invokes settle-queue through the Invoke API, deletes what succeeded and
    keeps the poison message. An outbox item written to the table reaches the publisher through
    the stream reader; the event it puts on the bus reaches bonus-award through the rule and the
    bonus queue's poller. SIGTERM stops it all cleanly."""
    ready_file = tmp_path / "ready.json"
    up = subprocess.Popen(
        [sys.executable, str(STACK_PY), "up", "--port", "0", "--emulator-port", "0", "--no-build",
         "--no-reload", "--ready-file", str(ready_file), "--cargo-lambda", str(fakes["watch"]),
         "--stack", f"up-test-{os.getpid()}"],
        env=fakes["env"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        wait_for(lambda: ready_file.exists() or up.poll() is not None, timeout=60, what="the ready file")
        assert up.poll() is None, up.stderr.read()
        ready = json.loads(ready_file.read_text())
        assert set(ready["queues"]) == {"SettlementQueue", "SettlementDeadLetterQueue", "BonusQueue",
                                        "BonusDeadLetterQueue", "BonusRuleDeadLetterQueue", "OutboxFailureQueue",
                                        "PayoutQueue", "PayoutDeadLetterQueue", "PayoutRuleDeadLetterQueue"}
        assert all(url.startswith(ready["endpoint"] + "/") for url in ready["queues"].values())
        assert sorted((s["queue"], s["function"]) for s in ready["event_sources"]) == [
            ("BonusQueue", "bonus-award"), ("PayoutQueue", "payout"), ("SettlementQueue", "settle-queue")]
        assert [(s["table"], s["table_name"], s["function"]) for s in ready["stream_sources"]] == [
            ("WalletTable", ready["table"], "publisher")]
        assert ready["event_buses"] == {"WalletEventBus": f"up-test-{os.getpid()}-wallet"}
        # The sandbox payment provider serves, and `sandbox` reaches it.
        assert ready["sandbox_provider"].startswith("http://127.0.0.1:")
        # The operator console serves beside the API, with the dev login's configuration.
        with urllib.request.urlopen(ready["console_url"] + "/config.json", timeout=10) as response:
            assert json.loads(response.read()) == {"auth": "dev"}
        sandbox = stack("sandbox", "status", "--ready-file", str(ready_file), env=fakes["env"])
        assert sandbox.returncode == 0, sandbox.stderr
        assert json.loads(sandbox.stdout) == {"up": True, "payouts": []}

        sent = {}
        for body in ('{"player_id":"p","bet_id":"b1","settlement_id":"s1","kind":"win","amount":5}',
                     '{"poison": true',
                     '{"player_id":"p","bet_id":"b2","settlement_id":"s2","kind":"rollback"}'):
            result = stack("enqueue", "SettlementQueue", "--body", body, "--ready-file", str(ready_file),
                           env=fakes["env"])
            assert result.returncode == 0, result.stderr
            sent[result.stdout.strip()] = body

        def invoked_ids():
            return {r["messageId"] for c in calls(fakes) if c["function"] == "settle-queue"
                    for r in c["event"]["Records"]}

        wait_for(lambda: invoked_ids() == set(sent), timeout=30, what="every message handed to settle-queue")
        assert "AGGREGATOR_HMAC_SECRETS=stakeline-local-aggregator-secret" in calls(fakes)[0]["environment"]
        assert "BONUS_CAMPAIGNS='[{" in calls(fakes)[0]["environment"], "JSON is quoted in the env file"

        sqs = local_emulator.aws_client("sqs", ready["endpoint"], ready["region"])
        queue = ready["queues"]["SettlementQueue"]

        def in_flight() -> int:
            attributes = sqs.get_queue_attributes(
                QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages",
                                                "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
            return int(attributes["ApproximateNumberOfMessages"]) + int(
                attributes["ApproximateNumberOfMessagesNotVisible"])

        # The two good ones are deleted; the poison one waits out its 190 s visibility timeout.
        wait_for(lambda: in_flight() == 1, timeout=30, what="the processed messages to be deleted")

        # The choreography: a first deposit's wallet write -> stream -> publisher -> bus -> rule
        # -> BonusQueue -> bonus-award; a later deposit's event stops at the rule.
        dynamodb = local_emulator.aws_client("dynamodb", ready["endpoint"], ready["region"])
        for deposit_id, first in (("psp-up-1", True), ("psp-up-2", False)):
            detail = {"event_id": f"DepositCompleted:{deposit_id}", "correlation_id": "c",
                      "occurred_at": "2026-11-23T00:00:00.000Z", "player_id": "p", "deposit_id": deposit_id,
                      "amount": 5000, "currency": "EUR", "first_deposit": first, "entry_id": "p:000000000001"}
            envelope = {"source": "stakeline.wallet", "detail_type": "DepositCompleted", "detail": detail}
            dynamodb.put_item(TableName=ready["table"], Item={
                "pk": {"S": f"PLAYER#{deposit_id}"}, "sk": {"S": "WALLET"},
                "item_type": {"S": "wallet"}, "events": {"S": json.dumps([envelope])},
                "publish": {"S": "events"}})

        def published() -> list[str]:
            return [r["dynamodb"]["Keys"]["pk"]["S"] for c in calls(fakes) if c["function"] == "publisher"
                    for r in c["event"]["Records"]]

        def bonus_bodies() -> list[dict]:
            return [json.loads(r["body"]) for c in calls(fakes) if c["function"] == "bonus-award"
                    for r in c["event"]["Records"]]

        wait_for(lambda: len(published()) == 2, timeout=30, what="both wallet writes handed to the publisher")
        assert published() == ["PLAYER#psp-up-1", "PLAYER#psp-up-2"]
        wait_for(bonus_bodies, timeout=30, what="the first deposit handed to bonus-award")
        [envelope] = bonus_bodies()
        assert envelope["detail-type"] == "DepositCompleted" and envelope["detail"]["deposit_id"] == "psp-up-1"
        bonus_queue = ready["queues"]["BonusQueue"]
        wait_for(lambda: sqs.get_queue_attributes(
            QueueUrl=bonus_queue, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "0", timeout=30,
                 what="the bonus message to be deleted")
        time.sleep(0.5)
        assert len(bonus_bodies()) == 1, "the second deposit is not a first deposit"
    finally:
        stopping = time.monotonic()
        if up.poll() is None:
            up.send_signal(signal.SIGTERM)
        try:
            code = up.wait(timeout=30)
        except subprocess.TimeoutExpired:
            up.kill()
            code = up.wait()
        stdout, stderr = up.stdout.read(), up.stderr.read()
    assert code == 0, stderr
    assert time.monotonic() - stopping < 10, "a poller in a 20 s long poll held up the shutdown"
    assert "./dev enqueue SettlementQueue --body" in stdout
    assert "polling SettlementQueue for settle-queue" in stderr
    assert "polling BonusQueue for bonus-award" in stderr
    assert "reading the WalletTable stream for publisher" in stderr
    assert "SettlementQueue -> settle-queue: batch of" in stderr
    assert "WalletTable stream -> publisher: batch of" in stderr
    assert "BonusQueue -> bonus-award: batch of 1" in stderr
    assert f"up-test-{os.getpid()}-wallet" in stdout, "the banner names the bus"
    assert "WalletTable stream -> publisher (" in stdout
    assert f"Payouts      {ready['sandbox_provider']}" in stdout, "the banner names the sandbox provider"
    assert not ready_file.exists(), "the ready file goes with the suite"
    assert not running.running_suites() or all(s.get("up_pid") != up.pid for s in running.running_suites())
