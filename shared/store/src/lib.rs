//! The one DynamoDB implementation of Stakeline's persistence. Every money write is ONE
//! `TransactWriteItems`: the account guarded by the version it was read at, the ledger
//! entry and the permanent id record guarded by `attribute_not_exists`. See `keys` for
//! the table layout and `flows` for the read → decide → write loop around the pure rules.

pub mod flows;
pub mod keys;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
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

pub type Item = HashMap<String, AttributeValue>;

/// How long an outbox item stays in the table after its change (TTL): as long as the
/// publisher's on-failure queue keeps a failed batch (14 days), so a redrive can always
/// find the events it names.
pub const OUTBOX_RETENTION_SECONDS: i64 = 14 * 24 * 3600;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DynamoDB {operation} failed: {message}")]
    Dynamo {
        operation: &'static str,
        message: String,
    },
    #[error("a stored item cannot be read: {0}")]
    Corrupt(String),
    #[error("a request could not be built: {0}")]
    Request(String),
    #[error("gave up after {0} attempts: the wallet kept changing under this request")]
    Contention(u32),
}

impl From<StoreError> for WalletError {
    fn from(error: StoreError) -> WalletError {
        WalletError::Internal(error.to_string())
    }
}

/// What happened to a conditional transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    Committed,
    /// The account changed since it was read (or a concurrent transaction touched it):
    /// read again and decide again.
    StateChanged,
    /// The client id was taken meanwhile: read its record and replay it.
    IdTaken,
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

fn dynamo_error<E: ProvideErrorMetadata + std::fmt::Debug>(
    operation: &'static str,
    error: &E,
) -> StoreError {
    StoreError::Dynamo {
        operation,
        message: format!(
            "{}: {}",
            error.code().unwrap_or("unknown"),
            error.message().unwrap_or("no message")
        ),
    }
}

/// Any failed SDK call, named by its operation.
fn call_failed<E, R>(
    operation: &'static str,
    error: aws_sdk_dynamodb::error::SdkError<E, R>,
) -> StoreError
where
    E: ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match error.as_service_error() {
        Some(service) => dynamo_error(operation, service),
        None => StoreError::Dynamo {
            operation,
            message: format!("{error:?}"),
        },
    }
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
    Ok(item)
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
        let item = to_item(
            next,
            keys::player_pk(&next.player_id),
            keys::ACCOUNT_SK.into(),
            ItemType::Account,
        )?;
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
    fn outbox_items(&self, events: &[WalletEvent]) -> Result<Vec<TransactWriteItem>, StoreError> {
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
                self.put_new(item)
            })
            .collect()
    }

    fn entry_item(&self, entry: &LedgerEntry) -> Result<TransactWriteItem, StoreError> {
        self.put_new(to_item(
            entry,
            keys::player_pk(&entry.player_id),
            keys::entry_sk(entry.seq),
            ItemType::Entry,
        )?)
    }

    /// Runs one transaction; returns the cancellation reason code of each item when the
    /// transaction was cancelled.
    async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Option<Vec<String>>, StoreError> {
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(None),
            Err(error) => {
                let service = error.as_service_error();
                if let Some(aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(cancelled)) = service {
                    let codes = cancelled
                        .cancellation_reasons()
                        .iter()
                        .map(|r| r.code().unwrap_or("None").to_string())
                        .collect();
                    return Ok(Some(codes));
                }
                if service.and_then(|s| s.code()) == Some("TransactionConflictException") {
                    return Ok(Some(vec!["TransactionConflict".into()]));
                }
                Err(match service {
                    Some(s) => dynamo_error("TransactWriteItems", s),
                    None => StoreError::Dynamo {
                        operation: "TransactWriteItems",
                        message: format!("{error:?}"),
                    },
                })
            }
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
            self.put_new(to_item(
                account,
                keys::player_pk(&account.player_id),
                keys::ACCOUNT_SK.into(),
                ItemType::Account,
            )?)?,
            self.put_new(to_item(
                &claim,
                keys::email_pk(&email_key),
                ItemType::Email.sort_key().into(),
                ItemType::Email,
            )?)?,
        ];
        items.extend(self.outbox_items(events)?);
        match self.transact(items).await? {
            None => Ok(Created::Created),
            Some(codes) => {
                if codes.first().map(String::as_str) == Some("ConditionalCheckFailed") {
                    return match self.account(&account.player_id).await? {
                        Some(existing) => Ok(Created::PlayerExists(Box::new(existing))),
                        None => Err(StoreError::Corrupt(
                            "an account was reported and then not found".into(),
                        )),
                    };
                }
                if codes.get(1).map(String::as_str) == Some("ConditionalCheckFailed") {
                    return Ok(Created::EmailTaken);
                }
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
        match self
            .transact(vec![self.put_account(next, read_version)?])
            .await?
        {
            None => Ok(Commit::Committed),
            Some(_) => Ok(Commit::StateChanged),
        }
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
        let out = self
            .client
            .transact_get_items()
            .set_transact_items(Some(gets))
            .send()
            .await
            .map_err(|e| call_failed("TransactGetItems", e))?;
        let mut items: Vec<Option<Item>> = out
            .responses
            .unwrap_or_default()
            .into_iter()
            .map(|r| r.item)
            .collect();
        items.resize(wanted, None);
        Ok(items)
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
    ) -> Result<(Option<Account>, Option<BonusGrant>), StoreError> {
        let mut items = self
            .snapshot(vec![
                (keys::player_pk(player), keys::ACCOUNT_SK),
                (
                    keys::bonus_pk(player, campaign_id),
                    ItemType::Bonus.sort_key(),
                ),
            ])
            .await?
            .into_iter();
        let account = items.next().flatten().map(from_item).transpose()?;
        let grant = items.next().flatten().map(from_item).transpose()?;
        Ok((account, grant))
    }

    /// A bonus award: account + grant (at most once per player and campaign) + entry.
    pub async fn commit_award(
        &self,
        decision: &AwardDecision,
        read_version: u64,
        events: &[WalletEvent],
    ) -> Result<Commit, StoreError> {
        let grant = to_item(
            &decision.grant,
            keys::bonus_pk(&decision.grant.player_id, &decision.grant.campaign_id),
            ItemType::Bonus.sort_key().into(),
            ItemType::Bonus,
        )?;
        let mut items = vec![
            self.put_account(&decision.account, read_version)?,
            self.put_new(grant)?,
            self.entry_item(&decision.entry)?,
        ];
        items.extend(self.outbox_items(events)?);
        Ok(interpret(self.transact(items).await?, 1))
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
            self.put_account(&decision.account, read_version)?,
            self.bet_item(&decision.record, None)?,
        ];
        for entry in decision.entries() {
            items.push(self.entry_item(entry)?);
        }
        items.extend(self.outbox_items(events)?);
        Ok(interpret(self.transact(items).await?, 1))
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
        let mut items = vec![self.put_account(next, read_version)?];
        if let Some(entry) = entry {
            items.push(self.entry_item(entry)?);
        }
        items.extend(self.outbox_items(events)?);
        Ok(interpret(self.transact(items).await?, usize::MAX))
    }

    /// A refused bet: its record, valid only if the account is still as read.
    pub async fn record_bet_rejection(
        &self,
        player: &PlayerId,
        read_version: u64,
        record: &BetRecord,
    ) -> Result<Commit, StoreError> {
        let items = vec![
            self.check_account_version(player, read_version)?,
            self.bet_item(record, None)?,
        ];
        Ok(interpret(self.transact(items).await?, 1))
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
        let mut items = vec![self.put_new(to_item(
            record,
            keys::settlement_pk(&record.settlement_id),
            ItemType::Settlement.sort_key().into(),
            ItemType::Settlement,
        )?)?];
        if let Some(bet) = &decision.record {
            let guard = if decision.creates_record {
                None
            } else {
                Some(bet_version.unwrap_or(0))
            };
            items.push(self.bet_item(bet, guard)?);
        }
        if let Some(account) = &decision.account {
            items.push(self.put_account(account, account_version)?);
        }
        for entry in decision.entries() {
            items.push(self.entry_item(entry)?);
        }
        items.extend(self.outbox_items(events)?);
        Ok(interpret(self.transact(items).await?, 0))
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
            self.put_account(&decision.account, read_version)?,
            self.deposit_record_item(record)?,
        ];
        for entry in decision.entries() {
            items.push(self.entry_item(entry)?);
        }
        items.extend(self.outbox_items(events)?);
        Ok(interpret(self.transact(items).await?, 1))
    }

    /// A rejected deposit: the id record, valid only if the account is still as read.
    pub async fn record_deposit_rejection(
        &self,
        player: &PlayerId,
        read_version: u64,
        record: &DepositRecord,
    ) -> Result<Commit, StoreError> {
        let items = vec![
            self.check_account_version(player, read_version)?,
            self.deposit_record_item(record)?,
        ];
        Ok(interpret(self.transact(items).await?, 1))
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

/// Reads a cancelled money transaction: the id record at `id_index` taken means replay;
/// anything else (the account's version, a concurrent transaction) means decide again.
fn interpret(codes: Option<Vec<String>>, id_index: usize) -> Commit {
    match codes {
        None => Commit::Committed,
        Some(codes)
            if codes.get(id_index).map(String::as_str) == Some("ConditionalCheckFailed") =>
        {
            Commit::IdTaken
        }
        Some(_) => Commit::StateChanged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_id_wins_over_a_changed_account() {
        let codes = |c: &[&str]| Some(c.iter().map(|s| s.to_string()).collect());
        assert_eq!(interpret(None, 1), Commit::Committed);
        assert_eq!(
            interpret(
                codes(&["ConditionalCheckFailed", "ConditionalCheckFailed", "None"]),
                1
            ),
            Commit::IdTaken
        );
        assert_eq!(
            interpret(codes(&["ConditionalCheckFailed", "None", "None"]), 1),
            Commit::StateChanged
        );
        assert_eq!(
            interpret(codes(&["TransactionConflict"]), 1),
            Commit::StateChanged
        );
    }
}
