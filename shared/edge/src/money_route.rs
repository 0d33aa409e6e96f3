//! Errors on money routes (deposits, bets, settlements) carry the current wallet when the
//! player exists (API.md "Conventions"), because aggregators show it to the player.

use crate::http::problem;
use crate::state::State;
use lambda_http::{Body, Response};
use ledger::{Account, ErrorCode, PlayerId, WalletError};

/// The problem response for a money route, reading the wallet when the failure did not
/// already bring it (validation errors are found before any read).
pub async fn money_problem(
    state: &State,
    error: &WalletError,
    account: Option<Account>,
    player: Option<&PlayerId>,
    instance: &str,
) -> Response<Body> {
    let needs_wallet = !matches!(
        error.code(),
        ErrorCode::Unauthenticated | ErrorCode::PlayerNotFound
    );
    let account = match (account, player, needs_wallet) {
        (Some(account), _, true) => Some(account),
        (None, Some(player), true) => state.store.account(player).await.ok().flatten(),
        _ => None,
    };
    problem(error, instance, account.as_ref())
}
