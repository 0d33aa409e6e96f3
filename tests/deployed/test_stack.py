"""A deployed stack, end to end, as its callers see it: money in, a bet, its settlement and the
reads, with every amount checked against the answers; and the doors that must stay shut. Each
run uses new ids, so it can run again and again against the same test player."""

import pytest

from deployed_stack import Stack, new_id

DEPOSIT = 5_000
# Below the smallest maximum stake while a bonus is wagered (a first deposit brings one).
STAKE = 400
WIN = 1_000


def test_money_flows_through_a_deposit_a_bet_and_its_settlement(stack: Stack, player: str):
    before = stack.wallet()

    deposit_id = new_id("dep")
    deposit = {"deposit_id": deposit_id, "amount": DEPOSIT, "currency": stack.currency}
    first = stack.signed("provider", "POST", f"/players/{player}/deposits", deposit)
    assert first.status_code == 201, first.text
    credited = first.json()["wallet"]
    assert credited["cash"] == before["cash"] + DEPOSIT
    replay = stack.signed("provider", "POST", f"/players/{player}/deposits", deposit)
    assert (replay.status_code, replay.json()) == (200, first.json())

    bet_id = new_id("bet")
    bet = {"bet_id": bet_id, "round_id": new_id("round"), "game_id": "e2e", "amount": STAKE,
           "currency": stack.currency}
    placed = stack.signed("aggregator", "POST", f"/players/{player}/bets", bet)
    assert placed.status_code == 201, placed.text
    placed = placed.json()
    assert placed["status"] == "open"
    assert placed["cash_stake"] + placed["bonus_stake"] == STAKE
    assert placed["wallet"]["cash"] == credited["cash"] - placed["cash_stake"]

    settlement = {"settlement_id": new_id("set"), "kind": "win", "amount": WIN}
    settled = stack.signed("aggregator", "POST", f"/players/{player}/bets/{bet_id}/settlement", settlement)
    assert settled.status_code == 201, settled.text
    settled = settled.json()
    assert settled["status"] == "won"
    assert settled["cash_credit"] + settled["bonus_credit"] == WIN
    assert settled["wallet"]["cash"] == placed["wallet"]["cash"] + settled["cash_credit"]

    # The bet, read by the aggregator (signed) and by the player (token): one route, two
    # credentials.
    path = f"/players/{player}/bets/{bet_id}"
    for reader in (lambda: stack.signed("aggregator", "GET", path), lambda: stack.as_player("GET", path)):
        read = reader()
        assert read.status_code == 200, read.text
        assert (read.json()["bet_id"], read.json()["status"]) == (bet_id, "won")

    ledger = stack.as_player("GET", f"/players/{player}/transactions?limit=10")
    assert ledger.status_code == 200, ledger.text
    references = " ".join(entry["reference"] for entry in ledger.json()["items"])
    for reference in (deposit_id, bet_id):
        assert reference in references, ledger.text


def test_the_doors_stay_shut(stack: Stack, player: str):
    before = stack.wallet()
    wallet = f"/players/{player}/wallet"
    assert stack.request("GET", wallet).status_code == 401
    assert stack.as_player("GET", wallet, token="not-a-token").status_code == 401
    # Another player's wallet with this player's token.
    assert stack.as_player("GET", f"/players/{new_id('someone')}/wallet").status_code == 403

    deposit = {"deposit_id": new_id("dep"), "amount": DEPOSIT, "currency": stack.currency}
    forged = stack.signed("provider", "POST", f"/players/{player}/deposits", deposit, secret="not-the-secret")
    assert forged.status_code == 401, forged.text
    # The aggregator's secret does not sign deposits.
    crossed = stack.signed("aggregator", "POST", f"/players/{player}/deposits", deposit)
    assert crossed.status_code == 401, crossed.text

    # The one player route without an authorizer in front: no credential, a bad token, a
    # forged signature.
    bet = f"/players/{player}/bets/{new_id('bet')}"
    for response in (
        stack.request("GET", bet),
        stack.as_player("GET", bet, token="not-a-token"),
        stack.signed("aggregator", "GET", bet, secret="not-the-secret"),
    ):
        assert response.status_code == 401, response.text
        assert response.json()["code"] == "UNAUTHENTICATED"

    # Operators only, on the back office.
    assert stack.as_player("GET", f"/ops/players/{player}").status_code in (401, 403)
    assert stack.wallet()["cash"] == before["cash"], "a refused request moved money"


def test_the_back_office_sees_the_player(stack: Stack, player: str):
    if stack.operator_token is None:
        pytest.skip("STAKELINE_OPERATOR_TOKEN is not set")
    response = stack.as_operator("GET", f"/ops/players/{player}")
    assert response.status_code == 200, response.text
    assert response.json()["wallet"]["cash"] == stack.wallet()["cash"]
