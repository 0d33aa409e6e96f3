//! The one DynamoDB implementation of Stakeline's persistence, laid out by operation. Every
//! money write is ONE `TransactWriteItems`: the wallet guarded by the version it was read
//! at, and the permanent id record (which carries the change's ledger entries) guarded by
//! `attribute_not_exists`.
//!
//! - `table`: transactions, snapshots, cancellation reasons typed by the item's role;
//! - `keys` and `items`: the table layout and the item mapping;
//! - `apply`: the one apply-once loop every operation runs (`Done` / `Retry`);
//! - one module per operation (`account`, `deposit`, `bet`, `settlement`, `bonus`), each
//!   holding its snapshot, its commit and its flow; `history` (the ledger pages) and
//!   `audit` (the reconciliation scan).
//!
//! Data flows one way: handler → operation → `ledger` (the decision, with its entries and
//! its events) → one commit.

pub mod account;
pub mod apply;
pub mod audit;
pub mod bet;
pub mod bonus;
pub mod deposit;
pub mod history;
pub mod items;
pub mod keys;
pub mod operator;
pub mod settlement;
pub mod table;
pub mod withdrawal;

#[cfg(test)]
mod retry_tests;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use ledger::WalletError;
use std::collections::HashMap;

pub use apply::{Applied, Failed};
pub use items::{profile_item, MAX_ACCOUNT_ITEM_BYTES};
pub use table::{Commit, MAX_ATTEMPTS};

pub type Item = HashMap<String, AttributeValue>;

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

/// The table and the client that reaches it, built once per cold start.
#[derive(Clone, Debug)]
pub struct Store {
    client: Client,
    table: String,
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
}
