"""Integration signatures through the local suite (API.md, "Callers and authentication"): a
signature covers `timestamp.METHOD.path.body` and one integration's secret, so it is refused
on another path, another method, another integration's routes, and in the old
`timestamp.body` form; settlement queue messages are signed the same way over
`timestamp.SQS./settlement-queue.body` in their message attributes. A refusal is a 401
`UNAUTHENTICATED` problem without a wallet, and nothing moves."""

import hashlib
import hmac
import json
import time
from contextlib import contextmanager

import pytest

from conftest import new_id, send_settlement, sqs
from stakeline_local import auth
from test_bonuses import wait_for
from test_money_core import problem


def refused(response) -> dict:
    body = problem(response, 401, "UNAUTHENTICATED")
    assert "wallet" not in body, body
    return body


def holdings(api, player: str) -> tuple[dict, list]:
    """The player's wallet and ledger, read with the player's own token."""
    wallet = api.as_player("GET", f"/players/{player}/wallet", player)
    assert wallet.status_code == 200, wallet.text
    history = api.as_player("GET", f"/players/{player}/transactions", player)
    assert history.status_code == 200, history.text
    return wallet.json(), history.json()["items"]


def bet_status(api, player: str, bet_id: str) -> str | None:
    """The bet's status as its player reads it; None when there is no such bet."""
    response = api.as_player("GET", f"/players/{player}/bets/{bet_id}", player)
    if response.status_code == 404:
        assert response.json()["code"] == "BET_NOT_FOUND", response.text
        return None
    assert response.status_code == 200, response.text
    return response.json()["status"]


def old_signature(integration: str, timestamp: int, body: str) -> str:
    """The signing string before method and path were part of it: `timestamp.body`."""
    secret = auth.INTEGRATION_SECRETS[integration].encode()
    return hmac.new(secret, f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()


def deposit_body(amount: int = 100) -> str:
    return json.dumps({"deposit_id": new_id("psp"), "amount": amount, "currency": "EUR"})


def bet_body(bet_id: str, amount: int = 100) -> str:
    return json.dumps({"bet_id": bet_id, "round_id": "round-1", "game_id": "starburst", "amount": amount,
                       "currency": "EUR"})


@pytest.fixture
def funded_player(api, player) -> str:
    """A player with a first deposit of 1000 whose first-deposit bonus has arrived: nothing
    more moves on its own, so a wallet read before and after a request tells what it did."""
    assert api.deposit(player, new_id("psp"), 1000).status_code == 201
    wait_for(lambda: "bonus_award" in [e["kind"] for e in holdings(api, player)[1]], "the first-deposit bonus")
    return player


def test_a_deposit_signed_for_one_player_is_refused_on_another(api, player, other_player):
    raw = deposit_body(700)
    signed_for_a = auth.signed_headers(raw, method="POST", path=f"/players/{player}/deposits")
    before = holdings(api, other_player)
    refused(api.send("POST", f"/players/{other_player}/deposits", raw, signed_for_a))
    assert holdings(api, other_player) == before
    # The same headers are good where they were made for.
    accepted = api.send("POST", f"/players/{player}/deposits", raw, signed_for_a)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["wallet"]["cash"] == 700
    assert holdings(api, other_player) == before


def test_a_signature_over_the_old_signing_string_is_refused(api, player):
    now = int(time.time())
    raw = deposit_body()
    before = holdings(api, player)
    old = {auth.TIMESTAMP_HEADER: str(now), auth.SIGNATURE_HEADER: old_signature("payment-provider", now, raw)}
    refused(api.send("POST", f"/players/{player}/deposits", raw, old))
    assert holdings(api, player) == before

    # The aggregator's routes too: a bet, and a read with its empty body.
    bet_id = new_id("bet")
    raw = bet_body(bet_id)
    old = {auth.TIMESTAMP_HEADER: str(now), auth.SIGNATURE_HEADER: old_signature("aggregator", now, raw)}
    refused(api.send("POST", f"/players/{player}/bets", raw, old))
    old = {auth.TIMESTAMP_HEADER: str(now), auth.SIGNATURE_HEADER: old_signature("aggregator", now, "")}
    refused(api.send("GET", f"/players/{player}/bets/{bet_id}", "", old))
    assert bet_status(api, player, bet_id) is None
    assert holdings(api, player) == before


def test_a_read_signature_does_not_place_a_bet(api, funded_player):
    player = funded_player
    bet_id = new_id("bet")
    assert api.bet(player, bet_id, 100).status_code == 201
    read_path = f"/players/{player}/bets/{bet_id}"
    read_signature = auth.signed_headers("", method="GET", path=read_path, integration="aggregator")
    read = api.send("GET", read_path, "", read_signature)
    assert read.status_code == 200, read.text
    before = holdings(api, player)

    refused(api.send("POST", f"/players/{player}/bets", "", read_signature))
    other_bet = new_id("bet")
    refused(api.send("POST", f"/players/{player}/bets", bet_body(other_bet), read_signature))
    assert bet_status(api, player, other_bet) is None
    assert bet_status(api, player, bet_id) == "open"
    assert holdings(api, player) == before


def test_one_integrations_secret_is_refused_on_the_others_routes(api, funded_player):
    player = funded_player
    bet_id = new_id("bet")
    assert api.bet(player, bet_id, 100).status_code == 201
    before = holdings(api, player)

    # The payment provider's secret, correctly signed for each of the aggregator's routes.
    new_bet = new_id("bet")
    refused(api.as_integration("payment-provider", "POST", f"/players/{player}/bets", bet_body(new_bet)))
    settlement = json.dumps({"settlement_id": new_id("stl"), "kind": "win", "amount": 900})
    refused(api.as_integration("payment-provider", "POST", f"/players/{player}/bets/{bet_id}/settlement",
                               settlement))
    refused(api.as_integration("payment-provider", "GET", f"/players/{player}/bets/{bet_id}", ""))
    # The aggregator's secret on the payment provider's deposits.
    refused(api.as_integration("aggregator", "POST", f"/players/{player}/deposits", deposit_body()))

    assert bet_status(api, player, new_bet) is None
    assert bet_status(api, player, bet_id) == "open"
    assert holdings(api, player) == before


# -- settlement queue messages -------------------------------------------------------------------

FORTNIGHT = 14 * 24 * 3600


@contextmanager
def short_visibility(client, queue_url: str, seconds: int = 1):
    """Refused messages come back after the queue's visibility timeout (190 s in the template)
    and move to the dead-letter queue after 5 receives: shortened here so that takes seconds."""
    original = client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["VisibilityTimeout"])
    client.set_queue_attributes(QueueUrl=queue_url, Attributes={"VisibilityTimeout": str(seconds)})
    try:
        yield
    finally:
        client.set_queue_attributes(QueueUrl=queue_url, Attributes=original["Attributes"])


def take_from_dead_letter_queue(suite: dict, message_ids: set[str], found: set[str]) -> bool:
    """Moves the ids of ``message_ids`` seen in the settlement dead-letter queue into ``found``
    (deleting those messages); True once all are there."""
    client = sqs(suite)
    dlq_url = suite["queues"]["SettlementDeadLetterQueue"]
    answer = client.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    for message in answer.get("Messages", []):
        if message["MessageId"] in message_ids:
            found.add(message["MessageId"])
            client.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
    return found == message_ids


def test_only_signed_settlement_messages_settle(api, funded_player, suite):
    player = funded_player
    won, rolled_back = new_id("bet"), new_id("bet")
    for bet_id in (won, rolled_back):
        assert api.bet(player, bet_id, 200).status_code == 201
    before = holdings(api, player)

    def win(amount: int = 500) -> str:
        return json.dumps({"player_id": player, "bet_id": won, "settlement_id": new_id("stl"), "kind": "win",
                           "amount": amount})

    now = int(time.time())
    genuine, tampered, old_string, stale, ahead = win(), win(5000), win(), win(), win()
    forged = {
        "unsigned": (win(), None),
        "the payment provider's secret": (
            genuine, auth.signed_message_attributes(genuine, integration="payment-provider")),
        "another body's signature": (tampered, auth.signed_message_attributes(genuine)),
        "the old signing string": (old_string, {
            auth.TIMESTAMP_HEADER: {"DataType": "String", "StringValue": str(now)},
            auth.SIGNATURE_HEADER: {"DataType": "String", "StringValue": old_signature("aggregator", now, old_string)},
        }),
        "older than the queue keeps messages": (
            stale, auth.signed_message_attributes(stale, timestamp=now - FORTNIGHT - 3600)),
        "from the future": (ahead, auth.signed_message_attributes(ahead, timestamp=now + 600)),
    }
    client = sqs(suite)
    with short_visibility(client, suite["queues"]["SettlementQueue"]):
        sent = {}
        for what, (body, attributes) in forged.items():
            if attributes is None:
                sent[send_settlement(suite, body, signed=False)] = what
            else:
                sent[send_settlement(suite, body, attributes=attributes)] = what
        found: set[str] = set()
        wait_for(lambda: take_from_dead_letter_queue(suite, set(sent), found),
                 "every forged message in the settlement dead-letter queue", timeout=180)

    assert bet_status(api, player, won) == "open", "no forged message settled the bet"
    assert holdings(api, player) == before, "nothing moved"

    # Signed by the aggregator, the same kind of message settles: now, or 13 days ago (it may
    # wait in the queue as long as the queue keeps it).
    send_settlement(suite, genuine)
    rollback = json.dumps({"player_id": player, "bet_id": rolled_back, "settlement_id": new_id("stl"),
                           "kind": "rollback"})
    thirteen_days_ago = now - 13 * 24 * 3600
    send_settlement(suite, rollback, attributes=auth.signed_message_attributes(rollback, timestamp=thirteen_days_ago))
    wait_for(lambda: (bet_status(api, player, won), bet_status(api, player, rolled_back)) == ("won", "rolled_back"),
             "the signed settlements")
    # The win pays 500 and the rollback returns the 200 staked, wherever the stakes came from.
    wallet, _ = holdings(api, player)
    assert wallet["cash"] + wallet["bonus"] == before[0]["cash"] + before[0]["bonus"] + 500 + 200
