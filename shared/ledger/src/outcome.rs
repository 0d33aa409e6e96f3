//! What money operations answer, now and on every replay: the leaf types the operations,
//! their records, the events and the views share. Nothing here imports an operation.

use crate::clock::Timestamp;
use crate::error::FieldError;
use crate::ids::ClientId;
use crate::money::{Currency, MAX_AMOUNT};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BetStatus {
    Open,
    Won,
    Lost,
    RolledBack,
}

impl BetStatus {
    pub fn is_closed(self) -> bool {
        self != BetStatus::Open
    }
}

/// What the place-bet route answers, now and on every replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BetOutcome {
    pub bet_id: ClientId,
    pub round_id: ClientId,
    pub cash_stake: i64,
    pub bonus_stake: i64,
    pub entry_id: String,
    pub placed_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SettlementKind {
    /// A win of `amount` (0 closes the bet as lost).
    Win {
        amount: i64,
    },
    Rollback,
}

impl SettlementKind {
    pub fn parse(kind: &str, amount: Option<i64>) -> Result<SettlementKind, FieldError> {
        match (kind, amount) {
            ("win", Some(amount)) if (0..=MAX_AMOUNT).contains(&amount) => {
                Ok(SettlementKind::Win { amount })
            }
            ("win", Some(_)) => Err(FieldError::new(
                "/amount",
                format!("a win is 0 to {MAX_AMOUNT} minor units"),
            )),
            ("win", None) => Err(FieldError::new(
                "/amount",
                "a win needs an amount (0 closes the bet as lost)",
            )),
            ("rollback", None) => Ok(SettlementKind::Rollback),
            ("rollback", Some(_)) => Err(FieldError::new(
                "/amount",
                "a rollback takes no amount: it returns the stake",
            )),
            _ => Err(FieldError::new("/kind", "must be win or rollback")),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SettlementKind::Win { .. } => "win",
            SettlementKind::Rollback => "rollback",
        }
    }
}

/// What a settlement answers, now and on every replay; also kept on the bet it closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementOutcome {
    pub bet_id: ClientId,
    pub settlement_id: ClientId,
    pub settlement: SettlementKind,
    pub status: BetStatus,
    pub cash_credit: i64,
    pub bonus_credit: i64,
    #[serde(default)]
    pub entry_id: Option<String>,
    pub settled_at: Timestamp,
}

/// What an accepted deposit answers, now and on every replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositOutcome {
    pub deposit_id: ClientId,
    pub amount: i64,
    pub currency: Currency,
    pub first_deposit: bool,
    pub entry_id: String,
    pub created_at: Timestamp,
}

/// What identifies a bet's payload: a retry with the same id must carry exactly this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BetPayload {
    pub round_id: ClientId,
    pub game_id: ClientId,
    pub amount: i64,
    pub currency: Currency,
}
