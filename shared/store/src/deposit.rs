//! Deposits: exactly once per deposit id, forever. One snapshot (the account and the id's
//! record), one decision, one transaction: the wallet (carrying the events), the profile
//! when the deposit windows moved, and the id record carrying the entries.

use crate::account::{account_keys, take_account, write_account};
use crate::apply::{apply_once, rejected, replayed, Applied, Attempt, Failed};
use crate::items::{from_item, to_item, with_entries};
use crate::keys::{self, ItemType};
use crate::table::{Role, Writes};
use crate::{Commit, Store, StoreError};
use ledger::deposit::{deposit, DepositCommand, DepositDecision, DepositOutcome, DepositRecord};
use ledger::events::WalletEvent;
use ledger::idempotency::Recorded;
use ledger::{Account, ClientId, LedgerEntry, PlayerId, Timestamp};

/// What a deposit reads, as one snapshot.
#[derive(Debug, Clone)]
pub struct DepositRead {
    pub account: Option<Account>,
    pub record: Option<DepositRecord>,
}

impl Store {
    /// The account and the record of a deposit id, as one snapshot.
    pub async fn deposit_read(
        &self,
        player: &PlayerId,
        deposit_id: &ClientId,
    ) -> Result<DepositRead, StoreError> {
        let mut keys = account_keys(player);
        keys.push((keys::deposit_pk(deposit_id), ItemType::Deposit.sort_key()));
        let mut items = self.snapshot(keys).await?.into_iter();
        Ok(DepositRead {
            account: take_account(&mut items)?,
            record: items.next().flatten().map(from_item).transpose()?,
        })
    }

    /// An accepted deposit: the account's change and the id record with its entries, all
    /// or nothing.
    pub async fn commit_deposit(
        &self,
        read: &Account,
        decision: &DepositDecision,
        record: &DepositRecord,
        events: &[WalletEvent],
    ) -> Result<Commit, StoreError> {
        let writes = write_account(Writes::new(self), read, &decision.account, events)?;
        let writes = writes.create(Role::Id, record_item(record, &decision.entries())?)?;
        self.commit(writes).await
    }

    /// A rejected deposit: the id record, valid only if the account is still as read.
    pub async fn record_deposit_rejection(
        &self,
        read: &Account,
        record: &DepositRecord,
    ) -> Result<Commit, StoreError> {
        self.commit_id_only(read, record_item(record, &[])?).await
    }
}

fn record_item(
    record: &DepositRecord,
    entries: &[&LedgerEntry],
) -> Result<crate::Item, StoreError> {
    with_entries(
        to_item(
            record,
            keys::deposit_pk(&record.deposit_id),
            ItemType::Deposit.sort_key().into(),
            ItemType::Deposit,
        )?,
        &record.player_id,
        entries,
    )
}

/// A deposit, exactly once per deposit id, forever.
pub async fn deposit_funds(
    store: &Store,
    command: &DepositCommand,
    correlation_id: &str,
    now: impl Fn() -> Timestamp,
) -> Result<Applied<DepositOutcome>, Failed> {
    apply_once(|| async {
        let read = store
            .deposit_read(&command.player_id, &command.deposit_id)
            .await?;
        let account = read
            .account
            .ok_or_else(|| Failed::player_not_found(&command.player_id))?;
        if let Some(record) = read.record {
            return replayed(record.replay(command), account);
        }
        match deposit(&account, command, now()) {
            Ok(decision) => {
                let record = DepositRecord::new(
                    command,
                    Recorded::Accepted {
                        outcome: decision.outcome.clone(),
                    },
                );
                let events = decision.events(correlation_id);
                let commit = store
                    .commit_deposit(&account, &decision, &record, &events)
                    .await?;
                Ok(Attempt::after(commit, || {
                    Applied::new(decision.outcome, decision.account)
                }))
            }
            Err(error) if error.is_stable_rejection() => {
                let record = DepositRecord::new(command, Recorded::rejection(&error));
                let commit = store.record_deposit_rejection(&account, &record).await?;
                rejected(commit, error, account)
            }
            Err(error) => Err(Failed::new(error, Some(account))),
        }
    })
    .await
}
