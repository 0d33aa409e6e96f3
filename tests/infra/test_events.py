"""events/: one sample API Gateway HTTP API event per template route, an SQS event per
queue-fed function, and `sign-event`."""

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stakeline_local import auth
from stakeline_local.emulator import STACK_PY
from stakeline_local.events import integration_for_route, raw_body
from stakeline_local.pollers import sqs_record
from stakeline_local.template import http_routes, sqs_event_sources

PLAYER = "5f0c3e2a-8b1d-4c7e-9a6f-2d4b8e1c7a90"
SIGNED_AT = 1795392000
EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
EVENTS = sorted(EVENTS_DIR.rglob("*.json"))
HTTP_EVENTS = [p for p in EVENTS if "routeKey" in json.loads(p.read_text())]
SQS_EVENTS = [p for p in EVENTS if "Records" in json.loads(p.read_text())]


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def header(event: dict, name: str) -> str | None:
    return next((v for k, v in event["headers"].items() if k.lower() == name.lower()), None)


def test_every_event_is_an_http_or_an_sqs_event():
    assert sorted(HTTP_EVENTS + SQS_EVENTS) == EVENTS
    assert SQS_EVENTS, "the SQS-fed function has a sample batch"


def test_every_template_route_has_a_sample_event(template):
    covered = {tuple(load(path)["routeKey"].split(" ", 1)) for path in HTTP_EVENTS}
    assert set(http_routes(template)) <= covered


def test_every_queue_fed_function_has_a_sample_batch(template):
    covered = {path.parent.name for path in SQS_EVENTS}
    assert {function.binary for function, _ in sqs_event_sources(template)} <= covered


@pytest.mark.parametrize("path", HTTP_EVENTS, ids=lambda p: f"{p.parent.name}/{p.name}")
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
        assert header(event, "content-length") == str(len(raw_body(event)))
    if header(event, auth.SIGNATURE_HEADER):
        assert "authorizer" not in context
    else:
        assert context["authorizer"]["jwt"]["claims"]["sub"] == PLAYER


SIGNED = [p for p in HTTP_EVENTS if header(load(p), auth.SIGNATURE_HEADER)]


def test_deposits_bets_and_settlements_are_signed():
    assert {f"{p.parent.name}/{p.name}" for p in SIGNED} == {
        "deposit/deposit.json", "place-bet/bet.json", "settle/win.json", "settle/rollback.json",
    }


@pytest.mark.parametrize("path", SIGNED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_signed_event_verifies_with_its_integrations_secret_only(path, template):
    event = load(path)
    integration = integration_for_route(template, event["routeKey"])
    assert integration == ("payment-provider" if path.parent.name == "deposit" else "aggregator")
    assert header(event, auth.TIMESTAMP_HEADER) == str(SIGNED_AT)
    signature = header(event, auth.SIGNATURE_HEADER)
    for name, secret in auth.INTEGRATION_SECRETS.items():
        matches = signature == auth.signature(secret, SIGNED_AT, raw_body(event))
        assert matches is (name == integration), name


def test_sample_bodies():
    deposit = json.loads(load(EVENTS_DIR / "deposit" / "deposit.json")["body"])
    assert deposit["currency"] == "EUR" and isinstance(deposit["amount"], int)
    bet_event = load(EVENTS_DIR / "place-bet" / "bet.json")
    assert bet_event["body"] == (
        '{"bet_id":"bet-20261123-000001","round_id":"round-77","game_id":"starburst",'
        '"amount":1000,"currency":"EUR"}'
    )
    bet_id = "bet-20261123-000001"
    win = load(EVENTS_DIR / "settle" / "win.json")
    rollback = load(EVENTS_DIR / "settle" / "rollback.json")
    assert json.loads(win["body"]) == {"settlement_id": "stl-20261123-000001", "kind": "win", "amount": 2500}
    assert json.loads(rollback["body"]) == {"settlement_id": "stl-20261123-000002", "kind": "rollback"}
    read = load(EVENTS_DIR / "wallet-read" / "bet.json")
    for event in (win, rollback, read):
        assert event["pathParameters"] == {"player_id": PLAYER, "bet_id": bet_id}
    assert "body" not in read


def test_settlement_batch_is_the_event_the_local_poller_builds(template):
    [path] = [p for p in SQS_EVENTS if p.parent.name == "settle-queue"]
    records = load(path)["Records"]
    assert len(records) == 3
    for record in records:
        built = sqs_record(
            {"MessageId": record["messageId"], "ReceiptHandle": record["receiptHandle"],
             "Body": record["body"], "MD5OfBody": record["md5OfBody"], "Attributes": record["attributes"]},
            queue_arn=record["eventSourceARN"], region=record["awsRegion"],
        )
        assert built == record, "same keys, order and values as the poller's records"
        assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()
        assert record["eventSourceARN"].split(":")[3] == record["awsRegion"]
        assert "-SettlementQueue-" in record["eventSourceARN"], "a queue CloudFormation named"
        assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert len({r["messageId"] for r in records}) == 3

    win, poison, rollback = records
    with pytest.raises(ValueError):
        json.loads(poison["body"])
    assert json.loads(win["body"]) == {
        "player_id": PLAYER, "bet_id": "bet-20261123-000002", "settlement_id": "stl-20261123-000003",
        "kind": "win", "amount": 1200,
    }
    assert json.loads(rollback["body"]) == {
        "player_id": PLAYER, "bet_id": "bet-20261123-000004", "settlement_id": "stl-20261123-000004",
        "kind": "rollback",
    }


def test_sign_event_refreshes_signature_and_token(repo_root):
    now = int(time.time())
    secrets = {
        "events/deposit/deposit.json": auth.INTEGRATION_SECRETS["payment-provider"],
        # Bets and settlements: the aggregator's secret, read off the template.
        "events/place-bet/bet.json": auth.INTEGRATION_SECRETS["aggregator"],
        "events/settle/win.json": auth.INTEGRATION_SECRETS["aggregator"],
    }
    for relative in (*secrets, "events/register/limits.json", "events/wallet-read/bet.json"):
        result = subprocess.run(
            [sys.executable, str(STACK_PY), "sign-event", str(repo_root / relative)],
            capture_output=True, text=True, check=True,
        )
        event = json.loads(result.stdout)
        original = load(repo_root / relative)
        assert event.get("body") == original.get("body")
        assert abs(event["requestContext"]["timeEpoch"] // 1000 - now) < 60
        if header(event, auth.SIGNATURE_HEADER):
            stamp = int(header(event, auth.TIMESTAMP_HEADER))
            assert abs(stamp - now) < 60
            assert header(event, auth.SIGNATURE_HEADER) == auth.signature(
                secrets[relative], stamp, raw_body(event)
            )
        else:
            token = header(event, "Authorization").removeprefix("Bearer ")
            assert auth.verify_token(token)["sub"] == PLAYER
            claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
            assert int(claims["exp"]) > now
