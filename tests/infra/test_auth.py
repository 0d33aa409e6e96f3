"""Local player tokens and request signatures, checked against vectors computed elsewhere
(openssl), so a bug shared by the minting and the checking code cannot hide."""

import base64
import hashlib
import hmac
import json
import subprocess
import sys

import pytest

from stakeline_local import auth
from stakeline_local.emulator import STACK_PY

PLAYER = "5f0c3e2a-8b1d-4c7e-9a6f-2d4b8e1c7a90"
DEPOSIT_PATH = f"/players/{PLAYER}/deposits"
DEPOSIT_BODY = '{"deposit_id":"psp-20261123-000001","amount":5000,"currency":"EUR"}'
BET_PATH = f"/players/{PLAYER}/bets"
BET_BODY = '{"bet_id":"b-1","round_id":"r-1","game_id":"g-1","amount":100,"currency":"EUR"}'
BET_READ_PATH = f"/players/{PLAYER}/bets/b-1"
SETTLEMENT_MESSAGE = (
    '{"player_id":"5f0c3e2a-8b1d-4c7e-9a6f-2d4b8e1c7a90","bet_id":"b-1","settlement_id":"s-1",'
    '"kind":"win","amount":250}'
)

# The signing string is timestamp.METHOD.path.body; the vectors come from openssl:
# printf '%s' "1795392000.POST.$DEPOSIT_PATH.$DEPOSIT_BODY" | openssl dgst -sha256 -hmac stakeline-local-payment-provider-secret
DEPOSIT_SIGNATURE = "4c9cd7bf0edfdb9a686e850e6f31d8ac35045633bcc18a220687496372889ab7"
# printf '%s' "1700000000.POST.$BET_PATH.$BET_BODY" | openssl dgst -sha256 -hmac stakeline-local-aggregator-secret
BET_SIGNATURE = "288dbecc570048c18b8dc776e1b99f6ca6e227b5ce2a4348d1aa887a526b4f02"
# The aggregator reading a bet, no body:
# printf '%s' "1700000000.GET.$BET_READ_PATH." | openssl dgst -sha256 -hmac stakeline-local-aggregator-secret
BET_READ_SIGNATURE = "4b646d60b2cc868871b279cb9d871eaa786f6fb3495e8856ba3c7bad2a0a9f8f"
# A settlement queue message: METHOD SQS, path /settlement-queue, the aggregator's secret:
# printf '%s' "1795392000.SQS./settlement-queue.$SETTLEMENT_MESSAGE" | openssl dgst -sha256 -hmac stakeline-local-aggregator-secret
SETTLEMENT_MESSAGE_SIGNATURE = "0438488e8c221bfef4bcd04a51083306f30f14b546a0062c43e83561f74a6c0d"
# What the old signing string (timestamp.body) gave for the deposit: no longer valid.
# printf '%s' "1795392000.$DEPOSIT_BODY" | openssl dgst -sha256 -hmac stakeline-local-payment-provider-secret
OLD_DEPOSIT_SIGNATURE = "97e69d13eb083c4d00a95cb5448b15e16f92e680e41f5259727d3ee73ab147f0"
# header.claims signed with openssl (HS256, stakeline-local-jwt-secret), iat 1795392000, ttl 3600
TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiI1ZjBjM2UyYS04YjFkLTRjN2UtOWE2Zi0yZDRiOGUxYzdhOTAiLCJpc3MiOiJzdGFrZWxpbmUtbG9jYWwiLCJhdWQiOiJzdGFrZWxpbmUiLCJpYXQiOjE3OTUzOTIwMDAsImV4cCI6MTc5NTM5NTYwMH0."
    "ZluuqYgPoImNI7lZkclmKUax9SZXNTCy05h_NFXm_ZY"
)


def b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_token_matches_the_openssl_vector():
    assert auth.mint_token(PLAYER, ttl=3600, now=1795392000) == TOKEN


def test_token_round_trips():
    token = auth.mint_token(PLAYER, ttl=600)
    header, claims, signature = token.split(".")
    assert "=" not in token
    assert json.loads(b64url_decode(header)) == {"alg": "HS256", "typ": "JWT"}
    decoded = json.loads(b64url_decode(claims))
    assert decoded["sub"] == PLAYER
    assert decoded["iss"] == "stakeline-local" and decoded["aud"] == "stakeline"
    assert decoded["exp"] - decoded["iat"] == 600
    expected = hmac.new(b"stakeline-local-jwt-secret", f"{header}.{claims}".encode(), hashlib.sha256)
    assert b64url_decode(signature) == expected.digest()
    assert auth.verify_token(token)["sub"] == PLAYER


def test_tampered_or_expired_tokens_are_refused():
    token = auth.mint_token(PLAYER, ttl=60, now=1795392000)
    with pytest.raises(auth.InvalidToken, match="expired"):
        auth.verify_token(token, now=1795392060)
    header, claims, signature = token.split(".")
    other = auth.mint_token("someone-else", ttl=60, now=1795392000).split(".")[1]
    with pytest.raises(auth.InvalidToken, match="signature"):
        auth.verify_token(f"{header}.{other}.{signature}", now=1795392000)
    with pytest.raises(auth.InvalidToken, match="signature"):
        auth.verify_token(token, secret="not-the-secret", now=1795392000)


def test_signatures_match_the_openssl_vectors():
    deposit = auth.signature(auth.INTEGRATION_SECRETS["payment-provider"], 1795392000, "POST", DEPOSIT_PATH, DEPOSIT_BODY)
    assert deposit == DEPOSIT_SIGNATURE != OLD_DEPOSIT_SIGNATURE
    assert auth.signed_headers(BET_BODY.encode(), method="POST", path=BET_PATH, integration="aggregator",
                               timestamp=1700000000) == {
        "X-Stakeline-Timestamp": "1700000000",
        "X-Stakeline-Signature": BET_SIGNATURE,
    }


def test_an_aggregator_read_signs_an_empty_body():
    assert auth.signed_headers(b"", method="GET", path=BET_READ_PATH, integration="aggregator",
                               timestamp=1700000000) == {
        "X-Stakeline-Timestamp": "1700000000",
        "X-Stakeline-Signature": BET_READ_SIGNATURE,
    }
    assert auth.signing_string(1700000000, "get", BET_READ_PATH, "") == f"1700000000.GET.{BET_READ_PATH}.".encode()


def test_a_settlement_message_is_signed_in_its_message_attributes():
    assert (auth.QUEUE_METHOD, auth.SETTLEMENT_QUEUE_PATH, auth.QUEUE_INTEGRATION) == (
        "SQS", "/settlement-queue", "aggregator")
    assert auth.signed_message_attributes(SETTLEMENT_MESSAGE, timestamp=1795392000) == {
        "X-Stakeline-Timestamp": {"DataType": "String", "StringValue": "1795392000"},
        "X-Stakeline-Signature": {"DataType": "String", "StringValue": SETTLEMENT_MESSAGE_SIGNATURE},
    }


def test_a_signature_covers_method_path_and_body():
    secret = auth.INTEGRATION_SECRETS["payment-provider"]
    other_player = DEPOSIT_PATH.replace(PLAYER, "someone-else")
    variants = {
        auth.signature(secret, 1795392000, "POST", DEPOSIT_PATH, DEPOSIT_BODY),
        auth.signature(secret, 1795392000, "PUT", DEPOSIT_PATH, DEPOSIT_BODY),
        auth.signature(secret, 1795392000, "POST", other_player, DEPOSIT_BODY),
        auth.signature(secret, 1795392000, "POST", DEPOSIT_PATH, DEPOSIT_BODY + " "),
        auth.signature(secret, 1795392001, "POST", DEPOSIT_PATH, DEPOSIT_BODY),
        auth.signature(auth.INTEGRATION_SECRETS["aggregator"], 1795392000, "POST", DEPOSIT_PATH, DEPOSIT_BODY),
    }
    assert len(variants) == 6


@pytest.mark.parametrize("timestamp, method, path", [
    ("17e8", "POST", DEPOSIT_PATH),
    (1795392000, "", DEPOSIT_PATH),
    (1795392000, "POST", f"http://localhost:9000{DEPOSIT_PATH}"),
    (1795392000, "POST", f"{DEPOSIT_PATH}?x=1"),
])
def test_what_cannot_be_signed_is_refused(timestamp, method, path):
    with pytest.raises(ValueError):
        auth.signature(auth.INTEGRATION_SECRETS["payment-provider"], timestamp, method, path, DEPOSIT_BODY)


def run_stack(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(STACK_PY), *args], input=stdin, capture_output=True, text=True, check=True
    )


def test_sign_prints_exactly_the_two_headers_for_curl():
    result = run_stack("sign", "--method", "POST", "--path", DEPOSIT_PATH, "--body", DEPOSIT_BODY,
                       "--timestamp", "1795392000")
    assert result.stdout == (
        f"X-Stakeline-Timestamp: 1795392000\nX-Stakeline-Signature: {DEPOSIT_SIGNATURE}\n"
    )
    assert f"-H 'X-Stakeline-Signature: {DEPOSIT_SIGNATURE}'" in result.stderr
    assert f"POST {DEPOSIT_PATH}" in result.stderr


def test_sign_reads_exact_bytes_from_a_file_or_stdin(tmp_path):
    body_file = tmp_path / "bet.json"
    body_file.write_text(BET_BODY)
    request = ("--secret", "aggregator", "--method", "POST", "--path", BET_PATH, "--timestamp", "1700000000")
    from_file = run_stack("sign", *request, "--body-file", str(body_file))
    from_stdin = run_stack("sign", *request, "--body-file", "-", stdin=BET_BODY)
    assert BET_SIGNATURE in from_file.stdout
    assert from_stdin.stdout == from_file.stdout


def test_sign_signs_an_empty_body_for_a_read():
    result = run_stack("sign", "--secret", "aggregator", "--method", "GET", "--path", BET_READ_PATH, "--body", "",
                       "--timestamp", "1700000000")
    assert result.stdout == f"X-Stakeline-Timestamp: 1700000000\nX-Stakeline-Signature: {BET_READ_SIGNATURE}\n"


def test_sign_needs_the_method_and_the_path():
    for missing in (("--path", DEPOSIT_PATH), ("--method", "POST")):
        result = subprocess.run([sys.executable, str(STACK_PY), "sign", *missing, "--body", DEPOSIT_BODY],
                                capture_output=True, text=True)
        assert result.returncode == 2 and "required" in result.stderr
    result = subprocess.run([sys.executable, str(STACK_PY), "sign", "--method", "POST", "--path",
                             f"http://localhost:9000{DEPOSIT_PATH}", "--body", DEPOSIT_BODY],
                            capture_output=True, text=True)
    assert result.returncode == 1 and "raw path" in result.stderr and result.stdout == ""


def test_token_command_mints_a_valid_token():
    token = run_stack("token", PLAYER, "--ttl", "120").stdout.strip()
    claims = auth.verify_token(token)
    assert claims["sub"] == PLAYER and claims["exp"] - claims["iat"] == 120
