//! The sample events in `events/` are real Lambda payloads (API Gateway HTTP API v2, SQS,
//! DynamoDB stream): replaying them through the handlers, in the order a player's life would
//! produce them, must work. Signed events were signed at a fixed time, so the functions run
//! on a clock set then.

use edge::Clock;
use ledger::Timestamp;
use stakeline_tests::*;

/// The time the signed sample events were signed at.
const SIGNED_AT: Timestamp = Timestamp::from_millis(1_795_392_000_000);

fn event(path: &str) -> lambda_http::Request {
    let text = std::fs::read_to_string(workspace_root().join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    lambda_http::request::from_str(&text)
        .unwrap_or_else(|e| panic!("{path} is not an API Gateway event: {e}"))
}

fn payload<T: serde::de::DeserializeOwned>(path: &str) -> T {
    let text = std::fs::read_to_string(workspace_root().join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[tokio::test]
async fn every_sample_event_replays() {
    let state = state_at(Clock::Fixed(SIGNED_AT.plus_millis(1_000))).await;

    let (status, player) =
        read(register::handle(&state, event("events/register/register.json")).await);
    assert_eq!(status, 201, "{player}");
    let player_id = player["player_id"].as_str().unwrap().to_string();

    let (status, deposit) =
        read(deposit::handle(&state, event("events/deposit/deposit.json")).await);
    assert_eq!(status, 201, "{deposit}");
    assert_eq!(deposit["first_deposit"], true);
    let (status, replay) =
        read(deposit::handle(&state, event("events/deposit/deposit.json")).await);
    assert_eq!(status, 200, "the same event again is a replay: {replay}");

    let (status, limits) =
        read(register::handle(&state, event("events/register/limits.json")).await);
    assert_eq!(status, 200, "{limits}");
    let (status, wallet) =
        read(wallet_read::handle(&state, event("events/wallet-read/wallet.json")).await);
    assert_eq!(status, 200, "{wallet}");
    assert_eq!(wallet["cash"], deposit["amount"]);
    let (status, page) =
        read(wallet_read::handle(&state, event("events/wallet-read/transactions.json")).await);
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1));

    // The aggregator's samples: a bet, its win, a read of it, and a rollback that comes too late.
    let (status, placed) =
        read(place_bet::handle(&state, event("events/place-bet/bet.json")).await);
    assert_eq!(status, 201, "{placed}");
    let (status, won) = read(settle::handle(&state, event("events/settle/win.json")).await);
    assert_eq!(
        (status, &won["status"]),
        (201, &serde_json::json!("won")),
        "{won}"
    );
    let (status, bet) =
        read(wallet_read::handle(&state, event("events/wallet-read/bet.json")).await);
    assert_eq!(
        (status, &bet["status"]),
        (200, &serde_json::json!("won")),
        "{bet}"
    );
    let (status, late) = read(settle::handle(&state, event("events/settle/rollback.json")).await);
    assert_eq!(
        (status, late["code"].as_str()),
        (409, Some("BET_ALREADY_SETTLED")),
        "{late}"
    );

    // The settlement queue's sample batch settles two more bets around a poison message.
    for bet_id in ["bet-20261123-000002", "bet-20261123-000004"] {
        assert_eq!(
            stakeline_tests::bet(&state, &player_id, bet_id, 100)
                .await
                .0,
            201
        );
    }
    let batch: lambda_http::aws_lambda_events::event::sqs::SqsEvent =
        payload("events/settle-queue/batch.json");
    let poison = batch.records[1].message_id.clone().expect("message id");
    let failed: Vec<String> = settle::handle_batch(&state, batch)
        .await
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect();
    assert_eq!(failed, [poison], "only the poison message fails");

    // The event-driven samples: the publisher's stream batch, then the bonus queue's
    // EventBridge delivery of the sample first deposit.
    let stream: lambda_http::aws_lambda_events::event::dynamodb::Event =
        payload("events/publisher/stream.json");
    let aws = aws_at(&emulator().endpoint).await;
    let publisher = publisher::Publisher::new(
        aws_sdk_eventbridge::Client::new(&aws),
        output("EventBusName"),
    );
    assert!(publisher::handle(&publisher, stream)
        .await
        .batch_item_failures
        .is_empty());
    let delivery: lambda_http::aws_lambda_events::event::sqs::SqsEvent =
        payload("events/bonus-award/deposit-completed.json");
    let awarder = awarder(Clock::Fixed(SIGNED_AT.plus_millis(2_000))).await;
    assert!(bonus_award::handle_batch(&awarder, delivery)
        .await
        .batch_item_failures
        .is_empty());
    assert_eq!(
        assert_wallet_consistent(&state, &player_id).await.bonus,
        5000,
        "the sample first deposit earned its match"
    );

    let (status, forfeit) =
        read(register::handle(&state, event("events/register/bonus-forfeit.json")).await);
    assert_eq!(
        (status, &forfeit["forfeited"]["amount"]),
        (200, &serde_json::json!(5000)),
        "{forfeit}"
    );
    let (status, exclusion) =
        read(register::handle(&state, event("events/register/exclusion.json")).await);
    assert_eq!(status, 201, "{exclusion}");

    assert_audit_clean(&state, &[&player_id]).await;
}

#[tokio::test]
async fn a_signed_event_expires_after_five_minutes() {
    let state = state_at(Clock::Fixed(SIGNED_AT.plus_millis(301_000))).await;
    let (status, problem) =
        read(deposit::handle(&state, event("events/deposit/deposit.json")).await);
    assert_eq!(
        (status, problem["code"].as_str()),
        (401, Some("UNAUTHENTICATED"))
    );
}
