//! The bench's own side of the table: SDK clients against the emulator (one bare, one
//! metered), a function `State` configured as the local suite configures the functions, and
//! the operations it runs in-process: the functions' handlers (the same code as the
//! binaries, without the runtime) and the raw store calls a money operation needs.

use crate::events;
use crate::meter::Meter;
use edge::signature::HmacSecrets;
use edge::{Clock, Config, Keyring, Keyrings, PlayerAuth, SecretSetting, State};
use ledger::api::DepositRequest;
use ledger::bet::{BetCommand, BetRequest};
use ledger::deposit::{DepositCommand, DepositRecord};
use ledger::idempotency::Recorded;
use ledger::settlement::{SettlementCommand, SettlementRecord, SettlementRequest};
use ledger::{ClientId, PlayerId, Timestamp};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::{Commit, Store};

pub struct World {
    pub table: String,
    /// Handlers in-process, every request counted by `meter`.
    pub metered: State,
    pub meter: Meter,
    /// The raw store calls, from a client with nothing added.
    pub bare: Store,
}

async fn sdk(endpoint: &str, region: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(region.to_string()))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "bench",
        ))
        .load()
        .await
}

fn state(client: aws_sdk_dynamodb::Client, table: &str) -> State {
    let provider =
        HmacSecrets::parse(events::PROVIDER_SECRET).expect("the local provider secret parses");
    let aggregator =
        HmacSecrets::parse(events::AGGREGATOR_SECRET).expect("the local aggregator secret parses");
    State {
        config: Config {
            table_name: table.to_string(),
            player_auth: PlayerAuth::LocalHs256 {
                secret: events::JWT_SECRET.as_bytes().to_vec(),
            },
            payment_provider: Some(SecretSetting::Literal(provider.clone())),
            aggregator: Some(SecretSetting::Literal(aggregator.clone())),
            min_age: 18,
            risk_rules: None,
            player_jwt: None,
        },
        store: Store::new(client, table.to_string()),
        clock: Clock::System,
        keyrings: Keyrings {
            payment_provider: Some(Arc::new(Keyring::fixed(provider))),
            aggregator: Some(Arc::new(Keyring::fixed(aggregator))),
        },
        jwt: None,
    }
}

/// A fresh id with a prefix.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{:016x}", fastrand::u64(..))
}

fn request(event: &Value) -> lambda_http::Request {
    lambda_http::request::from_str(&event.to_string())
        .expect("the bench's own events are valid API Gateway events")
}

fn status_of(response: lambda_http::Response<lambda_http::Body>) -> u16 {
    response.status().as_u16()
}

impl World {
    pub async fn new(endpoint: &str, region: &str, table: &str) -> World {
        let config = sdk(endpoint, region).await;
        let meter = Meter::default();
        let metered_client = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&config)
                .interceptor(meter.clone())
                .build(),
        );
        World {
            table: table.to_string(),
            metered: state(metered_client, table),
            meter,
            bare: Store::new(aws_sdk_dynamodb::Client::new(&config), table.to_string()),
        }
    }

    /// Registers a player through the register handler; its id.
    pub async fn player(&self, tag: &str) -> String {
        let player = unique(&format!("bench-{tag}"));
        let status =
            status_of(register::handle(&self.metered, request(&events::register(&player))).await);
        assert_eq!(status, 201, "registering {player}");
        player
    }

    /// A registered player with `cash` deposited (in deposits of at most 10,000,000).
    pub async fn funded(&self, tag: &str, cash: i64) -> String {
        let player = self.player(tag).await;
        let mut left = cash;
        while left > 0 {
            let amount = left.min(10_000_000);
            let status = self.deposit(&player, &unique("seed"), amount).await;
            assert_eq!(status, 201, "funding {player}");
            left -= amount;
        }
        player
    }

    /// The deposit handler, in-process.
    pub async fn deposit(&self, player: &str, deposit_id: &str, amount: i64) -> u16 {
        status_of(
            deposit::handle(
                &self.metered,
                request(&events::deposit(player, deposit_id, amount)),
            )
            .await,
        )
    }

    /// The place-bet handler, in-process.
    pub async fn bet(&self, player: &str, bet_id: &str, amount: i64) -> u16 {
        status_of(
            place_bet::handle(&self.metered, request(&events::bet(player, bet_id, amount))).await,
        )
    }

    /// The settle handler, in-process: a win of `amount` (0: lost).
    pub async fn settle(
        &self,
        player: &str,
        bet_id: &str,
        settlement_id: &str,
        amount: i64,
    ) -> u16 {
        status_of(
            settle::handle(
                &self.metered,
                request(&events::settle(player, bet_id, settlement_id, amount)),
            )
            .await,
        )
    }

    /// Open bets of `amount` on `player`, placed in-process; their ids.
    pub async fn open_bets(&self, player: &str, count: usize, amount: i64) -> Vec<String> {
        let mut bets = Vec::with_capacity(count);
        for _ in 0..count {
            let bet_id = unique("bet");
            assert_eq!(
                self.bet(player, &bet_id, amount).await,
                201,
                "placing {bet_id}"
            );
            bets.push(bet_id);
        }
        bets
    }

    /// The `DepositCompleted` event of `player`'s latest deposit, as its wallet write carried
    /// it to the table's stream (the wallet's `events` attribute, until its next change).
    pub async fn deposit_event(&self, player: &str, deposit_id: &str) -> Result<Value, String> {
        let out = self
            .bare
            .client()
            .get_item()
            .table_name(&self.table)
            .key(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S(store::keys::player_pk(&player_id(
                    player,
                ))),
            )
            .key(
                "sk",
                aws_sdk_dynamodb::types::AttributeValue::S(store::keys::WALLET_SK.to_string()),
            )
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| format!("reading the wallet of {player}: {e}"))?;
        let text = out
            .item()
            .and_then(|item| item.get(store::keys::EVENTS))
            .and_then(|v| v.as_s().ok())
            .ok_or_else(|| format!("no events on the wallet after {deposit_id}"))?;
        let events: Vec<Value> =
            serde_json::from_str(text).map_err(|e| format!("wallet events: {e}"))?;
        let wanted = format!("DepositCompleted:{deposit_id}");
        events
            .into_iter()
            .find(|event| event["detail"]["event_id"] == wanted.as_str())
            .ok_or_else(|| format!("no {wanted} on the wallet"))
    }
}

fn player_id(player: &str) -> PlayerId {
    PlayerId::new(player).expect("the bench's player ids are valid")
}

fn committed(commit: Commit) -> Result<(), String> {
    match commit {
        Commit::Committed => Ok(()),
        other => Err(format!("not committed: {other:?}")),
    }
}

/// A deposit as raw store calls: the snapshot (account + id record), the pure decision, and
/// the one transaction (wallet, profile, id record with its entry). Timed.
pub async fn raw_deposit(
    store: &Store,
    player: &str,
    deposit_id: &str,
    amount: i64,
) -> Result<Duration, String> {
    let player = player_id(player);
    let command = DepositCommand::from_request(
        &player,
        &DepositRequest {
            deposit_id: deposit_id.to_string(),
            amount,
            currency: "EUR".to_string(),
        },
    )
    .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let read = store
        .deposit_read(&player, &command.deposit_id)
        .await
        .map_err(|e| e.to_string())?;
    let account = read.account.ok_or("no account")?;
    if read.record.is_some() {
        return Err("the deposit id is taken".into());
    }
    let decision = ledger::deposit::deposit(&account, &command, Timestamp::now())
        .map_err(|e| e.to_string())?;
    let record = DepositRecord::new(
        &command,
        Recorded::Accepted {
            outcome: decision.outcome.clone(),
        },
    );
    let events = decision.events("bench");
    committed(
        store
            .commit_deposit(&account, &decision, &record, &events)
            .await
            .map_err(|e| e.to_string())?,
    )?;
    Ok(started.elapsed())
}

/// A bet as raw store calls: snapshot (account + bet id), decision, one transaction
/// (wallet, bet record with its entry). Timed.
pub async fn raw_bet(
    store: &Store,
    player: &str,
    bet_id: &str,
    amount: i64,
) -> Result<Duration, String> {
    let player = player_id(player);
    let command = BetCommand::from_request(
        &player,
        &BetRequest {
            bet_id: bet_id.to_string(),
            round_id: "round-1".to_string(),
            game_id: "starburst".to_string(),
            amount,
            currency: "EUR".to_string(),
        },
    )
    .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let read = store
        .bet_read(&player, &command.bet_id)
        .await
        .map_err(|e| e.to_string())?;
    let account = read.account.ok_or("no account")?;
    if read.record.is_some() {
        return Err("the bet id is taken".into());
    }
    let decision =
        ledger::bet::place_bet(&account, &command, Timestamp::now()).map_err(|e| e.to_string())?;
    let events = decision.events("bench");
    committed(
        store
            .commit_bet(&account, &decision, &events)
            .await
            .map_err(|e| e.to_string())?,
    )?;
    Ok(started.elapsed())
}

/// A settlement as raw store calls: snapshot (account + bet + settlement id), decision, one
/// transaction (settlement record with its entry, bet, wallet). Timed.
pub async fn raw_settle(
    store: &Store,
    player: &str,
    bet_id: &str,
    settlement_id: &str,
    amount: i64,
) -> Result<Duration, String> {
    let player = player_id(player);
    let bet_id = ClientId::new(bet_id)?;
    let command = SettlementCommand::from_request(
        &player,
        &bet_id,
        &SettlementRequest {
            settlement_id: settlement_id.to_string(),
            kind: "win".to_string(),
            amount: Some(amount),
        },
    )
    .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let read = store
        .settlement_read(&player, &bet_id, &command.settlement_id)
        .await
        .map_err(|e| e.to_string())?;
    let account = read.account.clone().ok_or("no account")?;
    if read.record.is_some() {
        return Err("the settlement id is taken".into());
    }
    let decision =
        ledger::settlement::settle(&account, read.bet.as_ref(), &command, Timestamp::now())
            .map_err(|e| e.to_string())?;
    let record = SettlementRecord::new(&command, &decision.outcome);
    let events = decision.events(&player, "bench");
    committed(
        store
            .commit_settlement(&read, &account, &decision, &record, &events)
            .await
            .map_err(|e| e.to_string())?,
    )?;
    Ok(started.elapsed())
}
