//! Withdrawals (WALLET-RULES "Withdrawals"). The request moves the amount from cash to the
//! pending withdrawal in one entry (an active bonus forfeited first, in the same decision);
//! the risk rules approve it at once or send it to review. While in review the player may
//! cancel and an operator approves or rejects; an approved withdrawal is paid out, and the
//! payment provider's result either takes the pending amount out for good (`paid`) or
//! returns it to cash (`failed`). Every transition is a pure function of the account and
//! the withdrawal's record and carries its entries and its events.

use crate::account::{Account, RECENT_WITHDRAWALS};
use crate::action::{ActionKind, Operator, OperatorAction};
use crate::bonus::BonusChange;
use crate::clock::{Timestamp, DAY_MS};
use crate::entry::{EntryKind, LedgerEntry};
use crate::error::{Problems, WalletError};
use crate::events::{EventKind, ForfeitReason, WalletEvent};
use crate::idempotency::{duplicate, Recorded};
use crate::ids::{ClientId, PlayerId};
use crate::money::{Amount, Currency};
use crate::risk::{self, RiskFacts, RiskReason, RiskRules};
use crate::text::check_reason;
use serde::{Deserialize, Serialize};

/// The body of `POST /players/{player_id}/withdrawals`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithdrawalRequest {
    pub withdrawal_id: String,
    pub amount: i64,
    pub currency: String,
    pub destination: DestinationRequest,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestinationRequest {
    pub kind: String,
    pub reference: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DestinationKind {
    BankAccount,
    Card,
    Ewallet,
}

impl DestinationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DestinationKind::BankAccount => "bank_account",
            DestinationKind::Card => "card",
            DestinationKind::Ewallet => "ewallet",
        }
    }

    fn parse(kind: &str) -> Result<DestinationKind, crate::error::FieldError> {
        [
            DestinationKind::BankAccount,
            DestinationKind::Card,
            DestinationKind::Ewallet,
        ]
        .into_iter()
        .find(|k| k.as_str() == kind)
        .ok_or_else(|| {
            crate::error::FieldError::new(
                "/destination/kind",
                "must be bank_account, card or ewallet",
            )
        })
    }
}

/// Where the money goes: the payment provider's token for the destination (never a raw card
/// or account number).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destination {
    pub kind: DestinationKind,
    pub reference: ClientId,
}

/// What identifies a withdrawal's payload: a retry with the same id must carry exactly this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithdrawalPayload {
    pub amount: i64,
    pub currency: Currency,
    pub destination: Destination,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawalCommand {
    pub player_id: PlayerId,
    pub withdrawal_id: ClientId,
    pub payload: WithdrawalPayload,
}

impl WithdrawalCommand {
    pub fn from_request(
        player_id: &PlayerId,
        request: &WithdrawalRequest,
    ) -> Result<WithdrawalCommand, WalletError> {
        let mut problems = Problems::new();
        let withdrawal_id =
            problems.check(ClientId::parse("/withdrawal_id", &request.withdrawal_id));
        let amount = problems.check(Amount::parse("/amount", request.amount));
        let currency = problems.check(Currency::parse("/currency", &request.currency));
        let kind = problems.check(DestinationKind::parse(&request.destination.kind));
        let reference = problems.check(ClientId::parse(
            "/destination/reference",
            &request.destination.reference,
        ));
        problems.into_result()?;
        match (withdrawal_id, amount, currency, kind, reference) {
            (Some(withdrawal_id), Some(amount), Some(currency), Some(kind), Some(reference)) => {
                Ok(WithdrawalCommand {
                    player_id: player_id.clone(),
                    withdrawal_id,
                    payload: WithdrawalPayload {
                        amount: amount.minor(),
                        currency,
                        destination: Destination { kind, reference },
                    },
                })
            }
            _ => Err(WalletError::Internal(
                "validation passed without values".into(),
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WithdrawalStatus {
    PendingReview,
    Approved,
    Rejected,
    Cancelled,
    Paid,
    Failed,
}

impl WithdrawalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WithdrawalStatus::PendingReview => "pending_review",
            WithdrawalStatus::Approved => "approved",
            WithdrawalStatus::Rejected => "rejected",
            WithdrawalStatus::Cancelled => "cancelled",
            WithdrawalStatus::Paid => "paid",
            WithdrawalStatus::Failed => "failed",
        }
    }

    pub const ALL: [WithdrawalStatus; 6] = [
        WithdrawalStatus::PendingReview,
        WithdrawalStatus::Approved,
        WithdrawalStatus::Rejected,
        WithdrawalStatus::Cancelled,
        WithdrawalStatus::Paid,
        WithdrawalStatus::Failed,
    ];

    pub fn parse(text: &str) -> Option<WithdrawalStatus> {
        WithdrawalStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
    }

    /// `paid`, `failed`, `rejected` and `cancelled` never change again.
    pub fn is_final(self) -> bool {
        !matches!(
            self,
            WithdrawalStatus::PendingReview | WithdrawalStatus::Approved
        )
    }
}

/// A withdrawal as it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdrawal {
    pub withdrawal_id: ClientId,
    pub player_id: PlayerId,
    pub payload: WithdrawalPayload,
    pub status: WithdrawalStatus,
    pub review_reasons: Vec<RiskReason>,
    /// The bonus forfeited because the withdrawal was requested while it was active.
    pub bonus_forfeited: i64,
    pub created_at: Timestamp,
    #[serde(default)]
    pub decided_at: Option<Timestamp>,
    /// The operator who approved or rejected it (`None`: approved by the rules, or not yet
    /// decided).
    #[serde(default)]
    pub decided_by: Option<String>,
    #[serde(default)]
    pub decision_reason: Option<String>,
    #[serde(default)]
    pub provider_reference: Option<String>,
    #[serde(default)]
    pub failure_reason: Option<String>,
    /// When it became final (cancelled, rejected, paid, failed).
    #[serde(default)]
    pub finished_at: Option<Timestamp>,
}

/// The permanent record of a withdrawal id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithdrawalRecord {
    pub withdrawal_id: ClientId,
    pub player_id: PlayerId,
    /// Incremented on every write; each transition is conditional on the version it read.
    pub version: u64,
    pub payload: WithdrawalPayload,
    pub recorded: Recorded<Withdrawal>,
}

impl WithdrawalRecord {
    /// A refused request (insufficient funds, a disabled player): stays refused.
    pub fn rejected(command: &WithdrawalCommand, error: &WalletError) -> WithdrawalRecord {
        WithdrawalRecord {
            withdrawal_id: command.withdrawal_id.clone(),
            player_id: command.player_id.clone(),
            version: 1,
            payload: command.payload.clone(),
            recorded: Recorded::rejection(error),
        }
    }

    /// The withdrawal, when the request was accepted.
    pub fn withdrawal(&self) -> Option<&Withdrawal> {
        match &self.recorded {
            Recorded::Accepted { outcome } => Some(outcome),
            Recorded::Rejected { .. } => None,
        }
    }

    /// The answer to the same request again: the withdrawal as it stands now, or the
    /// original refusal; another payload (or another player) is `DUPLICATE_TRANSACTION`.
    pub fn replay(&self, command: &WithdrawalCommand) -> Result<Withdrawal, WalletError> {
        if self.player_id != command.player_id || self.payload != command.payload {
            return Err(duplicate("withdrawal_id", command.withdrawal_id.as_str()));
        }
        self.recorded.replay()
    }

    fn with(&self, withdrawal: Withdrawal) -> WithdrawalRecord {
        WithdrawalRecord {
            withdrawal_id: self.withdrawal_id.clone(),
            player_id: self.player_id.clone(),
            version: self.version.saturating_add(1),
            payload: self.payload.clone(),
            recorded: Recorded::Accepted {
                outcome: withdrawal,
            },
        }
    }
}

/// What a request needs to know beyond the account: the player who first used the
/// destination (`None` when nobody has), and the rules in force.
#[derive(Debug, Clone, Copy)]
pub struct RequestContext<'a> {
    pub rules: &'a RiskRules,
    pub destination_first_used_by: Option<&'a PlayerId>,
}

/// A transition: the account after it (`None` when the wallet does not change), the
/// withdrawal's record after it, the entries and the events, and the bonus forfeited first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawalDecision {
    pub account: Option<Account>,
    pub record: WithdrawalRecord,
    pub entries: Vec<LedgerEntry>,
    pub events: Vec<WalletEvent>,
    pub bonus_change: Option<BonusChange>,
    /// The operator's action it records (an operator's decision only).
    pub action: Option<OperatorAction>,
}

impl WithdrawalDecision {
    pub fn withdrawal(&self) -> Option<&Withdrawal> {
        self.record.withdrawal()
    }
}

fn event(
    withdrawal: &Withdrawal,
    correlation_id: &str,
    at: Timestamp,
    kind: EventKind,
) -> WalletEvent {
    WalletEvent::new(
        withdrawal.withdrawal_id.as_str(),
        correlation_id,
        at,
        &withdrawal.player_id,
        kind,
    )
}

fn approved_event(withdrawal: &Withdrawal, correlation_id: &str, at: Timestamp) -> WalletEvent {
    event(
        withdrawal,
        correlation_id,
        at,
        EventKind::WithdrawalApproved {
            withdrawal_id: withdrawal.withdrawal_id.to_string(),
            amount: withdrawal.payload.amount,
            currency: withdrawal.payload.currency.to_string(),
            destination_kind: withdrawal.payload.destination.kind.as_str().to_string(),
            destination_reference: withdrawal.payload.destination.reference.to_string(),
            decided_by: withdrawal.decided_by.clone(),
        },
    )
}

/// The requests of the last 24 hours, newest last, at most [`RECENT_WITHDRAWALS`].
fn recent(account: &Account, now: Timestamp) -> Vec<Timestamp> {
    let since = now.minus_millis(DAY_MS);
    let mut kept: Vec<Timestamp> = account
        .recent_withdrawals
        .iter()
        .copied()
        .filter(|at| *at > since)
        .collect();
    if kept.len() > RECENT_WITHDRAWALS {
        kept.drain(..kept.len() - RECENT_WITHDRAWALS);
    }
    kept
}

/// A withdrawal request. Only cash can be withdrawn; a disabled player may not withdraw
/// (an excluded one may). An active bonus is forfeited first. The risk rules decide
/// between `approved` and `pending_review`.
pub fn request(
    account: &Account,
    command: &WithdrawalCommand,
    context: RequestContext<'_>,
    correlation_id: &str,
    now: Timestamp,
) -> Result<WithdrawalDecision, WalletError> {
    if account.player_id != command.player_id {
        return Err(WalletError::Internal(
            "withdrawal decided against another player's account".into(),
        ));
    }
    let now = now.max(account.updated_at);
    if account.disabled {
        return Err(WalletError::PlayerBlocked(
            "the account is disabled: withdrawals are locked".into(),
        ));
    }
    account.ensure_currency(&command.payload.currency)?;
    let amount = command.payload.amount;
    if amount > account.cash {
        return Err(WalletError::InsufficientFunds(format!(
            "only cash can be withdrawn: the withdrawal is {amount}, the wallet holds {} cash",
            account.cash
        )));
    }
    // An active bonus is forfeited first, in the same decision (cash stays).
    let (account, bonus_change) = match crate::bonus::forfeit(account, now)? {
        Some(end) => {
            let change = end.forfeited(ForfeitReason::Withdrawal);
            (end.account, Some(change))
        }
        None => (account.clone(), None),
    };
    let recent_requests = recent(&account, now);
    let facts = RiskFacts {
        player: &command.player_id,
        amount,
        currency: command.payload.currency.as_str(),
        deposited_since_payout: account.deposited_since_payout,
        staked_since_payout: account.staked_since_payout,
        withdrawals_last_24h: u32::try_from(recent_requests.len()).unwrap_or(u32::MAX),
        account_created_at: account.created_at,
        now,
        destination_first_used_by: context.destination_first_used_by,
    };
    let reasons = risk::assess(context.rules, &facts);
    let (mut next, entry) = account.post_with_pending(
        EntryKind::Withdrawal,
        -amount,
        0,
        amount,
        command.withdrawal_id.as_str(),
        now,
    )?;
    next.recent_withdrawals = recent_requests;
    next.recent_withdrawals.push(now);
    let status = if reasons.is_empty() {
        WithdrawalStatus::Approved
    } else {
        WithdrawalStatus::PendingReview
    };
    let bonus_forfeited = bonus_change.as_ref().map_or(0, |c| c.amount);
    let withdrawal = Withdrawal {
        withdrawal_id: command.withdrawal_id.clone(),
        player_id: command.player_id.clone(),
        payload: command.payload.clone(),
        status,
        review_reasons: reasons,
        bonus_forfeited,
        created_at: now,
        decided_at: (status == WithdrawalStatus::Approved).then_some(now),
        decided_by: None,
        decision_reason: None,
        provider_reference: None,
        failure_reason: None,
        finished_at: None,
    };
    let mut events: Vec<WalletEvent> = bonus_change
        .iter()
        .map(|change| change.event(&command.player_id, next.version, now, correlation_id))
        .collect();
    events.push(event(
        &withdrawal,
        correlation_id,
        now,
        EventKind::WithdrawalRequested {
            withdrawal_id: withdrawal.withdrawal_id.to_string(),
            amount,
            currency: withdrawal.payload.currency.to_string(),
            status: status.as_str().to_string(),
            review_reasons: withdrawal
                .review_reasons
                .iter()
                .map(|r| r.as_str().to_string())
                .collect(),
            bonus_forfeited,
        },
    ));
    if status == WithdrawalStatus::Approved {
        events.push(approved_event(&withdrawal, correlation_id, now));
    }
    let mut entries: Vec<LedgerEntry> = bonus_change
        .iter()
        .filter_map(|change| change.entry.clone())
        .collect();
    entries.push(entry);
    Ok(WithdrawalDecision {
        account: Some(next),
        record: WithdrawalRecord {
            withdrawal_id: command.withdrawal_id.clone(),
            player_id: command.player_id.clone(),
            version: 1,
            payload: command.payload.clone(),
            recorded: Recorded::Accepted {
                outcome: withdrawal,
            },
        },
        entries,
        events,
        bonus_change,
        action: None,
    })
}

fn current<'a>(
    record: &'a WithdrawalRecord,
    account: &Account,
) -> Result<&'a Withdrawal, WalletError> {
    match record.withdrawal() {
        Some(withdrawal) if withdrawal.player_id == account.player_id => Ok(withdrawal),
        _ => Err(WalletError::WithdrawalNotFound(format!(
            "player {} has no withdrawal {}",
            account.player_id, record.withdrawal_id
        ))),
    }
}

/// The pending amount back to cash (cancelled, rejected, failed).
fn returned(
    account: &Account,
    withdrawal: &Withdrawal,
    now: Timestamp,
) -> Result<(Account, LedgerEntry), WalletError> {
    let amount = withdrawal.payload.amount;
    account.post_with_pending(
        EntryKind::WithdrawalReturned,
        amount,
        0,
        -amount,
        withdrawal.withdrawal_id.as_str(),
        now,
    )
}

/// The player's withdrawal, while it is in review (cancel and decisions need that).
fn in_review<'a>(
    record: &'a WithdrawalRecord,
    account: &Account,
) -> Result<&'a Withdrawal, WalletError> {
    let withdrawal = current(record, account)?;
    if withdrawal.status != WithdrawalStatus::PendingReview {
        return Err(WalletError::WithdrawalNotPending(format!(
            "withdrawal {} is {}: only a withdrawal in review can be cancelled or decided",
            withdrawal.withdrawal_id,
            withdrawal.status.as_str()
        )));
    }
    Ok(withdrawal)
}

/// A transition that ends the withdrawal as `after` (now `status`) and returns the held
/// amount to cash in one entry, with the event `kind`.
fn returning(
    account: &Account,
    record: &WithdrawalRecord,
    mut after: Withdrawal,
    status: WithdrawalStatus,
    kind: EventKind,
    correlation_id: &str,
    now: Timestamp,
) -> Result<WithdrawalDecision, WalletError> {
    let (next, entry) = returned(account, &after, now)?;
    after.status = status;
    after.finished_at = Some(now);
    let events = vec![event(&after, correlation_id, now, kind)];
    Ok(WithdrawalDecision {
        account: Some(next),
        record: record.with(after),
        entries: vec![entry],
        events,
        bonus_change: None,
        action: None,
    })
}

/// The player's cancel, while the withdrawal is in review: the amount returns to cash.
pub fn cancel(
    account: &Account,
    record: &WithdrawalRecord,
    correlation_id: &str,
    now: Timestamp,
) -> Result<WithdrawalDecision, WalletError> {
    let withdrawal = in_review(record, account)?;
    let now = now.max(account.updated_at);
    let kind = EventKind::WithdrawalCancelled {
        withdrawal_id: withdrawal.withdrawal_id.to_string(),
        amount: withdrawal.payload.amount,
    };
    returning(
        account,
        record,
        withdrawal.clone(),
        WithdrawalStatus::Cancelled,
        kind,
        correlation_id,
        now,
    )
}

/// An operator's decision on a withdrawal in review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Reject => "reject",
        }
    }
}

/// The body of `POST /ops/withdrawals/{withdrawal_id}/decision`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    pub decision: String,
    pub reason: String,
}

/// A valid decision: approve or reject, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionCommand {
    pub decision: Decision,
    pub reason: String,
}

impl DecisionCommand {
    pub fn from_request(request: &DecisionRequest) -> Result<DecisionCommand, WalletError> {
        let mut problems = Problems::new();
        let decision = problems.check(match request.decision.as_str() {
            "approve" => Ok(Decision::Approve),
            "reject" => Ok(Decision::Reject),
            _ => Err(crate::error::FieldError::new(
                "/decision",
                "must be approve or reject",
            )),
        });
        let reason = problems.check(check_reason("/reason", &request.reason));
        problems.into_result()?;
        match (decision, reason) {
            (Some(decision), Some(reason)) => Ok(DecisionCommand { decision, reason }),
            _ => Err(WalletError::Internal(
                "validation passed without values".into(),
            )),
        }
    }
}

/// An operator approves (the payout may start; no money moves) or rejects (the amount
/// returns to cash), with a reason; only while the withdrawal is in review. The decision
/// carries the operator's action, recorded with it.
pub fn decide(
    account: &Account,
    record: &WithdrawalRecord,
    command: &DecisionCommand,
    operator: &Operator,
    correlation_id: &str,
    now: Timestamp,
) -> Result<WithdrawalDecision, WalletError> {
    let withdrawal = in_review(record, account)?;
    let now = now.max(account.updated_at);
    let reason = command.reason.clone();
    let mut after = withdrawal.clone();
    after.decided_at = Some(now);
    after.decided_by = Some(operator.to_string());
    after.decision_reason = Some(reason.clone());
    let action = OperatorAction {
        action_id: format!("decision:{}", withdrawal.withdrawal_id),
        player_id: withdrawal.player_id.clone(),
        operator: operator.clone(),
        at: now,
        kind: ActionKind::WithdrawalDecision {
            withdrawal_id: withdrawal.withdrawal_id.to_string(),
            decision: command.decision.as_str().to_string(),
        },
        reason: reason.clone(),
        correlation_id: correlation_id.to_string(),
    };
    let mut decision = match command.decision {
        Decision::Approve => {
            after.status = WithdrawalStatus::Approved;
            let events = vec![approved_event(&after, correlation_id, now)];
            WithdrawalDecision {
                account: None,
                record: record.with(after),
                entries: Vec::new(),
                events,
                bonus_change: None,
                action: None,
            }
        }
        Decision::Reject => {
            let kind = EventKind::WithdrawalRejected {
                withdrawal_id: after.withdrawal_id.to_string(),
                amount: after.payload.amount,
                decided_by: operator.to_string(),
                reason,
            };
            returning(
                account,
                record,
                after,
                WithdrawalStatus::Rejected,
                kind,
                correlation_id,
                now,
            )?
        }
    };
    decision.action = Some(action);
    Ok(decision)
}

/// The payment provider's result of a payout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutResult {
    pub paid: bool,
    pub provider_reference: String,
    pub reason: Option<String>,
}

/// The body of `POST /players/{player_id}/withdrawals/{withdrawal_id}/result`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayoutResultRequest {
    pub status: String,
    pub provider_reference: String,
    #[serde(default)]
    pub reason: Option<String>,
}

impl PayoutResult {
    pub fn from_request(request: &PayoutResultRequest) -> Result<PayoutResult, WalletError> {
        let mut problems = Problems::new();
        let paid = problems.check(match request.status.as_str() {
            "paid" => Ok(true),
            "failed" => Ok(false),
            _ => Err(crate::error::FieldError::new(
                "/status",
                "must be paid or failed",
            )),
        });
        let reference = problems.check(ClientId::parse(
            "/provider_reference",
            &request.provider_reference,
        ));
        let reason = match &request.reason {
            None => None,
            Some(text) => problems.check(check_reason("/reason", text)),
        };
        problems.into_result()?;
        match (paid, reference) {
            (Some(paid), Some(reference)) => Ok(PayoutResult {
                paid,
                provider_reference: reference.to_string(),
                reason,
            }),
            _ => Err(WalletError::Internal(
                "validation passed without values".into(),
            )),
        }
    }
}

/// What a result comes to: a transition, or the withdrawal as already recorded (the same
/// result again: nothing moves).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultOutcome {
    Applied(Box<WithdrawalDecision>),
    Replayed(Box<Withdrawal>),
}

/// `paid` takes the pending amount out for good (and starts the turnover count again);
/// `failed` returns it to cash. Each happens once: the same result again replays, a
/// contradicting one (or a result before approval) is `WITHDRAWAL_ALREADY_FINAL`.
pub fn result(
    account: &Account,
    record: &WithdrawalRecord,
    payout: &PayoutResult,
    correlation_id: &str,
    now: Timestamp,
) -> Result<ResultOutcome, WalletError> {
    let withdrawal = current(record, account)?;
    let wanted = if payout.paid {
        WithdrawalStatus::Paid
    } else {
        WithdrawalStatus::Failed
    };
    match withdrawal.status {
        WithdrawalStatus::Approved => {}
        status
            if status == wanted
                && withdrawal.provider_reference.as_deref()
                    == Some(payout.provider_reference.as_str()) =>
        {
            return Ok(ResultOutcome::Replayed(Box::new(withdrawal.clone())));
        }
        status => {
            return Err(WalletError::WithdrawalAlreadyFinal(format!(
                "withdrawal {} is {}: a {} result cannot apply",
                withdrawal.withdrawal_id,
                status.as_str(),
                wanted.as_str()
            )))
        }
    }
    let now = now.max(account.updated_at);
    let amount = withdrawal.payload.amount;
    let mut after = withdrawal.clone();
    after.provider_reference = Some(payout.provider_reference.clone());
    if !payout.paid {
        after.failure_reason = payout.reason.clone();
        let kind = EventKind::WithdrawalFailed {
            withdrawal_id: after.withdrawal_id.to_string(),
            amount,
            provider_reference: payout.provider_reference.clone(),
            reason: payout.reason.clone(),
        };
        let decision = returning(
            account,
            record,
            after,
            WithdrawalStatus::Failed,
            kind,
            correlation_id,
            now,
        )?;
        return Ok(ResultOutcome::Applied(Box::new(decision)));
    }
    after.status = WithdrawalStatus::Paid;
    after.finished_at = Some(now);
    let (mut next, entry) = account.post_with_pending(
        EntryKind::WithdrawalPaid,
        0,
        0,
        -amount,
        withdrawal.withdrawal_id.as_str(),
        now,
    )?;
    next.deposited_since_payout = 0;
    next.staked_since_payout = 0;
    let kind = EventKind::WithdrawalPaid {
        withdrawal_id: after.withdrawal_id.to_string(),
        amount,
        provider_reference: payout.provider_reference.clone(),
    };
    let events = vec![event(&after, correlation_id, now, kind)];
    Ok(ResultOutcome::Applied(Box::new(WithdrawalDecision {
        account: Some(next),
        record: record.with(after),
        entries: vec![entry],
        events,
        bonus_change: None,
        action: None,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::fixtures::{account, T0};
    use crate::bonus::ActiveBonus;
    use crate::clock::HOUR_MS;
    use crate::error::ErrorCode;
    use crate::invariant::{balance_equals_entries, no_negative_balance};
    use proptest::prelude::*;

    const NO_RULES: RiskRules = RiskRules {
        turnover: None,
        large_amount: None,
        velocity: None,
        new_account: None,
        shared_destination: None,
    };

    fn open(rules: &RiskRules) -> RequestContext<'_> {
        RequestContext {
            rules,
            destination_first_used_by: None,
        }
    }

    /// A wallet with `cash` deposited (one entry), a day old.
    fn funded(cash: i64) -> (Account, Vec<LedgerEntry>) {
        let a = account();
        let (b, e) = a.post(EntryKind::Deposit, cash, 0, "d1", T0).unwrap();
        (b, vec![e])
    }

    fn command(id: &str, amount: i64) -> WithdrawalCommand {
        WithdrawalCommand::from_request(
            &PlayerId::new("player-1").unwrap(),
            &WithdrawalRequest {
                withdrawal_id: id.into(),
                amount,
                currency: "EUR".into(),
                destination: DestinationRequest {
                    kind: "bank_account".into(),
                    reference: "iban-token-1".into(),
                },
            },
        )
        .unwrap()
    }

    fn later() -> Timestamp {
        T0.plus_millis(2 * DAY_MS)
    }

    fn applied(decision: &WithdrawalDecision, entries: &mut Vec<LedgerEntry>) -> Account {
        entries.extend(decision.entries.iter().cloned());
        let account = decision.account.clone().expect("the wallet changed");
        no_negative_balance(&account).unwrap();
        balance_equals_entries(&account, entries).unwrap();
        account
    }

    #[test]
    fn a_request_moves_cash_to_pending_in_one_entry_and_is_approved_when_no_rule_fires() {
        let (a, mut entries) = funded(5000);
        let d = request(&a, &command("w1", 3000), open(&NO_RULES), "c", later()).unwrap();
        let b = applied(&d, &mut entries);
        assert_eq!((b.cash, b.pending_withdrawal), (2000, 3000));
        let entry = &d.entries[0];
        assert_eq!(entry.kind, EntryKind::Withdrawal);
        assert_eq!(
            (
                entry.cash_delta,
                entry.pending_delta,
                entry.pending_after,
                entry.amount()
            ),
            (-3000, 3000, 3000, 0)
        );
        let w = d.withdrawal().unwrap();
        assert_eq!(w.status, WithdrawalStatus::Approved);
        assert!(w.review_reasons.is_empty());
        let names: Vec<&str> = d.events.iter().map(|e| e.kind.name()).collect();
        assert_eq!(names, ["WithdrawalRequested", "WithdrawalApproved"]);
        assert_eq!(d.events[1].event_id, "WithdrawalApproved:w1");
    }

    #[test]
    fn only_cash_can_be_withdrawn_and_a_disabled_player_cannot_withdraw() {
        let (mut a, _) = funded(1000);
        a.bonus = 500;
        let refused = request(&a, &command("w1", 1001), open(&NO_RULES), "c", later()).unwrap_err();
        assert_eq!(refused.code(), ErrorCode::InsufficientFunds);
        assert!(refused.is_stable_rejection());
        a.disabled = true;
        let locked = request(&a, &command("w1", 10), open(&NO_RULES), "c", later()).unwrap_err();
        assert_eq!(locked.code(), ErrorCode::PlayerBlocked);
        // Excluded players may take their money out.
        let (mut excluded, _) = funded(1000);
        excluded.exclusion = Some(crate::exclusion::exclude(
            None,
            crate::exclusion::ExclusionKind::SelfExclusion,
            183,
            T0,
        ));
        assert!(request(&excluded, &command("w1", 10), open(&NO_RULES), "c", later()).is_ok());
    }

    #[test]
    fn an_active_bonus_is_forfeited_first_in_the_same_decision() {
        let (a, mut entries) = funded(1000);
        let (mut b, e) = a
            .post(EntryKind::BonusAward, 0, 700, "camp:award", T0)
            .unwrap();
        entries.push(e);
        b.active_bonus = Some(ActiveBonus {
            campaign_id: "camp".into(),
            awarded: 700,
            wagering_required: 7000,
            expires_at: T0.plus_millis(30 * DAY_MS),
        });
        b.wagering_remaining = 7000;
        let d = request(&b, &command("w1", 1000), open(&NO_RULES), "c", later()).unwrap();
        let c = applied(&d, &mut entries);
        assert_eq!((c.cash, c.bonus, c.pending_withdrawal), (0, 0, 1000));
        assert!(c.active_bonus.is_none() && c.wagering_remaining == 0);
        assert_eq!(d.withdrawal().unwrap().bonus_forfeited, 700);
        let kinds: Vec<EntryKind> = d.entries.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [EntryKind::BonusForfeit, EntryKind::Withdrawal]);
        let names: Vec<&str> = d.events.iter().map(|e| e.kind.name()).collect();
        assert_eq!(
            names,
            [
                "BonusForfeited",
                "WithdrawalRequested",
                "WithdrawalApproved"
            ]
        );
        assert!(matches!(
            d.events[0].kind,
            EventKind::BonusForfeited {
                reason: ForfeitReason::Withdrawal,
                amount: 700,
                ..
            }
        ));
    }

    #[test]
    fn rules_that_fire_send_it_to_review_with_their_reasons() {
        let rules = risk::parse_rules(risk::DEFAULT_RULES).unwrap();
        let (mut a, _) = funded(200_000);
        a.deposited_since_payout = 200_000;
        // New account (registered at T0), never staked, a large amount.
        let d = request(
            &a,
            &command("w1", 150_000),
            open(&rules),
            "c",
            T0.plus_millis(HOUR_MS),
        )
        .unwrap();
        let w = d.withdrawal().unwrap();
        assert_eq!(w.status, WithdrawalStatus::PendingReview);
        assert_eq!(
            w.review_reasons,
            [
                RiskReason::Turnover,
                RiskReason::LargeAmount,
                RiskReason::NewAccount
            ]
        );
        let names: Vec<&str> = d.events.iter().map(|e| e.kind.name()).collect();
        assert_eq!(names, ["WithdrawalRequested"], "not approved yet");
        // Another player's destination.
        let other = PlayerId::new("player-2").unwrap();
        let shared = RequestContext {
            rules: &rules,
            destination_first_used_by: Some(&other),
        };
        let mut staked = a.clone();
        staked.staked_since_payout = 200_000;
        let d = request(&staked, &command("w2", 100), shared, "c", later()).unwrap();
        assert_eq!(
            d.withdrawal().unwrap().review_reasons,
            [RiskReason::SharedDestination]
        );
    }

    fn in_review() -> (Account, Vec<LedgerEntry>, WithdrawalRecord) {
        let rules = RiskRules {
            large_amount: Some([("EUR".to_string(), 1)].into_iter().collect()),
            ..NO_RULES
        };
        let (a, mut entries) = funded(5000);
        let d = request(&a, &command("w1", 3000), open(&rules), "c", later()).unwrap();
        let b = applied(&d, &mut entries);
        (b, entries, d.record)
    }

    #[test]
    fn the_player_may_cancel_while_in_review_and_only_then() {
        let (b, mut entries, record) = in_review();
        let d = cancel(&b, &record, "c", later()).unwrap();
        let c = applied(&d, &mut entries);
        assert_eq!((c.cash, c.pending_withdrawal), (5000, 0));
        assert_eq!(d.entries[0].kind, EntryKind::WithdrawalReturned);
        assert_eq!(d.withdrawal().unwrap().status, WithdrawalStatus::Cancelled);
        assert_eq!(d.record.version, 2);
        let again = cancel(&c, &d.record, "c", later()).unwrap_err();
        assert_eq!(again.code(), ErrorCode::WithdrawalNotPending);
    }

    #[test]
    fn an_operator_approves_without_moving_money_or_rejects_returning_it() {
        let (b, mut entries, record) = in_review();
        let approved = decide(
            &b,
            &record,
            &decision(Decision::Approve, "checked"),
            &staff("staff-1"),
            "c",
            later(),
        )
        .unwrap();
        let action = approved.action.as_ref().unwrap();
        assert_eq!(
            (
                action.action_id.as_str(),
                action.operator.as_str(),
                action.reason.as_str()
            ),
            ("decision:w1", "staff-1", "checked")
        );
        assert!(approved.account.is_none() && approved.entries.is_empty());
        let w = approved.withdrawal().unwrap();
        assert_eq!(
            (
                w.status,
                w.decided_by.as_deref(),
                w.decision_reason.as_deref()
            ),
            (WithdrawalStatus::Approved, Some("staff-1"), Some("checked"))
        );
        assert!(matches!(
            &approved.events[0].kind,
            EventKind::WithdrawalApproved { decided_by: Some(by), .. } if by == "staff-1"
        ));
        let twice = decide(
            &b,
            &approved.record,
            &decision(Decision::Reject, "late"),
            &staff("staff-2"),
            "c",
            later(),
        );
        assert_eq!(twice.unwrap_err().code(), ErrorCode::WithdrawalNotPending);

        let rejected = decide(
            &b,
            &record,
            &decision(Decision::Reject, "fraud"),
            &staff("staff-1"),
            "c",
            later(),
        )
        .unwrap();
        assert!(matches!(
            &rejected.action.as_ref().unwrap().kind,
            ActionKind::WithdrawalDecision { decision, .. } if decision == "reject"
        ));
        let c = applied(&rejected, &mut entries);
        assert_eq!((c.cash, c.pending_withdrawal), (5000, 0));
        assert_eq!(
            rejected.withdrawal().unwrap().status,
            WithdrawalStatus::Rejected
        );
    }

    fn decision(decision: Decision, reason: &str) -> DecisionCommand {
        DecisionCommand {
            decision,
            reason: reason.into(),
        }
    }

    fn staff(sub: &str) -> Operator {
        Operator::new(sub).unwrap()
    }

    #[test]
    fn decision_requests_are_checked() {
        let ok = DecisionCommand::from_request(&DecisionRequest {
            decision: "reject".into(),
            reason: "  documents missing ".into(),
        })
        .unwrap();
        assert_eq!(ok, decision(Decision::Reject, "documents missing"));
        let bad = DecisionCommand::from_request(&DecisionRequest {
            decision: "maybe".into(),
            reason: " ".into(),
        })
        .unwrap_err();
        let WalletError::Validation(fields) = bad else {
            panic!("{bad:?}")
        };
        let named: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(named, ["/decision", "/reason"]);
    }

    fn payout(paid: bool, reference: &str) -> PayoutResult {
        PayoutResult {
            paid,
            provider_reference: reference.into(),
            reason: (!paid).then(|| "account closed".to_string()),
        }
    }

    #[test]
    fn a_paid_result_takes_the_money_out_once_and_a_contradiction_is_refused() {
        let (a, mut entries) = funded(5000);
        let d = request(&a, &command("w1", 3000), open(&NO_RULES), "c", later()).unwrap();
        let b = applied(&d, &mut entries);
        let before_approval = result(&b, &in_review().2, &payout(true, "p1"), "c", later());
        assert_eq!(
            before_approval.unwrap_err().code(),
            ErrorCode::WithdrawalAlreadyFinal
        );
        let ResultOutcome::Applied(paid) =
            result(&b, &d.record, &payout(true, "p1"), "c", later()).unwrap()
        else {
            panic!("applied")
        };
        let c = applied(&paid, &mut entries);
        assert_eq!((c.cash, c.pending_withdrawal), (2000, 0));
        assert_eq!(paid.entries[0].amount(), -3000, "the money left the wallet");
        assert_eq!((c.deposited_since_payout, c.staked_since_payout), (0, 0));
        // The same result again replays; another one is refused.
        assert!(matches!(
            result(&c, &paid.record, &payout(true, "p1"), "c", later()).unwrap(),
            ResultOutcome::Replayed(w) if w.status == WithdrawalStatus::Paid
        ));
        let contradiction = result(&c, &paid.record, &payout(false, "p1"), "c", later());
        assert_eq!(
            contradiction.unwrap_err().code(),
            ErrorCode::WithdrawalAlreadyFinal
        );
    }

    #[test]
    fn a_failed_result_returns_the_money_to_cash() {
        let (a, mut entries) = funded(5000);
        let d = request(&a, &command("w1", 3000), open(&NO_RULES), "c", later()).unwrap();
        let b = applied(&d, &mut entries);
        let ResultOutcome::Applied(failed) =
            result(&b, &d.record, &payout(false, "p9"), "c", later()).unwrap()
        else {
            panic!("applied")
        };
        let c = applied(&failed, &mut entries);
        assert_eq!((c.cash, c.pending_withdrawal), (5000, 0));
        let w = failed.withdrawal().unwrap();
        assert_eq!(
            (w.status, w.failure_reason.as_deref()),
            (WithdrawalStatus::Failed, Some("account closed"))
        );
    }

    #[test]
    fn replays_answer_from_the_record_and_another_payload_is_a_duplicate() {
        let (a, _) = funded(5000);
        let d = request(&a, &command("w1", 3000), open(&NO_RULES), "c", later()).unwrap();
        assert_eq!(
            d.record.replay(&command("w1", 3000)).unwrap().status,
            WithdrawalStatus::Approved
        );
        assert_eq!(
            d.record.replay(&command("w1", 2999)).unwrap_err().code(),
            ErrorCode::DuplicateTransaction
        );
        let refused = WithdrawalRecord::rejected(
            &command("w2", 9000),
            &WalletError::InsufficientFunds("no".into()),
        );
        assert_eq!(
            refused.replay(&command("w2", 9000)).unwrap_err().code(),
            ErrorCode::InsufficientFunds
        );
    }

    #[test]
    fn bad_requests_name_every_field() {
        let player = PlayerId::new("player-1").unwrap();
        let bad = WithdrawalCommand::from_request(
            &player,
            &WithdrawalRequest {
                withdrawal_id: "".into(),
                amount: 0,
                currency: "eur".into(),
                destination: DestinationRequest {
                    kind: "cash".into(),
                    reference: "4111 1111 1111 1111".into(),
                },
            },
        )
        .unwrap_err();
        let fields: Vec<&str> = bad
            .field_errors()
            .iter()
            .map(|e| e.field.as_str())
            .collect();
        assert_eq!(
            fields,
            [
                "/withdrawal_id",
                "/amount",
                "/currency",
                "/destination/kind",
                "/destination/reference"
            ]
        );
    }

    #[derive(Debug, Clone)]
    enum Step {
        Request(i64, bool),
        Cancel(usize),
        Approve(usize),
        Reject(usize),
        Result(usize, bool),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (1i64..4000, any::<bool>()).prop_map(|(a, review)| Step::Request(a, review)),
            (0usize..8).prop_map(Step::Cancel),
            (0usize..8).prop_map(Step::Approve),
            (0usize..8).prop_map(Step::Reject),
            (0usize..8, any::<bool>()).prop_map(|(n, paid)| Step::Result(n, paid)),
        ]
    }

    proptest! {
        /// Any sequence of requests, cancels, decisions and results (valid or not) keeps the
        /// wallet explained by its entries, no balance negative, the pending withdrawal equal
        /// to the open withdrawals' amounts, and money paid out or returned at most once.
        #[test]
        fn any_sequence_keeps_the_withdrawal_invariants(steps in prop::collection::vec(step(), 1..40)) {
            let review = RiskRules { large_amount: Some([("EUR".to_string(), 1)].into_iter().collect()), ..NO_RULES };
            let (mut wallet, mut entries) = funded(10_000);
            let mut records: Vec<WithdrawalRecord> = Vec::new();
            let mut paid_out = 0i64;
            for (n, s) in steps.into_iter().enumerate() {
                let at = later().plus_millis(n as i64);
                let (decision, record_index) = match s {
                    Step::Request(amount, in_review) => {
                        let rules = if in_review { &review } else { &NO_RULES };
                        match request(&wallet, &command(&format!("w{n}"), amount), open(rules), "c", at) {
                            Ok(d) => { records.push(d.record.clone()); (Some(d), records.len() - 1) }
                            Err(e) => { prop_assert_eq!(e.code(), ErrorCode::InsufficientFunds); (None, 0) }
                        }
                    }
                    Step::Cancel(i) if i < records.len() => (cancel(&wallet, &records[i], "c", at).ok(), i),
                    Step::Approve(i) if i < records.len() => (decide(&wallet, &records[i], &decision(Decision::Approve, "r"), &staff("s"), "c", at).ok(), i),
                    Step::Reject(i) if i < records.len() => (decide(&wallet, &records[i], &decision(Decision::Reject, "r"), &staff("s"), "c", at).ok(), i),
                    Step::Result(i, paid) if i < records.len() => match result(&wallet, &records[i], &payout(paid, "p"), "c", at) {
                        Ok(ResultOutcome::Applied(d)) => {
                            if paid { paid_out += records[i].payload.amount; }
                            (Some(*d), i)
                        }
                        _ => (None, 0),
                    },
                    _ => (None, 0),
                };
                if let Some(d) = decision {
                    records[record_index] = d.record.clone();
                    entries.extend(d.entries.iter().cloned());
                    if let Some(next) = d.account { wallet = next; }
                }
                prop_assert!(no_negative_balance(&wallet).is_ok());
                prop_assert!(balance_equals_entries(&wallet, &entries).is_ok());
                let open_amounts: i64 = records
                    .iter()
                    .filter_map(|r| r.withdrawal())
                    .filter(|w| !w.status.is_final())
                    .map(|w| w.payload.amount)
                    .sum();
                prop_assert_eq!(wallet.pending_withdrawal, open_amounts);
                prop_assert_eq!(wallet.cash + wallet.pending_withdrawal + paid_out, 10_000);
            }
        }
    }
}
