"""The local suite's sandbox payment provider: the payout API the `payout` function sends approved
withdrawals to, and the signed result it reports back to Stakeline.

``POST /payouts`` takes one payout, as the payment provider's payout API does::

    Idempotency-Key: <withdrawal_id>
    X-Stakeline-Timestamp: <unix seconds>
    X-Stakeline-Signature: <hex HMAC-SHA256 of timestamp.POST./payouts.body, payment-provider secret>

    {"withdrawal_id": "...", "player_id": "...", "amount": 5000, "currency": "EUR",
     "destination": {"kind": "bank_account" | "card" | "ewallet", "reference": "..."}}

and answers:

- 401 ``{"error": …}``: signature missing, wrong (another secret, method, path or body) or its
  timestamp more than ``auth.SIGNATURE_WINDOW_SECONDS`` away from the provider's clock;
- 422 ``{"error": …}``: a body that is not exactly the object above, or an Idempotency-Key
  missing or different from ``withdrawal_id``;
- 409 ``{"error": …}``: an Idempotency-Key already used with a different body;
- 202 ``{"provider_reference": "sbx-<withdrawal_id>", "status": "accepted"}``: accepted; the
  result follows after ``delay`` seconds as a signed
  ``POST {Stakeline}/players/{player_id}/withdrawals/{withdrawal_id}/result`` with
  ``{"status": "paid" | "failed", "provider_reference": …, "reason": … (failed only)}``.

The same Idempotency-Key with the same body gets exactly the first answer again, and no second
result. A result Stakeline answers with 5xx (or does not answer) is sent again after 0.5 s,
1 s, 2 s… up to ``CALLBACK_ATTEMPTS`` attempts; 409 (a different result is already recorded),
401, 404 and 422 end the attempts at once.

Test amounts, by the last two digits of the amount in minor units (``amount % 100``;
``TEST_AMOUNTS``):

==========  ======================================================================
ends in     the provider
==========  ======================================================================
13          accepts (202), then reports ``failed``, reason "sandbox: declined by the bank"
42          accepts (202), and never reports a result
44          refuses at once: 422 ``{"error": "sandbox: destination refused"}``, no result
50          answers 503 ``{"error": "sandbox: provider error"}`` every time
any other   accepts (202), then reports ``paid``
==========  ======================================================================

While the provider is down (``POST /_sandbox/down``, ``./dev sandbox down``) every payout gets
503 ``{"error": "sandbox: provider down"}`` and is not recorded; ``POST /_sandbox/up`` brings
it back. ``GET /_sandbox/status`` lists what it recorded:
``{"up": true, "payouts": [{"withdrawal_id", "player_id", "amount", "currency", "outcome",
"callback": "pending" | "sent" | "failed" | "none", …}]}``.
"""

from __future__ import annotations

import hmac
import http.client
import json
import re
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass

from . import auth, local_http, log

# The variable that tells the payout function where the payment provider's API is.
URL_VARIABLE = "PAYOUT_API_URL"

# What happens to a payout.
PAID = "paid"
FAILED = "failed"
SILENT = "silent"
REFUSED = "refused"
PROVIDER_ERROR = "provider_error"

TEST_AMOUNTS: dict[int, str] = {
    13: FAILED,
    42: SILENT,
    44: REFUSED,
    50: PROVIDER_ERROR,
}
"""Last two digits of a payout's amount in minor units (``amount % 100``) -> its outcome; any
other amount is ``PAID``. ``TEST_AMOUNT_EFFECTS`` says what each outcome looks like."""

TEST_AMOUNT_EFFECTS: dict[str, str] = {
    PAID: 'accepted (202), then the result "paid"',
    FAILED: 'accepted (202), then the result "failed", reason "sandbox: declined by the bank"',
    SILENT: "accepted (202), and never a result",
    REFUSED: 'refused at once: 422 {"error": "sandbox: destination refused"}, no result',
    PROVIDER_ERROR: '503 {"error": "sandbox: provider error"} every time',
}

DECLINE_REASON = "sandbox: declined by the bank"
REFUSAL_ERROR = "sandbox: destination refused"
PROVIDER_ERROR_MESSAGE = "sandbox: provider error"
DOWN_ERROR = "sandbox: provider down"
REFERENCE_PREFIX = "sbx-"

PAYOUTS_PATH = "/payouts"
IDEMPOTENCY_HEADER = "Idempotency-Key"
# Control endpoints, on the same port.
DOWN_PATH = "/_sandbox/down"
UP_PATH = "/_sandbox/up"
STATUS_PATH = "/_sandbox/status"
ROUTES = {
    PAYOUTS_PATH: "POST",
    DOWN_PATH: "POST",
    UP_PATH: "POST",
    STATUS_PATH: "GET",
}

PAYOUT_FIELDS = {"withdrawal_id", "player_id", "amount", "currency", "destination"}
DESTINATION_FIELDS = {"kind", "reference"}
DESTINATION_KINDS = ("bank_account", "card", "ewallet")
_CURRENCY = re.compile(r"[A-Z]{3}")

DEFAULT_DELAY_SECONDS = 1.0
# Result delivery: the first pause after a failed attempt, doubled after each, and the attempts.
CALLBACK_FIRST_BACKOFF_SECONDS = 0.5
CALLBACK_ATTEMPTS = 6
CALLBACK_TIMEOUT_SECONDS = 10
# Stakeline's answers that end the attempts without the result being recorded.
PERMANENT_REFUSALS = {401, 404, 409, 422}

# Where a payout's result stands.
CALLBACK_PENDING = "pending"
CALLBACK_SENT = "sent"
CALLBACK_FAILED = "failed"
CALLBACK_NONE = "none"


def outcome(amount: int) -> str:
    """What the sandbox does with a payout of ``amount`` minor units (``TEST_AMOUNTS``)."""
    return TEST_AMOUNTS.get(amount % 100, PAID)


def provider_reference(withdrawal_id: str) -> str:
    return f"{REFERENCE_PREFIX}{withdrawal_id}"


def result_path(player_id: str, withdrawal_id: str) -> str:
    """Stakeline's route for a withdrawal's result (the ids as path segments)."""
    player = urllib.parse.quote(player_id, safe="")
    withdrawal = urllib.parse.quote(withdrawal_id, safe="")
    return f"/players/{player}/withdrawals/{withdrawal}/result"


class Invalid(ValueError):
    """A payout request the provider refuses with 422."""


def _text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"{name} must be a non-empty string")
    return value


def validate_payout(body: bytes) -> dict:
    """The payout ``body`` holds, or ``Invalid`` saying why the provider refuses it."""
    try:
        payout = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Invalid("the body must be a JSON object") from None
    if not isinstance(payout, dict):
        raise Invalid("the body must be a JSON object")
    missing = sorted(PAYOUT_FIELDS - set(payout))
    unknown = sorted(set(payout) - PAYOUT_FIELDS)
    if missing or unknown:
        raise Invalid(f"fields missing: {missing or 'none'}; unknown fields: {unknown or 'none'}")
    _text(payout["withdrawal_id"], "withdrawal_id")
    _text(payout["player_id"], "player_id")
    amount = payout["amount"]
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise Invalid("amount must be a positive integer (minor units)")
    if not isinstance(payout["currency"], str) or not _CURRENCY.fullmatch(payout["currency"]):
        raise Invalid("currency must be three upper-case letters (ISO 4217)")
    destination = payout["destination"]
    if not isinstance(destination, dict) or set(destination) != DESTINATION_FIELDS:
        raise Invalid("destination must be an object with exactly kind and reference")
    if destination["kind"] not in DESTINATION_KINDS:
        raise Invalid(f"destination.kind must be one of {', '.join(DESTINATION_KINDS)}")
    _text(destination["reference"], "destination.reference")
    return payout


def verify_signature(
    secret: str, headers, method: str, path: str, body: bytes, *, now: int | None = None
) -> str | None:
    """None when the request is signed with ``secret``, else why it is not."""
    stamp = headers.get(auth.TIMESTAMP_HEADER)
    given = headers.get(auth.SIGNATURE_HEADER)
    if not stamp or not given:
        return f"{auth.TIMESTAMP_HEADER} and {auth.SIGNATURE_HEADER} are required"
    if not stamp.isascii() or not stamp.isdigit():
        return f"{auth.TIMESTAMP_HEADER} must be Unix seconds"
    current = int(time.time()) if now is None else now
    if abs(current - int(stamp)) > auth.SIGNATURE_WINDOW_SECONDS:
        return f"{auth.TIMESTAMP_HEADER} is more than {auth.SIGNATURE_WINDOW_SECONDS} s from the provider's clock"
    expected = auth.signature(secret, stamp, method, path, body)
    if not hmac.compare_digest(expected.encode("ascii"), given.encode("utf-8", "replace")):
        return "bad signature"
    return None


@dataclass
class Payout:
    """A payout the provider recorded, with the answer it gave."""

    withdrawal_id: str
    player_id: str
    amount: int
    currency: str
    request: dict
    outcome: str
    status: int
    answer: dict
    callback: str = CALLBACK_NONE
    callback_attempts: int = 0
    callback_answer: int | None = None
    requests: int = 1

    def describe(self) -> dict:
        return {
            "withdrawal_id": self.withdrawal_id,
            "player_id": self.player_id,
            "amount": self.amount,
            "currency": self.currency,
            "outcome": self.outcome,
            "provider_reference": provider_reference(self.withdrawal_id),
            "callback": self.callback,
            "callback_attempts": self.callback_attempts,
            "callback_answer": self.callback_answer,
            "requests": self.requests,
        }

    def result(self) -> dict:
        """The body of its result for Stakeline."""
        body = {"status": self.outcome, "provider_reference": provider_reference(self.withdrawal_id)}
        if self.outcome == FAILED:
            body["reason"] = DECLINE_REASON
        return body


def _handler(provider: "SandboxProvider") -> type[local_http.Handler]:
    # Every method reaches the router, which answers 405 for those a path does not take.
    class Handle(local_http.Handler):
        def _answer(self, status: int, payload: dict | None = None, headers: dict | None = None) -> None:
            data = b"" if payload is None else json.dumps(payload).encode("utf-8")
            self.send_response_only(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if payload is not None:
                self.send_header("Content-Type", "application/json")
            if status != 204:
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def route(self) -> None:
            if "Content-Length" not in self.headers and "Transfer-Encoding" in self.headers:
                self.close_connection = True
                self._answer(411, {"error": "sandbox: a Content-Length is required"})
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0:
                self.close_connection = True
                self._answer(400, {"error": "sandbox: bad Content-Length"})
                return
            body = self.rfile.read(length) if length else b""
            path = urllib.parse.urlsplit(self.path).path
            method = ROUTES.get(path)
            if method is None:
                self._answer(404, {"error": f"sandbox: no route {path}"})
            elif self.command != method:
                self._answer(405, {"error": f"sandbox: {path} takes {method}"}, {"Allow": method})
            elif path == PAYOUTS_PATH:
                self._answer(*provider.handle_payout(self.headers, path, body))
            elif path in (DOWN_PATH, UP_PATH):
                provider.set_up(path == UP_PATH)
                self._answer(204)
            else:
                self._answer(200, provider.status())

    return Handle


class SandboxProvider:
    """Serves the payment provider's payout API on ``port`` and reports results to Stakeline's
    API at ``api_base_url``. That may be set later; until it is, an attempt to report a result
    fails as if Stakeline did not answer (and is tried again)."""

    def __init__(
        self,
        port: int,
        api_base_url: str | None,
        *,
        delay: float = DEFAULT_DELAY_SECONDS,
        secret: str = auth.integration_secret("payment-provider"),
        retry_backoff: float = CALLBACK_FIRST_BACKOFF_SECONDS,
        callback_attempts: int = CALLBACK_ATTEMPTS,
    ):
        self.delay = delay
        self.secret = secret
        self.retry_backoff = retry_backoff
        self.callback_attempts = callback_attempts
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._api_base_url = api_base_url.rstrip("/") if api_base_url else None
        self._up = True
        self._payouts: dict[str, Payout] = {}
        self._timers: list[threading.Timer] = []
        self._deliveries = 0
        self._stopping = threading.Event()
        self.http = local_http.Server(port, _handler(self), "sandbox-provider")
        self.port = self.http.port
        self.url = self.http.url

    @property
    def api_base_url(self) -> str | None:
        with self._lock:
            return self._api_base_url

    @api_base_url.setter
    def api_base_url(self, value: str | None) -> None:
        with self._lock:
            self._api_base_url = value.rstrip("/") if value else None

    def start(self) -> "SandboxProvider":
        self.http.start()
        log(f"sandbox payment provider on port {self.port} (payouts: POST {self.url}{PAYOUTS_PATH})")
        return self

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            for timer in self._timers:
                timer.cancel()
        self.http.stop()

    def set_up(self, up: bool) -> None:
        with self._lock:
            changed = self._up != up
            self._up = up
        if changed:
            log(f"sandbox payment provider is {'up' if up else 'down: every payout gets 503'}")

    def status(self) -> dict:
        with self._lock:
            return {"up": self._up, "payouts": [payout.describe() for payout in self._payouts.values()]}

    def wait_idle(self, timeout: float) -> bool:
        """Waits until no result is waiting or being delivered; False if ``timeout`` passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._deliveries == 0, timeout)

    def handle_payout(self, headers, path: str, body: bytes) -> tuple[int, dict]:
        """(status, JSON answer) for ``POST /payouts``."""
        with self._lock:
            if not self._up:
                return 503, {"error": DOWN_ERROR}
        problem = verify_signature(self.secret, headers, "POST", path, body)
        if problem is not None:
            return 401, {"error": f"sandbox: {problem}"}
        try:
            request = validate_payout(body)
        except Invalid as error:
            return 422, {"error": f"sandbox: {error}"}
        key = headers.get(IDEMPOTENCY_HEADER)
        if not key:
            return 422, {"error": f"sandbox: the {IDEMPOTENCY_HEADER} header is required"}
        if key != request["withdrawal_id"]:
            return 422, {"error": f"sandbox: {IDEMPOTENCY_HEADER} must be the withdrawal_id"}
        with self._lock:
            known = self._payouts.get(key)
            # A provider error commits nothing: the next attempt is taken afresh.
            if known is not None and known.outcome != PROVIDER_ERROR:
                if known.request != request:
                    return 409, {"error": f"sandbox: {IDEMPOTENCY_HEADER} {key} was used with a different body"}
                known.requests += 1
                return known.status, dict(known.answer)
            payout = self._record(request, known)
            self._payouts[key] = payout
            if payout.outcome in (PAID, FAILED):
                payout.callback = CALLBACK_PENDING
                self._deliveries += 1
                timer = threading.Timer(self.delay, self._deliver, (payout,))
                timer.daemon = True
                self._timers = [waiting for waiting in self._timers if waiting.is_alive()]
                self._timers.append(timer)
                timer.start()
        log(f"sandbox payment provider: payout {key} of {payout.amount} {payout.currency} -> "
            f"{payout.status} ({payout.outcome})")
        return payout.status, dict(payout.answer)

    def _record(self, request: dict, earlier: Payout | None) -> Payout:
        decided = outcome(request["amount"])
        reference = provider_reference(request["withdrawal_id"])
        if decided == REFUSED:
            status, answer = 422, {"error": REFUSAL_ERROR}
        elif decided == PROVIDER_ERROR:
            status, answer = 503, {"error": PROVIDER_ERROR_MESSAGE}
        else:
            status, answer = 202, {"provider_reference": reference, "status": "accepted"}
        same = earlier is not None and earlier.request == request
        return Payout(
            withdrawal_id=request["withdrawal_id"],
            player_id=request["player_id"],
            amount=request["amount"],
            currency=request["currency"],
            request=request,
            outcome=decided,
            status=status,
            answer=answer,
            requests=earlier.requests + 1 if same else 1,
        )

    def _deliver(self, payout: Payout) -> None:
        """Reports ``payout``'s result to Stakeline, retrying what may pass later."""
        try:
            self._attempts(payout)
        finally:
            with self._idle:
                self._deliveries -= 1
                self._idle.notify_all()

    def _attempts(self, payout: Payout) -> None:
        path = result_path(payout.player_id, payout.withdrawal_id)
        body = json.dumps(payout.result(), separators=(",", ":")).encode("utf-8")
        pause = self.retry_backoff
        what = f"result {payout.outcome} of payout {payout.withdrawal_id}"
        for attempt in range(1, self.callback_attempts + 1):
            if self._stopping.is_set():
                return
            with self._lock:
                payout.callback_attempts = attempt
                base = self._api_base_url
            status, detail = self._post(base, path, body)
            with self._lock:
                payout.callback_answer = status
            if status is not None and 200 <= status < 300:
                self._settle(payout, CALLBACK_SENT)
                log(f"sandbox payment provider: {what} recorded by Stakeline ({status})")
                return
            if status in PERMANENT_REFUSALS or (status is not None and 400 <= status < 500 and status != 429):
                self._settle(payout, CALLBACK_FAILED)
                why = "a different result is already recorded" if status == 409 else detail
                log(f"sandbox payment provider: {what} refused by Stakeline with {status} "
                    f"({why}); not sent again")
                return
            if attempt < self.callback_attempts:
                log(f"sandbox payment provider: {what}: attempt {attempt} failed ({detail}); "
                    f"again in {pause:g} s")
                if self._stopping.wait(pause):
                    return
                pause *= 2
        self._settle(payout, CALLBACK_FAILED)
        log(f"sandbox payment provider: {what} given up after {self.callback_attempts} attempts")

    def _settle(self, payout: Payout, callback: str) -> None:
        with self._lock:
            payout.callback = callback

    def _post(self, base: str | None, path: str, body: bytes) -> tuple[int | None, str]:
        """(Stakeline's status, or None when it did not answer; a few words on what happened)."""
        if base is None:
            return None, "Stakeline's API is not serving yet"
        target = urllib.parse.urlsplit(base)
        full_path = target.path.rstrip("/") + path
        stamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            auth.TIMESTAMP_HEADER: str(stamp),
            auth.SIGNATURE_HEADER: auth.signature(self.secret, stamp, "POST", full_path, body),
        }
        connection = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port or 80,
                                                timeout=CALLBACK_TIMEOUT_SECONDS)
        try:
            connection.request("POST", full_path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read()[:200].decode("utf-8", "replace")
            return response.status, f"{response.status} {text}".strip()
        except OSError as error:
            return None, f"Stakeline did not answer: {error}"
        finally:
            connection.close()


def control(url: str, action: str, *, timeout: float = 10) -> dict:
    """``up``, ``down`` or ``status`` on the sandbox at ``url``; returns its status."""
    if action not in ("up", "down", "status"):
        raise ValueError(f"unknown sandbox action {action!r} (up, down or status)")
    base = url.rstrip("/")
    if action != "status":
        request = urllib.request.Request(f"{base}/_sandbox/{action}", data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=timeout):
            pass
    with urllib.request.urlopen(f"{base}{STATUS_PATH}", timeout=timeout) as response:
        return json.loads(response.read())
