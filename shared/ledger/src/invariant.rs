//! The wallet invariants of WALLET-RULES, named once and checked here. Rules call them in
//! tests; the audit calls them on the stored data.

use crate::account::Account;
use crate::entry::LedgerEntry;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    #[error("invariant 1: player {player}: negative balance (cash {cash}, bonus {bonus}, pending withdrawal {pending})")]
    NegativeBalance {
        player: String,
        cash: i64,
        bonus: i64,
        pending: i64,
    },
    #[error("invariant 2: player {player}: balances (cash {cash}, bonus {bonus}, pending withdrawal {pending}) differ from the sums of its entries (cash {entries_cash}, bonus {entries_bonus}, pending withdrawal {entries_pending})")]
    BalanceMismatch {
        player: String,
        cash: i64,
        bonus: i64,
        pending: i64,
        entries_cash: i64,
        entries_bonus: i64,
        entries_pending: i64,
    },
    #[error("invariant 2: player {player}: entry {seq} does not follow from the one before it")]
    BrokenChain { player: String, seq: u64 },
    #[error("invariant 2: player {player}: the wallet counts {expected} entries, {found} were found in order")]
    MissingEntries {
        player: String,
        expected: u64,
        found: u64,
    },
    #[error("invariant 3: id {reference} moved money {times} times")]
    AppliedTwice { reference: String, times: usize },
}

/// Invariant 1: no balance is ever negative.
pub fn no_negative_balance(account: &Account) -> Result<(), Violation> {
    if account.cash < 0 || account.bonus < 0 || account.pending_withdrawal < 0 {
        return Err(Violation::NegativeBalance {
            player: account.player_id.to_string(),
            cash: account.cash,
            bonus: account.bonus,
            pending: account.pending_withdrawal,
        });
    }
    Ok(())
}

/// Invariant 2: the balances equal the sums of the wallet's entries, and the entries form
/// an unbroken chain (`seq` 1..=n, each `*_after` the previous plus its movement).
/// `entries` must be the wallet's entries in ascending `seq`.
pub fn balance_equals_entries(account: &Account, entries: &[LedgerEntry]) -> Result<(), Violation> {
    let player = account.player_id.to_string();
    let (mut cash, mut bonus, mut pending) = (0i128, 0i128, 0i128);
    for (index, entry) in entries.iter().enumerate() {
        let expected_seq = u64::try_from(index).unwrap_or(u64::MAX).saturating_add(1);
        if entry.seq != expected_seq {
            return Err(Violation::MissingEntries {
                player,
                expected: account.seq,
                found: u64::try_from(index).unwrap_or(u64::MAX),
            });
        }
        cash += i128::from(entry.cash_delta);
        bonus += i128::from(entry.bonus_delta);
        pending += i128::from(entry.pending_delta);
        if i128::from(entry.cash_after) != cash
            || i128::from(entry.bonus_after) != bonus
            || i128::from(entry.pending_after) != pending
        {
            return Err(Violation::BrokenChain {
                player,
                seq: entry.seq,
            });
        }
    }
    let found = u64::try_from(entries.len()).unwrap_or(u64::MAX);
    if found != account.seq {
        return Err(Violation::MissingEntries {
            player,
            expected: account.seq,
            found,
        });
    }
    if i128::from(account.cash) != cash
        || i128::from(account.bonus) != bonus
        || i128::from(account.pending_withdrawal) != pending
    {
        return Err(Violation::BalanceMismatch {
            player,
            cash: account.cash,
            bonus: account.bonus,
            pending: account.pending_withdrawal,
            entries_cash: i64::try_from(cash).unwrap_or(i64::MAX),
            entries_bonus: i64::try_from(bonus).unwrap_or(i64::MAX),
            entries_pending: i64::try_from(pending).unwrap_or(i64::MAX),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::fixtures::{account, T0};
    use crate::entry::EntryKind;

    #[test]
    fn detects_each_kind_of_violation() {
        let a = account();
        let (b, e1) = a.post(EntryKind::Deposit, 100, 0, "d1", T0).unwrap();
        let (c, e2) = b.post(EntryKind::Deposit, 50, 0, "d2", T0).unwrap();
        assert_eq!(
            balance_equals_entries(&c, &[e1.clone(), e2.clone()]),
            Ok(())
        );

        let mut wrong = c.clone();
        wrong.cash += 1;
        assert!(matches!(
            balance_equals_entries(&wrong, &[e1.clone(), e2.clone()]),
            Err(Violation::BalanceMismatch { .. })
        ));
        assert!(matches!(
            balance_equals_entries(&c, std::slice::from_ref(&e1)),
            Err(Violation::MissingEntries { .. })
        ));
        assert!(matches!(
            balance_equals_entries(&c, std::slice::from_ref(&e2)),
            Err(Violation::MissingEntries { .. })
        ));
        let mut tampered = e2.clone();
        tampered.cash_after += 5;
        assert!(matches!(
            balance_equals_entries(&c, &[e1, tampered]),
            Err(Violation::BrokenChain { .. })
        ));

        let mut negative = c;
        negative.bonus = -1;
        assert!(no_negative_balance(&negative).is_err());
    }
}
