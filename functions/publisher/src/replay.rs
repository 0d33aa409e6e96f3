//! Publishing a failed batch again. When the publisher gives up on a stream batch (its retries
//! exhausted), Lambda records where the batch is on the table's stream in the publisher's
//! failure queue (`OutboxFailureQueue`). The batch's events are still on the stream for 24
//! hours from their write: `replay` reads the batch's records again, from its first
//! sequence number to its last, and puts their events on the bus in order, exactly as the
//! publisher would have. Consumers deduplicate on `event_id`, so events that did reach the
//! bus before the failure move nothing the second time.

use crate::{publish, Publisher};
use aws_sdk_dynamodbstreams::types::{AttributeValue, OperationType, ShardIteratorType};
use ledger::events::Envelope;
use std::cmp::Ordering;
use wire::stream::{image_events, sequence_order, FailedBatch};

/// The most `GetRecords` calls one replay makes (an open shard can answer empty pages
/// before it reaches the batch's last record).
const MAX_PAGES: usize = 200;

/// Why a batch could not be published again; its message stays in the failure queue.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("the batch's records are no longer on the stream (kept 24 hours): {0}")]
    Trimmed(String),
    #[error("the stream could not be read: {0}")]
    Stream(String),
    #[error("the record {sequence} carries events that cannot be read: {why}")]
    Unreadable { sequence: String, why: String },
    #[error("the bus did not take the event of record {0}")]
    Bus(String),
    #[error("the stream ended before the batch's last record {0}")]
    Incomplete(String),
}

/// The events of `batch`'s records, read again from the stream, in order.
pub async fn batch_events(
    streams: &aws_sdk_dynamodbstreams::Client,
    batch: &FailedBatch,
) -> Result<Vec<(String, Envelope)>, ReplayError> {
    let iterator = streams
        .get_shard_iterator()
        .stream_arn(&batch.stream_arn)
        .shard_id(&batch.shard_id)
        .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
        .sequence_number(&batch.start_sequence)
        .send()
        .await
        .map_err(|e| {
            let text = aws_sdk_dynamodbstreams::error::DisplayErrorContext(&e).to_string();
            if text.contains("TrimmedDataAccess") {
                ReplayError::Trimmed(text)
            } else {
                ReplayError::Stream(text)
            }
        })?;
    let mut next = iterator.shard_iterator;
    let mut events = Vec::new();
    for _ in 0..MAX_PAGES {
        let Some(position) = next.take() else {
            break;
        };
        let page = streams
            .get_records()
            .shard_iterator(position)
            .send()
            .await
            .map_err(|e| {
                ReplayError::Stream(
                    aws_sdk_dynamodbstreams::error::DisplayErrorContext(&e).to_string(),
                )
            })?;
        for record in page.records.unwrap_or_default() {
            let Some(change) = record.dynamodb else {
                continue;
            };
            let sequence = change.sequence_number.unwrap_or_default();
            if sequence_order(&sequence, &batch.end_sequence) == Ordering::Greater {
                return Ok(events);
            }
            if !matches!(
                record.event_name,
                Some(OperationType::Insert) | Some(OperationType::Modify)
            ) {
                continue;
            }
            let image = change.new_image.unwrap_or_default();
            let text = |name: &str| match image.get(name) {
                Some(AttributeValue::S(value)) => Some(value.as_str()),
                _ => None,
            };
            match image_events(text("publish"), text("events")) {
                None => {}
                Some(Ok(found)) => {
                    events.extend(found.into_iter().map(|e| (sequence.clone(), e)));
                }
                Some(Err(why)) => return Err(ReplayError::Unreadable { sequence, why }),
            }
            if sequence_order(&sequence, &batch.end_sequence) == Ordering::Equal {
                return Ok(events);
            }
        }
        next = page.next_shard_iterator;
    }
    Err(ReplayError::Incomplete(batch.end_sequence.clone()))
}

/// Publishes `batch`'s events again; the number of events put on the bus.
pub async fn replay(
    streams: &aws_sdk_dynamodbstreams::Client,
    publisher: &Publisher,
    batch: &FailedBatch,
) -> Result<usize, ReplayError> {
    let events = batch_events(streams, batch).await?;
    let located: Vec<(&str, Envelope)> = events
        .iter()
        .map(|(sequence, envelope)| (sequence.as_str(), envelope.clone()))
        .collect();
    publish(publisher, &located)
        .await
        .map_err(|sequence| ReplayError::Bus(sequence.to_string()))?;
    Ok(events.len())
}
