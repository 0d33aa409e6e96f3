//! The one DynamoDB implementation of Stakeline's persistence. Every money write is ONE
//! `TransactWriteItems`: the account guarded by the version it was read at, the ledger
//! entry and the permanent id record guarded by `attribute_not_exists`. See `keys` for
//! the table layout and `flows` for the read → decide → write loop around the pure rules.

pub mod flows;
pub mod keys;
pub mod table;

#[cfg(test)]
mod retry_tests;

#[cfg(test)]
mod bound_tests {
    use super::*;
    use ledger::limits::{DepositBucket, MAX_BUCKETS};

    #[test]
    fn the_account_item_is_bounded_whatever_the_deposits() {
        let request = ledger::register::RegisterRequest {
            email: format!("{}@example.com", "a".repeat(64)),
            date_of_birth: "1990-04-12".into(),
            country: "MT".into(),
            currency: "EUR".into(),
            display_name: Some("x".repeat(64)),
            deposit_limits: None,
        };
        let player = PlayerId::new(&"p".repeat(128)).unwrap();
        let mut account = ledger::register::register(
            &player,
            &request,
            Timestamp::from_millis(1_795_392_000_000),
            18,
        )
        .unwrap();
        // Every hour of the window holds a bucket, each with the largest possible sum.
        account.deposit_buckets = (0..MAX_BUCKETS as i64)
            .map(|h| DepositBucket(498_720 + h, i64::MAX))
            .collect();
        let size = table::item_size(&account_item(&account).unwrap());
        assert!(size < MAX_ACCOUNT_ITEM_BYTES, "{size} bytes");
    }
}

use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Get, Put, TransactGetItem, TransactWriteItem,
};
use aws_sdk_dynamodb::Client;
use keys::{ItemType, ITEM_TYPE, PK, SK};
use ledger::bet::{BetDecision, BetRecord};
use ledger::bonus::{AwardDecision, BonusGrant};
use ledger::deposit::{DepositDecision, DepositRecord};
use ledger::events::WalletEvent;
use ledger::settlement::{SettleDecision, SettlementRecord};
use ledger::{Account, ClientId, LedgerEntry, PlayerId, Timestamp, WalletError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
pub use table::Commit;
use table::{call_failed, check_item_size, Cancelled, Reason, Role};

pub type Item = HashMap<String, AttributeValue>;

/// How long an outbox item stays in the table after its change (TTL): as long as the
/// publisher's on-failure queue keeps a failed batch (14 days), so a redrive can always
/// find the events it names.
pub const OUTBOX_RETENTION_SECONDS: i64 = 14 * 24 * 3600;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Refused for a reason trying again cannot cure (validation, an unknown cancellation
    /// reason): fails at once, logged with the reason.
    #[error("DynamoDB {operation} failed: {reason}")]
    Rejected {
        operation: &'static str,
        reason: String,
    },
    /// Throttled after the SDK's own retries, timed out or unreachable: 503, safe to retry.
    #[error("DynamoDB {operation} is unavailable: {reason}")]
    Unavailable {
        operation: &'static str,
        reason: String,
    },
    #[error("a stored item cannot be read: {0}")]
    Corrupt(String),
    #[error("a request could not be built: {0}")]
    Request(String),
    /// A write that would break one of DynamoDB's limits (item or transaction size).
    #[error("a write would break a DynamoDB limit: {0}")]
    TooLarge(String),
    #[error("gave up after {0} attempts: the wallet kept changing under this request")]
    Contention(u32),
}

impl From<StoreError> for WalletError {
    fn from(error: StoreError) -> WalletError {
        match error {
            StoreError::Unavailable { .. } | StoreError::Contention(_) => {
                WalletError::Unavailable(error.to_string())
            }
            other => WalletError::Internal(other.to_string()),
        }
    }
}

/// What a bonus award reads, as one snapshot: the account, the campaign's grant (if the
/// player has it already) and the record of the deposit the trigger names.
#[derive(Debug, Clone)]
pub struct AwardState {
    pub account: Option<Account>,
    pub grant: Option<BonusGrant>,
    pub deposit: Option<DepositRecord>,
}

/// What happened to a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    Created,
    PlayerExists(Box<Account>),
    EmailTaken,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct EmailClaim {
    player_id: PlayerId,
    email: String,
}

#[derive(Clone, Debug)]
pub struct Store {
    client: Client,
    table: String,
}

fn to_item<T: Serialize>(
    value: &T,
    pk: String,
    sk: String,
    item_type: ItemType,
) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::aws_sdk_dynamodb_1::to_item(value).map_err(|e| {
        StoreError::Request(format!(
            "cannot map a {} to an item: {e}",
            item_type.as_str()
        ))
    })?;
    item.insert(PK.into(), AttributeValue::S(pk));
    item.insert(SK.into(), AttributeValue::S(sk));
    item.insert(
        ITEM_TYPE.into(),
        AttributeValue::S(item_type.as_str().into()),
    );
    check_item_size(item_type.as_str(), &item)?;
    Ok(item)
}

/// The largest account item any activity can produce (documented in ARCHITECTURE.md):
/// identity and settings (well under 2 KB) plus at most `ledger::limits::MAX_BUCKETS`
/// deposit-hour buckets of at most 25 bytes each.
pub const MAX_ACCOUNT_ITEM_BYTES: usize = 20 * 1024;

/// An account as its item (the wallet, the identity and the deposit windows).
pub fn account_item(account: &Account) -> Result<Item, StoreError> {
    to_item(
        account,
        keys::player_pk(&account.player_id),
        keys::ACCOUNT_SK.into(),
        ItemType::Account,
    )
}

pub(crate) fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    let key = item
        .get(PK)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default();
    serde_dynamo::aws_sdk_dynamodb_1::from_item(item)
        .map_err(|e| StoreError::Corrupt(format!("item {key}: {e}")))
}

fn key(pk: String, sk: &str) -> Item {
    HashMap::from([
        (PK.to_string(), AttributeValue::S(pk)),
        (SK.to_string(), AttributeValue::S(sk.to_string())),
    ])
}

fn number(n: u64) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Store {
        Store {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    fn put(
        &self,
        item: Item,
        condition: &str,
        values: Option<Item>,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_values(values)
            .build()
            .map_err(|e| StoreError::Request(e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn put_new(&self, item: Item) -> Result<TransactWriteItem, StoreError> {
        self.put(item, "attribute_not_exists(pk)", None)
    }

    /// The account, guarded by the version it was read at.
    fn put_account(
        &self,
        next: &Account,
        read_version: u64,
    ) -> Result<TransactWriteItem, StoreError> {
        let item = account_item(next)?;
        self.put(
            item,
            "version = :read_version",
            Some(HashMap::from([(
                ":read_version".to_string(),
                number(read_version),
            )])),
        )
    }

    fn check_account_version(
        &self,
        player: &PlayerId,
        read_version: u64,
    ) -> Result<TransactWriteItem, StoreError> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::player_pk(player), keys::ACCOUNT_SK)))
            .condition_expression("version = :read_version")
            .expression_attribute_values(":read_version", number(read_version))
            .build()
            .map_err(|e| StoreError::Request(e.to_string()))?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// The outbox: each event of a change, written in the change's own transaction. The
    /// table's stream carries it to the publisher; `expires_at` (a TTL) removes it a week
    /// later.
    fn outbox_items(
        &self,
        events: &[WalletEvent],
    ) -> Result<Vec<(Role, TransactWriteItem)>, StoreError> {
        events
            .iter()
            .map(|event| {
                let envelope = serde_json::to_string(&event.envelope()).map_err(|e| {
                    StoreError::Request(format!("cannot encode event {}: {e}", event.event_id))
                })?;
                let created_at =
                    Timestamp::parse_rfc3339(&event.occurred_at).unwrap_or_else(Timestamp::now);
                let item = HashMap::from([
                    (
                        PK.to_string(),
                        AttributeValue::S(keys::outbox_pk(&event.event_id)),
                    ),
                    (
                        SK.to_string(),
                        AttributeValue::S(ItemType::Outbox.sort_key().into()),
                    ),
                    (
                        ITEM_TYPE.to_string(),
                        AttributeValue::S(ItemType::Outbox.as_str().into()),
                    ),
                    ("event".to_string(), AttributeValue::S(envelope)),
                    (
                        "created_at".to_string(),
                        AttributeValue::N(created_at.millis().to_string()),
                    ),
                    (
                        "expires_at".to_string(),
                        AttributeValue::N(
                            (created_at.seconds() + OUTBOX_RETENTION_SECONDS).to_string(),
                        ),
                    ),
                ]);
                Ok((Role::New, self.put_new(item)?))
            })
            .collect()
    }

    fn entry_item(&self, entry: &LedgerEntry) -> Result<(Role, TransactWriteItem), StoreError> {
        Ok((
            Role::New,
            self.put_new(to_item(
                entry,
                keys::player_pk(&entry.player_id),
                keys::entry_sk(entry.seq),
                ItemType::Entry,
            )?)?,
        ))
    }

    /// Runs one transaction; when DynamoDB cancels it, says why, item by item, with each
    /// item's role.
    async fn transact(
        &self,
        items: Vec<(Role, TransactWriteItem)>,
    ) -> Result<Option<Cancelled>, StoreError> {
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
        table::check_transaction(&items)?;
        let roles: Vec<Role> = items.iter().map(|(role, _)| *role).collect();
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items.into_iter().map(|(_, item)| item).collect()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(None),
            Err(error) => match error.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                    let reasons = cancelled.cancellation_reasons();
                    Ok(Some(Cancelled(
                        roles
                            .iter()
                            .enumerate()
                            .map(|(n, role)| {
                                (*role, Reason::parse(reasons.get(n).and_then(|r| r.code())))
                            })
                            .collect(),
                    )))
                }
                // Another transaction held an item: the same as a conflict on it.
                Some(TransactWriteItemsError::TransactionInProgressException(_)) => Ok(Some(
                    Cancelled(vec![(Role::Account, Reason::TransactionConflict)]),
                )),
                _ => Err(call_failed("TransactWriteItems", error)),
            },
        }
    }

    /// A money transaction: committed, or why not (see [`Cancelled::commit`]).
    async fn commit(&self, items: Vec<(Role, TransactWriteItem)>) -> Result<Commit, StoreError> {
        match self.transact(items).await? {
            None => Ok(Commit::Committed),
            Some(cancelled) => cancelled.commit(),
        }
    }

    /// A consistent read of a player's account.
    pub async fn account(&self, player: &PlayerId) -> Result<Option<Account>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::player_pk(player), keys::ACCOUNT_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| call_failed("GetItem", e))?;
        out.item.map(from_item).transpose()
    }

    /// Creates the account and claims its email (case-insensitively) in one transaction.
    pub async fn create_account(
        &self,
        account: &Account,
        events: &[WalletEvent],
    ) -> Result<Created, StoreError> {
        let email_key = ledger::register::email_key(&account.email);
        let claim = EmailClaim {
            player_id: account.player_id.clone(),
            email: account.email.clone(),
        };
        let mut items = vec![
            (
                Role::Account,
                self.put_new(to_item(
                    account,
                    keys::player_pk(&account.player_id),
                    keys::ACCOUNT_SK.into(),
                    ItemType::Account,
                )?)?,
            ),
            (
                Role::Email,
                self.put_new(to_item(
                    &claim,
                    keys::email_pk(&email_key),
                    ItemType::Email.sort_key().into(),
                    ItemType::Email,
                )?)?,
            ),
        ];
        items.extend(self.outbox_items(events)?);
        match self.transact(items).await? {
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

    /// Writes a new version of an account read at `read_version`; `false` if it changed
    /// meanwhile.
    pub async fn update_account(
        &self,
        next: &Account,
        read_version: u64,
    ) -> Result<Commit, StoreError> {
        self.commit(vec![(Role::Account, self.put_account(next, read_version)?)])
            .await
    }

    /// Several items read together in one consistent snapshot (`TransactGetItems`), in
    /// the order of `keys`.
    async fn snapshot(&self, keys: Vec<(String, &str)>) -> Result<Vec<Option<Item>>, StoreError> {
        let wanted = keys.len();
        let gets = keys
            .into_iter()
            .map(|(pk, sk)| {
                Get::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(pk, sk)))
                    .build()
                    .map(|get| TransactGetItem::builder().get(get).build())
                    .map_err(|e| StoreError::Request(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = self.transact_get(gets).await?;
        let mut items: Vec<Option<Item>> = out
            .responses
            .unwrap_or_default()
            .into_iter()
            .map(|r| r.item)
            .collect();
        items.resize(wanted, None);
        Ok(items)
    }

    /// One `TransactGetItems`. DynamoDB cancels it when a transaction is writing one of its
    /// items at that moment (`TransactionConflict`): nothing was decided yet, so it is
    /// simply read again, a bounded number of times with backoff. Any other cancellation
    /// reason fails at once.
    async fn transact_get(
        &self,
        gets: Vec<TransactGetItem>,
    ) -> Result<aws_sdk_dynamodb::operation::transact_get_items::TransactGetItemsOutput, StoreError>
    {
        use aws_sdk_dynamodb::operation::transact_get_items::TransactGetItemsError;
        for attempt in 0..flows::MAX_ATTEMPTS {
            let result = self
                .client
                .transact_get_items()
                .set_transact_items(Some(gets.clone()))
                .send()
                .await;
            let error = match result {
                Ok(out) => return Ok(out),
                Err(error) => error,
            };
            let Some(TransactGetItemsError::TransactionCanceledException(cancelled)) =
                error.as_service_error()
            else {
                return Err(call_failed("TransactGetItems", error));
            };
            let reasons: Vec<Reason> = cancelled
                .cancellation_reasons()
                .iter()
                .map(|r| Reason::parse(r.code()))
                .collect();
            if let Some(Reason::Other(code)) =
                reasons.iter().find(|r| matches!(r, Reason::Other(_)))
            {
                return Err(StoreError::Rejected {
                    operation: "TransactGetItems",
                    reason: format!("cancelled: {code}"),
                });
            }
            if reasons.contains(&Reason::Throttled) {
                return Err(StoreError::Unavailable {
                    operation: "TransactGetItems",
                    reason: "throttled".into(),
                });
            }
            table::back_off(attempt).await;
        }
        Err(StoreError::Contention(flows::MAX_ATTEMPTS))
    }

    /// The account and the record of a deposit id, as one snapshot.
    pub async fn deposit_state(
        &self,
        player: &PlayerId,
        deposit_id: &ClientId,
    ) -> Result<(Option<Account>, Option<DepositRecord>), StoreError> {
        let mut items = self
            .snapshot(vec![
                (keys::player_pk(player), keys::ACCOUNT_SK),
                (keys::deposit_pk(deposit_id), ItemType::Deposit.sort_key()),
            ])
            .await?
            .into_iter();
        let account = items.next().flatten().map(from_item).transpose()?;
        let record = items.next().flatten().map(from_item).transpose()?;
        Ok((account, record))
    }

    /// The account and its grant of a campaign, as one snapshot.
    pub async fn award_state(
        &self,
        player: &PlayerId,
        campaign_id: &str,
        deposit_id: &ClientId,
    ) -> Result<AwardState, StoreError> {
        let mut items = self
            .snapshot(vec![
                (keys::player_pk(player), keys::ACCOUNT_SK),
                (
                    keys::bonus_pk(player, campaign_id),
                    ItemType::Bonus.sort_key(),
                ),
                (keys::deposit_pk(deposit_id), ItemType::Deposit.sort_key()),
            ])
            .await?
            .into_iter();
        Ok(AwardState {
            account: items.next().flatten().map(from_item).transpose()?,
            grant: items.next().flatten().map(from_item).transpose()?,
            deposit: items.next().flatten().map(from_item).transpose()?,
        })
    }

    fn grant_item(&self, grant: &BonusGrant) -> Result<TransactWriteItem, StoreError> {
        self.put_new(to_item(
            grant,
            keys::bonus_pk(&grant.player_id, &grant.campaign_id),
            ItemType::Bonus.sort_key().into(),
            ItemType::Bonus,
        )?)
    }

    /// A declined award (an excluded or disabled player): the grant alone, amount 0, valid
    /// only if the account is still as read.
    pub async fn record_declined_award(
        &self,
        grant: &BonusGrant,
        read_version: u64,
    ) -> Result<Commit, StoreError> {
        self.commit(vec![
            (
                Role::Account,
                self.check_account_version(&grant.player_id, read_version)?,
            ),
            (Role::Id, self.grant_item(grant)?),
        ])
        .await
    }

    /// A bonus award: account + grant (at most once per player and campaign) + entry.
    pub async fn commit_award(
        &self,
        decision: &AwardDecision,
        read_version: u64,
        events: &[WalletEvent],
    ) -> Result<Commit, StoreError> {
        let mut items = vec![
            (
                Role::Account,
                self.put_account(&decision.account, read_version)?,
            ),
            (Role::Id, self.grant_item(&decision.grant)?),
            self.entry_item(&decision.entry)?,
        ];
        items.extend(self.outbox_items(events)?);
        self.commit(items).await
    }

    /// The account and the record of a bet id, as one snapshot.
    pub async fn bet_state(
        &self,
        player: &PlayerId,
        bet_id: &ClientId,
    ) -> Result<(Option<Account>, Option<BetRecord>), StoreError> {
        let mut items = self
            .snapshot(vec![
                (keys::player_pk(player), keys::ACCOUNT_SK),
                (keys::bet_pk(bet_id), ItemType::Bet.sort_key()),
            ])
            .await?
            .into_iter();
        let account = items.next().flatten().map(from_item).transpose()?;
        let record = items.next().flatten().map(from_item).transpose()?;
        Ok((account, record))
    }

    /// The account, the bet's record and the settlement id's record, as one snapshot.
    pub async fn settlement_state(
        &self,
        player: &PlayerId,
        bet_id: &ClientId,
        settlement_id: &ClientId,
    ) -> Result<(Option<Account>, Option<BetRecord>, Option<SettlementRecord>), StoreError> {
        let mut items = self
            .snapshot(vec![
                (keys::player_pk(player), keys::ACCOUNT_SK),
                (keys::bet_pk(bet_id), ItemType::Bet.sort_key()),
                (
                    keys::settlement_pk(settlement_id),
                    ItemType::Settlement.sort_key(),
                ),
            ])
            .await?
            .into_iter();
        let account = items.next().flatten().map(from_item).transpose()?;
        let bet = items.next().flatten().map(from_item).transpose()?;
        let settlement = items.next().flatten().map(from_item).transpose()?;
        Ok((account, bet, settlement))
    }

    /// A bet's record (consistent read).
    pub async fn bet(&self, bet_id: &ClientId) -> Result<Option<BetRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::bet_pk(bet_id), ItemType::Bet.sort_key())))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| call_failed("GetItem", e))?;
        out.item.map(from_item).transpose()
    }

    fn bet_item(
        &self,
        record: &BetRecord,
        read_version: Option<u64>,
    ) -> Result<TransactWriteItem, StoreError> {
        let item = to_item(
            record,
            keys::bet_pk(&record.bet_id),
            ItemType::Bet.sort_key().into(),
            ItemType::Bet,
        )?;
        match read_version {
            None => self.put_new(item),
            Some(version) => self.put(
                item,
                "version = :read_version",
                Some(HashMap::from([(
                    ":read_version".to_string(),
                    number(version),
                )])),
            ),
        }
    }

    /// A placed bet: account + bet record + entry, all or nothing.
    pub async fn commit_bet(
        &self,
        decision: &BetDecision,
        read_version: u64,
        events: &[WalletEvent],
    ) -> Result<Commit, StoreError> {
        let mut items = vec![
            (
                Role::Account,
                self.put_account(&decision.account, read_version)?,
            ),
            (Role::Id, self.bet_item(&decision.record, None)?),
        ];
        for entry in decision.entries() {
            items.push(self.entry_item(entry)?);
        }
        items.extend(self.outbox_items(events)?);
        self.commit(items).await
    }

    /// One movement of money outside a client id's record (e.g. a bonus award): the
    /// account guarded by its version and the entry.
    pub async fn commit_movement(
        &self,
        next: &Account,
        entry: Option<&LedgerEntry>,
        read_version: u64,
        events: &[WalletEvent],
    ) -> Result<Commit, StoreError> {
        let mut items = vec![(Role::Account, self.put_account(next, read_version)?)];
        if let Some(entry) = entry {
            items.push(self.entry_item(entry)?);
        }
        items.extend(self.outbox_items(events)?);
        self.commit(items).await
    }

    /// A refused bet: its record, valid only if the account is still as read.
    pub async fn record_bet_rejection(
        &self,
        player: &PlayerId,
        read_version: u64,
        record: &BetRecord,
    ) -> Result<Commit, StoreError> {
        let items = vec![
            (
                Role::Account,
                self.check_account_version(player, read_version)?,
            ),
            (Role::Id, self.bet_item(record, None)?),
        ];
        self.commit(items).await
    }

    /// A settlement: the settlement id's record first (a taken id means replay), then
    /// whatever the decision changes — the bet (guarded by the version read, or created as
    /// a tombstone), the account (guarded by its version) and the entry.
    pub async fn commit_settlement(
        &self,
        decision: &SettleDecision,
        record: &SettlementRecord,
        account_version: u64,
        bet_version: Option<u64>,
        events: &[WalletEvent],
    ) -> Result<Commit, StoreError> {
        let mut items = vec![(
            Role::Id,
            self.put_new(to_item(
                record,
                keys::settlement_pk(&record.settlement_id),
                ItemType::Settlement.sort_key().into(),
                ItemType::Settlement,
            )?)?,
        )];
        if let Some(bet) = &decision.record {
            let guard = if decision.creates_record {
                None
            } else {
                Some(bet_version.unwrap_or(0))
            };
            items.push((Role::Bet, self.bet_item(bet, guard)?));
        }
        if let Some(account) = &decision.account {
            items.push((Role::Account, self.put_account(account, account_version)?));
        }
        for entry in decision.entries() {
            items.push(self.entry_item(entry)?);
        }
        items.extend(self.outbox_items(events)?);
        self.commit(items).await
    }

    fn deposit_record_item(&self, record: &DepositRecord) -> Result<TransactWriteItem, StoreError> {
        self.put_new(to_item(
            record,
            keys::deposit_pk(&record.deposit_id),
            ItemType::Deposit.sort_key().into(),
            ItemType::Deposit,
        )?)
    }

    /// An accepted deposit: account + id record + entry, all or nothing.
    pub async fn commit_deposit(
        &self,
        decision: &DepositDecision,
        read_version: u64,
        record: &DepositRecord,
        events: &[WalletEvent],
    ) -> Result<Commit, StoreError> {
        let mut items = vec![
            (
                Role::Account,
                self.put_account(&decision.account, read_version)?,
            ),
            (Role::Id, self.deposit_record_item(record)?),
        ];
        for entry in decision.entries() {
            items.push(self.entry_item(entry)?);
        }
        items.extend(self.outbox_items(events)?);
        self.commit(items).await
    }

    /// A rejected deposit: the id record, valid only if the account is still as read.
    pub async fn record_deposit_rejection(
        &self,
        player: &PlayerId,
        read_version: u64,
        record: &DepositRecord,
    ) -> Result<Commit, StoreError> {
        let items = vec![
            (
                Role::Account,
                self.check_account_version(player, read_version)?,
            ),
            (Role::Id, self.deposit_record_item(record)?),
        ];
        self.commit(items).await
    }

    /// Up to `limit` entries newest first, strictly older than `before_seq` when given.
    /// Returns the entries and whether older ones remain.
    pub async fn entries_page(
        &self,
        player: &PlayerId,
        limit: usize,
        before_seq: Option<u64>,
    ) -> Result<(Vec<LedgerEntry>, bool), StoreError> {
        let upper = match before_seq {
            Some(0) | Some(1) => return Ok((Vec::new(), false)),
            Some(seq) => keys::entry_sk(seq - 1),
            None => format!("{}~", keys::ENTRY_PREFIX),
        };
        let want = i32::try_from(limit.saturating_add(1)).unwrap_or(i32::MAX);
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :lower AND :upper")
            .expression_attribute_values(":pk", AttributeValue::S(keys::player_pk(player)))
            .expression_attribute_values(":lower", AttributeValue::S(keys::entry_sk(0)))
            .expression_attribute_values(":upper", AttributeValue::S(upper))
            .scan_index_forward(false)
            .consistent_read(true)
            .limit(want)
            .send()
            .await
            .map_err(|e| call_failed("Query", e))?;
        let mut entries = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(from_item)
            .collect::<Result<Vec<LedgerEntry>, _>>()?;
        let more = entries.len() > limit;
        entries.truncate(limit);
        Ok((entries, more))
    }
}

impl Store {
    /// Every item of the table, typed, for the audit: a paginated, strongly consistent
    /// scan. (On a live table the result is not one point in time; run the audit on a
    /// quiet table or a point-in-time restore for an exact answer.)
    pub async fn scan_all(&self) -> Result<ledger::audit::Snapshot, StoreError> {
        let mut snapshot = ledger::audit::Snapshot::default();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| call_failed("Scan", e))?;
            for item in out.items.unwrap_or_default() {
                let item_type = item
                    .get(ITEM_TYPE)
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default();
                match item_type.as_str() {
                    "account" => snapshot.accounts.push(from_item(item)?),
                    "entry" => snapshot.entries.push(from_item(item)?),
                    "deposit" => snapshot.deposits.push(from_item(item)?),
                    "bet" => snapshot.bets.push(from_item(item)?),
                    "settlement" => snapshot.settlements.push(from_item(item)?),
                    _ => {}
                }
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(snapshot),
            }
        }
    }
}
