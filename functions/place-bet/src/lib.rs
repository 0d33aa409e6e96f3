//! `place-bet`: `POST /players/{player_id}/bets`, called by the game aggregator
//! (HMAC-signed). Draws the stake from cash first, then bonus, exactly once per `bet_id`.

use edge::http::{correlation_id, instance, json, problem, unknown_query_params};
use edge::money_route::{money_problem, signed_player};
use edge::{Integration, State};
use lambda_http::{Body, Request, Response};
use ledger::api::{parse_json, BetPlacedView};
use ledger::bet::{BetCommand, BetRequest};
use ledger::{PlayerId, WalletError};
use store::Failed;

/// The route this function serves.
pub const ROUTES: [&str; 1] = ["POST /players/{player_id}/bets"];

pub async fn handle(state: &State, request: Request) -> Response<Body> {
    let path = instance(&request);
    let player = match signed_player(state, &request, Integration::Aggregator).await {
        Ok(player) => player,
        Err(error) => return problem(&error, &path, None),
    };
    match place(state, &request, &player).await {
        Ok(response) => response,
        Err(Failed { error, account }) => {
            money_problem(state, &error, account, Some(&player), &path).await
        }
    }
}

async fn place(
    state: &State,
    request: &Request,
    player: &PlayerId,
) -> Result<Response<Body>, Failed> {
    let invalid = |error: WalletError| Failed::new(error, None);
    unknown_query_params(request, &[]).map_err(invalid)?;
    let body: BetRequest = parse_json(request.body()).map_err(invalid)?;
    let command = BetCommand::from_request(player, &body).map_err(invalid)?;
    let applied = store::bet::place_bet(&state.store, &command, &correlation_id(request), || {
        state.clock.now()
    })
    .await?;
    let view = BetPlacedView::of(&applied.outcome, &applied.account);
    Ok(json(if applied.replayed { 200 } else { 201 }, &view))
}
