//! Invariant 6: every committed change produces its event at least once, even if the
//! process dies right after the commit or publishing fails. The events are written in the
//! change's own transaction (on its wallet, or its id record: the outbox); the publisher
//! relays them from the table's stream, and a failed publish is retried by the stream from
//! the failed record on.

use lambda_http::aws_lambda_events::event::dynamodb::Event;
use stakeline_tests::*;

/// The tests that read the bonus queue take turns: each must see only its own messages.
static BONUS_QUEUE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The stream record Lambda hands the publisher for the write that carried an event, as
/// the table's stream holds it (with `sequence` as its sequence number).
async fn stream_event(_state: &edge::State, event_id: &str, sequence: &str) -> Event {
    let (_, mut record) = change_record(event_id)
        .await
        .expect("the event was committed with the change");
    record["dynamodb"]["SequenceNumber"] = serde_json::json!(sequence);
    serde_json::from_value(serde_json::json!({ "Records": [record] }))
        .expect("a DynamoDB stream event")
}

/// Bodies of the bonus queue's messages that carry `event_id` (received and deleted).
async fn delivered(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    event_id: &str,
) -> Vec<serde_json::Value> {
    let out = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(0)
        .send()
        .await
        .expect("receive");
    let mut found = Vec::new();
    for message in out.messages() {
        let body: serde_json::Value =
            serde_json::from_str(message.body().unwrap_or_default()).unwrap_or_default();
        if body["detail"]["event_id"] == event_id {
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(message.receipt_handle().unwrap_or_default())
                .send()
                .await
                .expect("delete");
            found.push(body);
        }
    }
    found
}

#[tokio::test]
async fn a_first_deposit_event_survives_a_failed_publish_and_earns_the_bonus() {
    let _queue = BONUS_QUEUE.lock().await;
    let state = state().await;
    let player = new_player(&state).await;
    let deposit_id = unique("dep");
    assert_eq!(deposit(&state, &player, &deposit_id, 3000).await.0, 201);
    // The request returned; had the process died right here, this is all there would be.
    let event_id = format!("DepositCompleted:{deposit_id}");
    let stream = stream_event(&state, &event_id, "4200").await;

    let aws = aws_at(&emulator().endpoint).await;
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let queue_url = sqs
        .get_queue_url()
        .queue_name(output("BonusQueueName"))
        .send()
        .await
        .expect("queue")
        .queue_url()
        .unwrap_or_default()
        .to_string();

    // EventBridge unreachable: the publisher reports the record, so the stream keeps it.
    let unreachable = aws_at("http://127.0.0.1:9").await;
    let broken = publisher::Publisher::new(
        aws_sdk_eventbridge::Client::new(&unreachable),
        output("EventBusName"),
    );
    let failed = publisher::handle(&broken, stream.clone()).await;
    let reported: Vec<_> = failed
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(reported, [Some("4200".to_string())]);
    assert!(
        delivered(&sqs, &queue_url, &event_id).await.is_empty(),
        "nothing was published"
    );

    // The stream delivers the record again; this time EventBridge answers.
    let healthy = publisher::Publisher::new(
        aws_sdk_eventbridge::Client::new(&aws),
        output("EventBusName"),
    );
    assert!(publisher::handle(&healthy, stream.clone())
        .await
        .batch_item_failures
        .is_empty());
    let arrived = delivered(&sqs, &queue_url, &event_id).await;
    assert_eq!(
        arrived.len(),
        1,
        "the rule routed the first deposit to the bonus queue"
    );
    assert_eq!(arrived[0]["detail-type"], "DepositCompleted");

    // Published twice (a retry after a lost acknowledgement): consumers deduplicate.
    assert!(publisher::handle(&healthy, stream)
        .await
        .batch_item_failures
        .is_empty());
    let again = delivered(&sqs, &queue_url, &event_id).await;
    let awarder = awarder(edge::Clock::System).await;
    let bodies: Vec<String> = arrived
        .iter()
        .chain(again.iter())
        .map(|b| b.to_string())
        .collect();
    assert!(bonus_award::handle_batch(&awarder, sqs_batch(&bodies))
        .await
        .batch_item_failures
        .is_empty());
    let account = assert_wallet_consistent(&state, &player).await;
    assert_eq!((account.cash, account.bonus), (3000, 3000), "one bonus");
    assert_audit_clean(&state, &[&player]).await;
}

#[tokio::test]
async fn records_that_do_not_carry_events_are_skipped() {
    let state = state().await;
    let player = new_player(&state).await;
    let mut event = stream_event(&state, &format!("PlayerRegistered:{player}"), "7").await;
    // A deletion never publishes, whatever its image; nor does a write without the mark.
    event.records[0].event_name = "REMOVE".into();
    let mut unmarked = event.records[0].clone();
    unmarked.event_name = "MODIFY".into();
    unmarked.change.new_image.remove("publish");
    event.records.push(unmarked);
    let broken = publisher::Publisher::new(
        aws_sdk_eventbridge::Client::new(&aws_at("http://127.0.0.1:9").await),
        "bus",
    );
    assert!(
        publisher::handle(&broken, event)
            .await
            .batch_item_failures
            .is_empty(),
        "nothing to publish, nothing to fail"
    );
}

/// The bonus queue as Lambda's event source uses it: a poison message next to a good one.
/// The good one is processed and deleted; the poison one comes back until its receive
/// count passes the queue's limit (5), then the queue moves it to the dead-letter queue.
#[tokio::test]
async fn a_poison_bonus_message_ends_in_the_dead_letter_queue_without_blocking_its_batch() {
    let _queue = BONUS_QUEUE.lock().await;
    let state = state().await;
    let player = new_player(&state).await;
    let deposit_id = unique("dep");
    assert_eq!(deposit(&state, &player, &deposit_id, 700).await.0, 201);
    let good = eventbridge_delivery(
        &outbox_event(&state, &format!("DepositCompleted:{deposit_id}"))
            .await
            .expect("event"),
    );

    let sqs = aws_sdk_sqs::Client::new(&aws_at(&emulator().endpoint).await);
    let url = |name: String| {
        let sqs = sqs.clone();
        async move {
            sqs.get_queue_url()
                .queue_name(name)
                .send()
                .await
                .expect("queue")
                .queue_url()
                .unwrap_or_default()
                .to_string()
        }
    };
    let (queue, dlq) = (
        url(output("BonusQueueName")).await,
        url(output("BonusDeadLetterQueueName")).await,
    );
    // Redeliver at once instead of after the visibility timeout, so the test need not wait.
    sqs.set_queue_attributes()
        .queue_url(&queue)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            "0",
        )
        .send()
        .await
        .expect("visibility");
    let poison = format!("poison-{}", unique("m"));
    for body in [poison.clone(), good] {
        sqs.send_message()
            .queue_url(&queue)
            .message_body(body)
            .send()
            .await
            .expect("send");
    }

    let awarder = awarder(edge::Clock::System).await;
    let mut poison_receives = 0;
    for _ in 0..20 {
        let received = sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .send()
            .await
            .expect("receive");
        if received.messages().is_empty() {
            break;
        }
        let mut batch = lambda_http::aws_lambda_events::event::sqs::SqsEvent::default();
        for m in received.messages() {
            let mut message = lambda_http::aws_lambda_events::event::sqs::SqsMessage::default();
            message.message_id = m.message_id().map(str::to_owned);
            message.body = m.body().map(str::to_owned);
            poison_receives += usize::from(m.body() == Some(poison.as_str()));
            batch.records.push(message);
        }
        let failed: Vec<String> = bonus_award::handle_batch(&awarder, batch)
            .await
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect();
        for m in received.messages() {
            if !failed.iter().any(|id| Some(id.as_str()) == m.message_id()) {
                sqs.delete_message()
                    .queue_url(&queue)
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .expect("delete");
            }
        }
    }
    assert_eq!(
        poison_receives, 5,
        "received up to the queue's limit, then moved"
    );
    let dead = sqs
        .receive_message()
        .queue_url(&dlq)
        .max_number_of_messages(10)
        .send()
        .await
        .expect("dlq");
    assert!(
        dead.messages()
            .iter()
            .any(|m| m.body() == Some(poison.as_str())),
        "the poison message is in the dead-letter queue"
    );
    assert_eq!(
        assert_wallet_consistent(&state, &player).await.bonus,
        700,
        "the good message was not blocked"
    );
}
