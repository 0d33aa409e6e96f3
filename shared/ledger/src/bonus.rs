//! Bonuses (WALLET-RULES "Bonuses"): campaigns are configuration; a player gets a campaign
//! at most once (never while excluded or disabled); every stake reduces
//! `wagering_remaining` when its bet closes as won or lost (never when rolled back), and at
//! 0 the remaining bonus converts to cash in one entry; a player may forfeit a bonus at any time (cash stays), and
//! expiry forfeits the same way.

use crate::account::Account;
pub use crate::account::ActiveBonus;
use crate::clock::{Timestamp, DAY_MS};
use crate::entry::{EntryKind, LedgerEntry};
use crate::error::WalletError;
use crate::events::{self, EventKind, ForfeitReason, WalletEvent};
use crate::ids::{ClientId, PlayerId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The highest wagering requirement a campaign may set: 10× the bonus (the UK cap since 2026).
pub const MAX_WAGERING_MULTIPLIER: u32 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The player's first successful deposit (`DepositCompleted` with `first_deposit`).
    FirstDeposit,
}

/// One campaign, as configured (`BONUS_CAMPAIGNS`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Campaign {
    pub campaign_id: String,
    pub trigger: Trigger,
    /// The bonus as a percentage of the triggering deposit.
    pub match_percent: u32,
    /// The largest bonus, per currency; a currency not listed gets no bonus.
    pub cap: BTreeMap<String, i64>,
    pub wagering_multiplier: u32,
    /// The largest stake while the bonus is being wagered, per currency.
    pub max_stake: BTreeMap<String, i64>,
    pub expiry_days: u32,
}

/// Parses and validates the campaigns configuration (a JSON array).
pub fn parse_campaigns(json: &str) -> Result<Vec<Campaign>, String> {
    let campaigns: Vec<Campaign> =
        serde_json::from_str(json).map_err(|e| format!("not a list of campaigns: {e}"))?;
    let mut seen = std::collections::BTreeSet::new();
    for c in &campaigns {
        let name = &c.campaign_id;
        ClientId::new(name).map_err(|m| format!("campaign id {name:?} {m}"))?;
        if !seen.insert(name.clone()) {
            return Err(format!("campaign {name} is configured twice"));
        }
        if !(1..=1000).contains(&c.match_percent) {
            return Err(format!("campaign {name}: match_percent must be 1 to 1000"));
        }
        if !(1..=MAX_WAGERING_MULTIPLIER).contains(&c.wagering_multiplier) {
            return Err(format!(
                "campaign {name}: wagering_multiplier must be 1 to {MAX_WAGERING_MULTIPLIER}"
            ));
        }
        if !(1..=365).contains(&c.expiry_days) {
            return Err(format!("campaign {name}: expiry_days must be 1 to 365"));
        }
        for (what, table) in [("cap", &c.cap), ("max_stake", &c.max_stake)] {
            for (currency, value) in table {
                crate::money::Currency::new(currency)
                    .map_err(|m| format!("campaign {name}: {what} {currency}: {m}"))?;
                if !(1..=crate::money::MAX_AMOUNT).contains(value) {
                    return Err(format!(
                        "campaign {name}: {what} {currency} must be 1 to 10^12"
                    ));
                }
            }
        }
    }
    Ok(campaigns)
}

/// The permanent record that a player received a campaign (at most once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BonusGrant {
    pub player_id: PlayerId,
    pub campaign_id: String,
    /// The event that triggered it (e.g. `DepositCompleted:<deposit id>`).
    pub trigger_event_id: String,
    pub amount: i64,
    pub awarded_at: Timestamp,
    /// Set when the trigger was consumed without a bonus: the player was excluded or
    /// disabled (WALLET-RULES: the bonus does not arrive later either).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declined: Option<String>,
}

/// What a campaign's trigger gives a player.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Award {
    Granted(Box<AwardDecision>),
    /// The player may not receive bonuses (excluded or disabled): the grant is recorded
    /// with amount 0 and the reason, so a redelivered trigger gives nothing either.
    Declined(BonusGrant),
    /// Nothing now (another bonus is active, no cap for the currency, a bonus of 0).
    Nothing,
}

/// The deposit a campaign reacts to, as its event describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggeringDeposit {
    pub event_id: String,
    pub deposit_id: String,
    pub amount: i64,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwardDecision {
    pub account: Account,
    pub entry: LedgerEntry,
    pub grant: BonusGrant,
    pub active: ActiveBonus,
}

/// The award of `campaign` for `deposit`: granted, declined (an excluded or disabled
/// player), or nothing (no cap for the currency, a bonus of 0, another bonus still active).
pub fn award(
    account: &Account,
    campaign: &Campaign,
    deposit: &TriggeringDeposit,
    now: Timestamp,
) -> Result<Award, WalletError> {
    let status = account.status(now);
    if status != crate::account::AccountStatus::Active {
        return Ok(Award::Declined(BonusGrant {
            player_id: account.player_id.clone(),
            campaign_id: campaign.campaign_id.clone(),
            trigger_event_id: deposit.event_id.clone(),
            amount: 0,
            awarded_at: now,
            declined: Some(format!("the player is {status:?}").to_lowercase()),
        }));
    }
    if deposit.currency != account.currency.as_str() || account.active_bonus.is_some() {
        return Ok(Award::Nothing);
    }
    let Some(cap) = campaign.cap.get(&deposit.currency) else {
        return Ok(Award::Nothing);
    };
    let matched = i128::from(deposit.amount) * i128::from(campaign.match_percent) / 100;
    let bonus = i64::try_from(matched.min(i128::from(*cap))).unwrap_or(*cap);
    if bonus <= 0 {
        return Ok(Award::Nothing);
    }
    let reference = format!("{}:award", campaign.campaign_id);
    let (mut next, entry) = account.post(EntryKind::BonusAward, 0, bonus, &reference, now)?;
    let wagering_required = bonus.saturating_mul(i64::from(campaign.wagering_multiplier));
    let active = ActiveBonus {
        campaign_id: campaign.campaign_id.clone(),
        awarded: bonus,
        wagering_required,
        expires_at: entry
            .created_at
            .plus_millis(i64::from(campaign.expiry_days) * DAY_MS),
    };
    next.wagering_remaining = wagering_required;
    next.max_stake_while_wagering = campaign.max_stake.get(&deposit.currency).copied();
    next.active_bonus = Some(active.clone());
    Ok(Award::Granted(Box::new(AwardDecision {
        grant: BonusGrant {
            player_id: account.player_id.clone(),
            campaign_id: campaign.campaign_id.clone(),
            trigger_event_id: deposit.event_id.clone(),
            amount: bonus,
            awarded_at: entry.created_at,
            declined: None,
        },
        account: next,
        entry,
        active,
    })))
}

impl AwardDecision {
    /// `BonusAwarded`: a campaign is awarded at most once per player, so the pair names it.
    pub fn events(&self, correlation_id: &str) -> Vec<WalletEvent> {
        vec![events::bonus_awarded(
            &self.grant.player_id,
            &self.grant.campaign_id,
            self.entry.created_at,
            correlation_id,
            EventKind::BonusAwarded {
                campaign_id: self.grant.campaign_id.clone(),
                amount: self.grant.amount,
                currency: self.account.currency.to_string(),
                wagering_required: self.active.wagering_required,
                expires_at: self.active.expires_at.to_rfc3339(),
            },
        )]
    }
}

/// A bonus leaving the wallet's bonus balance: released to cash, or forfeited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BonusEnd {
    pub account: Account,
    pub entry: Option<LedgerEntry>,
    pub campaign_id: String,
    pub amount: i64,
}

impl BonusEnd {
    /// The forfeit as a bonus change (its entry, campaign and amount) with `reason`.
    pub fn forfeited(&self, reason: ForfeitReason) -> BonusChange {
        BonusChange {
            entry: self.entry.clone(),
            campaign_id: self.campaign_id.clone(),
            amount: self.amount,
            forfeited: Some(reason),
        }
    }

    /// The event of a forfeit for `reason` at `at`.
    pub fn events(
        &self,
        reason: ForfeitReason,
        at: Timestamp,
        correlation_id: &str,
    ) -> Vec<WalletEvent> {
        vec![self.forfeited(reason).event(
            &self.account.player_id,
            self.account.version,
            at,
            correlation_id,
        )]
    }
}

/// The campaign named on a bonus balance no campaign is active for (e.g. a win credited to
/// bonus after its bonus ended).
pub const UNATTRIBUTED: &str = "unattributed";

fn end_bonus(
    account: &Account,
    kind: EntryKind,
    now: Timestamp,
) -> Result<Option<BonusEnd>, WalletError> {
    let campaign_id = match (&account.active_bonus, kind) {
        (Some(active), _) => active.campaign_id.clone(),
        (None, EntryKind::BonusForfeit) if account.bonus > 0 => UNATTRIBUTED.to_string(),
        (None, _) => return Ok(None),
    };
    let amount = account.bonus;
    let (cash, suffix) = if kind == EntryKind::BonusRelease {
        (amount, "release")
    } else {
        (0, "forfeit")
    };
    let (mut next, entry) = if amount > 0 {
        // The position makes the reference unique within the wallet (a player may end
        // several bonuses of the unattributed kind).
        let reference = format!("{campaign_id}:{suffix}:{}", account.seq.saturating_add(1));
        let (next, entry) = account.post(kind, cash, -amount, &reference, now)?;
        (next, Some(entry))
    } else {
        (account.touched(), None)
    };
    next.wagering_remaining = 0;
    next.max_stake_while_wagering = None;
    next.active_bonus = None;
    Ok(Some(BonusEnd {
        account: next,
        entry,
        campaign_id,
        amount,
    }))
}

/// Wagering reached 0: the remaining bonus converts to cash in one entry.
pub fn release(account: &Account, now: Timestamp) -> Result<Option<BonusEnd>, WalletError> {
    end_bonus(account, EntryKind::BonusRelease, now)
}

/// The bonus goes, cash stays: on the player's request, or at expiry.
pub fn forfeit(account: &Account, now: Timestamp) -> Result<Option<BonusEnd>, WalletError> {
    end_bonus(account, EntryKind::BonusForfeit, now)
}

/// A closed bet's stake counts toward wagering: only if the bet closed as won or lost, and
/// only toward the bonus it was placed under (`wagering_for`) while that bonus is still
/// being wagered. At 0 the remaining bonus converts to cash. `None`: nothing to count.
pub fn count_wagering(
    account: &Account,
    wagering_for: Option<&str>,
    stake: i64,
    now: Timestamp,
) -> Result<Option<(Account, Option<BonusChange>)>, WalletError> {
    let counts = match (&account.active_bonus, wagering_for) {
        (Some(active), Some(campaign)) => {
            active.campaign_id == campaign && account.wagering_remaining > 0 && stake > 0
        }
        _ => false,
    };
    if !counts {
        return Ok(None);
    }
    let mut next = account.touched();
    next.wagering_remaining = account.wagering_remaining.saturating_sub(stake).max(0);
    if next.wagering_remaining > 0 {
        return Ok(Some((next, None)));
    }
    match release(&next, now)? {
        Some(end) => {
            let change = BonusChange {
                entry: end.entry.clone(),
                campaign_id: end.campaign_id.clone(),
                amount: end.amount,
                forfeited: None,
            };
            Ok(Some((end.account, Some(change))))
        }
        None => Ok(Some((next, None))),
    }
}

/// A bonus that ended as part of a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BonusChange {
    pub entry: Option<LedgerEntry>,
    pub campaign_id: String,
    pub amount: i64,
    /// `None`: released to cash (wagering done); `Some(reason)`: forfeited.
    pub forfeited: Option<ForfeitReason>,
}

impl BonusChange {
    /// `BonusReleased` or `BonusForfeited`, named by the wallet version the change wrote.
    pub fn event(
        &self,
        player: &PlayerId,
        version: u64,
        at: Timestamp,
        correlation_id: &str,
    ) -> WalletEvent {
        let kind = match self.forfeited {
            None => EventKind::BonusReleased {
                campaign_id: self.campaign_id.clone(),
                amount: self.amount,
            },
            Some(reason) => EventKind::BonusForfeited {
                campaign_id: self.campaign_id.clone(),
                amount: self.amount,
                reason,
            },
        };
        events::bonus_ended(player, &self.campaign_id, version, at, correlation_id, kind)
    }
}

/// The events of a decision's bonus changes, in order, each named by `version`.
pub fn change_events(
    changes: &[BonusChange],
    player: &PlayerId,
    version: u64,
    at: Timestamp,
    correlation_id: &str,
) -> Vec<WalletEvent> {
    changes
        .iter()
        .map(|change| change.event(player, version, at, correlation_id))
        .collect()
}

/// Every entry a decision writes: its bonus changes' and its own, in sequence order.
pub fn entries_in_order<'a>(
    changes: &'a [BonusChange],
    entry: Option<&'a LedgerEntry>,
) -> Vec<&'a LedgerEntry> {
    let mut entries: Vec<&LedgerEntry> = changes
        .iter()
        .filter_map(|c| c.entry.as_ref())
        .chain(entry)
        .collect();
    entries.sort_by_key(|e| e.seq);
    entries
}

/// Forfeit on next touch: every money operation first forfeits a bonus that has expired,
/// in its own transaction. The account to decide on, and the change if there was one.
pub fn expire_first(
    account: &Account,
    now: Timestamp,
) -> Result<(Account, Option<BonusChange>), WalletError> {
    match expire(account, now)? {
        Some((end, reason)) => {
            let change = BonusChange {
                entry: end.entry.clone(),
                campaign_id: end.campaign_id.clone(),
                amount: end.amount,
                forfeited: Some(reason),
            };
            Ok((end.account, Some(change)))
        }
        None => Ok((account.clone(), None)),
    }
}

/// The forfeit an expired bonus owes, if it has expired at `now`.
pub fn expire(
    account: &Account,
    now: Timestamp,
) -> Result<Option<(BonusEnd, ForfeitReason)>, WalletError> {
    match &account.active_bonus {
        Some(active) if active.expires_at <= now => {
            Ok(forfeit(account, now)?.map(|end| (end, ForfeitReason::Expired)))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::fixtures::{account, T0};

    pub const FIRST_DEPOSIT: &str = r#"[{"campaign_id":"first-deposit-match","trigger":"first_deposit","match_percent":100,"cap":{"EUR":10000},"wagering_multiplier":10,"max_stake":{"EUR":500},"expiry_days":30}]"#;

    fn campaign() -> Campaign {
        parse_campaigns(FIRST_DEPOSIT).unwrap().remove(0)
    }

    fn deposit(amount: i64) -> TriggeringDeposit {
        TriggeringDeposit {
            event_id: "DepositCompleted:d1".into(),
            deposit_id: "d1".into(),
            amount,
            currency: "EUR".into(),
        }
    }

    fn granted(award: Result<Award, WalletError>) -> AwardDecision {
        match award.unwrap() {
            Award::Granted(decision) => *decision,
            other => panic!("not granted: {other:?}"),
        }
    }

    fn funded(cash: i64) -> Account {
        let mut a = account();
        a.cash = cash;
        a
    }

    #[test]
    fn the_first_campaign_matches_100_percent_up_to_the_cap_with_10x_wagering() {
        let d = granted(award(&funded(5000), &campaign(), &deposit(5000), T0));
        assert_eq!(
            (d.account.bonus, d.account.wagering_remaining),
            (5000, 50_000)
        );
        assert_eq!(d.account.max_stake_while_wagering, Some(500));
        assert_eq!(d.active.expires_at, T0.plus_millis(30 * DAY_MS));
        assert_eq!(
            (d.entry.kind, d.entry.bonus_delta, d.entry.cash_delta),
            (EntryKind::BonusAward, 5000, 0)
        );
        let capped = granted(award(&funded(50_000), &campaign(), &deposit(50_000), T0));
        assert_eq!(capped.account.bonus, 10_000);
    }

    #[test]
    fn no_award_without_a_cap_for_the_currency_or_with_a_bonus_active() {
        let mut d = deposit(5000);
        d.currency = "GBP".into();
        assert_eq!(
            award(&funded(0), &campaign(), &d, T0).unwrap(),
            Award::Nothing
        );
        let awarded = granted(award(&funded(5000), &campaign(), &deposit(5000), T0));
        assert_eq!(
            award(&awarded.account, &campaign(), &deposit(5000), T0).unwrap(),
            Award::Nothing
        );
    }

    #[test]
    fn campaigns_are_validated() {
        assert!(parse_campaigns(FIRST_DEPOSIT).is_ok());
        for bad in [
            FIRST_DEPOSIT.replace("\"wagering_multiplier\":10", "\"wagering_multiplier\":11"),
            FIRST_DEPOSIT.replace("\"EUR\":10000", "\"eur\":10000"),
            FIRST_DEPOSIT.replace("\"match_percent\":100", "\"match_percent\":0"),
            FIRST_DEPOSIT.replace("\"expiry_days\":30", "\"expiry_days\":0"),
            FIRST_DEPOSIT.replace("\"trigger\":\"first_deposit\"", "\"trigger\":\"birthday\""),
            FIRST_DEPOSIT.replace("}]", ",\"extra\":1}]"),
            format!("[{0},{0}]", &FIRST_DEPOSIT[1..FIRST_DEPOSIT.len() - 1]),
            "{}".into(),
        ] {
            assert!(parse_campaigns(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn release_converts_the_remaining_bonus_to_cash_in_one_entry() {
        let mut a = granted(award(&funded(1000), &campaign(), &deposit(1000), T0)).account;
        a.bonus = 700;
        let end = release(&a, T0).unwrap().unwrap();
        assert_eq!(
            (end.account.cash, end.account.bonus, end.amount),
            (1700, 0, 700)
        );
        assert_eq!(end.entry.unwrap().kind, EntryKind::BonusRelease);
        assert_eq!(
            (
                end.account.wagering_remaining,
                end.account.active_bonus.is_none()
            ),
            (0, true)
        );
    }

    #[test]
    fn forfeit_removes_the_bonus_and_keeps_cash() {
        let a = granted(award(&funded(1000), &campaign(), &deposit(1000), T0)).account;
        let end = forfeit(&a, T0).unwrap().unwrap();
        assert_eq!((end.account.cash, end.account.bonus), (1000, 0));
        assert_eq!(end.entry.unwrap().bonus_delta, -1000);
        assert_eq!(
            forfeit(&end.account, T0).unwrap(),
            None,
            "nothing left to forfeit"
        );
        let mut stray = end.account.clone();
        stray.bonus = 40;
        let cleared = forfeit(&stray, T0).unwrap().unwrap();
        assert_eq!(
            (cleared.account.bonus, cleared.campaign_id.as_str()),
            (0, UNATTRIBUTED),
            "a bonus balance without a campaign can be forfeited too"
        );
    }

    #[test]
    fn a_bonus_expires_after_its_days() {
        let a = granted(award(&funded(1000), &campaign(), &deposit(1000), T0)).account;
        assert_eq!(expire(&a, T0.plus_millis(30 * DAY_MS - 1)).unwrap(), None);
        let (end, reason) = expire(&a, T0.plus_millis(30 * DAY_MS)).unwrap().unwrap();
        assert_eq!((end.account.bonus, reason), (0, ForfeitReason::Expired));
    }

    #[test]
    fn excluded_or_disabled_players_are_declined_and_the_trigger_consumed() {
        let mut excluded = funded(5000);
        excluded.exclusion = Some(crate::exclusion::Exclusion {
            kind: crate::exclusion::ExclusionKind::SelfExclusion,
            days: 200,
            started_at: T0,
            until: T0.plus_millis(200 * DAY_MS),
        });
        let mut disabled = funded(5000);
        disabled.disabled = true;
        for (who, account) in [("excluded", excluded), ("disabled", disabled)] {
            let Award::Declined(grant) = award(&account, &campaign(), &deposit(5000), T0).unwrap()
            else {
                panic!("{who} was not declined");
            };
            assert_eq!(grant.amount, 0, "{who}");
            assert_eq!(
                grant.declined.as_deref(),
                Some(format!("the player is {who}").as_str())
            );
        }
    }

    #[test]
    fn only_a_closed_bets_stake_counts_toward_its_own_bonus() {
        let a = granted(award(&funded(1000), &campaign(), &deposit(1000), T0)).account;
        assert_eq!(a.wagering_remaining, 10_000);
        let (after, release) = count_wagering(&a, Some("first-deposit-match"), 400, T0)
            .unwrap()
            .unwrap();
        assert_eq!((after.wagering_remaining, release), (9_600, None));
        assert_eq!(after.version, a.version + 1);
        // A stake placed under no bonus, or under another one, counts for nothing.
        assert_eq!(count_wagering(&a, None, 400, T0).unwrap(), None);
        assert_eq!(count_wagering(&a, Some("another"), 400, T0).unwrap(), None);
        // The last stake releases what is left as cash.
        let (done, release) = count_wagering(&after, Some("first-deposit-match"), 20_000, T0)
            .unwrap()
            .unwrap();
        let release = release.expect("released");
        assert_eq!((release.amount, release.forfeited), (1000, None));
        assert_eq!(
            (done.cash, done.bonus, done.wagering_remaining),
            (2000, 0, 0)
        );
        assert!(done.active_bonus.is_none());
    }
}
