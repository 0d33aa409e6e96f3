//! Player tokens a function verifies itself. API Gateway's JWT authorizer guards every
//! player route but one: `GET /players/{player_id}/bets/{bet_id}` is also the aggregator's,
//! who signs instead of presenting a token, so that route has no authorizer and
//! `wallet-read` checks whichever credential the request carries. A token is checked as the
//! authorizer checks it: an RSA signature (RS256, RS384 or RS512) by a key the issuer
//! publishes (found by OpenID discovery from the issuer, as the authorizer finds it), the
//! exact issuer, an audience in `aud` or `client_id`, and `exp`/`nbf`.
//!
//! The keys are fetched on first use, not at cold start (most cold starts serve other
//! routes), kept for the life of the environment, and fetched again when a token names a
//! key not yet seen (an identity provider's key rotation) at most once a minute, so forged
//! key ids cannot make the function hammer the provider.

use crate::config::JwtSettings;
use crate::https;
use aws_lc_rs::signature::{self, RsaPublicKeyComponents};
use ledger::{Timestamp, WalletError};
use std::time::Duration;
use tokio::sync::Mutex;
use wire::jwks::{self, KeySet, RsaKey};
use wire::token::{TokenPolicy, UnverifiedJwt, VerifiedToken};

/// The soonest the keys are fetched again for an unknown key id.
pub const REFETCH_AFTER_SECONDS: i64 = 60;
/// The soonest a failed fetch is tried again (the provider is not hammered while it is down).
pub const RETRY_AFTER_FAILURE_SECONDS: i64 = 5;
/// One fetch (discovery document or key set) may take this long.
const FETCH_DEADLINE: Duration = Duration::from_secs(3);
/// The largest discovery document or key set read.
const MAX_DOCUMENT: usize = 256 * 1024;

#[derive(Default)]
struct Cache {
    keys: KeySet,
    fetched_at: Option<Timestamp>,
    failed_at: Option<Timestamp>,
    /// Built with the first fetch: loading the platform's certificate roots is work a cold
    /// start that never sees a token should not do.
    client: Option<https::Client>,
}

/// Verifies an identity provider's player tokens (see the module's documentation).
pub struct JwtVerifier {
    settings: JwtSettings,
    cache: Mutex<Cache>,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

fn invalid(why: &str) -> WalletError {
    WalletError::Unauthenticated(format!("the bearer token is invalid: {why}"))
}

impl JwtVerifier {
    pub fn new(settings: JwtSettings) -> JwtVerifier {
        JwtVerifier {
            settings,
            cache: Mutex::new(Cache::default()),
        }
    }

    /// The token's subject and scopes, or 401 saying what is wrong with it; 500 when the
    /// issuer's keys cannot be read (that is not the caller's fault).
    pub async fn verify(&self, token: &str, now: Timestamp) -> Result<VerifiedToken, WalletError> {
        let jwt = UnverifiedJwt::parse(token)?;
        let algorithm: &'static signature::RsaParameters = match jwt.alg() {
            "RS256" => &signature::RSA_PKCS1_2048_8192_SHA256,
            "RS384" => &signature::RSA_PKCS1_2048_8192_SHA384,
            "RS512" => &signature::RSA_PKCS1_2048_8192_SHA512,
            _ => return Err(invalid("only RS256, RS384 and RS512 tokens are accepted")),
        };
        let kid = jwt
            .kid()
            .ok_or_else(|| invalid("its header names no key (kid)"))?;
        let key = self.key(kid, now).await?;
        if key.alg.as_deref().is_some_and(|alg| alg != jwt.alg()) {
            return Err(invalid("its key is published for another algorithm"));
        }
        RsaPublicKeyComponents {
            n: key.n.as_slice(),
            e: key.e.as_slice(),
        }
        .verify(algorithm, jwt.signing_input(), jwt.signature())
        .map_err(|_| invalid("bad signature"))?;
        let audiences: Vec<&str> = self.settings.audiences.iter().map(String::as_str).collect();
        jwt.claims(
            &TokenPolicy {
                issuer: &self.settings.issuer,
                audiences: &audiences,
            },
            now,
        )
    }

    /// The published key `kid`, fetching the key set when it is unknown and the last fetch
    /// is old enough.
    async fn key(&self, kid: &str, now: Timestamp) -> Result<RsaKey, WalletError> {
        let mut cache = self.cache.lock().await;
        if let Some(key) = cache.keys.key(kid) {
            return Ok(key.clone());
        }
        let since = |at: Option<Timestamp>| at.map(|at| now.seconds().saturating_sub(at.seconds()));
        let fresh = since(cache.fetched_at).is_some_and(|s| s < REFETCH_AFTER_SECONDS);
        let failing = since(cache.failed_at).is_some_and(|s| s < RETRY_AFTER_FAILURE_SECONDS);
        if failing {
            return Err(unreadable("the last attempt failed moments ago"));
        }
        if !fresh {
            let fetched = match &cache.client {
                Some(client) => self.fetch(client).await,
                None => match https::client() {
                    Ok(client) => self.fetch(cache.client.insert(client)).await,
                    Err(e) => Err(e),
                },
            };
            match fetched {
                Ok(keys) => {
                    tracing::info!(keys = keys.len(), "read the identity provider's keys");
                    cache.keys = keys;
                    cache.fetched_at = Some(now);
                    cache.failed_at = None;
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the identity provider's keys");
                    cache.failed_at = Some(now);
                    return Err(unreadable(&e));
                }
            }
        }
        cache
            .keys
            .key(kid)
            .cloned()
            .ok_or_else(|| invalid("its key is not one the issuer publishes"))
    }

    /// The issuer's key set, by way of its discovery document.
    async fn fetch(&self, client: &https::Client) -> Result<KeySet, String> {
        let issuer = &self.settings.issuer;
        let document = https::get(
            client,
            &jwks::discovery_url(issuer),
            FETCH_DEADLINE,
            MAX_DOCUMENT,
        )
        .await?;
        let uri = jwks::jwks_uri(&document, issuer).map_err(|e| e.to_string())?;
        let set = https::get(client, &uri, FETCH_DEADLINE, MAX_DOCUMENT).await?;
        KeySet::parse(&set).map_err(|e| e.to_string())
    }
}

fn unreadable(why: &str) -> WalletError {
    WalletError::Internal(format!(
        "the identity provider's keys cannot be read: {why}"
    ))
}
