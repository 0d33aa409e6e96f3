//! Deposits (WALLET-RULES "Deposits"): credit cash, mark the first one, refuse a deposit
//! that would exceed any rolling limit whole, refuse blocked players.

use crate::account::Account;
use crate::api::DepositRequest;
use crate::clock::Timestamp;
use crate::entry::{EntryKind, LedgerEntry};
use crate::error::{Problems, WalletError};
use crate::idempotency::{duplicate, Recorded};
use crate::ids::{ClientId, PlayerId};
use crate::limits::{check_deposit, record_deposit};
use crate::money::{Amount, Currency};
pub use crate::outcome::DepositOutcome;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositCommand {
    pub player_id: PlayerId,
    pub deposit_id: ClientId,
    pub amount: Amount,
    pub currency: Currency,
}

impl DepositCommand {
    pub fn from_request(
        player_id: &PlayerId,
        request: &DepositRequest,
    ) -> Result<DepositCommand, WalletError> {
        let mut problems = Problems::new();
        let deposit_id = problems.check(ClientId::parse("/deposit_id", &request.deposit_id));
        let amount = problems.check(Amount::parse("/amount", request.amount));
        let currency = problems.check(Currency::parse("/currency", &request.currency));
        problems.into_result()?;
        match (deposit_id, amount, currency) {
            (Some(deposit_id), Some(amount), Some(currency)) => Ok(DepositCommand {
                player_id: player_id.clone(),
                deposit_id,
                amount,
                currency,
            }),
            _ => Err(WalletError::Internal(
                "validation passed without values".into(),
            )),
        }
    }
}

/// The decision for one deposit: the account to write, its entry, and the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositDecision {
    pub account: Account,
    pub entry: LedgerEntry,
    pub outcome: DepositOutcome,
    /// An expired bonus forfeited first (forfeit on next touch).
    pub bonus_changes: Vec<crate::bonus::BonusChange>,
}

impl DepositDecision {
    /// Every entry the decision writes, in sequence order.
    pub fn entries(&self) -> Vec<&LedgerEntry> {
        crate::bonus::entries_in_order(&self.bonus_changes, Some(&self.entry))
    }

    /// `DepositCompleted`, then the events of any bonus it found expired.
    pub fn events(&self, correlation_id: &str) -> Vec<crate::events::WalletEvent> {
        let player = &self.account.player_id;
        let mut all = vec![crate::events::deposit_completed(
            player,
            &self.outcome,
            correlation_id,
        )];
        all.extend(crate::bonus::change_events(
            &self.bonus_changes,
            player,
            self.account.version,
            self.outcome.created_at,
            correlation_id,
        ));
        all
    }
}

pub fn deposit(
    account: &Account,
    command: &DepositCommand,
    now: Timestamp,
) -> Result<DepositDecision, WalletError> {
    if account.player_id != command.player_id {
        return Err(WalletError::Internal(
            "deposit decided against another player's account".into(),
        ));
    }
    let now = now.max(account.updated_at);
    account.ensure_currency(&command.currency)?;
    account.ensure_may_stake_or_deposit(now)?;
    let (expired_account, expired) = crate::bonus::expire_first(account, now)?;
    let account = &expired_account;
    let amount = command.amount.minor();
    let limits = account.limits.at(now);
    check_deposit(&limits.current, &account.deposit_buckets, amount, now).map_err(|breach| {
        WalletError::DepositLimitReached(format!(
            "the {} deposit limit is {}; {} was deposited in its window, so at most {} more can be deposited now",
            breach.period.as_str(),
            breach.limit,
            breach.used,
            breach.remaining()
        ))
    })?;
    let (mut next, entry) = account.post(
        EntryKind::Deposit,
        amount,
        0,
        command.deposit_id.as_str(),
        now,
    )?;
    let first_deposit = account.first_deposit_id.is_none();
    if first_deposit {
        next.first_deposit_id = Some(command.deposit_id.clone());
    }
    next.limits = limits;
    next.deposit_buckets = record_deposit(&account.deposit_buckets, amount, now);
    next.deposited_since_payout = account.deposited_since_payout.saturating_add(amount);
    let outcome = DepositOutcome {
        deposit_id: command.deposit_id.clone(),
        amount,
        currency: command.currency.clone(),
        first_deposit,
        entry_id: entry.entry_id.clone(),
        created_at: entry.created_at,
    };
    Ok(DepositDecision {
        account: next,
        entry,
        outcome,
        bonus_changes: expired.into_iter().collect(),
    })
}

/// The permanent record of a deposit id: the payload that used it and what was decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositRecord {
    pub deposit_id: ClientId,
    pub player_id: PlayerId,
    pub amount: i64,
    pub currency: Currency,
    pub recorded: Recorded<DepositOutcome>,
}

impl DepositRecord {
    pub fn new(command: &DepositCommand, recorded: Recorded<DepositOutcome>) -> DepositRecord {
        DepositRecord {
            deposit_id: command.deposit_id.clone(),
            player_id: command.player_id.clone(),
            amount: command.amount.minor(),
            currency: command.currency.clone(),
            recorded,
        }
    }

    /// Answers a request that reuses this id: its original outcome if the payload is the
    /// same (player, amount, currency), `DUPLICATE_TRANSACTION` otherwise.
    pub fn replay(&self, command: &DepositCommand) -> Result<DepositOutcome, WalletError> {
        let same = self.deposit_id == command.deposit_id
            && self.player_id == command.player_id
            && self.amount == command.amount.minor()
            && self.currency == command.currency;
        if !same {
            return Err(duplicate("deposit_id", command.deposit_id.as_str()));
        }
        self.recorded.replay()
    }
}

/// A bonus trigger is checked against the deposit it names (here, beside the deposit's
/// record, so that `bonus` need not know deposits).
impl crate::bonus::TriggeringDeposit {
    /// An event is believed only if the wallet's own record agrees: an accepted first
    /// deposit of this player, with this amount and currency. Anyone able to put a forged
    /// `DepositCompleted` on the bus or the queue gets nothing from it.
    pub fn confirm(
        &self,
        player: &PlayerId,
        record: Option<&DepositRecord>,
    ) -> Result<(), WalletError> {
        let confirmed = record.is_some_and(|r| {
            r.player_id == *player
                && r.amount == self.amount
                && r.currency.as_str() == self.currency
                && matches!(
                    &r.recorded,
                    crate::idempotency::Recorded::Accepted { outcome } if outcome.first_deposit
                )
        });
        if confirmed {
            Ok(())
        } else {
            Err(WalletError::field(
                "/detail",
                format!(
                    "no accepted first deposit {} of {} {} for player {player} matches this event",
                    self.deposit_id, self.amount, self.currency
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::fixtures::{account, T0};
    use crate::clock::{DAY_MS, HOUR_MS};
    use crate::error::ErrorCode;
    use crate::exclusion::{exclude, ExclusionKind};
    use crate::limits::{LimitChange, LimitPeriod, LimitValues};
    use proptest::prelude::*;

    fn command(id: &str, amount: i64) -> DepositCommand {
        DepositCommand {
            player_id: PlayerId::new("player-1").unwrap(),
            deposit_id: ClientId::new(id).unwrap(),
            amount: Amount::new(amount).unwrap(),
            currency: Currency::new("EUR").unwrap(),
        }
    }

    fn trigger(amount: i64) -> crate::bonus::TriggeringDeposit {
        crate::bonus::TriggeringDeposit {
            event_id: "DepositCompleted:d1".into(),
            deposit_id: "d1".into(),
            amount,
            currency: "EUR".into(),
        }
    }

    #[test]
    fn a_trigger_is_believed_only_when_the_deposit_record_agrees() {
        let a = account();
        let request = DepositRequest {
            deposit_id: "d1".into(),
            amount: 5000,
            currency: "EUR".into(),
        };
        let command = DepositCommand::from_request(&a.player_id, &request).unwrap();
        let outcome = deposit(&a, &command, T0).unwrap().outcome;
        let record = DepositRecord::new(
            &command,
            Recorded::Accepted {
                outcome: outcome.clone(),
            },
        );
        let player = a.player_id.clone();
        assert!(trigger(5000).confirm(&player, Some(&record)).is_ok());
        assert!(trigger(5000).confirm(&player, None).is_err(), "no record");
        assert!(
            trigger(9000).confirm(&player, Some(&record)).is_err(),
            "another amount"
        );
        let other = PlayerId::new("player-2").unwrap();
        assert!(
            trigger(5000).confirm(&other, Some(&record)).is_err(),
            "another player"
        );
        let mut second = outcome;
        second.first_deposit = false;
        let not_first = DepositRecord::new(&command, Recorded::Accepted { outcome: second });
        assert!(trigger(5000).confirm(&player, Some(&not_first)).is_err());
        let refused = DepositRecord::new(
            &command,
            Recorded::Rejected {
                code: crate::ErrorCode::DepositLimitReached,
                detail: "limit".into(),
            },
        );
        assert!(trigger(5000).confirm(&player, Some(&refused)).is_err());
    }

    #[test]
    fn credits_cash_and_marks_only_the_first_deposit() {
        let a = account();
        let first = deposit(&a, &command("d1", 1000), T0).unwrap();
        assert!(first.outcome.first_deposit);
        assert_eq!(
            (
                first.account.cash,
                first.entry.cash_after,
                first.entry.amount()
            ),
            (1000, 1000, 1000)
        );
        let second = deposit(&first.account, &command("d2", 250), T0.plus_millis(1)).unwrap();
        assert!(!second.outcome.first_deposit);
        assert_eq!(second.account.cash, 1250);
        assert_eq!(second.entry.seq, 2);
        assert_eq!(second.account.version, first.account.version + 1);
    }

    #[test]
    fn refuses_another_currency() {
        let mut c = command("d1", 10);
        c.currency = Currency::new("GBP").unwrap();
        assert_eq!(
            deposit(&account(), &c, T0).unwrap_err().code(),
            ErrorCode::CurrencyMismatch
        );
    }

    #[test]
    fn refuses_blocked_players() {
        let mut a = account();
        a.exclusion = Some(exclude(None, ExclusionKind::SelfExclusion, 183, T0));
        assert_eq!(
            deposit(&a, &command("d1", 10), T0).unwrap_err().code(),
            ErrorCode::PlayerBlocked
        );
        let mut a = account();
        a.disabled = true;
        assert_eq!(
            deposit(&a, &command("d1", 10), T0).unwrap_err().code(),
            ErrorCode::PlayerBlocked
        );
    }

    #[test]
    fn a_deposit_over_a_limit_is_refused_whole_and_the_window_rolls() {
        let mut a = account();
        a.limits = a.limits.change(
            LimitPeriod::ALL.map(|p| {
                (
                    p,
                    if p == LimitPeriod::Daily {
                        LimitChange::Set(1000)
                    } else {
                        LimitChange::Keep
                    },
                )
            }),
            T0,
        );
        let d1 = deposit(&a, &command("d1", 800), T0).unwrap();
        let err = deposit(&d1.account, &command("d2", 201), T0.plus_millis(HOUR_MS)).unwrap_err();
        assert_eq!(err.code(), ErrorCode::DepositLimitReached);
        assert!(err.to_string().contains("at most 200 more"), "{err}");
        assert!(deposit(&d1.account, &command("d2", 200), T0.plus_millis(HOUR_MS)).is_ok());
        // The window rolls by whole clock hours, erring toward the limit: the hour of d1
        // counts until the hour that starts 24 h after it.
        assert!(deposit(&d1.account, &command("d2", 1000), T0.plus_millis(DAY_MS)).is_err());
        assert!(deposit(
            &d1.account,
            &command("d2", 1000),
            T0.plus_millis(DAY_MS + HOUR_MS)
        )
        .is_ok());
    }

    #[test]
    fn a_raised_limit_counts_only_after_24_hours() {
        let mut a = account();
        a.limits = crate::limits::DepositLimits::starting_with(LimitValues {
            daily: Some(100),
            weekly: None,
            monthly: None,
        });
        a.limits = a.limits.change(
            LimitPeriod::ALL.map(|p| {
                (
                    p,
                    if p == LimitPeriod::Daily {
                        LimitChange::Set(1000)
                    } else {
                        LimitChange::Keep
                    },
                )
            }),
            T0,
        );
        assert_eq!(
            deposit(&a, &command("d1", 500), T0.plus_millis(HOUR_MS))
                .unwrap_err()
                .code(),
            ErrorCode::DepositLimitReached
        );
        let later = deposit(&a, &command("d1", 500), T0.plus_millis(DAY_MS)).unwrap();
        assert_eq!(later.account.limits.current.daily, Some(1000));
        assert!(later.account.limits.pending.is_empty());
    }

    #[test]
    fn replays_answer_from_the_record() {
        let d = deposit(&account(), &command("d1", 500), T0).unwrap();
        let record = DepositRecord::new(
            &command("d1", 500),
            Recorded::Accepted {
                outcome: d.outcome.clone(),
            },
        );
        assert_eq!(record.replay(&command("d1", 500)), Ok(d.outcome));
        assert_eq!(
            record.replay(&command("d1", 501)).unwrap_err().code(),
            ErrorCode::DuplicateTransaction
        );
        let mut other_player = command("d1", 500);
        other_player.player_id = PlayerId::new("player-2").unwrap();
        assert_eq!(
            record.replay(&other_player).unwrap_err().code(),
            ErrorCode::DuplicateTransaction
        );
        let mut other_currency = command("d1", 500);
        other_currency.currency = Currency::new("USD").unwrap();
        assert_eq!(
            record.replay(&other_currency).unwrap_err().code(),
            ErrorCode::DuplicateTransaction
        );
    }

    #[test]
    fn a_recorded_rejection_stays_rejected() {
        let err = WalletError::DepositLimitReached("limit".into());
        let record = DepositRecord::new(&command("d1", 500), Recorded::rejection(&err));
        assert_eq!(record.replay(&command("d1", 500)), Err(err));
    }

    proptest! {
        /// Folding any sequence of deposits (with retried ids) through the rules keeps
        /// every balance non-negative, equal to the sum of its entries, and applies each
        /// id at most once.
        #[test]
        fn balance_is_the_sum_of_entries_and_ids_apply_once(
            ops in proptest::collection::vec((0u8..12, 1i64..1_000_000, 0i64..(2 * HOUR_MS)), 1..80),
            daily in proptest::option::of(1i64..3_000_000),
        ) {
            let mut a = account();
            a.limits = crate::limits::DepositLimits::starting_with(LimitValues { daily, weekly: None, monthly: None });
            let mut now = T0;
            let mut records: std::collections::HashMap<String, DepositRecord> = Default::default();
            let mut entries = Vec::new();
            for (id, amount, advance) in ops {
                now = now.plus_millis(advance);
                let c = command(&format!("d{id}"), amount);
                if let Some(record) = records.get(c.deposit_id.as_str()) {
                    let _ = record.replay(&c);
                    continue;
                }
                match deposit(&a, &c, now) {
                    Ok(d) => {
                        records.insert(c.deposit_id.to_string(), DepositRecord::new(&c, Recorded::Accepted { outcome: d.outcome }));
                        entries.push(d.entry);
                        a = d.account;
                    }
                    Err(e) => {
                        prop_assert!(e.is_stable_rejection(), "{e}");
                        records.insert(c.deposit_id.to_string(), DepositRecord::new(&c, Recorded::rejection(&e)));
                    }
                }
                prop_assert!(crate::invariant::no_negative_balance(&a).is_ok());
                prop_assert!(crate::invariant::balance_equals_entries(&a, &entries).is_ok());
            }
            let mut refs: Vec<_> = entries.iter().map(|e| e.reference.clone()).collect();
            refs.sort();
            let before = refs.len();
            refs.dedup();
            prop_assert_eq!(before, refs.len());
        }
    }
}
