"""Bets and settlements through the HTTP routes of the local suite, as an aggregator sees them."""

import uuid

from conftest import bet_once_closed, new_id, send_settlement
from test_money_core import problem


def funded(api, player: str, cash: int) -> None:
    assert api.deposit(player, new_id("psp"), cash).status_code == 201


def test_bet_win_and_read_back(api, player):
    funded(api, player, 1000)
    bet_id = new_id("bet")
    placed = api.bet(player, bet_id, 300)
    assert placed.status_code == 201, placed.text
    assert placed.json()["status"] == "open"
    assert (placed.json()["cash_stake"], placed.json()["bonus_stake"]) == (300, 0)
    assert placed.json()["wallet"]["cash"] == 700

    settled = api.settle(player, bet_id, {"settlement_id": new_id("stl"), "kind": "win", "amount": 900})
    assert settled.status_code == 201, settled.text
    assert settled.json()["status"] == "won"
    assert settled.json()["wallet"]["cash"] == 1600

    as_player = api.as_player("GET", f"/players/{player}/bets/{bet_id}", player)
    assert as_player.status_code == 200, as_player.text
    assert as_player.json()["settlement"]["cash_credit"] == 900
    as_aggregator = api.as_aggregator("GET", f"/players/{player}/bets/{bet_id}")
    assert as_aggregator.status_code == 200, as_aggregator.text
    assert as_aggregator.json() == as_player.json()


def test_rollback_before_the_bet_then_the_late_bet(api, player):
    funded(api, player, 1000)
    bet_id = new_id("bet")
    rolled = api.settle(player, bet_id, {"settlement_id": new_id("stl"), "kind": "rollback"})
    assert rolled.status_code == 201, rolled.text
    assert rolled.json()["status"] == "rolled_back"
    late = problem(api.bet(player, bet_id, 100), 409, "BET_ROLLED_BACK")
    assert late["wallet"]["cash"] == 1000


def test_insufficient_funds_and_replays(api, player):
    funded(api, player, 100)
    bet_id = new_id("bet")
    problem(api.bet(player, bet_id, 101), 422, "INSUFFICIENT_FUNDS")
    funded(api, player, 1000)
    problem(api.bet(player, bet_id, 101), 422, "INSUFFICIENT_FUNDS")
    ok_id = new_id("bet")
    assert api.bet(player, ok_id, 50).status_code == 201
    assert api.bet(player, ok_id, 50).status_code == 200
    problem(api.bet(player, ok_id, 51), 409, "DUPLICATE_TRANSACTION")


def test_bets_need_the_aggregator_signature(api, player):
    funded(api, player, 1000)
    raw = '{"bet_id":"%s","round_id":"r","game_id":"g","amount":1,"currency":"EUR"}' % new_id("bet")
    problem(api.as_aggregator("POST", f"/players/{player}/bets", raw, signed=False), 401, "UNAUTHENTICATED")
    problem(api.as_integration("payment-provider", "POST", f"/players/{player}/bets", raw), 401, "UNAUTHENTICATED")
    other = f"e2e-{uuid.uuid4()}"
    problem(api.as_player("GET", f"/players/{player}/bets/{new_id('bet')}", other), 403, "FORBIDDEN")


def test_a_settlement_sent_to_the_queue_closes_the_bet(api, player, suite):
    """The queue → poller → settle-queue path of the local suite, like Lambda's event source."""
    import json

    funded(api, player, 1000)
    bet_id = new_id("bet")
    assert api.bet(player, bet_id, 200).status_code == 201
    message = {"player_id": player, "bet_id": bet_id, "settlement_id": new_id("stl"), "kind": "win", "amount": 500}
    send_settlement(suite, json.dumps(message))  # signed by the aggregator in its message attributes
    seen = bet_once_closed(api, player, bet_id)
    assert seen["status"] == "won", seen
    assert seen["settlement"]["settlement_id"] == message["settlement_id"]
    wallet = api.as_player("GET", f"/players/{player}/wallet", player).json()
    assert wallet["cash"] == 1300
