//! The imperative shell around the pure rules: read the state, let `ledger` decide,
//! persist the decision in one conditional transaction. When the account changed between
//! the read and the write (another request committed first), the condition fails and the
//! request is decided again on the new state — a bounded number of times, with jittered
//! backoff. A business rejection is never retried into a success: it is recorded against
//! its id (invariant 7) and every retry of that id reads the record.

use crate::{Commit, Created, Store, StoreError};
use ledger::deposit::{deposit, DepositCommand, DepositOutcome, DepositRecord};
use ledger::idempotency::Recorded;
use ledger::register::is_same_registration;
use ledger::{Account, PlayerId, Timestamp, WalletError};
use std::time::Duration;

/// How many times a request is decided again when the wallet keeps changing under it.
pub const MAX_ATTEMPTS: u32 = 40;

/// A request that went through (or was answered from its record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied<T> {
    pub outcome: T,
    /// The account after the request (for a replay: as it is now).
    pub account: Account,
    /// True when answered from the id's record: nothing moved.
    pub replayed: bool,
}

/// A request that failed, with the account when the player exists (money routes show
/// the current wallet on every error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    pub error: WalletError,
    pub account: Option<Account>,
}

impl Failed {
    fn new(error: WalletError, account: Option<Account>) -> Failed {
        Failed { error, account }
    }
}

impl From<StoreError> for Failed {
    fn from(error: StoreError) -> Failed {
        Failed::new(error.into(), None)
    }
}

/// Waits before deciding again: exponential with full jitter, 2 ms doubling up to 100 ms,
/// so that concurrent writers to one wallet spread out instead of colliding again.
async fn back_off(attempt: u32) {
    let ceiling = 2u64.saturating_mul(1u64 << attempt.min(6)).min(100);
    tokio::time::sleep(Duration::from_millis(fastrand::u64(1..=ceiling))).await;
}

/// Registers a new account; the same request again answers with the existing account.
pub async fn register(store: &Store, candidate: Account) -> Result<Applied<Account>, WalletError> {
    match store.create_account(&candidate).await? {
        Created::Created => Ok(Applied {
            outcome: candidate.clone(),
            account: candidate,
            replayed: false,
        }),
        Created::PlayerExists(existing) if is_same_registration(&existing, &candidate) => {
            Ok(Applied {
                outcome: (*existing).clone(),
                account: *existing,
                replayed: true,
            })
        }
        Created::PlayerExists(_) => Err(WalletError::PlayerExists),
        Created::EmailTaken => Err(WalletError::EmailTaken),
    }
}

/// Changes an account (limits, exclusions): `decide` returns the new account, or `None`
/// when nothing changes, and the answer.
pub async fn update_account<T>(
    store: &Store,
    player: &PlayerId,
    now: impl Fn() -> Timestamp,
    decide: impl Fn(&Account, Timestamp) -> Result<(Option<Account>, T), WalletError>,
) -> Result<Applied<T>, Failed> {
    for attempt in 0..MAX_ATTEMPTS {
        let Some(account) = store.account(player).await? else {
            return Err(Failed::new(
                WalletError::PlayerNotFound(player.to_string()),
                None,
            ));
        };
        let (next, outcome) =
            decide(&account, now()).map_err(|e| Failed::new(e, Some(account.clone())))?;
        let Some(next) = next else {
            return Ok(Applied {
                outcome,
                account,
                replayed: false,
            });
        };
        match store.update_account(&next, account.version).await? {
            Commit::Committed => {
                return Ok(Applied {
                    outcome,
                    account: next,
                    replayed: false,
                })
            }
            Commit::StateChanged | Commit::IdTaken => back_off(attempt).await,
        }
    }
    Err(StoreError::Contention(MAX_ATTEMPTS).into())
}

/// A deposit, exactly once per deposit id, forever.
pub async fn deposit_funds(
    store: &Store,
    command: &DepositCommand,
    now: impl Fn() -> Timestamp,
) -> Result<Applied<DepositOutcome>, Failed> {
    for attempt in 0..MAX_ATTEMPTS {
        let (account, record) = store
            .deposit_state(&command.player_id, &command.deposit_id)
            .await?;
        let Some(account) = account else {
            return Err(Failed::new(
                WalletError::PlayerNotFound(command.player_id.to_string()),
                None,
            ));
        };
        if let Some(record) = record {
            return match record.replay(command) {
                Ok(outcome) => Ok(Applied {
                    outcome,
                    account,
                    replayed: true,
                }),
                Err(error) => Err(Failed::new(error, Some(account))),
            };
        }
        let commit = match deposit(&account, command, now()) {
            Ok(decision) => {
                let record = DepositRecord::new(
                    command,
                    Recorded::Accepted {
                        outcome: decision.outcome.clone(),
                    },
                );
                match store
                    .commit_deposit(&decision, account.version, &record)
                    .await?
                {
                    Commit::Committed => {
                        return Ok(Applied {
                            outcome: decision.outcome,
                            account: decision.account,
                            replayed: false,
                        })
                    }
                    other => other,
                }
            }
            Err(error) if error.is_stable_rejection() => {
                let record = DepositRecord::new(command, Recorded::rejection(&error));
                match store
                    .record_deposit_rejection(&command.player_id, account.version, &record)
                    .await?
                {
                    Commit::Committed => return Err(Failed::new(error, Some(account))),
                    other => other,
                }
            }
            Err(error) => return Err(Failed::new(error, Some(account))),
        };
        // The id was taken meanwhile: the next read finds its record and replays it.
        if commit == Commit::StateChanged {
            back_off(attempt).await;
        }
    }
    Err(StoreError::Contention(MAX_ATTEMPTS).into())
}
