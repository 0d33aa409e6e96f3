//! Queue messages from outside: the aggregator's settlement messages and the EventBridge
//! deliveries on the bonus queue. Decoders of outside input, fuzzed (`fuzz/`).

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
    #[serde(rename = "detail-type")]
    detail_type: String,
    detail: serde_json::Value,
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
