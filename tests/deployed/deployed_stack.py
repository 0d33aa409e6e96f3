"""The end-to-end checks of a deployed stack, driven by environment variables (see
OPERATIONS.md, "End-to-end tests against a deployed stack"). Written from the HTTP contract
alone: plain HTTP, the caller's own token, and signatures computed here from the secrets
given, so they run against any Stakeline endpoint, deployed or local.

- STAKELINE_BASE_URL: the API's URL (the stack's ApiUrl output). Without it, everything here
  is skipped.
- STAKELINE_PLAYER_TOKEN: a player's bearer token from the players' identity provider; its
  `sub` is the test player's id (registered on the first run, the same account afterwards).
- STAKELINE_PROVIDER_SECRET, STAKELINE_AGGREGATOR_SECRET: a secret each integration signs with.
- STAKELINE_OPERATOR_TOKEN (optional): a staff token with the stakeline/ops scope.
- STAKELINE_CURRENCY (optional, EUR): the test player's currency.
- STAKELINE_TIMEOUT (optional, 30): seconds to wait for one answer.
"""

import base64
import hashlib
import hmac
import json
import time
import uuid

import pytest
import requests

REQUIRED = ("STAKELINE_PLAYER_TOKEN", "STAKELINE_PROVIDER_SECRET", "STAKELINE_AGGREGATOR_SECRET")


class Stack:
    """A deployed Stakeline, called as its three kinds of caller call it."""

    def __init__(self, env: dict[str, str]):
        self.base_url = env["STAKELINE_BASE_URL"].rstrip("/")
        self.player_token = env["STAKELINE_PLAYER_TOKEN"]
        self.secrets = {
            "provider": env["STAKELINE_PROVIDER_SECRET"],
            "aggregator": env["STAKELINE_AGGREGATOR_SECRET"],
        }
        self.operator_token = env.get("STAKELINE_OPERATOR_TOKEN") or None
        self.currency = env.get("STAKELINE_CURRENCY") or "EUR"
        # Seconds to wait for one answer (API Gateway gives up after 30).
        self.timeout = float(env.get("STAKELINE_TIMEOUT") or 30)
        self.player = subject(self.player_token)
        self.http = requests.Session()

    def request(self, method: str, path: str, *, body: str = "", headers: dict | None = None):
        headers = {"content-type": "application/json", **(headers or {})}
        return self.http.request(method, self.base_url + path, data=body.encode(), headers=headers, timeout=self.timeout)

    def as_player(self, method: str, path: str, body=None, *, token: str | None = None):
        raw = "" if body is None else json.dumps(body)
        return self.request(method, path, body=raw, headers={"authorization": f"Bearer {token or self.player_token}"})

    def as_operator(self, method: str, path: str, body=None):
        raw = "" if body is None else json.dumps(body)
        return self.request(method, path, body=raw, headers={"authorization": f"Bearer {self.operator_token}"})

    def signed(self, integration: str, method: str, path: str, body=None, *, secret: str | None = None):
        """Signed as the contract says: HMAC-SHA256 over `timestamp.METHOD.path.body`."""
        raw = "" if body is None else json.dumps(body)
        timestamp = str(int(time.time()))
        message = f"{timestamp}.{method}.{path}.{raw}".encode()
        signature = hmac.new((secret or self.secrets[integration]).encode(), message, hashlib.sha256).hexdigest()
        headers = {"X-Stakeline-Timestamp": timestamp, "X-Stakeline-Signature": signature}
        return self.request(method, path, body=raw, headers=headers)

    def wallet(self) -> dict:
        response = self.as_player("GET", f"/players/{self.player}/wallet")
        assert response.status_code == 200, response.text
        return response.json()


def subject(token: str) -> str:
    """The `sub` of a JWT (read, not verified: the stack verifies it)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return claims["sub"]
    except (IndexError, ValueError, KeyError) as error:
        raise pytest.UsageError(f"STAKELINE_PLAYER_TOKEN is not a JWT with a sub: {error}") from error


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4()}"
