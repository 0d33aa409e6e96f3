//! SQS batches, handled once for every queue consumer: each message in order, and exactly
//! the failed ones reported in `batchItemFailures`, so Lambda deletes the others and delivers
//! only those again (after the queue's `maxReceiveCount`, to its dead-letter queue). A bad
//! message neither blocks nor repeats the rest of its batch, and every failure is logged
//! with its stable code; nothing is dropped silently.

use lambda_http::aws_lambda_events::event::sqs::{
    BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage,
};
use ledger::WalletError;
use std::future::Future;

/// Deliveries before a message moves to its dead-letter queue: every consumer queue's
/// `maxReceiveCount` in template.yaml (`tests/infra/test_ops_queues.py` keeps them equal).
pub const MAX_RECEIVE_COUNT: u32 = 5;

/// Whether a message failing now goes to its dead-letter queue (its last delivery).
pub fn is_last_delivery(message: &SqsMessage) -> bool {
    message
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|count| count.parse::<u32>().ok())
        .is_some_and(|count| count >= MAX_RECEIVE_COUNT)
}

/// Runs `handle` on each message of `event` in order (with its message id); `Ok` carries a
/// short summary for the log. `queue` names the consumer in the log lines.
pub async fn each_message<F, Fut>(queue: &str, event: SqsEvent, mut handle: F) -> SqsBatchResponse
where
    F: FnMut(SqsMessage, String) -> Fut,
    Fut: Future<Output = Result<String, WalletError>>,
{
    let mut response = SqsBatchResponse::default();
    for message in event.records {
        let id = message.message_id.clone().unwrap_or_default();
        let last = is_last_delivery(&message);
        match handle(message, id.clone()).await {
            Ok(summary) => tracing::info!(queue, message_id = %id, %summary, "message processed"),
            Err(error) => {
                let code = error.code().as_str();
                tracing::warn!(queue, message_id = %id, code, %error, last_delivery = last, "message failed");
                metrics::counter!("message_failures", "queue" => queue.to_string(), "code" => code)
                    .increment(1);
                if last {
                    metrics::counter!("dead_lettered", "queue" => queue.to_string()).increment(1);
                }
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                response.batch_item_failures.push(failure);
            }
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(bodies: &[&str]) -> SqsEvent {
        let mut event = SqsEvent::default();
        for (n, body) in bodies.iter().enumerate() {
            let mut message = SqsMessage::default();
            message.message_id = Some(format!("m{n}"));
            message.body = Some(body.to_string());
            event.records.push(message);
        }
        event
    }

    #[test]
    fn the_fifth_delivery_is_the_last() {
        let mut message = SqsMessage::default();
        assert!(!is_last_delivery(&message));
        for (count, last) in [
            ("1", false),
            ("4", false),
            ("5", true),
            ("9", true),
            ("x", false),
        ] {
            message
                .attributes
                .insert("ApproximateReceiveCount".into(), count.into());
            assert_eq!(is_last_delivery(&message), last, "{count}");
        }
    }

    #[tokio::test]
    async fn exactly_the_failed_messages_are_reported_in_order() {
        let mut seen = Vec::new();
        let response = each_message("test", batch(&["ok", "bad", "ok", "bad"]), |m, id| {
            seen.push(id.clone());
            let body = m.body.unwrap_or_default();
            async move {
                if body == "ok" {
                    Ok(format!("{id} done"))
                } else {
                    Err(WalletError::field("/body", "bad"))
                }
            }
        })
        .await;
        assert_eq!(seen, ["m0", "m1", "m2", "m3"], "every message, in order");
        let failed: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["m1", "m3"]);
    }
}
