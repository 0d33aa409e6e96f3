"""End-to-end fixtures: the whole local suite (`./dev up`: moto provisioned from
template.yaml, every function served by cargo lambda watch with the template's routes),
started once per session on free ports and stopped cleanly afterwards."""

import uuid
from urllib.parse import urlsplit

import pytest
import requests

from stakeline_local import auth, emulator as local_emulator, suite as local_suite


@pytest.fixture(scope="session")
def suite(tmp_path_factory) -> dict:
    """The running suite's ready file: base_url, console_url, endpoint, region, table, queues."""
    ready_file = tmp_path_factory.mktemp("suite") / "ready.json"
    process, ready = local_suite.spawn(ready_file)
    try:
        yield ready
    finally:
        assert local_suite.stop(process) == 0, "the local suite did not stop cleanly"


@pytest.fixture(scope="session")
def base_url(suite) -> str:
    return suite["base_url"].rstrip("/")


class Api:
    """A client that speaks to the suite like the three kinds of caller do."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.http = requests.Session()

    def as_player(self, method: str, path: str, player: str | None, body=None, raw: str | None = None, **kwargs):
        headers = {"content-type": "application/json"}
        if player is not None:
            headers["authorization"] = f"Bearer {auth.mint_token(player)}"
        data = raw if raw is not None else (None if body is None else requests.compat.json.dumps(body))
        return self.http.request(method, self.base_url + path, data=data, headers=headers, timeout=60, **kwargs)

    def as_operator(self, method: str, path: str, staff: str = "staff-e2e", body=None, **kwargs):
        """An operator's request (a token with the stakeline/ops scope, `sub` = ``staff``)."""
        headers = {
            "content-type": "application/json",
            "authorization": f"Bearer {auth.mint_token(staff, scope=auth.OPERATOR_SCOPE)}",
        }
        data = None if body is None else requests.compat.json.dumps(body)
        return self.http.request(method, self.base_url + path, data=data, headers=headers, timeout=60, **kwargs)

    def as_provider(self, path: str, raw: str, *, signed: bool = True, timestamp: int | None = None):
        return self.as_integration("payment-provider", "POST", path, raw, signed=signed, timestamp=timestamp)

    def as_aggregator(self, method: str, path: str, raw: str = "", *, signed: bool = True):
        return self.as_integration("aggregator", method, path, raw, signed=signed)

    def as_integration(self, integration: str, method: str, path: str, raw: str, *, signed: bool = True, timestamp: int | None = None):
        """Signed like the integration signs: over this method, this raw path (no query string)
        and this body."""
        headers = {}
        if signed:
            headers = auth.signed_headers(raw, method=method, path=urlsplit(path).path, integration=integration,
                                          timestamp=timestamp)
        return self.send(method, path, raw, headers)

    def send(self, method: str, path: str, raw: str, headers: dict[str, str]):
        """``raw`` to ``method path`` with exactly these (signature) headers: forged ones too."""
        headers = {"content-type": "application/json", **headers}
        return self.http.request(method, self.base_url + path, data=raw.encode(), headers=headers, timeout=60)

    def bet(self, player: str, bet_id: str, amount: int, round_id: str = "round-1"):
        raw = requests.compat.json.dumps({"bet_id": bet_id, "round_id": round_id, "game_id": "starburst", "amount": amount, "currency": "EUR"})
        return self.as_aggregator("POST", f"/players/{player}/bets", raw)

    def settle(self, player: str, bet_id: str, body: dict):
        return self.as_aggregator("POST", f"/players/{player}/bets/{bet_id}/settlement", requests.compat.json.dumps(body))

    def register(self, player: str, **overrides):
        body = {
            "email": f"{player}@example.com",
            "date_of_birth": "1990-04-12",
            "country": "MT",
            "currency": "EUR",
        }
        body.update(overrides)
        return self.as_player("POST", "/players", player, body)

    def deposit(self, player: str, deposit_id: str, amount: int, currency: str = "EUR"):
        raw = requests.compat.json.dumps({"deposit_id": deposit_id, "amount": amount, "currency": currency})
        return self.as_provider(f"/players/{player}/deposits", raw)


@pytest.fixture(scope="session")
def api(base_url) -> Api:
    return Api(base_url)


def register_new_player(api: Api) -> str:
    player_id = f"e2e-{uuid.uuid4()}"
    response = api.register(player_id)
    assert response.status_code == 201, response.text
    return player_id


@pytest.fixture
def player(api) -> str:
    """A freshly registered player."""
    return register_new_player(api)


@pytest.fixture
def other_player(api) -> str:
    """Another freshly registered player."""
    return register_new_player(api)


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4()}"


def sqs(suite: dict):
    """A boto3 SQS client for the suite's emulator."""
    return local_emulator.aws_client("sqs", suite["endpoint"], suite["region"])


def send_settlement(suite: dict, body: str, *, signed: bool = True, attributes: dict | None = None) -> str:
    """Sends ``body`` to the suite's SettlementQueue as the aggregator does: signed in its message
    attributes (``attributes`` instead, when given; none at all when not ``signed``). Returns
    the message id."""
    message = {"QueueUrl": suite["queues"]["SettlementQueue"], "MessageBody": body}
    if attributes is not None:
        message["MessageAttributes"] = attributes
    elif signed:
        message["MessageAttributes"] = auth.signed_message_attributes(body)
    return sqs(suite).send_message(**message)["MessageId"]


def bet_once_closed(api: Api, player: str, bet_id: str, timeout: float = 120) -> dict:
    """The bet as the player reads it once it is no longer open (or when ``timeout`` seconds
    have passed): a settlement that arrives through a queue closes it a little later."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        seen = api.as_player("GET", f"/players/{player}/bets/{bet_id}", player).json()
        if seen["status"] != "open" or time.monotonic() > deadline:
            return seen
        time.sleep(0.5)  # polling an outcome with a deadline, not waiting a fixed time
