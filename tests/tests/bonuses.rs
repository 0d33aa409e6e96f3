//! The bonus engine against DynamoDB (moto), through the functions' handlers: the award on
//! a first deposit (once, however often its event arrives), wagering to release, forfeit,
//! expiry, and the events each change writes to the outbox.

use edge::Clock;
use lambda_http::http::Method;
use ledger::clock::DAY_MS;
use ledger::Timestamp;
use stakeline_tests::*;

/// The wallet's version: a bonus that ends is named by the version its change wrote.
async fn account_version(state: &edge::State, player: &str) -> u64 {
    account(state, player).await.expect("account").version
}

/// A player whose first deposit of `amount` has been made; the deposit's outbox event.
async fn first_deposit(state: &edge::State, amount: i64) -> (String, ledger::events::Envelope) {
    let player = new_player(state).await;
    let id = unique("dep");
    assert_eq!(deposit(state, &player, &id, amount).await.0, 201);
    let event = outbox_event(state, &format!("DepositCompleted:{id}"))
        .await
        .expect("the deposit wrote its event");
    (player, event)
}

#[tokio::test]
async fn every_committed_change_writes_its_event_in_the_same_transaction() {
    let state = state().await;
    let (player, deposited) = first_deposit(&state, 5000).await;
    assert_eq!(deposited.source, "stakeline.wallet");
    assert_eq!(deposited.detail["first_deposit"], true);
    assert_eq!(deposited.detail["amount"], 5000);
    assert_eq!(deposited.detail["player_id"], player.as_str());
    assert!(deposited.detail["correlation_id"]
        .as_str()
        .is_some_and(|c| !c.is_empty()));
    assert!(outbox_event(&state, &format!("PlayerRegistered:{player}"))
        .await
        .is_some());
    let bet_id = unique("bet");
    bet(&state, &player, &bet_id, 100).await;
    assert_eq!(
        outbox_event(&state, &format!("BetPlaced:{bet_id}"))
            .await
            .expect("BetPlaced")
            .detail["cash_stake"],
        100
    );
    let settlement_id = unique("stl");
    settle(&state, &player, &bet_id, &win(&settlement_id, 300)).await;
    let settled = outbox_event(&state, &format!("BetSettled:{settlement_id}"))
        .await
        .expect("BetSettled");
    assert_eq!(settled.detail["status"], "won");
    // A refused request commits nothing and has no event.
    let refused = unique("dep");
    let (status, _) =
        read(deposit::handle(&state, deposit_request(&player, &deposit_body(&refused, 0))).await);
    assert_eq!(status, 422);
    assert!(outbox_event(&state, &format!("DepositCompleted:{refused}"))
        .await
        .is_none());
}

#[tokio::test]
async fn a_first_deposit_earns_the_match_bonus_and_a_second_earns_nothing() {
    let state = state().await;
    let awarder = awarder(Clock::System).await;
    let (player, first) = first_deposit(&state, 5000).await;
    let response =
        bonus_award::handle_batch(&awarder, sqs_batch(&[eventbridge_delivery(&first)])).await;
    assert!(response.batch_item_failures.is_empty());
    let account = assert_wallet_consistent(&state, &player).await;
    assert_eq!(
        (account.cash, account.bonus, account.wagering_remaining),
        (5000, 5000, 50_000)
    );
    let awarded = outbox_event(
        &state,
        &format!("BonusAwarded:{player}:first-deposit-match"),
    )
    .await
    .expect("BonusAwarded");
    assert_eq!(awarded.detail["amount"], 5000);
    assert_eq!(
        awarded.detail["correlation_id"], first.detail["correlation_id"],
        "the chain keeps its correlation id"
    );

    let second = unique("dep");
    deposit(&state, &player, &second, 5000).await;
    let event = outbox_event(&state, &format!("DepositCompleted:{second}"))
        .await
        .unwrap();
    assert_eq!(event.detail["first_deposit"], false);
    bonus_award::handle_batch(&awarder, sqs_batch(&[eventbridge_delivery(&event)])).await;
    assert_eq!(
        assert_wallet_consistent(&state, &player).await.bonus,
        5000,
        "a second deposit earns nothing"
    );
    assert_audit_clean(&state, &[&player]).await;
}

#[tokio::test]
async fn the_bonus_is_capped() {
    let state = state().await;
    let awarder = awarder(Clock::System).await;
    let (player, first) = first_deposit(&state, 50_000).await;
    bonus_award::handle_batch(&awarder, sqs_batch(&[eventbridge_delivery(&first)])).await;
    assert_eq!(
        assert_wallet_consistent(&state, &player).await.bonus,
        10_000
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_deposit_event_delivered_three_times_awards_one_bonus() {
    let state = state().await;
    let (player, first) = first_deposit(&state, 2000).await;
    let delivery = eventbridge_delivery(&first);
    // Twice in one batch, and once more concurrently in another.
    let awarder = std::sync::Arc::new(awarder(Clock::System).await);
    let (a, b) = {
        let (one, two) = (awarder.clone(), awarder.clone());
        let (d1, d2) = (delivery.clone(), delivery.clone());
        tokio::join!(
            tokio::spawn(async move {
                bonus_award::handle_batch(&one, sqs_batch(&[d1.clone(), d1])).await
            }),
            tokio::spawn(async move { bonus_award::handle_batch(&two, sqs_batch(&[d2])).await })
        )
    };
    assert!(a.unwrap().batch_item_failures.is_empty() && b.unwrap().batch_item_failures.is_empty());
    let account = assert_wallet_consistent(&state, &player).await;
    assert_eq!(account.bonus, 2000, "one bonus");
    let awards = all_entries(&state, &player)
        .await
        .iter()
        .filter(|e| e.kind == ledger::EntryKind::BonusAward)
        .count();
    assert_eq!(awards, 1);
    assert_audit_clean(&state, &[&player]).await;
}

#[tokio::test]
async fn a_poison_message_fails_alone() {
    let state = state().await;
    let awarder = awarder(Clock::System).await;
    let (player, first) = first_deposit(&state, 1000).await;
    let batch = sqs_batch(&[
        "not json".into(),
        eventbridge_delivery(&first),
        r#"{"detail-type":"DepositCompleted","detail":{"x":1}}"#.into(),
    ]);
    let response = bonus_award::handle_batch(&awarder, batch).await;
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(failed, ["m0", "m2"]);
    assert_eq!(assert_wallet_consistent(&state, &player).await.bonus, 1000);
}

#[tokio::test]
async fn wagering_the_bonus_releases_it_to_cash_in_one_entry() {
    let state = state().await;
    let awarder = awarder(Clock::System).await;
    let (player, first) = first_deposit(&state, 1000).await;
    bonus_award::handle_batch(&awarder, sqs_batch(&[eventbridge_delivery(&first)])).await;
    // 1,000 bonus × 10 = 10,000 to wager, at most 500 a stake.
    let (status, problem) = bet(&state, &player, &unique("bet"), 501).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("STAKE_LIMIT_EXCEEDED"))
    );
    for round in 0..20 {
        let bet_id = unique("bet");
        let (status, body) = bet(&state, &player, &bet_id, 500).await;
        assert_eq!(status, 201, "round {round}: {body}");
        // A stake counts when its bet closes: win the stake back (in the proportions it
        // was drawn) 19 times, then lose the last one.
        let amount = if round < 19 { 500 } else { 0 };
        let (status, _) = settle(&state, &player, &bet_id, &win(&unique("stl"), amount)).await;
        assert_eq!(status, 201);
    }
    let account = assert_wallet_consistent(&state, &player).await;
    assert_eq!(
        (
            account.wagering_remaining,
            account.bonus,
            account.active_bonus.is_none()
        ),
        (0, 0, true)
    );
    assert_eq!(
        account.cash, 1500,
        "the last stake took 500; the rest of the bonus became cash"
    );
    let releases: Vec<_> = all_entries(&state, &player)
        .await
        .into_iter()
        .filter(|e| e.kind == ledger::EntryKind::BonusRelease)
        .collect();
    assert_eq!(releases.len(), 1);
    assert!(outbox_event(
        &state,
        &format!(
            "BonusReleased:{player}:first-deposit-match:{}",
            account.version
        )
    )
    .await
    .is_some());
    assert_eq!(
        bet(&state, &player, &unique("bet"), 1000).await.0,
        201,
        "no maximum stake once released"
    );
    assert_audit_clean(&state, &[&player]).await;
}

#[tokio::test]
async fn a_player_forfeits_the_bonus_and_keeps_cash() {
    let state = state().await;
    let awarder = awarder(Clock::System).await;
    let (player, first) = first_deposit(&state, 1000).await;
    bonus_award::handle_batch(&awarder, sqs_batch(&[eventbridge_delivery(&first)])).await;
    let path = format!("/players/{player}/bonus/forfeit");
    let request = player_request(Method::POST, &path, Some(&player), &[], "", Some(&player));
    let (status, body) = read(register::handle(&state, request).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["forfeited"]["amount"], 1000);
    assert_eq!(
        (
            body["wallet"]["cash"].as_i64(),
            body["wallet"]["bonus"].as_i64()
        ),
        (Some(1000), Some(0))
    );
    let event = outbox_event(
        &state,
        &format!(
            "BonusForfeited:{player}:first-deposit-match:{}",
            account_version(&state, &player).await
        ),
    )
    .await
    .expect("BonusForfeited");
    assert_eq!(event.detail["reason"], "player_request");
    let again = player_request(Method::POST, &path, Some(&player), &[], "{}", Some(&player));
    let (status, body) = read(register::handle(&state, again).await);
    assert_eq!(
        (status, body["forfeited"].is_null()),
        (200, true),
        "nothing left to forfeit"
    );
    let bad = player_request(
        Method::POST,
        &path,
        Some(&player),
        &[],
        r#"{"all":true}"#,
        Some(&player),
    );
    assert_eq!(read(register::handle(&state, bad).await).0, 422);
    assert_audit_clean(&state, &[&player]).await;
}

#[tokio::test]
async fn an_expired_bonus_is_forfeited_on_the_next_bet() {
    let t0 = Timestamp::now();
    let state = state_at(Clock::Fixed(t0)).await;
    let awarder = awarder(Clock::Fixed(t0)).await;
    let (player, first) = first_deposit(&state, 1000).await;
    bonus_award::handle_batch(&awarder, sqs_batch(&[eventbridge_delivery(&first)])).await;
    let later = state_at(Clock::Fixed(t0.plus_millis(30 * DAY_MS + 1))).await;
    let (status, body) = bet(&later, &player, &unique("bet"), 600).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        (body["cash_stake"].as_i64(), body["bonus_stake"].as_i64()),
        (Some(600), Some(0)),
        "no expired bonus is staked"
    );
    assert_eq!(
        (
            body["wallet"]["bonus"].as_i64(),
            body["wallet"]["wagering_remaining"].as_i64()
        ),
        (Some(0), Some(0))
    );
    let event = outbox_event(
        &later,
        &format!(
            "BonusForfeited:{player}:first-deposit-match:{}",
            account_version(&later, &player).await
        ),
    )
    .await
    .expect("BonusForfeited");
    assert_eq!(event.detail["reason"], "expired");
    assert_audit_clean(&later, &[&player]).await;
}

#[tokio::test]
async fn unattributed_bonus_money_can_be_forfeited_more_than_once() {
    let state = state().await;
    let player = funded_player(&state, 1000).await;
    let path = format!("/players/{player}/bonus/forfeit");
    for round in 0..2 {
        give_bonus(&state, &player, 300, 0, None).await;
        let request = player_request(Method::POST, &path, Some(&player), &[], "", Some(&player));
        let (status, body) = read(register::handle(&state, request).await);
        assert_eq!(status, 200, "round {round}: {body}");
        assert_eq!(body["forfeited"]["campaign_id"], "unattributed");
        assert_eq!(body["forfeited"]["amount"], 300);
    }
    assert_audit_clean(&state, &[&player]).await;
}

/// Forfeit on next touch covers every money operation: a deposit, and a settlement even when
/// it moves no money, forfeit an expired bonus first, in their own transaction.
#[tokio::test]
async fn an_expired_bonus_is_forfeited_by_the_next_deposit_or_settlement() {
    let t0 = Timestamp::now();
    let state = state_at(Clock::Fixed(t0)).await;
    let awarder = awarder(Clock::Fixed(t0)).await;
    let (depositor, first) = first_deposit(&state, 1000).await;
    bonus_award::handle_batch(&awarder, sqs_batch(&[eventbridge_delivery(&first)])).await;
    let (settler, first) = first_deposit(&state, 1000).await;
    bonus_award::handle_batch(&awarder, sqs_batch(&[eventbridge_delivery(&first)])).await;
    let open_bet = unique("bet");
    assert_eq!(bet(&state, &settler, &open_bet, 200).await.0, 201);

    let later = state_at(Clock::Fixed(t0.plus_millis(31 * DAY_MS))).await;
    let (status, body) = deposit(&later, &depositor, &unique("dep"), 100).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        (
            body["wallet"]["cash"].as_i64(),
            body["wallet"]["bonus"].as_i64()
        ),
        (Some(1100), Some(0))
    );
    let event = outbox_event(
        &later,
        &format!(
            "BonusForfeited:{depositor}:first-deposit-match:{}",
            account_version(&later, &depositor).await
        ),
    )
    .await;
    assert_eq!(event.expect("BonusForfeited").detail["reason"], "expired");

    let (status, body) = settle(&later, &settler, &open_bet, &win(&unique("stl"), 0)).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        (
            body["wallet"]["bonus"].as_i64(),
            body["wallet"]["wagering_remaining"].as_i64()
        ),
        (Some(0), Some(0))
    );
    assert_audit_clean(&later, &[&depositor, &settler]).await;
}

#[tokio::test]
async fn rolled_back_bets_never_count_toward_wagering() {
    let state = state().await;
    let awarder = awarder(Clock::System).await;
    let (player, first) = first_deposit(&state, 1000).await;
    bonus_award::handle_batch(&awarder, sqs_batch(&[eventbridge_delivery(&first)])).await;
    assert_eq!(
        account(&state, &player)
            .await
            .expect("account")
            .wagering_remaining,
        10_000
    );
    // 200 stakes of 500, each rolled back: 100,000 staked at no risk, ten times the
    // requirement. None of it counts.
    for _ in 0..200 {
        let bet_id = unique("bet");
        assert_eq!(bet(&state, &player, &bet_id, 500).await.0, 201);
        let (status, body) = settle(&state, &player, &bet_id, &rollback(&unique("stl"))).await;
        assert_eq!(
            (status, body["status"].as_str()),
            (201, Some("rolled_back"))
        );
    }
    let account = assert_wallet_consistent(&state, &player).await;
    assert_eq!(
        (account.cash, account.bonus, account.wagering_remaining),
        (1000, 1000, 10_000),
        "nothing was released"
    );
    assert!(account.active_bonus.is_some());
    // An open bet does not count either; it counts once it closes as lost.
    let open = unique("bet");
    assert_eq!(bet(&state, &player, &open, 500).await.0, 201);
    assert_eq!(
        assert_wallet_consistent(&state, &player)
            .await
            .wagering_remaining,
        10_000
    );
    assert_eq!(
        settle(&state, &player, &open, &win(&unique("stl"), 0))
            .await
            .0,
        201
    );
    assert_eq!(
        assert_wallet_consistent(&state, &player)
            .await
            .wagering_remaining,
        9_500
    );
    assert_audit_clean(&state, &[&player]).await;
}

#[tokio::test]
async fn excluded_or_disabled_players_get_no_bonus_now_or_later() {
    let state = state().await;
    let now = awarder(Clock::System).await;
    let (player, first) = first_deposit(&state, 1000).await;
    // The player takes a time-out before the first deposit's event is delivered.
    let (status, _) = exclude(&state, &player, r#"{"kind":"time_out","days":1}"#).await;
    assert_eq!(status, 201);
    let delivery = eventbridge_delivery(&first);
    let response =
        bonus_award::handle_batch(&now, sqs_batch(std::slice::from_ref(&delivery))).await;
    assert!(response.batch_item_failures.is_empty());
    let after = assert_wallet_consistent(&state, &player).await;
    assert_eq!((after.bonus, after.active_bonus.is_none()), (0, true));
    // The trigger is consumed: once the time-out is over, a redelivery gives nothing.
    let later = awarder(Clock::Fixed(Timestamp::now().plus_millis(2 * DAY_MS))).await;
    bonus_award::handle_batch(&later, sqs_batch(&[delivery])).await;
    assert_eq!(assert_wallet_consistent(&state, &player).await.bonus, 0);
    let consumed = grant(&state, &player, "first-deposit-match").await;
    assert_eq!(consumed["amount"], 0);
    assert_eq!(consumed["declined"], "the player is excluded");

    // A disabled player (the operator's fraud lock) is declined the same way.
    let (locked, first) = first_deposit(&state, 1000).await;
    disable(&state, &locked).await;
    bonus_award::handle_batch(&now, sqs_batch(&[eventbridge_delivery(&first)])).await;
    assert_eq!(assert_wallet_consistent(&state, &locked).await.bonus, 0);
    assert_eq!(
        grant(&state, &locked, "first-deposit-match").await["declined"],
        "the player is disabled"
    );
    assert_audit_clean(&state, &[&player, &locked]).await;
}

#[tokio::test]
async fn a_forged_first_deposit_event_earns_nothing() {
    let state = state().await;
    let awarder = awarder(Clock::System).await;
    let (player, real) = first_deposit(&state, 1000).await;
    // The same event, with a larger amount, and one naming a deposit that never happened.
    let mut inflated = real.clone();
    inflated.detail["amount"] = serde_json::json!(10_000);
    let mut invented = real.clone();
    invented.detail["deposit_id"] = serde_json::json!(unique("dep"));
    let other = new_player(&state).await;
    let mut elsewhere = real.clone();
    elsewhere.detail["player_id"] = serde_json::json!(other);
    let batch = sqs_batch(&[
        eventbridge_delivery(&inflated),
        eventbridge_delivery(&invented),
        eventbridge_delivery(&elsewhere),
    ]);
    let failed = failed_ids(&bonus_award::handle_batch(&awarder, batch).await);
    assert_eq!(
        failed,
        ["m0", "m1", "m2"],
        "each ends in the dead-letter queue"
    );
    assert_eq!(assert_wallet_consistent(&state, &player).await.bonus, 0);
    assert_eq!(assert_wallet_consistent(&state, &other).await.bonus, 0);
    // The genuine event still earns its bonus.
    bonus_award::handle_batch(&awarder, sqs_batch(&[eventbridge_delivery(&real)])).await;
    assert_eq!(assert_wallet_consistent(&state, &player).await.bonus, 1000);
}
