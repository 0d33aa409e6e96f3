//! `register`: the player's account routes.
//! - `POST /players` creates the account of the token's subject;
//! - `PUT /players/{player_id}/limits` changes deposit limits;
//! - `POST /players/{player_id}/exclusions` starts a time-out or self-exclusion;
//! - `POST /players/{player_id}/bonus/forfeit` gives up the bonus being wagered (cash stays).

use edge::auth::player_subject;
use edge::http::{
    correlation_id, instance, json, problem, route_key, unknown_query_params, unrouted,
};
use edge::State;
use lambda_http::{Body, Request, Response};
use ledger::api::{
    parse_json, ExclusionRequest, ExclusionView, LimitsRequest, LimitsView, PlayerView,
};
use ledger::error::Problems;
use ledger::exclusion::{exclude, ExclusionKind};
use ledger::register::{register, RegisterRequest};
use ledger::{PlayerId, WalletError};

/// The routes this function serves.
pub const ROUTES: [&str; 4] = [
    "POST /players",
    "PUT /players/{player_id}/limits",
    "POST /players/{player_id}/exclusions",
    "POST /players/{player_id}/bonus/forfeit",
];

pub async fn handle(state: &State, request: Request) -> Response<Body> {
    let result = match route_key(&request, &ROUTES) {
        Some("POST /players") => register_player(state, &request).await,
        Some("PUT /players/{player_id}/limits") => set_limits(state, &request).await,
        Some("POST /players/{player_id}/exclusions") => add_exclusion(state, &request).await,
        Some("POST /players/{player_id}/bonus/forfeit") => forfeit_bonus(state, &request).await,
        _ => Err(unrouted(&request, "register")),
    };
    result.unwrap_or_else(|error| problem(&error, &instance(&request), None))
}

async fn register_player(state: &State, request: &Request) -> Result<Response<Body>, WalletError> {
    let now = state.clock.now();
    let subject = player_subject(request, &state.config, now)?;
    let player_id = PlayerId::new(&subject).map_err(|m| {
        WalletError::Forbidden(format!("the token's subject cannot be a player id: it {m}"))
    })?;
    unknown_query_params(request, &[])?;
    let body: RegisterRequest = parse_json(request.body())?;
    let candidate = register(&player_id, &body, now, state.config.min_age)?;
    let applied =
        store::account::register(&state.store, candidate, &correlation_id(request)).await?;
    let status = if applied.replayed { 200 } else { 201 };
    Ok(json(status, &PlayerView::of(&applied.outcome, now)))
}

async fn set_limits(state: &State, request: &Request) -> Result<Response<Body>, WalletError> {
    let player = state.path_player(request)?;
    unknown_query_params(request, &[])?;
    let body: LimitsRequest = parse_json(request.body())?;
    let changes = body
        .to_changes("")
        .map_err(|e| WalletError::Validation(vec![e]))?;
    let applied = store::account::update_account(
        &state.store,
        &player,
        || state.clock.now(),
        |account, now| {
            let limits = account.limits.change(changes, now);
            let view = LimitsView::of(&limits, now);
            if limits == account.limits {
                return Ok((None, view));
            }
            let mut next = account.touched();
            next.limits = limits;
            Ok((Some(next), view))
        },
    )
    .await
    .map_err(|failed| failed.error)?;
    Ok(json(200, &applied.outcome))
}

async fn add_exclusion(state: &State, request: &Request) -> Result<Response<Body>, WalletError> {
    let player = state.path_player(request)?;
    unknown_query_params(request, &[])?;
    let body: ExclusionRequest = parse_json(request.body())?;
    let mut problems = Problems::new();
    let kind = problems.check(ExclusionKind::parse(&body.kind));
    let days = kind.and_then(|kind| problems.check(kind.check_days(body.days)));
    problems.into_result()?;
    let (Some(kind), Some(days)) = (kind, days) else {
        return Err(WalletError::Internal(
            "validation passed without values".into(),
        ));
    };
    let applied = store::account::update_account(
        &state.store,
        &player,
        || state.clock.now(),
        |account, now| {
            let exclusion = exclude(account.active_exclusion(now), kind, days, now);
            let view = ExclusionView::of(&exclusion);
            if account.exclusion == Some(exclusion) {
                return Ok((None, view));
            }
            let mut next = account.touched();
            next.exclusion = Some(exclusion);
            Ok((Some(next), view))
        },
    )
    .await
    .map_err(|failed| failed.error)?;
    Ok(json(201, &applied.outcome))
}

#[derive(Debug, serde::Serialize)]
struct Forfeited {
    campaign_id: String,
    amount: i64,
}

#[derive(Debug, serde::Serialize)]
struct ForfeitView {
    /// The bonus given up; `null` when there was none (the request is then a no-op).
    forfeited: Option<Forfeited>,
    wallet: ledger::api::WalletView,
}

async fn forfeit_bonus(state: &State, request: &Request) -> Result<Response<Body>, WalletError> {
    let player = state.path_player(request)?;
    unknown_query_params(request, &[])?;
    ledger::api::no_body(request.body())?;
    let applied = store::bonus::forfeit_bonus(
        &state.store,
        &player,
        ledger::events::ForfeitReason::PlayerRequest,
        &correlation_id(request),
        || state.clock.now(),
    )
    .await
    .map_err(|failed| failed.error)?;
    let view = ForfeitView {
        forfeited: applied.outcome.map(|(campaign_id, amount)| Forfeited {
            campaign_id,
            amount,
        }),
        wallet: ledger::api::WalletView::of(&applied.account),
    };
    Ok(json(200, &view))
}
