"""Schemathesis hooks for fuzzing the local suite with real credentials (tests/e2e/test_openapi_fuzz.py).

Loaded by the schemathesis CLI through ``SCHEMATHESIS_HOOKS=<path of this file>``. What it adds:

- Credentials, computed on the request schemathesis actually sends: ``StakelineAuth`` is a
  ``requests`` auth, which ``requests`` calls on the prepared request after its body is encoded
  (and again on each retry), so a signature covers exactly the method, raw path and body bytes
  on the wire. Player routes get a bearer token minted for the path's ``{player_id}``, operator routes
  (``/ops``) an operator's token (scope ``stakeline/ops``);
  deposits are signed with the payment provider's secret; bets and settlements with the
  aggregator's; ``GET .../bets/{bet_id}`` is read by the player for some bet paths and by the
  aggregator for the others (decided by the path, so that a replayed case is sent the same way).
  It is registered as schemathesis's auth, so requests schemathesis sends *without* it (the
  ``ignored_auth`` probes, negative cases of the security headers) carry no valid credential
  and must get 401.
- Real players: a generated, well-formed ``{player_id}`` is mostly replaced with one of the
  players the test registered and funded (``STAKELINE_FUZZ_PLAYERS``), and a ``{bet_id}`` with
  one of their bets, so most requests reach an account; a share of the generated values is
  kept, so unknown players and bets are fuzzed too. Ill-formed values (negative cases) are
  never replaced. Hypothesis-drawn cases (fuzzing, stateful) are mapped as they are drawn
  (``map_path_parameters``), so ids that a stateful step takes from a link stay as linked;
  the cases of the examples and coverage phases, which are not drawn, just before they are
  sent (``before_call``), unless the case was made to try a path parameter.
- Integers written as JSON integers: the contract (openapi.yaml, "Money") refuses `100.0`, which
  a JSON schema cannot tell from `100`, so an integral float that schemathesis draws for an
  `integer` is sent as the integer it equals.
- Negated signature headers stay negated: when a case was made by leaving out or breaking
  `X-Stakeline-Timestamp` or `X-Stakeline-Signature`, the request goes out without a fresh
  signature (``UNSIGNED_MARKER``), so it must be refused (401), as schemathesis expects.
- ``filter_failure`` drops two kinds of finding that the contract documents as intended:
  a schema-valid request refused for a business rule (``422`` with a business code, or with
  ``VALIDATION_FAILED`` for a value rule the schema cannot express), and a malformed
  ``X-Correlation-Id`` being ignored rather than refused.

``STAKELINE_FUZZ_PLAYERS`` is JSON: ``{"pools": {"main": [ids], "exclusions": [ids],
"limits": [ids]}, "bets": {player_id: [bet ids]}}``. Without it nothing is replaced.

The helpers do not need schemathesis: tests/infra/test_schemathesis_hooks.py loads this file
under the name ``UNDER_TEST``, which registers nothing, and checks them without a server.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
import zlib
from pathlib import Path
from urllib.parse import unquote, urlsplit

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "infra" / "local"))

from stakeline_local import auth  # noqa: E402

PLAYERS_ENV = "STAKELINE_FUZZ_PLAYERS"

PAYMENT_PROVIDER = "payment-provider"
AGGREGATOR = "aggregator"
AUTHORIZATION = "Authorization"

# The client-id form of player, bet, deposit and settlement ids (openapi.yaml `ClientId`).
_ID_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-")

# Of every 8 well-formed generated ids, how many are kept as generated (unknown player or bet).
_KEEP_GENERATED_OUT_OF_8 = 1

# Operations that change what a player may do get players of their own, so that an exclusion
# or a lowered deposit limit does not block the money routes for the rest of the run.
_POOL_BY_PATH = {
    "/players/{player_id}/exclusions": "exclusions",
    "/players/{player_id}/limits": "limits",
    # An operator's lock blocks deposits and bets: locked players are players of their own.
    "/ops/players/{player_id}/status": "locks",
}
# The staff member the operator routes are called as.
FUZZ_OPERATOR = "staff-fuzz"

# 422 codes a schema-valid request may get: rules about the wallet and the player, not the shape.
BUSINESS_RULE_CODES = frozenset(
    {"CURRENCY_MISMATCH", "INSUFFICIENT_FUNDS", "DEPOSIT_LIMIT_REACHED", "STAKE_LIMIT_EXCEEDED", "UNDERAGE"}
)
# `VALIDATION_FAILED` fields whose documented rules a JSON schema cannot express: a date of birth
# in the future, a cursor this API never issued. (A credit beyond what a wallet can hold, also
# documented, cannot happen in a run: it stays a finding.)
VALUE_RULE_FIELDS = frozenset({"/date_of_birth", "cursor"})
CORRELATION_HEADER = "x-correlation-id"


def is_client_id(value: object) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= 128 and set(value) <= _ID_CHARACTERS


# --------------------------------------------------------------------------------------------
# Credentials on the prepared request.


class UnsignableBody(TypeError):
    pass


def body_bytes(body: object) -> bytes:
    """The bytes ``requests`` puts on the wire for a prepared body: ``str`` bodies are encoded
    by ``http.client`` as ISO-8859-1."""
    if body is None:
        return b""
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("iso-8859-1")
    raise UnsignableBody(f"cannot sign a streamed body of type {type(body).__name__}")


def caller_for(method: str, raw_path: str) -> tuple[str, str | None]:
    """Who calls ``method raw_path``: ``("player", player_id)``, ``("new-player", None)``,
    ``(integration, None)`` for a signed route, ``("bet-reader", player_id)`` for a bet read
    (player or aggregator), ``("operator", None)`` for an ``/ops`` route, or
    ``("nobody", None)`` for a path of no route."""
    segments = raw_path.split("/")
    if segments[:2] == ["", "ops"]:
        return "operator", None
    if segments[:1] != [""] or len(segments) < 2 or segments[1] != "players":
        return "nobody", None
    if len(segments) == 2:
        return "new-player", None
    player_id = unquote(segments[2])
    rest = segments[3:]
    if rest == ["deposits"]:
        return PAYMENT_PROVIDER, None
    if rest == ["bets"] or (len(rest) == 3 and rest[0] == "bets" and rest[2] == "settlement"):
        return AGGREGATOR, None
    if len(rest) == 2 and rest[0] == "bets":
        return ("bet-reader", player_id) if method.upper() == "GET" else (AGGREGATOR, None)
    return "player", player_id


# Set by `before_call` on a case whose signature headers are the point of the case (negated);
# `StakelineAuth` removes it and leaves the request unsigned.
UNSIGNED_MARKER = "X-Stakeline-Fuzz-Unsigned"
SIGNATURE_HEADERS = frozenset({auth.TIMESTAMP_HEADER.lower(), auth.SIGNATURE_HEADER.lower()})


def canonical_integers(value: object) -> object:
    """``value`` with every integral float (``5890.0``) written as the integer it equals."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, dict):
        return {key: canonical_integers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [canonical_integers(item) for item in value]
    return value


def negated_headers(meta) -> set[str]:
    """The (lower-case) names of the headers a negative case was made from, if any."""
    if meta is None:
        return set()
    negative = {getattr(location, "value", location) for location, info in meta.components.items()
                if info.mode.is_negative}
    if "header" not in negative:
        return set()
    data = meta.phase.data
    names = [getattr(data, "parameter", None)]
    names += [m.parameter for m in getattr(data, "mutations", ()) or () if getattr(m, "parameter", None)]
    named = {name.lower() for name in names if name}
    # A negated header component that does not say which header: all of them.
    return named or set(SIGNATURE_HEADERS)


def _drop(headers, *names: str) -> None:
    for name in names:
        headers.pop(name, None)


class StakelineAuth(requests.auth.AuthBase):
    """Real credentials for whichever caller the request's route belongs to.

    ``bet_reader``: who reads bets: ``"player"``, ``"aggregator"``, or ``"by-path"`` (about
    half the bet paths each, always the same for one path).
    ``clock``: Unix seconds for the signature timestamp and the token's ``iat``.
    """

    def __init__(self, *, bet_reader: str = "by-path", clock=time.time):
        if bet_reader not in ("player", "aggregator", "by-path"):
            raise ValueError(f"bet_reader: player, aggregator or by-path, not {bet_reader!r}")
        self.bet_reader = bet_reader
        self.clock = clock

    def reads_as_aggregator(self, raw_path: str) -> bool:
        if self.bet_reader != "by-path":
            return self.bet_reader == "aggregator"
        return zlib.crc32(raw_path.encode("utf-8")) % 2 == 1

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if request.headers.pop(UNSIGNED_MARKER, None) is not None:
            return request
        method = (request.method or "GET").upper()
        raw_path = urlsplit(request.url).path
        caller, player_id = caller_for(method, raw_path)
        if caller == "bet-reader":
            caller = AGGREGATOR if self.reads_as_aggregator(raw_path) else "player"
        headers = request.headers
        if caller in (PAYMENT_PROVIDER, AGGREGATOR):
            body = body_bytes(request.body)
            if isinstance(request.body, (str, bytearray)):
                # Send exactly the bytes signed (requests recomputes Content-Length after auth).
                request.body = body
            _drop(headers, AUTHORIZATION)
            headers.update(
                auth.signed_headers(body, method=method, path=raw_path, integration=caller,
                                    timestamp=int(self.clock()))
            )
        elif caller == "operator":
            _drop(headers, auth.TIMESTAMP_HEADER, auth.SIGNATURE_HEADER)
            token = auth.mint_token(FUZZ_OPERATOR, now=int(self.clock()), scope=auth.OPERATOR_SCOPE)
            headers[AUTHORIZATION] = f"Bearer {token}"
        elif caller in ("player", "new-player"):
            subject = player_id if caller == "player" else f"fuzz-{uuid.uuid4().hex}"
            _drop(headers, auth.TIMESTAMP_HEADER, auth.SIGNATURE_HEADER)
            headers[AUTHORIZATION] = f"Bearer {auth.mint_token(subject, now=int(self.clock()))}"
        return request


# --------------------------------------------------------------------------------------------
# Real players and bets for path parameters.


def load_players(text: str | None = None) -> dict:
    """The seeded players and bets, from ``STAKELINE_FUZZ_PLAYERS`` (empty without it)."""
    text = os.environ.get(PLAYERS_ENV) if text is None else text
    if not text:
        return {"pools": {}, "bets": {}}
    seeded = json.loads(text)
    return {"pools": dict(seeded.get("pools", {})), "bets": dict(seeded.get("bets", {}))}


def _pick(choices: list[str], generated: str, salt: str) -> str | None:
    """Deterministically (so that hypothesis can replay and shrink) one of ``choices`` for a
    generated value, or ``None`` to keep the generated value."""
    if not choices:
        return None
    digest = zlib.crc32(f"{salt}:{generated}".encode("utf-8"))
    if digest % 8 < _KEEP_GENERATED_OUT_OF_8:
        return None
    return choices[(digest // 8) % len(choices)]


def real_path_parameters(operation_path: str, path_parameters: object, seeded: dict) -> object:
    """``path_parameters`` with a well-formed ``player_id`` (and ``bet_id``) mostly replaced by
    seeded ones. Anything else is returned as it is."""
    if not isinstance(path_parameters, dict):
        return path_parameters
    generated = path_parameters.get("player_id")
    if not is_client_id(generated):
        return path_parameters
    pool = seeded["pools"].get(_POOL_BY_PATH.get(operation_path, "main"), [])
    player_id = _pick(list(pool), generated, "player")
    if player_id is None:
        return path_parameters
    mapped = {**path_parameters, "player_id": player_id}
    bet_id = path_parameters.get("bet_id")
    if is_client_id(bet_id):
        real_bet = _pick(list(seeded["bets"].get(player_id, [])), bet_id, "bet")
        if real_bet is not None:
            mapped["bet_id"] = real_bet
    return mapped


# --------------------------------------------------------------------------------------------
# Findings the contract documents as intended.


def _problem(content: bytes) -> dict:
    try:
        body = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


def is_business_rule_refusal(status_code: int, content: bytes) -> bool:
    """A 422 that judges the wallet or the player, or a value rule no schema can express."""
    if status_code != 422:
        return False
    problem = _problem(content)
    code = problem.get("code")
    if code in BUSINESS_RULE_CODES:
        return True
    if code != "VALIDATION_FAILED":
        return False
    fields = [error.get("field") for error in problem.get("errors") or [] if isinstance(error, dict)]
    return bool(fields) and all(field in VALUE_RULE_FIELDS for field in fields)


def negates_only_the_correlation_id(meta) -> bool:
    """Whether a negative case is invalid only in its ``X-Correlation-Id`` header, which the API
    documents as ignored when malformed (never an error)."""
    if meta is None:
        return False
    negative = {getattr(location, "value", location) for location, info in meta.components.items()
                if info.mode.is_negative}
    if negative != {"header"}:
        return False
    data = meta.phase.data
    names = [data.parameter] if data.parameter else [m.parameter for m in getattr(data, "mutations", ()) if m.parameter]
    return bool(names) and all(name.lower() == CORRELATION_HEADER for name in names)


def keeps_failure(failure, case, response) -> bool:
    """``filter_failure``: False for the documented, intended behaviours above."""
    checks = getattr(failure, "checks", ())
    if "positive_data_acceptance" in checks:
        return not is_business_rule_refusal(response.status_code, response.content)
    if "negative_data_rejection" in checks:
        return not (200 <= response.status_code < 300 and negates_only_the_correlation_id(case.meta))
    return True


# --------------------------------------------------------------------------------------------
# Registration with schemathesis (when it is the one loading this file).


# Phases whose cases are not drawn through hypothesis strategies, so `map_*` hooks never see them.
UNDRAWN_PHASES = frozenset({"examples", "coverage"})


def phase_of(case) -> str | None:
    phase = getattr(getattr(case, "meta", None), "phase", None)
    name = getattr(phase, "name", None)
    return None if name is None else str(getattr(name, "value", name))


def targets_the_path(case) -> bool:
    """Whether the case was made to try a path parameter (a coverage boundary, say): its ids are
    the point of it and stay as they are."""
    data = getattr(getattr(getattr(case, "meta", None), "phase", None), "data", None)
    location = getattr(data, "parameter_location", None)
    return getattr(location, "value", location) == "path"


def register(schemathesis) -> None:
    seeded = load_players()
    schemathesis.auth.set_from_requests(StakelineAuth())

    @schemathesis.hook
    def map_path_parameters(context, path_parameters):
        operation = context.operation
        return real_path_parameters(operation.path if operation is not None else "", path_parameters, seeded)

    @schemathesis.hook
    def before_call(context, case, kwargs):
        if isinstance(case.body, (dict, list)):
            case.body = canonical_integers(case.body)
        if negated_headers(getattr(case, "meta", None)) & SIGNATURE_HEADERS:
            case.headers = {**(case.headers or {}), UNSIGNED_MARKER: "1"}
        if phase_of(case) not in UNDRAWN_PHASES or targets_the_path(case):
            return
        mapped = real_path_parameters(case.operation.path, case.path_parameters, seeded)
        if mapped != case.path_parameters:
            case.path_parameters = mapped

    @schemathesis.hook
    def filter_failure(context, failure, case, response):
        return keeps_failure(failure, case, response)


# The unit tests load this file under this name, to use the helpers without registering hooks.
UNDER_TEST = "stakeline_fuzz_hooks_under_test"

if __name__ != UNDER_TEST:
    import schemathesis as _schemathesis

    register(_schemathesis)
