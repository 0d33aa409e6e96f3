//! `settle`: closes bets, from two triggers that share one code path ([`apply`]):
//! - `POST /players/{player_id}/bets/{bet_id}/settlement` from the aggregator (HMAC-signed);
//! - the settlement queue (SQS, in batches, e.g. a sportsbook closing a market), where each
//!   message is the same body plus `player_id` and `bet_id`, signed by the aggregator in
//!   its message attributes (`X-Stakeline-Timestamp`, `X-Stakeline-Signature`, over
//!   `timestamp.SQS./settlement-queue.body`). A message that fails (a forged or unsigned
//!   one included) is reported alone (`batchItemFailures`): the others are not blocked and
//!   not repeated; after the queue's receive limit a failing message moves to the
//!   dead-letter queue.

use edge::http::{correlation_id, instance, json, path_param, problem, unknown_query_params};
use edge::money_route::{money_problem, signed_player};
use edge::signature::{
    Presented, Signed, QUEUE_FRESHNESS, QUEUE_METHOD, SETTLEMENT_QUEUE_PATH, SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
};
use edge::{Integration, State};
use lambda_http::aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_http::{Body, Request, Response};
use ledger::api::{parse_json, SettledView, SettlementView, WalletView};
use ledger::settlement::{SettlementCommand, SettlementOutcome, SettlementRequest};
use ledger::{ClientId, PlayerId, WalletError};
use store::{Applied, Failed};

/// Settles one bet: the single code path of both triggers.
pub async fn apply(
    state: &State,
    player: &PlayerId,
    bet_id: &ClientId,
    request: &SettlementRequest,
    correlation_id: &str,
) -> Result<Applied<SettlementOutcome>, Failed> {
    let command = SettlementCommand::from_request(player, bet_id, request)
        .map_err(|error| Failed::new(error, None))?;
    store::settlement::settle_bet(&state.store, &command, correlation_id, || state.clock.now())
        .await
}

fn bet_not_found(bet_id: String) -> WalletError {
    WalletError::BetNotFound(format!("there is no bet {bet_id}"))
}

/// The route this function serves.
pub const ROUTES: [&str; 1] = ["POST /players/{player_id}/bets/{bet_id}/settlement"];

pub async fn handle(state: &State, request: Request) -> Response<Body> {
    let path = instance(&request);
    let player = match signed_player(state, &request, Integration::Aggregator).await {
        Ok(player) => player,
        Err(error) => return problem(&error, &path, None),
    };
    match settle_http(state, &request, &player).await {
        Ok(response) => response,
        Err(Failed { error, account }) => {
            money_problem(state, &error, account, Some(&player), &path).await
        }
    }
}

async fn settle_http(
    state: &State,
    request: &Request,
    player: &PlayerId,
) -> Result<Response<Body>, Failed> {
    let invalid = |error: WalletError| Failed::new(error, None);
    let bet_id = path_param(request, "bet_id").unwrap_or_default();
    let bet_id = ClientId::new(&bet_id).map_err(|_| invalid(bet_not_found(bet_id)))?;
    unknown_query_params(request, &[]).map_err(invalid)?;
    let body: SettlementRequest = parse_json(request.body()).map_err(invalid)?;
    let applied = apply(state, player, &bet_id, &body, &correlation_id(request)).await?;
    let view = SettledView {
        settlement: SettlementView::of(&applied.outcome),
        wallet: WalletView::of(&applied.account),
    };
    Ok(json(if applied.replayed { 200 } else { 201 }, &view))
}

/// A message attribute's string value, by name (SQS attribute names are case-sensitive;
/// the aggregator sends `X-Stakeline-Timestamp` and `X-Stakeline-Signature`).
fn attribute<'a>(message: &'a SqsMessage, name: &str) -> Option<&'a str> {
    message
        .message_attributes
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .and_then(|(_, value)| value.string_value.as_deref())
}

/// The aggregator's signature of a queue message: nothing else may settle a bet.
async fn verify_message(state: &State, message: &SqsMessage) -> Result<(), WalletError> {
    let presented = Presented {
        timestamp: attribute(message, TIMESTAMP_HEADER),
        signature: attribute(message, SIGNATURE_HEADER),
    };
    let signed = Signed {
        method: QUEUE_METHOD,
        path: SETTLEMENT_QUEUE_PATH,
        body: message.body.as_deref().unwrap_or_default().as_bytes(),
    };
    state
        .keyring(Integration::Aggregator)?
        .verify(&presented, &signed, state.clock.now(), QUEUE_FRESHNESS)
        .await?;
    Ok(())
}

/// One queue message, verified and settled; an error says why it must be retried or
/// dead-lettered. Its correlation id is the message id.
async fn settle_message(
    state: &State,
    queued: &SqsMessage,
    message_id: &str,
) -> Result<Applied<SettlementOutcome>, WalletError> {
    verify_message(state, queued).await?;
    let body = queued.body.as_deref().unwrap_or_default();
    let message = wire::queue::settlement_message(body.as_bytes())?;
    apply(
        state,
        &message.player_id,
        &message.bet_id,
        &message.request,
        message_id,
    )
    .await
    .map_err(|failed| failed.error)
}

/// Settles a batch in order, one message at a time, and reports exactly the messages
/// that failed. Every failure is logged with its stable code; none is dropped: a message
/// that keeps failing reaches the dead-letter queue.
pub async fn handle_batch(state: &State, event: SqsEvent) -> SqsBatchResponse {
    edge::batch::each_message("settle-queue", event, |message, id| async move {
        settle_message(state, &message, &id).await.map(|applied| {
            format!(
                "settled {} (replayed: {})",
                applied.outcome.settlement_id, applied.replayed
            )
        })
    })
    .await
}
