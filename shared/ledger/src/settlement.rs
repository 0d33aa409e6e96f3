//! Settlements (WALLET-RULES "Settlements"): a win credits the player in proportion to how
//! the stake was drawn and closes the bet; a rollback returns the stake exactly as drawn; a
//! rollback of a bet that never arrived leaves a tombstone; a bet's state only moves
//! forward (invariant 4).

use crate::account::Account;
use crate::bet::{BetRecord, BetState};
use crate::clock::Timestamp;
use crate::entry::{EntryKind, LedgerEntry};
use crate::error::{Problems, WalletError};
use crate::idempotency::{duplicate, Recorded};
use crate::ids::{ClientId, PlayerId};
pub use crate::outcome::{BetStatus, SettlementKind, SettlementOutcome};
use serde::{Deserialize, Serialize};

/// The body of `POST …/settlement` (and, with the ids, of a settlement queue message).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettlementRequest {
    pub settlement_id: String,
    pub kind: String,
    #[serde(default)]
    pub amount: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementCommand {
    pub player_id: PlayerId,
    pub bet_id: ClientId,
    pub settlement_id: ClientId,
    pub kind: SettlementKind,
}

impl SettlementCommand {
    pub fn from_request(
        player_id: &PlayerId,
        bet_id: &ClientId,
        request: &SettlementRequest,
    ) -> Result<SettlementCommand, WalletError> {
        let mut problems = Problems::new();
        let settlement_id =
            problems.check(ClientId::parse("/settlement_id", &request.settlement_id));
        let kind = problems.check(SettlementKind::parse(&request.kind, request.amount));
        problems.into_result()?;
        match (settlement_id, kind) {
            (Some(settlement_id), Some(kind)) => Ok(SettlementCommand {
                player_id: player_id.clone(),
                bet_id: bet_id.clone(),
                settlement_id,
                kind,
            }),
            _ => Err(WalletError::Internal(
                "validation passed without values".into(),
            )),
        }
    }
}

/// The permanent record of a settlement id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementRecord {
    pub settlement_id: ClientId,
    pub player_id: PlayerId,
    pub bet_id: ClientId,
    pub kind: SettlementKind,
    pub recorded: Recorded<SettlementOutcome>,
}

impl SettlementRecord {
    pub fn new(command: &SettlementCommand, outcome: &SettlementOutcome) -> SettlementRecord {
        SettlementRecord {
            settlement_id: command.settlement_id.clone(),
            player_id: command.player_id.clone(),
            bet_id: command.bet_id.clone(),
            kind: command.kind,
            recorded: Recorded::Accepted {
                outcome: outcome.clone(),
            },
        }
    }

    /// The original outcome for the same payload (player, bet, kind, amount), else
    /// `DUPLICATE_TRANSACTION`.
    pub fn replay(&self, command: &SettlementCommand) -> Result<SettlementOutcome, WalletError> {
        let same = self.player_id == command.player_id
            && self.bet_id == command.bet_id
            && self.kind == command.kind;
        if !same {
            return Err(duplicate("settlement_id", command.settlement_id.as_str()));
        }
        self.recorded.replay()
    }
}

/// How a win is split between cash and bonus: in proportion to the stake's parts,
/// rounding toward cash, so the parts always add up to the win exactly.
pub fn split_win(amount: i64, cash_stake: i64, bonus_stake: i64) -> (i64, i64) {
    let stake = i128::from(cash_stake) + i128::from(bonus_stake);
    if stake <= 0 || bonus_stake <= 0 {
        return (amount, 0);
    }
    let bonus = i128::from(amount) * i128::from(bonus_stake) / stake;
    let bonus = i64::try_from(bonus).unwrap_or(0).clamp(0, amount);
    (amount - bonus, bonus)
}

/// The decision for one settlement: what to write and what to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettleDecision {
    /// An expired bonus forfeited before the credit (forfeit on next touch).
    pub bonus_changes: Vec<crate::bonus::BonusChange>,
    /// The account after the credit; `None` when no money moves.
    pub account: Option<Account>,
    pub entry: Option<LedgerEntry>,
    /// The bet record to write (`None` when it stays as it is).
    pub record: Option<BetRecord>,
    /// Whether `record` creates the id (a tombstone) rather than updating a read record.
    pub creates_record: bool,
    pub outcome: SettlementOutcome,
}

impl SettleDecision {
    /// Every entry the decision writes, in sequence order.
    pub fn entries(&self) -> Vec<&LedgerEntry> {
        crate::bonus::entries_in_order(&self.bonus_changes, self.entry.as_ref())
    }

    /// `BetSettled`, then the events of any bonus it found expired or released (named by
    /// the wallet version the settlement wrote; no bonus changes without one).
    pub fn events(
        &self,
        player: &PlayerId,
        correlation_id: &str,
    ) -> Vec<crate::events::WalletEvent> {
        let mut all = vec![crate::events::bet_settled(
            player,
            &self.outcome,
            correlation_id,
        )];
        if let Some(account) = &self.account {
            all.extend(crate::bonus::change_events(
                &self.bonus_changes,
                player,
                account.version,
                self.outcome.settled_at,
                correlation_id,
            ));
        }
        all
    }
}

fn closed_error(status: BetStatus, command: &SettlementCommand) -> WalletError {
    match (status, command.kind) {
        (BetStatus::RolledBack, SettlementKind::Win { .. }) => WalletError::BetRolledBack(format!(
            "bet {} was rolled back; a win cannot follow",
            command.bet_id
        )),
        (BetStatus::RolledBack, SettlementKind::Rollback) => {
            WalletError::BetAlreadySettled(format!(
                "bet {} was already rolled back by another settlement",
                command.bet_id
            ))
        }
        (_, SettlementKind::Rollback) => WalletError::BetAlreadySettled(format!(
            "bet {} is already settled; the settlement stands",
            command.bet_id
        )),
        _ => WalletError::BetAlreadySettled(format!("bet {} is already settled", command.bet_id)),
    }
}

/// Settles `command` against the player's account and the bet's record, if any.
pub fn settle(
    account: &Account,
    record: Option<&BetRecord>,
    command: &SettlementCommand,
    now: Timestamp,
) -> Result<SettleDecision, WalletError> {
    if account.player_id != command.player_id {
        return Err(WalletError::Internal(
            "settlement decided against another player's account".into(),
        ));
    }
    let now = now.max(account.updated_at);
    let nothing_moved = |status: BetStatus| SettlementOutcome {
        bet_id: command.bet_id.clone(),
        settlement_id: command.settlement_id.clone(),
        settlement: command.kind,
        status,
        cash_credit: 0,
        bonus_credit: 0,
        entry_id: None,
        settled_at: now,
    };
    let not_found = || {
        WalletError::BetNotFound(format!(
            "player {} has no bet {}",
            command.player_id, command.bet_id
        ))
    };
    let Some(record) = record else {
        return match command.kind {
            SettlementKind::Win { .. } => Err(not_found()),
            SettlementKind::Rollback => {
                let outcome = nothing_moved(BetStatus::RolledBack);
                Ok(SettleDecision {
                    bonus_changes: Vec::new(),
                    account: None,
                    entry: None,
                    record: Some(BetRecord {
                        bet_id: command.bet_id.clone(),
                        player_id: command.player_id.clone(),
                        version: 1,
                        state: BetState::Tombstone {
                            rolled_back: outcome.clone(),
                        },
                    }),
                    creates_record: true,
                    outcome,
                })
            }
        };
    };
    if record.player_id != command.player_id {
        return Err(not_found());
    }
    let bet = match &record.state {
        BetState::Tombstone { .. } => return Err(closed_error(BetStatus::RolledBack, command)),
        BetState::Rejected {
            rolled_back: Some(_),
            ..
        } => return Err(closed_error(BetStatus::RolledBack, command)),
        BetState::Rejected {
            payload,
            code,
            detail,
            rolled_back: None,
        } => {
            // The bet never moved money: nothing to win, nothing to give back. A rollback
            // closes it all the same, so a later win is BET_ROLLED_BACK.
            return match command.kind {
                SettlementKind::Win { .. } => Err(WalletError::BetNotFound(format!(
                    "bet {} was refused when placed; it has nothing to settle",
                    command.bet_id
                ))),
                SettlementKind::Rollback => {
                    let outcome = nothing_moved(BetStatus::RolledBack);
                    Ok(SettleDecision {
                        bonus_changes: Vec::new(),
                        account: None,
                        entry: None,
                        record: Some(BetRecord {
                            bet_id: record.bet_id.clone(),
                            player_id: record.player_id.clone(),
                            version: record.version.saturating_add(1),
                            state: BetState::Rejected {
                                payload: payload.clone(),
                                code: *code,
                                detail: detail.clone(),
                                rolled_back: Some(outcome.clone()),
                            },
                        }),
                        creates_record: false,
                        outcome,
                    })
                }
            };
        }
        BetState::Placed { bet } => bet,
    };
    if bet.status.is_closed() {
        return Err(closed_error(bet.status, command));
    }
    let (status, cash_credit, bonus_credit, entry_kind) = match command.kind {
        SettlementKind::Win { amount } => {
            let (cash, bonus) = split_win(amount, bet.cash_stake, bet.bonus_stake);
            (
                if amount > 0 {
                    BetStatus::Won
                } else {
                    BetStatus::Lost
                },
                cash,
                bonus,
                EntryKind::Win,
            )
        }
        SettlementKind::Rollback => (
            BetStatus::RolledBack,
            bet.cash_stake,
            bet.bonus_stake,
            EntryKind::Rollback,
        ),
    };
    // Forfeit on next touch: an expired bonus goes before anything is credited.
    let (base, expired) = crate::bonus::expire_first(account, now)?;
    let mut bonus_changes: Vec<crate::bonus::BonusChange> = expired.into_iter().collect();
    let (mut next, entry) = if cash_credit == 0 && bonus_credit == 0 {
        (None, None)
    } else {
        let (next, entry) = base.post(
            entry_kind,
            cash_credit,
            bonus_credit,
            command.settlement_id.as_str(),
            now,
        )?;
        (Some(next), Some(entry))
    };
    // A won or lost bet's stake counts toward the wagering of the bonus it was placed
    // under; a rolled-back one never does.
    if status != BetStatus::RolledBack {
        let stake = bet.cash_stake.saturating_add(bet.bonus_stake);
        let current = next.as_ref().unwrap_or(&base);
        if let Some((wagered, release)) =
            crate::bonus::count_wagering(current, bet.wagering_for.as_deref(), stake, now)?
        {
            next = Some(wagered);
            bonus_changes.extend(release);
        }
    }
    // A rolled-back stake no longer counts toward the withdrawal turnover rule.
    if status == BetStatus::RolledBack {
        if let Some(rolled) = next.as_mut() {
            let stake = bet.cash_stake.saturating_add(bet.bonus_stake);
            rolled.staked_since_payout = rolled.staked_since_payout.saturating_sub(stake).max(0);
        }
    }
    let account = next.or_else(|| (!bonus_changes.is_empty()).then(|| base.clone()));
    let outcome = SettlementOutcome {
        bet_id: command.bet_id.clone(),
        settlement_id: command.settlement_id.clone(),
        settlement: command.kind,
        status,
        cash_credit,
        bonus_credit,
        entry_id: entry.as_ref().map(|e| e.entry_id.clone()),
        settled_at: now,
    };
    let mut closed = bet.clone();
    closed.status = status;
    closed.settlement = Some(outcome.clone());
    Ok(SettleDecision {
        bonus_changes,
        account,
        entry,
        record: Some(BetRecord {
            bet_id: record.bet_id.clone(),
            player_id: record.player_id.clone(),
            version: record.version.saturating_add(1),
            state: BetState::Placed { bet: closed },
        }),
        creates_record: false,
        outcome,
    })
}
