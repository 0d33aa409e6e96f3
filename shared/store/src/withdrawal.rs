//! Withdrawals: the request, exactly once per withdrawal id, forever; then its transitions
//! (the player's cancel, an operator's decision, the payment provider's result), each at
//! most once, guarded by the version of the withdrawal's record.
//!
//! The request reads the account, the id's record and the destination's first-use record
//! as one snapshot; its transaction writes the wallet (carrying the events), the record
//! (carrying the request's entries) and, on a destination's first use, its claim. A
//! transition writes the record at the version read, the wallet when money moves, and its
//! entry as a movement item (a withdrawal's entries are not consecutive, so only the
//! request's ride on the record).

use crate::account::{account_keys, movement_item, take_account, unchanged, write_account};
use crate::apply::{apply_once, rejected, replayed, Applied, Attempt, Failed};
use crate::items::{from_item, keep_entries, to_item, with_entries, with_events};
use crate::keys::{self, ItemType};
use crate::operator::action_item;
use crate::table::{Role, Writes};
use crate::{Commit, Item, Store, StoreError};
use aws_sdk_dynamodb::types::AttributeValue;
use ledger::action::Operator;
use ledger::risk::RiskRules;
use ledger::withdrawal::{
    self, DecisionCommand, Destination, PayoutResult, RequestContext, ResultOutcome, Withdrawal,
    WithdrawalCommand, WithdrawalDecision, WithdrawalRecord,
};
use ledger::{Account, ClientId, PlayerId, Timestamp, WalletError};
use serde::{Deserialize, Serialize};

/// The first player to use a withdrawal destination (the `shared_destination` rule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestinationClaim {
    pub player_id: PlayerId,
}

/// What a withdrawal reads, as one snapshot.
#[derive(Debug, Clone)]
pub struct WithdrawalRead {
    pub account: Option<Account>,
    pub record: Option<WithdrawalRecord>,
    /// The record's item as read: the request's entries stay on it through every transition.
    pub record_item: Option<Item>,
    /// Read only for a request: who used its destination first.
    pub destination: Option<DestinationClaim>,
}

/// The record's item; an accepted withdrawal's carries its status, player and queue
/// position for the operators' indexes.
fn record_item(
    record: &WithdrawalRecord,
    entries: &[&ledger::LedgerEntry],
) -> Result<Item, StoreError> {
    let mut item = to_item(
        record,
        keys::withdrawal_pk(&record.withdrawal_id),
        ItemType::Withdrawal.sort_key().into(),
        ItemType::Withdrawal,
    )?;
    if let Some(withdrawal) = record.withdrawal() {
        let indexed = [
            (
                keys::WITHDRAWAL_STATUS,
                withdrawal.status.as_str().to_string(),
            ),
            (
                keys::WITHDRAWAL_PLAYER_PK,
                keys::player_pk(&record.player_id),
            ),
            (
                keys::WITHDRAWAL_POSITION,
                keys::queue_position(withdrawal.created_at.millis(), &record.withdrawal_id),
            ),
        ];
        for (name, value) in indexed {
            item.insert(name.to_string(), AttributeValue::S(value));
        }
    }
    with_entries(item, &record.player_id, entries)
}

fn destination_key(destination: &Destination) -> String {
    keys::destination_pk(destination.kind.as_str(), &destination.reference)
}

impl Store {
    /// The account, the withdrawal id's record and (for a request) the destination's claim,
    /// as one snapshot.
    pub async fn withdrawal_read(
        &self,
        player: &PlayerId,
        withdrawal_id: &ClientId,
        destination: Option<&Destination>,
    ) -> Result<WithdrawalRead, StoreError> {
        let mut keys = account_keys(player);
        keys.push((
            keys::withdrawal_pk(withdrawal_id),
            ItemType::Withdrawal.sort_key(),
        ));
        if let Some(destination) = destination {
            keys.push((
                destination_key(destination),
                ItemType::Destination.sort_key(),
            ));
        }
        let mut items = self.snapshot(keys).await?.into_iter();
        let account = take_account(&mut items)?;
        let record_item = items.next().flatten();
        Ok(WithdrawalRead {
            account,
            record: record_item.clone().map(from_item).transpose()?,
            record_item,
            destination: items.next().flatten().map(from_item).transpose()?,
        })
    }

    /// An accepted request: the account's change, the record with the request's entries and,
    /// on a destination's first use, its claim.
    pub async fn commit_withdrawal_request(
        &self,
        read: &Account,
        decision: &WithdrawalDecision,
        claim: Option<&Destination>,
    ) -> Result<Commit, StoreError> {
        let next = decision
            .account
            .as_ref()
            .ok_or_else(|| StoreError::Request("a request always changes the wallet".into()))?;
        let entries: Vec<&ledger::LedgerEntry> = decision.entries.iter().collect();
        let mut writes = write_account(Writes::new(self), read, next, &decision.events)?
            .create(Role::Id, record_item(&decision.record, &entries)?)?;
        if let Some(destination) = claim {
            writes = writes.create(
                Role::New,
                to_item(
                    &DestinationClaim {
                        player_id: read.player_id.clone(),
                    },
                    destination_key(destination),
                    ItemType::Destination.sort_key().into(),
                    ItemType::Destination,
                )?,
            )?;
        }
        self.commit(writes).await
    }

    /// A refused request: its record, valid only if the account is still as read.
    pub async fn record_withdrawal_rejection(
        &self,
        read: &Account,
        record: &WithdrawalRecord,
    ) -> Result<Commit, StoreError> {
        self.commit_id_only(read, record_item(record, &[])?).await
    }

    /// A transition: the record at the version read (carrying the events when the wallet
    /// does not change), the account's change, each entry as a movement item and the
    /// operator's action, if any.
    pub async fn commit_withdrawal_transition(
        &self,
        read: &Account,
        read_record: (u64, Option<&Item>),
        decision: &WithdrawalDecision,
    ) -> Result<Commit, StoreError> {
        let (read_version, read_item) = read_record;
        let mut record = keep_entries(record_item(&decision.record, &[])?, read_item)?;
        if decision.account.is_none() {
            record = with_events(record, &decision.events)?;
        }
        let mut writes = Writes::new(self).replace_at(Role::Bet, record, read_version)?;
        writes = match &decision.account {
            Some(next) => write_account(writes, read, next, &decision.events)?,
            None => unchanged(writes, read)?,
        };
        for entry in &decision.entries {
            writes = writes.create(Role::New, movement_item(entry)?)?;
        }
        if let Some(action) = &decision.action {
            writes = writes.create(Role::New, action_item(action)?)?;
        }
        self.commit(writes).await
    }

    /// The accepted withdrawal `withdrawal_id` as it stands (`None`: no accepted withdrawal
    /// has that id), read consistently on its own.
    pub async fn withdrawal(
        &self,
        withdrawal_id: &ClientId,
    ) -> Result<Option<Withdrawal>, StoreError> {
        let item = self
            .item(
                keys::withdrawal_pk(withdrawal_id),
                ItemType::Withdrawal.sort_key(),
            )
            .await?;
        let record: Option<WithdrawalRecord> = item.map(from_item).transpose()?;
        Ok(record.and_then(|r| r.withdrawal().cloned()))
    }
}

/// A withdrawal request, exactly once per withdrawal id, forever.
pub async fn request_withdrawal(
    store: &Store,
    command: &WithdrawalCommand,
    rules: &RiskRules,
    correlation_id: &str,
    now: impl Fn() -> Timestamp,
) -> Result<Applied<Withdrawal>, Failed> {
    let destination = &command.payload.destination;
    apply_once(|| async {
        let read = store
            .withdrawal_read(
                &command.player_id,
                &command.withdrawal_id,
                Some(destination),
            )
            .await?;
        let account = read
            .account
            .ok_or_else(|| Failed::player_not_found(&command.player_id))?;
        if let Some(record) = read.record {
            return replayed(record.replay(command), account);
        }
        let first_user = read.destination.as_ref().map(|claim| &claim.player_id);
        let context = RequestContext {
            rules,
            destination_first_used_by: first_user,
        };
        match withdrawal::request(&account, command, context, correlation_id, now()) {
            Ok(decision) => {
                let withdrawal = recorded(&decision, &account)?;
                let claim = first_user.is_none().then_some(destination);
                let commit = store
                    .commit_withdrawal_request(&account, &decision, claim)
                    .await?;
                Ok(Attempt::after(commit, || {
                    Applied::new(withdrawal, decision.account.unwrap_or(account))
                }))
            }
            Err(error) if error.is_stable_rejection() => {
                let record = WithdrawalRecord::rejected(command, &error);
                let commit = store.record_withdrawal_rejection(&account, &record).await?;
                rejected(commit, error, account)
            }
            Err(error) => Err(Failed::new(error, Some(account))),
        }
    })
    .await
}

/// The withdrawal a decision records (every accepted decision records one).
fn recorded(decision: &WithdrawalDecision, account: &Account) -> Result<Withdrawal, Failed> {
    decision.withdrawal().cloned().ok_or_else(|| {
        Failed::new(
            WalletError::Internal("a withdrawal decision recorded no withdrawal".into()),
            Some(account.clone()),
        )
    })
}

/// What a transition does to a withdrawal in its current state.
type Transition<'a> = dyn Fn(&Account, &WithdrawalRecord, Timestamp) -> Result<Option<WithdrawalDecision>, WalletError>
    + Sync
    + 'a;

/// Runs one transition of `player`'s withdrawal once: read, decide, commit at the version
/// read. `Ok(None)` from `transition` means nothing changes (a repeated result).
async fn transition(
    store: &Store,
    player: &PlayerId,
    withdrawal_id: &ClientId,
    now: impl Fn() -> Timestamp,
    decide: &Transition<'_>,
) -> Result<Applied<Withdrawal>, Failed> {
    apply_once(|| async {
        let read = store.withdrawal_read(player, withdrawal_id, None).await?;
        let account = read
            .account
            .ok_or_else(|| Failed::player_not_found(player))?;
        let record = read
            .record
            .filter(|r| r.player_id == *player && r.withdrawal().is_some())
            .ok_or_else(|| {
                Failed::new(
                    WalletError::WithdrawalNotFound(format!(
                        "player {player} has no withdrawal {withdrawal_id}"
                    )),
                    Some(account.clone()),
                )
            })?;
        let Some(decision) =
            decide(&account, &record, now()).map_err(|e| Failed::new(e, Some(account.clone())))?
        else {
            let current = record.withdrawal().cloned();
            return match current {
                Some(w) => Ok(Attempt::done(Applied::replay(w, account))),
                None => Err(Failed::new(
                    WalletError::Internal("a recorded withdrawal vanished".into()),
                    Some(account),
                )),
            };
        };
        let withdrawal = recorded(&decision, &account)?;
        let commit = store
            .commit_withdrawal_transition(
                &account,
                (record.version, read.record_item.as_ref()),
                &decision,
            )
            .await?;
        Ok(Attempt::after(commit, || {
            Applied::new(withdrawal, decision.account.unwrap_or(account))
        }))
    })
    .await
}

/// The player's cancel, while the withdrawal is in review.
pub async fn cancel_withdrawal(
    store: &Store,
    player: &PlayerId,
    withdrawal_id: &ClientId,
    correlation_id: &str,
    now: impl Fn() -> Timestamp,
) -> Result<Applied<Withdrawal>, Failed> {
    transition(store, player, withdrawal_id, now, &|account, record, at| {
        withdrawal::cancel(account, record, correlation_id, at).map(Some)
    })
    .await
}

/// An operator's decision on a withdrawal in review, recorded with the operator's action.
/// A withdrawal already decided (or cancelled) is `WITHDRAWAL_NOT_PENDING`: a decision is
/// never overwritten.
pub async fn decide_withdrawal(
    store: &Store,
    withdrawal_id: &ClientId,
    command: &DecisionCommand,
    operator: &Operator,
    correlation_id: &str,
    now: impl Fn() -> Timestamp,
) -> Result<Applied<Withdrawal>, Failed> {
    let player = store
        .withdrawal(withdrawal_id)
        .await?
        .map(|w| w.player_id)
        .ok_or_else(|| {
            Failed::new(
                WalletError::WithdrawalNotFound(format!("there is no withdrawal {withdrawal_id}")),
                None,
            )
        })?;
    transition(
        store,
        &player,
        withdrawal_id,
        now,
        &|account, record, at| {
            withdrawal::decide(account, record, command, operator, correlation_id, at).map(Some)
        },
    )
    .await
}

/// The payment provider's result of a payout: once; the same result again replays.
pub async fn withdrawal_result(
    store: &Store,
    player: &PlayerId,
    withdrawal_id: &ClientId,
    payout: &PayoutResult,
    correlation_id: &str,
    now: impl Fn() -> Timestamp,
) -> Result<Applied<Withdrawal>, Failed> {
    transition(
        store,
        player,
        withdrawal_id,
        now,
        &|account, record, at| match withdrawal::result(
            account,
            record,
            payout,
            correlation_id,
            at,
        )? {
            ResultOutcome::Applied(decision) => Ok(Some(*decision)),
            ResultOutcome::Replayed(_) => Ok(None),
        },
    )
    .await
}
