//! Local player tokens: HS256 JWTs the local suite mints and its functions verify (on AWS
//! API Gateway's JWT authorizer verifies the identity provider's tokens instead). Pure:
//! a decoder of outside input, fuzzed (`fuzz/`).

use crate::signature::mac;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::Mac;
use ledger::{Timestamp, WalletError};
use serde::{Deserialize, Serialize};

/// Issuer and audience of the tokens the local suite mints.
pub const LOCAL_ISSUER: &str = "stakeline-local";
pub const LOCAL_AUDIENCE: &str = "stakeline";
/// Clock skew tolerated on a token's `exp` and `nbf`.
const TOKEN_LEEWAY_SECONDS: i64 = 30;

fn unauthenticated(reason: &str) -> WalletError {
    WalletError::Unauthenticated(reason.to_string())
}

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iss: String,
    aud: Audience,
    exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    /// Space-separated scopes (OAuth 2.0); operator tokens carry `stakeline/ops`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
}

/// What a verified token says: its subject and its scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    pub sub: String,
    pub scope: Option<String>,
}

/// Mints a local player token (the local suite's stand-in for the identity provider).
pub fn mint_local_token(
    secret: &[u8],
    sub: &str,
    issued_at: Timestamp,
    ttl_seconds: i64,
) -> String {
    mint_local_scoped_token(secret, sub, None, issued_at, ttl_seconds)
}

/// Mints a local token carrying `scope` (an operator's: `stakeline/ops`).
pub fn mint_local_scoped_token(
    secret: &[u8],
    sub: &str,
    scope: Option<&str>,
    issued_at: Timestamp,
    ttl_seconds: i64,
) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = Claims {
        sub: sub.to_string(),
        iss: LOCAL_ISSUER.into(),
        aud: Audience::One(LOCAL_AUDIENCE.into()),
        exp: issued_at.seconds().saturating_add(ttl_seconds),
        nbf: None,
        iat: Some(issued_at.seconds()),
        scope: scope.map(str::to_string),
    };
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap_or_default());
    let signing_input = format!("{header}.{payload}");
    let mut m = mac(secret);
    m.update(signing_input.as_bytes());
    format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
    )
}

/// Verifies a local HS256 token and returns its subject.
pub fn verify_local_token(
    token: &str,
    secret: &[u8],
    now: Timestamp,
) -> Result<String, WalletError> {
    verify_local_claims(token, secret, now).map(|verified| verified.sub)
}

/// Verifies a local HS256 token and returns its subject and scopes.
pub fn verify_local_claims(
    token: &str,
    secret: &[u8],
    now: Timestamp,
) -> Result<VerifiedToken, WalletError> {
    let invalid = |why: &str| unauthenticated(&format!("the bearer token is invalid: {why}"));
    let mut parts = token.split('.');
    let (Some(encoded_header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("not a JWT"));
    };
    let header: Header = URL_SAFE_NO_PAD
        .decode(encoded_header)
        .ok()
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or_else(|| invalid("unreadable header"))?;
    if header.alg != "HS256" {
        return Err(invalid("only HS256 tokens are accepted locally"));
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| invalid("unreadable signature"))?;
    let mut m = mac(secret);
    m.update(encoded_header.as_bytes());
    m.update(b".");
    m.update(payload.as_bytes());
    m.verify_slice(&signature)
        .map_err(|_| invalid("bad signature"))?;
    let claims: Claims = URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|p| serde_json::from_slice(&p).ok())
        .ok_or_else(|| invalid("unreadable claims (sub, iss, aud and exp are required)"))?;
    let now_s = now.seconds();
    if claims.exp.saturating_add(TOKEN_LEEWAY_SECONDS) <= now_s {
        return Err(invalid("expired"));
    }
    if claims
        .nbf
        .is_some_and(|nbf| nbf > now_s.saturating_add(TOKEN_LEEWAY_SECONDS))
    {
        return Err(invalid("not valid yet"));
    }
    if claims.iss != LOCAL_ISSUER {
        return Err(invalid("unknown issuer"));
    }
    let audience_ok = match &claims.aud {
        Audience::One(a) => a == LOCAL_AUDIENCE,
        Audience::Many(all) => all.iter().any(|a| a == LOCAL_AUDIENCE),
    };
    if !audience_ok {
        return Err(invalid("wrong audience"));
    }
    Ok(VerifiedToken {
        sub: claims.sub,
        scope: claims.scope,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp::from_millis(1_795_392_000_000);
    #[test]
    fn local_tokens_round_trip_and_are_checked() {
        let secret = b"stakeline-local-jwt-secret";
        let token = mint_local_token(secret, "player-1", NOW, 3600);
        assert_eq!(
            verify_local_token(&token, secret, NOW),
            Ok("player-1".to_string())
        );
        assert!(verify_local_token(&token, b"another-secret", NOW).is_err());
        assert!(verify_local_token(&token, secret, NOW.plus_millis(3_700_000)).is_err());
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged_payload = URL_SAFE_NO_PAD.encode(
            br#"{"sub":"player-2","iss":"stakeline-local","aud":"stakeline","exp":9999999999}"#,
        );
        parts[1] = &forged_payload;
        assert!(verify_local_token(&parts.join("."), secret, NOW).is_err());
        let none_alg = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            forged_payload
        );
        assert!(verify_local_token(&none_alg, secret, NOW).is_err());
        assert!(verify_local_token("garbage", secret, NOW).is_err());
    }

    #[test]
    fn scopes_ride_in_the_signed_claims() {
        let secret = b"stakeline-local-jwt-secret";
        let token = mint_local_scoped_token(secret, "staff-7", Some("stakeline/ops"), NOW, 60);
        assert_eq!(
            verify_local_claims(&token, secret, NOW),
            Ok(VerifiedToken {
                sub: "staff-7".into(),
                scope: Some("stakeline/ops".into())
            })
        );
        let player = mint_local_token(secret, "p-1", NOW, 60);
        assert_eq!(
            verify_local_claims(&player, secret, NOW).map(|v| v.scope),
            Ok(None)
        );
    }
}
