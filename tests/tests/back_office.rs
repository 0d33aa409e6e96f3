//! The back office's reads and tools (openapi.yaml, operator routes beyond the contract):
//! a player found by email, the player's ledger, bets and withdrawals paged newest first,
//! and the dead-letter queues with their redrive, recorded with who asked and why.

use lambda_http::http::Method;
use serde_json::{json, Value};
use stakeline_tests::*;

async fn ops_get(
    state: &edge::State,
    path: &str,
    params: &[(&str, &str)],
    query: &[(&str, &str)],
) -> (u16, Value) {
    let request = ops_request(Method::GET, path, params, query, "", "staff-9");
    read(ops::handle(&ops_of(state).await, request).await)
}

async fn ops_post(
    state: &edge::State,
    path: &str,
    params: &[(&str, &str)],
    body: &str,
) -> (u16, Value) {
    let request = ops_request(Method::POST, path, params, &[], body, "staff-9");
    read(ops::handle(&ops_of(state).await, request).await)
}

/// `POST /ops/queues/{queue}/redrive` with `reason`: it answers 200 with what moved and what
/// stayed, which must be (`moved`, `left`).
async fn redrive_expecting(
    state: &edge::State,
    queue: &str,
    reason: &str,
    moved: u64,
    left: u64,
) -> Value {
    let path = format!("/ops/queues/{queue}/redrive");
    let (status, done) = ops_post(
        state,
        &path,
        &[("queue", queue)],
        &json!({"reason": reason}).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(
        (done["moved"].as_u64(), done["left"].as_u64()),
        (Some(moved), Some(left)),
        "{done}"
    );
    done
}

/// Every item of a player's paged list `what`, walking pages of `limit`.
async fn walk(state: &edge::State, player: &str, what: &str, limit: &str) -> Vec<Value> {
    let path = format!("/ops/players/{player}/{what}");
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let mut query = vec![("limit", limit)];
        if let Some(c) = cursor.as_deref() {
            query.push(("cursor", c));
        }
        let (status, page) = ops_get(state, &path, &[("player_id", player)], &query).await;
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().cloned().unwrap_or_default();
        assert!(items.len() <= limit.parse::<usize>().unwrap_or(0), "{page}");
        all.extend(items);
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return all,
        }
    }
    panic!("the pages never ended");
}

#[tokio::test]
async fn a_player_is_found_by_email_whatever_its_case() {
    let state = state().await;
    let player = new_player(&state).await;
    let email = format!("{player}@example.com");
    for asked in [email.clone(), email.to_uppercase()] {
        let (status, found) = ops_get(&state, "/ops/players", &[], &[("email", &asked)]).await;
        assert_eq!(status, 200, "{found}");
        let items = found["items"].as_array().cloned().unwrap_or_default();
        assert_eq!(items.len(), 1, "{found}");
        assert_eq!(items[0]["player_id"], player.as_str());
        assert_eq!(items[0]["email"], email.as_str());
    }
    let (status, none) = ops_get(
        &state,
        "/ops/players",
        &[],
        &[("email", "nobody-here@example.com")],
    )
    .await;
    assert_eq!(
        (status, none["items"].as_array().map(Vec::len)),
        (200, Some(0)),
        "{none}"
    );
    for query in [
        vec![],
        vec![("email", "  ")],
        vec![("email", "a@b.c"), ("player", "x")],
    ] {
        let (status, refused) = ops_get(&state, "/ops/players", &[], &query).await;
        assert_eq!(
            (status, refused["code"].as_str()),
            (422, Some("VALIDATION_FAILED")),
            "{query:?}"
        );
    }
}

#[tokio::test]
async fn a_players_ledger_bets_and_withdrawals_page_newest_first() {
    // Every withdrawal goes to review.
    let state = state_with_rules(r#"{"large_amount":{"EUR":1}}"#).await;
    let player = funded_player(&state, 10_000).await;
    let bets: Vec<String> = (0..5).map(|n| unique(&format!("bet{n}"))).collect();
    for bet_id in &bets {
        let (status, answer) = bet(&state, &player, bet_id, 100).await;
        assert_eq!(status, 201, "{answer}");
    }
    let (status, answer) = settle(&state, &player, &bets[1], &win(&unique("set"), 250)).await;
    assert_eq!(status, 201, "{answer}");
    let withdrawal = unique("wd");
    let (status, answer) = request_withdrawal(
        &state,
        &player,
        &withdrawal_body(&withdrawal, 300, &unique("iban")),
    )
    .await;
    assert_eq!(status, 201, "{answer}");

    // The ledger: every entry once, newest first, each running balance following the last.
    let entries = walk(&state, &player, "transactions", "2").await;
    let recorded = all_entries(&state, &player).await;
    assert_eq!(entries.len(), recorded.len());
    for pair in entries.windows(2) {
        let (newer, older) = (&pair[0], &pair[1]);
        let cash_moved = newer["cash_amount"].as_i64().unwrap_or(0);
        assert_eq!(
            newer["cash_after"].as_i64().unwrap_or(0) - cash_moved,
            older["cash_after"].as_i64().unwrap_or(0),
            "{newer} after {older}"
        );
    }
    let wallet = assert_wallet_consistent(&state, &player).await;
    assert_eq!(entries[0]["cash_after"].as_i64(), Some(wallet.cash));

    // The bets: all five, newest first, the settled one won.
    let listed = walk(&state, &player, "bets", "2").await;
    let ids: Vec<&str> = listed.iter().filter_map(|b| b["bet_id"].as_str()).collect();
    let newest_first: Vec<&str> = bets.iter().rev().map(String::as_str).collect();
    assert_eq!(ids, newest_first);
    assert_eq!(listed[3]["status"], "won", "{}", listed[3]);
    assert!(listed.iter().all(|b| b["player_id"] == player.as_str()));

    // The withdrawals, whatever their status.
    let withdrawals = walk(&state, &player, "withdrawals", "1").await;
    assert_eq!(withdrawals.len(), 1);
    assert_eq!(withdrawals[0]["withdrawal_id"], withdrawal.as_str());
    assert_eq!(withdrawals[0]["player_id"], player.as_str());
    assert_eq!(withdrawals[0]["status"], "pending_review");

    // Nobody: 404, never an empty page; bad paging: 422.
    for what in ["transactions", "bets", "withdrawals"] {
        let path = format!("/ops/players/nobody-{what}/{what}");
        let (status, answer) = ops_get(&state, &path, &[("player_id", "nobody-x")], &[]).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (404, Some("PLAYER_NOT_FOUND")),
            "{answer}"
        );
        let path = format!("/ops/players/{player}/{what}");
        for query in [
            vec![("limit", "0")],
            vec![("cursor", "not-a-cursor")],
            vec![("after", "1")],
        ] {
            let (status, answer) = ops_get(&state, &path, &[("player_id", &player)], &query).await;
            assert_eq!(
                (status, answer["code"].as_str()),
                (422, Some("VALIDATION_FAILED")),
                "{what} {query:?}"
            );
        }
    }
    assert_audit_clean(&state, &[&player]).await;
}

async fn sqs() -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&aws_at(&emulator().endpoint).await)
}

async fn depth(state: &edge::State, queue: &str) -> (u64, u64) {
    let (status, queues) = ops_get(state, "/ops/queues", &[], &[]).await;
    assert_eq!(status, 200, "{queues}");
    let item = queues["items"]
        .as_array()
        .and_then(|items| items.iter().find(|q| q["queue"] == queue).cloned())
        .unwrap_or_else(|| panic!("{queue} missing from {queues}"));
    (
        item["depth"].as_u64().unwrap_or(99),
        item["in_flight"].as_u64().unwrap_or(99),
    )
}

#[tokio::test]
async fn dead_letter_events_go_back_through_the_bus_once_and_the_redrive_is_recorded() {
    let state = state().await;
    let (status, queues) = ops_get(&state, "/ops/queues", &[], &[]).await;
    assert_eq!(status, 200, "{queues}");
    let listed: Vec<(String, bool)> = queues["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|q| {
            (
                q["queue"].as_str().unwrap_or("").to_string(),
                q["redrivable"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    assert_eq!(listed.len(), 6, "{queues}");
    assert!(listed.iter().all(|(_, redrivable)| *redrivable), "{queues}");
    let names: Vec<&str> = listed.iter().map(|(name, _)| name.as_str()).collect();
    for known in ops::queues::KNOWN {
        assert!(names.contains(&known.name), "{queues}");
    }

    // One approved withdrawal's event and one message that is no event, dead-lettered.
    let withdrawal = unique("wd");
    let event = json!({
        "version": "0", "id": unique("ev"), "detail-type": "WithdrawalApproved",
        "source": "stakeline.wallet", "account": "123456789012", "time": "2026-11-23T09:12:01Z",
        "region": emulator().region, "resources": [],
        "detail": {"event_id": format!("WithdrawalApproved:{withdrawal}"), "withdrawal_id": withdrawal,
                   "player_id": "p-1", "amount": 2000, "currency": "EUR"}
    });
    let sqs = sqs().await;
    let dead = resource("PayoutDeadLetterQueue");
    for body in [event.to_string(), "not an event".to_string()] {
        sqs.send_message()
            .queue_url(&dead)
            .message_body(body)
            .send()
            .await
            .expect("send");
    }
    assert_eq!(depth(&state, "PayoutDeadLetterQueue").await, (2, 0));

    // Refusals move nothing.
    let redrive = |queue: &'static str| format!("/ops/queues/{queue}/redrive");
    for (queue, body, code) in [
        ("PayoutDeadLetterQueue", json!({}), "VALIDATION_FAILED"),
        (
            "PayoutDeadLetterQueue",
            json!({"reason": "  "}),
            "VALIDATION_FAILED",
        ),
        (
            "PayoutDeadLetterQueue",
            json!({"reason": "ok", "extra": 1}),
            "VALIDATION_FAILED",
        ),
        ("PayoutQueue", json!({"reason": "retry"}), "QUEUE_NOT_FOUND"),
    ] {
        let (_, answer) = ops_post(
            &state,
            &redrive(queue),
            &[("queue", queue)],
            &body.to_string(),
        )
        .await;
        assert_eq!(
            answer["code"].as_str(),
            Some(code),
            "{queue} {body}: {answer}"
        );
    }
    assert_eq!(depth(&state, "PayoutDeadLetterQueue").await, (2, 0));

    let done = redrive_expecting(&state, "PayoutDeadLetterQueue", "provider back up", 1, 1).await;
    assert_eq!(done["action"]["operator"], "staff-9");
    assert_eq!(done["action"]["reason"], "provider back up");
    // The poison message stays (invisible for a moment, then back for the next look).
    assert_eq!(depth(&state, "PayoutDeadLetterQueue").await, (0, 1));

    // The event reached PayoutQueue through WithdrawalApprovedRule, once, as it was.
    let payout_queue = resource("PayoutQueue");
    let mut delivered = Vec::new();
    loop {
        let out = sqs
            .receive_message()
            .queue_url(&payout_queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive");
        let batch = out.messages.unwrap_or_default();
        if batch.is_empty() {
            break;
        }
        for message in batch {
            let body: Value =
                serde_json::from_str(message.body().unwrap_or("null")).unwrap_or(Value::Null);
            delivered.push(body["detail"].clone());
            sqs.delete_message()
                .queue_url(&payout_queue)
                .receipt_handle(message.receipt_handle().unwrap_or_default())
                .send()
                .await
                .expect("delete");
        }
    }
    assert_eq!(delivered, vec![event["detail"].clone()]);

    // Who asked, when and why: recorded under the queue's own partition.
    let recorded = dynamo()
        .await
        .query()
        .table_name(state.store.table())
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S("QUEUE#PayoutDeadLetterQueue".into()),
        )
        .send()
        .await
        .expect("query");
    let actions = recorded.items.unwrap_or_default();
    assert_eq!(actions.len(), 1);
    let operator = actions[0]
        .get("operator")
        .and_then(|v| v.as_s().ok())
        .cloned();
    assert_eq!(operator.as_deref(), Some("staff-9"));
}

/// Every message of `queue` now, deleted as read.
async fn drain(sqs: &aws_sdk_sqs::Client, queue: &str) -> Vec<aws_sdk_sqs::types::Message> {
    let mut all = Vec::new();
    loop {
        let out = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_attribute_names("All")
            .send()
            .await
            .expect("receive");
        let batch = out.messages.unwrap_or_default();
        if batch.is_empty() {
            return all;
        }
        for message in batch {
            sqs.delete_message()
                .queue_url(queue)
                .receipt_handle(message.receipt_handle().unwrap_or_default())
                .send()
                .await
                .expect("delete");
            all.push(message);
        }
    }
}

#[tokio::test]
async fn dead_lettered_settlements_go_back_signed_and_settle_once() {
    let state = state().await;
    let player = funded_player(&state, 5000).await;
    let bet_id = unique("bet");
    let (status, answer) = bet(&state, &player, &bet_id, 700).await;
    assert_eq!(status, 201, "{answer}");
    let body = json!({"player_id": player, "bet_id": bet_id, "settlement_id": unique("stl"), "kind": "win", "amount": 1500}).to_string();
    let mut signed = lambda_http::aws_lambda_events::event::sqs::SqsMessage::default();
    signed.body = Some(body.clone());
    sign_queue_message(
        &mut signed,
        AGGREGATOR_SECRET,
        ledger::Timestamp::now().seconds(),
    );
    let attributes: std::collections::HashMap<String, aws_sdk_sqs::types::MessageAttributeValue> =
        signed
            .message_attributes
            .iter()
            .map(|(name, value)| {
                let attribute = aws_sdk_sqs::types::MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(value.string_value.clone().unwrap_or_default())
                    .build()
                    .expect("attribute");
                (name.clone(), attribute)
            })
            .collect();
    let sqs = sqs().await;
    sqs.send_message()
        .queue_url(resource("SettlementDeadLetterQueue"))
        .message_body(&body)
        .set_message_attributes(Some(attributes.clone()))
        .send()
        .await
        .expect("dead-letter a settlement");

    redrive_expecting(
        &state,
        "SettlementDeadLetterQueue",
        "aggregator incident resolved",
        1,
        0,
    )
    .await;

    // Back on SettlementQueue as it was: the same body, the same signature.
    let resent = drain(&sqs, &resource("SettlementQueue")).await;
    assert_eq!(resent.len(), 1);
    assert_eq!(resent[0].body(), Some(body.as_str()));
    let carried = resent[0].message_attributes.clone().unwrap_or_default();
    for (name, value) in &attributes {
        assert_eq!(
            carried.get(name).and_then(|v| v.string_value()),
            value.string_value(),
            "{name}"
        );
    }
    // settle-queue takes it as the aggregator's: the bet is won once.
    let mut delivered = signed.clone();
    delivered.message_id = resent[0].message_id().map(str::to_string);
    let mut batch = lambda_http::aws_lambda_events::event::sqs::SqsEvent::default();
    batch.records = vec![delivered.clone(), delivered];
    let response = settle::handle_batch(&state, batch).await;
    assert!(response.batch_item_failures.is_empty());
    let wallet = assert_wallet_consistent(&state, &player).await;
    assert_eq!(wallet.cash, 5000 - 700 + 1500);
    assert_audit_clean(&state, &[&player]).await;
}

#[tokio::test]
async fn a_failed_stream_batch_is_published_again_from_the_stream() {
    let state = state().await;
    let player = new_player(&state).await;
    let deposit_id = unique("dep");
    let (status, answer) = deposit(&state, &player, &deposit_id, 2500).await;
    assert_eq!(status, 201, "{answer}");
    let event_id = format!("DepositCompleted:{deposit_id}");
    let (_, record) = change_record(&event_id)
        .await
        .expect("the deposit's stream record");
    let sequence = record["dynamodb"]["SequenceNumber"]
        .as_str()
        .expect("a sequence")
        .to_string();
    let stream_arn = record["eventSourceARN"]
        .as_str()
        .expect("the stream")
        .to_string();
    let streams = aws_sdk_dynamodbstreams::Client::new(&aws_at(&emulator().endpoint).await);
    let description = streams
        .describe_stream()
        .stream_arn(&stream_arn)
        .send()
        .await
        .expect("describe");
    let shard = description
        .stream_description()
        .and_then(|d| d.shards().first())
        .and_then(|s| s.shard_id())
        .expect("a shard")
        .to_string();
    let failure = |start: &str, end: &str| {
        json!({
            "requestContext": {"requestId": "r-1", "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 186},
            "version": "1.0", "timestamp": "2026-12-07T03:00:00.000Z",
            "DDBStreamBatchInfo": {"shardId": shard, "startSequenceNumber": start, "endSequenceNumber": end,
                                    "batchSize": 1, "streamArn": stream_arn}
        })
        .to_string()
    };
    let sqs = sqs().await;
    drain(&sqs, &resource("BonusQueue")).await;
    for body in [
        failure(&sequence, &sequence),
        "not a failure record".to_string(),
    ] {
        sqs.send_message()
            .queue_url(resource("OutboxFailureQueue"))
            .message_body(body)
            .send()
            .await
            .expect("record a failed batch");
    }
    redrive_expecting(&state, "OutboxFailureQueue", "bus throttling over", 1, 1).await;

    // The first deposit's event reached the bonus queue through the bus, as it was written.
    let delivered: Vec<Value> = drain(&sqs, &resource("BonusQueue"))
        .await
        .iter()
        .filter_map(|m| serde_json::from_str::<Value>(m.body().unwrap_or("null")).ok())
        .collect();
    let ids: Vec<&str> = delivered
        .iter()
        .filter_map(|e| e["detail"]["event_id"].as_str())
        .collect();
    assert_eq!(ids, vec![event_id.as_str()], "{delivered:?}");
    assert_eq!(delivered[0]["detail"]["amount"], 2500);
}
