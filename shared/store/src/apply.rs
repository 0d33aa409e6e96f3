//! The one apply-once loop. An attempt reads its snapshot, lets `ledger` decide and commits
//! the decision in one conditional transaction. When the wallet changed between the read
//! and the write (another request committed first), the condition fails and the request is
//! decided again on the new state, a bounded number of times with jittered backoff. A
//! business rejection is never retried into a success: it is recorded against its id
//! (invariant 7) and every retry of that id reads the record.

use crate::table::{back_off, Commit, MAX_ATTEMPTS};
use crate::StoreError;
use ledger::{Account, PlayerId, WalletError};
use std::future::Future;

/// A request that went through (or was answered from its record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied<T> {
    pub outcome: T,
    /// The account after the request (for a replay: as it is now).
    pub account: Account,
    /// True when answered from the id's record: nothing moved.
    pub replayed: bool,
}

impl<T> Applied<T> {
    /// A change that was just committed.
    pub fn new(outcome: T, account: Account) -> Applied<T> {
        Applied {
            outcome,
            account,
            replayed: false,
        }
    }

    /// An answer from a record: nothing moved now.
    pub fn replay(outcome: T, account: Account) -> Applied<T> {
        Applied {
            outcome,
            account,
            replayed: true,
        }
    }
}

/// A request that failed, with the account when the player exists (money routes show
/// the current wallet on every error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    pub error: WalletError,
    pub account: Option<Box<Account>>,
}

impl Failed {
    pub fn new(error: WalletError, account: Option<Account>) -> Failed {
        Failed {
            error,
            account: account.map(Box::new),
        }
    }

    pub fn player_not_found(player: &PlayerId) -> Failed {
        Failed::new(WalletError::PlayerNotFound(player.to_string()), None)
    }
}

impl From<StoreError> for Failed {
    fn from(error: StoreError) -> Failed {
        Failed::new(error.into(), None)
    }
}

/// What one attempt came to: the final answer, or the reason to decide again.
#[derive(Debug)]
pub enum Attempt<T> {
    Done(Box<Applied<T>>),
    /// `StateChanged`: decide again after a backoff; `IdTaken`: read again at once (the
    /// next read replays the id's record).
    Retry(Commit),
}

impl<T> Attempt<T> {
    /// The final answer.
    pub fn done(applied: Applied<T>) -> Attempt<T> {
        Attempt::Done(Box::new(applied))
    }

    /// After a commit: done with `applied` when it went through, else decide again.
    pub fn after(commit: Commit, applied: impl FnOnce() -> Applied<T>) -> Attempt<T> {
        match commit {
            Commit::Committed => Attempt::done(applied()),
            other => Attempt::Retry(other),
        }
    }
}

/// After recording a rejection: the rejection itself once recorded, else decide again.
pub fn rejected<T>(
    commit: Commit,
    error: WalletError,
    account: Account,
) -> Result<Attempt<T>, Failed> {
    match commit {
        Commit::Committed => Err(Failed::new(error, Some(account))),
        other => Ok(Attempt::Retry(other)),
    }
}

/// The answer a record gives to a repeated request.
pub fn replayed<T>(answer: Result<T, WalletError>, account: Account) -> Result<Attempt<T>, Failed> {
    match answer {
        Ok(outcome) => Ok(Attempt::done(Applied::replay(outcome, account))),
        Err(error) => Err(Failed::new(error, Some(account))),
    }
}

/// Runs attempts until one gives an answer, bounded by [`MAX_ATTEMPTS`].
pub async fn apply_once<T, F, Fut>(mut attempt: F) -> Result<Applied<T>, Failed>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Attempt<T>, Failed>>,
{
    for n in 0..MAX_ATTEMPTS {
        match attempt().await? {
            Attempt::Done(applied) => return Ok(*applied),
            Attempt::Retry(Commit::StateChanged) => {
                metrics::counter!("contention_retries").increment(1);
                back_off(n).await
            }
            Attempt::Retry(_) => {}
        }
    }
    metrics::counter!("contention_exhausted").increment(1);
    Err(StoreError::Contention(MAX_ATTEMPTS).into())
}
