//! Settlements from the SQS queue, through the `settle-queue` handler: one bad or
//! conflicting message is reported alone and neither blocks nor repeats the others.

use lambda_http::aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use serde_json::json;
use stakeline_tests::*;

fn message(id: &str, body: String) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id.to_string());
    m.receipt_handle = Some(format!("handle-{id}"));
    m.body = Some(body);
    m.event_source = Some("aws:sqs".into());
    m
}

fn batch(messages: Vec<SqsMessage>) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages;
    event
}

fn failures(
    response: &lambda_http::aws_lambda_events::event::sqs::SqsBatchResponse,
) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

#[tokio::test]
async fn a_poison_message_in_the_middle_fails_alone() {
    let state = state().await;
    let player = funded_player(&state, 1000).await;
    let (won, rolled, closed) = (unique("bet"), unique("bet"), unique("bet"));
    for id in [&won, &rolled, &closed] {
        assert_eq!(bet(&state, &player, id, 100).await.0, 201);
    }
    settle(&state, &player, &closed, &win(&unique("stl"), 0)).await;
    let win_id = unique("stl");
    let queued = |bet_id: &str, settlement: serde_json::Value| {
        let mut body = settlement;
        body["player_id"] = json!(player);
        body["bet_id"] = json!(bet_id);
        body.to_string()
    };
    let event = batch(vec![
        message("m1", queued(&won, win(&win_id, 500))),
        message("m2", "{this is not json".into()),
        message("m3", queued(&rolled, rollback(&unique("stl")))),
        message("m4", queued(&closed, win(&unique("stl"), 900))),
        message("m5", queued(&won, win(&win_id, 500))),
        message("m6", json!({"player_id": player, "bet_id": won, "settlement_id": "x", "kind": "win", "amount": 1, "extra": 1}).to_string()),
    ]);
    let response = settle::handle_batch(&state, event.clone()).await;
    assert_eq!(
        failures(&response),
        ["m2", "m4", "m6"],
        "the poison, the conflicting and the malformed message"
    );
    let account = assert_wallet_consistent(&state, &player).await;
    assert_eq!(account.cash, 1000 - 300 + 500 + 100);

    // The queue redelivers the batch (or parts of it): nothing moves twice.
    let again = settle::handle_batch(&state, event).await;
    assert_eq!(failures(&again), ["m2", "m4", "m6"]);
    assert_eq!(
        assert_wallet_consistent(&state, &player).await.cash,
        account.cash
    );
    assert_audit_clean(&state, &[&player]).await;
}

#[tokio::test]
async fn unknown_players_and_bets_fail_their_message_only() {
    let state = state().await;
    let player = funded_player(&state, 1000).await;
    let id = unique("bet");
    bet(&state, &player, &id, 100).await;
    let event = batch(vec![
        message("ghost", json!({"player_id": unique("ghost"), "bet_id": id, "settlement_id": unique("stl"), "kind": "win", "amount": 5}).to_string()),
        message("early-win", json!({"player_id": player, "bet_id": unique("bet"), "settlement_id": unique("stl"), "kind": "win", "amount": 5}).to_string()),
        message("ok", json!({"player_id": player, "bet_id": id, "settlement_id": unique("stl"), "kind": "win", "amount": 5}).to_string()),
    ]);
    let response = settle::handle_batch(&state, event).await;
    assert_eq!(failures(&response), ["ghost", "early-win"]);
    assert_eq!(assert_wallet_consistent(&state, &player).await.cash, 905);
}
