"""events/: one sample API Gateway HTTP API event per template route, an SQS event per
queue-fed function, a DynamoDB stream event per stream-fed function, and `sign-event`."""

import hashlib
import hmac
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stakeline_local import auth
from stakeline_local.emulator import STACK_PY
from stakeline_local.events import integration_for_route, md5_of_message_attributes, raw_body
from stakeline_local.pollers import filter_matches, sqs_record, stream_record
from stakeline_local.template import http_routes, sqs_event_sources, stream_event_sources

PLAYER = "5f0c3e2a-8b1d-4c7e-9a6f-2d4b8e1c7a90"
# The staff member of the operator events (events/ops).
STAFF = "staff-0042"
SIGNED_AT = 1795392000
EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
EVENTS = sorted(EVENTS_DIR.rglob("*.json"))
HTTP_EVENTS = [p for p in EVENTS if "routeKey" in json.loads(p.read_text())]


def _record_source(path: Path) -> str | None:
    records = json.loads(path.read_text()).get("Records") or [{}]
    return records[0].get("eventSource")


SQS_EVENTS = [p for p in EVENTS if _record_source(p) == "aws:sqs"]
STREAM_EVENTS = [p for p in EVENTS if _record_source(p) == "aws:dynamodb"]


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def header(event: dict, name: str) -> str | None:
    return next((v for k, v in event["headers"].items() if k.lower() == name.lower()), None)


def test_every_event_is_an_http_an_sqs_or_a_stream_event():
    assert sorted(HTTP_EVENTS + SQS_EVENTS + STREAM_EVENTS) == EVENTS
    assert SQS_EVENTS, "the SQS-fed functions have sample batches"
    assert STREAM_EVENTS, "the stream-fed function has a sample batch"


def test_every_template_route_has_a_sample_event(template):
    covered = {tuple(load(path)["routeKey"].split(" ", 1)) for path in HTTP_EVENTS}
    assert set(http_routes(template)) <= covered


def test_every_queue_fed_function_has_a_sample_batch(template):
    covered = {path.parent.name for path in SQS_EVENTS}
    assert {function.binary for function, _ in sqs_event_sources(template)} <= covered


def test_every_stream_fed_function_has_a_sample_batch(template):
    covered = {path.parent.name for path in STREAM_EVENTS}
    assert {function.binary for function, _ in stream_event_sources(template)} <= covered


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
    if "player_id" in (event.get("pathParameters") or {}):
        assert event["pathParameters"]["player_id"] == PLAYER
    if "body" in event:
        assert isinstance(event["body"], str) and isinstance(json.loads(event["body"]), dict)
        assert header(event, "content-length") == str(len(raw_body(event)))
    if header(event, auth.SIGNATURE_HEADER):
        assert "authorizer" not in context
    elif route.startswith("/ops/"):
        claims = context["authorizer"]["jwt"]["claims"]
        assert (claims["sub"], claims["scope"]) == (STAFF, auth.OPERATOR_SCOPE)
        token = auth.verify_token(header(event, "Authorization").removeprefix("Bearer "), now=SIGNED_AT)
        assert (token["sub"], token["scope"]) == (STAFF, auth.OPERATOR_SCOPE)
    else:
        assert context["authorizer"]["jwt"]["claims"]["sub"] == PLAYER


SIGNED = [p for p in HTTP_EVENTS if header(load(p), auth.SIGNATURE_HEADER)]


def test_deposits_bets_and_settlements_are_signed():
    assert {f"{p.parent.name}/{p.name}" for p in SIGNED} == {
        "deposit/deposit.json", "place-bet/bet.json", "settle/win.json", "settle/rollback.json",
        "withdraw/result.json",
    }


def signed_over(event: dict) -> tuple[str, str, bytes]:
    """What an API Gateway event's signature covers: its method, raw path and body."""
    return event["requestContext"]["http"]["method"], event["rawPath"], raw_body(event)


@pytest.mark.parametrize("path", SIGNED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_signed_event_verifies_with_its_integrations_secret_only(path, template):
    event = load(path)
    integration = integration_for_route(template, event["routeKey"])
    assert integration == ("payment-provider" if path.parent.name in ("deposit", "withdraw") else "aggregator")
    assert header(event, auth.TIMESTAMP_HEADER) == str(SIGNED_AT)
    signature = header(event, auth.SIGNATURE_HEADER)
    method, raw_path, body = signed_over(event)
    assert method == "POST" and raw_path.startswith(f"/players/{PLAYER}/")
    for name, secret in auth.INTEGRATION_SECRETS.items():
        matches = signature == auth.signature(secret, SIGNED_AT, method, raw_path, body)
        assert matches is (name == integration), name
    # Not the old signing string (timestamp.body): a signature covers the method and path too.
    old = hmac.new(auth.INTEGRATION_SECRETS[integration].encode(), f"{SIGNED_AT}.".encode() + body, hashlib.sha256)
    assert signature != old.hexdigest()


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


def received_message(record: dict) -> dict:
    """The ReceiveMessage message a Lambda SQS record was built from (what the poller reads)."""
    message = {"MessageId": record["messageId"], "ReceiptHandle": record["receiptHandle"], "Body": record["body"],
               "MD5OfBody": record["md5OfBody"], "Attributes": record["attributes"]}
    if record["messageAttributes"]:
        message["MessageAttributes"] = {
            name: {"StringValue": value["stringValue"], "DataType": value["dataType"]}
            for name, value in record["messageAttributes"].items()
        }
        message["MD5OfMessageAttributes"] = record["md5OfMessageAttributes"]
    return message


def queue_signature_is_valid(record: dict, *, at: int | None = None) -> bool:
    """The record carries the aggregator's signature of its body (at ``at``) in its message
    attributes, as settle-queue checks it."""
    attributes = record["messageAttributes"]
    for name in (auth.TIMESTAMP_HEADER, auth.SIGNATURE_HEADER):
        assert attributes[name]["dataType"] == "String" and set(attributes[name]) == {
            "stringValue", "stringListValues", "binaryListValues", "dataType"}
    stamp = attributes[auth.TIMESTAMP_HEADER]["stringValue"]
    if at is not None and stamp != str(at):
        return False
    expected = auth.signature(auth.INTEGRATION_SECRETS["aggregator"], stamp, "SQS", "/settlement-queue", record["body"])
    return attributes[auth.SIGNATURE_HEADER]["stringValue"] == expected


def test_settlement_batch_is_the_event_the_local_poller_builds(template, aws):
    [path] = [p for p in SQS_EVENTS if p.parent.name == "settle-queue"]
    records = load(path)["Records"]
    assert len(records) == 3
    sqs = aws("sqs")
    check_queue = sqs.create_queue(QueueName=f"events-md5-{int(time.time() * 1000)}")["QueueUrl"]
    for record in records:
        built = sqs_record(received_message(record), queue_arn=record["eventSourceARN"], region=record["awsRegion"])
        assert built == record and list(built) == list(record), "same keys, order and values as the poller's records"
        assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()
        assert record["eventSourceARN"].split(":")[3] == record["awsRegion"]
        assert "-SettlementQueue-" in record["eventSourceARN"], "a queue CloudFormation named"
        assert record["attributes"]["ApproximateReceiveCount"] == "1"
        # Every message, the poison one too, is signed by the aggregator at SIGNED_AT ...
        assert queue_signature_is_valid(record, at=SIGNED_AT)
        assert int(record["attributes"]["SentTimestamp"]) // 1000 == SIGNED_AT
        # ... and its md5OfMessageAttributes is the one SQS computes for those attributes.
        sent = sqs.send_message(QueueUrl=check_queue, MessageBody=record["body"],
                                MessageAttributes=received_message(record)["MessageAttributes"])
        assert sent["MD5OfMessageAttributes"] == record["md5OfMessageAttributes"]
        assert md5_of_message_attributes(record["messageAttributes"]) == record["md5OfMessageAttributes"]
    sqs.delete_queue(QueueUrl=check_queue)
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


def sign_event(path: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(STACK_PY), "sign-event", str(path), *args],
                          capture_output=True, text=True, check=check)


def test_sign_event_refreshes_signature_and_token(repo_root):
    now = int(time.time())
    secrets = {
        "events/deposit/deposit.json": auth.INTEGRATION_SECRETS["payment-provider"],
        # Bets and settlements: the aggregator's secret, read off the template.
        "events/place-bet/bet.json": auth.INTEGRATION_SECRETS["aggregator"],
        "events/settle/win.json": auth.INTEGRATION_SECRETS["aggregator"],
    }
    for relative in (*secrets, "events/register/limits.json", "events/wallet-read/bet.json", "events/ops/status.json"):
        event = json.loads(sign_event(repo_root / relative).stdout)
        original = load(repo_root / relative)
        assert event.get("body") == original.get("body")
        assert abs(event["requestContext"]["timeEpoch"] // 1000 - now) < 60
        if header(event, auth.SIGNATURE_HEADER):
            stamp = int(header(event, auth.TIMESTAMP_HEADER))
            assert abs(stamp - now) < 60
            assert header(event, auth.SIGNATURE_HEADER) == auth.signature(secrets[relative], stamp, *signed_over(event))
        else:
            token = auth.verify_token(header(event, "Authorization").removeprefix("Bearer "))
            if relative.startswith("events/ops/"):
                assert (token["sub"], token["scope"]) == (STAFF, auth.OPERATOR_SCOPE)
            else:
                assert token["sub"] == PLAYER and "scope" not in token
            claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
            assert int(claims["exp"]) > now


def test_sign_event_signs_for_the_events_method_and_path(repo_root, tmp_path):
    """The signature covers requestContext.http.method and rawPath: move the event to another
    player's path and the re-signed event carries another signature, valid there only."""
    event = load(repo_root / "events/deposit/deposit.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/players/someone-else/deposits"
    moved_file = tmp_path / "moved.json"
    moved_file.write_text(json.dumps(event))
    moved = json.loads(sign_event(moved_file, "--timestamp", str(SIGNED_AT)).stdout)
    secret = auth.INTEGRATION_SECRETS["payment-provider"]
    signature = header(moved, auth.SIGNATURE_HEADER)
    assert signature == auth.signature(secret, SIGNED_AT, "POST", "/players/someone-else/deposits", raw_body(moved))
    assert signature != header(load(repo_root / "events/deposit/deposit.json"), auth.SIGNATURE_HEADER)


def test_sign_event_re_signs_the_settlement_batch(repo_root):
    now = int(time.time())
    path = repo_root / "events/settle-queue/batch.json"
    event = json.loads(sign_event(path).stdout)
    original = load(path)
    assert [list(r) for r in event["Records"]] == [list(r) for r in original["Records"]]
    for record, before in zip(event["Records"], original["Records"], strict=True):
        assert record["body"] == before["body"] and record["messageId"] == before["messageId"]
        stamp = int(record["messageAttributes"][auth.TIMESTAMP_HEADER]["stringValue"])
        assert abs(stamp - now) < 60
        assert queue_signature_is_valid(record, at=stamp)
        assert record["md5OfMessageAttributes"] == md5_of_message_attributes(record["messageAttributes"])
        assert record["md5OfMessageAttributes"] != before["md5OfMessageAttributes"]
        moved = (stamp - SIGNED_AT) * 1000
        for name in ("SentTimestamp", "ApproximateFirstReceiveTimestamp"):
            assert int(record["attributes"][name]) == int(before["attributes"][name]) + moved


def test_sign_event_leaves_an_unsigned_queue_event_alone_unless_told(repo_root):
    path = repo_root / "events/bonus-award/deposit-completed.json"
    refused = sign_event(path, check=False)
    assert refused.returncode == 1 and "carries a signature" in refused.stderr
    [record] = json.loads(sign_event(path, "--secret", "aggregator", "--timestamp", str(SIGNED_AT)).stdout)["Records"]
    assert queue_signature_is_valid(record, at=SIGNED_AT)


# -- the choreography's events -------------------------------------------------------------------

COMMON_DETAIL = {"event_id", "correlation_id", "occurred_at", "player_id"}
DETAIL_FIELDS = {
    "PlayerRegistered": {"currency", "country"},
    "DepositCompleted": {"deposit_id", "amount", "currency", "first_deposit", "entry_id"},
    "BetPlaced": {"bet_id", "round_id", "game_id", "amount", "currency", "cash_stake", "bonus_stake"},
    "BetSettled": {"bet_id", "settlement_id", "kind", "status", "cash_credit", "bonus_credit"},
    "BonusAwarded": {"campaign_id", "amount", "currency", "wagering_required", "expires_at"},
    "BonusReleased": {"campaign_id", "amount"},
    "BonusForfeited": {"campaign_id", "amount", "reason"},
}
DEPOSIT_DETAIL = {
    "event_id": "DepositCompleted:psp-20261123-000001",
    "correlation_id": "3f6c9e2a-1b4d-4e8f-a7c5-9d2b6e1f0a48",
    "occurred_at": "2026-11-23T00:00:00.000Z",
    "player_id": PLAYER,
    "deposit_id": "psp-20261123-000001",
    "amount": 5000,
    "currency": "EUR",
    "first_deposit": True,
    "entry_id": f"{PLAYER}:000000000001",
}


def _raw(record: dict) -> dict:
    """A GetRecords record carrying what ``record`` carries (what the poller reads)."""
    return {key: record[key] for key in ("eventID", "eventName", "dynamodb") if key in record}


def _detail_is_well_formed(detail_type: str, detail: dict) -> None:
    assert set(detail) == COMMON_DETAIL | DETAIL_FIELDS[detail_type], detail_type
    assert detail["event_id"].startswith(f"{detail_type}:")
    assert detail["player_id"] == PLAYER
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", detail["occurred_at"])


def test_publisher_stream_sample_is_the_event_the_local_poller_builds(template):
    [path] = STREAM_EVENTS
    assert path.relative_to(EVENTS_DIR).as_posix() == "publisher/stream.json"
    records = load(path)["Records"]
    [(_, stream)] = stream_event_sources(template)
    for record in records:
        rebuilt = stream_record(_raw(record), stream_arn=record["eventSourceARN"], region=record["awsRegion"])
        assert rebuilt == record and list(rebuilt) == list(record), "same keys, order and values as the poller's"
        assert list(record["dynamodb"]) == list(rebuilt["dynamodb"])
        assert record["eventSourceARN"].split(":")[3] == record["awsRegion"]
        assert "-WalletTable-" in record["eventSourceARN"] and "/stream/" in record["eventSourceARN"]
        assert record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    numbers = [r["dynamodb"]["SequenceNumber"] for r in records]
    assert all(n.isdigit() for n in numbers) and [int(n) for n in numbers] == sorted({int(n) for n in numbers})

    # The template's filter keeps the two wallet writes that carry events (the registration's
    # INSERT, the deposit's MODIFY) and drops the profile.
    kept = [r for r in records if any(filter_matches(pattern, r) for pattern in stream.filters)]
    registered, profile, deposit = records
    assert kept == [registered, deposit]
    assert profile["dynamodb"]["NewImage"]["item_type"] == {"S": "profile"}
    assert [r["eventName"] for r in records] == ["INSERT", "INSERT", "MODIFY"]

    for record, detail_type in ((registered, "PlayerRegistered"), (deposit, "DepositCompleted")):
        image = record["dynamodb"]["NewImage"]
        assert image["item_type"] == {"S": "wallet"} and image["publish"] == {"S": "events"}
        assert record["dynamodb"]["Keys"] == {"pk": image["pk"], "sk": image["sk"]}
        assert image["pk"] == {"S": f"PLAYER#{PLAYER}"} and image["sk"] == {"S": "WALLET"}
        [event] = json.loads(image["events"]["S"])
        assert list(event) == ["source", "detail_type", "detail"]
        assert (event["source"], event["detail_type"]) == ("stakeline.wallet", detail_type)
        _detail_is_well_formed(detail_type, event["detail"])
        assert record["dynamodb"]["ApproximateCreationDateTime"] == int(image["updated_at"]["N"]) // 1000
    assert deposit["dynamodb"]["OldImage"] == registered["dynamodb"]["NewImage"]
    assert json.loads(deposit["dynamodb"]["NewImage"]["events"]["S"])[0]["detail"] == DEPOSIT_DETAIL


def test_bonus_sample_is_what_the_first_deposit_rule_delivers(template):
    [path] = [p for p in SQS_EVENTS if p.parent.name == "bonus-award"]
    [record] = load(path)["Records"]
    rebuilt = sqs_record(
        {"MessageId": record["messageId"], "ReceiptHandle": record["receiptHandle"], "Body": record["body"],
         "MD5OfBody": record["md5OfBody"], "Attributes": record["attributes"]},
        queue_arn=record["eventSourceARN"], region=record["awsRegion"],
    )
    assert rebuilt == record and list(rebuilt) == list(record)
    assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()
    assert "-BonusQueue-" in record["eventSourceARN"]

    envelope = json.loads(record["body"])
    assert list(envelope) == ["version", "id", "detail-type", "source", "account", "time", "region",
                              "resources", "detail"]
    assert envelope["version"] == "0" and envelope["resources"] == []
    assert envelope["region"] == record["awsRegion"] and envelope["account"] == record["eventSourceARN"].split(":")[4]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", envelope["time"])
    rule = template["Resources"]["FirstDepositBonusRule"]["Properties"]["EventPattern"]
    assert filter_matches(rule, envelope), "the rule would deliver it"
    assert envelope["detail"] == DEPOSIT_DETAIL, "the DepositCompleted of events/publisher/stream.json"
    _detail_is_well_formed("DepositCompleted", envelope["detail"])
