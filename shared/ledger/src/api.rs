//! The JSON shapes of the HTTP contract: strict request parsing (unknown fields, wrong
//! types and floats are refused) and the views every response is built from.

use crate::account::{Account, AccountStatus};
use crate::action::{ActionKind, OperatorAction};
use crate::bet::BetRecord;
use crate::clock::Timestamp;
use crate::entry::{EntryKind, LedgerEntry};
use crate::error::{FieldError, WalletError};
use crate::exclusion::{Exclusion, ExclusionKind};
use crate::limits::{DepositLimits, LimitChange, LimitPeriod, LimitValues};
use crate::money::MAX_AMOUNT;
use crate::outcome::{BetOutcome, BetStatus};
use crate::outcome::{SettlementKind, SettlementOutcome};
use crate::withdrawal::Withdrawal;
use serde::{Deserialize, Deserializer, Serialize};

pub use crate::json::parse_json;

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
fn explicit<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// `{daily?, weekly?, monthly?}`: an integer sets, `null` removes, absent keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsRequest {
    #[serde(default, deserialize_with = "explicit")]
    pub daily: Option<Option<i64>>,
    #[serde(default, deserialize_with = "explicit")]
    pub weekly: Option<Option<i64>>,
    #[serde(default, deserialize_with = "explicit")]
    pub monthly: Option<Option<i64>>,
}

impl LimitsRequest {
    pub fn to_changes(&self, base: &str) -> Result<[(LimitPeriod, LimitChange); 3], FieldError> {
        let mut changes = crate::limits::no_changes();
        for (slot, value) in changes
            .iter_mut()
            .zip([self.daily, self.weekly, self.monthly])
        {
            slot.1 = match value {
                None => LimitChange::Keep,
                Some(None) => LimitChange::Remove,
                Some(Some(v)) if (1..=MAX_AMOUNT).contains(&v) => LimitChange::Set(v),
                Some(Some(_)) => {
                    return Err(FieldError::new(
                        format!("{base}/{}", slot.0.as_str()),
                        format!("a limit is 1 to {MAX_AMOUNT} minor units, or null for none"),
                    ))
                }
            };
        }
        Ok(changes)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExclusionRequest {
    pub kind: String,
    pub days: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepositRequest {
    pub deposit_id: String,
    pub amount: i64,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletView {
    pub player_id: String,
    pub currency: String,
    pub cash: i64,
    pub bonus: i64,
    pub wagering_remaining: i64,
    /// Cash held for withdrawals not yet paid out, returned or failed.
    pub pending_withdrawal: i64,
    pub updated_at: String,
}

impl WalletView {
    pub fn of(account: &Account) -> WalletView {
        WalletView {
            player_id: account.player_id.to_string(),
            currency: account.currency.to_string(),
            cash: account.cash,
            bonus: account.bonus,
            wagering_remaining: account.wagering_remaining,
            pending_withdrawal: account.pending_withdrawal,
            updated_at: account.updated_at.to_rfc3339(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayerView {
    pub player_id: String,
    pub email: String,
    pub currency: String,
    pub country: String,
    pub date_of_birth: String,
    pub display_name: Option<String>,
    pub status: AccountStatus,
    pub created_at: String,
}

impl PlayerView {
    pub fn of(account: &Account, now: Timestamp) -> PlayerView {
        PlayerView {
            player_id: account.player_id.to_string(),
            email: account.email.clone(),
            currency: account.currency.to_string(),
            country: account.country.clone(),
            date_of_birth: account.date_of_birth.clone(),
            display_name: account.display_name.clone(),
            status: account.status(now),
            created_at: account.created_at.to_rfc3339(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLimitView {
    pub limit: LimitPeriod,
    pub value: Option<i64>,
    pub effective_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitsView {
    pub current: LimitValues,
    pub pending: Vec<PendingLimitView>,
}

impl LimitsView {
    /// The limits as they stand at `now`.
    pub fn of(limits: &DepositLimits, now: Timestamp) -> LimitsView {
        let limits = limits.at(now);
        LimitsView {
            current: limits.current,
            pending: limits
                .pending
                .iter()
                .map(|p| PendingLimitView {
                    limit: p.limit,
                    value: p.value,
                    effective_at: p.effective_at.to_rfc3339(),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExclusionView {
    pub kind: ExclusionKind,
    pub days: u32,
    pub started_at: String,
    pub until: String,
}

impl ExclusionView {
    pub fn of(exclusion: &Exclusion) -> ExclusionView {
        ExclusionView {
            kind: exclusion.kind,
            days: exclusion.days,
            started_at: exclusion.started_at.to_rfc3339(),
            until: exclusion.until.to_rfc3339(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryView {
    pub entry_id: String,
    pub kind: EntryKind,
    pub amount: i64,
    pub cash_amount: i64,
    pub bonus_amount: i64,
    pub cash_after: i64,
    pub bonus_after: i64,
    /// Withdrawal entries only: the movement of the pending withdrawal and its balance after.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_withdrawal_amount: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_withdrawal_after: Option<i64>,
    pub reference: String,
    pub created_at: String,
}

impl EntryView {
    pub fn of(entry: &LedgerEntry) -> EntryView {
        EntryView {
            entry_id: entry.entry_id.clone(),
            kind: entry.kind,
            amount: entry.amount(),
            cash_amount: entry.cash_delta,
            bonus_amount: entry.bonus_delta,
            cash_after: entry.cash_after,
            bonus_after: entry.bonus_after,
            pending_withdrawal_amount: entry.kind.is_withdrawal().then_some(entry.pending_delta),
            pending_withdrawal_after: entry.kind.is_withdrawal().then_some(entry.pending_after),
            reference: entry.reference.clone(),
            created_at: entry.created_at.to_rfc3339(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntriesPage {
    pub items: Vec<EntryView>,
    pub next_cursor: Option<String>,
}

/// The body of a route that takes none: nothing (or whitespace), or an empty object; any
/// member is refused like every unknown field.
pub fn no_body(body: &[u8]) -> Result<(), WalletError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Empty {}
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    parse_json::<Empty>(body).map(|_| ())
}

/// A withdrawal's facts, as every view of it shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithdrawalFacts {
    pub withdrawal_id: String,
    pub amount: i64,
    pub currency: String,
    pub destination: DestinationView,
    pub status: String,
    pub review_reasons: Vec<String>,
    pub bonus_forfeited: i64,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
}

/// A withdrawal as the player, the payment provider and a deciding operator see it: with
/// the wallet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithdrawalView {
    #[serde(flatten)]
    pub withdrawal: WithdrawalFacts,
    pub wallet: WalletView,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestinationView {
    pub kind: String,
    pub reference: String,
}

impl WithdrawalFacts {
    pub fn of(withdrawal: &Withdrawal) -> WithdrawalFacts {
        let at = |t: &Option<Timestamp>| t.map(|t| t.to_rfc3339());
        WithdrawalFacts {
            withdrawal_id: withdrawal.withdrawal_id.to_string(),
            amount: withdrawal.payload.amount,
            currency: withdrawal.payload.currency.to_string(),
            destination: DestinationView {
                kind: withdrawal.payload.destination.kind.as_str().to_string(),
                reference: withdrawal.payload.destination.reference.to_string(),
            },
            status: withdrawal.status.as_str().to_string(),
            review_reasons: withdrawal
                .review_reasons
                .iter()
                .map(|r| r.as_str().to_string())
                .collect(),
            bonus_forfeited: withdrawal.bonus_forfeited,
            created_at: withdrawal.created_at.to_rfc3339(),
            decided_at: at(&withdrawal.decided_at),
            decided_by: withdrawal.decided_by.clone(),
            decision_reason: withdrawal.decision_reason.clone(),
            provider_reference: withdrawal.provider_reference.clone(),
            failure_reason: withdrawal.failure_reason.clone(),
            finished_at: at(&withdrawal.finished_at),
        }
    }
}

impl WithdrawalView {
    pub fn of(withdrawal: &Withdrawal, account: &Account) -> WithdrawalView {
        WithdrawalView {
            withdrawal: WithdrawalFacts::of(withdrawal),
            wallet: WalletView::of(account),
        }
    }
}

/// A withdrawal in an operator's list: whose it is, without the wallet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpsWithdrawalView {
    pub player_id: String,
    #[serde(flatten)]
    pub withdrawal: WithdrawalFacts,
}

impl OpsWithdrawalView {
    pub fn of(withdrawal: &Withdrawal) -> OpsWithdrawalView {
        OpsWithdrawalView {
            player_id: withdrawal.player_id.to_string(),
            withdrawal: WithdrawalFacts::of(withdrawal),
        }
    }
}

/// A page of the review queue, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpsWithdrawalPage {
    pub items: Vec<OpsWithdrawalView>,
    pub next_cursor: Option<String>,
}

/// One operator action as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorActionView {
    pub action_id: String,
    /// `withdrawal_decision` or `status_change`.
    pub kind: String,
    pub operator: String,
    pub at: String,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub withdrawal_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

impl OperatorActionView {
    pub fn of(action: &OperatorAction) -> OperatorActionView {
        let mut view = OperatorActionView {
            action_id: action.action_id.clone(),
            kind: String::new(),
            operator: action.operator.to_string(),
            at: action.at.to_rfc3339(),
            reason: action.reason.clone(),
            withdrawal_id: None,
            decision: None,
            previous_status: None,
            status: None,
        };
        match &action.kind {
            ActionKind::WithdrawalDecision {
                withdrawal_id,
                decision,
            } => {
                view.kind = "withdrawal_decision".into();
                view.withdrawal_id = Some(withdrawal_id.clone());
                view.decision = Some(decision.clone());
            }
            ActionKind::StatusChange {
                previous_status,
                status,
            } => {
                view.kind = "status_change".into();
                view.previous_status = Some(previous_status.clone());
                view.status = Some(status.clone());
            }
        }
        view
    }
}

/// A risk rule that fired on one of the player's recent withdrawals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskFlagView {
    pub reason: String,
    pub withdrawal_id: String,
    pub requested_at: String,
}

/// What an operator sees of a player: the account, the wallet, the withdrawals still open
/// (in review or approved and not yet paid), the risk rules that fired on the recent ones,
/// and the operators' recent actions on the account, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpsPlayerView {
    pub account: PlayerView,
    pub wallet: WalletView,
    pub open_withdrawals: Vec<OpsWithdrawalView>,
    pub risk_flags: Vec<RiskFlagView>,
    pub actions: Vec<OperatorActionView>,
}

impl OpsPlayerView {
    pub fn of(
        account: &Account,
        withdrawals: &[Withdrawal],
        actions: &[OperatorAction],
        now: Timestamp,
    ) -> OpsPlayerView {
        let open_withdrawals = withdrawals
            .iter()
            .filter(|w| !w.status.is_final())
            .map(OpsWithdrawalView::of)
            .collect();
        let risk_flags = withdrawals
            .iter()
            .flat_map(|w| {
                w.review_reasons.iter().map(|reason| RiskFlagView {
                    reason: reason.as_str().to_string(),
                    withdrawal_id: w.withdrawal_id.to_string(),
                    requested_at: w.created_at.to_rfc3339(),
                })
            })
            .collect();
        OpsPlayerView {
            account: PlayerView::of(account, now),
            wallet: WalletView::of(account),
            open_withdrawals,
            risk_flags,
            actions: actions.iter().map(OperatorActionView::of).collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositView {
    pub deposit_id: String,
    pub amount: i64,
    pub currency: String,
    pub first_deposit: bool,
    pub entry_id: String,
    pub wallet: WalletView,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BetPlacedView {
    pub bet_id: String,
    pub round_id: String,
    pub status: BetStatus,
    pub cash_stake: i64,
    pub bonus_stake: i64,
    pub entry_id: String,
    pub wallet: WalletView,
}

impl BetPlacedView {
    pub fn of(outcome: &BetOutcome, account: &Account) -> BetPlacedView {
        BetPlacedView {
            bet_id: outcome.bet_id.to_string(),
            round_id: outcome.round_id.to_string(),
            status: BetStatus::Open,
            cash_stake: outcome.cash_stake,
            bonus_stake: outcome.bonus_stake,
            entry_id: outcome.entry_id.clone(),
            wallet: WalletView::of(account),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementView {
    pub bet_id: String,
    pub settlement_id: String,
    pub kind: String,
    /// The win's amount; `null` for a rollback.
    pub amount: Option<i64>,
    pub status: BetStatus,
    pub cash_credit: i64,
    pub bonus_credit: i64,
    pub entry_id: Option<String>,
    pub settled_at: String,
}

impl SettlementView {
    pub fn of(outcome: &SettlementOutcome) -> SettlementView {
        SettlementView {
            bet_id: outcome.bet_id.to_string(),
            settlement_id: outcome.settlement_id.to_string(),
            kind: outcome.settlement.name().to_string(),
            amount: match outcome.settlement {
                SettlementKind::Win { amount } => Some(amount),
                SettlementKind::Rollback => None,
            },
            status: outcome.status,
            cash_credit: outcome.cash_credit,
            bonus_credit: outcome.bonus_credit,
            entry_id: outcome.entry_id.clone(),
            settled_at: outcome.settled_at.to_rfc3339(),
        }
    }
}

/// The settlement route's answer: the settlement and the current wallet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettledView {
    #[serde(flatten)]
    pub settlement: SettlementView,
    pub wallet: WalletView,
}

/// `GET /players/{player_id}/bets/{bet_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BetView {
    pub bet_id: String,
    pub player_id: String,
    pub round_id: String,
    pub game_id: String,
    pub amount: i64,
    pub currency: String,
    pub status: BetStatus,
    pub cash_stake: i64,
    pub bonus_stake: i64,
    pub placed_at: String,
    pub settlement: Option<SettlementView>,
}

impl BetView {
    /// The view of a placed bet; `None` for a rejected bet or a tombstone, which are
    /// records of an id, not bets.
    pub fn of(record: &BetRecord) -> Option<BetView> {
        let bet = record.placed()?;
        Some(BetView {
            bet_id: record.bet_id.to_string(),
            player_id: record.player_id.to_string(),
            round_id: bet.payload.round_id.to_string(),
            game_id: bet.payload.game_id.to_string(),
            amount: bet.payload.amount,
            currency: bet.payload.currency.to_string(),
            status: bet.status,
            cash_stake: bet.cash_stake,
            bonus_stake: bet.bonus_stake,
            placed_at: bet.placed_at.to_rfc3339(),
            settlement: bet.settlement.as_ref().map(SettlementView::of),
        })
    }
}

/// A page of a player's bets for operators, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BetsPage {
    pub items: Vec<BetView>,
    pub next_cursor: Option<String>,
}

/// The players found by a search (`GET /ops/players?email=`): none or one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayerSearchView {
    pub items: Vec<PlayerView>,
}

/// One broken invariant in the audit's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingView {
    pub invariant: u8,
    pub detail: String,
}

/// The audit's report (`POST /ops/audit`): what was read and what is wrong, if anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditView {
    pub clean: bool,
    pub accounts: usize,
    pub entries: usize,
    pub deposits: usize,
    pub bets: usize,
    pub settlements: usize,
    pub findings: Vec<FindingView>,
    pub audited_at: String,
}

/// A watched queue's state (`GET /ops/queues`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueView {
    /// The queue's logical id in the template.
    pub queue: String,
    /// Messages waiting (approximate, as SQS counts them).
    pub depth: u64,
    /// Messages received and not yet deleted (approximate).
    pub in_flight: u64,
    pub redrivable: bool,
    /// The queue a redrive's events reach again through the bus.
    pub delivers_to: Option<String>,
    /// What the queue holds and, when it cannot be redriven here, why and what to do.
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuesView {
    pub items: Vec<QueueView>,
}

/// Who asked for a queue action, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueActionView {
    pub action_id: String,
    pub operator: String,
    pub at: String,
    pub reason: String,
}

impl QueueActionView {
    pub fn of(action: &crate::action::QueueAction) -> QueueActionView {
        QueueActionView {
            action_id: action.action_id.clone(),
            operator: action.operator.to_string(),
            at: action.at.to_rfc3339(),
            reason: action.reason.clone(),
        }
    }
}

/// What a redrive did (`POST /ops/queues/{queue}/redrive`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedriveView {
    pub queue: String,
    /// Messages put back on the bus and deleted from the dead-letter queue.
    pub moved: u64,
    /// Messages left in the dead-letter queue (not an event, or the bus refused them).
    pub left: u64,
    pub action: QueueActionView,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn field_of(result: Result<DepositRequest, WalletError>) -> (ErrorCode, String, String) {
        let err = result.unwrap_err();
        let f = err
            .field_errors()
            .first()
            .cloned()
            .unwrap_or(FieldError::new("?", "?"));
        (err.code(), f.field, f.message)
    }

    #[test]
    fn parses_a_valid_deposit() {
        let r: DepositRequest =
            parse_json(br#"{"deposit_id":"d1","amount":100,"currency":"EUR"}"#).unwrap();
        assert_eq!(
            (r.deposit_id.as_str(), r.amount, r.currency.as_str()),
            ("d1", 100, "EUR")
        );
    }

    #[test]
    fn refuses_unknown_fields_wrong_types_floats_and_garbage() {
        let cases: [(&[u8], &str); 11] = [
            (br#"["d1",100,"EUR"]"#, ""),
            (br#""d1""#, ""),
            (
                br#"{"deposit_id":"d1","amount":100,"currency":"EUR","extra":1}"#,
                "/extra",
            ),
            (
                br#"{"deposit_id":"d1","amount":"100","currency":"EUR"}"#,
                "/amount",
            ),
            (
                br#"{"deposit_id":"d1","amount":10.5,"currency":"EUR"}"#,
                "/amount",
            ),
            (
                br#"{"deposit_id":"d1","amount":1e3,"currency":"EUR"}"#,
                "/amount",
            ),
            (
                br#"{"deposit_id":"d1","amount":99999999999999999999,"currency":"EUR"}"#,
                "/amount",
            ),
            (br#"{"deposit_id":"d1","currency":"EUR"}"#, ""),
            (br#"{"deposit_id":"d1","amount":1,"currency":"EUR""#, ""),
            (br#"[1,2]"#, ""),
            (b"", ""),
        ];
        for (body, field) in cases {
            let (code, f, message) = field_of(parse_json(body));
            assert_eq!(
                code,
                ErrorCode::ValidationFailed,
                "{}",
                String::from_utf8_lossy(body)
            );
            assert_eq!(f, field, "{} -> {message}", String::from_utf8_lossy(body));
            if !message.starts_with("the request body is not valid JSON") {
                assert!(!message.contains(" at line "), "{message}");
            }
        }
        let (_, _, message) = field_of(parse_json(
            br#"{"deposit_id":"d1","amount":1,"currency":"EUR","x":1}"#,
        ));
        assert!(message.contains("unknown field `x`"), "{message}");
        let (_, _, message) = field_of(parse_json(br#"{"amount":1,"currency":"EUR"}"#));
        assert!(message.contains("missing field `deposit_id`"), "{message}");
    }

    #[test]
    fn refuses_trailing_data_and_duplicate_fields() {
        assert!(parse_json::<DepositRequest>(
            br#"{"deposit_id":"d1","amount":1,"currency":"EUR"} {}"#
        )
        .is_err());
        assert!(parse_json::<DepositRequest>(
            br#"{"deposit_id":"d1","amount":1,"amount":2,"currency":"EUR"}"#
        )
        .is_err());
    }

    #[test]
    fn limits_tell_absent_from_null() {
        let r: LimitsRequest = parse_json(br#"{"daily":500,"weekly":null}"#).unwrap();
        assert_eq!(r.daily, Some(Some(500)));
        assert_eq!(r.weekly, Some(None));
        assert_eq!(r.monthly, None);
        let changes = r.to_changes("").unwrap();
        assert_eq!(changes[0], (LimitPeriod::Daily, LimitChange::Set(500)));
        assert_eq!(changes[1], (LimitPeriod::Weekly, LimitChange::Remove));
        assert_eq!(changes[2], (LimitPeriod::Monthly, LimitChange::Keep));
        let bad: LimitsRequest = parse_json(br#"{"monthly":0}"#).unwrap();
        assert_eq!(bad.to_changes("").unwrap_err().field, "/monthly");
        assert!(parse_json::<LimitsRequest>(br#"{"yearly":1}"#).is_err());
    }
}
