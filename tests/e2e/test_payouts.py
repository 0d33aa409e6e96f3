"""Money out through the local suite: a withdrawal in review, an operator's approval, the
approval's event through the bus and the payout queue to `payout`, the sandbox payment
provider taking it and reporting the result on the signed result route, all without a
caller waiting. The sandbox's test amounts make it refuse or fail a payout."""

from conftest import new_id
from stakeline_local import sandbox_provider
from test_bonuses import wait_for


def withdraw(api, player: str, amount: int) -> str:
    withdrawal_id = new_id("wd")
    body = {"withdrawal_id": withdrawal_id, "amount": amount, "currency": "EUR",
            "destination": {"kind": "bank_account", "reference": new_id("iban")}}
    response = api.as_player("POST", f"/players/{player}/withdrawals", player, body)
    assert response.status_code == 201, response.text
    # A minutes-old account that has not staked its deposit: turnover and new_account fire.
    assert response.json()["status"] == "pending_review", response.text
    return withdrawal_id


def approve(api, withdrawal_id: str):
    response = api.as_operator("POST", f"/ops/withdrawals/{withdrawal_id}/decision",
                               body={"decision": "approve", "reason": "checked by the e2e analyst"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "approved"


def withdrawal(api, player: str, withdrawal_id: str) -> dict:
    return api.as_player("GET", f"/players/{player}/withdrawals/{withdrawal_id}", player).json()


def test_an_approved_withdrawal_is_paid_out_through_the_queue_and_the_provider(api, player, suite):
    assert api.deposit(player, new_id("psp"), 5000).status_code == 201
    withdrawal_id = withdraw(api, player, 2000)
    approve(api, withdrawal_id)

    paid = wait_for(lambda: (w := withdrawal(api, player, withdrawal_id))["status"] == "paid" and w,
                    "the payout and its paid result")
    assert paid["provider_reference"] == sandbox_provider.provider_reference(withdrawal_id)
    assert paid["wallet"]["pending_withdrawal"] == 0
    payouts = sandbox_provider.control(suite["sandbox_provider"], "status")["payouts"]
    [sent] = [p for p in payouts if p["withdrawal_id"] == withdrawal_id]
    assert (sent["player_id"], sent["amount"], sent["callback"]) == (player, 2000, "sent")


def test_a_refused_payout_returns_the_money(api, player):
    assert api.deposit(player, new_id("psp"), 5000).status_code == 201
    withdrawal_id = withdraw(api, player, 2044)  # the sandbox refuses amounts ending in 44
    approve(api, withdrawal_id)

    failed = wait_for(lambda: (w := withdrawal(api, player, withdrawal_id))["status"] == "failed" and w,
                      "the refused payout")
    assert failed["provider_reference"] == "refused-http-422"
    assert (failed["wallet"]["pending_withdrawal"], failed["wallet"]["cash"]) == (0, 5000)


def test_a_payout_the_provider_fails_later_returns_the_money(api, player):
    assert api.deposit(player, new_id("psp"), 5000).status_code == 201
    withdrawal_id = withdraw(api, player, 1513)  # accepted, then reported failed
    approve(api, withdrawal_id)

    failed = wait_for(lambda: (w := withdrawal(api, player, withdrawal_id))["status"] == "failed" and w,
                      "the failed result")
    assert failed["failure_reason"] == "sandbox: declined by the bank"
    assert failed["wallet"]["cash"] == 5000
