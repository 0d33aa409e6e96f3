//! Records of the table's stream, as Lambda delivers them to the publisher. A decoder of
//! input the function does not control (a stream record can carry any item), fuzzed
//! (`fuzz/`).

use aws_lambda_events::event::dynamodb::EventRecord;
use ledger::events::Envelope;

/// The outbox event carried by a stream record: `None` when the record is not the insert of
/// an outbox item, an error when it is one but cannot be read.
pub fn outbox_event(record: &EventRecord) -> Option<Result<Envelope, String>> {
    if record.event_name != "INSERT" {
        return None;
    }
    let image = &record.change.new_image;
    match image.get("item_type") {
        Some(serde_dynamo::AttributeValue::S(kind)) if kind == "outbox" => {}
        _ => return None,
    }
    Some(match image.get("event") {
        Some(serde_dynamo::AttributeValue::S(json)) => serde_json::from_str::<Envelope>(json)
            .map_err(|e| format!("unreadable outbox event: {e}")),
        _ => Err("an outbox item without its event".to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(json: serde_json::Value) -> EventRecord {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn only_inserted_outbox_items_carry_events() {
        let base = |name: &str, image: serde_json::Value| {
            record(serde_json::json!({
                "eventID": "1", "eventName": name, "eventVersion": "1.1",
                "eventSource": "aws:dynamodb", "awsRegion": "eu-west-1",
                "dynamodb": {"NewImage": image, "SequenceNumber": "1", "SizeBytes": 1,
                             "StreamViewType": "NEW_AND_OLD_IMAGES"}
            }))
        };
        let account = serde_json::json!({"item_type": {"S": "account"}});
        assert!(outbox_event(&base("INSERT", account)).is_none());
        let broken = serde_json::json!({"item_type": {"S": "outbox"}, "event": {"S": "{"}});
        assert!(matches!(
            outbox_event(&base("INSERT", broken.clone())),
            Some(Err(_))
        ));
        assert!(outbox_event(&base("MODIFY", broken)).is_none());
        let missing = serde_json::json!({"item_type": {"S": "outbox"}});
        assert!(matches!(
            outbox_event(&base("INSERT", missing)),
            Some(Err(_))
        ));
    }
}
