//! Queue messages from outside: the aggregator's settlement messages, the EventBridge
//! deliveries on the bonus queue, and the dead-lettered deliveries a redrive puts back on
//! the bus. Decoders of outside input, fuzzed (`fuzz/`).

use ledger::api::parse_json;
use ledger::events::WalletEvent;
use ledger::settlement::SettlementRequest;
use ledger::{ClientId, PlayerId, WalletError};
use serde::Deserialize;

/// A settlement queue message as sent: the HTTP body plus the ids the path would carry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QueuedSettlement {
    player_id: String,
    bet_id: String,
    settlement_id: String,
    kind: String,
    #[serde(default)]
    amount: Option<i64>,
}

/// A settlement queue message, read: whose bet, which bet, and the settlement itself.
#[derive(Debug, Clone)]
pub struct SettlementMessage {
    pub player_id: PlayerId,
    pub bet_id: ClientId,
    pub request: SettlementRequest,
}

/// Reads a settlement queue message's body, as strictly as the HTTP route reads its body.
pub fn settlement_message(body: &[u8]) -> Result<SettlementMessage, WalletError> {
    let message: QueuedSettlement = parse_json(body)?;
    let player_id = PlayerId::new(&message.player_id)
        .map_err(|_| WalletError::PlayerNotFound(message.player_id.clone()))?;
    let bet_id = ClientId::new(&message.bet_id)
        .map_err(|_| WalletError::BetNotFound(format!("there is no bet {}", message.bet_id)))?;
    Ok(SettlementMessage {
        player_id,
        bet_id,
        request: SettlementRequest {
            settlement_id: message.settlement_id,
            kind: message.kind,
            amount: message.amount,
        },
    })
}

/// What EventBridge delivers to a queue: the envelope around one of our events.
#[derive(Debug, Deserialize)]
struct Delivered {
    #[serde(default)]
    source: String,
    #[serde(rename = "detail-type")]
    detail_type: String,
    detail: serde_json::Value,
}

/// A dead-lettered delivery as the event to put on the bus again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redriven {
    pub source: String,
    pub detail_type: String,
    /// The event's `detail` as JSON text, unchanged (its `event_id` is what consumers
    /// deduplicate on).
    pub detail: String,
}

/// Reads a dead-letter message's body as the EventBridge event it was (any detail type:
/// the rule on the bus decides where it goes), or says why it is not one.
pub fn redriven_event(body: &str) -> Result<Redriven, String> {
    let delivered: Delivered =
        serde_json::from_str(body).map_err(|e| format!("not an EventBridge event: {e}"))?;
    if delivered.source.is_empty() || delivered.detail_type.is_empty() {
        return Err("an EventBridge event names its source and detail-type".into());
    }
    if !delivered.detail.is_object() {
        return Err("an EventBridge event's detail is an object".into());
    }
    Ok(Redriven {
        source: delivered.source,
        detail_type: delivered.detail_type,
        detail: delivered.detail.to_string(),
    })
}

/// Reads an EventBridge delivery (a bonus queue message) into the wallet event it carries.
pub fn delivered_event(body: &str) -> Result<WalletEvent, WalletError> {
    let delivered: Delivered = serde_json::from_str(body)
        .map_err(|e| WalletError::field("", format!("not an EventBridge event: {e}")))?;
    WalletEvent::from_detail(&delivered.detail_type, &delivered.detail).map_err(|e| {
        WalletError::field(
            "/detail",
            format!("not a {} event: {e}", delivered.detail_type),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_letter_message_is_redriven_only_when_it_is_an_event() {
        let event = redriven_event(
            r#"{"version":"0","id":"e-1","source":"stakeline.wallet","detail-type":"WithdrawalApproved","detail":{"event_id":"WithdrawalApproved:w-1","amount":5}}"#,
        )
        .unwrap();
        assert_eq!(event.source, "stakeline.wallet");
        assert_eq!(event.detail_type, "WithdrawalApproved");
        let detail: serde_json::Value = serde_json::from_str(&event.detail).unwrap();
        assert_eq!(detail["event_id"], "WithdrawalApproved:w-1");
        for bad in [
            "",
            "not json",
            "[]",
            r#"{"source":"s","detail-type":"t"}"#,
            r#"{"source":"s","detail-type":"t","detail":"text"}"#,
            r#"{"source":"","detail-type":"t","detail":{}}"#,
            r#"{"source":"s","detail":{}}"#,
        ] {
            assert!(redriven_event(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn settlement_messages_are_read_strictly() {
        let ok = settlement_message(
            br#"{"player_id":"p-1","bet_id":"b-1","settlement_id":"s-1","kind":"win","amount":5}"#,
        )
        .unwrap();
        assert_eq!(ok.player_id.as_str(), "p-1");
        assert_eq!(ok.request.amount, Some(5));
        for bad in [
            &br#"{"player_id":"p-1","bet_id":"b-1","settlement_id":"s-1","kind":"win","amount":5,"x":1}"#[..],
            br#"{"player_id":"p 1","bet_id":"b-1","settlement_id":"s-1","kind":"rollback"}"#,
            br#"["p-1","b-1","s-1","rollback"]"#,
            b"\xff\xfe",
            b"",
        ] {
            assert!(settlement_message(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn deliveries_must_carry_one_of_our_events() {
        assert!(delivered_event("{}").is_err());
        assert!(delivered_event(r#"{"detail-type":"Nope","detail":{}}"#).is_err());
    }
}
