//! Client ids are permanent idempotency keys (invariant 3): what was decided for an id is
//! recorded with the payload that asked for it, and every later request with that id is
//! answered from the record: the same outcome for the same payload (invariant 7, also for
//! rejections), `DUPLICATE_TRANSACTION` for another payload.

use crate::error::{ErrorCode, WalletError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Recorded<T> {
    Accepted { outcome: T },
    Rejected { code: ErrorCode, detail: String },
}

impl<T: Clone> Recorded<T> {
    pub fn rejection(error: &WalletError) -> Recorded<T> {
        Recorded::Rejected {
            code: error.code(),
            detail: error.to_string(),
        }
    }

    /// The original outcome, or the original rejection.
    pub fn replay(&self) -> Result<T, WalletError> {
        match self {
            Recorded::Accepted { outcome } => Ok(outcome.clone()),
            Recorded::Rejected { code, detail } => Err(rejection_from(*code, detail.clone())),
        }
    }
}

/// Rebuilds a recorded business rejection.
fn rejection_from(code: ErrorCode, detail: String) -> WalletError {
    match code {
        ErrorCode::PlayerBlocked => WalletError::PlayerBlocked(detail),
        ErrorCode::InsufficientFunds => WalletError::InsufficientFunds(detail),
        ErrorCode::DepositLimitReached => WalletError::DepositLimitReached(detail),
        ErrorCode::StakeLimitExceeded => WalletError::StakeLimitExceeded(detail),
        ErrorCode::BetRolledBack => WalletError::BetRolledBack(detail),
        other => WalletError::Internal(format!("a {other} outcome was recorded: {detail}")),
    }
}

pub fn duplicate(id_name: &str, id: &str) -> WalletError {
    WalletError::DuplicateTransaction(format!(
        "{id_name} {id} was already used with another payload"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejection_replays_identically() {
        let original = WalletError::DepositLimitReached("the daily limit is 100".into());
        let recorded: Recorded<u8> = Recorded::rejection(&original);
        assert_eq!(recorded.replay(), Err(original));
    }

    #[test]
    fn an_acceptance_replays_its_outcome() {
        let recorded = Recorded::Accepted { outcome: 7u8 };
        assert_eq!(recorded.replay(), Ok(7));
    }

    #[test]
    fn recorded_outcomes_survive_serialization() {
        let r: Recorded<u8> = Recorded::rejection(&WalletError::PlayerBlocked("x".into()));
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(
            json,
            r#"{"result":"rejected","code":"PLAYER_BLOCKED","detail":"x"}"#
        );
        assert_eq!(serde_json::from_str::<Recorded<u8>>(&json).unwrap(), r);
    }
}
