//! Records of the table's stream, as Lambda delivers them to the publisher. A decoder of
//! input the function does not control (a stream record can carry any item), fuzzed
//! (`fuzz/`).

use aws_lambda_events::event::dynamodb::EventRecord;
use ledger::events::Envelope;

/// The events a stream record carries: `None` when the record is not a write marked
/// `publish` = `events` (an insert or a modify; a deletion never publishes), an error when
/// it is one but its events cannot be read. A change's events ride on one item of its
/// transaction: its wallet, or its id record when the wallet does not change.
pub fn change_events(record: &EventRecord) -> Option<Result<Vec<Envelope>, String>> {
    if record.event_name != "INSERT" && record.event_name != "MODIFY" {
        return None;
    }
    let image = &record.change.new_image;
    let text = |name: &str| match image.get(name) {
        Some(serde_dynamo::AttributeValue::S(value)) => Some(value.as_str()),
        _ => None,
    };
    image_events(text("publish"), text("events"))
}

/// The events of an item image from its `publish` mark and its `events` attribute (both
/// string attributes): `None` when it is not marked for publishing.
pub fn image_events(
    publish: Option<&str>,
    events: Option<&str>,
) -> Option<Result<Vec<Envelope>, String>> {
    if publish != Some("events") {
        return None;
    }
    Some(match events {
        Some(json) => match serde_json::from_str::<Vec<Envelope>>(json) {
            Ok(events) if events.is_empty() => {
                Err("a write marked for publishing without events".to_string())
            }
            Ok(events) => Ok(events),
            Err(e) => Err(format!("unreadable events: {e}")),
        },
        None => Err("a write marked for publishing without its events".to_string()),
    })
}

/// A stream batch the publisher gave up on, as Lambda's on-failure destination records it
/// (`DDBStreamBatchInfo`): where its records are on the table's stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedBatch {
    pub stream_arn: String,
    pub shard_id: String,
    pub start_sequence: String,
    pub end_sequence: String,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchInfo {
    shard_id: String,
    start_sequence_number: String,
    end_sequence_number: String,
    stream_arn: String,
}

#[derive(serde::Deserialize)]
struct FailureRecord {
    #[serde(rename = "DDBStreamBatchInfo")]
    batch: BatchInfo,
}

/// Reads an on-failure message of the publisher's stream source (`OutboxFailureQueue`).
pub fn failed_batch(body: &str) -> Result<FailedBatch, String> {
    let record: FailureRecord = serde_json::from_str(body)
        .map_err(|e| format!("not a stream batch failure record: {e}"))?;
    let info = record.batch;
    let digits = |s: &str| !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(&info.start_sequence_number) || !digits(&info.end_sequence_number) {
        return Err("sequence numbers are decimal digits".into());
    }
    if sequence_order(&info.start_sequence_number, &info.end_sequence_number)
        == std::cmp::Ordering::Greater
    {
        return Err("the batch ends before it starts".into());
    }
    if info.shard_id.is_empty() || !info.stream_arn.starts_with("arn:") {
        return Err("a batch names its shard and its stream's ARN".into());
    }
    Ok(FailedBatch {
        stream_arn: info.stream_arn,
        shard_id: info.shard_id,
        start_sequence: info.start_sequence_number,
        end_sequence: info.end_sequence_number,
    })
}

/// Orders two stream sequence numbers (decimal digits of any length).
pub fn sequence_order(a: &str, b: &str) -> std::cmp::Ordering {
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(json: serde_json::Value) -> EventRecord {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn only_writes_marked_for_publishing_carry_events() {
        let base = |name: &str, image: serde_json::Value| {
            record(serde_json::json!({
                "eventID": "1", "eventName": name, "eventVersion": "1.1",
                "eventSource": "aws:dynamodb", "awsRegion": "eu-west-1",
                "dynamodb": {"NewImage": image, "SequenceNumber": "1", "SizeBytes": 1,
                             "StreamViewType": "NEW_AND_OLD_IMAGES"}
            }))
        };
        let profile = serde_json::json!({"item_type": {"S": "profile"}});
        assert!(change_events(&base("INSERT", profile)).is_none());
        let envelope = r#"[{"source":"stakeline.wallet","detail_type":"BetPlaced","detail":{"event_id":"BetPlaced:b"}}]"#;
        let wallet = serde_json::json!({"item_type": {"S": "wallet"}, "publish": {"S": "events"}, "events": {"S": envelope}});
        for name in ["INSERT", "MODIFY"] {
            let events = change_events(&base(name, wallet.clone())).unwrap().unwrap();
            assert_eq!(events.len(), 1);
            assert_eq!(events[0].detail_type, "BetPlaced");
        }
        assert!(change_events(&base("REMOVE", wallet)).is_none());
        let broken = serde_json::json!({"publish": {"S": "events"}, "events": {"S": "["}});
        assert!(matches!(
            change_events(&base("MODIFY", broken)),
            Some(Err(_))
        ));
        let empty = serde_json::json!({"publish": {"S": "events"}, "events": {"S": "[]"}});
        assert!(matches!(
            change_events(&base("INSERT", empty)),
            Some(Err(_))
        ));
        let missing = serde_json::json!({"publish": {"S": "events"}});
        assert!(matches!(
            change_events(&base("INSERT", missing)),
            Some(Err(_))
        ));
        let unmarked = serde_json::json!({"publish": {"S": "no"}, "events": {"S": envelope}});
        assert!(change_events(&base("INSERT", unmarked)).is_none());
    }

    #[test]
    fn a_failure_record_names_its_batch_on_the_stream() {
        let body = r#"{"requestContext":{"requestId":"r","functionArn":"arn:aws:lambda:eu-west-1:1:function:p","condition":"RetryAttemptsExhausted","approximateInvokeCount":186},"responseContext":{"statusCode":200,"executedVersion":"$LATEST","functionError":"Unhandled"},"version":"1.0","timestamp":"2026-11-23T10:00:00.000Z","DDBStreamBatchInfo":{"shardId":"shardId-000001","startSequenceNumber":"900000000000000000001","endSequenceNumber":"1000000000000000000002","approximateArrivalOfFirstRecord":"2026-11-23T09:59:00Z","approximateArrivalOfLastRecord":"2026-11-23T09:59:01Z","batchSize":2,"streamArn":"arn:aws:dynamodb:eu-west-1:1:table/t/stream/2026"}}"#;
        let batch = failed_batch(body).unwrap();
        assert_eq!(batch.shard_id, "shardId-000001");
        assert_eq!(batch.start_sequence, "900000000000000000001");
        assert_eq!(batch.end_sequence, "1000000000000000000002");
        assert!(batch.stream_arn.ends_with("/stream/2026"));
        for bad in [
            "",
            "{}",
            r#"{"DDBStreamBatchInfo":{"shardId":"s","startSequenceNumber":"2","endSequenceNumber":"1","streamArn":"arn:x"}}"#,
            r#"{"DDBStreamBatchInfo":{"shardId":"s","startSequenceNumber":"1a","endSequenceNumber":"2","streamArn":"arn:x"}}"#,
            r#"{"DDBStreamBatchInfo":{"shardId":"","startSequenceNumber":"1","endSequenceNumber":"2","streamArn":"arn:x"}}"#,
            r#"{"DDBStreamBatchInfo":{"shardId":"s","startSequenceNumber":"1","endSequenceNumber":"2","streamArn":"x"}}"#,
        ] {
            assert!(failed_batch(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sequence_numbers_order_as_numbers() {
        use std::cmp::Ordering::*;
        assert_eq!(sequence_order("9", "10"), Less);
        assert_eq!(sequence_order("0010", "10"), Equal);
        assert_eq!(
            sequence_order("1000000000000000000002", "900000000000000000001"),
            Greater
        );
    }
}
