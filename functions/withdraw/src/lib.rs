//! `withdraw`: money out. The player requests a withdrawal (`POST …/withdrawals`) and may
//! cancel it while it is in review (`POST …/withdrawals/{withdrawal_id}/cancel`); the payment
//! provider reports the payout's result (`POST …/withdrawals/{withdrawal_id}/result`,
//! HMAC-signed). Errors carry the current wallet, as on every money route.

use edge::http::{
    correlation_id, instance, json, path_param, problem, route_key, unknown_query_params, unrouted,
};
use edge::money_route::{money_problem, signed_player};
use edge::{Integration, State};
use lambda_http::{Body, Request, Response};
use ledger::api::{parse_json, WithdrawalView};
use ledger::withdrawal::{PayoutResult, PayoutResultRequest, WithdrawalCommand, WithdrawalRequest};
use ledger::{ClientId, PlayerId, WalletError};
use store::{Applied, Failed};

/// The routes this function serves.
pub const ROUTES: [&str; 3] = [
    "POST /players/{player_id}/withdrawals",
    "POST /players/{player_id}/withdrawals/{withdrawal_id}/cancel",
    "POST /players/{player_id}/withdrawals/{withdrawal_id}/result",
];

pub async fn handle(state: &State, request: Request) -> Response<Body> {
    let path = instance(&request);
    // Who the caller is comes first: a 401 or a 403 never carries a wallet.
    let player = match route_key(&request, &ROUTES) {
        Some("POST /players/{player_id}/withdrawals/{withdrawal_id}/result") => {
            signed_player(state, &request, Integration::PaymentProvider).await
        }
        Some(_) => state.path_player(&request),
        None => Err(unrouted(&request, "withdraw")),
    };
    let player = match player {
        Ok(player) => player,
        Err(error) => return problem(&error, &path, None),
    };
    let result = match route_key(&request, &ROUTES) {
        Some("POST /players/{player_id}/withdrawals") => {
            request_withdrawal(state, &request, &player).await
        }
        Some("POST /players/{player_id}/withdrawals/{withdrawal_id}/cancel") => {
            cancel(state, &request, &player).await
        }
        _ => payout_result(state, &request, &player).await,
    };
    match result {
        Ok(response) => response,
        Err(Failed { error, account }) => {
            money_problem(state, &error, account, Some(&player), &path).await
        }
    }
}

fn invalid(error: WalletError) -> Failed {
    Failed {
        error,
        account: None,
    }
}

/// The path's `{withdrawal_id}`: an id no withdrawal can have is one this player has not.
fn path_withdrawal(request: &Request, player: &PlayerId) -> Result<ClientId, Failed> {
    let id = path_param(request, "withdrawal_id").unwrap_or_default();
    ClientId::new(&id).map_err(|_| {
        invalid(WalletError::WithdrawalNotFound(format!(
            "player {player} has no withdrawal {id}"
        )))
    })
}

fn answer(applied: Applied<ledger::withdrawal::Withdrawal>, created: bool) -> Response<Body> {
    let status = if created && !applied.replayed {
        201
    } else {
        200
    };
    json(
        status,
        &WithdrawalView::of(&applied.outcome, &applied.account),
    )
}

async fn request_withdrawal(
    state: &State,
    request: &Request,
    player: &PlayerId,
) -> Result<Response<Body>, Failed> {
    unknown_query_params(request, &[]).map_err(invalid)?;
    let body: WithdrawalRequest = parse_json(request.body()).map_err(invalid)?;
    let command = WithdrawalCommand::from_request(player, &body).map_err(invalid)?;
    let rules = state.config.risk_rules.as_ref().ok_or_else(|| {
        invalid(WalletError::Internal(
            "withdraw started without RISK_RULES".into(),
        ))
    })?;
    let applied = store::withdrawal::request_withdrawal(
        &state.store,
        &command,
        rules,
        &correlation_id(request),
        || state.clock.now(),
    )
    .await?;
    Ok(answer(applied, true))
}

async fn cancel(
    state: &State,
    request: &Request,
    player: &PlayerId,
) -> Result<Response<Body>, Failed> {
    unknown_query_params(request, &[]).map_err(invalid)?;
    ledger::api::no_body(request.body()).map_err(invalid)?;
    let withdrawal_id = path_withdrawal(request, player)?;
    let applied = store::withdrawal::cancel_withdrawal(
        &state.store,
        player,
        &withdrawal_id,
        &correlation_id(request),
        || state.clock.now(),
    )
    .await?;
    Ok(answer(applied, false))
}

async fn payout_result(
    state: &State,
    request: &Request,
    player: &PlayerId,
) -> Result<Response<Body>, Failed> {
    unknown_query_params(request, &[]).map_err(invalid)?;
    let body: PayoutResultRequest = parse_json(request.body()).map_err(invalid)?;
    let payout = PayoutResult::from_request(&body).map_err(invalid)?;
    let withdrawal_id = path_withdrawal(request, player)?;
    let applied = store::withdrawal::withdrawal_result(
        &state.store,
        player,
        &withdrawal_id,
        &payout,
        &correlation_id(request),
        || state.clock.now(),
    )
    .await?;
    Ok(answer(applied, false))
}
