"""tests/e2e/schemathesis_hooks.py without a server: the credentials it puts on a prepared request
(signatures over the exact method, raw path and body bytes sent; player tokens for the path's
player), the seeded ids it puts in paths, and the findings it lets through.

Requests go through a real ``requests.Session`` whose adapter captures the prepared request
instead of sending it, so what is checked is what would be on the wire.
"""

import hashlib
import hmac
import importlib.util
import json
import subprocess
import sys
from enum import Enum
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
import requests
from requests.adapters import BaseAdapter

from stakeline_local import auth

REPO = Path(__file__).resolve().parents[2]
HOOKS_PATH = REPO / "tests" / "e2e" / "schemathesis_hooks.py"


def _load_hooks():
    spec = importlib.util.spec_from_file_location("stakeline_fuzz_hooks_under_test", HOOKS_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.UNDER_TEST == module.__name__, "loaded without registering hooks"
    return module


hooks = _load_hooks()

NOW = 1_795_000_000
BASE = "http://127.0.0.1:9000"


class Capture(BaseAdapter):
    """Keeps the prepared request that a session would send, and answers 204."""

    def __init__(self):
        super().__init__()
        self.sent = []

    def send(self, request, **kwargs):
        self.sent.append(request)
        response = requests.Response()
        response.status_code = 204
        response.request = request
        response._content = b""
        return response

    def close(self):
        pass


def send(method, url, *, clock=lambda: NOW, bet_reader="by-path", **kwargs):
    """``method url`` through a session with StakelineAuth, as schemathesis sends it."""
    capture = Capture()
    session = requests.Session()
    session.mount("http://", capture)
    session.request(method, url, auth=hooks.StakelineAuth(bet_reader=bet_reader, clock=clock), **kwargs)
    (sent,) = capture.sent
    return sent


def wire_body(request) -> bytes:
    body = request.body
    return b"" if body is None else body.encode("iso-8859-1") if isinstance(body, str) else bytes(body)


def expected_signature(integration, request) -> str:
    message = (
        f"{request.headers[auth.TIMESTAMP_HEADER]}.{request.method}.{urlsplit(request.url).path}.".encode()
        + wire_body(request)
    )
    return hmac.new(auth.integration_secret(integration).encode(), message, hashlib.sha256).hexdigest()


def assert_signed_by(integration, request):
    assert request.headers[auth.TIMESTAMP_HEADER] == str(NOW)
    assert request.headers[auth.SIGNATURE_HEADER] == expected_signature(integration, request)
    other = next(name for name in auth.INTEGRATION_SECRETS if name != integration)
    assert request.headers[auth.SIGNATURE_HEADER] != expected_signature(other, request)
    assert "Authorization" not in request.headers


def assert_player_token(request, player_id):
    scheme, token = request.headers["Authorization"].split(" ")
    assert scheme == "Bearer"
    assert auth.verify_token(token, now=NOW)["sub"] == player_id
    assert auth.TIMESTAMP_HEADER not in request.headers and auth.SIGNATURE_HEADER not in request.headers


# --------------------------------------------------------------------------------------------
# Signatures over what is sent.


def test_a_deposit_is_signed_by_the_payment_provider_over_the_exact_request():
    body = b'{"deposit_id":"d-1","amount":2500,"currency":"EUR"}'
    sent = send("POST", f"{BASE}/players/p-1/deposits?ignored=1", data=body,
                headers={"Content-Type": "application/json"})
    assert sent.body == body
    assert sent.headers["Content-Length"] == str(len(body))
    assert_signed_by("payment-provider", sent)
    signed = f"{NOW}.POST./players/p-1/deposits.".encode() + body  # no host, no query string
    assert sent.headers[auth.SIGNATURE_HEADER] == hmac.new(
        auth.integration_secret("payment-provider").encode(), signed, hashlib.sha256).hexdigest()


def test_the_signature_covers_the_bytes_requests_encodes_from_json():
    payload = {"bet_id": "b-1", "round_id": "r-1", "game_id": "Ünïcødé 名前", "amount": 500, "currency": "EUR"}
    sent = send("POST", f"{BASE}/players/p-1/bets", json=payload)
    assert isinstance(sent.body, bytes) and json.loads(sent.body) == payload
    assert_signed_by("aggregator", sent)


def test_a_text_body_is_signed_and_sent_as_the_same_bytes():
    text = '{"settlement_id":"s-1","kind":"win","amount":5,"note":"café"}'
    sent = send("POST", f"{BASE}/players/p-1/bets/b-1/settlement", data=text)
    assert sent.body == text.encode("iso-8859-1")  # what http.client would have sent for the text
    assert sent.headers["Content-Length"] == str(len(sent.body))
    assert_signed_by("aggregator", sent)


def test_the_raw_path_is_signed_as_sent_percent_encoded():
    sent = send("POST", f"{BASE}/players/a%20b%2Fc/bets", data=b"{}")
    assert urlsplit(sent.url).path == "/players/a%20b%2Fc/bets"
    assert_signed_by("aggregator", sent)


def test_an_empty_body_signs_the_string_ending_with_the_third_dot():
    sent = send("GET", f"{BASE}/players/p-1/bets/b-1", bet_reader="aggregator")
    assert wire_body(sent) == b""
    assert_signed_by("aggregator", sent)
    assert expected_signature("aggregator", sent) == auth.signature(
        auth.integration_secret("aggregator"), NOW, "GET", "/players/p-1/bets/b-1", b"")


def test_each_send_is_signed_at_its_own_time():
    clock = iter([NOW, NOW + 7])
    stakeline_auth = hooks.StakelineAuth(clock=lambda: next(clock))
    first = requests.Request("POST", f"{BASE}/players/p-1/deposits", data=b"{}", auth=stakeline_auth).prepare()
    retry = requests.Request("POST", f"{BASE}/players/p-1/deposits", data=b"{}", auth=stakeline_auth).prepare()
    assert (first.headers[auth.TIMESTAMP_HEADER], retry.headers[auth.TIMESTAMP_HEADER]) == (str(NOW), str(NOW + 7))


def test_generated_credentials_are_replaced():
    sent = send("POST", f"{BASE}/players/p-1/deposits", data=b"{}",
                headers={auth.TIMESTAMP_HEADER: "x", auth.SIGNATURE_HEADER: "0" * 64, "Authorization": "Bearer junk"})
    assert_signed_by("payment-provider", sent)


def test_a_streamed_body_cannot_be_signed():
    with pytest.raises(hooks.UnsignableBody):
        send("POST", f"{BASE}/players/p-1/deposits", data=iter([b"{", b"}"]))


# --------------------------------------------------------------------------------------------
# Player tokens.


@pytest.mark.parametrize("method,path", [
    ("GET", "/players/p-1/wallet"),
    ("GET", "/players/p-1/transactions"),
    ("PUT", "/players/p-1/limits"),
    ("POST", "/players/p-1/exclusions"),
    ("POST", "/players/p-1/bonus/forfeit"),
])
def test_player_routes_carry_a_token_for_the_paths_player(method, path):
    sent = send(method, BASE + path, data=b"{}", headers={auth.SIGNATURE_HEADER: "0" * 64})
    assert_player_token(sent, "p-1")


def test_the_token_names_the_decoded_player_id():
    assert_player_token(send("GET", f"{BASE}/players/a%20b/wallet"), "a b")


def test_each_registration_is_a_new_identity():
    subjects = set()
    for _ in range(3):
        sent = send("POST", f"{BASE}/players", json={"email": "a@b.co"})
        token = sent.headers["Authorization"].removeprefix("Bearer ")
        subjects.add(auth.verify_token(token, now=NOW)["sub"])
    assert len(subjects) == 3
    assert all(hooks.is_client_id(subject) for subject in subjects)


def test_a_bet_is_read_by_the_player_or_the_aggregator_always_the_same_for_one_path():
    readers = {}
    for n in range(16):
        path = f"/players/p-1/bets/b-{n}"
        first, again = send("GET", BASE + path), send("GET", BASE + path)
        assert ("Authorization" in first.headers) == ("Authorization" in again.headers)
        if "Authorization" in first.headers:
            assert_player_token(first, "p-1")
            readers[path] = "player"
        else:
            assert_signed_by("aggregator", first)
            readers[path] = "aggregator"
    assert set(readers.values()) == {"player", "aggregator"}
    assert_player_token(send("GET", f"{BASE}/players/p-1/bets/b-1", bet_reader="player"), "p-1")


@pytest.mark.parametrize("method,path", [
    ("GET", "/ops/withdrawals"),
    ("POST", "/ops/withdrawals/w-1/decision"),
    ("GET", "/ops/players/p-1"),
    ("PUT", "/ops/players/p-1/status"),
])
def test_operator_routes_carry_an_operator_token(method, path):
    sent = send(method, BASE + path, data=b"{}", headers={auth.SIGNATURE_HEADER: "0" * 64})
    token = sent.headers["Authorization"].removeprefix("Bearer ")
    claims = auth.verify_token(token, now=NOW)
    assert (claims["sub"], claims["scope"]) == (hooks.FUZZ_OPERATOR, auth.OPERATOR_SCOPE)
    assert auth.SIGNATURE_HEADER not in sent.headers


def test_paths_of_no_route_get_no_credentials():
    sent = send("GET", f"{BASE}/health")
    assert "Authorization" not in sent.headers and auth.SIGNATURE_HEADER not in sent.headers


# --------------------------------------------------------------------------------------------
# Seeded players and bets in paths.

SEEDED = hooks.load_players(json.dumps({
    "pools": {"main": ["m-1", "m-2"], "exclusions": ["x-1"], "limits": ["l-1"]},
    "bets": {"m-1": ["b-1", "b-2"], "m-2": ["b-3"]},
}))


def test_well_formed_players_are_mostly_replaced_by_seeded_ones_of_the_routes_pool():
    for path, pool in (("/players/{player_id}/wallet", {"m-1", "m-2"}),
                       ("/players/{player_id}/exclusions", {"x-1"}),
                       ("/players/{player_id}/limits", {"l-1"})):
        mapped = [hooks.real_path_parameters(path, {"player_id": f"gen-{n}"}, SEEDED)["player_id"] for n in range(200)]
        replaced = [player for player in mapped if not player.startswith("gen-")]
        assert set(replaced) == pool
        assert 0 < len(mapped) - len(replaced) < 60, "a share of generated players is kept"


def test_bets_are_mapped_to_bets_of_the_mapped_player():
    for n in range(100):
        mapped = hooks.real_path_parameters("/players/{player_id}/bets/{bet_id}",
                                            {"player_id": f"gen-{n}", "bet_id": f"bet-{n}"}, SEEDED)
        if mapped["player_id"] in SEEDED["bets"] and not mapped["bet_id"].startswith("bet-"):
            assert mapped["bet_id"] in SEEDED["bets"][mapped["player_id"]]


def test_the_mapping_is_deterministic_and_leaves_ill_formed_ids_alone():
    generated = {"player_id": "gen-7", "bet_id": "bet-7"}
    first = hooks.real_path_parameters("/players/{player_id}/bets/{bet_id}", generated, SEEDED)
    assert first == hooks.real_path_parameters("/players/{player_id}/bets/{bet_id}", dict(generated), SEEDED)
    for bad in ("", "a b", "x" * 129, "é", 5, None):
        assert hooks.real_path_parameters("/players/{player_id}/wallet", {"player_id": bad}, SEEDED) == {"player_id": bad}
    assert hooks.real_path_parameters("/players/{player_id}/wallet", ["not", "a", "dict"], SEEDED) == ["not", "a", "dict"]
    assert hooks.real_path_parameters("/players/{player_id}/wallet", {"player_id": "gen-1"}, hooks.load_players("")) == {
        "player_id": "gen-1"}


# --------------------------------------------------------------------------------------------
# Findings that are documented behaviour.


def _response(status, body):
    return SimpleNamespace(status_code=status, content=json.dumps(body).encode())


def _failure(check):
    return SimpleNamespace(checks=(check,))


@pytest.mark.parametrize("status,body,documented", [
    (422, {"code": "INSUFFICIENT_FUNDS"}, True),
    (422, {"code": "CURRENCY_MISMATCH"}, True),
    (422, {"code": "DEPOSIT_LIMIT_REACHED"}, True),
    (422, {"code": "STAKE_LIMIT_EXCEEDED"}, True),
    (422, {"code": "UNDERAGE"}, True),
    (422, {"code": "VALIDATION_FAILED", "errors": [{"field": "/date_of_birth", "message": "in the future"}]}, True),
    (422, {"code": "VALIDATION_FAILED", "errors": [{"field": "cursor", "message": "unknown"}]}, True),
    (422, {"code": "VALIDATION_FAILED", "errors": [{"field": "/email", "message": "m"}]}, False),
    (422, {"code": "VALIDATION_FAILED", "errors": [{"field": "cursor", "message": "m"}, {"field": "/x", "message": "m"}]}, False),
    (422, {"code": "VALIDATION_FAILED"}, False),
    (400, {"code": "INSUFFICIENT_FUNDS"}, False),
])
def test_schema_valid_requests_refused_by_business_rules_are_not_findings(status, body, documented):
    response = _response(status, body)
    assert hooks.is_business_rule_refusal(status, response.content) is documented
    assert hooks.keeps_failure(_failure("positive_data_acceptance"), None, response) is not documented
    assert hooks.keeps_failure(_failure("response_schema_conformance"), None, response) is True


class Location(str, Enum):
    """Stands in for schemathesis's ParameterLocation (a str Enum)."""

    HEADER = "header"
    BODY = "body"
    PATH = "path"


def _meta(negative_locations, parameter=None, mutations=()):
    components = {
        location: SimpleNamespace(mode=SimpleNamespace(is_negative=location.value in negative_locations))
        for location in Location
    }
    data = SimpleNamespace(parameter=parameter, mutations=[SimpleNamespace(parameter=m) for m in mutations])
    return SimpleNamespace(components=components, phase=SimpleNamespace(data=data))


@pytest.mark.parametrize("meta,ignored", [
    (_meta({"header"}, parameter="X-Correlation-Id"), True),
    (_meta({"header"}, mutations=["x-correlation-id"]), True),
    (_meta({"header"}, parameter="X-Stakeline-Signature"), False),
    (_meta({"header", "body"}, parameter="X-Correlation-Id"), False),
    (_meta({"body"}), False),
    (None, False),
])
def test_a_malformed_correlation_id_being_ignored_is_not_a_finding(meta, ignored):
    case = SimpleNamespace(meta=meta)
    assert hooks.keeps_failure(_failure("negative_data_rejection"), case, _response(200, {})) is not ignored
    assert hooks.keeps_failure(_failure("negative_data_rejection"), case, _response(500, {})) is True


def _case(phase, parameter_location=None):
    data = SimpleNamespace(parameter_location=parameter_location)
    return SimpleNamespace(meta=SimpleNamespace(phase=SimpleNamespace(name=phase, data=data)))


def test_the_phase_of_a_case_and_whether_it_tries_a_path_parameter():
    assert hooks.phase_of(_case("coverage")) == "coverage"
    assert hooks.phase_of(SimpleNamespace(meta=None)) is None
    assert hooks.targets_the_path(_case("coverage", Location.PATH))
    assert not hooks.targets_the_path(_case("coverage", Location.BODY))
    assert not hooks.targets_the_path(_case("examples"))
    assert not hooks.targets_the_path(SimpleNamespace(meta=None))


# --------------------------------------------------------------------------------------------
# Registration, where schemathesis is installed.


def test_schemathesis_accepts_the_hooks():
    pytest.importorskip("schemathesis")
    script = (
        "import schemathesis, schemathesis.hooks as h, schemathesis.auths as a\n"
        "from schemathesis.core.hooks import load_from_path\n"
        f"load_from_path({str(HOOKS_PATH)!r})\n"
        "assert a.GLOBAL_AUTH_STORAGE.is_defined\n"
        "for name in ('map_path_parameters', 'before_call', 'filter_failure'):\n"
        "    assert h.get_all_by_name(name), name\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_integral_floats_are_sent_as_the_integers_they_equal():
    body = {"amount": 5890.0, "limits": {"weekly": 1.0, "daily": 2.5}, "ids": [3.0, "x"], "ok": True}
    assert hooks.canonical_integers(body) == {
        "amount": 5890, "limits": {"weekly": 1, "daily": 2.5}, "ids": [3, "x"], "ok": True,
    }
    assert isinstance(hooks.canonical_integers(1e300), float), "out of i64 range: left alone"


def test_a_case_made_by_negating_a_signature_header_stays_unsigned():
    missing = _meta({"header"}, mutations=["X-Stakeline-Timestamp", "X-Stakeline-Signature"])
    assert hooks.negated_headers(missing) & hooks.SIGNATURE_HEADERS
    assert hooks.negated_headers(_meta({"header"}, parameter="X-Correlation-Id")) == {"x-correlation-id"}
    assert hooks.negated_headers(_meta({"body"})) == set()
    assert hooks.negated_headers(None) == set()
    # The marker makes the auth leave the request as schemathesis made it.
    sent = send("POST", f"{BASE}/players/p-1/deposits", data=b'{"amount":1}',
                headers={hooks.UNSIGNED_MARKER: "1", "Content-Type": "application/json"})
    assert hooks.UNSIGNED_MARKER not in sent.headers
    assert auth.SIGNATURE_HEADER not in sent.headers and auth.TIMESTAMP_HEADER not in sent.headers
