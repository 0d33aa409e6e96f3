//! Responsible-gambling deposit limits (WALLET-RULES "Deposits"): gross and rolling over
//! 24 hours, 7 days and 30 days; lowering applies at once, raising or removing only after
//! a 24-hour cooling-off period.

use crate::clock::{Timestamp, DAY_MS, HOUR_MS};
use serde::{Deserialize, Serialize};

/// How long a raise (or removal) of a limit waits before it takes effect.
pub const COOLING_OFF_MS: i64 = DAY_MS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitPeriod {
    Daily,
    Weekly,
    Monthly,
}

impl LimitPeriod {
    pub const ALL: [LimitPeriod; 3] = [
        LimitPeriod::Daily,
        LimitPeriod::Weekly,
        LimitPeriod::Monthly,
    ];

    /// The rolling window: 24 hours, 7 days, 30 days.
    pub fn window_ms(self) -> i64 {
        match self {
            LimitPeriod::Daily => DAY_MS,
            LimitPeriod::Weekly => 7 * DAY_MS,
            LimitPeriod::Monthly => 30 * DAY_MS,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LimitPeriod::Daily => "daily",
            LimitPeriod::Weekly => "weekly",
            LimitPeriod::Monthly => "monthly",
        }
    }

    /// The longest window: deposits older than this never count again.
    pub fn longest_window_ms() -> i64 {
        LimitPeriod::Monthly.window_ms()
    }
}

/// One value per period; `None` means no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitValues {
    pub daily: Option<i64>,
    pub weekly: Option<i64>,
    pub monthly: Option<i64>,
}

impl LimitValues {
    pub fn get(&self, period: LimitPeriod) -> Option<i64> {
        match period {
            LimitPeriod::Daily => self.daily,
            LimitPeriod::Weekly => self.weekly,
            LimitPeriod::Monthly => self.monthly,
        }
    }

    pub fn set(&mut self, period: LimitPeriod, value: Option<i64>) {
        match period {
            LimitPeriod::Daily => self.daily = value,
            LimitPeriod::Weekly => self.weekly = value,
            LimitPeriod::Monthly => self.monthly = value,
        }
    }
}

/// A raise or removal waiting for its cooling-off period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLimit {
    pub limit: LimitPeriod,
    /// The new value; `None` removes the limit.
    pub value: Option<i64>,
    pub effective_at: Timestamp,
}

/// What a request asks for one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitChange {
    Keep,
    Set(i64),
    Remove,
}

/// A request that changes nothing.
pub fn no_changes() -> [(LimitPeriod, LimitChange); 3] {
    LimitPeriod::ALL.map(|p| (p, LimitChange::Keep))
}

/// A player's limits: those in force and those waiting to take effect.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositLimits {
    pub current: LimitValues,
    #[serde(default)]
    pub pending: Vec<PendingLimit>,
}

impl DepositLimits {
    pub fn starting_with(current: LimitValues) -> DepositLimits {
        DepositLimits {
            current,
            pending: Vec::new(),
        }
    }

    /// The limits as they stand at `now`: pending changes whose time has come are in force.
    pub fn at(&self, now: Timestamp) -> DepositLimits {
        let mut current = self.current;
        let mut pending = Vec::new();
        for change in &self.pending {
            if change.effective_at <= now {
                current.set(change.limit, change.value);
            } else {
                pending.push(*change);
            }
        }
        DepositLimits { current, pending }
    }

    /// Applies a player's request made at `now`. A stricter value (or a first limit) is in
    /// force at once and cancels a pending raise of that period; a looser value or a
    /// removal waits [`COOLING_OFF_MS`]; asking for the value in force cancels any pending
    /// change of that period. The latest request for a period replaces an earlier one.
    pub fn change(
        &self,
        changes: [(LimitPeriod, LimitChange); 3],
        now: Timestamp,
    ) -> DepositLimits {
        let mut limits = self.at(now);
        for (period, change) in changes {
            let requested = match change {
                LimitChange::Keep => continue,
                LimitChange::Set(value) => Some(value),
                LimitChange::Remove => None,
            };
            limits.pending.retain(|p| p.limit != period);
            let in_force = limits.current.get(period);
            if is_stricter(requested, in_force) {
                limits.current.set(period, requested);
            } else if requested != in_force {
                limits.pending.push(PendingLimit {
                    limit: period,
                    value: requested,
                    effective_at: now.plus_millis(COOLING_OFF_MS),
                });
            }
        }
        limits.pending.sort_by_key(|p| p.limit);
        limits
    }
}

/// Whether `requested` is a stricter limit than `in_force` (`None` = no limit).
fn is_stricter(requested: Option<i64>, in_force: Option<i64>) -> bool {
    match (requested, in_force) {
        (Some(_), None) => true,
        (Some(new), Some(old)) => new < old,
        (None, _) => false,
    }
}

/// The deposits of one clock hour, as the limit windows remember them: the hour (Unix
/// milliseconds / one hour) and the gross amount deposited in it. Kept as a pair so the
/// account item stays small: at most [`MAX_BUCKETS`] of them, whatever the player does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositBucket(pub i64, pub i64);

impl DepositBucket {
    pub fn hour(self) -> i64 {
        self.0
    }

    pub fn amount(self) -> i64 {
        self.1
    }

    /// When the bucket's hour ends.
    fn end(self) -> Timestamp {
        Timestamp::from_millis(self.0.saturating_add(1).saturating_mul(HOUR_MS))
    }
}

/// The most buckets an account can hold: every hour of the longest window, plus the hour
/// that straddles its start.
pub const MAX_BUCKETS: usize = (30 * 24 + 1) as usize;

fn hour_of(at: Timestamp) -> i64 {
    at.millis().div_euclid(HOUR_MS)
}

/// A deposit that would take a window over its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitBreach {
    pub period: LimitPeriod,
    pub limit: i64,
    /// Already deposited inside the window.
    pub used: i64,
}

impl LimitBreach {
    pub fn remaining(&self) -> i64 {
        self.limit.saturating_sub(self.used).max(0)
    }
}

/// Sum of the deposits inside the window that ends at `now`, counted by whole hours and
/// erring toward the limit: an hour that overlaps the window counts whole, so a deposit is
/// counted for up to one hour longer than the window, never shorter.
pub fn deposited_within(buckets: &[DepositBucket], period: LimitPeriod, now: Timestamp) -> i64 {
    let start = now.minus_millis(period.window_ms());
    buckets
        .iter()
        .filter(|b| b.end() > start)
        .fold(0i64, |sum, b| sum.saturating_add(b.amount()))
}

/// Checks a deposit of `amount` at `now` against every limit in force. Returns the
/// tightest breach (the first period in daily, weekly, monthly order) if any.
pub fn check_deposit(
    limits: &LimitValues,
    buckets: &[DepositBucket],
    amount: i64,
    now: Timestamp,
) -> Result<(), LimitBreach> {
    for period in LimitPeriod::ALL {
        if let Some(limit) = limits.get(period) {
            let used = deposited_within(buckets, period, now);
            if used.saturating_add(amount) > limit {
                return Err(LimitBreach {
                    period,
                    limit,
                    used,
                });
            }
        }
    }
    Ok(())
}

/// The buckets after a deposit of `amount` at `now`: hours that can no longer count in any
/// window are dropped, and the amount is added to its hour. Never more than
/// [`MAX_BUCKETS`], sorted by hour.
pub fn record_deposit(
    buckets: &[DepositBucket],
    amount: i64,
    now: Timestamp,
) -> Vec<DepositBucket> {
    let start = now.minus_millis(LimitPeriod::longest_window_ms());
    let hour = hour_of(now);
    let mut kept: Vec<DepositBucket> = buckets
        .iter()
        .copied()
        .filter(|b| b.end() > start)
        .collect();
    match kept.iter_mut().find(|b| b.hour() == hour) {
        Some(bucket) => bucket.1 = bucket.1.saturating_add(amount),
        None => kept.push(DepositBucket(hour, amount)),
    }
    kept.sort_by_key(|b| b.hour());
    // Only reachable with buckets ahead of `now` (decisions never move an account's clock
    // back, see `deposit`): keep the newest.
    let excess = kept.len().saturating_sub(MAX_BUCKETS);
    kept.drain(..excess);
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T0: Timestamp = Timestamp::from_millis(1_795_392_000_000);

    fn limits(daily: Option<i64>, weekly: Option<i64>, monthly: Option<i64>) -> DepositLimits {
        DepositLimits::starting_with(LimitValues {
            daily,
            weekly,
            monthly,
        })
    }

    fn only(period: LimitPeriod, change: LimitChange) -> [(LimitPeriod, LimitChange); 3] {
        LimitPeriod::ALL.map(|p| {
            (
                p,
                if p == period {
                    change
                } else {
                    LimitChange::Keep
                },
            )
        })
    }

    #[test]
    fn lowering_applies_at_once() {
        let l = limits(Some(1000), None, None)
            .change(only(LimitPeriod::Daily, LimitChange::Set(500)), T0);
        assert_eq!(l.current.daily, Some(500));
        assert!(l.pending.is_empty());
    }

    #[test]
    fn a_first_limit_is_stricter_than_none_and_applies_at_once() {
        let l =
            limits(None, None, None).change(only(LimitPeriod::Weekly, LimitChange::Set(7000)), T0);
        assert_eq!(l.current.weekly, Some(7000));
        assert!(l.pending.is_empty());
    }

    #[test]
    fn raising_waits_24_hours() {
        let l = limits(Some(1000), None, None)
            .change(only(LimitPeriod::Daily, LimitChange::Set(5000)), T0);
        assert_eq!(l.current.daily, Some(1000));
        assert_eq!(
            l.pending,
            vec![PendingLimit {
                limit: LimitPeriod::Daily,
                value: Some(5000),
                effective_at: T0.plus_millis(24 * HOUR_MS)
            }]
        );
        assert_eq!(
            l.at(T0.plus_millis(24 * HOUR_MS - 1)).current.daily,
            Some(1000)
        );
        let later = l.at(T0.plus_millis(24 * HOUR_MS));
        assert_eq!(later.current.daily, Some(5000));
        assert!(later.pending.is_empty());
    }

    #[test]
    fn removing_waits_24_hours() {
        let l = limits(None, None, Some(9000))
            .change(only(LimitPeriod::Monthly, LimitChange::Remove), T0);
        assert_eq!(l.current.monthly, Some(9000));
        assert_eq!(l.pending.len(), 1);
        assert_eq!(l.pending[0].value, None);
        assert_eq!(l.at(T0.plus_millis(DAY_MS)).current.monthly, None);
    }

    #[test]
    fn lowering_cancels_a_pending_raise() {
        let raised = limits(Some(1000), None, None)
            .change(only(LimitPeriod::Daily, LimitChange::Set(5000)), T0);
        let lowered = raised.change(
            only(LimitPeriod::Daily, LimitChange::Set(800)),
            T0.plus_millis(HOUR_MS),
        );
        assert_eq!(lowered.current.daily, Some(800));
        assert!(lowered.pending.is_empty());
    }

    #[test]
    fn asking_for_the_value_in_force_cancels_a_pending_change() {
        let raised = limits(Some(1000), None, None)
            .change(only(LimitPeriod::Daily, LimitChange::Set(5000)), T0);
        let kept = raised.change(
            only(LimitPeriod::Daily, LimitChange::Set(1000)),
            T0.plus_millis(HOUR_MS),
        );
        assert_eq!(kept.current.daily, Some(1000));
        assert!(kept.pending.is_empty());
    }

    #[test]
    fn a_later_raise_restarts_the_cooling_off() {
        let first = limits(Some(1000), None, None)
            .change(only(LimitPeriod::Daily, LimitChange::Set(5000)), T0);
        let second = first.change(
            only(LimitPeriod::Daily, LimitChange::Set(3000)),
            T0.plus_millis(HOUR_MS),
        );
        assert_eq!(second.pending.len(), 1);
        assert_eq!(second.pending[0].value, Some(3000));
        assert_eq!(second.pending[0].effective_at, T0.plus_millis(25 * HOUR_MS));
    }

    #[test]
    fn keep_leaves_other_periods_alone() {
        let l = limits(Some(1), Some(2), Some(3))
            .change(only(LimitPeriod::Weekly, LimitChange::Set(1)), T0);
        assert_eq!(
            l.current,
            LimitValues {
                daily: Some(1),
                weekly: Some(1),
                monthly: Some(3)
            }
        );
    }

    fn at(hours_before: i64, minutes: i64) -> Timestamp {
        T0.minus_millis(hours_before * HOUR_MS)
            .plus_millis(minutes * 60_000)
    }

    #[test]
    fn windows_count_whole_hours_erring_toward_the_limit() {
        // T0 is on the hour. The hour that ended exactly 24 h ago has left the window.
        let mut b = record_deposit(&[], 100, at(25, 0));
        b = record_deposit(&b, 1000, at(25, 30));
        assert_eq!(deposited_within(&b, LimitPeriod::Daily, T0), 0);
        // Half past the hour, a deposit made 23 h 50 min before the hour has left the exact
        // window (which starts 23 h 30 min before it), but its hour overlaps the window: it
        // still counts, erring toward the limit.
        let now = T0.plus_millis(30 * 60_000);
        let mut b = record_deposit(&[], 1, at(6 * 24, 0));
        b = record_deposit(&b, 10, at(24, 10));
        assert_eq!(deposited_within(&b, LimitPeriod::Daily, now), 10);
        assert_eq!(deposited_within(&b, LimitPeriod::Weekly, now), 11);
        // Once that hour has ended a full day ago, it no longer counts.
        assert_eq!(
            deposited_within(&b, LimitPeriod::Daily, T0.plus_millis(HOUR_MS)),
            0
        );
    }

    #[test]
    fn deposits_of_one_hour_share_a_bucket() {
        let mut b = Vec::new();
        for minute in 0..60 {
            b = record_deposit(&b, 5, at(1, minute));
        }
        assert_eq!(b, vec![DepositBucket(hour_of(at(1, 0)), 300)]);
    }

    #[test]
    fn a_deposit_over_any_limit_is_refused_whole() {
        let values = LimitValues {
            daily: Some(100),
            weekly: Some(150),
            monthly: None,
        };
        let recent = record_deposit(&[], 100, T0.minus_millis(2 * DAY_MS));
        assert_eq!(check_deposit(&values, &recent, 50, T0), Ok(()));
        let breach = check_deposit(&values, &recent, 51, T0).unwrap_err();
        assert_eq!(breach.period, LimitPeriod::Weekly);
        assert_eq!(breach.remaining(), 50);
        assert_eq!(check_deposit(&values, &[], 100, T0), Ok(()));
        assert_eq!(
            check_deposit(&values, &[], 101, T0).unwrap_err().period,
            LimitPeriod::Daily
        );
    }

    #[test]
    fn old_hours_are_dropped_and_the_count_is_bounded() {
        let b = record_deposit(&[], 1, T0.minus_millis(31 * DAY_MS));
        let b = record_deposit(&b, 2, T0);
        assert_eq!(b, vec![DepositBucket(hour_of(T0), 2)]);
        // A deposit every 10 minutes for 60 days.
        let mut b = Vec::new();
        let mut now = T0;
        for _ in 0..(60 * 24 * 6) {
            now = now.plus_millis(10 * 60_000);
            b = record_deposit(&b, 1, now);
            assert!(b.len() <= MAX_BUCKETS);
        }
        assert_eq!(b.len(), MAX_BUCKETS);
    }

    fn change_strategy() -> impl Strategy<Value = LimitChange> {
        prop_oneof![
            Just(LimitChange::Keep),
            Just(LimitChange::Remove),
            (1i64..10_000).prop_map(LimitChange::Set)
        ]
    }

    proptest! {
        /// Whatever the sequence of requests: a request never loosens the limit in force,
        /// a stricter request is in force at once, and a looser value only comes into
        /// force once someone asked for it at least 24 hours earlier.
        #[test]
        fn never_loosened_without_cooling_off(
            steps in proptest::collection::vec((0i64..(2 * DAY_MS), change_strategy()), 1..40)
        ) {
            let mut now = T0;
            let mut l = DepositLimits::default();
            let mut in_force: Option<i64> = None;
            let mut requests: Vec<(Timestamp, Option<i64>)> = Vec::new();
            for (advance, change) in steps {
                now = now.plus_millis(advance);
                let before = l.at(now).current.daily;
                if is_stricter(in_force, before) {
                    prop_assert!(
                        requests.iter().any(|(at, v)| *v == before && now.millis() - at.millis() >= DAY_MS),
                        "loosened from {:?} to {:?} without a request 24 h earlier", in_force, before
                    );
                }
                l = l.change(only(LimitPeriod::Daily, change), now);
                let after = l.current.daily;
                prop_assert!(!is_stricter(before, after), "a request loosened {:?} to {:?} at once", before, after);
                match change {
                    LimitChange::Set(v) => {
                        if is_stricter(Some(v), before) {
                            prop_assert_eq!(after, Some(v));
                        }
                        requests.push((now, Some(v)));
                    }
                    LimitChange::Remove => requests.push((now, None)),
                    LimitChange::Keep => {}
                }
                in_force = after;
            }
        }

        /// Accepted deposits never take any window over its limit, counted exactly (every
        /// deposit with its own time), and the buckets stay bounded.
        #[test]
        fn accepted_deposits_respect_every_window(
            daily in 1i64..5_000, weekly in 1i64..20_000, monthly in 1i64..60_000,
            deposits in proptest::collection::vec((0i64..(3 * DAY_MS), 1i64..2_000), 1..80)
        ) {
            let values = LimitValues { daily: Some(daily), weekly: Some(weekly), monthly: Some(monthly) };
            let mut now = T0;
            let mut buckets: Vec<DepositBucket> = Vec::new();
            let mut exact: Vec<(Timestamp, i64)> = Vec::new();
            for (advance, amount) in deposits {
                now = now.plus_millis(advance);
                if check_deposit(&values, &buckets, amount, now).is_ok() {
                    buckets = record_deposit(&buckets, amount, now);
                    exact.push((now, amount));
                }
                prop_assert!(buckets.len() <= MAX_BUCKETS);
                for (period, limit) in [(LimitPeriod::Daily, daily), (LimitPeriod::Weekly, weekly), (LimitPeriod::Monthly, monthly)] {
                    let start = now.minus_millis(period.window_ms());
                    let used: i64 = exact.iter().filter(|(at, _)| *at > start).map(|(_, a)| a).sum();
                    prop_assert!(used <= limit, "{:?}: {} over {}", period, used, limit);
                    prop_assert!(deposited_within(&buckets, period, now) >= used, "the buckets never count less");
                }
            }
        }
    }
}
