//! The account: its two items (wallet and profile) read as one, written as one change, and
//! the operations on the account itself (registration, limits and exclusions).

use crate::apply::{apply_once, Applied, Attempt, Failed};
use crate::items::{
    account_from, account_items, from_item, same_profile, to_item, with_entries, with_events,
};
use crate::keys::{self, ItemType};
use crate::table::{Role, Writes};
use crate::{Commit, Item, Store, StoreError};
use ledger::events::{self, WalletEvent};
use ledger::register::is_same_registration;
use ledger::{Account, LedgerEntry, PlayerId, Timestamp, WalletError};
use serde::{Deserialize, Serialize};

/// The keys of an account's two items, in the order [`take_account`] reads them.
pub(crate) fn account_keys(player: &PlayerId) -> Vec<(String, &'static str)> {
    vec![
        (keys::player_pk(player), keys::WALLET_SK),
        (keys::player_pk(player), keys::PROFILE_SK),
    ]
}

/// The account from the next two items of a snapshot read with [`account_keys`].
pub(crate) fn take_account(
    items: &mut impl Iterator<Item = Option<Item>>,
) -> Result<Option<Account>, StoreError> {
    let wallet = items.next().flatten();
    let profile = items.next().flatten();
    account_from(wallet, profile)
}

/// The change from `read` to `next`: the wallet guarded by the version read (carrying
/// `events`), the profile only when it changed.
pub(crate) fn write_account<'a>(
    writes: Writes<'a>,
    read: &Account,
    next: &Account,
    events: &[WalletEvent],
) -> Result<Writes<'a>, StoreError> {
    let changed_profile = !same_profile(read, next);
    let after = account_items(next)?;
    let writes = writes.replace_at(
        Role::Account,
        with_events(after.wallet, events)?,
        read.version,
    )?;
    if changed_profile {
        writes.replace_existing(Role::Account, after.profile)
    } else {
        Ok(writes)
    }
}

/// Writes nothing to the account; valid only while it is still as read.
pub(crate) fn unchanged<'a>(writes: Writes<'a>, read: &Account) -> Result<Writes<'a>, StoreError> {
    writes.check_version(
        Role::Account,
        keys::player_pk(&read.player_id),
        keys::WALLET_SK,
        read.version,
    )
}

/// An entry no client id's record carries (a bonus forfeited on request, a withdrawal's
/// later transitions) as an item of its own, in the history index.
pub(crate) fn movement_item(entry: &LedgerEntry) -> Result<Item, StoreError> {
    let movement = Movement {
        player_id: &entry.player_id,
        seq: entry.seq,
    };
    with_entries(
        to_item(
            &movement,
            keys::player_pk(&entry.player_id),
            keys::movement_sk(entry.seq),
            ItemType::Movement,
        )?,
        &entry.player_id,
        &[entry],
    )
}

/// What happened to a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    Created,
    PlayerExists(Box<Account>),
    EmailTaken,
}

/// The item of a movement: the entry (in `entries`) is all it holds.
#[derive(Serialize)]
struct Movement<'a> {
    player_id: &'a PlayerId,
    seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct EmailClaim {
    player_id: PlayerId,
    email: String,
}

impl Store {
    /// The player who registered `email` (compared as registration compares it:
    /// case-insensitively), from the email's claim; a consistent read.
    pub async fn player_by_email(&self, email: &str) -> Result<Option<PlayerId>, StoreError> {
        let claim = self
            .item(
                keys::email_pk(&ledger::register::email_key(email)),
                ItemType::Email.sort_key(),
            )
            .await?
            .map(from_item::<EmailClaim>)
            .transpose()?;
        Ok(claim.map(|c| c.player_id))
    }

    /// A consistent read of a player's account (its two items, one snapshot).
    pub async fn account(&self, player: &PlayerId) -> Result<Option<Account>, StoreError> {
        let mut items = self.snapshot(account_keys(player)).await?.into_iter();
        take_account(&mut items)
    }

    /// Creates the account (wallet, carrying `events`, and profile) and claims its email
    /// (case-insensitively) in one transaction.
    pub async fn create_account(
        &self,
        account: &Account,
        events: &[WalletEvent],
    ) -> Result<Created, StoreError> {
        let claim = EmailClaim {
            player_id: account.player_id.clone(),
            email: account.email.clone(),
        };
        let items = account_items(account)?;
        let writes = Writes::new(self)
            .create(Role::Account, with_events(items.wallet, events)?)?
            .create(Role::Account, items.profile)?
            .create(
                Role::Email,
                to_item(
                    &claim,
                    keys::email_pk(&ledger::register::email_key(&account.email)),
                    ItemType::Email.sort_key().into(),
                    ItemType::Email,
                )?,
            )?;
        match self.transact(writes).await? {
            None => Ok(Created::Created),
            Some(cancelled) if cancelled.failed(Role::Account) => {
                match self.account(&account.player_id).await? {
                    Some(existing) => Ok(Created::PlayerExists(Box::new(existing))),
                    None => Err(StoreError::Corrupt(
                        "an account was reported and then not found".into(),
                    )),
                }
            }
            Some(cancelled) if cancelled.failed(Role::Email) => Ok(Created::EmailTaken),
            // A conflict with a concurrent registration: the caller retries with the same
            // body and gets the account or the refusal.
            Some(cancelled) => {
                cancelled.commit()?;
                Err(StoreError::Contention(1))
            }
        }
    }

    /// A movement of money no client id caused (a bonus forfeited on request): the
    /// account's change and, when money moved, its entry as a movement item.
    pub async fn commit_movement(
        &self,
        read: &Account,
        next: &Account,
        entry: Option<&LedgerEntry>,
        events: &[WalletEvent],
    ) -> Result<Commit, StoreError> {
        let mut writes = write_account(Writes::new(self), read, next, events)?;
        if let Some(entry) = entry {
            writes = writes.create(Role::New, movement_item(entry)?)?;
        }
        self.commit(writes).await
    }

    /// A client id's record alone (a business rejection, a declined award), valid only while
    /// the account is still as read: the id stays bound to that answer (invariant 7).
    pub(crate) async fn commit_id_only(
        &self,
        read: &Account,
        record: Item,
    ) -> Result<Commit, StoreError> {
        let writes = unchanged(Writes::new(self), read)?.create(Role::Id, record)?;
        self.commit(writes).await
    }

    /// Writes a new version of an account read as `read` (no events).
    pub async fn update_account(
        &self,
        read: &Account,
        next: &Account,
    ) -> Result<Commit, StoreError> {
        self.commit(write_account(Writes::new(self), read, next, &[])?)
            .await
    }
}

/// Registers a new account; the same request again answers with the existing account.
pub async fn register(
    store: &Store,
    candidate: Account,
    correlation_id: &str,
) -> Result<Applied<Account>, WalletError> {
    let events = [events::player_registered(&candidate, correlation_id)];
    match store.create_account(&candidate, &events).await? {
        Created::Created => Ok(Applied::new(candidate.clone(), candidate)),
        Created::PlayerExists(existing) if is_same_registration(&existing, &candidate) => {
            Ok(Applied::replay((*existing).clone(), *existing))
        }
        Created::PlayerExists(_) => Err(WalletError::PlayerExists),
        Created::EmailTaken => Err(WalletError::EmailTaken),
    }
}

/// Changes an account (limits, exclusions): `decide` returns the new account, or `None`
/// when nothing changes, and the answer.
pub async fn update_account<T>(
    store: &Store,
    player: &PlayerId,
    now: impl Fn() -> Timestamp,
    decide: impl Fn(&Account, Timestamp) -> Result<(Option<Account>, T), WalletError>,
) -> Result<Applied<T>, Failed> {
    apply_once(|| async {
        let account = store
            .account(player)
            .await?
            .ok_or_else(|| Failed::player_not_found(player))?;
        let (next, outcome) =
            decide(&account, now()).map_err(|e| Failed::new(e, Some(account.clone())))?;
        let Some(next) = next else {
            return Ok(Attempt::done(Applied::new(outcome, account)));
        };
        let commit = store.update_account(&account, &next).await?;
        Ok(Attempt::after(commit, || Applied::new(outcome, next)))
    })
    .await
}
