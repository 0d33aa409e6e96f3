//! Immutable ledger entries (invariant 5): every movement of money is one entry that
//! records both balances after it, so a wallet's history explains its balance.

use crate::clock::Timestamp;
use crate::ids::PlayerId;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Deposit,
    Bet,
    Win,
    Rollback,
    BonusAward,
    BonusRelease,
    BonusForfeit,
    /// A withdrawal requested: cash moves to the pending withdrawal.
    Withdrawal,
    /// A withdrawal cancelled, rejected or failed: the pending amount returns to cash.
    WithdrawalReturned,
    /// A withdrawal paid out: the pending amount leaves the wallet for good.
    WithdrawalPaid,
}

impl EntryKind {
    /// Whether the entry moves the pending withdrawal.
    pub fn is_withdrawal(self) -> bool {
        matches!(
            self,
            EntryKind::Withdrawal | EntryKind::WithdrawalReturned | EntryKind::WithdrawalPaid
        )
    }
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub entry_id: String,
    pub player_id: PlayerId,
    /// Position in the wallet's history, from 1, without gaps.
    pub seq: u64,
    pub kind: EntryKind,
    /// Signed movements of each balance; `amount` in the API is their sum.
    pub cash_delta: i64,
    pub bonus_delta: i64,
    pub cash_after: i64,
    pub bonus_after: i64,
    /// Movement of the pending withdrawal and its balance after (withdrawal entries; 0 and
    /// omitted from the item otherwise).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pending_delta: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pending_after: i64,
    /// The client id that caused the entry (deposit id, bet id, settlement id, ...).
    pub reference: String,
    pub created_at: Timestamp,
}

impl LedgerEntry {
    pub fn id_for(player_id: &PlayerId, seq: u64) -> String {
        format!("{player_id}:{seq:012}")
    }

    /// The entry's total signed amount: the change of the player's funds (cash, bonus and
    /// pending withdrawal together). A withdrawal request moves cash to pending (0 in all);
    /// its payout takes the pending amount out (negative). Every part is bounded by balances
    /// that fit in an `i64`, so the sum saturates only on corrupted data.
    pub fn amount(&self) -> i64 {
        self.cash_delta
            .saturating_add(self.bonus_delta)
            .saturating_add(self.pending_delta)
    }
}
