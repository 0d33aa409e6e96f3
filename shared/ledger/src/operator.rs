//! The operator's status change (WALLET-RULES "Operators"): `disabled` is the fraud lock
//! (no deposit, bet or withdrawal; wins and rollbacks still settle), `active` lifts it.
//! Only the lock is the operator's: a player's own exclusion stays until it ends, so an
//! unlocked player who is excluded shows `excluded`.

use crate::account::Account;
use crate::action::{ActionKind, Operator, OperatorAction};
use crate::clock::Timestamp;
use crate::error::{FieldError, Problems, WalletError};
use crate::events::{EventKind, WalletEvent};
use crate::text::check_reason;
use serde::Deserialize;

/// The body of `PUT /ops/players/{player_id}/status`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    pub status: String,
    pub reason: String,
}

/// A valid status change: lock (`disabled`) or unlock (`active`), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCommand {
    pub disabled: bool,
    pub reason: String,
}

impl StatusCommand {
    pub fn from_request(request: &StatusRequest) -> Result<StatusCommand, WalletError> {
        let mut problems = Problems::new();
        let disabled = problems.check(match request.status.as_str() {
            "disabled" => Ok(true),
            "active" => Ok(false),
            _ => Err(FieldError::new("/status", "must be active or disabled")),
        });
        let reason = problems.check(check_reason("/reason", &request.reason));
        problems.into_result()?;
        match (disabled, reason) {
            (Some(disabled), Some(reason)) => Ok(StatusCommand { disabled, reason }),
            _ => Err(WalletError::Internal(
                "validation passed without values".into(),
            )),
        }
    }
}

/// What a status change comes to: the account after it, the action and its event; or
/// nothing at all when the account already has that status (a repeated `PUT`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusDecision {
    pub account: Account,
    pub action: OperatorAction,
    pub events: Vec<WalletEvent>,
}

/// Locks or unlocks the account. `Ok(None)`: it already is as asked, nothing is written.
pub fn change_status(
    account: &Account,
    command: &StatusCommand,
    operator: &Operator,
    correlation_id: &str,
    now: Timestamp,
) -> Result<Option<StatusDecision>, WalletError> {
    if account.disabled == command.disabled {
        return Ok(None);
    }
    let previous = account.status(now);
    let mut next = account.touched();
    next.disabled = command.disabled;
    let status = next.status(now);
    let action = OperatorAction {
        action_id: format!("status:{}:{}", account.player_id, next.version),
        player_id: account.player_id.clone(),
        operator: operator.clone(),
        at: now,
        kind: ActionKind::StatusChange {
            previous_status: previous.as_str().to_string(),
            status: status.as_str().to_string(),
        },
        reason: command.reason.clone(),
        correlation_id: correlation_id.to_string(),
    };
    let event = WalletEvent::new(
        &format!("{}:{}", account.player_id, next.version),
        correlation_id,
        now,
        &account.player_id,
        EventKind::PlayerStatusChanged {
            previous_status: previous.as_str().to_string(),
            status: status.as_str().to_string(),
            operator: operator.to_string(),
            reason: command.reason.clone(),
        },
    );
    Ok(Some(StatusDecision {
        account: next,
        action,
        events: vec![event],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::fixtures::{account, T0};
    use crate::exclusion::{Exclusion, ExclusionKind};
    use crate::AccountStatus;
    use proptest::prelude::*;

    fn lock(disabled: bool) -> StatusCommand {
        StatusCommand {
            disabled,
            reason: "chargeback fraud".into(),
        }
    }

    fn staff() -> Operator {
        Operator::new("staff-7").unwrap()
    }

    #[test]
    fn status_requests_are_checked() {
        let ok = StatusCommand::from_request(&StatusRequest {
            status: "disabled".into(),
            reason: " chargeback fraud ".into(),
        });
        assert_eq!(ok, Ok(lock(true)));
        let bad = StatusCommand::from_request(&StatusRequest {
            status: "excluded".into(),
            reason: String::new(),
        })
        .unwrap_err();
        let WalletError::Validation(fields) = bad else {
            panic!("{bad:?}")
        };
        let named: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(named, ["/status", "/reason"]);
    }

    #[test]
    fn a_lock_is_one_versioned_change_with_its_action_and_event() {
        let before = account();
        let decision = change_status(&before, &lock(true), &staff(), "corr", T0)
            .unwrap()
            .unwrap();
        assert!(decision.account.disabled);
        assert_eq!(decision.account.version, before.version + 1);
        assert_eq!(
            (
                decision.account.cash,
                decision.account.seq,
                decision.account.updated_at
            ),
            (before.cash, before.seq, before.updated_at),
            "no money moves"
        );
        assert_eq!(
            decision.action.kind,
            ActionKind::StatusChange {
                previous_status: "active".into(),
                status: "disabled".into()
            }
        );
        assert_eq!(decision.action.action_id, "status:player-1:2");
        assert_eq!(
            decision.events[0].event_id,
            "PlayerStatusChanged:player-1:2"
        );
        assert!(matches!(
            &decision.events[0].kind,
            EventKind::PlayerStatusChanged { operator, reason, .. }
                if operator == "staff-7" && reason == "chargeback fraud"
        ));
        // Locked players may not stake or deposit.
        assert!(decision.account.ensure_may_stake_or_deposit(T0).is_err());
    }

    #[test]
    fn asking_for_the_status_it_has_changes_nothing() {
        let mut locked = account();
        locked.disabled = true;
        assert_eq!(
            change_status(&locked, &lock(true), &staff(), "c", T0),
            Ok(None)
        );
        assert_eq!(
            change_status(&account(), &lock(false), &staff(), "c", T0),
            Ok(None)
        );
    }

    #[test]
    fn unlocking_leaves_a_players_own_exclusion_in_force() {
        let mut locked = account();
        locked.disabled = true;
        locked.exclusion = Some(Exclusion {
            kind: ExclusionKind::TimeOut,
            days: 1,
            started_at: T0,
            until: T0.plus_millis(86_400_000),
        });
        let unlocked = change_status(&locked, &lock(false), &staff(), "c", T0)
            .unwrap()
            .unwrap();
        assert_eq!(unlocked.account.status(T0), AccountStatus::Excluded);
        assert_eq!(
            unlocked.action.kind,
            ActionKind::StatusChange {
                previous_status: "disabled".into(),
                status: "excluded".into()
            }
        );
    }

    proptest! {
        /// Any sequence of locks and unlocks: the account ends as the last change asked,
        /// every real change bumps the version once and records one action with a unique
        /// id, and balances never move.
        #[test]
        fn status_changes_only_flip_the_lock(changes in prop::collection::vec(any::<bool>(), 1..30)) {
            let mut current = account();
            current.cash = 1234;
            let mut ids = std::collections::HashSet::new();
            for (n, disabled) in changes.iter().enumerate() {
                let at = T0.plus_millis(n as i64);
                match change_status(&current, &lock(*disabled), &staff(), "c", at).unwrap() {
                    Some(d) => {
                        prop_assert_eq!(d.account.version, current.version + 1);
                        prop_assert!(ids.insert(d.action.action_id.clone()));
                        current = d.account;
                    }
                    None => prop_assert_eq!(current.disabled, *disabled),
                }
                prop_assert_eq!(current.disabled, *disabled);
                prop_assert_eq!(current.cash, 1234);
            }
        }
    }
}
