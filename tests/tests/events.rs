//! The sample events in `events/` are real API Gateway HTTP API (v2) payloads: replaying
//! them through the handlers, in the order a player's life would produce them, must work.
//! The deposit event is signed at a fixed time, so its function runs on a clock set then.

use edge::Clock;
use ledger::Timestamp;
use stakeline_tests::*;

/// The time `events/deposit/deposit.json` was signed at.
const SIGNED_AT: Timestamp = Timestamp::from_millis(1_795_392_000_000);

fn event(path: &str) -> lambda_http::Request {
    let text = std::fs::read_to_string(workspace_root().join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    lambda_http::request::from_str(&text)
        .unwrap_or_else(|e| panic!("{path} is not an API Gateway event: {e}"))
}

#[tokio::test]
async fn every_sample_event_replays() {
    let state = state_at(Clock::Fixed(SIGNED_AT.plus_millis(1_000))).await;

    let (status, player) =
        read(register::handle(&state, event("events/register/register.json")).await);
    assert_eq!(status, 201, "{player}");
    let player_id = player["player_id"].as_str().unwrap().to_string();

    let (status, deposit) =
        read(deposit::handle(&state, event("events/deposit/deposit.json")).await);
    assert_eq!(status, 201, "{deposit}");
    assert_eq!(deposit["first_deposit"], true);
    let (status, replay) =
        read(deposit::handle(&state, event("events/deposit/deposit.json")).await);
    assert_eq!(status, 200, "the same event again is a replay: {replay}");

    let (status, limits) =
        read(register::handle(&state, event("events/register/limits.json")).await);
    assert_eq!(status, 200, "{limits}");

    let (status, wallet) =
        read(wallet_read::handle(&state, event("events/wallet-read/wallet.json")).await);
    assert_eq!(status, 200, "{wallet}");
    assert_eq!(wallet["cash"], deposit["amount"]);

    let (status, page) =
        read(wallet_read::handle(&state, event("events/wallet-read/transactions.json")).await);
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1));

    let (status, exclusion) =
        read(register::handle(&state, event("events/register/exclusion.json")).await);
    assert_eq!(status, 201, "{exclusion}");

    let account = assert_wallet_consistent(&state, &player_id).await;
    assert_eq!(account.seq, 1);
}

#[tokio::test]
async fn a_signed_event_expires_after_five_minutes() {
    let state = state_at(Clock::Fixed(SIGNED_AT.plus_millis(301_000))).await;
    let (status, problem) =
        read(deposit::handle(&state, event("events/deposit/deposit.json")).await);
    assert_eq!(
        (status, problem["code"].as_str()),
        (401, Some("UNAUTHENTICATED"))
    );
}
