//! Withdrawal risk rules (WALLET-RULES "Withdrawals"): configuration, not code. Each rule is
//! a pure function of the facts about one withdrawal request; every rule that fires adds its
//! reason and sends the withdrawal to review, none firing approves it at once.

use crate::clock::{Timestamp, HOUR_MS};
use crate::ids::PlayerId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Why a withdrawal went to review. The names are the contract's rule names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskReason {
    Turnover,
    LargeAmount,
    Velocity,
    NewAccount,
    SharedDestination,
}

impl RiskReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RiskReason::Turnover => "turnover",
            RiskReason::LargeAmount => "large_amount",
            RiskReason::Velocity => "velocity",
            RiskReason::NewAccount => "new_account",
            RiskReason::SharedDestination => "shared_destination",
        }
    }
}

/// Cash deposited since the last paid withdrawal must have been staked at least this many
/// times (anti-money-laundering).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TurnoverRule {
    pub min_turnover: u32,
}

/// More than this many withdrawals requested in the last 24 hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VelocityRule {
    pub max_per_24h: u32,
}

/// The account is younger than this many hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAccountRule {
    pub min_age_hours: u32,
}

/// The destination was first used by another player (multi-accounting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharedDestinationRule {
    pub enabled: bool,
}

/// The configured rules (`RISK_RULES`); a rule left out does not run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskRules {
    #[serde(default)]
    pub turnover: Option<TurnoverRule>,
    /// The threshold per currency (minor units): an amount at or above it goes to review. A
    /// currency not listed has no threshold.
    #[serde(default)]
    pub large_amount: Option<BTreeMap<String, i64>>,
    #[serde(default)]
    pub velocity: Option<VelocityRule>,
    #[serde(default)]
    pub new_account: Option<NewAccountRule>,
    #[serde(default)]
    pub shared_destination: Option<SharedDestinationRule>,
}

/// The rules the template configures by default: the contract's default turnover (1×), and
/// conservative values for the others.
pub const DEFAULT_RULES: &str = r#"{"turnover":{"min_turnover":1},"large_amount":{"EUR":100000,"GBP":100000,"USD":100000},"velocity":{"max_per_24h":3},"new_account":{"min_age_hours":24},"shared_destination":{"enabled":true}}"#;

/// Parses and validates the rules (JSON); refused at cold start, never at request time.
pub fn parse_rules(json: &str) -> Result<RiskRules, String> {
    // A JSON object only (serde would also read a struct from an array).
    let rules: RiskRules = crate::json::parse_json(json.as_bytes())
        .map_err(|e| format!("not a set of risk rules: {e}"))?;
    if let Some(turnover) = rules.turnover {
        if !(1..=100).contains(&turnover.min_turnover) {
            return Err("turnover.min_turnover must be 1 to 100".into());
        }
    }
    if let Some(thresholds) = &rules.large_amount {
        for (currency, value) in thresholds {
            crate::money::Currency::new(currency)
                .map_err(|m| format!("large_amount {currency}: {m}"))?;
            if !(1..=crate::money::MAX_AMOUNT).contains(value) {
                return Err(format!("large_amount {currency} must be 1 to 10^12"));
            }
        }
    }
    if let Some(velocity) = rules.velocity {
        if !(1..=1000).contains(&velocity.max_per_24h) {
            return Err("velocity.max_per_24h must be 1 to 1000".into());
        }
    }
    if let Some(age) = rules.new_account {
        if !(1..=24 * 365).contains(&age.min_age_hours) {
            return Err("new_account.min_age_hours must be 1 to 8760".into());
        }
    }
    Ok(rules)
}

/// What the rules look at, gathered by the withdrawal decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskFacts<'a> {
    pub player: &'a PlayerId,
    pub amount: i64,
    pub currency: &'a str,
    /// Cash deposited since the last paid withdrawal (or since registration).
    pub deposited_since_payout: i64,
    /// Stakes placed since the last paid withdrawal, less those rolled back.
    pub staked_since_payout: i64,
    /// Withdrawals the player requested in the 24 hours before this one.
    pub withdrawals_last_24h: u32,
    pub account_created_at: Timestamp,
    pub now: Timestamp,
    /// The player who first used this destination, if anyone did.
    pub destination_first_used_by: Option<&'a PlayerId>,
}

pub fn turnover(rule: &TurnoverRule, facts: &RiskFacts<'_>) -> bool {
    let required = i128::from(facts.deposited_since_payout) * i128::from(rule.min_turnover);
    i128::from(facts.staked_since_payout) < required
}

pub fn large_amount(thresholds: &BTreeMap<String, i64>, facts: &RiskFacts<'_>) -> bool {
    thresholds
        .get(facts.currency)
        .is_some_and(|threshold| facts.amount >= *threshold)
}

pub fn velocity(rule: &VelocityRule, facts: &RiskFacts<'_>) -> bool {
    // This request counts too: the rule fires on the (N+1)th request within 24 hours.
    facts.withdrawals_last_24h.saturating_add(1) > rule.max_per_24h
}

pub fn new_account(rule: &NewAccountRule, facts: &RiskFacts<'_>) -> bool {
    let age = facts
        .now
        .millis()
        .saturating_sub(facts.account_created_at.millis());
    age < i64::from(rule.min_age_hours) * HOUR_MS
}

pub fn shared_destination(rule: &SharedDestinationRule, facts: &RiskFacts<'_>) -> bool {
    rule.enabled
        && facts
            .destination_first_used_by
            .is_some_and(|first| first != facts.player)
}

/// Every rule that fires, in a stable order (the contract's order of the rules).
pub fn assess(rules: &RiskRules, facts: &RiskFacts<'_>) -> Vec<RiskReason> {
    let mut reasons = Vec::new();
    if rules.turnover.is_some_and(|r| turnover(&r, facts)) {
        reasons.push(RiskReason::Turnover);
    }
    if rules
        .large_amount
        .as_ref()
        .is_some_and(|t| large_amount(t, facts))
    {
        reasons.push(RiskReason::LargeAmount);
    }
    if rules.velocity.is_some_and(|r| velocity(&r, facts)) {
        reasons.push(RiskReason::Velocity);
    }
    if rules.new_account.is_some_and(|r| new_account(&r, facts)) {
        reasons.push(RiskReason::NewAccount);
    }
    if rules
        .shared_destination
        .is_some_and(|r| shared_destination(&r, facts))
    {
        reasons.push(RiskReason::SharedDestination);
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T0: Timestamp = Timestamp::from_millis(1_795_392_000_000);

    fn player() -> PlayerId {
        PlayerId::new("player-1").unwrap()
    }

    fn facts<'a>(player: &'a PlayerId) -> RiskFacts<'a> {
        RiskFacts {
            player,
            amount: 5_000,
            currency: "EUR",
            deposited_since_payout: 10_000,
            staked_since_payout: 10_000,
            withdrawals_last_24h: 0,
            account_created_at: T0,
            now: T0.plus_millis(48 * HOUR_MS),
            destination_first_used_by: None,
        }
    }

    fn rules() -> RiskRules {
        parse_rules(DEFAULT_RULES).unwrap()
    }

    #[test]
    fn nothing_fires_for_an_ordinary_withdrawal() {
        let p = player();
        assert_eq!(assess(&rules(), &facts(&p)), vec![]);
        assert_eq!(assess(&RiskRules::default(), &facts(&p)), vec![]);
    }

    #[test]
    fn each_rule_fires_on_its_own_fact() {
        let p = player();
        let other = PlayerId::new("player-2").unwrap();
        let cases: Vec<(RiskFacts<'_>, RiskReason)> = vec![
            (
                RiskFacts {
                    staked_since_payout: 9_999,
                    ..facts(&p)
                },
                RiskReason::Turnover,
            ),
            (
                RiskFacts {
                    amount: 100_000,
                    ..facts(&p)
                },
                RiskReason::LargeAmount,
            ),
            (
                RiskFacts {
                    withdrawals_last_24h: 3,
                    ..facts(&p)
                },
                RiskReason::Velocity,
            ),
            (
                RiskFacts {
                    now: T0.plus_millis(24 * HOUR_MS - 1),
                    ..facts(&p)
                },
                RiskReason::NewAccount,
            ),
            (
                RiskFacts {
                    destination_first_used_by: Some(&other),
                    ..facts(&p)
                },
                RiskReason::SharedDestination,
            ),
        ];
        for (f, reason) in cases {
            assert_eq!(assess(&rules(), &f), vec![reason]);
        }
        // Thresholds are inclusive where the contract says "at or above", exclusive where it
        // says "more than".
        let f = RiskFacts {
            amount: 99_999,
            withdrawals_last_24h: 2,
            now: T0.plus_millis(24 * HOUR_MS),
            destination_first_used_by: Some(&p),
            ..facts(&p)
        };
        assert_eq!(assess(&rules(), &f), vec![]);
        // A currency without a threshold never fires large_amount.
        let f = RiskFacts {
            currency: "CHF",
            amount: 10_i64.pow(12),
            ..facts(&p)
        };
        assert_eq!(assess(&rules(), &f), vec![]);
    }

    #[test]
    fn rules_are_validated() {
        assert!(parse_rules(DEFAULT_RULES).is_ok());
        assert_eq!(parse_rules("{}").unwrap(), RiskRules::default());
        for bad in [
            r#"{"turnover":{"min_turnover":0}}"#,
            r#"{"large_amount":{"eur":100}}"#,
            r#"{"large_amount":{"EUR":0}}"#,
            r#"{"velocity":{"max_per_24h":0}}"#,
            r#"{"new_account":{"min_age_hours":0}}"#,
            r#"{"unknown_rule":{}}"#,
            r#"{"turnover":{"min_turnover":1,"extra":1}}"#,
            "[]",
        ] {
            assert!(parse_rules(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        /// More of what a rule watches never removes its reason, less never adds it.
        #[test]
        fn rules_are_monotonic(
            amount in 1i64..1_000_000, extra in 0i64..1_000_000,
            deposited in 0i64..1_000_000, staked in 0i64..1_000_000,
            requests in 0u32..10, age_hours in 0i64..100,
        ) {
            let p = player();
            let base = RiskFacts {
                amount,
                deposited_since_payout: deposited,
                staked_since_payout: staked,
                withdrawals_last_24h: requests,
                now: T0.plus_millis(age_hours * HOUR_MS),
                ..facts(&p)
            };
            let r = rules();
            let reasons = assess(&r, &base);
            let bigger = RiskFacts { amount: amount + extra, ..base.clone() };
            if reasons.contains(&RiskReason::LargeAmount) {
                prop_assert!(assess(&r, &bigger).contains(&RiskReason::LargeAmount));
            }
            let more_staked = RiskFacts { staked_since_payout: staked + extra, ..base.clone() };
            if !reasons.contains(&RiskReason::Turnover) {
                prop_assert!(!assess(&r, &more_staked).contains(&RiskReason::Turnover));
            }
            let older = RiskFacts { now: base.now.plus_millis(extra), ..base.clone() };
            if !reasons.contains(&RiskReason::NewAccount) {
                prop_assert!(!assess(&r, &older).contains(&RiskReason::NewAccount));
            }
            let busier = RiskFacts { withdrawals_last_24h: requests + 1, ..base.clone() };
            if reasons.contains(&RiskReason::Velocity) {
                prop_assert!(assess(&r, &busier).contains(&RiskReason::Velocity));
            }
            // No rule configured: nothing ever fires.
            prop_assert!(assess(&RiskRules::default(), &base).is_empty());
        }
    }
}
