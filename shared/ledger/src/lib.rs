//! Stakeline's money rules as pure functions: a wallet's state plus a command (and the
//! time) in, a decision out — the new state, the ledger entries that explain it and the
//! answer to give — or a [`WalletError`] with a stable code. Nothing here does I/O.

pub mod account;
pub mod action;
pub mod api;
pub mod audit;
pub mod bet;
pub mod bonus;
pub mod clock;
pub mod deposit;
pub mod entry;
pub mod error;
pub mod events;
pub mod exclusion;
pub mod idempotency;
pub mod ids;
pub mod invariant;
pub mod json;
pub mod limits;
pub mod money;
pub mod operator;
pub mod outcome;
pub mod reference;
pub mod register;
pub mod risk;
pub mod settlement;
pub mod text;
pub mod withdrawal;

#[cfg(test)]
mod betting_tests;

pub use account::{Account, AccountStatus};
pub use clock::Timestamp;
pub use entry::{EntryKind, LedgerEntry};
pub use error::{ErrorCode, FieldError, WalletError};
pub use ids::{ClientId, PlayerId};
pub use money::{Amount, Balances, Currency};
