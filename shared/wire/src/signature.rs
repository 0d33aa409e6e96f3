//! Integration signatures (payment provider, aggregator): HMAC-SHA256 with a
//! per-integration secret over `timestamp.METHOD.path.body` (API.md, "Callers and
//! authentication"). A leaf module: it knows no configuration and no state.

use hmac::{Hmac, Mac};
use http::HeaderMap;
use ledger::{Timestamp, WalletError};
use sha2::Sha256;

pub(crate) type HmacSha256 = Hmac<Sha256>;

pub const TIMESTAMP_HEADER: &str = "x-stakeline-timestamp";
pub const SIGNATURE_HEADER: &str = "x-stakeline-signature";
/// How far a signed request's timestamp may be from the function's clock.
pub const SIGNATURE_WINDOW_SECONDS: i64 = 300;

/// The secrets one integration may sign with; more than one during a rotation.
#[derive(Clone)]
pub struct HmacSecrets(Vec<Vec<u8>>);

impl std::fmt::Debug for HmacSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HmacSecrets(<{} redacted>)", self.0.len())
    }
}

impl HmacSecrets {
    /// A comma-separated list; blanks around each secret are ignored.
    pub fn parse(list: &str) -> Result<HmacSecrets, String> {
        let secrets: Vec<Vec<u8>> = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.as_bytes().to_vec())
            .collect();
        if secrets.is_empty() {
            return Err("no secret in the list".into());
        }
        if secrets.iter().any(|s| s.len() < 16) {
            return Err("every secret must be at least 16 bytes".into());
        }
        Ok(HmacSecrets(secrets))
    }

    /// The first secret of the list (a list is never empty).
    pub fn first(&self) -> &[u8] {
        self.0.first().map(Vec::as_slice).unwrap_or_default()
    }
}

pub(crate) fn mac(secret: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this never fails.
    <HmacSha256 as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
}

/// What one signature covers: the signing string is `timestamp.METHOD.path.body`, so a
/// signature is valid for one method, one raw path and one body only.
#[derive(Debug, Clone, Copy)]
pub struct Signed<'a> {
    /// Upper case (`POST`); queue messages use [`QUEUE_METHOD`].
    pub method: &'a str,
    /// The raw path, without scheme, host or query string (`/players/p-1/deposits`).
    pub path: &'a str,
    pub body: &'a [u8],
}

/// The METHOD of a settlement queue message's signing string.
pub const QUEUE_METHOD: &str = "SQS";
/// The path of a settlement queue message's signing string.
pub const SETTLEMENT_QUEUE_PATH: &str = "/settlement-queue";

fn signing_mac(secret: &[u8], timestamp: &str, message: &Signed<'_>) -> HmacSha256 {
    let mut m = mac(secret);
    for part in [
        timestamp.as_bytes(),
        message.method.as_bytes(),
        message.path.as_bytes(),
    ] {
        m.update(part);
        m.update(b".");
    }
    m.update(message.body);
    m
}

/// The signature a caller sends: lowercase hex of
/// HMAC-SHA256(secret, `timestamp.METHOD.path.body`).
pub fn sign(secret: &[u8], timestamp: &str, message: &Signed<'_>) -> String {
    hex::encode(
        signing_mac(secret, timestamp, message)
            .finalize()
            .into_bytes(),
    )
}

/// How old (or how far ahead) a signature's timestamp may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    pub max_age_seconds: i64,
    pub max_ahead_seconds: i64,
}

/// HTTP requests: ±5 minutes (API.md).
pub const REQUEST_FRESHNESS: Freshness = Freshness {
    max_age_seconds: SIGNATURE_WINDOW_SECONDS,
    max_ahead_seconds: SIGNATURE_WINDOW_SECONDS,
};

/// Settlement queue messages may wait in the queue (and be redelivered) for as long as the
/// queue keeps them: 14 days (template.yaml, `MessageRetentionPeriod`); never from the future.
pub const QUEUE_FRESHNESS: Freshness = Freshness {
    max_age_seconds: 14 * 24 * 3600,
    max_ahead_seconds: SIGNATURE_WINDOW_SECONDS,
};

/// Why a signature was refused. Only [`SignatureError::Mismatch`] can be cured by newer
/// secrets (a rotation), so only it makes a keyring re-read its source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the X-Stakeline-Timestamp header is missing")]
    MissingTimestamp,
    #[error("the X-Stakeline-Signature header is missing")]
    MissingSignature,
    #[error("X-Stakeline-Timestamp must be Unix seconds")]
    BadTimestamp,
    #[error("X-Stakeline-Timestamp is too far from now")]
    Stale,
    #[error("X-Stakeline-Signature must be 64 hex digits")]
    BadSignature,
    #[error("the signature does not match the request")]
    Mismatch,
}

impl From<SignatureError> for WalletError {
    fn from(error: SignatureError) -> WalletError {
        WalletError::Unauthenticated(error.to_string())
    }
}

/// A signature as received, before it is checked: the two header (or message attribute)
/// values.
#[derive(Debug, Clone, Copy)]
pub struct Presented<'a> {
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

impl<'a> Presented<'a> {
    pub fn from_headers(headers: &'a HeaderMap) -> Presented<'a> {
        let value = |name| headers.get(name).and_then(|v| v.to_str().ok());
        Presented {
            timestamp: value(TIMESTAMP_HEADER),
            signature: value(SIGNATURE_HEADER),
        }
    }
}

/// Checks a provider's or aggregator's signature: present, fresh, and made over this
/// method, path and body with one of the integration's secrets (constant-time comparison).
pub fn verify_signature(
    presented: &Presented<'_>,
    message: &Signed<'_>,
    secrets: &HmacSecrets,
    now: Timestamp,
    freshness: Freshness,
) -> Result<(), SignatureError> {
    let timestamp = presented
        .timestamp
        .ok_or(SignatureError::MissingTimestamp)?;
    let signature = presented
        .signature
        .ok_or(SignatureError::MissingSignature)?;
    let seconds = Some(timestamp)
        .filter(|t| !t.is_empty() && t.len() <= 12 && t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse::<i64>().ok())
        .ok_or(SignatureError::BadTimestamp)?;
    let age = now.seconds().saturating_sub(seconds);
    if age > freshness.max_age_seconds || -age > freshness.max_ahead_seconds {
        return Err(SignatureError::Stale);
    }
    let signature = Some(signature.trim())
        .filter(|s| s.len() == 64)
        .and_then(|s| hex::decode(s).ok())
        .ok_or(SignatureError::BadSignature)?;
    let valid = secrets.0.iter().any(|secret| {
        signing_mac(secret, timestamp, message)
            .verify_slice(&signature)
            .is_ok()
    });
    if valid {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const NOW: Timestamp = Timestamp::from_millis(1_795_392_000_000);
    const SECRET: &[u8] = b"stakeline-local-payment-provider-secret";
    const DEPOSIT: Signed<'static> = Signed {
        method: "POST",
        path: "/players/p-1/deposits",
        body: br#"{"deposit_id":"d1","amount":100,"currency":"EUR"}"#,
    };

    fn presented<'a>(timestamp: &'a str, signature: &'a str) -> Presented<'a> {
        Presented {
            timestamp: Some(timestamp),
            signature: Some(signature),
        }
    }

    fn secrets() -> HmacSecrets {
        HmacSecrets::parse("old-secret-rotated-out-0000, stakeline-local-payment-provider-secret")
            .unwrap()
    }

    fn check(p: &Presented<'_>, message: &Signed<'_>) -> Result<(), SignatureError> {
        verify_signature(p, message, &secrets(), NOW, REQUEST_FRESHNESS)
    }

    #[test]
    fn signature_matches_independent_vectors() {
        // printf '%s' '1795392000.POST./players/p-1/deposits.{"a":1}' \
        //   | openssl dgst -sha256 -hmac stakeline-local-payment-provider-secret
        let post = Signed {
            method: "POST",
            path: "/players/p-1/deposits",
            body: br#"{"a":1}"#,
        };
        assert_eq!(
            sign(SECRET, "1795392000", &post),
            "b926229bc687f4f43d436f9a8a84d7a8c9425cb243d2550632c458e1ea1ef1b4"
        );
        // An empty body: the signing string ends with the path's dot.
        let get = Signed {
            method: "GET",
            path: "/players/p-1/bets/b-1",
            body: b"",
        };
        assert_eq!(
            sign(SECRET, "1795392000", &get),
            "bb4b4fa08fe4b8077ab3cdfecf767cfbfc567e9fd4a73a8dca6e991c828ab626"
        );
    }

    #[test]
    fn headers_are_read_by_name() {
        let mut h = HeaderMap::new();
        h.insert(TIMESTAMP_HEADER, HeaderValue::from_static("1795392000"));
        h.insert(SIGNATURE_HEADER, HeaderValue::from_static("ab"));
        let p = Presented::from_headers(&h);
        assert_eq!((p.timestamp, p.signature), (Some("1795392000"), Some("ab")));
        let none = HeaderMap::new();
        assert!(Presented::from_headers(&none).timestamp.is_none());
    }

    #[test]
    fn accepts_a_fresh_signature_by_any_current_secret() {
        let sig = sign(SECRET, "1795392000", &DEPOSIT);
        assert_eq!(check(&presented("1795392000", &sig), &DEPOSIT), Ok(()));
        let upper = sig.to_uppercase();
        assert_eq!(check(&presented("1795392000", &upper), &DEPOSIT), Ok(()));
        let edge = (NOW.seconds() - 300).to_string();
        let sig = sign(SECRET, &edge, &DEPOSIT);
        assert_eq!(check(&presented(&edge, &sig), &DEPOSIT), Ok(()));
    }

    #[test]
    fn a_signature_covers_method_path_and_body_only_together() {
        let sig = sign(SECRET, "1795392000", &DEPOSIT);
        let p = presented("1795392000", &sig);
        let other_player = Signed {
            path: "/players/p-2/deposits",
            ..DEPOSIT
        };
        let other_method = Signed {
            method: "PUT",
            ..DEPOSIT
        };
        let other_body = Signed {
            body: br#"{"deposit_id":"d1","amount":101,"currency":"EUR"}"#,
            ..DEPOSIT
        };
        for message in [other_player, other_method, other_body] {
            assert_eq!(check(&p, &message), Err(SignatureError::Mismatch));
        }
        // The signing string of earlier versions (timestamp.body) is refused.
        let mut m = mac(SECRET);
        m.update(b"1795392000.");
        m.update(DEPOSIT.body);
        let body_only = hex::encode(m.finalize().into_bytes());
        assert_eq!(
            check(&presented("1795392000", &body_only), &DEPOSIT),
            Err(SignatureError::Mismatch)
        );
        // Moving the dots between parts changes the signing string.
        let shifted = Signed {
            method: "POST.",
            path: "players/p-1/deposits",
            ..DEPOSIT
        };
        let sig = sign(SECRET, "1795392000", &shifted);
        assert!(check(&presented("1795392000", &sig), &DEPOSIT).is_err());
    }

    #[test]
    fn refuses_stale_future_tampered_or_missing_signatures() {
        let stale = (NOW.seconds() - 301).to_string();
        let future = (NOW.seconds() + 301).to_string();
        for ts in [stale, future] {
            let sig = sign(SECRET, &ts, &DEPOSIT);
            assert_eq!(
                check(&presented(&ts, &sig), &DEPOSIT),
                Err(SignatureError::Stale)
            );
        }
        let sig = sign(SECRET, "1795392000", &DEPOSIT);
        assert_eq!(
            check(&presented("1795392001", &sig), &DEPOSIT),
            Err(SignatureError::Mismatch)
        );
        let other = sign(b"another-integration-secret", "1795392000", &DEPOSIT);
        assert_eq!(
            check(&presented("1795392000", &other), &DEPOSIT),
            Err(SignatureError::Mismatch)
        );
        for (ts, s, why) in [
            ("", sig.as_str(), SignatureError::BadTimestamp),
            ("-1795392000", sig.as_str(), SignatureError::BadTimestamp),
            ("1795392000.0", sig.as_str(), SignatureError::BadTimestamp),
            ("99999999999999", sig.as_str(), SignatureError::BadTimestamp),
            ("1795392000", "zz", SignatureError::BadSignature),
            ("1795392000", &sig[..62], SignatureError::BadSignature),
        ] {
            assert_eq!(check(&presented(ts, s), &DEPOSIT), Err(why), "{ts} {s}");
        }
        let missing = Presented {
            timestamp: None,
            signature: Some(&sig),
        };
        assert_eq!(
            check(&missing, &DEPOSIT),
            Err(SignatureError::MissingTimestamp)
        );
        let missing = Presented {
            timestamp: Some("1795392000"),
            signature: None,
        };
        assert_eq!(
            check(&missing, &DEPOSIT),
            Err(SignatureError::MissingSignature)
        );
        let error: WalletError = SignatureError::Mismatch.into();
        assert_eq!(error.code(), ledger::ErrorCode::Unauthenticated);
    }

    #[test]
    fn queue_messages_may_wait_as_long_as_the_queue_keeps_them() {
        let message = Signed {
            method: QUEUE_METHOD,
            path: SETTLEMENT_QUEUE_PATH,
            body: br#"{"player_id":"p-1"}"#,
        };
        let week_old = (NOW.seconds() - 7 * 24 * 3600).to_string();
        let sig = sign(SECRET, &week_old, &message);
        let p = presented(&week_old, &sig);
        assert_eq!(
            verify_signature(&p, &message, &secrets(), NOW, QUEUE_FRESHNESS),
            Ok(())
        );
        assert_eq!(
            verify_signature(&p, &message, &secrets(), NOW, REQUEST_FRESHNESS),
            Err(SignatureError::Stale)
        );
        let too_old = (NOW.seconds() - 15 * 24 * 3600).to_string();
        let sig = sign(SECRET, &too_old, &message);
        assert_eq!(
            verify_signature(
                &presented(&too_old, &sig),
                &message,
                &secrets(),
                NOW,
                QUEUE_FRESHNESS
            ),
            Err(SignatureError::Stale)
        );
    }
}
