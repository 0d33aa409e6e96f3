"""The local suite's sandbox payment provider (sandbox_provider.py): what it accepts and refuses
on its payout API, its test amounts, its down switch, and the signed results it reports to a
stand-in for Stakeline's API, with retries."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from stakeline_local import auth, emulator, sandbox_provider
from stakeline_local.emulator import STACK_PY
from stakeline_local.sandbox_provider import SandboxProvider, result_path

from infra_helpers import wait_for

SECRET = auth.integration_secret("payment-provider")
DELAY = 0.05
TIMEOUT = 10


class StakelineStandIn:
    """Stakeline's result route, standing in: records every call with whether its signature
    holds, and answers the statuses queued in ``answers[path]`` first, then 200."""

    def __init__(self):
        self.calls: list[dict] = []
        self.answers: dict[str, list[int]] = {}
        self.changed = threading.Condition()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                stamp = self.headers.get(auth.TIMESTAMP_HEADER) or ""
                given = self.headers.get(auth.SIGNATURE_HEADER) or ""
                signed = (stamp.isdigit() and abs(time.time() - int(stamp)) <= auth.SIGNATURE_WINDOW_SECONDS
                          and given == auth.signature(SECRET, stamp, "POST", self.path, body))
                with stand_in.changed:
                    queued = stand_in.answers.get(self.path) or []
                    status = queued.pop(0) if queued else 200
                    stand_in.calls.append({
                        "path": self.path, "body": json.loads(body), "signed": signed,
                        "content_type": self.headers.get("Content-Type"), "answered": status,
                    })
                    stand_in.changed.notify_all()
                payload = b"{}"
                self.send_response_only(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def calls_to(self, path: str) -> list[dict]:
        with self.changed:
            return [call for call in self.calls if call["path"] == path]

    def wait_for_calls(self, path: str, count: int) -> list[dict]:
        with self.changed:
            arrived = self.changed.wait_for(
                lambda: sum(call["path"] == path for call in self.calls) >= count, TIMEOUT)
        assert arrived, f"{count} result(s) on {path} did not arrive within {TIMEOUT} s"
        return self.calls_to(path)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def api():
    stand_in = StakelineStandIn()
    yield stand_in
    stand_in.stop()


@pytest.fixture
def provider(api):
    sandbox = SandboxProvider(0, api.url, delay=DELAY, retry_backoff=0.01).start()
    yield sandbox
    sandbox.stop()


def payout(withdrawal_id: str = "wd-0001", amount: int = 5000, **changes) -> dict:
    body = {
        "withdrawal_id": withdrawal_id,
        "player_id": "p-1",
        "amount": amount,
        "currency": "EUR",
        "destination": {"kind": "bank_account", "reference": "MT84MALT011000012345MTLCAST001S"},
    }
    body.update(changes)
    return body


def request(port: int, method: str, path: str, body: bytes = b"", headers: dict | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        return response.status, (json.loads(data) if data else None)
    finally:
        connection.close()


def send(provider: SandboxProvider, body: dict | bytes, *, key: str | None = "", sign_path: str = "/payouts",
         sign_method: str = "POST", secret: str = SECRET, timestamp: int | None = None,
         signed_body: bytes | None = None, signed: bool = True):
    """POST /payouts as the payout function sends it; ``key`` "" means the withdrawal_id."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if key == "" and isinstance(body, dict):
        key = body.get("withdrawal_id")
    if key:
        headers["Idempotency-Key"] = key
    if signed:
        stamp = int(time.time()) if timestamp is None else timestamp
        headers[auth.TIMESTAMP_HEADER] = str(stamp)
        headers[auth.SIGNATURE_HEADER] = auth.signature(
            secret, stamp, sign_method, sign_path, raw if signed_body is None else signed_body)
    return request(provider.port, "POST", "/payouts", raw, headers)


def entry(provider: SandboxProvider, withdrawal_id: str) -> dict:
    [found] = [p for p in provider.status()["payouts"] if p["withdrawal_id"] == withdrawal_id]
    return found


@pytest.mark.parametrize("how", [
    {"signed": False},
    {"secret": auth.integration_secret("aggregator")},
    {"sign_path": "/players/p-1/withdrawals/wd-0001/result"},
    {"sign_path": "/payouts/"},
    {"sign_method": "PUT"},
    {"age": auth.SIGNATURE_WINDOW_SECONDS + 60},
    {"age": -auth.SIGNATURE_WINDOW_SECONDS - 60},
    {"signed_body": json.dumps(payout(amount=1)).encode()},
], ids=["unsigned", "other-secret", "other-path", "trailing-slash", "other-method", "stale", "future", "other-body"])
def test_payouts_not_signed_with_the_providers_secret_are_refused(provider, api, how):
    how = dict(how)
    if "age" in how:
        how["timestamp"] = int(time.time()) - how.pop("age")
    status, answer = send(provider, payout(), **how)
    assert status == 401 and answer["error"].startswith("sandbox: ")
    assert provider.status() == {"up": True, "payouts": []}
    assert provider.wait_idle(TIMEOUT) and api.calls == []


def test_a_signature_inside_the_window_is_accepted(provider):
    status, _ = send(provider, payout(), timestamp=int(time.time()) - auth.SIGNATURE_WINDOW_SECONDS + 30)
    assert status == 202


@pytest.mark.parametrize("body", [
    b"not json",
    b"\xff\xfe",
    b"",
    b"[]",
    payout(amount=0),
    payout(amount=-5),
    payout(amount="5000"),
    payout(amount=50.5),
    payout(amount=True),
    payout(currency="eur"),
    payout(currency="EURO"),
    payout(currency=978),
    payout(withdrawal_id=""),
    payout(player_id=7),
    payout(destination={"kind": "cash", "reference": "x"}),
    payout(destination={"kind": "card", "reference": ""}),
    payout(destination={"kind": "card", "reference": "4111", "holder": "Ada"}),
    payout(destination={"kind": "card"}),
    payout(destination="MT84MALT011000012345MTLCAST001S"),
    payout(memo="extra"),
    {k: v for k, v in payout().items() if k != "player_id"},
])
def test_bodies_that_are_not_exactly_a_payout_are_refused(provider, body):
    status, answer = send(provider, body, key="wd-0001")
    assert status == 422, answer
    assert answer["error"].startswith("sandbox: ")
    assert provider.status()["payouts"] == []


@pytest.mark.parametrize("key", [None, "wd-other"])
def test_the_idempotency_key_must_be_the_withdrawal_id(provider, api, key):
    status, answer = send(provider, payout(), key=key)
    assert status == 422 and "Idempotency-Key" in answer["error"]
    assert provider.status()["payouts"] == []
    assert provider.wait_idle(TIMEOUT) and api.calls == []


def test_an_accepted_payout_is_reported_paid_once_and_a_repeat_gets_the_same_answer(provider, api):
    status, answer = send(provider, payout("wd-0001", 5000))
    assert (status, answer) == (202, {"provider_reference": "sbx-wd-0001", "status": "accepted"})
    path = "/players/p-1/withdrawals/wd-0001/result"
    [call] = api.wait_for_calls(path, 1)
    assert call["signed"] and call["content_type"] == "application/json"
    assert call["body"] == {"status": "paid", "provider_reference": "sbx-wd-0001"}
    assert provider.wait_idle(TIMEOUT)
    assert entry(provider, "wd-0001") == {
        "withdrawal_id": "wd-0001", "player_id": "p-1", "amount": 5000, "currency": "EUR", "outcome": "paid",
        "provider_reference": "sbx-wd-0001", "callback": "sent", "callback_attempts": 1, "callback_answer": 200,
        "requests": 1,
    }

    # The same key and body (keys in another order): the first answer, and no second result.
    reordered = dict(reversed(list(payout("wd-0001", 5000).items())))
    assert send(provider, reordered) == (status, answer)
    assert provider.wait_idle(TIMEOUT), "a repeat starts no result"
    assert len(api.calls_to(path)) == 1
    assert entry(provider, "wd-0001")["requests"] == 2


def test_the_same_key_with_another_body_is_a_conflict(provider, api):
    assert send(provider, payout("wd-0002", 5000))[0] == 202
    status, answer = send(provider, payout("wd-0002", 6000))
    assert status == 409 and "wd-0002" in answer["error"]
    assert send(provider, payout("wd-0002", 5000, destination={"kind": "card", "reference": "4111"}))[0] == 409
    assert provider.wait_idle(TIMEOUT)
    [call] = api.calls_to("/players/p-1/withdrawals/wd-0002/result")
    assert call["body"]["status"] == "paid"
    assert entry(provider, "wd-0002")["amount"] == 5000 and entry(provider, "wd-0002")["requests"] == 1


def test_an_amount_ending_in_13_is_accepted_then_reported_failed(provider, api):
    status, answer = send(provider, payout("wd-0013", 5013))
    assert (status, answer) == (202, {"provider_reference": "sbx-wd-0013", "status": "accepted"})
    [call] = api.wait_for_calls("/players/p-1/withdrawals/wd-0013/result", 1)
    assert call["signed"]
    assert call["body"] == {"status": "failed", "provider_reference": "sbx-wd-0013",
                            "reason": "sandbox: declined by the bank"}
    assert provider.wait_idle(TIMEOUT)
    assert entry(provider, "wd-0013")["outcome"] == "failed" and entry(provider, "wd-0013")["callback"] == "sent"


def test_an_amount_ending_in_42_is_accepted_and_never_reported(provider, api):
    assert send(provider, payout("wd-0042", 142)) == (
        202, {"provider_reference": "sbx-wd-0042", "status": "accepted"})
    assert send(provider, payout("wd-0043", 143))[0] == 202
    api.wait_for_calls("/players/p-1/withdrawals/wd-0043/result", 1)
    assert provider.wait_idle(TIMEOUT)
    assert api.calls_to("/players/p-1/withdrawals/wd-0042/result") == []
    silent = entry(provider, "wd-0042")
    assert (silent["outcome"], silent["callback"], silent["callback_attempts"]) == ("silent", "none", 0)


def test_an_amount_ending_in_44_is_refused_at_once(provider, api):
    for _ in range(2):
        assert send(provider, payout("wd-0044", 9944)) == (422, {"error": "sandbox: destination refused"})
    assert provider.wait_idle(TIMEOUT) and api.calls == []
    refused = entry(provider, "wd-0044")
    assert (refused["outcome"], refused["callback"], refused["requests"]) == ("refused", "none", 2)
    # The refusal is the key's answer: another body under it is a conflict.
    assert send(provider, payout("wd-0044", 9945))[0] == 409


def test_an_amount_ending_in_50_gets_503_every_time(provider, api):
    for _ in range(3):
        assert send(provider, payout("wd-0050", 250)) == (503, {"error": "sandbox: provider error"})
    assert provider.wait_idle(TIMEOUT) and api.calls == []
    failing = entry(provider, "wd-0050")
    assert (failing["outcome"], failing["callback"], failing["requests"]) == ("provider_error", "none", 3)
    # A provider error commits nothing: the key is free for another body.
    assert send(provider, payout("wd-0050", 251))[0] == 202


def test_a_provider_that_is_down_answers_503_until_it_is_up_again(provider, api):
    assert request(provider.port, "POST", "/_sandbox/down") == (204, None)
    assert request(provider.port, "GET", "/_sandbox/status") == (200, {"up": False, "payouts": []})
    for _ in range(2):
        assert send(provider, payout("wd-0100")) == (503, {"error": "sandbox: provider down"})
    assert provider.status() == {"up": False, "payouts": []}
    assert provider.wait_idle(TIMEOUT) and api.calls == []

    assert request(provider.port, "POST", "/_sandbox/up") == (204, None)
    assert send(provider, payout("wd-0100"))[0] == 202
    api.wait_for_calls("/players/p-1/withdrawals/wd-0100/result", 1)
    assert provider.wait_idle(TIMEOUT)
    status, body = request(provider.port, "GET", "/_sandbox/status")
    assert status == 200 and body["up"] is True
    assert [(p["withdrawal_id"], p["outcome"], p["callback"]) for p in body["payouts"]] == [
        ("wd-0100", "paid", "sent")]


def test_a_result_stakeline_fails_to_take_is_sent_again(provider, api):
    path = "/players/p-1/withdrawals/wd-0200/result"
    api.answers[path] = [500, 503]
    assert send(provider, payout("wd-0200"))[0] == 202
    calls = api.wait_for_calls(path, 3)
    assert [c["answered"] for c in calls] == [500, 503, 200]
    assert all(c["signed"] for c in calls)
    assert all(c["body"] == {"status": "paid", "provider_reference": "sbx-wd-0200"} for c in calls)
    assert provider.wait_idle(TIMEOUT)
    delivered = entry(provider, "wd-0200")
    assert (delivered["callback"], delivered["callback_attempts"]) == ("sent", 3)


def test_the_attempts_end_after_a_few_errors(api):
    sandbox = SandboxProvider(0, api.url, delay=DELAY, retry_backoff=0.01, callback_attempts=3).start()
    try:
        path = "/players/p-1/withdrawals/wd-0300/result"
        api.answers[path] = [500] * 10
        assert send(sandbox, payout("wd-0300"))[0] == 202
        assert sandbox.wait_idle(TIMEOUT)
        assert len(api.calls_to(path)) == 3
        given_up = entry(sandbox, "wd-0300")
        assert (given_up["callback"], given_up["callback_attempts"], given_up["callback_answer"]) == ("failed", 3, 500)
    finally:
        sandbox.stop()


def test_an_api_that_does_not_answer_is_tried_again_until_it_does(api):
    closed_port = emulator.free_port()
    sandbox = SandboxProvider(0, f"http://127.0.0.1:{closed_port}", delay=DELAY, retry_backoff=0.01,
                              callback_attempts=3).start()
    try:
        assert send(sandbox, payout("wd-0400"))[0] == 202
        assert sandbox.wait_idle(TIMEOUT)
        unanswered = entry(sandbox, "wd-0400")
        assert (unanswered["callback"], unanswered["callback_attempts"], unanswered["callback_answer"]) == (
            "failed", 3, None)
    finally:
        sandbox.stop()


def test_results_wait_for_the_api_to_be_known(api):
    sandbox = SandboxProvider(0, None, delay=DELAY, retry_backoff=0.2).start()
    try:
        assert send(sandbox, payout("wd-0500"))[0] == 202
        wait_for(lambda: entry(sandbox, "wd-0500")["callback_attempts"] >= 1, timeout=TIMEOUT,
                 what="a first attempt without an API")
        sandbox.api_base_url = api.url + "/"
        [call] = api.wait_for_calls("/players/p-1/withdrawals/wd-0500/result", 1)
        assert call["signed"]
        assert sandbox.wait_idle(TIMEOUT) and entry(sandbox, "wd-0500")["callback"] == "sent"
    finally:
        sandbox.stop()


@pytest.mark.parametrize("answer", [409, 401, 404, 422])
def test_a_result_stakeline_refuses_is_not_sent_again(provider, api, answer):
    path = "/players/p-1/withdrawals/wd-0600/result"
    api.answers[path] = [answer] * 5
    assert send(provider, payout("wd-0600"))[0] == 202
    assert provider.wait_idle(TIMEOUT)
    assert len(api.calls_to(path)) == 1
    refused = entry(provider, "wd-0600")
    assert (refused["callback"], refused["callback_attempts"], refused["callback_answer"]) == ("failed", 1, answer)


def test_ids_are_path_segments_of_the_result_route(provider, api):
    assert result_path("p 1", "wd/7") == "/players/p%201/withdrawals/wd%2F7/result"
    assert send(provider, payout("wd/7", player_id="p 1"))[0] == 202
    [call] = api.wait_for_calls("/players/p%201/withdrawals/wd%2F7/result", 1)
    assert call["signed"], "the signature covers the path as sent"
    assert provider.wait_idle(TIMEOUT) and entry(provider, "wd/7")["callback"] == "sent"


def test_unknown_paths_and_methods(provider):
    assert request(provider.port, "GET", "/nowhere")[0] == 404
    assert request(provider.port, "POST", "/payouts/wd-1")[0] == 404
    assert request(provider.port, "GET", "/payouts")[0] == 405
    assert request(provider.port, "DELETE", "/payouts")[0] == 405
    assert request(provider.port, "POST", "/_sandbox/status")[0] == 405
    assert request(provider.port, "GET", "/_sandbox/down")[0] == 405
    assert provider.status()["up"] is True


def test_concurrent_repeats_of_one_payout_start_one_result(provider, api):
    answers = []
    lock = threading.Lock()

    def repeat():
        result = send(provider, payout("wd-0700"))
        with lock:
            answers.append(result)

    threads = [threading.Thread(target=repeat) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert answers == [(202, {"provider_reference": "sbx-wd-0700", "status": "accepted"})] * 8
    assert provider.wait_idle(TIMEOUT)
    assert len(api.calls_to("/players/p-1/withdrawals/wd-0700/result")) == 1
    assert entry(provider, "wd-0700")["requests"] == 8


def test_the_test_amounts_are_documented():
    assert sandbox_provider.TEST_AMOUNTS == {13: "failed", 42: "silent", 44: "refused", 50: "provider_error"}
    assert set(sandbox_provider.TEST_AMOUNT_EFFECTS) == {"paid", *sandbox_provider.TEST_AMOUNTS.values()}
    for ending in sandbox_provider.TEST_AMOUNTS:
        assert f"\n{ending}  " in sandbox_provider.__doc__
    assert [sandbox_provider.outcome(a) for a in (13, 5013, 42, 10044, 50, 5000, 14, 113)] == [
        "failed", "failed", "silent", "refused", "provider_error", "paid", "paid", "failed"]


def stack(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(STACK_PY), *args], capture_output=True, text=True, timeout=60)


def test_dev_sandbox_switches_the_running_suites_provider(provider, tmp_path):
    ready = tmp_path / "ready.json"
    ready.write_text(json.dumps({"endpoint": "http://127.0.0.1:1", "sandbox_provider": provider.url}))
    down = stack("sandbox", "down", "--ready-file", str(ready))
    assert down.returncode == 0, down.stderr
    assert json.loads(down.stdout) == {"up": False, "payouts": []}
    assert provider.status()["up"] is False
    assert send(provider, payout("wd-0800"))[0] == 503

    up = stack("sandbox", "up", "--ready-file", str(ready))
    assert up.returncode == 0 and json.loads(up.stdout)["up"] is True
    assert send(provider, payout("wd-0800"))[0] == 202
    status = stack("sandbox", "status", "--ready-file", str(ready))
    assert status.returncode == 0
    assert [p["withdrawal_id"] for p in json.loads(status.stdout)["payouts"]] == ["wd-0800"]

    without = tmp_path / "older.json"
    without.write_text(json.dumps({"endpoint": "http://127.0.0.1:1"}))
    assert stack("sandbox", "status", "--ready-file", str(without)).returncode == 2
    assert stack("sandbox", "status", "--ready-file", str(tmp_path / "gone.json")).returncode == 2
