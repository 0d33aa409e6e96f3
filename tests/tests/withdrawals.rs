//! Withdrawals (WALLET-RULES "Withdrawals"): the request moves cash to the pending
//! withdrawal at once; the risk rules approve it or send it to review; the player may cancel
//! while it is in review; the payment provider's result pays it out or returns it, once.

use lambda_http::http::Method;
use serde_json::{json, Value};
use stakeline_tests::*;
use stakeline_tests::{
    request_withdrawal as request, state_with_rules as state_with, withdrawal_body as body,
};

/// No rule ever fires: every request is approved at once.
const NO_RULES: &str = "{}";
/// Every request goes to review (any amount is "large").
const ALWAYS_REVIEW: &str = r#"{"large_amount":{"EUR":1}}"#;

async fn cancel(state: &edge::State, player: &str, id: &str) -> (u16, Value) {
    let path = format!("/players/{player}/withdrawals/{id}/cancel");
    let params = [("player_id", player), ("withdrawal_id", id)];
    let request = player_request_at(Method::POST, &path, &params, "", player);
    read(withdraw::handle(state, request).await)
}

async fn payout(state: &edge::State, player: &str, id: &str, body: &Value) -> (u16, Value) {
    let path = format!("/players/{player}/withdrawals/{id}/result");
    let request = signed_request(
        Method::POST,
        &path,
        &[("player_id", player), ("withdrawal_id", id)],
        &body.to_string(),
        PROVIDER_SECRET,
        state.clock.now().seconds(),
    );
    read(withdraw::handle(state, request).await)
}

fn paid(reference: &str) -> Value {
    json!({"status": "paid", "provider_reference": reference})
}

fn failed(reference: &str) -> Value {
    json!({"status": "failed", "provider_reference": reference, "reason": "account closed"})
}

#[tokio::test]
async fn a_withdrawal_holds_cash_at_once_and_replays_from_its_record() {
    let state = state_with(NO_RULES).await;
    let player = funded_player(&state, 5000).await;
    let id = unique("wd");
    let (status, answer) = request(&state, &player, &body(&id, 3000, &unique("iban"))).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["status"], "approved");
    assert_eq!(answer["review_reasons"], json!([]));
    assert_eq!(
        (
            answer["wallet"]["cash"].as_i64(),
            answer["wallet"]["pending_withdrawal"].as_i64()
        ),
        (Some(2000), Some(3000))
    );
    // The same request again: the withdrawal as it stands, nothing moves.
    let reference = answer["destination"]["reference"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (status, again) = request(&state, &player, &body(&id, 3000, &reference)).await;
    assert_eq!((status, &again["status"]), (200, &answer["status"]));
    let (status, other) = request(&state, &player, &body(&id, 2999, &reference)).await;
    assert_eq!(
        (status, other["code"].as_str()),
        (409, Some("DUPLICATE_TRANSACTION"))
    );
    // More than the cash: refused, and refused again on retry even after a deposit.
    let big = unique("wd");
    let (status, refused) = request(&state, &player, &body(&big, 2001, &reference)).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (422, Some("INSUFFICIENT_FUNDS"))
    );
    assert_eq!(refused["wallet"]["pending_withdrawal"], 3000);
    assert_eq!(deposit(&state, &player, &unique("dep"), 5000).await.0, 201);
    let (status, still) = request(&state, &player, &body(&big, 2001, &reference)).await;
    assert_eq!(
        (status, still["code"].as_str()),
        (422, Some("INSUFFICIENT_FUNDS"))
    );
    let account = assert_wallet_consistent(&state, &player).await;
    assert_eq!((account.cash, account.pending_withdrawal), (7000, 3000));
    assert_audit_clean(&state, &[&player]).await;
}

#[tokio::test]
async fn a_withdrawal_in_review_can_be_cancelled_once() {
    let state = state_with(ALWAYS_REVIEW).await;
    let player = funded_player(&state, 5000).await;
    let id = unique("wd");
    let (status, answer) = request(&state, &player, &body(&id, 1500, &unique("iban"))).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["status"], "pending_review");
    assert_eq!(answer["review_reasons"], json!(["large_amount"]));
    let (status, cancelled) = cancel(&state, &player, &id).await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(
        (
            cancelled["wallet"]["cash"].as_i64(),
            cancelled["wallet"]["pending_withdrawal"].as_i64()
        ),
        (Some(5000), Some(0))
    );
    let (status, again) = cancel(&state, &player, &id).await;
    assert_eq!(
        (status, again["code"].as_str()),
        (409, Some("WITHDRAWAL_NOT_PENDING"))
    );
    assert_eq!(
        again["wallet"]["cash"], 5000,
        "the wallet on every money error"
    );
    let (status, unknown) = cancel(&state, &player, &unique("wd")).await;
    assert_eq!(
        (status, unknown["code"].as_str()),
        (404, Some("WITHDRAWAL_NOT_FOUND"))
    );
    // Another player's withdrawal is not this player's.
    let other = funded_player(&state, 100).await;
    let (status, foreign) = cancel(&state, &other, &id).await;
    assert_eq!(
        (status, foreign["code"].as_str()),
        (404, Some("WITHDRAWAL_NOT_FOUND"))
    );
    assert_wallet_consistent(&state, &player).await;
    assert_audit_clean(&state, &[&player, &other]).await;
}

#[tokio::test]
async fn the_payout_result_pays_out_or_returns_once() {
    let state = state_with(NO_RULES).await;
    let player = funded_player(&state, 5000).await;
    let (paid_id, failed_id) = (unique("wd"), unique("wd"));
    for id in [&paid_id, &failed_id] {
        assert_eq!(
            request(&state, &player, &body(id, 2000, &unique("iban")))
                .await
                .0,
            201
        );
    }
    let (status, done) = payout(&state, &player, &paid_id, &paid("psp-1")).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "paid");
    assert_eq!(
        done["wallet"]["pending_withdrawal"], 2000,
        "the other one still waits"
    );
    let (status, again) = payout(&state, &player, &paid_id, &paid("psp-1")).await;
    assert_eq!((status, &again["status"]), (200, &json!("paid")));
    let (status, contradiction) = payout(&state, &player, &paid_id, &failed("psp-1")).await;
    assert_eq!(
        (status, contradiction["code"].as_str()),
        (409, Some("WITHDRAWAL_ALREADY_FINAL"))
    );

    let (status, back) = payout(&state, &player, &failed_id, &failed("psp-2")).await;
    assert_eq!(status, 200, "{back}");
    assert_eq!(back["status"], "failed");
    assert_eq!(
        (
            back["wallet"]["cash"].as_i64(),
            back["wallet"]["pending_withdrawal"].as_i64()
        ),
        (Some(3000), Some(0))
    );
    // A result for a withdrawal still in review is refused.
    let review = state_with(ALWAYS_REVIEW).await;
    let waiting = unique("wd");
    assert_eq!(
        request(&review, &player, &body(&waiting, 100, &unique("iban")))
            .await
            .0,
        201
    );
    let (status, early) = payout(&review, &player, &waiting, &paid("psp-3")).await;
    assert_eq!(
        (status, early["code"].as_str()),
        (409, Some("WITHDRAWAL_ALREADY_FINAL"))
    );
    // Only the payment provider's signature: a player token is refused without a wallet.
    let path = format!("/players/{player}/withdrawals/{paid_id}/result");
    let forged = player_request_at(
        Method::POST,
        &path,
        &[("player_id", &player), ("withdrawal_id", &paid_id)],
        &paid("psp-1").to_string(),
        &player,
    );
    let (status, refused) = read(withdraw::handle(&state, forged).await);
    assert_eq!(
        (status, refused["code"].as_str()),
        (401, Some("UNAUTHENTICATED"))
    );
    assert!(refused.get("wallet").is_none());
    let account = assert_wallet_consistent(&state, &player).await;
    assert_eq!((account.cash, account.pending_withdrawal), (2900, 100));
    assert_audit_clean(&state, &[&player]).await;
}

#[tokio::test]
async fn a_disabled_player_cannot_withdraw_and_a_shared_destination_goes_to_review() {
    let state = state_with(r#"{"shared_destination":{"enabled":true}}"#).await;
    let (first, second) = (
        funded_player(&state, 1000).await,
        funded_player(&state, 1000).await,
    );
    let reference = unique("card");
    let (status, mine) = request(&state, &first, &body(&unique("wd"), 100, &reference)).await;
    assert_eq!((status, &mine["status"]), (201, &json!("approved")));
    let (status, theirs) = request(&state, &second, &body(&unique("wd"), 100, &reference)).await;
    assert_eq!(status, 201, "{theirs}");
    assert_eq!(theirs["review_reasons"], json!(["shared_destination"]));
    // The first player using it again is not "another player".
    let (_, again) = request(&state, &first, &body(&unique("wd"), 100, &reference)).await;
    assert_eq!(again["review_reasons"], json!([]));

    disable(&state, &first).await;
    let (status, locked) = request(&state, &first, &body(&unique("wd"), 100, &reference)).await;
    assert_eq!(
        (status, locked["code"].as_str()),
        (403, Some("PLAYER_BLOCKED"))
    );
    assert_audit_clean(&state, &[&first, &second]).await;
}

#[tokio::test]
async fn withdrawals_racing_bets_never_overdraw_the_wallet() {
    let state = std::sync::Arc::new(state_with(NO_RULES).await);
    let player = funded_player(&state, 10_000).await;
    let mut tasks = Vec::new();
    for n in 0..12 {
        let (state, player) = (state.clone(), player.clone());
        tasks.push(tokio::spawn(async move {
            let withdrawal = n % 2 == 0;
            let status = if withdrawal {
                request(&state, &player, &body(&unique("wd"), 1500, "iban-race"))
                    .await
                    .0
            } else {
                bet(&state, &player, &unique("bet"), 1500).await.0
            };
            (withdrawal, status)
        }));
    }
    let (mut withdrawals, mut bets) = (0i64, 0i64);
    for task in tasks {
        let (withdrawal, status) = task.await.expect("task");
        assert!(matches!(status, 201 | 422), "{status}");
        if status == 201 {
            *if withdrawal {
                &mut withdrawals
            } else {
                &mut bets
            } += 1;
        }
    }
    assert_eq!(
        withdrawals + bets,
        6,
        "10,000 covers six of the twelve 1,500 requests"
    );
    let account = assert_wallet_consistent(&state, &player).await;
    assert_eq!(account.pending_withdrawal, 1500 * withdrawals);
    assert_eq!(account.cash, 10_000 - 1500 * (withdrawals + bets));
    assert_audit_clean(&state, &[&player]).await;
}

#[tokio::test]
async fn withdrawals_racing_settlements_and_each_other_move_money_once() {
    let state = std::sync::Arc::new(state_with(NO_RULES).await);
    let player = funded_player(&state, 10_000).await;
    let bets: Vec<String> = (0..4).map(|_| unique("bet")).collect();
    for id in &bets {
        assert_eq!(bet(&state, &player, id, 1000).await.0, 201);
    }
    let withdrawal = unique("wd");
    let (status, _) = request(
        &state,
        &player,
        &body(&withdrawal, 3000, "iban-settle-race"),
    )
    .await;
    assert_eq!(status, 201);
    // Wins settle while the same withdrawal's result arrives twice with each outcome.
    let mut tasks = Vec::new();
    for (n, id) in bets.iter().enumerate() {
        let (state, player, id) = (state.clone(), player.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            settle(
                &state,
                &player,
                &id,
                &win(&unique("stl"), 500 * (n as i64 + 1)),
            )
            .await
            .0
        }));
    }
    let mut results = Vec::new();
    for outcome in [
        paid("psp-race"),
        paid("psp-race"),
        failed("psp-race"),
        failed("psp-race"),
    ] {
        let (state, player, withdrawal) = (state.clone(), player.clone(), withdrawal.clone());
        results.push(tokio::spawn(async move {
            let (status, answer) = payout(&state, &player, &withdrawal, &outcome).await;
            (outcome["status"].clone(), status, answer["status"].clone())
        }));
    }
    for task in tasks {
        assert_eq!(task.await.expect("settle"), 201);
    }
    let mut applied = std::collections::BTreeSet::new();
    for task in results {
        let (asked, status, recorded) = task.await.expect("result");
        match status {
            200 => {
                assert_eq!(
                    asked, recorded,
                    "a 200 answers the result that was asked for"
                );
                applied.insert(recorded.to_string());
            }
            409 => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(applied.len(), 1, "one outcome won: {applied:?}");
    let account = assert_wallet_consistent(&state, &player).await;
    let wins: i64 = (1..=4).map(|n| 500 * n).sum();
    let returned = if applied.contains("\"failed\"") {
        3000
    } else {
        0
    };
    assert_eq!(account.pending_withdrawal, 0);
    assert_eq!(account.cash, 10_000 - 4000 + wins - 3000 + returned);
    let entries = all_entries(&state, &player).await;
    let closing = entries
        .iter()
        .filter(|e| e.reference == withdrawal && e.kind != ledger::EntryKind::Withdrawal)
        .count();
    assert_eq!(closing, 1, "the held amount left or returned exactly once");
    assert_audit_clean(&state, &[&player]).await;
}
