//! The operators' side of the table: their actions (written once, never changed, under the
//! player's partition), the status change (the same version-guarded account write as every
//! other change, with the action and the event in the same transaction), and the reads of
//! the back office: the review queue and a player's withdrawals, from the two sparse
//! withdrawal indexes (eventually consistent, like every index), and a player's recent
//! actions (read consistently from the table).

use crate::account::write_account;
use crate::apply::{apply_once, Applied, Attempt, Failed};
use crate::items::{from_item, to_item};
use crate::keys::{self, ItemType, PK, SK};
use crate::table::{call_failed, Role, Writes};
use crate::{Commit, Item, Store, StoreError};
use aws_sdk_dynamodb::types::AttributeValue;
use ledger::action::{Operator, OperatorAction, QueueAction};
use ledger::operator::{self, StatusCommand, StatusDecision};
use ledger::withdrawal::{Withdrawal, WithdrawalRecord, WithdrawalStatus};
use ledger::{Account, PlayerId, Timestamp};

/// The most operator actions the player view shows (newest first).
pub const RECENT_ACTIONS: usize = 20;
/// The most recent withdrawals whose risk reasons the player view shows.
pub const RECENT_WITHDRAWALS: usize = 20;
/// The most open withdrawals the player view reads for one player.
pub const MAX_OPEN_WITHDRAWALS: usize = 200;

/// An operator action as its item: created once (`attribute_not_exists`), never updated.
pub(crate) fn action_item(action: &OperatorAction) -> Result<Item, StoreError> {
    to_item(
        action,
        keys::player_pk(&action.player_id),
        keys::action_sk(action.at.millis(), &action.action_id),
        ItemType::Action,
    )
}

/// A queue action as its item: created once, never updated.
fn queue_action_item(action: &QueueAction) -> Result<Item, StoreError> {
    to_item(
        action,
        keys::queue_pk(&action.queue),
        keys::action_sk(action.at.millis(), &action.action_id),
        ItemType::Action,
    )
}

fn withdrawals_of(items: Vec<Item>) -> Result<Vec<Withdrawal>, StoreError> {
    let mut found = Vec::with_capacity(items.len());
    for item in items {
        let record: WithdrawalRecord = from_item(item)?;
        if let Some(withdrawal) = record.withdrawal() {
            found.push(withdrawal.clone());
        }
    }
    Ok(found)
}

/// The first `limit` of `withdrawals` (read `limit + 1` to tell whether more follow), and
/// the position of the last one when more do.
fn page_of(mut withdrawals: Vec<Withdrawal>, limit: usize) -> QueuePage {
    let more = withdrawals.len() > limit;
    withdrawals.truncate(limit);
    let next = match (more, withdrawals.last()) {
        (true, Some(last)) => Some(keys::queue_position(
            last.created_at.millis(),
            &last.withdrawal_id,
        )),
        _ => None,
    };
    QueuePage { withdrawals, next }
}

/// A page of withdrawals in one status, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuePage {
    pub withdrawals: Vec<Withdrawal>,
    /// The position of the last one, when more may follow.
    pub next: Option<String>,
}

impl Store {
    /// A status change: the wallet at the version read (carrying the event) and the action.
    pub async fn commit_status_change(
        &self,
        read: &Account,
        decision: &StatusDecision,
    ) -> Result<Commit, StoreError> {
        let writes = write_account(Writes::new(self), read, &decision.account, &decision.events)?
            .create(Role::New, action_item(&decision.action)?)?;
        self.commit(writes).await
    }

    /// Records an operator's queue action once. `false`: it was already recorded (the same
    /// request, retried).
    pub async fn record_queue_action(&self, action: &QueueAction) -> Result<bool, StoreError> {
        let writes = Writes::new(self).create(Role::New, queue_action_item(action)?)?;
        match self.transact(writes).await? {
            None => Ok(true),
            Some(cancelled) if cancelled.failed(Role::New) => Ok(false),
            Some(cancelled) => {
                cancelled.commit()?;
                Err(StoreError::Contention(1))
            }
        }
    }

    /// Up to `limit` withdrawals in `status`, oldest first, after the queue position
    /// `after` when given.
    pub async fn withdrawals_in_status(
        &self,
        status: WithdrawalStatus,
        limit: usize,
        after: Option<&str>,
    ) -> Result<QueuePage, StoreError> {
        let mut query = self
            .client()
            .query()
            .table_name(self.table())
            .index_name(keys::WITHDRAWALS_BY_STATUS_INDEX)
            .expression_attribute_names("#status", keys::WITHDRAWAL_STATUS)
            .expression_attribute_values(":status", AttributeValue::S(status.as_str().into()))
            .scan_index_forward(true)
            .limit(i32::try_from(limit.saturating_add(1)).unwrap_or(i32::MAX));
        query = match after {
            Some(position) => query
                .key_condition_expression("#status = :status AND #position > :after")
                .expression_attribute_names("#position", keys::WITHDRAWAL_POSITION)
                .expression_attribute_values(":after", AttributeValue::S(position.into())),
            None => query.key_condition_expression("#status = :status"),
        };
        let out = query.send().await.map_err(|e| call_failed("Query", e))?;
        Ok(page_of(
            withdrawals_of(out.items.unwrap_or_default())?,
            limit,
        ))
    }

    /// Up to `limit` of the player's withdrawals in any status, newest first, before the
    /// position `before` when given (the `withdrawals-by-player` index).
    pub async fn player_withdrawals_page(
        &self,
        player: &PlayerId,
        limit: usize,
        before: Option<&str>,
    ) -> Result<QueuePage, StoreError> {
        let mut query = self
            .client()
            .query()
            .table_name(self.table())
            .index_name(keys::WITHDRAWALS_BY_PLAYER_INDEX)
            .expression_attribute_names("#player", keys::WITHDRAWAL_PLAYER_PK)
            .expression_attribute_values(":player", AttributeValue::S(keys::player_pk(player)))
            .scan_index_forward(false)
            .limit(i32::try_from(limit.saturating_add(1)).unwrap_or(i32::MAX));
        query = match before {
            Some(position) => query
                .key_condition_expression("#player = :player AND #position < :before")
                .expression_attribute_names("#position", keys::WITHDRAWAL_POSITION)
                .expression_attribute_values(":before", AttributeValue::S(position.into())),
            None => query.key_condition_expression("#player = :player"),
        };
        let out = query.send().await.map_err(|e| call_failed("Query", e))?;
        Ok(page_of(
            withdrawals_of(out.items.unwrap_or_default())?,
            limit,
        ))
    }

    /// The player's withdrawals an operator looks at: every open one (in review, or
    /// approved and not yet paid; at most [`MAX_OPEN_WITHDRAWALS`]) and the
    /// [`RECENT_WITHDRAWALS`] newest whatever their status, newest first, each once.
    pub async fn player_withdrawals(
        &self,
        player: &PlayerId,
    ) -> Result<Vec<Withdrawal>, StoreError> {
        let base = || {
            self.client()
                .query()
                .table_name(self.table())
                .index_name(keys::WITHDRAWALS_BY_PLAYER_INDEX)
                .key_condition_expression("#player = :player")
                .expression_attribute_names("#player", keys::WITHDRAWAL_PLAYER_PK)
                .expression_attribute_values(":player", AttributeValue::S(keys::player_pk(player)))
                .scan_index_forward(false)
        };
        let recent = base()
            .limit(i32::try_from(RECENT_WITHDRAWALS).unwrap_or(i32::MAX))
            .send();
        let open = async {
            let mut items = Vec::new();
            let mut start = None;
            loop {
                let out = base()
                    .filter_expression("#status IN (:review, :approved)")
                    .expression_attribute_names("#status", keys::WITHDRAWAL_STATUS)
                    .expression_attribute_values(
                        ":review",
                        AttributeValue::S(WithdrawalStatus::PendingReview.as_str().into()),
                    )
                    .expression_attribute_values(
                        ":approved",
                        AttributeValue::S(WithdrawalStatus::Approved.as_str().into()),
                    )
                    .set_exclusive_start_key(start.take())
                    .send()
                    .await
                    .map_err(|e| call_failed("Query", e))?;
                items.extend(out.items.unwrap_or_default());
                match out.last_evaluated_key {
                    Some(key) if !key.is_empty() && items.len() < MAX_OPEN_WITHDRAWALS => {
                        start = Some(key)
                    }
                    _ => break,
                }
            }
            items.truncate(MAX_OPEN_WITHDRAWALS);
            Ok::<_, StoreError>(items)
        };
        let (recent, open) = tokio::join!(recent, open);
        let recent = recent.map_err(|e| call_failed("Query", e))?;
        let mut all = withdrawals_of(open?)?;
        for withdrawal in withdrawals_of(recent.items.unwrap_or_default())? {
            if !all
                .iter()
                .any(|w| w.withdrawal_id == withdrawal.withdrawal_id)
            {
                all.push(withdrawal);
            }
        }
        all.sort_by(|a, b| (b.created_at, &b.withdrawal_id).cmp(&(a.created_at, &a.withdrawal_id)));
        Ok(all)
    }

    /// The player's newest operator actions, newest first (a consistent read).
    pub async fn recent_actions(
        &self,
        player: &PlayerId,
        limit: usize,
    ) -> Result<Vec<OperatorAction>, StoreError> {
        let out = self
            .client()
            .query()
            .table_name(self.table())
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", AttributeValue::S(keys::player_pk(player)))
            .expression_attribute_values(":prefix", AttributeValue::S(keys::ACTION_PREFIX.into()))
            .scan_index_forward(false)
            .consistent_read(true)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| call_failed("Query", e))?;
        out.items
            .unwrap_or_default()
            .into_iter()
            .map(from_item)
            .collect()
    }

    /// The account, its withdrawals and its recent actions, for the player view.
    pub async fn player_overview(
        &self,
        player: &PlayerId,
    ) -> Result<Option<(Account, Vec<Withdrawal>, Vec<OperatorAction>)>, StoreError> {
        let (account, withdrawals, actions) = tokio::join!(
            self.account(player),
            self.player_withdrawals(player),
            self.recent_actions(player, RECENT_ACTIONS)
        );
        match account? {
            Some(account) => Ok(Some((account, withdrawals?, actions?))),
            None => Ok(None),
        }
    }
}

/// An operator locks or unlocks an account; asking for the status it already has changes
/// nothing. The outcome says whether anything changed.
pub async fn change_status(
    store: &Store,
    player: &PlayerId,
    command: &StatusCommand,
    operator: &Operator,
    correlation_id: &str,
    now: impl Fn() -> Timestamp,
) -> Result<Applied<bool>, Failed> {
    apply_once(|| async {
        let account = store
            .account(player)
            .await?
            .ok_or_else(|| Failed::player_not_found(player))?;
        let decided = operator::change_status(&account, command, operator, correlation_id, now())
            .map_err(|e| Failed::new(e, Some(account.clone())))?;
        let Some(decision) = decided else {
            return Ok(Attempt::done(Applied::replay(false, account)));
        };
        let commit = store.commit_status_change(&account, &decision).await?;
        Ok(Attempt::after(commit, || {
            Applied::new(true, decision.account)
        }))
    })
    .await
}
