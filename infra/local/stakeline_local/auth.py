"""Local credentials: player JWTs (HS256), HMAC request signatures and signed queue messages.

The secrets below are for the local suite only; they are public on purpose and never used on
AWS, where player tokens come from the identity provider and integration secrets from
Secrets Manager.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

LOCAL_JWT_SECRET = "stakeline-local-jwt-secret"
LOCAL_JWT_ISSUER = "stakeline-local"
LOCAL_JWT_AUDIENCE = "stakeline"
# The scope an operator's token carries (the /ops routes require it).
OPERATOR_SCOPE = "stakeline/ops"

# Integration name -> local HMAC secret.
INTEGRATION_SECRETS = {
    "payment-provider": "stakeline-local-payment-provider-secret",
    "aggregator": "stakeline-local-aggregator-secret",
}

# Function environment variable holding an integration's accepted secrets -> integration.
SECRET_VARIABLES = {
    "PAYMENT_PROVIDER_HMAC_SECRETS": "payment-provider",
    "AGGREGATOR_HMAC_SECRETS": "aggregator",
}

TIMESTAMP_HEADER = "X-Stakeline-Timestamp"
SIGNATURE_HEADER = "X-Stakeline-Signature"
# Functions reject request timestamps further than this from their clock.
SIGNATURE_WINDOW_SECONDS = 300

# Settlement queue messages are signed like requests, as SQS message attributes named like the
# headers, with the aggregator's secret, METHOD "SQS" and path "/settlement-queue".
QUEUE_METHOD = "SQS"
SETTLEMENT_QUEUE_PATH = "/settlement-queue"
QUEUE_INTEGRATION = "aggregator"
# The template's logical ids of the queues whose messages are signed.
SIGNED_QUEUES = ("SettlementQueue",)
# A message may wait in the queue (and come back) for the queue's retention, 14 days; its
# timestamp may be at most SIGNATURE_WINDOW_SECONDS in the future.
QUEUE_SIGNATURE_MAX_AGE_SECONDS = 14 * 24 * 3600


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _compact_json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def mint_token(
    player_id: str,
    *,
    ttl: int = 3600,
    now: int | None = None,
    secret: str = LOCAL_JWT_SECRET,
    issuer: str = LOCAL_JWT_ISSUER,
    audience: str = LOCAL_JWT_AUDIENCE,
    scope: str | None = None,
) -> str:
    """A player token as the local suite's functions accept it (PLAYER_AUTH=local-hs256);
    with ``scope`` (``OPERATOR_SCOPE``), an operator's."""
    issued_at = int(time.time()) if now is None else now
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {
        "sub": player_id,
        "iss": issuer,
        "aud": audience,
        "iat": issued_at,
        "exp": issued_at + ttl,
    }
    if scope is not None:
        claims["scope"] = scope
    signing_input = f"{_b64url(_compact_json(header))}.{_b64url(_compact_json(claims))}"
    mac = hmac.new(secret.encode("utf-8"), signing_input.encode("ascii"), hashlib.sha256)
    return f"{signing_input}.{_b64url(mac.digest())}"


class InvalidToken(ValueError):
    pass


def verify_token(token: str, *, secret: str = LOCAL_JWT_SECRET, now: int | None = None) -> dict:
    """Checks a local token the way the functions must, and returns its claims."""
    try:
        header_part, claims_part, signature_part = token.split(".")
        header = json.loads(_b64url_decode(header_part))
        claims = json.loads(_b64url_decode(claims_part))
        signature = _b64url_decode(signature_part)
    except ValueError as error:
        raise InvalidToken(f"malformed token: {error}") from error
    if header.get("alg") != "HS256":
        raise InvalidToken(f"unexpected alg {header.get('alg')!r}")
    expected = hmac.new(
        secret.encode("utf-8"), f"{header_part}.{claims_part}".encode("ascii"), hashlib.sha256
    ).digest()
    if not hmac.compare_digest(signature, expected):
        raise InvalidToken("bad signature")
    current = int(time.time()) if now is None else now
    if claims.get("exp", 0) <= current:
        raise InvalidToken("expired")
    return claims


def signing_string(timestamp: int | str, method: str, path: str, body: bytes | str) -> bytes:
    """``timestamp + "." + METHOD + "." + path + "." + raw body``, the bytes a signature covers.

    ``method`` is upper-cased; ``path`` is the request's raw path (``/players/p-1/deposits``:
    no scheme, host or query string); ``body`` may be empty. Queue messages use
    ``QUEUE_METHOD`` and ``SETTLEMENT_QUEUE_PATH``.
    """
    stamp = str(timestamp)
    if not stamp.isascii() or not stamp.isdigit():
        raise ValueError(f"the timestamp must be Unix seconds, got {stamp!r}")
    if not method or not method.isascii() or not method.isalpha():
        raise ValueError(f"the method must be a word such as POST, got {method!r}")
    if not path.startswith("/") or "?" in path or "#" in path:
        raise ValueError(
            f"the path must be the raw path without scheme, host or query string "
            f"(e.g. /players/p-1/deposits), got {path!r}"
        )
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    return f"{stamp}.{method.upper()}.{path}.".encode("utf-8") + raw


def signature(secret: str, timestamp: int | str, method: str, path: str, body: bytes | str) -> str:
    """Lowercase hex HMAC-SHA256 of ``timestamp + "." + METHOD + "." + path + "." + raw body``."""
    message = signing_string(timestamp, method, path, body)
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def integration_secret(integration: str) -> str:
    try:
        return INTEGRATION_SECRETS[integration]
    except KeyError:
        known = ", ".join(sorted(INTEGRATION_SECRETS))
        raise ValueError(f"unknown integration {integration!r} (known: {known})") from None


def signed_headers(
    body: bytes | str,
    *,
    method: str,
    path: str,
    integration: str = "payment-provider",
    timestamp: int | None = None,
) -> dict[str, str]:
    """The two headers a provider or aggregator sends with ``method path`` and ``body``."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return {
        TIMESTAMP_HEADER: str(stamp),
        SIGNATURE_HEADER: signature(integration_secret(integration), stamp, method, path, body),
    }


def signed_message_attributes(
    body: bytes | str, *, integration: str = QUEUE_INTEGRATION, timestamp: int | None = None
) -> dict[str, dict[str, str]]:
    """The SQS message attributes (boto3's ``MessageAttributes``) that sign a settlement queue
    message: the same two names as the headers, as ``String`` attributes, signed over
    ``timestamp.SQS./settlement-queue.body``."""
    stamp = int(time.time()) if timestamp is None else timestamp
    value = signature(integration_secret(integration), stamp, QUEUE_METHOD, SETTLEMENT_QUEUE_PATH, body)
    return {
        TIMESTAMP_HEADER: {"DataType": "String", "StringValue": str(stamp)},
        SIGNATURE_HEADER: {"DataType": "String", "StringValue": value},
    }
