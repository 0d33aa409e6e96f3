//! Settlements: exactly once per settlement id, forever; the HTTP route and the settlement
//! queue both come here. One snapshot (the account, the bet's record and the settlement
//! id's record), one decision, one transaction: the settlement record first (a taken id
//! means replay) carrying the entries, then whatever the decision changes — the bet
//! (guarded by the version read, or created as a tombstone) and the wallet (guarded by
//! its version). The events ride on the wallet, or on the settlement record when no money
//! moves.

use crate::account::{account_keys, take_account, write_account};
use crate::apply::{apply_once, replayed, Applied, Attempt, Failed};
use crate::bet::bet_item;
use crate::items::{from_item, keep_entries, to_item, with_entries, with_events};
use crate::keys::{self, ItemType};
use crate::table::{Role, Writes};
use crate::{Commit, Item, Store, StoreError};
use ledger::bet::BetRecord;
use ledger::events::WalletEvent;
use ledger::settlement::{
    self, SettleDecision, SettlementCommand, SettlementOutcome, SettlementRecord,
};
use ledger::{Account, ClientId, PlayerId, Timestamp};

/// What a settlement reads, as one snapshot. The bet's item is kept as read: its entries
/// stay on it when the settlement closes the bet.
#[derive(Debug, Clone)]
pub struct SettlementRead {
    pub account: Option<Account>,
    pub bet: Option<BetRecord>,
    pub bet_item: Option<Item>,
    pub record: Option<SettlementRecord>,
}

impl Store {
    /// The account, the bet's record and the settlement id's record, as one snapshot.
    pub async fn settlement_read(
        &self,
        player: &PlayerId,
        bet_id: &ClientId,
        settlement_id: &ClientId,
    ) -> Result<SettlementRead, StoreError> {
        let mut keys = account_keys(player);
        keys.push((keys::bet_pk(bet_id), ItemType::Bet.sort_key()));
        keys.push((
            keys::settlement_pk(settlement_id),
            ItemType::Settlement.sort_key(),
        ));
        let mut items = self.snapshot(keys).await?.into_iter();
        let account = take_account(&mut items)?;
        let bet_item = items.next().flatten();
        Ok(SettlementRead {
            account,
            bet: bet_item.clone().map(from_item).transpose()?,
            bet_item,
            record: items.next().flatten().map(from_item).transpose()?,
        })
    }

    /// A settlement, all or nothing.
    pub async fn commit_settlement(
        &self,
        read: &SettlementRead,
        account: &Account,
        decision: &SettleDecision,
        record: &SettlementRecord,
        events: &[WalletEvent],
    ) -> Result<Commit, StoreError> {
        let mut settlement = with_entries(
            to_item(
                record,
                keys::settlement_pk(&record.settlement_id),
                ItemType::Settlement.sort_key().into(),
                ItemType::Settlement,
            )?,
            &record.player_id,
            &decision.entries(),
        )?;
        if decision.account.is_none() {
            settlement = with_events(settlement, events)?;
        }
        let mut writes = Writes::new(self).create(Role::Id, settlement)?;
        if let Some(bet) = &decision.record {
            let item = keep_entries(bet_item(bet, &[])?, read.bet_item.as_ref())?;
            writes = if decision.creates_record {
                writes.create(Role::Bet, item)?
            } else {
                let version = read.bet.as_ref().map_or(0, |b| b.version);
                writes.replace_at(Role::Bet, item, version)?
            };
        }
        if let Some(next) = &decision.account {
            writes = write_account(writes, account, next, events)?;
        }
        self.commit(writes).await
    }
}

/// A settlement, exactly once per settlement id, forever.
pub async fn settle_bet(
    store: &Store,
    command: &SettlementCommand,
    correlation_id: &str,
    now: impl Fn() -> Timestamp,
) -> Result<Applied<SettlementOutcome>, Failed> {
    apply_once(|| async {
        let read = store
            .settlement_read(&command.player_id, &command.bet_id, &command.settlement_id)
            .await?;
        let account = read
            .account
            .clone()
            .ok_or_else(|| Failed::player_not_found(&command.player_id))?;
        if let Some(record) = &read.record {
            return replayed(record.replay(command), account);
        }
        let decision = settlement::settle(&account, read.bet.as_ref(), command, now())
            .map_err(|e| Failed::new(e, Some(account.clone())))?;
        let record = SettlementRecord::new(command, &decision.outcome);
        let events = decision.events(&command.player_id, correlation_id);
        let commit = store
            .commit_settlement(&read, &account, &decision, &record, &events)
            .await?;
        Ok(Attempt::after(commit, || {
            Applied::new(decision.outcome, decision.account.unwrap_or(account))
        }))
    })
    .await
}
