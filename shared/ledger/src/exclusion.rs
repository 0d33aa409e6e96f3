//! Time-outs and self-exclusion (API.md "exclusion"): immediate, never shortened.

use crate::clock::{Timestamp, DAY_MS};
use crate::error::FieldError;
use serde::{Deserialize, Serialize};

pub const TIME_OUT_DAYS: [u32; 4] = [1, 7, 30, 42];
pub const SELF_EXCLUSION_MIN_DAYS: u32 = 183;
/// Ten years: the longest self-exclusion the product offers.
pub const SELF_EXCLUSION_MAX_DAYS: u32 = 3650;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExclusionKind {
    TimeOut,
    SelfExclusion,
}

impl ExclusionKind {
    pub fn parse(value: &str) -> Result<ExclusionKind, FieldError> {
        match value {
            "time_out" => Ok(ExclusionKind::TimeOut),
            "self_exclusion" => Ok(ExclusionKind::SelfExclusion),
            _ => Err(FieldError::new(
                "/kind",
                "must be time_out or self_exclusion",
            )),
        }
    }

    pub fn check_days(self, days: i64) -> Result<u32, FieldError> {
        let valid = match self {
            ExclusionKind::TimeOut => TIME_OUT_DAYS.iter().any(|d| i64::from(*d) == days),
            ExclusionKind::SelfExclusion => (i64::from(SELF_EXCLUSION_MIN_DAYS)
                ..=i64::from(SELF_EXCLUSION_MAX_DAYS))
                .contains(&days),
        };
        match (valid, u32::try_from(days)) {
            (true, Ok(days)) => Ok(days),
            _ => Err(FieldError::new(
                "/days",
                match self {
                    ExclusionKind::TimeOut => "a time-out lasts 1, 7, 30 or 42 days".to_string(),
                    ExclusionKind::SelfExclusion => format!(
                        "a self-exclusion lasts {SELF_EXCLUSION_MIN_DAYS} to {SELF_EXCLUSION_MAX_DAYS} days"
                    ),
                },
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exclusion {
    pub kind: ExclusionKind,
    pub days: u32,
    pub started_at: Timestamp,
    pub until: Timestamp,
}

impl Exclusion {
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.until > now
    }
}

/// The exclusion in force after a player asks for `kind` for `days` at `now`: the new one,
/// unless one already in force ends later (an exclusion is never shortened).
pub fn exclude(
    current: Option<&Exclusion>,
    kind: ExclusionKind,
    days: u32,
    now: Timestamp,
) -> Exclusion {
    let requested = Exclusion {
        kind,
        days,
        started_at: now,
        until: now.plus_millis(i64::from(days) * DAY_MS),
    };
    match current {
        Some(existing) if existing.is_active(now) && existing.until >= requested.until => *existing,
        _ => requested,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp::from_millis(1_795_392_000_000);

    #[test]
    fn durations_follow_the_contract() {
        for d in [1, 7, 30, 42] {
            assert_eq!(ExclusionKind::TimeOut.check_days(d), Ok(d as u32));
        }
        for d in [0, 2, 14, 43, -1] {
            assert!(ExclusionKind::TimeOut.check_days(d).is_err(), "{d}");
        }
        assert!(ExclusionKind::SelfExclusion.check_days(182).is_err());
        assert_eq!(ExclusionKind::SelfExclusion.check_days(183), Ok(183));
        assert_eq!(ExclusionKind::SelfExclusion.check_days(3650), Ok(3650));
        assert!(ExclusionKind::SelfExclusion.check_days(3651).is_err());
        assert!(ExclusionKind::SelfExclusion.check_days(i64::MAX).is_err());
    }

    #[test]
    fn applies_at_once() {
        let e = exclude(None, ExclusionKind::TimeOut, 7, T0);
        assert!(e.is_active(T0));
        assert_eq!(e.until, T0.plus_millis(7 * DAY_MS));
        assert!(!e.is_active(e.until));
    }

    #[test]
    fn never_shortened() {
        let long = exclude(None, ExclusionKind::SelfExclusion, 183, T0);
        let asked_shorter = exclude(
            Some(&long),
            ExclusionKind::TimeOut,
            1,
            T0.plus_millis(DAY_MS),
        );
        assert_eq!(asked_shorter, long);
    }

    #[test]
    fn can_be_extended() {
        let short = exclude(None, ExclusionKind::TimeOut, 1, T0);
        let longer = exclude(
            Some(&short),
            ExclusionKind::TimeOut,
            7,
            T0.plus_millis(1000),
        );
        assert_eq!(longer.days, 7);
        assert_eq!(longer.until, T0.plus_millis(1000 + 7 * DAY_MS));
    }

    #[test]
    fn an_expired_exclusion_is_replaced() {
        let old = exclude(None, ExclusionKind::TimeOut, 1, T0);
        let later = T0.plus_millis(2 * DAY_MS);
        let new = exclude(Some(&old), ExclusionKind::TimeOut, 1, later);
        assert_eq!(new.started_at, later);
    }
}
