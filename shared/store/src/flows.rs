//! The imperative shell around the pure rules: read the state, let `ledger` decide,
//! persist the decision in one conditional transaction. When the account changed between
//! the read and the write (another request committed first), the condition fails and the
//! request is decided again on the new state — a bounded number of times, with jittered
//! backoff. A business rejection is never retried into a success: it is recorded against
//! its id (invariant 7) and every retry of that id reads the record.

use crate::{Commit, Created, Store, StoreError};
use ledger::bet::{self, BetCommand, BetOutcome, BetRecord};
use ledger::bonus::{self, BonusGrant, Campaign, TriggeringDeposit};
use ledger::deposit::{deposit, DepositCommand, DepositOutcome, DepositRecord};
use ledger::events;
use ledger::idempotency::Recorded;
use ledger::register::is_same_registration;
use ledger::settlement::{self, SettlementCommand, SettlementOutcome, SettlementRecord};
use ledger::{Account, PlayerId, Timestamp, WalletError};

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
    pub account: Option<Box<Account>>,
}

impl Failed {
    pub fn new(error: WalletError, account: Option<Account>) -> Failed {
        Failed {
            error,
            account: account.map(Box::new),
        }
    }
}

impl From<StoreError> for Failed {
    fn from(error: StoreError) -> Failed {
        Failed::new(error.into(), None)
    }
}

/// Registers a new account; the same request again answers with the existing account.
pub async fn register(
    store: &Store,
    candidate: Account,
    correlation_id: &str,
) -> Result<Applied<Account>, WalletError> {
    let events = [events::player_registered(&candidate, correlation_id)];
    match store.create_account(&candidate, &events).await? {
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
    until_decided(|| async {
        let account = store
            .account(player)
            .await?
            .ok_or_else(|| player_not_found(player))?;
        let (next, outcome) =
            decide(&account, now()).map_err(|e| Failed::new(e, Some(account.clone())))?;
        let Some(next) = next else {
            return Ok(Ok(Applied {
                outcome,
                account,
                replayed: false,
            }));
        };
        Ok(match store.update_account(&next, account.version).await? {
            Commit::Committed => Ok(Applied {
                outcome,
                account: next,
                replayed: false,
            }),
            other => Err(other),
        })
    })
    .await
}

/// One attempt of a money operation: its final answer, or the reason to decide again.
type Attempt<T> = Result<Result<Applied<T>, Commit>, Failed>;

/// Runs attempts until one gives an answer: after `StateChanged` (another request
/// committed first) with a backoff, after `IdTaken` at once (the next read replays the
/// id's record). Bounded by [`MAX_ATTEMPTS`].
async fn until_decided<T, F, Fut>(mut attempt: F) -> Result<Applied<T>, Failed>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Attempt<T>>,
{
    for n in 0..MAX_ATTEMPTS {
        match attempt().await? {
            Ok(applied) => return Ok(applied),
            Err(Commit::StateChanged) => crate::table::back_off(n).await,
            Err(_) => {}
        }
    }
    Err(StoreError::Contention(MAX_ATTEMPTS).into())
}

fn replayed<T>(answer: Result<T, WalletError>, account: Account) -> Attempt<T> {
    match answer {
        Ok(outcome) => Ok(Ok(Applied {
            outcome,
            account,
            replayed: true,
        })),
        Err(error) => Err(Failed::new(error, Some(account))),
    }
}

fn player_not_found(player: &PlayerId) -> Failed {
    Failed::new(WalletError::PlayerNotFound(player.to_string()), None)
}

/// A deposit, exactly once per deposit id, forever.
pub async fn deposit_funds(
    store: &Store,
    command: &DepositCommand,
    correlation_id: &str,
    now: impl Fn() -> Timestamp,
) -> Result<Applied<DepositOutcome>, Failed> {
    until_decided(|| async {
        let (account, record) = store
            .deposit_state(&command.player_id, &command.deposit_id)
            .await?;
        let account = account.ok_or_else(|| player_not_found(&command.player_id))?;
        if let Some(record) = record {
            return replayed(record.replay(command), account);
        }
        match deposit(&account, command, now()) {
            Ok(decision) => {
                let record = DepositRecord::new(
                    command,
                    Recorded::Accepted {
                        outcome: decision.outcome.clone(),
                    },
                );
                let mut events = vec![events::deposit_completed(
                    &command.player_id,
                    &decision.outcome,
                    correlation_id,
                )];
                events.extend(decision.bonus_changes.iter().map(|change| {
                    bonus_change_event(
                        &command.player_id,
                        change,
                        decision.account.version,
                        decision.outcome.created_at,
                        correlation_id,
                    )
                }));
                Ok(
                    match store
                        .commit_deposit(&decision, account.version, &record, &events)
                        .await?
                    {
                        Commit::Committed => Ok(Applied {
                            outcome: decision.outcome,
                            account: decision.account,
                            replayed: false,
                        }),
                        other => Err(other),
                    },
                )
            }
            Err(error) if error.is_stable_rejection() => {
                let record = DepositRecord::new(command, Recorded::rejection(&error));
                match store
                    .record_deposit_rejection(&command.player_id, account.version, &record)
                    .await?
                {
                    Commit::Committed => Err(Failed::new(error, Some(account))),
                    other => Ok(Err(other)),
                }
            }
            Err(error) => Err(Failed::new(error, Some(account))),
        }
    })
    .await
}

/// A bet, exactly once per bet id (across all players), forever.
pub async fn place_bet(
    store: &Store,
    command: &BetCommand,
    correlation_id: &str,
    now: impl Fn() -> Timestamp,
) -> Result<Applied<BetOutcome>, Failed> {
    until_decided(|| async {
        let (account, record) = store.bet_state(&command.player_id, &command.bet_id).await?;
        let account = account.ok_or_else(|| player_not_found(&command.player_id))?;
        if let Some(record) = record {
            return replayed(record.replay(command), account);
        }
        match bet::place_bet(&account, command, now()) {
            Ok(decision) => Ok(
                match store
                    .commit_bet(
                        &decision,
                        account.version,
                        &bet_events(command, &decision, correlation_id),
                    )
                    .await?
                {
                    Commit::Committed => Ok(Applied {
                        outcome: decision.outcome,
                        account: decision.account,
                        replayed: false,
                    }),
                    other => Err(other),
                },
            ),
            Err(error) if error.is_stable_rejection() => {
                let record = BetRecord::rejected(command, &error);
                match store
                    .record_bet_rejection(&command.player_id, account.version, &record)
                    .await?
                {
                    Commit::Committed => Err(Failed::new(error, Some(account))),
                    other => Ok(Err(other)),
                }
            }
            Err(error) => Err(Failed::new(error, Some(account))),
        }
    })
    .await
}

/// A settlement, exactly once per settlement id, forever. The HTTP route and the
/// settlement queue both come here.
pub async fn settle_bet(
    store: &Store,
    command: &SettlementCommand,
    correlation_id: &str,
    now: impl Fn() -> Timestamp,
) -> Result<Applied<SettlementOutcome>, Failed> {
    until_decided(|| async {
        let (account, bet, record) = store
            .settlement_state(&command.player_id, &command.bet_id, &command.settlement_id)
            .await?;
        let account = account.ok_or_else(|| player_not_found(&command.player_id))?;
        if let Some(record) = record {
            return replayed(record.replay(command), account);
        }
        let decision = settlement::settle(&account, bet.as_ref(), command, now())
            .map_err(|e| Failed::new(e, Some(account.clone())))?;
        let record = SettlementRecord::new(command, &decision.outcome);
        let mut events = vec![events::bet_settled(
            &command.player_id,
            &decision.outcome,
            correlation_id,
        )];
        let version = decision
            .account
            .as_ref()
            .map_or(account.version, |a| a.version);
        events.extend(decision.bonus_changes.iter().map(|change| {
            bonus_change_event(
                &command.player_id,
                change,
                version,
                decision.outcome.settled_at,
                correlation_id,
            )
        }));
        Ok(
            match store
                .commit_settlement(
                    &decision,
                    &record,
                    account.version,
                    bet.as_ref().map(|b| b.version),
                    &events,
                )
                .await?
            {
                Commit::Committed => Ok(Applied {
                    outcome: decision.outcome,
                    account: decision.account.unwrap_or(account),
                    replayed: false,
                }),
                other => Err(other),
            },
        )
    })
    .await
}

/// The events of a placed bet: `BetPlaced`, and any bonus it released or found expired.
fn bet_events(
    command: &BetCommand,
    decision: &bet::BetDecision,
    correlation_id: &str,
) -> Vec<events::WalletEvent> {
    let mut all = vec![events::bet_placed(
        &command.player_id,
        &decision.outcome,
        &command.payload,
        correlation_id,
    )];
    all.extend(decision.bonus_changes.iter().map(|change| {
        bonus_change_event(
            &command.player_id,
            change,
            decision.account.version,
            decision.outcome.placed_at,
            correlation_id,
        )
    }));
    all
}

fn bonus_change_event(
    player: &PlayerId,
    change: &bet::BonusChange,
    version: u64,
    at: Timestamp,
    correlation_id: &str,
) -> events::WalletEvent {
    let kind = match change.forfeited {
        None => events::EventKind::BonusReleased {
            campaign_id: change.campaign_id.clone(),
            amount: change.amount,
        },
        Some(reason) => events::EventKind::BonusForfeited {
            campaign_id: change.campaign_id.clone(),
            amount: change.amount,
            reason,
        },
    };
    events::bonus_ended(
        player,
        &change.campaign_id,
        version,
        at,
        correlation_id,
        kind,
    )
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
    until_decided(|| async {
        let deposit_id = ledger::ClientId::new(&trigger.deposit_id).map_err(|m| {
            Failed::new(
                WalletError::field("/detail/deposit_id", format!("the deposit id {m}")),
                None,
            )
        })?;
        let read = store
            .award_state(player, &campaign.campaign_id, &deposit_id)
            .await?;
        let account = read.account.ok_or_else(|| player_not_found(player))?;
        if let Some(grant) = read.grant {
            return Ok(Ok(Applied {
                outcome: Some(grant),
                account,
                replayed: true,
            }));
        }
        trigger
            .confirm(player, read.deposit.as_ref())
            .map_err(|e| Failed::new(e, Some(account.clone())))?;
        let decision = match bonus::award(&account, campaign, trigger, now())
            .map_err(|e| Failed::new(e, Some(account.clone())))?
        {
            bonus::Award::Granted(decision) => decision,
            bonus::Award::Nothing => {
                return Ok(Ok(Applied {
                    outcome: None,
                    account,
                    replayed: false,
                }))
            }
            bonus::Award::Declined(grant) => {
                // The trigger is consumed: the grant is recorded (amount 0, with the
                // reason), valid only if the account is still as read.
                return Ok(
                    match store.record_declined_award(&grant, account.version).await? {
                        Commit::Committed => Ok(Applied {
                            outcome: Some(grant),
                            account,
                            replayed: false,
                        }),
                        other => Err(other),
                    },
                );
            }
        };
        let event = events::bonus_awarded(
            player,
            &campaign.campaign_id,
            decision.entry.created_at,
            correlation_id,
            events::EventKind::BonusAwarded {
                campaign_id: campaign.campaign_id.clone(),
                amount: decision.grant.amount,
                currency: account.currency.to_string(),
                wagering_required: decision.active.wagering_required,
                expires_at: decision.active.expires_at.to_rfc3339(),
            },
        );
        Ok(
            match store
                .commit_award(&decision, account.version, &[event])
                .await?
            {
                Commit::Committed => Ok(Applied {
                    outcome: Some(decision.grant),
                    account: decision.account,
                    replayed: false,
                }),
                other => Err(other),
            },
        )
    })
    .await
}

/// Forfeits the player's bonus (their request, or its expiry): the bonus goes, cash stays.
/// The answer is the campaign and the amount forfeited; `None` when there was no bonus.
pub async fn forfeit_bonus(
    store: &Store,
    player: &PlayerId,
    reason: events::ForfeitReason,
    correlation_id: &str,
    now: impl Fn() -> Timestamp,
) -> Result<Applied<Option<(String, i64)>>, Failed> {
    until_decided(|| async {
        let account = store
            .account(player)
            .await?
            .ok_or_else(|| player_not_found(player))?;
        let at = now().max(account.updated_at);
        let Some(end) =
            bonus::forfeit(&account, at).map_err(|e| Failed::new(e, Some(account.clone())))?
        else {
            return Ok(Ok(Applied {
                outcome: None,
                account,
                replayed: false,
            }));
        };
        let change = bet::BonusChange {
            entry: end.entry.clone(),
            campaign_id: end.campaign_id.clone(),
            amount: end.amount,
            forfeited: Some(reason),
        };
        let event = bonus_change_event(player, &change, end.account.version, at, correlation_id);
        Ok(
            match store
                .commit_movement(&end.account, end.entry.as_ref(), account.version, &[event])
                .await?
            {
                Commit::Committed => Ok(Applied {
                    outcome: Some((end.campaign_id, end.amount)),
                    account: end.account,
                    replayed: false,
                }),
                other => Err(other),
            },
        )
    })
    .await
}
