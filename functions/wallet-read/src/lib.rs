//! `wallet-read`: the player's read routes.
//! - `GET /players/{player_id}/wallet`
//! - `GET /players/{player_id}/transactions?limit=&cursor=` (newest first, cursor-paged)
//! - `GET /players/{player_id}/bets/{bet_id}` (the player, or the aggregator signing an
//!   empty body)

use edge::http::{instance, json, path_param, problem, route_key, unknown_query_params, unrouted};
use edge::money_route::signed_player;
use edge::signature::SIGNATURE_HEADER;
use edge::Integration;
use edge::State;
use lambda_http::{Body, Request, Response};
use ledger::api::{BetView, WalletView, WithdrawalView};
use ledger::{ClientId, WalletError};

/// The routes this function serves.
pub const ROUTES: [&str; 4] = [
    "GET /players/{player_id}/wallet",
    "GET /players/{player_id}/transactions",
    "GET /players/{player_id}/bets/{bet_id}",
    "GET /players/{player_id}/withdrawals/{withdrawal_id}",
];

pub async fn handle(state: &State, request: Request) -> Response<Body> {
    let result = match route_key(&request, &ROUTES) {
        Some("GET /players/{player_id}/wallet") => wallet(state, &request).await,
        Some("GET /players/{player_id}/transactions") => transactions(state, &request).await,
        Some("GET /players/{player_id}/bets/{bet_id}") => bet(state, &request).await,
        Some("GET /players/{player_id}/withdrawals/{withdrawal_id}") => {
            withdrawal(state, &request).await
        }
        _ => Err(unrouted(&request, "wallet-read")),
    };
    result.unwrap_or_else(|error| problem(&error, &instance(&request), None))
}

async fn wallet(state: &State, request: &Request) -> Result<Response<Body>, WalletError> {
    let player = state.path_player(request)?;
    unknown_query_params(request, &[])?;
    let account = state
        .store
        .account(&player)
        .await?
        .ok_or_else(|| WalletError::PlayerNotFound(player.to_string()))?;
    Ok(json(200, &WalletView::of(&account)))
}

async fn transactions(state: &State, request: &Request) -> Result<Response<Body>, WalletError> {
    let player = state.path_player(request)?;
    edge::pages::ledger_page(&state.store, &player, request).await
}

/// A bet, for its player or for the aggregator. A request carrying a signature is the
/// aggregator's; any other must carry the player's token. On AWS this route has no JWT
/// authorizer in front (the aggregator has no token), so the function verifies the token
/// itself with the identity provider's keys ([`edge::jwt`]).
async fn bet(state: &State, request: &Request) -> Result<Response<Body>, WalletError> {
    let player = if request.headers().contains_key(SIGNATURE_HEADER) {
        signed_player(state, request, Integration::Aggregator).await?
    } else {
        state.path_player_verified(request).await?
    };
    unknown_query_params(request, &[])?;
    let bet_id = path_param(request, "bet_id").unwrap_or_default();
    let not_found = || WalletError::BetNotFound(format!("player {player} has no bet {bet_id}"));
    let id = ClientId::new(&bet_id).map_err(|_| not_found())?;
    let record = state
        .store
        .bet(&id)
        .await?
        .filter(|record| record.player_id == player);
    let view = record
        .as_ref()
        .and_then(BetView::of)
        .ok_or_else(not_found)?;
    Ok(json(200, &view))
}

/// One of the player's withdrawals, with the wallet (one consistent snapshot).
async fn withdrawal(state: &State, request: &Request) -> Result<Response<Body>, WalletError> {
    let player = state.path_player(request)?;
    unknown_query_params(request, &[])?;
    let withdrawal_id = path_param(request, "withdrawal_id").unwrap_or_default();
    let not_found = || {
        WalletError::WithdrawalNotFound(format!(
            "player {player} has no withdrawal {withdrawal_id}"
        ))
    };
    let id = ClientId::new(&withdrawal_id).map_err(|_| not_found())?;
    let read = state.store.withdrawal_read(&player, &id, None).await?;
    let account = read
        .account
        .ok_or_else(|| WalletError::PlayerNotFound(player.to_string()))?;
    let withdrawal = read
        .record
        .filter(|record| record.player_id == player)
        .and_then(|record| record.withdrawal().cloned())
        .ok_or_else(not_found)?;
    Ok(json(200, &WithdrawalView::of(&withdrawal, &account)))
}
