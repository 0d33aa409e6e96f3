//! Errors on money routes (deposits, bets, settlements) carry the current wallet when the
//! player exists (API.md "Conventions"), because aggregators show it to the player.

use crate::http::{path_param, problem};
use crate::secrets::Integration;
use crate::signature::{raw_path, Presented, Signed, REQUEST_FRESHNESS};
use crate::state::State;
use lambda_http::{Body, Request, Response};
use ledger::{Account, ErrorCode, PlayerId, WalletError};

/// The prologue of every route an integration (payment provider, aggregator) calls: a
/// valid signature of this method, raw path and body with one of `integration`'s secrets,
/// then the path's `{player_id}`. Its errors are answered without a wallet (see [`problem`]).
pub async fn signed_player(
    state: &State,
    request: &Request,
    integration: Integration,
) -> Result<PlayerId, WalletError> {
    let message = Signed {
        method: request.method().as_str(),
        path: raw_path(request),
        body: request.body(),
    };
    state
        .keyring(integration)?
        .verify(
            &Presented::from_headers(request.headers()),
            &message,
            state.clock.now(),
            REQUEST_FRESHNESS,
        )
        .await?;
    let path_player = path_param(request, "player_id").unwrap_or_default();
    PlayerId::new(&path_player).map_err(|_| WalletError::PlayerNotFound(path_player))
}

/// The problem response for a money route, reading the wallet when the failure did not
/// already bring it (validation errors are found before any read).
pub async fn money_problem(
    state: &State,
    error: &WalletError,
    account: Option<Box<Account>>,
    player: Option<&PlayerId>,
    instance: &str,
) -> Response<Body> {
    let needs_wallet = !matches!(
        error.code(),
        ErrorCode::Unauthenticated | ErrorCode::PlayerNotFound
    );
    let account = match (account, player, needs_wallet) {
        (Some(account), _, true) => Some(*account),
        (None, Some(player), true) => state.store.account(player).await.ok().flatten(),
        _ => None,
    };
    problem(error, instance, account.as_ref())
}
