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
DEPOSIT_BODY = '{"deposit_id":"psp-20261123-000001","amount":5000,"currency":"EUR"}'
BET_BODY = '{"bet_id":"b-1","round_id":"r-1","game_id":"g-1","amount":100,"currency":"EUR"}'

# printf '%s' "1795392000.$DEPOSIT_BODY" | openssl dgst -sha256 -hmac stakeline-local-payment-provider-secret
DEPOSIT_SIGNATURE = "97e69d13eb083c4d00a95cb5448b15e16f92e680e41f5259727d3ee73ab147f0"
# printf '%s' "1700000000.$BET_BODY" | openssl dgst -sha256 -hmac stakeline-local-aggregator-secret
BET_SIGNATURE = "409eba42780138a58503c96091a79b84dd71df8a9ceb79f58905a633a1bea107"
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
    assert auth.signature(auth.INTEGRATION_SECRETS["payment-provider"], 1795392000, DEPOSIT_BODY) == DEPOSIT_SIGNATURE
    assert auth.signed_headers(BET_BODY.encode(), integration="aggregator", timestamp=1700000000) == {
        "X-Stakeline-Timestamp": "1700000000",
        "X-Stakeline-Signature": BET_SIGNATURE,
    }


def run_stack(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(STACK_PY), *args], input=stdin, capture_output=True, text=True, check=True
    )


def test_sign_prints_exactly_the_two_headers_for_curl():
    result = run_stack("sign", "--body", DEPOSIT_BODY, "--timestamp", "1795392000")
    assert result.stdout == (
        f"X-Stakeline-Timestamp: 1795392000\nX-Stakeline-Signature: {DEPOSIT_SIGNATURE}\n"
    )
    assert f"-H 'X-Stakeline-Signature: {DEPOSIT_SIGNATURE}'" in result.stderr


def test_sign_reads_exact_bytes_from_a_file_or_stdin(tmp_path):
    body_file = tmp_path / "bet.json"
    body_file.write_text(BET_BODY)
    from_file = run_stack("sign", "--secret", "aggregator", "--body-file", str(body_file), "--timestamp", "1700000000")
    from_stdin = run_stack("sign", "--secret", "aggregator", "--body-file", "-", "--timestamp", "1700000000",
                           stdin=BET_BODY)
    assert BET_SIGNATURE in from_file.stdout
    assert from_stdin.stdout == from_file.stdout


def test_token_command_mints_a_valid_token():
    token = run_stack("token", PLAYER, "--ttl", "120").stdout.strip()
    claims = auth.verify_token(token)
    assert claims["sub"] == PLAYER and claims["exp"] - claims["iat"] == 120
