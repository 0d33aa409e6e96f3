//! The integration harness. It starts ONE moto server per test binary, on a free port,
//! through the same tooling as the local suite (`infra/local/stack.py emulator`), so the
//! table comes from template.yaml itself. The emulator stops when this process exits (it
//! watches its stdin, which closes with us). Tests call the functions' handlers directly,
//! the way Lambda would, with requests built here or replayed from `events/`.

use edge::auth::{mint_local_scoped_token, mint_local_token, OPERATOR_SCOPE};
use edge::signature::{sign, HmacSecrets, Signed, QUEUE_METHOD, SETTLEMENT_QUEUE_PATH};
use edge::{Clock, Config, PlayerAuth, State};
use edge::{Keyring, Keyrings, SecretSetting};
use lambda_http::http::{HeaderValue, Method};
use lambda_http::{Body, Request, RequestExt, Response};
use ledger::{Account, LedgerEntry, PlayerId, Timestamp};
use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::OnceLock;
use store::Store;

pub const JWT_SECRET: &str = "stakeline-local-jwt-secret";
pub const PROVIDER_SECRET: &str = "stakeline-local-payment-provider-secret";
pub const AGGREGATOR_SECRET: &str = "stakeline-local-aggregator-secret";

pub struct Emulator {
    pub endpoint: String,
    pub region: String,
    pub table: String,
    /// The stack's outputs (queue and bus names, ...).
    pub outputs: Value,
    /// Logical id -> physical id of every provisioned resource (a queue's is its URL).
    pub resources: Value,
    _process: Child,
}

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

fn python() -> PathBuf {
    std::env::var_os("STAKELINE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv/bin/python"))
}

fn start_emulator() -> Emulator {
    let mut child = Command::new(python())
        .arg(workspace_root().join("infra/local/stack.py"))
        .args([
            "emulator",
            "--lifeline",
            "--stack",
            &format!("it-{}", std::process::id()),
        ])
        .current_dir(workspace_root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start {:?} (run ./dev test, which creates the venv): {e}",
                python()
            )
        });
    let stdout = child.stdout.take().expect("emulator stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("emulator ready line");
    let ready: Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("emulator said {line:?}: {e}"));
    let text = |pointer: &str| {
        ready
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{pointer} missing in {line}"))
            .to_string()
    };
    Emulator {
        endpoint: text("/endpoint"),
        region: text("/region"),
        table: text("/outputs/WalletTableName"),
        outputs: ready.get("outputs").cloned().unwrap_or(Value::Null),
        resources: ready.get("resources").cloned().unwrap_or(Value::Null),
        _process: child,
    }
}

pub fn emulator() -> &'static Emulator {
    static EMULATOR: OnceLock<Emulator> = OnceLock::new();
    EMULATOR.get_or_init(start_emulator)
}

/// SDK configuration for the emulator (or for `endpoint`, to inject an unreachable service).
pub async fn aws_at(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(emulator().region.clone()))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await
}

pub async fn dynamo() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&aws_at(&emulator().endpoint).await)
}

/// A stack output by name (e.g. `EventBusName`).
pub fn output(name: &str) -> String {
    emulator()
        .outputs
        .get(name)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("the stack has no output {name}"))
        .to_string()
}

/// A provisioned resource's physical id by its logical id (a queue's URL).
pub fn resource(logical_id: &str) -> String {
    emulator()
        .resources
        .get(logical_id)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("the stack has no resource {logical_id}"))
        .to_string()
}

/// The back office over `state`: every queue it knows, as the emulator provisioned them,
/// and the wallet bus.
pub async fn ops_of(state: &State) -> ops::Ops {
    let aws = aws_at(&emulator().endpoint).await;
    let watched = ops::queues::KNOWN
        .iter()
        .map(|known| format!("{}={}", known.name, resource(known.name)))
        .collect::<Vec<_>>()
        .join(" ");
    ops::Ops {
        state: state.clone(),
        queues: ops::queues::Queues::new(
            aws_sdk_sqs::Client::new(&aws),
            aws_sdk_dynamodbstreams::Client::new(&aws),
            publisher::Publisher::new(
                aws_sdk_eventbridge::Client::new(&aws),
                output("EventBusName"),
            ),
            resource("SettlementQueue"),
            ops::queues::parse_watched(&watched).expect("the known queues"),
        ),
    }
}

/// A function state against the emulator, configured as the local suite configures it.
pub async fn state_at(clock: Clock) -> State {
    let e = emulator();
    let provider = HmacSecrets::parse(PROVIDER_SECRET).expect("secret");
    let aggregator = HmacSecrets::parse(AGGREGATOR_SECRET).expect("secret");
    State {
        config: Config {
            table_name: e.table.clone(),
            player_auth: PlayerAuth::LocalHs256 {
                secret: JWT_SECRET.as_bytes().to_vec(),
            },
            payment_provider: Some(SecretSetting::Literal(provider.clone())),
            aggregator: Some(SecretSetting::Literal(aggregator.clone())),
            min_age: 18,
            risk_rules: None,
            player_jwt: None,
        },
        store: Store::new(dynamo().await, e.table.clone()),
        clock,
        keyrings: Keyrings {
            payment_provider: Some(Arc::new(Keyring::fixed(provider))),
            aggregator: Some(Arc::new(Keyring::fixed(aggregator))),
        },
        jwt: None,
    }
}

pub async fn state() -> State {
    state_at(Clock::System).await
}

/// An id no other test uses.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}-{:016x}", std::process::id(), fastrand::u64(..))
}

/// A player token. Valid for a week: tests that move a function's clock forward (limits,
/// exclusions) still present a live token.
pub fn token(player: &str) -> String {
    mint_local_token(
        JWT_SECRET.as_bytes(),
        player,
        Timestamp::now(),
        7 * 24 * 3600,
    )
}

fn build(
    method: Method,
    path: &str,
    params: &[(&str, &str)],
    query: &[(&str, &str)],
    body: &str,
) -> Request {
    let mut request = Request::new(if body.is_empty() {
        Body::Empty
    } else {
        Body::from(body.to_string())
    });
    *request.method_mut() = method;
    *request.uri_mut() = path.parse().expect("path");
    request
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    let params: HashMap<String, String> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let query: HashMap<String, String> = query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    request
        .with_path_parameters(params)
        .with_query_string_parameters(query)
}

/// A player's request, with a bearer token for `token_player` (or none).
pub fn player_request(
    method: Method,
    path: &str,
    player: Option<&str>,
    query: &[(&str, &str)],
    body: &str,
    token_player: Option<&str>,
) -> Request {
    let params: Vec<(&str, &str)> = player.map(|p| vec![("player_id", p)]).unwrap_or_default();
    let mut request = build(method, path, &params, query, body);
    if let Some(who) = token_player {
        let value = HeaderValue::from_str(&format!("Bearer {}", token(who))).expect("header");
        request.headers_mut().insert("authorization", value);
    }
    request
}

/// A player's request to a route with several path parameters, with the player's token.
pub fn player_request_at(
    method: Method,
    path: &str,
    params: &[(&str, &str)],
    body: &str,
    token_player: &str,
) -> Request {
    let mut request = build(method, path, params, &[], body);
    let value = HeaderValue::from_str(&format!("Bearer {}", token(token_player))).expect("header");
    request.headers_mut().insert("authorization", value);
    request
}

/// A payment provider's deposit request, signed now with the local secret.
pub fn deposit_request(player: &str, body: &str) -> Request {
    signed_deposit_request(player, body, PROVIDER_SECRET, Timestamp::now().seconds())
}

pub fn signed_deposit_request(player: &str, body: &str, secret: &str, timestamp: i64) -> Request {
    let path = format!("/players/{player}/deposits");
    signed_request(
        Method::POST,
        &path,
        &[("player_id", player)],
        body,
        secret,
        timestamp,
    )
}

/// A request signed by an integration (payment provider or aggregator).
pub fn signed_request(
    method: Method,
    path: &str,
    params: &[(&str, &str)],
    body: &str,
    secret: &str,
    timestamp: i64,
) -> Request {
    let mut request = build(method.clone(), path, params, &[], body);
    let ts = timestamp.to_string();
    let signed = Signed {
        method: method.as_str(),
        path,
        body: body.as_bytes(),
    };
    let signature = sign(secret.as_bytes(), &ts, &signed);
    let headers = request.headers_mut();
    headers.insert(
        "x-stakeline-timestamp",
        HeaderValue::from_str(&ts).expect("ts"),
    );
    headers.insert(
        "x-stakeline-signature",
        HeaderValue::from_str(&signature).expect("sig"),
    );
    request
}

/// Status and JSON body of a response.
pub fn read(response: Response<Body>) -> (u16, Value) {
    let status = response.status().as_u16();
    let body: Value = serde_json::from_slice(response.body()).unwrap_or(Value::Null);
    (status, body)
}

pub fn registration(email: &str) -> String {
    serde_json::json!({
        "email": email,
        "date_of_birth": "1990-04-12",
        "country": "MT",
        "currency": "EUR",
        "display_name": "Test Player"
    })
    .to_string()
}

/// Registers a fresh player and returns its id.
pub async fn new_player(state: &State) -> String {
    let player = unique("player");
    let body = registration(&format!("{player}@example.com"));
    let (status, answer) = read(
        register::handle(
            state,
            player_request(Method::POST, "/players", None, &[], &body, Some(&player)),
        )
        .await,
    );
    assert_eq!(status, 201, "{answer}");
    player
}

pub fn deposit_body(id: &str, amount: i64) -> String {
    serde_json::json!({"deposit_id": id, "amount": amount, "currency": "EUR"}).to_string()
}

/// A signed deposit, as the provider would send it at the function's clock time.
pub async fn deposit(state: &State, player: &str, id: &str, amount: i64) -> (u16, Value) {
    let request = signed_deposit_request(
        player,
        &deposit_body(id, amount),
        PROVIDER_SECRET,
        state.clock.now().seconds(),
    );
    read(deposit::handle(state, request).await)
}

pub async fn account(state: &State, player: &str) -> Option<Account> {
    state
        .store
        .account(&PlayerId::new(player).expect("player id"))
        .await
        .expect("read account")
}

/// Every entry of a wallet, oldest first, read page by page through the store.
pub async fn all_entries(state: &State, player: &str) -> Vec<LedgerEntry> {
    let player = PlayerId::new(player).expect("player id");
    let mut entries = Vec::new();
    let mut before = None;
    loop {
        let (page, more) = state
            .store
            .entries_page(&player, 100, before)
            .await
            .expect("entries");
        before = page.last().map(|e| e.seq);
        entries.extend(page);
        if !more {
            break;
        }
    }
    entries.reverse();
    entries
}

/// Invariants 1 and 2 on the stored wallet: what the audit checks, for one player.
pub async fn assert_wallet_consistent(state: &State, player: &str) -> Account {
    let account = account(state, player).await.expect("account exists");
    let entries = all_entries(state, player).await;
    ledger::invariant::no_negative_balance(&account).expect("invariant 1");
    ledger::invariant::balance_equals_entries(&account, &entries).expect("invariant 2");
    account
}

/// The aggregator's `POST /players/{player}/bets`, signed at the function's clock time.
pub async fn bet_with(state: &State, player: &str, body: &str) -> (u16, Value) {
    let path = format!("/players/{player}/bets");
    let request = signed_request(
        Method::POST,
        &path,
        &[("player_id", player)],
        body,
        AGGREGATOR_SECRET,
        state.clock.now().seconds(),
    );
    read(place_bet::handle(state, request).await)
}

pub fn bet_body(bet_id: &str, round: &str, amount: i64) -> String {
    serde_json::json!({"bet_id": bet_id, "round_id": round, "game_id": "starburst", "amount": amount, "currency": "EUR"}).to_string()
}

pub async fn bet(state: &State, player: &str, bet_id: &str, amount: i64) -> (u16, Value) {
    bet_with(state, player, &bet_body(bet_id, "round-1", amount)).await
}

/// The aggregator's `POST /players/{player}/bets/{bet_id}/settlement`.
pub async fn settle(state: &State, player: &str, bet_id: &str, body: &Value) -> (u16, Value) {
    let path = format!("/players/{player}/bets/{bet_id}/settlement");
    let request = signed_request(
        Method::POST,
        &path,
        &[("player_id", player), ("bet_id", bet_id)],
        &body.to_string(),
        AGGREGATOR_SECRET,
        state.clock.now().seconds(),
    );
    read(settle::handle(state, request).await)
}

pub fn win(settlement_id: &str, amount: i64) -> Value {
    serde_json::json!({"settlement_id": settlement_id, "kind": "win", "amount": amount})
}

pub fn rollback(settlement_id: &str) -> Value {
    serde_json::json!({"settlement_id": settlement_id, "kind": "rollback"})
}

/// A registered player with `cash` deposited.
pub async fn funded_player(state: &State, cash: i64) -> String {
    let player = new_player(state).await;
    if cash > 0 {
        let (status, body) = deposit(state, &player, &unique("dep"), cash).await;
        assert_eq!(status, 201, "{body}");
    }
    player
}

/// Credits a bonus as a bonus award would (one entry), with a wagering requirement and
/// a maximum stake while wagering.
pub async fn give_bonus(
    state: &State,
    player: &str,
    bonus: i64,
    wagering: i64,
    max_stake: Option<i64>,
) {
    let current = account(state, player).await.expect("account");
    let (mut next, entry) = current
        .post(
            ledger::EntryKind::BonusAward,
            0,
            bonus,
            &unique("bonus"),
            state.clock.now(),
        )
        .expect("bonus");
    next.wagering_remaining = wagering;
    next.max_stake_while_wagering = max_stake;
    if wagering > 0 {
        next.active_bonus = Some(ledger::bonus::ActiveBonus {
            campaign_id: "test-bonus".into(),
            awarded: bonus,
            wagering_required: wagering,
            expires_at: state.clock.now().plus_millis(30 * ledger::clock::DAY_MS),
        });
    }
    let commit = state
        .store
        .commit_movement(&current, &next, Some(&entry), &[])
        .await
        .expect("commit");
    assert_eq!(commit, store::Commit::Committed);
}

/// The audit (invariants 1-4) over these players' wallets and ids.
pub async fn assert_audit_clean(state: &State, players: &[&str]) {
    let snapshot = state.store.scan_all().await.expect("scan");
    let report = ledger::audit::audit(&snapshot.for_players(players));
    assert!(report.is_clean(), "{report}");
}

/// The first campaign, as the template configures it by default.
pub const FIRST_DEPOSIT_CAMPAIGN: &str = r#"[{"campaign_id":"first-deposit-match","trigger":"first_deposit","match_percent":100,"cap":{"EUR":10000,"GBP":10000,"USD":10000},"wagering_multiplier":10,"max_stake":{"EUR":500,"GBP":500,"USD":500},"expiry_days":30}]"#;

/// A bonus-award function's state over the same table.
pub async fn awarder(clock: edge::Clock) -> bonus_award::Awarder {
    bonus_award::Awarder {
        state: state_at(clock).await,
        campaigns: ledger::bonus::parse_campaigns(FIRST_DEPOSIT_CAMPAIGN).expect("campaigns"),
    }
}

/// Every write the table's stream has carried with events, read from the start of the stream
/// once per test process and then only what is new: the event ids each record carries, and
/// the record as Lambda hands it to the publisher.
#[derive(Default)]
struct StreamLog {
    /// The next iterator of each shard read so far.
    iterators: HashMap<String, Option<String>>,
    records: Vec<(Vec<ledger::events::Envelope>, Value)>,
}

static STREAM_LOG: tokio::sync::Mutex<Option<StreamLog>> = tokio::sync::Mutex::const_new(None);

/// A stream attribute value as Lambda's JSON shows it (`{"S": ...}`, `{"N": ...}`, ...).
fn stream_value(value: &aws_sdk_dynamodbstreams::types::AttributeValue) -> Value {
    use aws_sdk_dynamodbstreams::types::AttributeValue as A;
    match value {
        A::S(s) => serde_json::json!({ "S": s }),
        A::N(n) => serde_json::json!({ "N": n }),
        A::Bool(b) => serde_json::json!({ "BOOL": b }),
        A::Null(_) => serde_json::json!({ "NULL": true }),
        A::L(list) => serde_json::json!({ "L": list.iter().map(stream_value).collect::<Vec<_>>() }),
        A::M(map) => serde_json::json!({ "M": stream_image(map) }),
        A::Ss(all) => serde_json::json!({ "SS": all }),
        A::Ns(all) => serde_json::json!({ "NS": all }),
        other => panic!("an attribute the tests do not expect on the stream: {other:?}"),
    }
}

fn stream_image(
    image: &HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>,
) -> serde_json::Map<String, Value> {
    image
        .iter()
        .map(|(name, value)| (name.clone(), stream_value(value)))
        .collect()
}

/// Reads what the table's stream carried since the last call.
async fn read_stream(log: &mut StreamLog) {
    let aws = aws_at(&emulator().endpoint).await;
    let table = dynamo()
        .await
        .describe_table()
        .table_name(&emulator().table)
        .send()
        .await
        .expect("describe table");
    let stream_arn = table
        .table()
        .and_then(|t| t.latest_stream_arn())
        .expect("the table has a stream")
        .to_string();
    let streams = aws_sdk_dynamodbstreams::Client::new(&aws);
    let description = streams
        .describe_stream()
        .stream_arn(&stream_arn)
        .send()
        .await
        .expect("describe stream");
    let shards: Vec<String> = description
        .stream_description()
        .map(|d| {
            d.shards()
                .iter()
                .filter_map(|s| s.shard_id().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    for shard in shards {
        let mut iterator = match log.iterators.get(&shard) {
            Some(next) => next.clone(),
            None => streams
                .get_shard_iterator()
                .stream_arn(&stream_arn)
                .shard_id(&shard)
                .shard_iterator_type(aws_sdk_dynamodbstreams::types::ShardIteratorType::TrimHorizon)
                .send()
                .await
                .expect("shard iterator")
                .shard_iterator()
                .map(str::to_owned),
        };
        while let Some(current) = iterator.clone() {
            let out = streams
                .get_records()
                .shard_iterator(&current)
                .limit(1000)
                .send()
                .await
                .expect("get records");
            for record in out.records() {
                let Some(change) = record.dynamodb() else {
                    continue;
                };
                let image = change.new_image().map(stream_image).unwrap_or_default();
                let json = serde_json::json!({
                    "eventID": record.event_id().unwrap_or_default(),
                    "eventName": record.event_name().map(|n| n.as_str()).unwrap_or_default(),
                    "eventVersion": "1.1", "eventSource": "aws:dynamodb",
                    "awsRegion": emulator().region,
                    "dynamodb": {"ApproximateCreationDateTime": 1795392000,
                                 "Keys": change.keys().map(stream_image).unwrap_or_default(),
                                 "NewImage": image,
                                 "SequenceNumber": change.sequence_number().unwrap_or_default(),
                                 "SizeBytes": 512, "StreamViewType": "NEW_AND_OLD_IMAGES"},
                    "eventSourceARN": stream_arn,
                });
                let lambda_record: lambda_http::aws_lambda_events::event::dynamodb::EventRecord =
                    serde_json::from_value(json.clone()).expect("a stream record");
                if let Some(Ok(events)) = wire::stream::change_events(&lambda_record) {
                    log.records.push((events, json));
                }
            }
            let next = out.next_shard_iterator().map(str::to_owned);
            let done = out.records().is_empty();
            iterator = next;
            if done {
                break;
            }
        }
        log.iterators.insert(shard, iterator);
    }
}

/// The stream record (in Lambda's shape) of the write that carried the event `event_id`,
/// and that event: `None` if no committed change carried it.
pub async fn change_record(event_id: &str) -> Option<(ledger::events::Envelope, Value)> {
    let mut guard = STREAM_LOG.lock().await;
    let log = guard.get_or_insert_with(StreamLog::default);
    read_stream(log).await;
    log.records.iter().find_map(|(events, record)| {
        events
            .iter()
            .find(|e| e.detail["event_id"] == event_id)
            .map(|e| (e.clone(), record.clone()))
    })
}

/// The event a change carried to the table's stream (its outbox), found by its id.
pub async fn outbox_event(_state: &State, event_id: &str) -> Option<ledger::events::Envelope> {
    change_record(event_id).await.map(|(event, _)| event)
}

/// What EventBridge puts on a queue for an event: its envelope.
pub fn eventbridge_delivery(envelope: &ledger::events::Envelope) -> String {
    serde_json::json!({
        "version": "0",
        "id": unique("eb"),
        "detail-type": envelope.detail_type,
        "source": envelope.source,
        "account": "123456789012",
        "time": "2026-11-23T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": envelope.detail,
    })
    .to_string()
}

/// Signs a settlement queue message as the aggregator does: message attributes
/// `X-Stakeline-Timestamp` and `X-Stakeline-Signature` over `timestamp.SQS./settlement-queue.body`.
pub fn sign_queue_message(
    message: &mut lambda_http::aws_lambda_events::event::sqs::SqsMessage,
    secret: &str,
    timestamp: i64,
) {
    let body = message.body.clone().unwrap_or_default();
    let ts = timestamp.to_string();
    let signature = sign(
        secret.as_bytes(),
        &ts,
        &Signed {
            method: QUEUE_METHOD,
            path: SETTLEMENT_QUEUE_PATH,
            body: body.as_bytes(),
        },
    );
    for (name, value) in [
        ("X-Stakeline-Timestamp", ts),
        ("X-Stakeline-Signature", signature),
    ] {
        let mut attribute =
            lambda_http::aws_lambda_events::event::sqs::SqsMessageAttribute::default();
        attribute.string_value = Some(value);
        attribute.data_type = Some("String".into());
        message.message_attributes.insert(name.into(), attribute);
    }
}

pub fn sqs_batch(bodies: &[String]) -> lambda_http::aws_lambda_events::event::sqs::SqsEvent {
    let mut event = lambda_http::aws_lambda_events::event::sqs::SqsEvent::default();
    for (n, body) in bodies.iter().enumerate() {
        let mut message = lambda_http::aws_lambda_events::event::sqs::SqsMessage::default();
        message.message_id = Some(format!("m{n}"));
        message.body = Some(body.clone());
        event.records.push(message);
    }
    event
}

/// A player's bonus grant record (`BONUS#<player>#<campaign>`), as stored.
pub async fn grant(state: &State, player: &str, campaign: &str) -> Value {
    let player = PlayerId::new(player).expect("player id");
    let item = dynamo()
        .await
        .get_item()
        .table_name(&emulator().table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(store::keys::bonus_pk(&player, campaign)),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S(
                store::keys::ItemType::Bonus.sort_key().into(),
            ),
        )
        .consistent_read(true)
        .send()
        .await
        .expect("get grant")
        .item
        .unwrap_or_else(|| {
            panic!(
                "{player} has no grant of {campaign} in {}",
                state.store.table()
            )
        });
    serde_dynamo::from_item(item).expect("grant")
}

/// An operator's token (scope `stakeline/ops`) for the staff member `staff`.
pub fn operator_token(staff: &str) -> String {
    mint_local_scoped_token(
        JWT_SECRET.as_bytes(),
        staff,
        Some(OPERATOR_SCOPE),
        Timestamp::now(),
        3600,
    )
}

/// An operator's request to an `/ops` route, with `staff`'s operator token.
pub fn ops_request(
    method: Method,
    path: &str,
    params: &[(&str, &str)],
    query: &[(&str, &str)],
    body: &str,
    staff: &str,
) -> Request {
    let mut request = build(method, path, params, query, body);
    let value =
        HeaderValue::from_str(&format!("Bearer {}", operator_token(staff))).expect("header");
    request.headers_mut().insert("authorization", value);
    request
}

/// An operator's `PUT /ops/players/{player}/status`.
pub async fn set_status(state: &State, player: &str, status: &str, staff: &str) -> (u16, Value) {
    let path = format!("/ops/players/{player}/status");
    let body = serde_json::json!({"status": status, "reason": "fraud review"}).to_string();
    let request = ops_request(
        Method::PUT,
        &path,
        &[("player_id", player)],
        &[],
        &body,
        staff,
    );
    read(ops::handle(&ops_of(state).await, request).await)
}

/// Locks a player (`disabled`) through the operator's route.
pub async fn disable(state: &State, player: &str) {
    let (status, answer) = set_status(state, player, "disabled", "staff-harness").await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("disabled")),
        "{answer}"
    );
}

/// A state whose withdraw applies the risk rules `rules` (JSON).
pub async fn state_with_rules(rules: &str) -> State {
    let mut state = state().await;
    state.config.risk_rules = Some(ledger::risk::parse_rules(rules).expect("rules"));
    state
}

pub fn withdrawal_body(id: &str, amount: i64, reference: &str) -> String {
    serde_json::json!({"withdrawal_id": id, "amount": amount, "currency": "EUR",
           "destination": {"kind": "bank_account", "reference": reference}})
    .to_string()
}

/// The player's `POST /players/{player}/withdrawals` with `body`.
pub async fn request_withdrawal(state: &State, player: &str, body: &str) -> (u16, Value) {
    let path = format!("/players/{player}/withdrawals");
    let request = player_request(Method::POST, &path, Some(player), &[], body, Some(player));
    read(withdraw::handle(state, request).await)
}

/// The player's `POST /players/{player}/exclusions` with `body`, with the player's token.
pub async fn exclude(state: &State, player: &str, body: &str) -> (u16, Value) {
    let path = format!("/players/{player}/exclusions");
    let request = player_request(Method::POST, &path, Some(player), &[], body, Some(player));
    read(register::handle(state, request).await)
}

/// The message ids an SQS batch response reports as failed, in order.
pub fn failed_ids(
    response: &lambda_http::aws_lambda_events::event::sqs::SqsBatchResponse,
) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}
