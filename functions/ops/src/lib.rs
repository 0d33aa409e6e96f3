//! `ops`: the operator's back office. Every route needs a token carrying the operator
//! scope (`stakeline/ops`); its `sub` names the staff member recorded with every action.
//! - `GET /ops/withdrawals?status=&limit=&cursor=`: the review queue (default status
//!   `pending_review`), oldest first, cursor-paged
//! - `POST /ops/withdrawals/{withdrawal_id}/decision`: approve or reject, with a reason
//! - `GET /ops/players/{player_id}`: account, wallet, open withdrawals, risk flags, actions
//! - `PUT /ops/players/{player_id}/status`: lock (`disabled`) or unlock (`active`)

use edge::http::{
    correlation_id, instance, json, parse_limit, path_param, problem, query_param, route_key,
    unknown_query_params, unrouted,
};
use edge::State;
use lambda_http::{Body, Request, Response};
use ledger::action::Operator;
use ledger::api::{
    parse_json, OpsPlayerView, OpsWithdrawalPage, OpsWithdrawalView, PlayerView, WithdrawalView,
};
use ledger::operator::{StatusCommand, StatusRequest};
use ledger::withdrawal::{DecisionCommand, DecisionRequest, WithdrawalStatus};
use ledger::{ClientId, FieldError, PlayerId, WalletError};
use store::Failed;
use wire::cursor::{decode_queue_cursor, encode_queue_cursor};

/// The routes this function serves.
pub const ROUTES: [&str; 4] = [
    "GET /ops/withdrawals",
    "POST /ops/withdrawals/{withdrawal_id}/decision",
    "GET /ops/players/{player_id}",
    "PUT /ops/players/{player_id}/status",
];

pub async fn handle(state: &State, request: Request) -> Response<Body> {
    let path = instance(&request);
    // Who the caller is comes first: a 401 or a 403 never says anything else.
    let operator = match state.operator(&request) {
        Ok(operator) => operator,
        Err(error) => return problem(&error, &path, None),
    };
    let result = match route_key(&request, &ROUTES) {
        Some("GET /ops/withdrawals") => queue(state, &request).await,
        Some("POST /ops/withdrawals/{withdrawal_id}/decision") => {
            decide(state, &request, &operator).await
        }
        Some("GET /ops/players/{player_id}") => player(state, &request).await,
        Some("PUT /ops/players/{player_id}/status") => {
            change_status(state, &request, &operator).await
        }
        _ => Err(Failed::new(unrouted(&request, "ops"), None)),
    };
    result.unwrap_or_else(|Failed { error, account }| problem(&error, &path, account.as_deref()))
}

fn invalid(error: WalletError) -> Failed {
    Failed::new(error, None)
}

fn field(error: FieldError) -> Failed {
    invalid(WalletError::Validation(vec![error]))
}

/// `status`: any withdrawal status, `pending_review` (the review queue) by default.
pub fn parse_status(value: Option<&str>) -> Result<WithdrawalStatus, FieldError> {
    let Some(value) = value else {
        return Ok(WithdrawalStatus::PendingReview);
    };
    WithdrawalStatus::parse(value).ok_or_else(|| {
        let all: Vec<&str> = WithdrawalStatus::ALL.iter().map(|s| s.as_str()).collect();
        FieldError::new("status", format!("must be one of {}", all.join(", ")))
    })
}

async fn queue(state: &State, request: &Request) -> Result<Response<Body>, Failed> {
    unknown_query_params(request, &["status", "limit", "cursor"]).map_err(invalid)?;
    let status = parse_status(query_param(request, "status").as_deref()).map_err(field)?;
    let limit = parse_limit(query_param(request, "limit").as_deref()).map_err(field)?;
    let after = query_param(request, "cursor")
        .map(|c| decode_queue_cursor(&c))
        .transpose()
        .map_err(field)?;
    let page = state
        .store
        .withdrawals_in_status(status, limit, after.as_deref())
        .await
        .map_err(|e| invalid(e.into()))?;
    Ok(json(
        200,
        &OpsWithdrawalPage {
            items: page.withdrawals.iter().map(OpsWithdrawalView::of).collect(),
            next_cursor: page.next.as_deref().map(encode_queue_cursor),
        },
    ))
}

async fn decide(
    state: &State,
    request: &Request,
    operator: &Operator,
) -> Result<Response<Body>, Failed> {
    unknown_query_params(request, &[]).map_err(invalid)?;
    let body: DecisionRequest = parse_json(request.body()).map_err(invalid)?;
    let command = DecisionCommand::from_request(&body).map_err(invalid)?;
    let id = path_param(request, "withdrawal_id").unwrap_or_default();
    let withdrawal_id = ClientId::new(&id).map_err(|_| {
        invalid(WalletError::WithdrawalNotFound(format!(
            "there is no withdrawal {id}"
        )))
    })?;
    let applied = store::withdrawal::decide_withdrawal(
        &state.store,
        &withdrawal_id,
        &command,
        operator,
        &correlation_id(request),
        || state.clock.now(),
    )
    .await?;
    Ok(json(
        200,
        &WithdrawalView::of(&applied.outcome, &applied.account),
    ))
}

/// The path's `{player_id}`: an id no player can have is a player that does not exist.
fn path_player(request: &Request) -> Result<PlayerId, Failed> {
    let id = path_param(request, "player_id").unwrap_or_default();
    PlayerId::new(&id).map_err(|_| invalid(WalletError::PlayerNotFound(id)))
}

async fn player(state: &State, request: &Request) -> Result<Response<Body>, Failed> {
    unknown_query_params(request, &[]).map_err(invalid)?;
    let player = path_player(request)?;
    let (account, withdrawals, actions) = state
        .store
        .player_overview(&player)
        .await
        .map_err(|e| invalid(e.into()))?
        .ok_or_else(|| Failed::player_not_found(&player))?;
    Ok(json(
        200,
        &OpsPlayerView::of(&account, &withdrawals, &actions, state.clock.now()),
    ))
}

async fn change_status(
    state: &State,
    request: &Request,
    operator: &Operator,
) -> Result<Response<Body>, Failed> {
    unknown_query_params(request, &[]).map_err(invalid)?;
    let body: StatusRequest = parse_json(request.body()).map_err(invalid)?;
    let command = StatusCommand::from_request(&body).map_err(invalid)?;
    let player = path_player(request)?;
    let applied = store::operator::change_status(
        &state.store,
        &player,
        &command,
        operator,
        &correlation_id(request),
        || state.clock.now(),
    )
    .await
    // Not a money route: its errors carry no wallet.
    .map_err(|failed| invalid(failed.error))?;
    Ok(json(
        200,
        &PlayerView::of(&applied.account, state.clock.now()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_filter_is_a_withdrawal_status() {
        assert_eq!(parse_status(None), Ok(WithdrawalStatus::PendingReview));
        assert_eq!(
            parse_status(Some("approved")),
            Ok(WithdrawalStatus::Approved)
        );
        for bad in ["", "PENDING_REVIEW", "open", "pending review"] {
            assert!(parse_status(Some(bad)).is_err(), "{bad}");
        }
    }
}
