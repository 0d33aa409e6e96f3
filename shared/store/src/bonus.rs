//! Bonuses: the award (at most once per player and campaign, however often its trigger
//! arrives) and the forfeit on the player's request. The grant is the award's id record and
//! carries its entry; a forfeit's entry is a movement item of its own.

use crate::account::{account_keys, take_account, write_account};
use crate::apply::{apply_once, Applied, Attempt, Failed};
use crate::items::{from_item, to_item, with_entries};
use crate::keys::{self, ItemType};
use crate::table::{Role, Writes};
use crate::{Commit, Item, Store, StoreError};
use ledger::bonus::{self, AwardDecision, BonusGrant, Campaign, TriggeringDeposit};
use ledger::deposit::DepositRecord;
use ledger::events::{ForfeitReason, WalletEvent};
use ledger::{Account, ClientId, LedgerEntry, PlayerId, Timestamp, WalletError};

/// What a bonus award reads, as one snapshot: the account, the campaign's grant (if the
/// player has it already) and the record of the deposit the trigger names.
#[derive(Debug, Clone)]
pub struct AwardRead {
    pub account: Option<Account>,
    pub grant: Option<BonusGrant>,
    pub deposit: Option<DepositRecord>,
}

fn grant_item(grant: &BonusGrant, entries: &[&LedgerEntry]) -> Result<Item, StoreError> {
    with_entries(
        to_item(
            grant,
            keys::bonus_pk(&grant.player_id, &grant.campaign_id),
            ItemType::Bonus.sort_key().into(),
            ItemType::Bonus,
        )?,
        &grant.player_id,
        entries,
    )
}

impl Store {
    /// The account, its grant of a campaign and the triggering deposit's record, as one
    /// snapshot.
    pub async fn award_read(
        &self,
        player: &PlayerId,
        campaign_id: &str,
        deposit_id: &ClientId,
    ) -> Result<AwardRead, StoreError> {
        let mut keys = account_keys(player);
        keys.push((
            keys::bonus_pk(player, campaign_id),
            ItemType::Bonus.sort_key(),
        ));
        keys.push((keys::deposit_pk(deposit_id), ItemType::Deposit.sort_key()));
        let mut items = self.snapshot(keys).await?.into_iter();
        Ok(AwardRead {
            account: take_account(&mut items)?,
            grant: items.next().flatten().map(from_item).transpose()?,
            deposit: items.next().flatten().map(from_item).transpose()?,
        })
    }

    /// A declined award (an excluded or disabled player): the grant alone, amount 0, valid
    /// only if the account is still as read.
    pub async fn record_declined_award(
        &self,
        read: &Account,
        grant: &BonusGrant,
    ) -> Result<Commit, StoreError> {
        self.commit_id_only(read, grant_item(grant, &[])?).await
    }

    /// A bonus award: the account's change and the grant (at most once per player and
    /// campaign) with its entry.
    pub async fn commit_award(
        &self,
        read: &Account,
        decision: &AwardDecision,
        events: &[WalletEvent],
    ) -> Result<Commit, StoreError> {
        let writes = write_account(Writes::new(self), read, &decision.account, events)?
            .create(Role::Id, grant_item(&decision.grant, &[&decision.entry])?)?;
        self.commit(writes).await
    }
}

/// Awards `campaign` for `trigger`, at most once per player and campaign, however often
/// the trigger arrives. `None` when the campaign gives nothing.
pub async fn award_bonus(
    store: &Store,
    player: &PlayerId,
    campaign: &Campaign,
    trigger: &TriggeringDeposit,
    correlation_id: &str,
    now: impl Fn() -> Timestamp,
) -> Result<Applied<Option<BonusGrant>>, Failed> {
    let deposit_id = ClientId::new(&trigger.deposit_id).map_err(|m| {
        Failed::new(
            WalletError::field("/detail/deposit_id", format!("the deposit id {m}")),
            None,
        )
    })?;
    apply_once(|| async {
        let read = store
            .award_read(player, &campaign.campaign_id, &deposit_id)
            .await?;
        let account = read
            .account
            .ok_or_else(|| Failed::player_not_found(player))?;
        if let Some(grant) = read.grant {
            return Ok(Attempt::done(Applied::replay(Some(grant), account)));
        }
        trigger
            .confirm(player, read.deposit.as_ref())
            .map_err(|e| Failed::new(e, Some(account.clone())))?;
        match bonus::award(&account, campaign, trigger, now())
            .map_err(|e| Failed::new(e, Some(account.clone())))?
        {
            bonus::Award::Granted(decision) => {
                let events = decision.events(correlation_id);
                let commit = store.commit_award(&account, &decision, &events).await?;
                Ok(Attempt::after(commit, || {
                    Applied::new(Some(decision.grant), decision.account)
                }))
            }
            bonus::Award::Nothing => Ok(Attempt::done(Applied::new(None, account))),
            bonus::Award::Declined(grant) => {
                // The trigger is consumed: the grant is recorded (amount 0, with the
                // reason), valid only if the account is still as read.
                let commit = store.record_declined_award(&account, &grant).await?;
                Ok(Attempt::after(commit, || {
                    Applied::new(Some(grant), account)
                }))
            }
        }
    })
    .await
}

/// Forfeits the player's bonus (their request, or its expiry): the bonus goes, cash stays.
/// The answer is the campaign and the amount forfeited; `None` when there was no bonus.
pub async fn forfeit_bonus(
    store: &Store,
    player: &PlayerId,
    reason: ForfeitReason,
    correlation_id: &str,
    now: impl Fn() -> Timestamp,
) -> Result<Applied<Option<(String, i64)>>, Failed> {
    apply_once(|| async {
        let account = store
            .account(player)
            .await?
            .ok_or_else(|| Failed::player_not_found(player))?;
        let at = now().max(account.updated_at);
        let Some(end) =
            bonus::forfeit(&account, at).map_err(|e| Failed::new(e, Some(account.clone())))?
        else {
            return Ok(Attempt::done(Applied::new(None, account)));
        };
        let events = end.events(reason, at, correlation_id);
        let commit = store
            .commit_movement(&account, &end.account, end.entry.as_ref(), &events)
            .await?;
        Ok(Attempt::after(commit, || {
            Applied::new(Some((end.campaign_id, end.amount)), end.account)
        }))
    })
    .await
}
