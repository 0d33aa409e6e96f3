//! Settlements from the SQS queue, through the `settle-queue` handler: one bad, forged or
//! conflicting message is reported alone and neither blocks nor repeats the others.

use lambda_http::aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use lambda_http::RequestExt;
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

/// The messages, each signed by the aggregator now.
fn batch(messages: Vec<SqsMessage>) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages;
    for message in &mut event.records {
        sign_queue_message(
            message,
            AGGREGATOR_SECRET,
            ledger::Timestamp::now().seconds(),
        );
    }
    event
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
        failed_ids(&response),
        ["m2", "m4", "m6"],
        "the poison, the conflicting and the malformed message"
    );
    let account = assert_wallet_consistent(&state, &player).await;
    assert_eq!(account.cash, 1000 - 300 + 500 + 100);

    // The queue redelivers the batch (or parts of it): nothing moves twice.
    let again = settle::handle_batch(&state, event).await;
    assert_eq!(failed_ids(&again), ["m2", "m4", "m6"]);
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
    assert_eq!(failed_ids(&response), ["ghost", "early-win"]);
    assert_eq!(assert_wallet_consistent(&state, &player).await.cash, 905);
}

#[tokio::test]
async fn forged_or_unsigned_messages_move_nothing() {
    let state = state().await;
    let player = funded_player(&state, 1000).await;
    let id = unique("bet");
    assert_eq!(bet(&state, &player, &id, 100).await.0, 201);
    let body = |settlement_id: &str| {
        json!({"player_id": player, "bet_id": id, "settlement_id": settlement_id, "kind": "win", "amount": 1_000_000_000_000i64}).to_string()
    };
    let now = ledger::Timestamp::now().seconds();
    let unsigned = message("unsigned", body(&unique("stl")));
    let mut wrong_secret = message("provider-secret", body(&unique("stl")));
    sign_queue_message(&mut wrong_secret, PROVIDER_SECRET, now);
    let mut tampered = message("tampered", body(&unique("stl")));
    sign_queue_message(&mut tampered, AGGREGATOR_SECRET, now);
    tampered.body = Some(body(&unique("stl")));
    let mut from_the_future = message("future", body(&unique("stl")));
    sign_queue_message(&mut from_the_future, AGGREGATOR_SECRET, now + 3600);
    let mut event = SqsEvent::default();
    event.records = vec![unsigned, wrong_secret, tampered, from_the_future];
    let response = settle::handle_batch(&state, event).await;
    assert_eq!(
        failed_ids(&response),
        ["unsigned", "provider-secret", "tampered", "future"]
    );
    let account = assert_wallet_consistent(&state, &player).await;
    assert_eq!(account.cash, 900, "no forged win was credited");
    let (_, open) = read(
        wallet_read::handle(
            &state,
            player_request(
                lambda_http::http::Method::GET,
                &format!("/players/{player}/bets/{id}"),
                Some(&player),
                &[],
                "",
                Some(&player),
            )
            .with_path_parameters(std::collections::HashMap::from([
                ("player_id".to_string(), player.clone()),
                ("bet_id".to_string(), id.clone()),
            ])),
        )
        .await,
    );
    assert_eq!(open["status"], "open", "{open}");
}
