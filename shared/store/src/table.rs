//! The table layer: how one transaction or one snapshot talks to DynamoDB, and what its
//! failures mean. Only two failures are decided again: a failed version condition and a
//! `TransactionConflict` (on reads as on writes). Throttling gets the SDK's own retries
//! and backoff, then becomes `UNAVAILABLE` (503, safe to retry). Validation errors and
//! unknown cancellation reasons fail at once with their reason.

use crate::keys::key;
use crate::{Item, Store, StoreError};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Get, Put, TransactGetItem, TransactWriteItem,
};
use std::collections::HashMap;
use std::time::Duration;

/// How many times a request is decided again when the wallet keeps changing under it (and
/// how many times a snapshot is read again after a `TransactionConflict`).
pub const MAX_ATTEMPTS: u32 = 40;

/// What an item of a transaction is for: a cancellation reason is read by role, never by
/// position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The wallet, guarded by the version it was read at (or created new), and the profile
    /// written beside it.
    Account,
    /// A permanent client-id record (deposit, bet, settlement) or a bonus grant: taken
    /// means the request is answered from the record.
    Id,
    /// A bet record closed by a settlement, guarded by its version.
    Bet,
    /// The email claim of a registration.
    Email,
    /// An item that only comes into being (`attribute_not_exists`): a movement.
    New,
}

/// Why DynamoDB cancelled one item of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// This item was fine (another one failed).
    None,
    ConditionalCheckFailed,
    /// A concurrent transaction touched the item.
    TransactionConflict,
    /// Throttled (`ThrottlingError`, `ProvisionedThroughputExceeded`, ...).
    Throttled,
    /// Anything else (`ValidationError`, `ItemCollectionSizeLimitExceeded`, ...): a bug or
    /// a limit, never cured by trying again.
    Other(String),
}

impl Reason {
    pub fn parse(code: Option<&str>) -> Reason {
        match code.unwrap_or("None") {
            "None" => Reason::None,
            "ConditionalCheckFailed" => Reason::ConditionalCheckFailed,
            "TransactionConflict" => Reason::TransactionConflict,
            "ThrottlingError" | "ProvisionedThroughputExceeded" | "RequestLimitExceeded" => {
                Reason::Throttled
            }
            other => Reason::Other(other.to_string()),
        }
    }
}

/// What happened to a conditional transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    Committed,
    /// The account (or a guarded bet) changed since it was read, or a concurrent
    /// transaction touched it: read again and decide again.
    StateChanged,
    /// The client id was taken meanwhile: read its record and replay it.
    IdTaken,
}

/// A cancelled transaction: each item's role with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cancelled(pub Vec<(Role, Reason)>);

impl Cancelled {
    /// The first item of `role` that failed its condition.
    pub fn failed(&self, role: Role) -> bool {
        self.0
            .iter()
            .any(|(r, reason)| *r == role && *reason == Reason::ConditionalCheckFailed)
    }

    /// What a cancelled money transaction means: a limit or a bug fails at once, throttling
    /// is `UNAVAILABLE`, a taken id replays, a changed account is decided again.
    pub fn commit(&self) -> Result<Commit, StoreError> {
        if let Some((role, Reason::Other(code))) =
            self.0.iter().find(|(_, r)| matches!(r, Reason::Other(_)))
        {
            return Err(StoreError::Rejected {
                operation: "TransactWriteItems",
                reason: format!("cancelled: {code} on the {role:?} item"),
            });
        }
        if self.0.iter().any(|(_, r)| *r == Reason::Throttled) {
            return Err(StoreError::Unavailable {
                operation: "TransactWriteItems",
                reason: "throttled".into(),
            });
        }
        if self.failed(Role::Id) {
            return Ok(Commit::IdTaken);
        }
        if self.0.iter().any(|(_, r)| {
            matches!(
                r,
                Reason::ConditionalCheckFailed | Reason::TransactionConflict
            )
        }) {
            return Ok(Commit::StateChanged);
        }
        Err(StoreError::Rejected {
            operation: "TransactWriteItems",
            reason: "cancelled without a reason".into(),
        })
    }
}

/// The items of one `TransactWriteItems`, each with its role and its guard.
pub struct Writes<'a> {
    table: &'a str,
    items: Vec<(Role, TransactWriteItem)>,
}

impl<'a> Writes<'a> {
    pub fn new(store: &'a Store) -> Writes<'a> {
        Writes {
            table: store.table(),
            items: Vec::new(),
        }
    }

    fn put(
        mut self,
        role: Role,
        item: Item,
        condition: &str,
        values: Option<Item>,
    ) -> Result<Writes<'a>, StoreError> {
        let put = Put::builder()
            .table_name(self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_values(values)
            .build()
            .map_err(|e| StoreError::Request(e.to_string()))?;
        self.items
            .push((role, TransactWriteItem::builder().put(put).build()));
        Ok(self)
    }

    /// An item that must not exist yet.
    pub fn create(self, role: Role, item: Item) -> Result<Writes<'a>, StoreError> {
        self.put(role, item, "attribute_not_exists(pk)", None)
    }

    /// An item that must still be at the version it was read at.
    pub fn replace_at(
        self,
        role: Role,
        item: Item,
        read_version: u64,
    ) -> Result<Writes<'a>, StoreError> {
        self.put(
            role,
            item,
            "version = :read_version",
            Some(HashMap::from([(
                ":read_version".to_string(),
                AttributeValue::N(read_version.to_string()),
            )])),
        )
    }

    /// An item that must exist (written beside another that carries the guard).
    pub fn replace_existing(self, role: Role, item: Item) -> Result<Writes<'a>, StoreError> {
        self.put(role, item, "attribute_exists(pk)", None)
    }

    /// Writes nothing; valid only while the item at `pk`/`sk` is at `read_version`.
    pub fn check_version(
        mut self,
        role: Role,
        pk: String,
        sk: &str,
        read_version: u64,
    ) -> Result<Writes<'a>, StoreError> {
        let check = ConditionCheck::builder()
            .table_name(self.table)
            .set_key(Some(key(pk, sk)))
            .condition_expression("version = :read_version")
            .expression_attribute_values(
                ":read_version",
                AttributeValue::N(read_version.to_string()),
            )
            .build()
            .map_err(|e| StoreError::Request(e.to_string()))?;
        self.items.push((
            role,
            TransactWriteItem::builder().condition_check(check).build(),
        ));
        Ok(self)
    }
}

impl Store {
    /// Runs one transaction; when DynamoDB cancels it, says why, item by item, with each
    /// item's role.
    pub(crate) async fn transact(
        &self,
        writes: Writes<'_>,
    ) -> Result<Option<Cancelled>, StoreError> {
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
        check_transaction(&writes.items)?;
        let roles: Vec<Role> = writes.items.iter().map(|(role, _)| *role).collect();
        let result = self
            .client()
            .transact_write_items()
            .set_transact_items(Some(
                writes.items.into_iter().map(|(_, item)| item).collect(),
            ))
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
    pub async fn commit(&self, writes: Writes<'_>) -> Result<Commit, StoreError> {
        match self.transact(writes).await? {
            None => Ok(Commit::Committed),
            Some(cancelled) => cancelled.commit(),
        }
    }

    /// One item, read consistently (`GetItem`).
    pub async fn item(&self, pk: String, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client()
            .get_item()
            .table_name(self.table())
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| call_failed("GetItem", e))?;
        Ok(out.item)
    }

    /// Several items read together in one consistent snapshot (`TransactGetItems`), in
    /// the order of `keys`.
    pub async fn snapshot(
        &self,
        keys: Vec<(String, &str)>,
    ) -> Result<Vec<Option<Item>>, StoreError> {
        let wanted = keys.len();
        let gets = keys
            .into_iter()
            .map(|(pk, sk)| {
                Get::builder()
                    .table_name(self.table())
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
        for attempt in 0..MAX_ATTEMPTS {
            let result = self
                .client()
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
            back_off(attempt).await;
        }
        Err(StoreError::Contention(MAX_ATTEMPTS))
    }
}

const THROTTLING_CODES: [&str; 4] = [
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "LimitExceededException",
];

/// Any failed SDK call, named by its operation: throttling (after the SDK's own retries),
/// timeouts and unreachable endpoints are `Unavailable`; everything else fails at once.
pub fn call_failed<E, R>(operation: &'static str, error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match &error {
        SdkError::ServiceError(context) => {
            let service = context.err();
            let code = service.code().unwrap_or("unknown");
            let reason = format!("{code}: {}", service.message().unwrap_or("no message"));
            if THROTTLING_CODES.contains(&code) {
                StoreError::Unavailable { operation, reason }
            } else {
                StoreError::Rejected { operation, reason }
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => StoreError::Unavailable {
            operation,
            reason: aws_sdk_dynamodb::error::DisplayErrorContext(&error).to_string(),
        },
        _ => StoreError::Rejected {
            operation,
            reason: aws_sdk_dynamodb::error::DisplayErrorContext(&error).to_string(),
        },
    }
}

/// Waits before deciding again: exponential with full jitter, 2 ms doubling up to 100 ms,
/// so that concurrent writers to one wallet spread out instead of colliding again.
pub async fn back_off(attempt: u32) {
    let ceiling = 2u64.saturating_mul(1u64 << attempt.min(6)).min(100);
    tokio::time::sleep(Duration::from_millis(fastrand::u64(1..=ceiling))).await;
}

/// DynamoDB's largest item (400 KB, names and values counted).
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
/// DynamoDB's largest transaction (4 MB in all).
pub const MAX_TRANSACTION_BYTES: usize = 4 * 1024 * 1024;
/// DynamoDB's most items in one transaction.
pub const MAX_TRANSACTION_ITEMS: usize = 100;

/// An item's size as DynamoDB counts it for its limits and for billing: the UTF-8 length
/// of every attribute name plus the size of its value.
pub fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

fn number_size(n: &str) -> usize {
    // Up to 38 significant digits, two per byte, plus one byte (DynamoDB's documented
    // rule); leading and trailing zeros and the sign do not count.
    let digits = n
        .trim_start_matches('-')
        .split(['e', 'E'])
        .next()
        .unwrap_or_default()
        .replace('.', "");
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len();
    significant.div_ceil(2) + 1
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => number_size(n),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(all) => all.iter().map(String::len).sum(),
        AttributeValue::Ns(all) => all.iter().map(|n| number_size(n)).sum(),
        AttributeValue::Bs(all) => all.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(all) => 3 + all.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(all) => {
            3 + all
                .iter()
                .map(|(k, v)| 1 + k.len() + value_size(v))
                .sum::<usize>()
        }
        _ => 0,
    }
}

/// Refuses, before anything is sent, an item DynamoDB would refuse: a clear error at once
/// instead of a transaction that can never succeed.
pub fn check_item_size(what: &str, item: &Item) -> Result<(), StoreError> {
    let bytes = item_size(item);
    if bytes > MAX_ITEM_BYTES {
        return Err(StoreError::TooLarge(format!(
            "the {what} item would be {bytes} bytes; DynamoDB's limit is {MAX_ITEM_BYTES}"
        )));
    }
    Ok(())
}

/// The same for a whole transaction (item count and total size).
pub fn check_transaction(items: &[(Role, TransactWriteItem)]) -> Result<(), StoreError> {
    if items.len() > MAX_TRANSACTION_ITEMS {
        return Err(StoreError::TooLarge(format!(
            "a transaction of {} items; DynamoDB's limit is {MAX_TRANSACTION_ITEMS}",
            items.len()
        )));
    }
    let bytes: usize = items
        .iter()
        .filter_map(|(_, item)| item.put().map(|put| item_size(put.item())))
        .sum();
    if bytes > MAX_TRANSACTION_BYTES {
        return Err(StoreError::TooLarge(format!(
            "a transaction of {bytes} bytes; DynamoDB's limit is {MAX_TRANSACTION_BYTES}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn item_sizes_follow_dynamodbs_rules() {
        let item: Item = HashMap::from([
            ("pk".to_string(), AttributeValue::S("PLAYER#abc".into())),
            ("n".to_string(), AttributeValue::N("12345".into())),
            ("z".to_string(), AttributeValue::N("1000".into())),
            ("b".to_string(), AttributeValue::Bool(true)),
            (
                "l".to_string(),
                AttributeValue::L(vec![AttributeValue::N("7".into())]),
            ),
            (
                "m".to_string(),
                AttributeValue::M(HashMap::from([(
                    "k".to_string(),
                    AttributeValue::S("vv".into()),
                )])),
            ),
        ]);
        // pk: 2 + 10; n: 1 + (3 + 1); z: 1 + (1 + 1); b: 1 + 1;
        // l: 1 + 3 + (1 + 2); m: 1 + 3 + (1 + 1 + 2)
        assert_eq!(item_size(&item), 12 + 5 + 3 + 2 + 7 + 8);
        assert_eq!(number_size("-0.00120"), 2);
        assert_eq!(number_size("0"), 1);
    }

    #[test]
    fn oversized_items_are_refused_before_sending() {
        let big: Item = HashMap::from([(
            "blob".to_string(),
            AttributeValue::S("x".repeat(MAX_ITEM_BYTES)),
        )]);
        assert!(matches!(
            check_item_size("account", &big),
            Err(StoreError::TooLarge(_))
        ));
        let fits: Item = HashMap::from([(
            "blob".to_string(),
            AttributeValue::S("x".repeat(MAX_ITEM_BYTES - 4)),
        )]);
        assert!(check_item_size("account", &fits).is_ok());
    }

    #[test]
    fn cancellation_reasons_are_read_by_role() {
        use Reason::*;
        let c = |reasons: Vec<(Role, Reason)>| Cancelled(reasons).commit();
        assert_eq!(
            c(vec![
                (Role::Account, ConditionalCheckFailed),
                (Role::Id, ConditionalCheckFailed),
                (Role::New, None)
            ])
            .unwrap(),
            Commit::IdTaken,
            "a taken id wins over a changed account"
        );
        assert_eq!(
            c(vec![
                (Role::Id, None),
                (Role::Account, ConditionalCheckFailed)
            ])
            .unwrap(),
            Commit::StateChanged
        );
        assert_eq!(
            c(vec![(Role::Account, TransactionConflict), (Role::Id, None)]).unwrap(),
            Commit::StateChanged
        );
        assert_eq!(
            c(vec![(Role::Bet, ConditionalCheckFailed), (Role::Id, None)]).unwrap(),
            Commit::StateChanged
        );
        assert!(matches!(
            c(vec![(Role::Account, Throttled), (Role::Id, None)]),
            Err(StoreError::Unavailable { .. })
        ));
        assert!(matches!(
            c(vec![
                (Role::Account, ConditionalCheckFailed),
                (Role::New, Other("ValidationError".into()))
            ]),
            Err(StoreError::Rejected { .. })
        ));
        assert!(matches!(
            c(vec![(Role::Account, None)]),
            Err(StoreError::Rejected { .. })
        ));
        assert_eq!(
            Reason::parse(Some("ItemCollectionSizeLimitExceeded")),
            Other("ItemCollectionSizeLimitExceeded".into())
        );
        assert_eq!(Reason::parse(Some("ThrottlingError")), Throttled);
        assert_eq!(Reason::parse(Option::None), Reason::None);
    }
}
