"""events/: one sample API Gateway HTTP API event per template route, and `sign-event`."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stakeline_local import auth
from stakeline_local.emulator import STACK_PY
from stakeline_local.events import raw_body
from stakeline_local.template import http_routes

PLAYER = "5f0c3e2a-8b1d-4c7e-9a6f-2d4b8e1c7a90"
EVENTS = sorted((Path(__file__).resolve().parents[2] / "events").rglob("*.json"))


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def header(event: dict, name: str) -> str | None:
    return next((v for k, v in event["headers"].items() if k.lower() == name.lower()), None)


def test_every_template_route_has_a_sample_event(template):
    covered = {tuple(load(path)["routeKey"].split(" ", 1)) for path in EVENTS}
    assert set(http_routes(template)) <= covered


@pytest.mark.parametrize("path", EVENTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_event_is_a_consistent_payload_2_0_request(path, template):
    event = load(path)
    method, route = event["routeKey"].split(" ", 1)
    binary = http_routes(template)[(method, route)]
    assert path.parent.name == binary, f"{path} belongs under events/{binary}/"
    assert event["version"] == "2.0" and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["routeKey"] == event["routeKey"] and context["http"]["method"] == method
    expected_path = route
    for name, value in (event.get("pathParameters") or {}).items():
        expected_path = expected_path.replace("{" + name + "}", value)
    assert "{" not in expected_path and event["rawPath"] == expected_path == context["http"]["path"]
    if event.get("pathParameters"):
        assert event["pathParameters"]["player_id"] == PLAYER
    if "body" in event:
        assert isinstance(event["body"], str) and isinstance(json.loads(event["body"]), dict)
    if header(event, auth.SIGNATURE_HEADER):
        assert "authorizer" not in context
    else:
        assert context["authorizer"]["jwt"]["claims"]["sub"] == PLAYER


def test_deposit_event_is_signed_for_its_exact_body():
    event = load(Path(STACK_PY).parents[2] / "events" / "deposit" / "deposit.json")
    assert header(event, auth.TIMESTAMP_HEADER) == "1795392000"
    expected = auth.signature(auth.INTEGRATION_SECRETS["payment-provider"], 1795392000, raw_body(event))
    assert header(event, auth.SIGNATURE_HEADER) == expected
    body = json.loads(event["body"])
    assert body["currency"] == "EUR" and isinstance(body["amount"], int)


def test_sign_event_refreshes_signature_and_token(repo_root):
    now = int(time.time())
    for relative in ("events/deposit/deposit.json", "events/register/limits.json"):
        result = subprocess.run(
            [sys.executable, str(STACK_PY), "sign-event", str(repo_root / relative)],
            capture_output=True, text=True, check=True,
        )
        event = json.loads(result.stdout)
        original = load(repo_root / relative)
        assert event["body"] == original.get("body")
        assert abs(event["requestContext"]["timeEpoch"] // 1000 - now) < 60
        if header(event, auth.SIGNATURE_HEADER):
            stamp = int(header(event, auth.TIMESTAMP_HEADER))
            assert abs(stamp - now) < 60
            assert header(event, auth.SIGNATURE_HEADER) == auth.signature(
                auth.INTEGRATION_SECRETS["payment-provider"], stamp, raw_body(event)
            )
        else:
            token = header(event, "Authorization").removeprefix("Bearer ")
            assert auth.verify_token(token)["sub"] == PLAYER
            claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
            assert int(claims["exp"]) > now
