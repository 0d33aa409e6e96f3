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

/// The body of `POST /ops/queues/{queue}/redrive`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedriveRequest {
    pub reason: String,
}

/// An operator's redrive of a dead-letter queue: who, when, why. Recorded once, under the
/// queue's own partition, before any message moves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueAction {
    pub action_id: String,
    pub queue: String,
    pub operator: Operator,
    pub at: Timestamp,
    pub reason: String,
    pub correlation_id: String,
}

impl QueueAction {
    /// A redrive of `queue` asked for by `operator`; the reason is required (1–500
    /// characters, trimmed). The action id is unique per request (its correlation id).
    pub fn redrive(
        queue: &str,
        request: &RedriveRequest,
        operator: &Operator,
        correlation_id: &str,
        now: Timestamp,
    ) -> Result<QueueAction, crate::error::WalletError> {
        let reason = crate::text::check_reason("/reason", &request.reason)
            .map_err(|e| crate::error::WalletError::Validation(vec![e]))?;
        Ok(QueueAction {
            action_id: format!("redrive:{queue}:{correlation_id}"),
            queue: queue.to_string(),
            operator: operator.clone(),
            at: now,
            reason,
            correlation_id: correlation_id.to_string(),
        })
    }
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
    fn a_redrive_needs_a_reason_and_records_who_asked() {
        let staff = Operator::new("staff-7").unwrap();
        let asked = |reason: &str| {
            QueueAction::redrive(
                "PayoutDeadLetterQueue",
                &RedriveRequest {
                    reason: reason.into(),
                },
                &staff,
                "c-9",
                Timestamp::from_millis(5),
            )
        };
        let action = asked("  provider back up ").unwrap();
        assert_eq!(action.reason, "provider back up");
        assert_eq!(action.operator, staff);
        assert_eq!(action.queue, "PayoutDeadLetterQueue");
        assert_eq!(action.action_id, "redrive:PayoutDeadLetterQueue:c-9");
        for bad in ["", "   ", &"x".repeat(501)] {
            let error = asked(bad).unwrap_err();
            assert_eq!(error.code(), crate::error::ErrorCode::ValidationFailed);
            assert_eq!(error.field_errors()[0].field, "/reason");
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
