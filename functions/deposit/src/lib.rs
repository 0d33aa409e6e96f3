//! `deposit`: `POST /players/{player_id}/deposits`, called by the payment provider
//! (HMAC-signed). Credits cash exactly once per `deposit_id`, forever.

use edge::http::{correlation_id, instance, json, problem, unknown_query_params};
use edge::money_route::{money_problem, signed_player};
use edge::{Integration, State};
use lambda_http::{Body, Request, Response};
use ledger::api::{parse_json, DepositRequest, DepositView, WalletView};
use ledger::deposit::DepositCommand;
use ledger::{PlayerId, WalletError};
use store::Failed;

/// The route this function serves.
pub const ROUTES: [&str; 1] = ["POST /players/{player_id}/deposits"];

pub async fn handle(state: &State, request: Request) -> Response<Body> {
    let path = instance(&request);
    let player = match signed_player(state, &request, Integration::PaymentProvider).await {
        Ok(player) => player,
        Err(error) => return problem(&error, &path, None),
    };
    match deposit(state, &request, &player).await {
        Ok(response) => response,
        Err(Failed { error, account }) => {
            money_problem(state, &error, account, Some(&player), &path).await
        }
    }
}

async fn deposit(
    state: &State,
    request: &Request,
    player: &PlayerId,
) -> Result<Response<Body>, Failed> {
    let invalid = |error: WalletError| Failed {
        error,
        account: None,
    };
    unknown_query_params(request, &[]).map_err(invalid)?;
    let body: DepositRequest = parse_json(request.body()).map_err(invalid)?;
    let command = DepositCommand::from_request(player, &body).map_err(invalid)?;
    let applied =
        store::deposit::deposit_funds(&state.store, &command, &correlation_id(request), || {
            state.clock.now()
        })
        .await?;
    let view = DepositView {
        deposit_id: applied.outcome.deposit_id.to_string(),
        amount: applied.outcome.amount,
        currency: applied.outcome.currency.to_string(),
        first_deposit: applied.outcome.first_deposit,
        entry_id: applied.outcome.entry_id.clone(),
        wallet: WalletView::of(&applied.account),
    };
    Ok(json(if applied.replayed { 200 } else { 201 }, &view))
}
