"""Bodies that are not UTF-8 JSON, on every POST and PUT route, properly signed or with a
valid token: a 422 problem+json (VALIDATION_FAILED), never a 5xx, and nothing written."""

from __future__ import annotations

import pytest

from stakeline_local import auth

from conftest import new_id

BODIES = [b"\xff\xfe{\"a\":1}", b"{\"deposit_id\":\"\xc3\"}", b"\x00\x01\x02", b"\xef\xbb\xbf{}"]


def _signed(api, integration, method, path, body):
    headers = {"content-type": "application/json",
               **auth.signed_headers(body, method=method, path=path, integration=integration)}
    return api.http.request(method, api.base_url + path, data=body, headers=headers, timeout=60)


def _as_player(api, player, method, path, body):
    headers = {"content-type": "application/json", "authorization": f"Bearer {auth.mint_token(player)}"}
    return api.http.request(method, api.base_url + path, data=body, headers=headers, timeout=60)


def _assert_refused(response):
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "VALIDATION_FAILED"


@pytest.mark.parametrize("body", BODIES)
def test_no_route_fails_on_a_body_that_is_not_utf8_json(api, player, body):
    bet_id = new_id("bet")
    assert api.deposit(player, new_id("psp"), 1000).status_code == 201
    assert api.bet(player, bet_id, 100).status_code == 201
    before = api.as_player("GET", f"/players/{player}/wallet", player).json()
    for integration, path in [
        ("payment-provider", f"/players/{player}/deposits"),
        ("aggregator", f"/players/{player}/bets"),
        ("aggregator", f"/players/{player}/bets/{bet_id}/settlement"),
    ]:
        _assert_refused(_signed(api, integration, "POST", path, body))
    for method, path in [
        ("POST", "/players"),
        ("PUT", f"/players/{player}/limits"),
        ("POST", f"/players/{player}/exclusions"),
    ]:
        _assert_refused(_as_player(api, player, method, path, body))
    after = api.as_player("GET", f"/players/{player}/wallet", player).json()
    assert after == before
