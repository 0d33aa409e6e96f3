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
    match image.get("publish") {
        Some(serde_dynamo::AttributeValue::S(mark)) if mark == "events" => {}
        _ => return None,
    }
    Some(match image.get("events") {
        Some(serde_dynamo::AttributeValue::S(json)) => {
            match serde_json::from_str::<Vec<Envelope>>(json) {
                Ok(events) if events.is_empty() => {
                    Err("a write marked for publishing without events".to_string())
                }
                Ok(events) => Ok(events),
                Err(e) => Err(format!("unreadable events: {e}")),
            }
        }
        _ => Err("a write marked for publishing without its events".to_string()),
    })
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
}
