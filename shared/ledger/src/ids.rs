//! Client-chosen ids (`deposit_id`, `bet_id`, `settlement_id`, round and game ids) and
//! player ids: 1–128 characters of `[A-Za-z0-9._:-]` (API.md "Conventions").

use crate::error::FieldError;
use serde::{Deserialize, Serialize};

pub const MAX_ID_LEN: usize = 128;

fn check_id(value: &str) -> Result<(), String> {
    if value.is_empty() || value.len() > MAX_ID_LEN {
        return Err(format!("must be 1 to {MAX_ID_LEN} characters long"));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
    {
        return Err("may only contain letters, digits and . _ : -".into());
    }
    Ok(())
}

/// A permanent idempotency key chosen by a client.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientId(String);

impl ClientId {
    pub fn new(value: &str) -> Result<ClientId, String> {
        check_id(value).map(|()| ClientId(value.to_owned()))
    }

    pub fn parse(field: &str, value: &str) -> Result<ClientId, FieldError> {
        ClientId::new(value).map_err(|m| FieldError::new(field, m))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A player's id: the `sub` of the identity provider's token, same alphabet as client ids.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PlayerId(String);

impl PlayerId {
    pub fn new(value: &str) -> Result<PlayerId, String> {
        check_id(value).map(|()| PlayerId(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PlayerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Display for ClientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_the_documented_alphabet() {
        assert!(ClientId::new("dep-2026.11:23_A").is_ok());
        assert!(ClientId::new(&"a".repeat(128)).is_ok());
        assert!(ClientId::new(&"a".repeat(129)).is_err());
        assert!(ClientId::new("").is_err());
        assert!(ClientId::new("has space").is_err());
        assert!(ClientId::new("slash/").is_err());
        assert!(ClientId::new("é").is_err());
        assert!(PlayerId::new("5f0c3e2a-8b1d-4c7e-9a6f-2d4b8e1c7a90").is_ok());
        assert!(PlayerId::new("a#b").is_err());
    }

    proptest! {
        #[test]
        fn valid_exactly_when_regex_matches(s in "\\PC{0,140}") {
            let ok = !s.is_empty() && s.len() <= 128 && s.chars().all(|c| c.is_ascii_alphanumeric() || ".-_:".contains(c));
            prop_assert_eq!(ClientId::new(&s).is_ok(), ok);
        }
    }
}
