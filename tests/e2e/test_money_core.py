"""The money core through the HTTP routes of the local suite: what a player, a payment
provider and a reviewer with curl see."""

import uuid

from conftest import new_id


def problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert body["type"].startswith("urn:stakeline:problem:")
    assert body["title"]
    return body


def test_register_deposit_wallet_history(api):
    player = f"e2e-{uuid.uuid4()}"
    created = api.register(player, display_name="Ada")
    assert created.status_code == 201, created.text
    assert created.headers["content-type"].startswith("application/json")
    assert created.headers["cache-control"] == "no-store"
    assert created.json()["status"] == "active"

    first = api.deposit(player, new_id("psp"), 5000)
    assert first.status_code == 201, first.text
    assert first.json()["first_deposit"] is True
    assert first.json()["wallet"]["cash"] == 5000

    second = api.deposit(player, new_id("psp"), 1500)
    assert second.json()["first_deposit"] is False

    wallet = api.as_player("GET", f"/players/{player}/wallet", player)
    assert wallet.status_code == 200, wallet.text
    assert {k: wallet.json()[k] for k in ("cash", "bonus", "currency")} == {"cash": 6500, "bonus": 0, "currency": "EUR"}

    history = api.as_player("GET", f"/players/{player}/transactions?limit=1", player)
    assert history.status_code == 200, history.text
    page = history.json()
    assert [e["amount"] for e in page["items"]] == [1500]
    assert page["items"][0]["cash_after"] == 6500
    older = api.as_player("GET", f"/players/{player}/transactions?limit=1&cursor={page['next_cursor']}", player)
    assert [e["cash_after"] for e in older.json()["items"]] == [5000]


def test_a_replayed_deposit_moves_nothing(api, player):
    deposit_id = new_id("psp")
    assert api.deposit(player, deposit_id, 700).status_code == 201
    replay = api.deposit(player, deposit_id, 700)
    assert replay.status_code == 200, replay.text
    assert replay.json()["wallet"]["cash"] == 700
    conflict = api.deposit(player, deposit_id, 701)
    body = problem(conflict, 409, "DUPLICATE_TRANSACTION")
    assert body["wallet"]["cash"] == 700


def test_players_only_reach_their_own_wallet(api, player):
    problem(api.as_player("GET", f"/players/{player}/wallet", None), 401, "UNAUTHENTICATED")
    problem(api.as_player("GET", f"/players/{player}/wallet", f"e2e-{uuid.uuid4()}"), 403, "FORBIDDEN")


def test_deposits_need_a_fresh_valid_signature(api, player):
    raw = '{"deposit_id":"%s","amount":100,"currency":"EUR"}' % new_id("psp")
    path = f"/players/{player}/deposits"
    body = problem(api.as_provider(path, raw, signed=False), 401, "UNAUTHENTICATED")
    assert "wallet" not in body
    import time

    problem(api.as_provider(path, raw, timestamp=int(time.time()) - 600), 401, "UNAUTHENTICATED")
    wallet = api.as_player("GET", f"/players/{player}/wallet", player).json()
    assert wallet["cash"] == 0


def test_bad_input_gets_a_clear_error_and_writes_nothing(api, player):
    path = f"/players/{player}/deposits"
    for raw in [
        "{not json",
        '{"deposit_id":"x1","amount":100,"currency":"EUR","memo":"hi"}',
        '{"deposit_id":"x1","amount":"100","currency":"EUR"}',
        '{"deposit_id":"x1","amount":0,"currency":"EUR"}',
        '{"deposit_id":"x1","amount":-5,"currency":"EUR"}',
        '{"deposit_id":"x1","amount":1000000000001,"currency":"EUR"}',
    ]:
        body = problem(api.as_provider(path, raw), 422, "VALIDATION_FAILED")
        assert body["wallet"]["cash"] == 0, raw
    problem(api.deposit(player, new_id("psp"), 100, currency="SEK"), 422, "CURRENCY_MISMATCH")
    history = api.as_player("GET", f"/players/{player}/transactions", player).json()
    assert history["items"] == []


def test_limits_and_exclusions_through_http(api, player):
    limits = api.as_player("PUT", f"/players/{player}/limits", player, {"daily": 1000})
    assert limits.status_code == 200, limits.text
    assert limits.json()["current"]["daily"] == 1000
    problem(api.deposit(player, new_id("psp"), 1001), 422, "DEPOSIT_LIMIT_REACHED")
    assert api.deposit(player, new_id("psp"), 1000).status_code == 201

    exclusion = api.as_player("POST", f"/players/{player}/exclusions", player, {"kind": "time_out", "days": 1})
    assert exclusion.status_code == 201, exclusion.text
    blocked = problem(api.deposit(player, new_id("psp"), 1), 403, "PLAYER_BLOCKED")
    assert blocked["wallet"]["cash"] == 1000
