//! The events the bench sends: API Gateway HTTP API (payload 2.0) events shaped like the
//! samples in `events/`, signed the way the integrations sign (HMAC-SHA256 over
//! `timestamp.METHOD.rawPath.body`) or carrying a local player token, and the SQS and stream
//! events of the other functions, built from the samples in `events/`.

use ledger::Timestamp;
use serde_json::{json, Value};
use std::path::Path;
use wire::signature::{sign, Signed, QUEUE_METHOD, SETTLEMENT_QUEUE_PATH};

pub const JWT_SECRET: &str = "stakeline-local-jwt-secret";
pub const PROVIDER_SECRET: &str = "stakeline-local-payment-provider-secret";
pub const AGGREGATOR_SECRET: &str = "stakeline-local-aggregator-secret";

/// Who authenticates a request.
pub enum Caller<'a> {
    /// A player's bearer token (local HS256, as the local suite issues them).
    Player(&'a str),
    /// An integration's HMAC signature with this secret.
    Signed(&'a str),
}

/// An API Gateway HTTP API event for `method raw_path`, matched by `route_key`.
pub fn http_event(
    method: &str,
    raw_path: &str,
    route_key: &str,
    path_parameters: &[(&str, &str)],
    body: &str,
    caller: Caller<'_>,
) -> Value {
    let now = Timestamp::now();
    let mut headers = serde_json::Map::new();
    for (name, value) in [
        ("accept", "application/json"),
        ("host", "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"),
        ("user-agent", "stakeline-bench/1.0"),
        ("x-forwarded-for", "203.0.113.7"),
        ("x-forwarded-port", "443"),
        ("x-forwarded-proto", "https"),
    ] {
        headers.insert(name.into(), json!(value));
    }
    headers.insert(
        "x-amzn-trace-id".into(),
        json!(format!(
            "Root=1-{:08x}-{:024x}",
            now.seconds(),
            fastrand::u128(..) >> 32
        )),
    );
    if !body.is_empty() {
        headers.insert("content-type".into(), json!("application/json"));
        headers.insert("content-length".into(), json!(body.len().to_string()));
    }
    match caller {
        Caller::Player(player) => {
            let token = wire::token::mint_local_token(JWT_SECRET.as_bytes(), player, now, 3600);
            headers.insert("authorization".into(), json!(format!("Bearer {token}")));
        }
        Caller::Signed(secret) => {
            let timestamp = now.seconds().to_string();
            let signed = Signed {
                method,
                path: raw_path,
                body: body.as_bytes(),
            };
            headers.insert("x-stakeline-timestamp".into(), json!(timestamp));
            headers.insert(
                "x-stakeline-signature".into(),
                json!(sign(secret.as_bytes(), &timestamp, &signed)),
            );
        }
    }
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "a1b2c3d4e5",
            "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "a1b2c3d4e5",
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "stakeline-bench/1.0"
            },
            "requestId": format!("{:016x}=", fastrand::u64(..)),
            "routeKey": route_key,
            "stage": "$default",
            "time": "01/Jan/2026:00:00:00 +0000",
            "timeEpoch": now.millis()
        },
        "isBase64Encoded": false
    });
    if !path_parameters.is_empty() {
        let parameters: serde_json::Map<String, Value> = path_parameters
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        event["pathParameters"] = Value::Object(parameters);
    }
    if !body.is_empty() {
        event["body"] = json!(body);
    }
    event
}

pub fn register(player: &str) -> Value {
    let body = json!({
        "email": format!("{player}@example.com"),
        "date_of_birth": "1990-04-12",
        "country": "MT",
        "currency": "EUR",
        "display_name": "Bench Player"
    })
    .to_string();
    http_event(
        "POST",
        "/players",
        "POST /players",
        &[],
        &body,
        Caller::Player(player),
    )
}

pub fn deposit(player: &str, deposit_id: &str, amount: i64) -> Value {
    let body = json!({"deposit_id": deposit_id, "amount": amount, "currency": "EUR"}).to_string();
    http_event(
        "POST",
        &format!("/players/{player}/deposits"),
        "POST /players/{player_id}/deposits",
        &[("player_id", player)],
        &body,
        Caller::Signed(PROVIDER_SECRET),
    )
}

pub fn bet(player: &str, bet_id: &str, amount: i64) -> Value {
    let body = json!({"bet_id": bet_id, "round_id": "round-1", "game_id": "starburst", "amount": amount, "currency": "EUR"})
        .to_string();
    http_event(
        "POST",
        &format!("/players/{player}/bets"),
        "POST /players/{player_id}/bets",
        &[("player_id", player)],
        &body,
        Caller::Signed(AGGREGATOR_SECRET),
    )
}

/// A settlement body: a win of `amount` (0 closes the bet as lost).
pub fn settlement_body(settlement_id: &str, amount: i64) -> String {
    json!({"settlement_id": settlement_id, "kind": "win", "amount": amount}).to_string()
}

pub fn settle(player: &str, bet_id: &str, settlement_id: &str, amount: i64) -> Value {
    http_event(
        "POST",
        &format!("/players/{player}/bets/{bet_id}/settlement"),
        "POST /players/{player_id}/bets/{bet_id}/settlement",
        &[("player_id", player), ("bet_id", bet_id)],
        &settlement_body(settlement_id, amount),
        Caller::Signed(AGGREGATOR_SECRET),
    )
}

pub fn wallet(player: &str) -> Value {
    http_event(
        "GET",
        &format!("/players/{player}/wallet"),
        "GET /players/{player_id}/wallet",
        &[("player_id", player)],
        "",
        Caller::Player(player),
    )
}

fn sample(root: &Path, path: &str) -> Result<Value, String> {
    let file = root.join("events").join(path);
    let text = std::fs::read_to_string(&file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", file.display()))
}

/// `events/<path>` with its records cut to the first one.
fn first_record(root: &Path, path: &str) -> Result<Value, String> {
    let mut event = sample(root, path)?;
    let first = event
        .pointer("/Records/0")
        .cloned()
        .ok_or_else(|| format!("events/{path} has no record"))?;
    event["Records"] = json!([first]);
    Ok(event)
}

/// A settlement queue batch of one message, signed by the aggregator now (the shape of
/// `events/settle-queue/batch.json`).
pub fn settlement_message(
    root: &Path,
    player: &str,
    bet_id: &str,
    settlement_id: &str,
    amount: i64,
) -> Result<Value, String> {
    let mut event = first_record(root, "settle-queue/batch.json")?;
    let body = json!({"player_id": player, "bet_id": bet_id, "settlement_id": settlement_id, "kind": "win", "amount": amount})
        .to_string();
    let timestamp = Timestamp::now().seconds().to_string();
    let signature = sign(
        AGGREGATOR_SECRET.as_bytes(),
        &timestamp,
        &Signed {
            method: QUEUE_METHOD,
            path: SETTLEMENT_QUEUE_PATH,
            body: body.as_bytes(),
        },
    );
    let record = &mut event["Records"][0];
    record["messageId"] = json!(format!("{:032x}", fastrand::u128(..)));
    record["body"] = json!(body);
    record["messageAttributes"]["X-Stakeline-Timestamp"]["stringValue"] = json!(timestamp);
    record["messageAttributes"]["X-Stakeline-Signature"]["stringValue"] = json!(signature);
    Ok(event)
}

/// The bonus queue's delivery of a `DepositCompleted` (the shape of
/// `events/bonus-award/deposit-completed.json`): `committed` is the event as its change
/// committed it (an envelope), as the publisher would have put it on the bus.
pub fn bonus_delivery(root: &Path, committed: &Value) -> Result<Value, String> {
    let mut event = first_record(root, "bonus-award/deposit-completed.json")?;
    let envelope = json!({
        "version": "0",
        "id": format!("{:032x}", fastrand::u128(..)),
        "detail-type": committed["detail_type"],
        "source": committed["source"],
        "account": "123456789012",
        "time": Timestamp::now().to_rfc3339(),
        "region": "us-east-1",
        "resources": [],
        "detail": committed["detail"],
    });
    let record = &mut event["Records"][0];
    record["messageId"] = json!(format!("{:032x}", fastrand::u128(..)));
    record["body"] = json!(envelope.to_string());
    Ok(event)
}

/// A stream batch of one write carrying events (the first record of `events/publisher/stream.json`).
pub fn stream_batch(root: &Path) -> Result<Value, String> {
    first_record(root, "publisher/stream.json")
}

/// The status code of an API Gateway proxy response.
pub fn status(answer: &[u8]) -> Option<u64> {
    serde_json::from_slice::<Value>(answer)
        .ok()?
        .get("statusCode")?
        .as_u64()
}

/// True when a batch response (SQS or stream) reports no failed item.
pub fn batch_ok(answer: &[u8]) -> bool {
    serde_json::from_slice::<Value>(answer)
        .ok()
        .map(|v| {
            v.get("batchItemFailures")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty)
        })
        .unwrap_or(false)
}
