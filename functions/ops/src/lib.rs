//! `ops`: the operator's back office. Every route needs a token carrying the operator
//! scope (`stakeline/ops`); its `sub` names the staff member recorded with every action.
//! - `GET /ops/withdrawals?status=&limit=&cursor=`: the review queue (default status
//!   `pending_review`), oldest first, cursor-paged
//! - `POST /ops/withdrawals/{withdrawal_id}/decision`: approve or reject, with a reason
//! - `GET /ops/players/{player_id}`: account, wallet, open withdrawals, risk flags, actions
//! - `PUT /ops/players/{player_id}/status`: lock (`disabled`) or unlock (`active`)
//! - `GET /ops/players?email=`: the player registered with an email address
//! - `GET /ops/players/{player_id}/transactions|bets|withdrawals?limit=&cursor=`: a
//!   player's ledger (with running balances), bets and withdrawals, newest first
//! - `POST /ops/audit`: the reconciliation of the whole table (invariants 1-4)
//! - `GET /ops/queues`: every dead-letter and failure queue with its depth
//! - `POST /ops/queues/{queue}/redrive`: a dead-letter or failure queue's messages sent back

pub mod queues;
pub mod review_age;

use edge::http::{
    correlation_id, instance, json, parse_limit, path_param, problem, query_param, route_key,
    unknown_query_params, unrouted,
};
use edge::pages::page_query;
use edge::State;
use lambda_http::{Body, Request, Response};
use ledger::action::{Operator, QueueAction, RedriveRequest};
use ledger::api::{
    no_body, parse_json, AuditView, BetView, BetsPage, OpsPlayerView, OpsWithdrawalPage,
    OpsWithdrawalView, PlayerSearchView, PlayerView, QueueActionView, QueuesView, RedriveView,
    WithdrawalView,
};
use ledger::operator::{StatusCommand, StatusRequest};
use ledger::withdrawal::{DecisionCommand, DecisionRequest, WithdrawalStatus};
use ledger::{ClientId, FieldError, PlayerId, WalletError};
use store::Failed;
use wire::cursor::{decode_queue_cursor, encode_cursor, encode_queue_cursor};

/// The routes this function serves.
pub const ROUTES: [&str; 11] = [
    "GET /ops/withdrawals",
    "POST /ops/withdrawals/{withdrawal_id}/decision",
    "GET /ops/players",
    "GET /ops/players/{player_id}",
    "PUT /ops/players/{player_id}/status",
    "GET /ops/players/{player_id}/transactions",
    "GET /ops/players/{player_id}/bets",
    "GET /ops/players/{player_id}/withdrawals",
    "POST /ops/audit",
    "GET /ops/queues",
    "POST /ops/queues/{queue}/redrive",
];

/// The longest email address a search accepts.
const MAX_EMAIL_CHARS: usize = 254;

/// The back office's state, built once per cold start: the wallet's and the queues'.
pub struct Ops {
    pub state: State,
    pub queues: queues::Queues,
}

impl Ops {
    pub async fn from_env() -> Result<Ops, edge::StartError> {
        let state = State::from_env(edge::Needs::default()).await?;
        let aws = edge::aws::sdk_config().await?;
        let queues = queues::Queues::from_env(&aws)?;
        Ok(Ops { state, queues })
    }
}

pub async fn handle(ops: &Ops, request: Request) -> Response<Body> {
    let state = &ops.state;
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
        Some("GET /ops/players") => search(state, &request).await,
        Some("GET /ops/players/{player_id}/transactions") => ledger(state, &request).await,
        Some("GET /ops/players/{player_id}/bets") => bets(state, &request).await,
        Some("GET /ops/players/{player_id}/withdrawals") => withdrawals(state, &request).await,
        Some("POST /ops/audit") => audit(state, &request).await,
        Some("GET /ops/queues") => queue_states(ops, &request).await,
        Some("POST /ops/queues/{queue}/redrive") => redrive(ops, &request, &operator).await,
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

/// A withdrawal page's `limit` and the queue position its `cursor` carries.
fn withdrawal_page_query(request: &Request) -> Result<(usize, Option<String>), Failed> {
    let limit = parse_limit(query_param(request, "limit").as_deref()).map_err(field)?;
    let position = query_param(request, "cursor")
        .map(|c| decode_queue_cursor(&c))
        .transpose()
        .map_err(field)?;
    Ok((limit, position))
}

/// A page of withdrawals as the operators' routes answer it.
fn withdrawal_page(page: &store::operator::QueuePage) -> Response<Body> {
    json(
        200,
        &OpsWithdrawalPage {
            items: page.withdrawals.iter().map(OpsWithdrawalView::of).collect(),
            next_cursor: page.next.as_deref().map(encode_queue_cursor),
        },
    )
}

async fn queue(state: &State, request: &Request) -> Result<Response<Body>, Failed> {
    unknown_query_params(request, &["status", "limit", "cursor"]).map_err(invalid)?;
    let status = parse_status(query_param(request, "status").as_deref()).map_err(field)?;
    let (limit, after) = withdrawal_page_query(request)?;
    let page = state
        .store
        .withdrawals_in_status(status, limit, after.as_deref())
        .await
        .map_err(|e| invalid(e.into()))?;
    Ok(withdrawal_page(&page))
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

/// `email`: the exact address (compared case-insensitively, as registration does): 1 to
/// [`MAX_EMAIL_CHARS`] characters, not only spaces, no control characters; trimmed.
pub fn parse_email(value: Option<&str>) -> Result<&str, FieldError> {
    let email = value.ok_or_else(|| FieldError::new("email", "is required"))?;
    ledger::text::check_text("email", email, MAX_EMAIL_CHARS)?;
    Ok(email.trim())
}

async fn search(state: &State, request: &Request) -> Result<Response<Body>, Failed> {
    unknown_query_params(request, &["email"]).map_err(invalid)?;
    let email = query_param(request, "email");
    let email = parse_email(email.as_deref()).map_err(field)?;
    let store_error = |e: store::StoreError| invalid(e.into());
    let mut items = Vec::new();
    if let Some(player) = state
        .store
        .player_by_email(email)
        .await
        .map_err(store_error)?
    {
        if let Some(account) = state.store.account(&player).await.map_err(store_error)? {
            items.push(PlayerView::of(&account, state.clock.now()));
        }
    }
    Ok(json(200, &PlayerSearchView { items }))
}

async fn ledger(state: &State, request: &Request) -> Result<Response<Body>, Failed> {
    let player = path_player(request)?;
    edge::pages::ledger_page(&state.store, &player, request)
        .await
        .map_err(invalid)
}

/// The player must exist: an empty page for a player that does not would mislead.
async fn existing(state: &State, player: &PlayerId) -> Result<(), Failed> {
    match state.store.account(player).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(Failed::player_not_found(player)),
        Err(error) => Err(invalid(error.into())),
    }
}

async fn bets(state: &State, request: &Request) -> Result<Response<Body>, Failed> {
    let player = path_player(request)?;
    let (limit, before) = page_query(request).map_err(invalid)?;
    existing(state, &player).await?;
    let page = state
        .store
        .bets_page(&player, limit, before)
        .await
        .map_err(|e| invalid(e.into()))?;
    Ok(json(
        200,
        &BetsPage {
            items: page.bets.iter().filter_map(BetView::of).collect(),
            next_cursor: page.next_before.map(encode_cursor),
        },
    ))
}

async fn withdrawals(state: &State, request: &Request) -> Result<Response<Body>, Failed> {
    let player = path_player(request)?;
    unknown_query_params(request, &["limit", "cursor"]).map_err(invalid)?;
    let (limit, before) = withdrawal_page_query(request)?;
    existing(state, &player).await?;
    let page = state
        .store
        .player_withdrawals_page(&player, limit, before.as_deref())
        .await
        .map_err(|e| invalid(e.into()))?;
    Ok(withdrawal_page(&page))
}

/// The reconciliation: a consistent scan of the whole table, judged by `ledger::audit`.
/// On a large table it outlasts the API's 30 seconds: run `reconcile` instead
/// (OPERATIONS.md).
async fn audit(state: &State, request: &Request) -> Result<Response<Body>, Failed> {
    unknown_query_params(request, &[]).map_err(invalid)?;
    no_body(request.body()).map_err(invalid)?;
    let report = audit::reconcile(&state.store)
        .await
        .map_err(|e| invalid(e.into()))?;
    if !report.is_clean() {
        tracing::error!(
            findings = report.findings.len(),
            "the audit found violations"
        );
    }
    Ok(json(200, &AuditView::of(&report, state.clock.now())))
}

async fn queue_states(ops: &Ops, request: &Request) -> Result<Response<Body>, Failed> {
    unknown_query_params(request, &[]).map_err(invalid)?;
    let items = ops.queues.states().await.map_err(invalid)?;
    Ok(json(200, &QueuesView { items }))
}

/// A redrive: the action (who, when, why) is recorded first, then the messages move.
async fn redrive(
    ops: &Ops,
    request: &Request,
    operator: &Operator,
) -> Result<Response<Body>, Failed> {
    unknown_query_params(request, &[]).map_err(invalid)?;
    let name = path_param(request, "queue").unwrap_or_default();
    let watched = ops.queues.watched(&name).map_err(invalid)?;
    let body: RedriveRequest = parse_json(request.body()).map_err(invalid)?;
    let action = QueueAction::redrive(
        watched.known.name,
        &body,
        operator,
        &correlation_id(request),
        ops.state.clock.now(),
    )
    .map_err(invalid)?;
    ops.state
        .store
        .record_queue_action(&action)
        .await
        .map_err(|e| invalid(e.into()))?;
    let (moved, left) = ops.queues.redrive(watched).await.map_err(invalid)?;
    tracing::info!(queue = watched.known.name, moved, left, operator = %operator, "redrive");
    Ok(json(
        200,
        &RedriveView {
            queue: watched.known.name.to_string(),
            moved,
            left,
            action: QueueActionView::of(&action),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_search_needs_one_bounded_address() {
        assert_eq!(
            parse_email(Some(" Ann@Example.com ")),
            Ok("Ann@Example.com")
        );
        for bad in [None, Some(""), Some("  "), Some("a\u{7}b@x.io")] {
            assert!(parse_email(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}@x.io", "a".repeat(MAX_EMAIL_CHARS));
        assert!(parse_email(Some(&long)).is_err());
    }

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
