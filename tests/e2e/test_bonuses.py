"""The choreography through the local suite: a first deposit's event goes from the outbox
(DynamoDB stream → publisher) to the EventBridge bus, the rule routes it to the bonus queue,
and bonus-award credits the bonus, all within seconds, with no caller waiting for it."""

import time

from conftest import new_id


def wait_for(condition, what: str, timeout: float = 90):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            assert value, f"{what} did not happen within {timeout} s"
            return value
        time.sleep(0.5)  # polling an outcome with a deadline, not waiting a fixed time


def test_a_first_deposit_earns_its_bonus_through_the_events(api, player):
    first = api.deposit(player, new_id("psp"), 5000)
    assert first.status_code == 201, first.text
    assert first.json()["wallet"]["bonus"] == 0, "the bonus comes asynchronously"

    def wallet():
        return api.as_player("GET", f"/players/{player}/wallet", player).json()

    awarded = wait_for(lambda: (w := wallet())["bonus"] == 5000 and w, "the first-deposit bonus")
    assert awarded["cash"] == 5000
    assert awarded["wagering_remaining"] == 50_000
    history = api.as_player("GET", f"/players/{player}/transactions", player).json()["items"]
    assert [e["kind"] for e in history] == ["bonus_award", "deposit"]


def test_wagering_limits_and_forfeit_through_http(api, player):
    assert api.deposit(player, new_id("psp"), 2000).status_code == 201

    def bonus():
        return api.as_player("GET", f"/players/{player}/wallet", player).json()["bonus"]

    wait_for(lambda: bonus() == 2000, "the first-deposit bonus")
    over = api.bet(player, new_id("bet"), 501)
    assert over.status_code == 422 and over.json()["code"] == "STAKE_LIMIT_EXCEEDED", over.text
    forfeited = api.as_player("POST", f"/players/{player}/bonus/forfeit", player, raw="")
    assert forfeited.status_code == 200, forfeited.text
    assert forfeited.json()["forfeited"]["amount"] == 2000
    assert (forfeited.json()["wallet"]["cash"], forfeited.json()["wallet"]["bonus"]) == (2000, 0)
    assert api.bet(player, new_id("bet"), 1000).status_code == 201, "no maximum stake once forfeited"
