//! Who is calling. Players: a JWT whose `sub` must equal the `{player_id}` of the path.
//! Payment providers and aggregators: HMAC-SHA256 over `timestamp + "." + raw body`.

use crate::config::{Config, PlayerAuth};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use lambda_http::http::HeaderMap;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use ledger::{PlayerId, Timestamp, WalletError};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

pub const TIMESTAMP_HEADER: &str = "x-stakeline-timestamp";
pub const SIGNATURE_HEADER: &str = "x-stakeline-signature";
/// How far a signed request's timestamp may be from the function's clock.
pub const SIGNATURE_WINDOW_SECONDS: i64 = 300;

/// Issuer and audience of the tokens the local suite mints.
pub const LOCAL_ISSUER: &str = "stakeline-local";
pub const LOCAL_AUDIENCE: &str = "stakeline";
/// Clock skew tolerated on a token's `exp` and `nbf`.
const TOKEN_LEEWAY_SECONDS: i64 = 30;

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
}

fn mac(secret: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this never fails.
    <HmacSha256 as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
}

/// The signature a caller sends: lowercase hex of HMAC-SHA256(secret, `timestamp.body`).
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let mut m = mac(secret);
    m.update(timestamp.as_bytes());
    m.update(b".");
    m.update(body);
    hex::encode(m.finalize().into_bytes())
}

fn unauthenticated(reason: &str) -> WalletError {
    WalletError::Unauthenticated(reason.to_string())
}

/// Checks a provider's or aggregator's signature: present, fresh (±5 minutes), and made
/// with one of the integration's secrets (constant-time comparison).
pub fn verify_signature(
    headers: &HeaderMap,
    body: &[u8],
    secrets: &HmacSecrets,
    now: Timestamp,
) -> Result<(), WalletError> {
    let timestamp = headers
        .get(TIMESTAMP_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| unauthenticated("the X-Stakeline-Timestamp header is missing"))?;
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| unauthenticated("the X-Stakeline-Signature header is missing"))?;
    let seconds = Some(timestamp)
        .filter(|t| !t.is_empty() && t.len() <= 12 && t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse::<i64>().ok())
        .ok_or_else(|| unauthenticated("X-Stakeline-Timestamp must be Unix seconds"))?;
    if (now.seconds() - seconds).abs() > SIGNATURE_WINDOW_SECONDS {
        return Err(unauthenticated(
            "X-Stakeline-Timestamp is more than 5 minutes from now",
        ));
    }
    let signature = hex::decode(signature.trim())
        .ok()
        .filter(|s| s.len() == 32)
        .ok_or_else(|| unauthenticated("X-Stakeline-Signature must be 64 hex digits"))?;
    let valid = secrets.0.iter().any(|secret| {
        let mut m = mac(secret);
        m.update(timestamp.as_bytes());
        m.update(b".");
        m.update(body);
        m.verify_slice(&signature).is_ok()
    });
    if valid {
        Ok(())
    } else {
        Err(unauthenticated("the signature does not match the request"))
    }
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
}

/// Mints a local player token (the local suite's stand-in for the identity provider).
pub fn mint_local_token(
    secret: &[u8],
    sub: &str,
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
    Ok(claims.sub)
}

/// The `sub` claim API Gateway's JWT authorizer put in the request context, if any.
fn authorizer_subject(request: &Request) -> Option<String> {
    #[allow(irrefutable_let_patterns)]
    let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() else {
        return None;
    };
    context
        .authorizer
        .as_ref()?
        .jwt
        .as_ref()?
        .claims
        .get("sub")
        .cloned()
}

fn bearer_token(request: &Request) -> Option<&str> {
    let value = request.headers().get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The authenticated player's subject (not yet matched against any path).
pub fn player_subject(
    request: &Request,
    config: &Config,
    now: Timestamp,
) -> Result<String, WalletError> {
    if let Some(sub) = authorizer_subject(request) {
        return Ok(sub);
    }
    match &config.player_auth {
        PlayerAuth::ApiGateway => Err(unauthenticated("a bearer token is required")),
        PlayerAuth::LocalHs256 { secret } => {
            let token = bearer_token(request)
                .ok_or_else(|| unauthenticated("a bearer token is required"))?;
            verify_local_token(token, secret, now)
        }
    }
}

/// The player a player route acts for: the token's subject, which must be the path's
/// `{player_id}` (403 otherwise).
pub fn require_player(
    request: &Request,
    config: &Config,
    now: Timestamp,
    path_player: Option<&str>,
) -> Result<PlayerId, WalletError> {
    let sub = player_subject(request, config, now)?;
    let path_player = path_player.unwrap_or_default();
    if sub != path_player {
        return Err(WalletError::Forbidden(
            "the token belongs to another player".into(),
        ));
    }
    PlayerId::new(path_player).map_err(|_| WalletError::PlayerNotFound(path_player.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http::HeaderValue;

    const NOW: Timestamp = Timestamp::from_millis(1_795_392_000_000);
    const SECRET: &[u8] = b"stakeline-local-payment-provider-secret";

    fn headers(timestamp: &str, signature: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(TIMESTAMP_HEADER, HeaderValue::from_str(timestamp).unwrap());
        h.insert(SIGNATURE_HEADER, HeaderValue::from_str(signature).unwrap());
        h
    }

    fn secrets() -> HmacSecrets {
        HmacSecrets::parse("old-secret-rotated-out-0000, stakeline-local-payment-provider-secret")
            .unwrap()
    }

    #[test]
    fn signature_matches_an_independent_vector() {
        // Python: hmac.new(secret, b'1795392000.{"a":1}', hashlib.sha256).hexdigest()
        assert_eq!(
            sign(SECRET, "1795392000", br#"{"a":1}"#),
            "dfa2de6ac94b1685ec9dba48cb42dbdab59ea24741a4fe9b9a63d9d41a7587af"
        );
    }

    #[test]
    fn accepts_a_fresh_signature_by_any_current_secret() {
        let body = br#"{"deposit_id":"d1","amount":100,"currency":"EUR"}"#;
        let sig = sign(SECRET, "1795392000", body);
        assert_eq!(
            verify_signature(&headers("1795392000", &sig), body, &secrets(), NOW),
            Ok(())
        );
        assert_eq!(
            verify_signature(
                &headers("1795392000", &sig.to_uppercase()),
                body,
                &secrets(),
                NOW
            ),
            Ok(())
        );
        let edge = (NOW.seconds() - 300).to_string();
        assert!(verify_signature(
            &headers(&edge, &sign(SECRET, &edge, body)),
            body,
            &secrets(),
            NOW
        )
        .is_ok());
    }

    #[test]
    fn refuses_stale_future_tampered_or_missing_signatures() {
        let body = br#"{"amount":100}"#;
        let stale = (NOW.seconds() - 301).to_string();
        let future = (NOW.seconds() + 301).to_string();
        for ts in [stale, future] {
            let sig = sign(SECRET, &ts, body);
            assert!(
                verify_signature(&headers(&ts, &sig), body, &secrets(), NOW).is_err(),
                "{ts}"
            );
        }
        let sig = sign(SECRET, "1795392000", body);
        assert!(verify_signature(
            &headers("1795392000", &sig),
            br#"{"amount":101}"#,
            &secrets(),
            NOW
        )
        .is_err());
        assert!(verify_signature(&headers("1795392001", &sig), body, &secrets(), NOW).is_err());
        let other = sign(b"another-integration-secret", "1795392000", body);
        assert!(verify_signature(&headers("1795392000", &other), body, &secrets(), NOW).is_err());
        for (ts, s) in [
            ("", sig.as_str()),
            ("-1795392000", sig.as_str()),
            ("1795392000.0", sig.as_str()),
            ("1795392000", "zz"),
            ("1795392000", &sig[..62]),
        ] {
            let err = verify_signature(&headers(ts, s), body, &secrets(), NOW).unwrap_err();
            assert_eq!(err.code(), ledger::ErrorCode::Unauthenticated, "{ts} {s}");
        }
        assert!(verify_signature(&HeaderMap::new(), body, &secrets(), NOW).is_err());
    }

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
}
