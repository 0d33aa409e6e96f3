//! Money is an `i64` count of minor units of the wallet's currency. Every sum is checked:
//! an overflow is an error, never a wrap or a panic.

use crate::error::FieldError;
use crate::reference::is_active_currency;
use serde::{Deserialize, Serialize};

/// The largest amount one request may move: 10^12 minor units (API.md "Conventions").
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;

/// A strictly positive amount of at most [`MAX_AMOUNT`] minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Amount(i64);

impl Amount {
    pub fn new(minor: i64) -> Result<Amount, String> {
        if minor <= 0 {
            Err("must be a positive integer count of minor units".into())
        } else if minor > MAX_AMOUNT {
            Err(format!("must not exceed {MAX_AMOUNT} minor units"))
        } else {
            Ok(Amount(minor))
        }
    }

    pub fn parse(field: &str, minor: i64) -> Result<Amount, FieldError> {
        Amount::new(minor).map_err(|message| FieldError::new(field, message))
    }

    pub fn minor(self) -> i64 {
        self.0
    }
}

/// An ISO 4217 currency code in upper case, e.g. `EUR`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Currency(String);

impl Currency {
    pub fn new(code: &str) -> Result<Currency, String> {
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err("must be an ISO 4217 code in upper case, e.g. EUR".into());
        }
        if !is_active_currency(code) {
            return Err(format!("{code} is not an active ISO 4217 currency"));
        }
        Ok(Currency(code.to_owned()))
    }

    pub fn parse(field: &str, code: &str) -> Result<Currency, FieldError> {
        Currency::new(code).map_err(|message| FieldError::new(field, message))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The two balances of a wallet. Both are never negative (invariant 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Balances {
    pub cash: i64,
    pub bonus: i64,
}

/// Arithmetic on balances that would leave the representable or allowed range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("the balance would exceed the largest amount a wallet can hold")]
    Overflow,
    #[error("the balance would become negative")]
    Negative,
}

impl Balances {
    /// Adds a signed movement to each balance, refusing overflow and negative results.
    pub fn apply(self, cash_delta: i64, bonus_delta: i64) -> Result<Balances, MoneyError> {
        let cash = self
            .cash
            .checked_add(cash_delta)
            .ok_or(MoneyError::Overflow)?;
        let bonus = self
            .bonus
            .checked_add(bonus_delta)
            .ok_or(MoneyError::Overflow)?;
        if cash < 0 || bonus < 0 {
            return Err(MoneyError::Negative);
        }
        Ok(Balances { cash, bonus })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn amount_bounds() {
        assert!(Amount::new(0).is_err());
        assert!(Amount::new(-1).is_err());
        assert!(Amount::new(i64::MIN).is_err());
        assert_eq!(Amount::new(1).map(Amount::minor), Ok(1));
        assert_eq!(Amount::new(MAX_AMOUNT).map(Amount::minor), Ok(MAX_AMOUNT));
        assert!(Amount::new(MAX_AMOUNT + 1).is_err());
    }

    #[test]
    fn currency_must_be_active_upper_case_iso_4217() {
        assert!(Currency::new("EUR").is_ok());
        assert!(Currency::new("GBP").is_ok());
        assert!(Currency::new("eur").is_err());
        assert!(Currency::new("EU").is_err());
        assert!(Currency::new("EURO").is_err());
        assert!(Currency::new("ZZZ").is_err());
        assert!(Currency::new("").is_err());
    }

    #[test]
    fn balances_refuse_negative_and_overflow() {
        let b = Balances { cash: 10, bonus: 5 };
        assert_eq!(b.apply(-10, -5), Ok(Balances { cash: 0, bonus: 0 }));
        assert_eq!(b.apply(-11, 0), Err(MoneyError::Negative));
        assert_eq!(b.apply(0, -6), Err(MoneyError::Negative));
        let full = Balances {
            cash: i64::MAX,
            bonus: 0,
        };
        assert_eq!(full.apply(1, 0), Err(MoneyError::Overflow));
    }

    proptest! {
        #[test]
        fn apply_never_panics_and_never_goes_negative(
            cash in any::<i64>(), bonus in any::<i64>(), dc in any::<i64>(), db in any::<i64>()
        ) {
            let start = Balances { cash, bonus };
            if let Ok(after) = start.apply(dc, db) {
                prop_assert!(after.cash >= 0 && after.bonus >= 0);
                prop_assert_eq!(i128::from(after.cash), i128::from(cash) + i128::from(dc));
                prop_assert_eq!(i128::from(after.bonus), i128::from(bonus) + i128::from(db));
            }
        }

        #[test]
        fn amount_accepts_exactly_the_documented_range(minor in any::<i64>()) {
            prop_assert_eq!(Amount::new(minor).is_ok(), (1..=MAX_AMOUNT).contains(&minor));
        }
    }
}
