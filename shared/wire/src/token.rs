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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    typ: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kid: Option<String>,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    aud: Option<Audience>,
    /// The OAuth client the token was issued to (access tokens without `aud`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
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
        aud: Some(Audience::One(LOCAL_AUDIENCE.into())),
        client_id: None,
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
    let jwt = UnverifiedJwt::parse(token)?;
    if jwt.alg() != "HS256" {
        return Err(invalid("only HS256 tokens are accepted locally"));
    }
    let mut m = mac(secret);
    m.update(jwt.signing_input());
    m.verify_slice(jwt.signature())
        .map_err(|_| invalid("bad signature"))?;
    jwt.claims(
        &TokenPolicy {
            issuer: LOCAL_ISSUER,
            audiences: &[LOCAL_AUDIENCE],
        },
        now,
    )
}

fn invalid(why: &str) -> WalletError {
    unauthenticated(&format!("the bearer token is invalid: {why}"))
}

/// Whom a token must come from and be meant for.
#[derive(Debug, Clone, Copy)]
pub struct TokenPolicy<'a> {
    /// The exact `iss`.
    pub issuer: &'a str,
    /// One of these must be in `aud`, or be the `client_id` (access tokens of some identity
    /// providers, Amazon Cognito's among them, name their client there and carry no `aud`),
    /// as API Gateway's JWT authorizer accepts.
    pub audiences: &'a [&'a str],
}

/// A JWT split into its parts; its signature is the caller's to check (with the key its
/// header names) before [`UnverifiedJwt::claims`] reads what it says.
#[derive(Debug)]
pub struct UnverifiedJwt<'a> {
    header: Header,
    signing_input: &'a str,
    payload: &'a str,
    signature: Vec<u8>,
}

impl<'a> UnverifiedJwt<'a> {
    /// Splits a compact JWS (`header.payload.signature`, base64url without padding).
    pub fn parse(token: &'a str) -> Result<UnverifiedJwt<'a>, WalletError> {
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
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| invalid("unreadable signature"))?;
        let signing_input = &token[..encoded_header.len() + 1 + payload.len()];
        Ok(UnverifiedJwt {
            header,
            signing_input,
            payload,
            signature,
        })
    }

    /// The header's `alg`.
    pub fn alg(&self) -> &str {
        &self.header.alg
    }

    /// The header's `kid`: which of the issuer's keys signed it.
    pub fn kid(&self) -> Option<&str> {
        self.header.kid.as_deref()
    }

    /// What the signature covers: `header.payload` as sent.
    pub fn signing_input(&self) -> &[u8] {
        self.signing_input.as_bytes()
    }

    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The subject and scopes, after the caller checked the signature: the token must be
    /// within its `exp` and `nbf` (30 s leeway), from `policy`'s issuer and for one of its
    /// audiences.
    pub fn claims(
        &self,
        policy: &TokenPolicy,
        now: Timestamp,
    ) -> Result<VerifiedToken, WalletError> {
        let claims: Claims = URL_SAFE_NO_PAD
            .decode(self.payload)
            .ok()
            .and_then(|p| serde_json::from_slice(&p).ok())
            .ok_or_else(|| invalid("unreadable claims (sub, iss and exp are required)"))?;
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
        if claims.iss != policy.issuer {
            return Err(invalid("unknown issuer"));
        }
        let meant_for = |a: &str| policy.audiences.contains(&a);
        let audience_ok = match &claims.aud {
            Some(Audience::One(a)) => meant_for(a),
            Some(Audience::Many(all)) => all.iter().any(|a| meant_for(a)),
            None => false,
        } || claims.client_id.as_deref().is_some_and(meant_for);
        if !audience_ok {
            return Err(invalid("wrong audience"));
        }
        if claims.sub.is_empty() {
            return Err(invalid("no subject"));
        }
        Ok(VerifiedToken {
            sub: claims.sub,
            scope: claims.scope,
        })
    }
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

    /// An HS256 token over any claims (the local verifier checks the same claims as an
    /// identity provider's).
    fn hs256(secret: &[u8], claims: serde_json::Value) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","kid":"k1"}"#);
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        let mut m = mac(secret);
        m.update(format!("{header}.{payload}").as_bytes());
        format!(
            "{header}.{payload}.{}",
            URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
        )
    }

    #[test]
    fn the_audience_is_in_aud_or_is_the_client_id() {
        let secret = b"s";
        let exp = NOW.seconds() + 60;
        let accepted = [
            serde_json::json!({"sub":"p","iss":LOCAL_ISSUER,"aud":["other",LOCAL_AUDIENCE],"exp":exp}),
            serde_json::json!({"sub":"p","iss":LOCAL_ISSUER,"client_id":LOCAL_AUDIENCE,"exp":exp}),
        ];
        for claims in accepted {
            let token = hs256(secret, claims.clone());
            assert_eq!(
                verify_local_token(&token, secret, NOW).as_deref(),
                Ok("p"),
                "{claims}"
            );
        }
        let refused = [
            serde_json::json!({"sub":"p","iss":LOCAL_ISSUER,"exp":exp}),
            serde_json::json!({"sub":"p","iss":LOCAL_ISSUER,"aud":["other"],"client_id":"x","exp":exp}),
            serde_json::json!({"sub":"p","iss":"elsewhere","aud":LOCAL_AUDIENCE,"exp":exp}),
            serde_json::json!({"sub":"","iss":LOCAL_ISSUER,"aud":LOCAL_AUDIENCE,"exp":exp}),
            serde_json::json!({"sub":"p","iss":LOCAL_ISSUER,"aud":LOCAL_AUDIENCE,"exp":exp,"nbf":exp}),
            serde_json::json!({"sub":"p","iss":LOCAL_ISSUER,"aud":LOCAL_AUDIENCE}),
        ];
        for claims in refused {
            let token = hs256(secret, claims.clone());
            assert!(verify_local_token(&token, secret, NOW).is_err(), "{claims}");
        }
    }

    #[test]
    fn a_parsed_token_exposes_its_key_id_and_signing_input() {
        let token = hs256(b"s", serde_json::json!({"sub":"p"}));
        let jwt = UnverifiedJwt::parse(&token).expect("a JWT");
        assert_eq!((jwt.alg(), jwt.kid()), ("HS256", Some("k1")));
        let (input, _) = token.rsplit_once('.').expect("three parts");
        assert_eq!(jwt.signing_input(), input.as_bytes());
        assert_eq!(jwt.signature().len(), 32);
        for broken in ["a.b", "a.b.c.d", "!.e30.AA", "e30.e30.!"] {
            assert!(UnverifiedJwt::parse(broken).is_err(), "{broken}");
        }
    }
}
