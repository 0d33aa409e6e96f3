//! Bets: exactly once per bet id (across all players), forever. One snapshot (the account
//! and the id's record), one decision, one transaction: the wallet (carrying the events)
//! and the bet record carrying the stake's entries.

use crate::account::{account_keys, take_account, write_account};
use crate::apply::{apply_once, rejected, replayed, Applied, Attempt, Failed};
use crate::items::{from_item, to_item, with_entries};
use crate::keys::{self, ItemType};
use crate::table::{Role, Writes};
use crate::{Commit, Item, Store, StoreError};
use ledger::bet::{self, BetCommand, BetDecision, BetOutcome, BetRecord};
use ledger::events::WalletEvent;
use ledger::{Account, ClientId, LedgerEntry, PlayerId, Timestamp};

/// What a bet reads, as one snapshot.
#[derive(Debug, Clone)]
pub struct BetRead {
    pub account: Option<Account>,
    pub record: Option<BetRecord>,
}

/// A bet record as its item (with the entries it records).
pub(crate) fn bet_item(record: &BetRecord, entries: &[&LedgerEntry]) -> Result<Item, StoreError> {
    with_entries(
        to_item(
            record,
            keys::bet_pk(&record.bet_id),
            ItemType::Bet.sort_key().into(),
            ItemType::Bet,
        )?,
        &record.player_id,
        entries,
    )
}

impl Store {
    /// The account and the record of a bet id, as one snapshot.
    pub async fn bet_read(
        &self,
        player: &PlayerId,
        bet_id: &ClientId,
    ) -> Result<BetRead, StoreError> {
        let mut keys = account_keys(player);
        keys.push((keys::bet_pk(bet_id), ItemType::Bet.sort_key()));
        let mut items = self.snapshot(keys).await?.into_iter();
        Ok(BetRead {
            account: take_account(&mut items)?,
            record: items.next().flatten().map(from_item).transpose()?,
        })
    }

    /// A bet's record (consistent read).
    pub async fn bet(&self, bet_id: &ClientId) -> Result<Option<BetRecord>, StoreError> {
        self.item(keys::bet_pk(bet_id), ItemType::Bet.sort_key())
            .await?
            .map(from_item)
            .transpose()
    }

    /// A placed bet: the account's change and the bet record with its entries, all or
    /// nothing.
    pub async fn commit_bet(
        &self,
        read: &Account,
        decision: &BetDecision,
        events: &[WalletEvent],
    ) -> Result<Commit, StoreError> {
        let writes = write_account(Writes::new(self), read, &decision.account, events)?
            .create(Role::Id, bet_item(&decision.record, &decision.entries())?)?;
        self.commit(writes).await
    }

    /// A refused bet: its record, valid only if the account is still as read.
    pub async fn record_bet_rejection(
        &self,
        read: &Account,
        record: &BetRecord,
    ) -> Result<Commit, StoreError> {
        self.commit_id_only(read, bet_item(record, &[])?).await
    }
}

/// A bet, exactly once per bet id (across all players), forever.
pub async fn place_bet(
    store: &Store,
    command: &BetCommand,
    correlation_id: &str,
    now: impl Fn() -> Timestamp,
) -> Result<Applied<BetOutcome>, Failed> {
    apply_once(|| async {
        let read = store.bet_read(&command.player_id, &command.bet_id).await?;
        let account = read
            .account
            .ok_or_else(|| Failed::player_not_found(&command.player_id))?;
        if let Some(record) = read.record {
            return replayed(record.replay(command), account);
        }
        match bet::place_bet(&account, command, now()) {
            Ok(decision) => {
                let events = decision.events(correlation_id);
                let commit = store.commit_bet(&account, &decision, &events).await?;
                Ok(Attempt::after(commit, || {
                    Applied::new(decision.outcome, decision.account)
                }))
            }
            Err(error) if error.is_stable_rejection() => {
                let record = BetRecord::rejected(command, &error);
                let commit = store.record_bet_rejection(&account, &record).await?;
                rejected(commit, error, account)
            }
            Err(error) => Err(Failed::new(error, Some(account))),
        }
    })
    .await
}
