//! Bets (WALLET-RULES "Bets"): the stake is drawn from cash first, then bonus; not enough
//! of both is `INSUFFICIENT_FUNDS`; blocked players cannot bet; a bet id is unique across
//! all players and its outcome — placed, rejected, or rolled back before it arrived — is
//! permanent.

use crate::account::Account;
use crate::clock::Timestamp;
use crate::entry::{EntryKind, LedgerEntry};
use crate::error::{ErrorCode, Problems, WalletError};
use crate::idempotency::{duplicate, Recorded};
use crate::ids::{ClientId, PlayerId};
use crate::money::{Amount, Currency};
use crate::outcome::SettlementOutcome;
pub use crate::outcome::{BetOutcome, BetPayload, BetStatus};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BetRequest {
    pub bet_id: String,
    pub round_id: String,
    pub game_id: String,
    pub amount: i64,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BetCommand {
    pub player_id: PlayerId,
    pub bet_id: ClientId,
    pub payload: BetPayload,
}

impl BetCommand {
    pub fn from_request(
        player_id: &PlayerId,
        request: &BetRequest,
    ) -> Result<BetCommand, WalletError> {
        let mut problems = Problems::new();
        let bet_id = problems.check(ClientId::parse("/bet_id", &request.bet_id));
        let round_id = problems.check(ClientId::parse("/round_id", &request.round_id));
        let game_id = problems.check(ClientId::parse("/game_id", &request.game_id));
        let amount = problems.check(Amount::parse("/amount", request.amount));
        let currency = problems.check(Currency::parse("/currency", &request.currency));
        problems.into_result()?;
        match (bet_id, round_id, game_id, amount, currency) {
            (Some(bet_id), Some(round_id), Some(game_id), Some(amount), Some(currency)) => {
                Ok(BetCommand {
                    player_id: player_id.clone(),
                    bet_id,
                    payload: BetPayload {
                        round_id,
                        game_id,
                        amount: amount.minor(),
                        currency,
                    },
                })
            }
            _ => Err(WalletError::Internal(
                "validation passed without values".into(),
            )),
        }
    }
}

/// A bet that moved money.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bet {
    pub payload: BetPayload,
    pub status: BetStatus,
    pub cash_stake: i64,
    pub bonus_stake: i64,
    pub entry_id: String,
    pub placed_at: Timestamp,
    /// How the bet was closed, once it is.
    #[serde(default)]
    pub settlement: Option<SettlementOutcome>,
    /// The bonus (campaign) being wagered when the bet was placed: its stake counts toward
    /// that bonus's wagering when the bet closes as won or lost, never when rolled back.
    #[serde(default)]
    pub wagering_for: Option<String>,
}

/// The permanent record of a bet id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BetRecord {
    pub bet_id: ClientId,
    pub player_id: PlayerId,
    /// Incremented on every write; a settlement is conditional on the version it read.
    pub version: u64,
    pub state: BetState,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BetState {
    /// The bet was placed (and may since have been settled).
    Placed { bet: Bet },
    /// The bet was refused for a business reason; a retry gets the same answer.
    /// A later rollback of it moves nothing but is remembered: the bet is then closed like
    /// any other (a win gets `BET_ROLLED_BACK`).
    Rejected {
        payload: BetPayload,
        code: ErrorCode,
        detail: String,
        #[serde(default)]
        rolled_back: Option<SettlementOutcome>,
    },
    /// A rollback arrived before the bet: the late bet is refused with `BET_ROLLED_BACK`.
    Tombstone { rolled_back: SettlementOutcome },
}

impl BetRecord {
    pub fn placed(&self) -> Option<&Bet> {
        match &self.state {
            BetState::Placed { bet } => Some(bet),
            _ => None,
        }
    }

    /// Answers a bet request that reuses this id.
    pub fn replay(&self, command: &BetCommand) -> Result<BetOutcome, WalletError> {
        if self.player_id != command.player_id {
            return Err(duplicate("bet_id", command.bet_id.as_str()));
        }
        match &self.state {
            BetState::Tombstone { .. } => Err(WalletError::BetRolledBack(format!(
                "bet {} was rolled back before it arrived",
                command.bet_id
            ))),
            BetState::Placed { bet } if bet.payload == command.payload => Ok(BetOutcome {
                bet_id: self.bet_id.clone(),
                round_id: bet.payload.round_id.clone(),
                cash_stake: bet.cash_stake,
                bonus_stake: bet.bonus_stake,
                entry_id: bet.entry_id.clone(),
                placed_at: bet.placed_at,
            }),
            BetState::Rejected {
                payload,
                code,
                detail,
                ..
            } if payload == &command.payload => Recorded::<BetOutcome>::Rejected {
                code: *code,
                detail: detail.clone(),
            }
            .replay(),
            _ => Err(duplicate("bet_id", command.bet_id.as_str())),
        }
    }

    pub fn rejected(command: &BetCommand, error: &WalletError) -> BetRecord {
        BetRecord {
            bet_id: command.bet_id.clone(),
            player_id: command.player_id.clone(),
            version: 1,
            state: BetState::Rejected {
                payload: command.payload.clone(),
                code: error.code(),
                detail: error.to_string(),
                rolled_back: None,
            },
        }
    }
}

/// How a stake is drawn: cash first, then bonus.
pub fn split_stake(cash: i64, stake: i64) -> (i64, i64) {
    let cash_stake = cash.clamp(0, stake);
    (cash_stake, stake - cash_stake)
}

pub use crate::bonus::BonusChange;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BetDecision {
    pub account: Account,
    /// The stake's entry.
    pub entry: LedgerEntry,
    pub record: BetRecord,
    pub outcome: BetOutcome,
    /// An expired bonus forfeited before the stake, a bonus released by it; in order.
    pub bonus_changes: Vec<BonusChange>,
}

impl BetDecision {
    /// Every entry the decision writes, in sequence order.
    pub fn entries(&self) -> Vec<&LedgerEntry> {
        crate::bonus::entries_in_order(&self.bonus_changes, Some(&self.entry))
    }

    /// `BetPlaced`, then the events of any bonus it found expired or released.
    pub fn events(&self, correlation_id: &str) -> Vec<crate::events::WalletEvent> {
        let player = &self.account.player_id;
        let mut all: Vec<crate::events::WalletEvent> = self
            .record
            .placed()
            .map(|bet| {
                crate::events::bet_placed(player, &self.outcome, &bet.payload, correlation_id)
            })
            .into_iter()
            .collect();
        all.extend(crate::bonus::change_events(
            &self.bonus_changes,
            player,
            self.account.version,
            self.outcome.placed_at,
            correlation_id,
        ));
        all
    }
}

pub fn place_bet(
    account: &Account,
    command: &BetCommand,
    now: Timestamp,
) -> Result<BetDecision, WalletError> {
    if account.player_id != command.player_id {
        return Err(WalletError::Internal(
            "bet decided against another player's account".into(),
        ));
    }
    let now = now.max(account.updated_at);
    // An expired bonus cannot be staked: it is forfeited first (forfeit on next touch).
    let (expired_account, expired) = crate::bonus::expire_first(account, now)?;
    let account = &expired_account;
    let bonus_changes: Vec<BonusChange> = expired.into_iter().collect();
    let stake = command.payload.amount;
    account.ensure_currency(&command.payload.currency)?;
    account.ensure_may_stake_or_deposit(now)?;
    if account.wagering_remaining > 0 {
        if let Some(max) = account.max_stake_while_wagering.filter(|max| stake > *max) {
            return Err(WalletError::StakeLimitExceeded(format!(
                "while a bonus is being wagered the maximum stake is {max}"
            )));
        }
    }
    let available = i128::from(account.cash) + i128::from(account.bonus);
    if i128::from(stake) > available {
        return Err(WalletError::InsufficientFunds(format!(
            "the stake is {stake}; the wallet holds {} cash and {} bonus",
            account.cash, account.bonus
        )));
    }
    let (cash_stake, bonus_stake) = split_stake(account.cash, stake);
    let (mut next, entry) = account.post(
        EntryKind::Bet,
        -cash_stake,
        -bonus_stake,
        command.bet_id.as_str(),
        now,
    )?;
    // The withdrawal turnover rule's count: stakes placed since the last paid withdrawal
    // (a rollback takes its stake back out of it).
    next.staked_since_payout = account.staked_since_payout.saturating_add(stake);
    // The stake counts toward wagering only when the bet closes as won or lost
    // (`crate::bonus::count_wagering`); here the bet only remembers which bonus it wagers.
    let wagering_for = account
        .active_bonus
        .as_ref()
        .filter(|_| account.wagering_remaining > 0)
        .map(|active| active.campaign_id.clone());
    let bet = Bet {
        payload: command.payload.clone(),
        status: BetStatus::Open,
        cash_stake,
        bonus_stake,
        entry_id: entry.entry_id.clone(),
        placed_at: entry.created_at,
        settlement: None,
        wagering_for,
    };
    let outcome = BetOutcome {
        bet_id: command.bet_id.clone(),
        round_id: command.payload.round_id.clone(),
        cash_stake,
        bonus_stake,
        entry_id: entry.entry_id.clone(),
        placed_at: entry.created_at,
    };
    Ok(BetDecision {
        account: next,
        entry,
        record: BetRecord {
            bet_id: command.bet_id.clone(),
            player_id: command.player_id.clone(),
            version: 1,
            state: BetState::Placed { bet },
        },
        outcome,
        bonus_changes,
    })
}
