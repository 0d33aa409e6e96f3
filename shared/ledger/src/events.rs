//! The events of WALLET-RULES "Events", typed. Each committed state change writes its event
//! in the same transaction (the outbox), and a publisher relays it to EventBridge, so an
//! event exists exactly when its change does (invariant 6).
//!
//! An event's id is derived from the permanent id that caused it (`DepositCompleted:<deposit
//! id>`, …): every client id changes state at most once, so event ids are unique, identical
//! however often a request is retried, and a consumer deduplicates on them.

use crate::account::Account;
use crate::clock::Timestamp;
use crate::ids::PlayerId;
use crate::outcome::{BetOutcome, DepositOutcome, SettlementOutcome};
use serde::{Deserialize, Serialize};

/// EventBridge `source` of every Stakeline event.
pub const SOURCE: &str = "stakeline.wallet";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "detail_type")]
pub enum EventKind {
    PlayerRegistered {
        currency: String,
        country: String,
    },
    DepositCompleted {
        deposit_id: String,
        amount: i64,
        currency: String,
        first_deposit: bool,
        entry_id: String,
    },
    BetPlaced {
        bet_id: String,
        round_id: String,
        game_id: String,
        amount: i64,
        currency: String,
        cash_stake: i64,
        bonus_stake: i64,
    },
    BetSettled {
        bet_id: String,
        settlement_id: String,
        kind: String,
        status: crate::outcome::BetStatus,
        cash_credit: i64,
        bonus_credit: i64,
    },
    BonusAwarded {
        campaign_id: String,
        amount: i64,
        currency: String,
        wagering_required: i64,
        expires_at: String,
    },
    BonusReleased {
        campaign_id: String,
        amount: i64,
    },
    BonusForfeited {
        campaign_id: String,
        amount: i64,
        reason: ForfeitReason,
    },
    WithdrawalRequested {
        withdrawal_id: String,
        amount: i64,
        currency: String,
        /// `approved` (no risk rule fired) or `pending_review`.
        status: String,
        review_reasons: Vec<String>,
        bonus_forfeited: i64,
    },
    /// Approved at once or by an operator: the payout may start.
    WithdrawalApproved {
        withdrawal_id: String,
        amount: i64,
        currency: String,
        destination_kind: String,
        destination_reference: String,
        /// The operator who approved it; `None` when no rule fired.
        decided_by: Option<String>,
    },
    WithdrawalRejected {
        withdrawal_id: String,
        amount: i64,
        decided_by: String,
        reason: String,
    },
    WithdrawalCancelled {
        withdrawal_id: String,
        amount: i64,
    },
    WithdrawalPaid {
        withdrawal_id: String,
        amount: i64,
        provider_reference: String,
    },
    WithdrawalFailed {
        withdrawal_id: String,
        amount: i64,
        provider_reference: String,
        reason: Option<String>,
    },
    /// An operator locked (`disabled`) or unlocked (`active`) the account.
    PlayerStatusChanged {
        previous_status: String,
        status: String,
        operator: String,
        reason: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForfeitReason {
    PlayerRequest,
    Expired,
    /// A withdrawal was requested while the bonus was active.
    Withdrawal,
}

impl EventKind {
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::PlayerRegistered { .. } => "PlayerRegistered",
            EventKind::DepositCompleted { .. } => "DepositCompleted",
            EventKind::BetPlaced { .. } => "BetPlaced",
            EventKind::BetSettled { .. } => "BetSettled",
            EventKind::BonusAwarded { .. } => "BonusAwarded",
            EventKind::BonusReleased { .. } => "BonusReleased",
            EventKind::BonusForfeited { .. } => "BonusForfeited",
            EventKind::WithdrawalRequested { .. } => "WithdrawalRequested",
            EventKind::WithdrawalApproved { .. } => "WithdrawalApproved",
            EventKind::WithdrawalRejected { .. } => "WithdrawalRejected",
            EventKind::WithdrawalCancelled { .. } => "WithdrawalCancelled",
            EventKind::WithdrawalPaid { .. } => "WithdrawalPaid",
            EventKind::WithdrawalFailed { .. } => "WithdrawalFailed",
            EventKind::PlayerStatusChanged { .. } => "PlayerStatusChanged",
        }
    }
}

/// One event, as written to the outbox and published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletEvent {
    pub event_id: String,
    pub correlation_id: String,
    pub occurred_at: String,
    pub player_id: PlayerId,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// The event as EventBridge takes it: `{source, detail_type, detail}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub source: String,
    pub detail_type: String,
    pub detail: serde_json::Value,
}

impl WalletEvent {
    /// An event named by the permanent id that caused it (`<type>:<cause>`).
    pub fn new(
        cause: &str,
        correlation_id: &str,
        at: Timestamp,
        player_id: &PlayerId,
        kind: EventKind,
    ) -> WalletEvent {
        WalletEvent {
            event_id: format!("{}:{cause}", kind.name()),
            correlation_id: correlation_id.to_string(),
            occurred_at: at.to_rfc3339(),
            player_id: player_id.clone(),
            kind,
        }
    }

    /// The detail: the common members and the type's own, flat.
    pub fn detail(&self) -> serde_json::Value {
        let mut detail = serde_json::to_value(self).unwrap_or_default();
        if let Some(object) = detail.as_object_mut() {
            object.remove("detail_type");
        }
        detail
    }

    pub fn envelope(&self) -> Envelope {
        Envelope {
            source: SOURCE.to_string(),
            detail_type: self.kind.name().to_string(),
            detail: self.detail(),
        }
    }

    /// Reads an event back from its detail and type (what consumers receive).
    pub fn from_detail(
        detail_type: &str,
        detail: &serde_json::Value,
    ) -> Result<WalletEvent, serde_json::Error> {
        let mut tagged = detail.clone();
        if let Some(object) = tagged.as_object_mut() {
            object.insert(
                "detail_type".into(),
                serde_json::Value::String(detail_type.to_string()),
            );
        }
        serde_json::from_value(tagged)
    }
}

pub fn player_registered(account: &Account, correlation_id: &str) -> WalletEvent {
    WalletEvent::new(
        account.player_id.as_str(),
        correlation_id,
        account.created_at,
        &account.player_id,
        EventKind::PlayerRegistered {
            currency: account.currency.to_string(),
            country: account.country.clone(),
        },
    )
}

pub fn deposit_completed(
    player_id: &PlayerId,
    outcome: &DepositOutcome,
    correlation_id: &str,
) -> WalletEvent {
    WalletEvent::new(
        outcome.deposit_id.as_str(),
        correlation_id,
        outcome.created_at,
        player_id,
        EventKind::DepositCompleted {
            deposit_id: outcome.deposit_id.to_string(),
            amount: outcome.amount,
            currency: outcome.currency.to_string(),
            first_deposit: outcome.first_deposit,
            entry_id: outcome.entry_id.clone(),
        },
    )
}

pub fn bet_placed(
    player_id: &PlayerId,
    outcome: &BetOutcome,
    payload: &crate::outcome::BetPayload,
    correlation_id: &str,
) -> WalletEvent {
    WalletEvent::new(
        outcome.bet_id.as_str(),
        correlation_id,
        outcome.placed_at,
        player_id,
        EventKind::BetPlaced {
            bet_id: outcome.bet_id.to_string(),
            round_id: payload.round_id.to_string(),
            game_id: payload.game_id.to_string(),
            amount: payload.amount,
            currency: payload.currency.to_string(),
            cash_stake: outcome.cash_stake,
            bonus_stake: outcome.bonus_stake,
        },
    )
}

pub fn bet_settled(
    player_id: &PlayerId,
    outcome: &SettlementOutcome,
    correlation_id: &str,
) -> WalletEvent {
    WalletEvent::new(
        outcome.settlement_id.as_str(),
        correlation_id,
        outcome.settled_at,
        player_id,
        EventKind::BetSettled {
            bet_id: outcome.bet_id.to_string(),
            settlement_id: outcome.settlement_id.to_string(),
            kind: outcome.settlement.name().to_string(),
            status: outcome.status,
            cash_credit: outcome.cash_credit,
            bonus_credit: outcome.bonus_credit,
        },
    )
}

/// `BonusAwarded`: a campaign is awarded at most once per player, so the pair names it.
pub fn bonus_awarded(
    player_id: &PlayerId,
    campaign_id: &str,
    at: Timestamp,
    correlation_id: &str,
    kind: EventKind,
) -> WalletEvent {
    WalletEvent::new(
        &format!("{player_id}:{campaign_id}"),
        correlation_id,
        at,
        player_id,
        kind,
    )
}

/// `BonusReleased` and `BonusForfeited`: a player may end several bonuses (an unattributed
/// balance more than once), so the wallet version the change wrote names it.
pub fn bonus_ended(
    player_id: &PlayerId,
    campaign_id: &str,
    version: u64,
    at: Timestamp,
    correlation_id: &str,
    kind: EventKind,
) -> WalletEvent {
    WalletEvent::new(
        &format!("{player_id}:{campaign_id}:{version}"),
        correlation_id,
        at,
        player_id,
        kind,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;
    use crate::ids::ClientId;
    use crate::money::Currency;

    fn outcome() -> DepositOutcome {
        DepositOutcome {
            deposit_id: ClientId::new("psp-1").unwrap(),
            amount: 5000,
            currency: Currency::new("EUR").unwrap(),
            first_deposit: true,
            entry_id: "p:000000000001".into(),
            created_at: Timestamp::from_millis(1_795_392_000_000),
        }
    }

    #[test]
    fn events_have_a_stable_id_a_flat_detail_and_round_trip() {
        let player = PlayerId::new("p").unwrap();
        let event = deposit_completed(&player, &outcome(), "corr-1");
        assert_eq!(event.event_id, "DepositCompleted:psp-1");
        let envelope = event.envelope();
        assert_eq!(
            (envelope.source.as_str(), envelope.detail_type.as_str()),
            (SOURCE, "DepositCompleted")
        );
        assert_eq!(envelope.detail["first_deposit"], true);
        assert_eq!(envelope.detail["correlation_id"], "corr-1");
        assert_eq!(envelope.detail["player_id"], "p");
        assert_eq!(envelope.detail["occurred_at"], "2026-11-23T00:00:00.000Z");
        assert!(envelope.detail.get("detail_type").is_none());
        assert_eq!(
            WalletEvent::from_detail("DepositCompleted", &envelope.detail).unwrap(),
            event
        );
        assert!(WalletEvent::from_detail("BetPlaced", &envelope.detail).is_err());
    }

    #[test]
    fn the_same_change_always_has_the_same_event_id() {
        let player = PlayerId::new("p").unwrap();
        assert_eq!(
            deposit_completed(&player, &outcome(), "a").event_id,
            deposit_completed(&player, &outcome(), "b").event_id
        );
    }
}
