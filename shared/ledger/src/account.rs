//! A player's account and wallet: one record holding identity, status, balances and the
//! responsible-gambling state the money rules need.

use crate::clock::Timestamp;
use crate::entry::{EntryKind, LedgerEntry};
use crate::error::WalletError;
use crate::exclusion::Exclusion;
use crate::ids::{ClientId, PlayerId};
use crate::limits::{DepositBucket, DepositLimits};
use crate::money::{Balances, Currency, MoneyError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    Active,
    Excluded,
    Disabled,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Excluded => "excluded",
            AccountStatus::Disabled => "disabled",
        }
    }
}

/// The bonus a player holds while wagering it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveBonus {
    pub campaign_id: String,
    pub awarded: i64,
    pub wagering_required: i64,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub player_id: PlayerId,
    pub email: String,
    pub date_of_birth: String,
    pub country: String,
    pub currency: Currency,
    #[serde(default)]
    pub display_name: Option<String>,
    /// Set by the operator; a disabled player can neither deposit nor bet.
    #[serde(default)]
    pub disabled: bool,
    pub created_at: Timestamp,
    /// Fingerprint of the registration request, to tell a replay from a conflict.
    pub registration: String,
    pub cash: i64,
    pub bonus: i64,
    /// Cash held for withdrawals requested and not yet paid, returned or failed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pending_withdrawal: i64,
    #[serde(default)]
    pub wagering_remaining: i64,
    /// The campaign's maximum stake while a bonus is being wagered.
    #[serde(default)]
    pub max_stake_while_wagering: Option<i64>,
    /// The bonus being wagered, if any.
    #[serde(default)]
    pub active_bonus: Option<ActiveBonus>,
    /// Number of ledger entries: the next entry is `seq + 1`.
    pub seq: u64,
    /// Incremented on every write; writes are conditional on the version they read.
    pub version: u64,
    pub updated_at: Timestamp,
    #[serde(default)]
    pub first_deposit_id: Option<ClientId>,
    #[serde(default)]
    pub limits: DepositLimits,
    /// Deposits of the last 30 days by clock hour, for the rolling limit windows: at most
    /// [`crate::limits::MAX_BUCKETS`], so the item stays bounded whatever the activity.
    #[serde(default)]
    pub deposit_buckets: Vec<DepositBucket>,
    #[serde(default)]
    pub exclusion: Option<Exclusion>,
    /// The withdrawal risk rules' facts: cash deposited, and stakes placed (less those
    /// rolled back), since the last paid withdrawal; when the last withdrawals were requested
    /// (those of the last 24 hours, at most [`RECENT_WITHDRAWALS`]). Omitted from the item
    /// while 0 or empty, to keep the wallet small.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub deposited_since_payout: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub staked_since_payout: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent_withdrawals: Vec<Timestamp>,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// The most withdrawal request times a wallet keeps (the velocity rule's window is 24 hours;
/// any threshold above this many is never reached).
pub const RECENT_WITHDRAWALS: usize = 100;

impl Account {
    pub fn balances(&self) -> Balances {
        Balances {
            cash: self.cash,
            bonus: self.bonus,
        }
    }

    pub fn active_exclusion(&self, now: Timestamp) -> Option<&Exclusion> {
        self.exclusion.as_ref().filter(|e| e.is_active(now))
    }

    pub fn status(&self, now: Timestamp) -> AccountStatus {
        if self.disabled {
            AccountStatus::Disabled
        } else if self.active_exclusion(now).is_some() {
            AccountStatus::Excluded
        } else {
            AccountStatus::Active
        }
    }

    /// Deposits and bets need an active player; wins and rollbacks do not ask.
    pub fn ensure_may_stake_or_deposit(&self, now: Timestamp) -> Result<(), WalletError> {
        if self.disabled {
            return Err(WalletError::PlayerBlocked("the account is disabled".into()));
        }
        if let Some(exclusion) = self.active_exclusion(now) {
            let kind = match exclusion.kind {
                crate::exclusion::ExclusionKind::TimeOut => "on a time-out",
                crate::exclusion::ExclusionKind::SelfExclusion => "self-excluded",
            };
            return Err(WalletError::PlayerBlocked(format!(
                "the player is {kind} until {}",
                exclusion.until.to_rfc3339()
            )));
        }
        Ok(())
    }

    pub fn ensure_currency(&self, requested: &Currency) -> Result<(), WalletError> {
        if &self.currency == requested {
            Ok(())
        } else {
            Err(WalletError::CurrencyMismatch {
                wallet: self.currency.to_string(),
                requested: requested.to_string(),
            })
        }
    }

    /// The next version of this account, for any write. `updated_at` tells when money
    /// last moved, so only [`Account::post`] changes it.
    pub fn touched(&self) -> Account {
        let mut next = self.clone();
        next.version = self.version.saturating_add(1);
        next
    }

    /// Moves money: the new account state and the one entry that explains the movement.
    /// Refuses a negative balance (invariant 1) and any overflow.
    pub fn post(
        &self,
        kind: EntryKind,
        cash_delta: i64,
        bonus_delta: i64,
        reference: &str,
        now: Timestamp,
    ) -> Result<(Account, LedgerEntry), WalletError> {
        self.post_with_pending(kind, cash_delta, bonus_delta, 0, reference, now)
    }

    /// [`Account::post`], also moving the pending withdrawal (withdrawal entries).
    pub fn post_with_pending(
        &self,
        kind: EntryKind,
        cash_delta: i64,
        bonus_delta: i64,
        pending_delta: i64,
        reference: &str,
        now: Timestamp,
    ) -> Result<(Account, LedgerEntry), WalletError> {
        let pending_after = self
            .pending_withdrawal
            .checked_add(pending_delta)
            .ok_or_else(|| {
                WalletError::field("/amount", "the pending withdrawal would overflow")
            })?;
        if pending_after < 0 {
            return Err(WalletError::Internal(
                "the pending withdrawal would become negative".into(),
            ));
        }
        let after = self
            .balances()
            .apply(cash_delta, bonus_delta)
            .map_err(|e| match e {
                MoneyError::Negative => {
                    WalletError::InsufficientFunds("the balance would become negative".into())
                }
                MoneyError::Overflow => WalletError::field(
                    "/amount",
                    "the wallet cannot hold that much: the balance would overflow",
                ),
            })?;
        let mut next = self.touched();
        next.updated_at = now.max(self.updated_at);
        next.cash = after.cash;
        next.bonus = after.bonus;
        next.pending_withdrawal = pending_after;
        next.seq = self.seq.saturating_add(1);
        let entry = LedgerEntry {
            entry_id: LedgerEntry::id_for(&self.player_id, next.seq),
            player_id: self.player_id.clone(),
            seq: next.seq,
            kind,
            cash_delta,
            bonus_delta,
            cash_after: after.cash,
            bonus_after: after.bonus,
            pending_delta,
            pending_after,
            reference: reference.to_owned(),
            created_at: next.updated_at,
        };
        Ok((next, entry))
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    pub const T0: Timestamp = Timestamp::from_millis(1_795_392_000_000);

    pub fn account() -> Account {
        Account {
            player_id: PlayerId::new("player-1").unwrap(),
            email: "ada@example.com".into(),
            date_of_birth: "1990-01-01".into(),
            country: "MT".into(),
            currency: Currency::new("EUR").unwrap(),
            display_name: None,
            disabled: false,
            created_at: T0,
            registration: "fingerprint".into(),
            cash: 0,
            bonus: 0,
            wagering_remaining: 0,
            max_stake_while_wagering: None,
            active_bonus: None,
            seq: 0,
            version: 1,
            updated_at: T0,
            first_deposit_id: None,
            limits: DepositLimits::default(),
            deposit_buckets: Vec::new(),
            exclusion: None,
            pending_withdrawal: 0,
            deposited_since_payout: 0,
            staked_since_payout: 0,
            recent_withdrawals: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;
    use crate::exclusion::{exclude, ExclusionKind};

    #[test]
    fn post_moves_money_and_writes_one_entry() {
        let a = account();
        let (b, e) = a
            .post(EntryKind::Deposit, 500, 0, "d1", T0.plus_millis(5))
            .unwrap();
        assert_eq!((b.cash, b.bonus, b.seq, b.version), (500, 0, 1, 2));
        assert_eq!(
            (e.cash_after, e.bonus_after, e.seq, e.amount()),
            (500, 0, 1, 500)
        );
        assert_eq!(e.entry_id, "player-1:000000000001");
        assert_eq!(e.created_at, T0.plus_millis(5));
        assert_eq!(b.updated_at, e.created_at);
    }

    #[test]
    fn post_refuses_negative_balances() {
        let a = account();
        assert_eq!(
            a.post(EntryKind::Bet, -1, 0, "b1", T0).unwrap_err().code(),
            crate::error::ErrorCode::InsufficientFunds
        );
    }

    #[test]
    fn time_never_runs_backwards_in_a_wallet() {
        let a = account();
        let (_, e) = a
            .post(EntryKind::Deposit, 1, 0, "d", T0.minus_millis(1000))
            .unwrap();
        assert_eq!(e.created_at, T0);
    }

    #[test]
    fn status_follows_exclusion_and_disabling() {
        let mut a = account();
        assert_eq!(a.status(T0), AccountStatus::Active);
        a.exclusion = Some(exclude(None, ExclusionKind::TimeOut, 1, T0));
        assert_eq!(a.status(T0), AccountStatus::Excluded);
        assert!(a.ensure_may_stake_or_deposit(T0).is_err());
        let after = T0.plus_millis(crate::clock::DAY_MS);
        assert_eq!(a.status(after), AccountStatus::Active);
        assert!(a.ensure_may_stake_or_deposit(after).is_ok());
        a.disabled = true;
        assert_eq!(a.status(after), AccountStatus::Disabled);
        assert!(a.ensure_may_stake_or_deposit(after).is_err());
    }
}
