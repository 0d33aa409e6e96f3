//! Conformance: one test per rule of WALLET-RULES "Bets" and "Settlements", through the
//! handlers against DynamoDB (moto). Every test ends with the audit of its players.

use edge::Clock;
use lambda_http::http::Method;
use serde_json::json;
use stakeline_tests::*;

fn code(body: &serde_json::Value) -> Option<&str> {
    body["code"].as_str()
}

#[tokio::test]
async fn a_bet_draws_cash_and_is_reported_open() {
    let state = state().await;
    let player = funded_player(&state, 1000).await;
    let id = unique("bet");
    let (status, body) = bet(&state, &player, &id, 300).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["bet_id"], id.as_str());
    assert_eq!(body["round_id"], "round-1");
    assert_eq!(body["status"], "open");
    assert_eq!(
        (body["cash_stake"].as_i64(), body["bonus_stake"].as_i64()),
        (Some(300), Some(0))
    );
    assert_eq!(body["wallet"]["cash"], 700);
    assert_audit_clean(&state, &[&player]).await;
}

#[tokio::test]
async fn duplicate_bet_replays_without_moving_money() {
    let state = state().await;
    let player = funded_player(&state, 1000).await;
    let id = unique("bet");
    let (_, first) = bet(&state, &player, &id, 300).await;
    let (status, again) = bet(&state, &player, &id, 300).await;
    assert_eq!(status, 200, "{again}");
    for field in [
        "bet_id",
        "round_id",
        "status",
        "cash_stake",
        "bonus_stake",
        "entry_id",
    ] {
        assert_eq!(first[field], again[field], "{field}");
    }
    assert_eq!(again["wallet"]["cash"], 700);
    assert_audit_clean(&state, &[&player]).await;
}

#[tokio::test]
async fn duplicate_bet_with_another_amount_is_a_duplicate_transaction() {
    let state = state().await;
    let player = funded_player(&state, 1000).await;
    let id = unique("bet");
    bet(&state, &player, &id, 300).await;
    let (status, problem) = bet(&state, &player, &id, 301).await;
    assert_eq!(
        (status, code(&problem)),
        (409, Some("DUPLICATE_TRANSACTION"))
    );
    assert_eq!(problem["wallet"]["cash"], 700);
    let (status, problem) = bet_with(&state, &player, &bet_body(&id, "round-2", 300)).await;
    assert_eq!(
        (status, code(&problem)),
        (409, Some("DUPLICATE_TRANSACTION")),
        "another round"
    );
    assert_audit_clean(&state, &[&player]).await;
}

#[tokio::test]
async fn duplicate_bet_id_from_another_player_is_a_duplicate_transaction() {
    let state = state().await;
    let first = funded_player(&state, 1000).await;
    let second = funded_player(&state, 1000).await;
    let id = unique("bet");
    bet(&state, &first, &id, 100).await;
    let (status, problem) = bet(&state, &second, &id, 100).await;
    assert_eq!(
        (status, code(&problem)),
        (409, Some("DUPLICATE_TRANSACTION"))
    );
    assert_eq!(
        problem["wallet"]["cash"], 1000,
        "the second player's own wallet, untouched"
    );
    assert_audit_clean(&state, &[&first, &second]).await;
}

#[tokio::test]
async fn win_credits_and_closes_the_bet() {
    let state = state().await;
    let player = funded_player(&state, 1000).await;
    let id = unique("bet");
    bet(&state, &player, &id, 300).await;
    let (status, body) = settle(&state, &player, &id, &win(&unique("stl"), 750)).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "won");
    assert_eq!(
        (body["cash_credit"].as_i64(), body["bonus_credit"].as_i64()),
        (Some(750), Some(0))
    );
    assert_eq!(body["wallet"]["cash"], 1450);
    assert_audit_clean(&state, &[&player]).await;
}

#[tokio::test]
async fn win_of_zero_is_a_loss() {
    let state = state().await;
    let player = funded_player(&state, 1000).await;
    let id = unique("bet");
    bet(&state, &player, &id, 300).await;
    let (status, body) = settle(&state, &player, &id, &win(&unique("stl"), 0)).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "lost");
    assert_eq!(body["wallet"]["cash"], 700);
    let entries = all_entries(&state, &player).await;
    assert_eq!(entries.len(), 2, "a loss writes no entry");
    assert_audit_clean(&state, &[&player]).await;
}

#[tokio::test]
async fn unknown_bet_win_is_not_found_and_moves_nothing() {
    let state = state().await;
    let player = funded_player(&state, 1000).await;
    let (status, problem) =
        settle(&state, &player, &unique("bet"), &win(&unique("stl"), 500)).await;
    assert_eq!((status, code(&problem)), (404, Some("BET_NOT_FOUND")));
    assert_eq!(problem["wallet"]["cash"], 1000);
    assert_audit_clean(&state, &[&player]).await;
}

#[tokio::test]
async fn unknown_bet_rollback_leaves_a_tombstone_and_the_late_bet_is_rolled_back() {
    let state = state().await;
    let player = funded_player(&state, 1000).await;
    let id = unique("bet");
    let (status, body) = settle(&state, &player, &id, &rollback(&unique("stl"))).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "rolled_back");
    assert_eq!(
        (body["cash_credit"].as_i64(), body["bonus_credit"].as_i64()),
        (Some(0), Some(0))
    );
    let (status, problem) = bet(&state, &player, &id, 300).await;
    assert_eq!((status, code(&problem)), (409, Some("BET_ROLLED_BACK")));
    assert_eq!(
        problem["wallet"]["cash"], 1000,
        "the late bet moved nothing"
    );
    assert_audit_clean(&state, &[&player]).await;
}

#[tokio::test]
async fn win_after_rollback_is_bet_rolled_back() {
    let state = state().await;
    let player = funded_player(&state, 1000).await;
    let id = unique("bet");
    bet(&state, &player, &id, 300).await;
    assert_eq!(
        settle(&state, &player, &id, &rollback(&unique("stl")))
            .await
            .0,
        201
    );
    let (status, problem) = settle(&state, &player, &id, &win(&unique("stl"), 900)).await;
    assert_eq!((status, code(&problem)), (409, Some("BET_ROLLED_BACK")));
    assert_eq!(problem["wallet"]["cash"], 1000);
    assert_audit_clean(&state, &[&player]).await;
}

#[tokio::test]
async fn rollback_after_win_is_already_settled_and_the_win_stands() {
    let state = state().await;
    let player = funded_player(&state, 1000).await;
    let id = unique("bet");
    bet(&state, &player, &id, 300).await;
    settle(&state, &player, &id, &win(&unique("stl"), 600)).await;
    let (status, problem) = settle(&state, &player, &id, &rollback(&unique("stl"))).await;
    assert_eq!((status, code(&problem)), (409, Some("BET_ALREADY_SETTLED")));
    assert_eq!(problem["wallet"]["cash"], 1300, "the win stands");
    assert_audit_clean(&state, &[&player]).await;
}

#[tokio::test]
async fn double_rollback_is_already_settled_and_its_replay_is_the_original() {
    let state = state().await;
    let player = funded_player(&state, 1000).await;
    let id = unique("bet");
    bet(&state, &player, &id, 300).await;
    let first = rollback(&unique("stl"));
    let (status, original) = settle(&state, &player, &id, &first).await;
    assert_eq!(status, 201);
    let (status, replay) = settle(&state, &player, &id, &first).await;
    assert_eq!(status, 200, "the same settlement id replays: {replay}");
    assert_eq!(original["cash_credit"], replay["cash_credit"]);
    let (status, problem) = settle(&state, &player, &id, &rollback(&unique("stl"))).await;
    assert_eq!((status, code(&problem)), (409, Some("BET_ALREADY_SETTLED")));
    assert_eq!(problem["wallet"]["cash"], 1000);
    assert_audit_clean(&state, &[&player]).await;
}

#[tokio::test]
async fn a_second_different_settlement_is_already_settled() {
    let state = state().await;
    let player = funded_player(&state, 1000).await;
    let id = unique("bet");
    bet(&state, &player, &id, 300).await;
    settle(&state, &player, &id, &win(&unique("stl"), 100)).await;
    let (status, problem) = settle(&state, &player, &id, &win(&unique("stl"), 100)).await;
    assert_eq!((status, code(&problem)), (409, Some("BET_ALREADY_SETTLED")));
    assert_audit_clean(&state, &[&player]).await;
}

#[tokio::test]
async fn the_same_settlement_id_with_another_payload_is_a_duplicate_transaction() {
    let state = state().await;
    let player = funded_player(&state, 1000).await;
    let id = unique("bet");
    bet(&state, &player, &id, 300).await;
    let settlement_id = unique("stl");
    settle(&state, &player, &id, &win(&settlement_id, 100)).await;
    let (status, problem) = settle(&state, &player, &id, &win(&settlement_id, 101)).await;
    assert_eq!(
        (status, code(&problem)),
        (409, Some("DUPLICATE_TRANSACTION"))
    );
    assert_audit_clean(&state, &[&player]).await;
}

#[tokio::test]
async fn many_bets_in_one_round_are_settled_each_on_their_own() {
    let state = state().await;
    let player = funded_player(&state, 1000).await;
    let ids: Vec<String> = (0..4).map(|_| unique("bet")).collect();
    for id in &ids {
        let (status, body) = bet_with(&state, &player, &bet_body(id, "round-shared", 100)).await;
        assert_eq!(status, 201, "{body}");
    }
    settle(&state, &player, &ids[0], &win(&unique("stl"), 250)).await;
    settle(&state, &player, &ids[1], &win(&unique("stl"), 0)).await;
    settle(&state, &player, &ids[2], &rollback(&unique("stl"))).await;
    let (_, wallet) = settle(&state, &player, &ids[3], &win(&unique("stl"), 50)).await;
    assert_eq!(wallet["wallet"]["cash"], 1000 - 400 + 250 + 100 + 50);
    assert_audit_clean(&state, &[&player]).await;
}

#[tokio::test]
async fn blocked_players_cannot_bet_but_their_wins_and_rollbacks_go_through() {
    let state = state().await;
    let player = funded_player(&state, 1000).await;
    let won = unique("bet");
    let rolled = unique("bet");
    bet(&state, &player, &won, 100).await;
    bet(&state, &player, &rolled, 200).await;
    let (status, _) = exclude(&state, &player, r#"{"kind":"self_exclusion","days":183}"#).await;
    assert_eq!(status, 201);

    let (status, problem) = bet(&state, &player, &unique("bet"), 10).await;
    assert_eq!((status, code(&problem)), (403, Some("PLAYER_BLOCKED")));
    assert_eq!(problem["wallet"]["cash"], 700);
    assert_eq!(
        settle(&state, &player, &won, &win(&unique("stl"), 500))
            .await
            .0,
        201
    );
    let (status, body) = settle(&state, &player, &rolled, &rollback(&unique("stl"))).await;
    assert_eq!(status, 201);
    assert_eq!(body["wallet"]["cash"], 1400);
    assert_audit_clean(&state, &[&player]).await;
}

#[tokio::test]
async fn insufficient_funds_stays_rejected_on_retry() {
    let state = state().await;
    let player = funded_player(&state, 100).await;
    let id = unique("bet");
    let (status, problem) = bet(&state, &player, &id, 150).await;
    assert_eq!((status, code(&problem)), (422, Some("INSUFFICIENT_FUNDS")));
    assert_eq!(problem["wallet"]["cash"], 100, "the unchanged wallet");
    deposit(&state, &player, &unique("dep"), 1000).await;
    let (status, again) = bet(&state, &player, &id, 150).await;
    assert_eq!(
        (status, code(&again)),
        (422, Some("INSUFFICIENT_FUNDS")),
        "still rejected after the deposit"
    );
    assert_eq!(again["detail"], problem["detail"]);
    assert_eq!(again["wallet"]["cash"], 1100);
    let (status, _) = settle(&state, &player, &id, &win(&unique("stl"), 100)).await;
    assert_eq!(status, 404, "a refused bet has nothing to win");
    assert_audit_clean(&state, &[&player]).await;
}

#[tokio::test]
async fn the_stake_comes_from_cash_then_bonus_and_wins_split_in_proportion() {
    let state = state().await;
    let player = funded_player(&state, 600).await;
    give_bonus(&state, &player, 500, 0, None).await;
    let id = unique("bet");
    let (status, body) = bet(&state, &player, &id, 1000).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        (body["cash_stake"].as_i64(), body["bonus_stake"].as_i64()),
        (Some(600), Some(400))
    );
    assert_eq!(
        (
            body["wallet"]["cash"].as_i64(),
            body["wallet"]["bonus"].as_i64()
        ),
        (Some(0), Some(100))
    );
    let (_, settled) = settle(&state, &player, &id, &win(&unique("stl"), 2001)).await;
    // 2001 × 400/1000 = 800.4 → 800 bonus; cash takes the rest (rounding toward cash).
    assert_eq!(
        (
            settled["cash_credit"].as_i64(),
            settled["bonus_credit"].as_i64()
        ),
        (Some(1201), Some(800))
    );
    assert_eq!(
        (
            settled["wallet"]["cash"].as_i64(),
            settled["wallet"]["bonus"].as_i64()
        ),
        (Some(1201), Some(900))
    );
    assert_audit_clean(&state, &[&player]).await;
}

#[tokio::test]
async fn a_rollback_returns_cash_to_cash_and_bonus_to_bonus() {
    let state = state().await;
    let player = funded_player(&state, 600).await;
    give_bonus(&state, &player, 500, 0, None).await;
    let id = unique("bet");
    bet(&state, &player, &id, 1000).await;
    let (_, body) = settle(&state, &player, &id, &rollback(&unique("stl"))).await;
    assert_eq!(
        (body["cash_credit"].as_i64(), body["bonus_credit"].as_i64()),
        (Some(600), Some(400))
    );
    assert_eq!(
        (
            body["wallet"]["cash"].as_i64(),
            body["wallet"]["bonus"].as_i64()
        ),
        (Some(600), Some(500))
    );
    assert_audit_clean(&state, &[&player]).await;
}

#[tokio::test]
async fn a_stake_over_the_maximum_while_wagering_is_refused() {
    let state = state().await;
    let player = funded_player(&state, 1000).await;
    give_bonus(&state, &player, 500, 5000, Some(200)).await;
    let (status, problem) = bet(&state, &player, &unique("bet"), 201).await;
    assert_eq!(
        (status, code(&problem)),
        (422, Some("STAKE_LIMIT_EXCEEDED"))
    );
    assert_eq!(bet(&state, &player, &unique("bet"), 200).await.0, 201);
    assert_audit_clean(&state, &[&player]).await;
}

#[tokio::test]
async fn another_players_bet_cannot_be_settled() {
    let state = state().await;
    let owner = funded_player(&state, 1000).await;
    let other = funded_player(&state, 1000).await;
    let id = unique("bet");
    bet(&state, &owner, &id, 100).await;
    let (status, problem) = settle(&state, &other, &id, &win(&unique("stl"), 500)).await;
    assert_eq!((status, code(&problem)), (404, Some("BET_NOT_FOUND")));
    let (status, _) = settle(&state, &other, &id, &rollback(&unique("stl"))).await;
    assert_eq!(status, 404, "no tombstone over another player's bet");
    assert_audit_clean(&state, &[&owner, &other]).await;
}

#[tokio::test]
async fn bad_bets_and_settlements_are_refused_and_write_nothing() {
    let state = state().await;
    let player = funded_player(&state, 1000).await;
    let id = unique("bet");
    for body in [
        "{bad json".to_string(),
        json!({"bet_id": id, "round_id": "r", "game_id": "g", "amount": 100, "currency": "EUR", "odds": 2}).to_string(),
        json!({"bet_id": id, "round_id": "r", "game_id": "g", "amount": 0, "currency": "EUR"}).to_string(),
        json!({"bet_id": id, "round_id": "r", "game_id": "g", "amount": -1, "currency": "EUR"}).to_string(),
        json!({"bet_id": id, "round_id": "r", "game_id": "g", "amount": 1_000_000_000_001i64, "currency": "EUR"}).to_string(),
        json!({"bet_id": id, "round_id": "r", "game_id": "g", "amount": 1.5, "currency": "EUR"}).to_string(),
        json!({"bet_id": id, "round_id": "r r", "game_id": "g", "amount": 1, "currency": "EUR"}).to_string(),
        json!({"bet_id": id, "game_id": "g", "amount": 1, "currency": "EUR"}).to_string(),
    ] {
        let (status, problem) = bet_with(&state, &player, &body).await;
        assert_eq!((status, code(&problem)), (422, Some("VALIDATION_FAILED")), "{body}");
        assert_eq!(problem["wallet"]["cash"], 1000);
    }
    let (status, problem) = bet_with(
        &state,
        &player,
        &json!({"bet_id": id, "round_id": "r", "game_id": "g", "amount": 1, "currency": "SEK"})
            .to_string(),
    )
    .await;
    assert_eq!((status, code(&problem)), (422, Some("CURRENCY_MISMATCH")));
    bet(&state, &player, &id, 100).await;
    for body in [
        json!({"settlement_id": "s", "kind": "win"}),
        json!({"settlement_id": "s", "kind": "win", "amount": -1}),
        json!({"settlement_id": "s", "kind": "rollback", "amount": 5}),
        json!({"settlement_id": "s", "kind": "cashout", "amount": 5}),
        json!({"settlement_id": "s", "kind": "win", "amount": 5, "extra": true}),
        json!({"kind": "win", "amount": 5}),
    ] {
        let (status, problem) = settle(&state, &player, &id, &body).await;
        assert_eq!(
            (status, code(&problem)),
            (422, Some("VALIDATION_FAILED")),
            "{body}"
        );
    }
    let unsigned = {
        let path = format!("/players/{player}/bets");
        let mut r = signed_request(
            Method::POST,
            &path,
            &[("player_id", &player)],
            &bet_body(&unique("bet"), "r", 1),
            AGGREGATOR_SECRET,
            state.clock.now().seconds(),
        );
        r.headers_mut().remove("x-stakeline-signature");
        r
    };
    let (status, problem) = read(place_bet::handle(&state, unsigned).await);
    assert_eq!((status, code(&problem)), (401, Some("UNAUTHENTICATED")));
    let with_provider_secret = {
        let path = format!("/players/{player}/bets");
        signed_request(
            Method::POST,
            &path,
            &[("player_id", &player)],
            &bet_body(&unique("bet"), "r", 1),
            PROVIDER_SECRET,
            state.clock.now().seconds(),
        )
    };
    assert_eq!(
        read(place_bet::handle(&state, with_provider_secret).await).0,
        401,
        "the payment provider cannot place bets"
    );
    let account = assert_wallet_consistent(&state, &player).await;
    assert_eq!((account.cash, account.seq), (900, 2));
    assert_audit_clean(&state, &[&player]).await;
}

#[tokio::test]
async fn the_player_and_the_aggregator_read_a_bet() {
    let state = state_at(Clock::System).await;
    let player = funded_player(&state, 1000).await;
    let id = unique("bet");
    bet(&state, &player, &id, 300).await;
    settle(&state, &player, &id, &win(&unique("stl"), 450)).await;
    let path = format!("/players/{player}/bets/{id}");
    let params = [("player_id", player.as_str()), ("bet_id", id.as_str())];
    let mut as_player = player_request(Method::GET, &path, Some(&player), &[], "", Some(&player));
    as_player = lambda_http::RequestExt::with_path_parameters(
        as_player,
        std::collections::HashMap::from(params.map(|(k, v)| (k.to_string(), v.to_string()))),
    );
    let (status, body) = read(wallet_read::handle(&state, as_player).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "won");
    assert_eq!(body["amount"], 300);
    assert_eq!(body["settlement"]["kind"], "win");
    assert_eq!(body["settlement"]["cash_credit"], 450);

    let as_aggregator = signed_request(
        Method::GET,
        &path,
        &params,
        "",
        AGGREGATOR_SECRET,
        state.clock.now().seconds(),
    );
    let (status, same) = read(wallet_read::handle(&state, as_aggregator).await);
    assert_eq!((status, &same), (200, &body));

    let intruder = funded_player(&state, 0).await;
    let mut as_intruder =
        player_request(Method::GET, &path, Some(&player), &[], "", Some(&intruder));
    as_intruder = lambda_http::RequestExt::with_path_parameters(
        as_intruder,
        std::collections::HashMap::from(params.map(|(k, v)| (k.to_string(), v.to_string()))),
    );
    assert_eq!(read(wallet_read::handle(&state, as_intruder).await).0, 403);

    let other_path = format!("/players/{intruder}/bets/{id}");
    let other_params = [("player_id", intruder.as_str()), ("bet_id", id.as_str())];
    let signed = signed_request(
        Method::GET,
        &other_path,
        &other_params,
        "",
        AGGREGATOR_SECRET,
        state.clock.now().seconds(),
    );
    let (status, problem) = read(wallet_read::handle(&state, signed).await);
    assert_eq!(
        (status, code(&problem)),
        (404, Some("BET_NOT_FOUND")),
        "not another player's bet"
    );
}

#[tokio::test]
async fn a_refused_bet_can_be_rolled_back_and_then_stays_closed() {
    let state = state().await;
    let player = funded_player(&state, 50).await;
    let id = unique("bet");
    let (status, refusal) = bet(&state, &player, &id, 100).await;
    assert_eq!((status, code(&refusal)), (422, Some("INSUFFICIENT_FUNDS")));
    let (status, rolled) = settle(&state, &player, &id, &rollback(&unique("stl"))).await;
    assert_eq!(
        (status, &rolled["status"]),
        (201, &json!("rolled_back")),
        "{rolled}"
    );
    assert_eq!(
        (rolled["cash_credit"].as_i64(), rolled["entry_id"].is_null()),
        (Some(0), true)
    );
    let (status, problem) = settle(&state, &player, &id, &win(&unique("stl"), 500)).await;
    assert_eq!((status, code(&problem)), (409, Some("BET_ROLLED_BACK")));
    let (status, retry) = bet(&state, &player, &id, 100).await;
    assert_eq!(
        (status, code(&retry)),
        (422, Some("INSUFFICIENT_FUNDS")),
        "the bet keeps its refusal"
    );
    assert_eq!(assert_wallet_consistent(&state, &player).await.cash, 50);
    assert_audit_clean(&state, &[&player]).await;
}
