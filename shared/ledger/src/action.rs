//! Operators and the record of what they did (WALLET-RULES "Operators"): every decision on
//! a withdrawal and every status change is recorded once, immutably, with who, when, what
//! and why. A leaf.

use crate::clock::Timestamp;
use crate::error::FieldError;
use crate::ids::PlayerId;
use serde::{Deserialize, Serialize};

/// The longest operator id accepted (the `sub` of the operator's token).
pub const MAX_OPERATOR_CHARS: usize = 256;

/// A member of the operator's staff: the `sub` of a token carrying the operator scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Operator(String);

impl Operator {
    /// 1 to [`MAX_OPERATOR_CHARS`] characters, no spaces around, no control characters.
    pub fn new(sub: &str) -> Result<Operator, FieldError> {
        crate::text::check_text("sub", sub, MAX_OPERATOR_CHARS)?;
        if sub.trim() != sub {
            return Err(FieldError::new("sub", "must not start or end with spaces"));
        }
        Ok(Operator(sub.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Operator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What an operator did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ActionKind {
    /// Approved or rejected a withdrawal in review.
    WithdrawalDecision {
        withdrawal_id: String,
        /// `approve` or `reject`.
        decision: String,
    },
    /// Locked (`disabled`) or unlocked (`active`) the account.
    StatusChange {
        previous_status: String,
        status: String,
    },
}

/// One operator action, as recorded: never changed once written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorAction {
    /// Unique: `decision:<withdrawal id>` (a withdrawal is decided once) or
    /// `status:<player>:<wallet version after>`.
    pub action_id: String,
    pub player_id: PlayerId,
    pub operator: Operator,
    pub at: Timestamp,
    #[serde(flatten)]
    pub kind: ActionKind,
    pub reason: String,
    pub correlation_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_are_bounded_text_without_control_characters() {
        assert_eq!(
            Operator::new("staff-7").map(|o| o.to_string()),
            Ok("staff-7".into())
        );
        assert!(Operator::new("auth0|5f0c3e2a").is_ok());
        for bad in [
            "",
            "   ",
            " staff",
            "staff\n",
            &"x".repeat(MAX_OPERATOR_CHARS + 1),
        ] {
            assert!(Operator::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn actions_serialize_flat_with_their_kind() {
        let action = OperatorAction {
            action_id: "decision:w-1".into(),
            player_id: PlayerId::new("p-1").unwrap(),
            operator: Operator::new("staff-7").unwrap(),
            at: Timestamp::from_millis(1_000),
            kind: ActionKind::WithdrawalDecision {
                withdrawal_id: "w-1".into(),
                decision: "reject".into(),
            },
            reason: "documents missing".into(),
            correlation_id: "c-1".into(),
        };
        let json = serde_json::to_value(&action).unwrap();
        assert_eq!(json["kind"], "withdrawal_decision");
        assert_eq!(json["decision"], "reject");
        let back: OperatorAction = serde_json::from_value(json).unwrap();
        assert_eq!(back, action);
    }
}
