//! Registration: a validated request becomes a new account whose id is the token's `sub`.

use crate::account::Account;
use crate::api::LimitsRequest;
use crate::clock::Timestamp;
use crate::error::{FieldError, Problems, WalletError};
use crate::ids::PlayerId;
use crate::limits::{no_changes, DepositLimits, LimitChange, LimitValues};
use crate::money::Currency;
use crate::reference::is_country;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{Date, Month};

/// The minimum age unless the operator configures another.
pub const DEFAULT_MIN_AGE: u8 = 18;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub email: String,
    pub date_of_birth: String,
    pub country: String,
    pub currency: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub deposit_limits: Option<LimitsRequest>,
}

/// The registration as validated; its fingerprint identifies a replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct Registration<'a> {
    player_id: &'a str,
    email: &'a str,
    date_of_birth: &'a str,
    country: &'a str,
    currency: &'a str,
    display_name: Option<&'a str>,
    deposit_limits: LimitValues,
}

/// Email addresses: a pragmatic subset of RFC 5321 (ASCII, no quoted local parts).
pub fn check_email(email: &str) -> Result<(), FieldError> {
    let bad = |m: &str| Err(FieldError::new("/email", m));
    if email.len() > 254 {
        return bad("must be at most 254 characters");
    }
    let Some((local, domain)) = email.split_once('@') else {
        return bad("must be an email address like name@example.com");
    };
    if local.is_empty() || local.len() > 64 {
        return bad("the part before @ must be 1 to 64 characters");
    }
    let local_ok = local
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    if !local_ok {
        return bad("the part before @ has characters an address cannot have");
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && !tld.bytes().all(|b| b.is_ascii_digit()));
    if !domain_ok {
        return bad("the domain must be a host name like example.com");
    }
    Ok(())
}

/// The key that makes email uniqueness case-insensitive.
pub fn email_key(email: &str) -> String {
    email.to_ascii_lowercase()
}

/// `YYYY-MM-DD`, a real calendar date, not in the future, not before 1900.
pub fn parse_date_of_birth(text: &str, today: Date) -> Result<Date, FieldError> {
    let bad = |m: &str| FieldError::new("/date_of_birth", m);
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !shape_ok {
        return Err(bad("must be a date written YYYY-MM-DD"));
    }
    let number = |range: std::ops::Range<usize>| -> u32 {
        text[range]
            .bytes()
            .fold(0, |n, b| n * 10 + u32::from(b - b'0'))
    };
    let year = i32::try_from(number(0..4)).map_err(|_| bad("must be a date written YYYY-MM-DD"))?;
    let month = u8::try_from(number(5..7))
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .ok_or_else(|| bad("is not a calendar date"))?;
    let day = u8::try_from(number(8..10)).map_err(|_| bad("is not a calendar date"))?;
    let date =
        Date::from_calendar_date(year, month, day).map_err(|_| bad("is not a calendar date"))?;
    if year < 1900 {
        return Err(bad("must be after 1900"));
    }
    if date > today {
        return Err(bad("must not be in the future"));
    }
    Ok(date)
}

/// Age in whole years on `today` (someone born on 29 February turns a year older on
/// 1 March in common years).
pub fn age_on(date_of_birth: Date, today: Date) -> i32 {
    let had_birthday = (u8::from(today.month()), today.day())
        >= (u8::from(date_of_birth.month()), date_of_birth.day());
    today.year() - date_of_birth.year() - if had_birthday { 0 } else { 1 }
}

fn check_display_name(name: &str) -> Result<(), FieldError> {
    crate::text::check_text("/display_name", name, 64)
}

/// Validates a registration and builds the new account. Every field problem is reported
/// at once; the age is judged only on an otherwise valid request.
pub fn register(
    player_id: &PlayerId,
    request: &RegisterRequest,
    now: Timestamp,
    min_age: u8,
) -> Result<Account, WalletError> {
    let mut problems = Problems::new();
    problems.check(check_email(&request.email));
    let dob = problems.check(parse_date_of_birth(&request.date_of_birth, now.date()));
    if !is_country(&request.country) {
        problems.push(
            "/country",
            "must be an ISO 3166-1 alpha-2 code in upper case, e.g. MT",
        );
    }
    let currency = problems.check(Currency::parse("/currency", &request.currency));
    if let Some(name) = &request.display_name {
        problems.check(check_display_name(name));
    }
    let initial = match &request.deposit_limits {
        Some(limits) => problems.check(limits.to_changes("/deposit_limits")),
        None => Some(no_changes()),
    };
    problems.into_result()?;
    let (Some(dob), Some(currency), Some(initial)) = (dob, currency, initial) else {
        return Err(WalletError::Internal(
            "validation passed without values".into(),
        ));
    };
    if age_on(dob, now.date()) < i32::from(min_age) {
        return Err(WalletError::Underage { min_age });
    }
    let mut limits = LimitValues::default();
    for (period, change) in initial {
        if let LimitChange::Set(value) = change {
            limits.set(period, Some(value));
        }
    }
    let email = email_key(&request.email);
    let fingerprint = fingerprint(&Registration {
        player_id: player_id.as_str(),
        email: &email,
        date_of_birth: &request.date_of_birth,
        country: &request.country,
        currency: currency.as_str(),
        display_name: request.display_name.as_deref(),
        deposit_limits: limits,
    });
    Ok(Account {
        player_id: player_id.clone(),
        email: request.email.clone(),
        date_of_birth: request.date_of_birth.clone(),
        country: request.country.clone(),
        currency,
        display_name: request.display_name.clone(),
        disabled: false,
        created_at: now,
        registration: fingerprint,
        cash: 0,
        bonus: 0,
        wagering_remaining: 0,
        max_stake_while_wagering: None,
        active_bonus: None,
        seq: 0,
        version: 1,
        updated_at: now,
        first_deposit_id: None,
        limits: DepositLimits::starting_with(limits),
        deposit_buckets: Vec::new(),
        exclusion: None,
        pending_withdrawal: 0,
        deposited_since_payout: 0,
        staked_since_payout: 0,
        recent_withdrawals: Vec::new(),
    })
}

fn fingerprint(registration: &Registration<'_>) -> String {
    let canonical = serde_json::to_vec(registration).unwrap_or_default();
    hex::encode(Sha256::digest(&canonical))
}

/// Whether `existing` was created by this very request (a replay) rather than another.
pub fn is_same_registration(existing: &Account, candidate: &Account) -> bool {
    existing.player_id == candidate.player_id && existing.registration == candidate.registration
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::fixtures::T0;
    use crate::error::ErrorCode;

    fn request() -> RegisterRequest {
        RegisterRequest {
            email: "Ada@Example.com".into(),
            date_of_birth: "1990-02-28".into(),
            country: "MT".into(),
            currency: "EUR".into(),
            display_name: Some("Ada".into()),
            deposit_limits: None,
        }
    }

    fn player() -> PlayerId {
        PlayerId::new("p-1").unwrap()
    }

    #[test]
    fn a_valid_request_opens_an_empty_wallet() {
        let a = register(&player(), &request(), T0, 18).unwrap();
        assert_eq!((a.cash, a.bonus, a.seq, a.version), (0, 0, 0, 1));
        assert_eq!(a.currency.as_str(), "EUR");
        assert_eq!(email_key(&a.email), "ada@example.com");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut r = request();
        r.email = "nope".into();
        r.country = "XX".into();
        r.currency = "eur".into();
        r.date_of_birth = "1990-13-01".into();
        let err = register(&player(), &r, T0, 18).unwrap_err();
        let fields: Vec<_> = err
            .field_errors()
            .iter()
            .map(|e| e.field.as_str())
            .collect();
        assert_eq!(
            fields,
            ["/email", "/date_of_birth", "/country", "/currency"]
        );
    }

    #[test]
    fn underage_is_its_own_code_and_birthdays_count_exactly() {
        // T0 is 2026-11-23.
        let mut r = request();
        r.date_of_birth = "2008-11-24".into();
        assert_eq!(
            register(&player(), &r, T0, 18).unwrap_err().code(),
            ErrorCode::Underage
        );
        r.date_of_birth = "2008-11-23".into();
        assert!(register(&player(), &r, T0, 18).is_ok());
        r.date_of_birth = "2005-11-24".into();
        assert_eq!(
            register(&player(), &r, T0, 21).unwrap_err().code(),
            ErrorCode::Underage
        );
    }

    #[test]
    fn leap_day_birthdays() {
        let dob = Date::from_calendar_date(2008, Month::February, 29).unwrap();
        let feb28 = Date::from_calendar_date(2026, Month::February, 28).unwrap();
        let mar1 = Date::from_calendar_date(2026, Month::March, 1).unwrap();
        assert_eq!(age_on(dob, feb28), 17);
        assert_eq!(age_on(dob, mar1), 18);
    }

    #[test]
    fn dates_must_be_real_and_past() {
        let today = T0.date();
        for bad in [
            "1990-02-30",
            "1990-2-01",
            "19900201",
            "2027-01-01",
            "1899-12-31",
            "abcd-ef-gh",
            "",
        ] {
            assert!(parse_date_of_birth(bad, today).is_err(), "{bad}");
        }
        assert!(parse_date_of_birth("2000-02-29", today).is_ok());
    }

    #[test]
    fn emails() {
        for good in [
            "a@b.co",
            "first.last+tag@sub.example.org",
            "x@xn--bcher-kva.example",
        ] {
            assert!(check_email(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "a",
            "a@b",
            "a@@b.co",
            "@b.co",
            "a@.co",
            "a b@c.co",
            "a@b.c",
            "a..b@c.co",
            ".a@b.co",
            "a@-b.co",
            "é@b.co",
            "a@b.123",
        ] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
        assert!(check_email(&format!("{}@b.co", "a".repeat(65))).is_err());
    }

    #[test]
    fn display_names() {
        let mut r = request();
        for bad in ["", "   ", "a\u{0007}b"] {
            r.display_name = Some(bad.into());
            assert!(register(&player(), &r, T0, 18).is_err(), "{bad:?}");
        }
        r.display_name = Some("x".repeat(65));
        assert!(register(&player(), &r, T0, 18).is_err());
        r.display_name = Some("Ünïcødé 名前".into());
        assert!(register(&player(), &r, T0, 18).is_ok());
    }

    #[test]
    fn the_same_request_has_the_same_fingerprint_and_another_does_not() {
        let a = register(&player(), &request(), T0, 18).unwrap();
        let b = register(&player(), &request(), T0.plus_millis(9999), 18).unwrap();
        assert!(is_same_registration(&a, &b));
        let mut shouted = request();
        shouted.email = "ADA@EXAMPLE.COM".into();
        let d = register(&player(), &shouted, T0, 18).unwrap();
        assert!(
            is_same_registration(&a, &d),
            "email is compared case-insensitively"
        );
        let mut other = request();
        other.country = "SE".into();
        let c = register(&player(), &other, T0, 18).unwrap();
        assert!(!is_same_registration(&a, &c));
    }

    #[test]
    fn initial_limits_apply_at_once() {
        let mut r = request();
        r.deposit_limits = Some(LimitsRequest {
            daily: Some(Some(1000)),
            weekly: Some(None),
            monthly: None,
        });
        let a = register(&player(), &r, T0, 18).unwrap();
        assert_eq!(a.limits.current.daily, Some(1000));
        assert_eq!(a.limits.current.weekly, None);
        assert!(a.limits.pending.is_empty());
    }
}
