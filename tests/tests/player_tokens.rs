//! `GET /players/{player_id}/bets/{bet_id}` on AWS has no JWT authorizer (the aggregator
//! signs instead of presenting a token), so `wallet-read` verifies a player's token itself
//! with the identity provider's keys (`edge::jwt`). An identity provider is stood up here:
//! an OpenID discovery document and a key set served over HTTP on a loopback port, and RSA
//! keys generated per test.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use edge::jwt::JwtVerifier;
use edge::{Clock, JwtSettings, PlayerAuth, State};
use lambda_http::http::{HeaderValue, Method};
use ledger::Timestamp;
use serde_json::{json, Value};
use stakeline_tests::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const AUDIENCE: &str = "stakeline-players";

/// A signing key and the id it is published under.
struct Key {
    kid: String,
    pair: KeyPair,
}

impl Key {
    fn new(kid: &str) -> Key {
        Key {
            kid: kid.to_string(),
            pair: KeyPair::generate(KeySize::Rsa2048).expect("an RSA key"),
        }
    }

    fn jwk(&self) -> Value {
        let public = PublicKeyComponents::<Vec<u8>>::from(self.pair.public_key());
        json!({
            "kty": "RSA", "kid": self.kid, "alg": "RS256", "use": "sig",
            "n": URL_SAFE_NO_PAD.encode(&public.n),
            "e": URL_SAFE_NO_PAD.encode(&public.e),
        })
    }

    /// A token with this header and claims, signed RS256 with this key.
    fn sign(&self, header: Value, claims: Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .expect("a signature");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

/// An identity provider on a loopback port: its discovery document and its key set (which
/// a test may change, as a key rotation does), counting how often the keys are read.
struct Provider {
    issuer: String,
    keys: Arc<Mutex<Vec<Value>>>,
    key_reads: Arc<AtomicUsize>,
}

impl Provider {
    async fn start(published: &[&Key]) -> Provider {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let issuer = format!(
            "http://127.0.0.1:{}/idp",
            listener.local_addr().expect("an address").port()
        );
        let keys = Arc::new(Mutex::new(
            published.iter().map(|k| k.jwk()).collect::<Vec<_>>(),
        ));
        let key_reads = Arc::new(AtomicUsize::new(0));
        let (served_keys, reads, me) = (keys.clone(), key_reads.clone(), issuer.clone());
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut request = vec![0; 4096];
                let read = stream.read(&mut request).await.unwrap_or(0);
                let text = String::from_utf8_lossy(&request[..read]).to_string();
                let path = text.split(' ').nth(1).unwrap_or_default().to_string();
                let (status, body) = match path.as_str() {
                    "/idp/.well-known/openid-configuration" => (
                        "200 OK",
                        json!({"issuer": me, "jwks_uri": format!("{me}/keys")}).to_string(),
                    ),
                    "/idp/keys" => {
                        reads.fetch_add(1, Ordering::SeqCst);
                        let keys = served_keys.lock().expect("keys").clone();
                        ("200 OK", json!({ "keys": keys }).to_string())
                    }
                    _ => ("404 Not Found", "{}".to_string()),
                };
                let answer = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
            }
        });
        Provider {
            issuer,
            keys,
            key_reads,
        }
    }

    fn publish(&self, key: &Key) {
        self.keys.lock().expect("keys").push(key.jwk());
    }

    fn key_reads(&self) -> usize {
        self.key_reads.load(Ordering::SeqCst)
    }

    /// A player's claims as this provider issues them.
    fn claims(&self, player: &str, now: Timestamp) -> Value {
        json!({
            "sub": player, "iss": self.issuer, "aud": AUDIENCE,
            "iat": now.seconds(), "exp": now.seconds() + 3600,
        })
    }
}

/// `wallet-read` as deployed: no local tokens, the provider's tokens verified by the
/// function, the aggregator's secrets.
async fn deployed_state(provider: &Provider, clock: Clock) -> State {
    let mut state = state_at(clock).await;
    state.config.player_auth = PlayerAuth::ApiGateway;
    let settings = JwtSettings {
        issuer: provider.issuer.clone(),
        audiences: vec!["another-app".into(), AUDIENCE.into()],
    };
    state.jwt = Some(Arc::new(JwtVerifier::new(settings)));
    state
}

fn get_bet(player: &str, bet_id: &str, token: Option<&str>) -> lambda_http::Request {
    let path = format!("/players/{player}/bets/{bet_id}");
    let mut request = player_request_at(
        Method::GET,
        &path,
        &[("player_id", player), ("bet_id", bet_id)],
        "",
        player,
    );
    request.headers_mut().remove("authorization");
    if let Some(token) = token {
        let value = HeaderValue::from_str(&format!("Bearer {token}")).expect("a header");
        request.headers_mut().insert("authorization", value);
    }
    request
}

async fn ask(state: &State, request: lambda_http::Request) -> (u16, Value) {
    read(wallet_read::handle(state, request).await)
}

/// A player with a bet placed, through the local suite's state.
async fn player_with_bet() -> (String, String) {
    let local = state().await;
    let player = funded_player(&local, 1_000).await;
    let bet_id = unique("bet");
    let (status, body) = bet(&local, &player, &bet_id, 250).await;
    assert_eq!(status, 201, "{body}");
    (player, bet_id)
}

#[tokio::test]
async fn a_players_own_token_reads_the_bet_and_nothing_else_passes() {
    let key = Key::new("k-1");
    let stranger = Key::new("k-1");
    let provider = Provider::start(&[&key]).await;
    let now = Timestamp::now();
    let state = deployed_state(&provider, Clock::Fixed(now)).await;
    let (player, bet_id) = player_with_bet().await;
    let header = json!({"alg": "RS256", "kid": "k-1", "typ": "JWT"});

    let token = key.sign(header.clone(), provider.claims(&player, now));
    let (status, body) = ask(&state, get_bet(&player, &bet_id, Some(&token))).await;
    assert_eq!(
        (status, body["bet_id"].as_str()),
        (200, Some(bet_id.as_str())),
        "{body}"
    );
    assert_eq!(body["amount"], 250);

    // The client_id of an access token names the audience as well as aud does.
    let mut access = provider.claims(&player, now);
    access["aud"] = Value::Null;
    access["client_id"] = json!(AUDIENCE);
    let access = key.sign(header.clone(), access);
    assert_eq!(
        ask(&state, get_bet(&player, &bet_id, Some(&access)))
            .await
            .0,
        200
    );

    // Another player's valid token: 403, and the bet is not disclosed.
    let other = key.sign(header.clone(), provider.claims("someone-else", now));
    let (status, body) = ask(&state, get_bet(&player, &bet_id, Some(&other))).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("FORBIDDEN")),
        "{body}"
    );

    let expired = {
        let mut claims = provider.claims(&player, now);
        claims["exp"] = json!(now.seconds() - 120);
        key.sign(header.clone(), claims)
    };
    let wrong_audience = {
        let mut claims = provider.claims(&player, now);
        claims["aud"] = json!("some-other-api");
        key.sign(header.clone(), claims)
    };
    let wrong_issuer = {
        let mut claims = provider.claims(&player, now);
        claims["iss"] = json!("https://elsewhere.example/idp");
        key.sign(header.clone(), claims)
    };
    let forged = stranger.sign(header.clone(), provider.claims(&player, now));
    let hs256 = stakeline_tests::token(&player);
    let no_kid = key.sign(json!({"alg": "RS256"}), provider.claims(&player, now));
    let tampered = {
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        parts[1] = URL_SAFE_NO_PAD.encode(provider.claims("someone-else", now).to_string());
        parts.join(".")
    };
    for (what, token) in [
        ("expired", Some(expired)),
        ("wrong audience", Some(wrong_audience)),
        ("wrong issuer", Some(wrong_issuer)),
        (
            "signed by a key the issuer does not publish under that id",
            Some(forged),
        ),
        ("a local HS256 token", Some(hs256)),
        ("no key id", Some(no_kid)),
        ("claims changed after signing", Some(tampered)),
        ("not a JWT", Some("not-a-token".to_string())),
        ("no token", None),
    ] {
        let (status, body) = ask(&state, get_bet(&player, &bet_id, token.as_deref())).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (401, Some("UNAUTHENTICATED")),
            "{what}: {body}"
        );
        assert!(body.get("bet_id").is_none(), "{what}: {body}");
    }
    // One read of the keys served them all: nothing refetched for a known key id.
    assert_eq!(provider.key_reads(), 1);
}

#[tokio::test]
async fn the_aggregator_signs_where_no_authorizer_stands() {
    let key = Key::new("k-1");
    let provider = Provider::start(&[&key]).await;
    let state = deployed_state(&provider, Clock::System).await;
    let (player, bet_id) = player_with_bet().await;
    let path = format!("/players/{player}/bets/{bet_id}");
    let params = [("player_id", player.as_str()), ("bet_id", bet_id.as_str())];
    let now = Timestamp::now().seconds();
    let signed = signed_request(Method::GET, &path, &params, "", AGGREGATOR_SECRET, now);
    let (status, body) = ask(&state, signed).await;
    assert_eq!(
        (status, body["bet_id"].as_str()),
        (200, Some(bet_id.as_str())),
        "{body}"
    );
    let wrong = signed_request(Method::GET, &path, &params, "", PROVIDER_SECRET, now);
    assert_eq!(ask(&state, wrong).await.0, 401);
    // The signed path never consulted the identity provider.
    assert_eq!(provider.key_reads(), 0);
}

#[tokio::test]
async fn a_rotated_key_is_fetched_once_and_unknown_ids_are_rate_limited() {
    let old = Key::new("old");
    let provider = Provider::start(&[&old]).await;
    let start = Timestamp::now();
    let (player, bet_id) = player_with_bet().await;
    let header = |kid: &str| json!({"alg": "RS256", "kid": kid});
    let at = |seconds: i64| start.plus_millis(seconds * 1000);

    let first = deployed_state(&provider, Clock::Fixed(at(0))).await;
    let token = old.sign(header("old"), provider.claims(&player, at(0)));
    assert_eq!(
        ask(&first, get_bet(&player, &bet_id, Some(&token))).await.0,
        200
    );
    assert_eq!(provider.key_reads(), 1);

    // Made-up key ids within the minute: refused without reading the keys again.
    let mut state = first;
    for (second, kid) in [(5, "made-up-1"), (30, "made-up-2")] {
        state.clock = Clock::Fixed(at(second));
        let token = old.sign(header(kid), provider.claims(&player, at(second)));
        assert_eq!(
            ask(&state, get_bet(&player, &bet_id, Some(&token))).await.0,
            401
        );
    }
    assert_eq!(provider.key_reads(), 1);

    // The provider rotates: a token under the new key, a minute after the last read,
    // makes the function read the keys once more, and then it is accepted.
    let new = Key::new("new");
    provider.publish(&new);
    state.clock = Clock::Fixed(at(61));
    let rotated = new.sign(header("new"), provider.claims(&player, at(61)));
    let (status, body) = ask(&state, get_bet(&player, &bet_id, Some(&rotated))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(provider.key_reads(), 2);
    assert_eq!(
        ask(&state, get_bet(&player, &bet_id, Some(&rotated)))
            .await
            .0,
        200
    );
    assert_eq!(provider.key_reads(), 2);
}

#[tokio::test]
async fn an_unreachable_provider_is_a_server_error_not_the_players() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = listener.local_addr().expect("an address").port();
    drop(listener);
    let mut state = state().await;
    state.config.player_auth = PlayerAuth::ApiGateway;
    let settings = JwtSettings {
        issuer: format!("http://127.0.0.1:{port}/idp"),
        audiences: vec![AUDIENCE.into()],
    };
    state.jwt = Some(Arc::new(JwtVerifier::new(settings)));
    let key = Key::new("k");
    let now = Timestamp::now();
    let claims = json!({"sub": "p-1", "iss": "x", "aud": AUDIENCE, "exp": now.seconds() + 60});
    let token = key.sign(json!({"alg": "RS256", "kid": "k"}), claims);
    let (status, body) = ask(&state, get_bet("p-1", "b-1", Some(&token))).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (500, Some("INTERNAL")),
        "{body}"
    );
}
