//! `payout`: hands approved withdrawals to the payment provider. EventBridge routes
//! `WithdrawalApproved` to the payout queue; this function takes each message, reads the
//! withdrawal as it stands (only an `approved` one is sent: a repeated delivery of a
//! withdrawal already paid, failed or refused sends nothing) and posts it to the provider's
//! payout API, signed like every provider request and with `Idempotency-Key: <withdrawal id>`,
//! so a delivery repeated after a lost answer never pays twice.
//!
//! - 2xx: accepted; the provider reports the result later on the signed result route.
//! - a definitive 4xx (anything but 408 and 429): refused; the withdrawal fails at once and
//!   its amount returns to cash (`WithdrawalFailed`).
//! - 5xx, 408, 429, a timeout or no connection: retried a few times with backoff inside the
//!   invocation, then reported as a batch item failure: the queue delivers it again after its
//!   visibility timeout and, after its `maxReceiveCount`, moves it to the dead-letter queue.
//!   Nothing else waits on the provider: deposits, bets and settlements never call it.

use edge::https::{Bytes, Full};
use edge::{Integration, State};
use lambda_http::aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use ledger::events::EventKind;
use ledger::withdrawal::{PayoutResult, Withdrawal, WithdrawalStatus};
use ledger::{ClientId, PlayerId, Timestamp, WalletError};
use serde::Serialize;
use std::time::Duration;
use wire::signature::{sign, Signed, SIGNATURE_HEADER, TIMESTAMP_HEADER};

/// The provider's payout route, under `PAYOUT_API_URL`.
pub const PAYOUT_PATH: &str = "/payouts";
/// How long one call may take, connection included.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Calls per delivery before the message goes back to the queue.
pub const ATTEMPTS: u32 = 3;
const BACKOFF: Duration = Duration::from_millis(200);
/// The most of the provider's answer read (only its status and a refusal's text matter).
const MAX_ANSWER: usize = 64 * 1024;
/// The most of the provider's refusal kept in the failure reason.
const MAX_REFUSAL_TEXT: usize = 200;

/// What a payout needs, built once per cold start.
pub struct Payout {
    pub state: State,
    /// `PAYOUT_API_URL`, without a trailing slash (`https://psp.example/v1`).
    pub base_url: String,
    client: edge::https::Client,
}

/// The body of `POST {PAYOUT_API_URL}/payouts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PayoutOrder {
    pub withdrawal_id: String,
    pub player_id: String,
    pub amount: i64,
    pub currency: String,
    pub destination: ledger::api::DestinationView,
}

impl PayoutOrder {
    pub fn of(withdrawal: &Withdrawal) -> PayoutOrder {
        let facts = ledger::api::WithdrawalFacts::of(withdrawal);
        PayoutOrder {
            withdrawal_id: facts.withdrawal_id,
            player_id: withdrawal.player_id.to_string(),
            amount: facts.amount,
            currency: facts.currency,
            destination: facts.destination,
        }
    }
}

/// What the provider's answer means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Accepted,
    /// A definitive refusal: the withdrawal fails and its amount returns.
    Refused {
        status: u16,
        text: String,
    },
    /// Try again later (5xx, 408, 429, no answer).
    Later(String),
}

/// The meaning of an HTTP status from the payout API.
pub fn answer_of(status: u16, body: &[u8]) -> Answer {
    match status {
        200..=299 => Answer::Accepted,
        408 | 429 => Answer::Later(format!("the payment provider answered {status}")),
        400..=499 => {
            let text: String = String::from_utf8_lossy(body)
                .chars()
                .filter(|c| !c.is_control())
                .take(MAX_REFUSAL_TEXT)
                .collect();
            Answer::Refused { status, text }
        }
        _ => Answer::Later(format!("the payment provider answered {status}")),
    }
}

/// The failure a refusal records: a reference in the id alphabet and a reason.
pub fn refusal(status: u16, text: &str) -> PayoutResult {
    let text = text.trim();
    PayoutResult {
        paid: false,
        provider_reference: format!("refused-http-{status}"),
        reason: Some(if text.is_empty() {
            format!("the payment provider refused the payout (HTTP {status})")
        } else {
            format!("the payment provider refused the payout (HTTP {status}): {text}")
        }),
    }
}

impl Payout {
    /// The state (table, the payment provider's secrets) and `PAYOUT_API_URL`.
    pub async fn from_env() -> Result<Payout, lambda_http::Error> {
        let needs = edge::Needs {
            payment_provider: true,
            ..Default::default()
        };
        let state = State::from_env(needs).await?;
        let url = std::env::var("PAYOUT_API_URL")
            .map_err(|_| "environment variable PAYOUT_API_URL is required")?;
        Payout::new(state, &url).map_err(Into::into)
    }

    /// A payout client for `base_url` (see [`check_url`]).
    pub fn new(state: State, base_url: &str) -> Result<Payout, String> {
        let base = check_url(base_url)?;
        Ok(Payout {
            state,
            base_url: base,
            client: edge::https::client()?,
        })
    }

    /// One call to the payout API.
    async fn call(&self, order: &PayoutOrder, now: Timestamp) -> Answer {
        let body = match serde_json::to_vec(order) {
            Ok(body) => body,
            Err(e) => return Answer::Later(format!("cannot write the payout order: {e}")),
        };
        let secret = match self.state.keyring(Integration::PaymentProvider) {
            Ok(keyring) => keyring.signing_secret(),
            Err(e) => return Answer::Later(e.to_string()),
        };
        let timestamp = now.seconds().to_string();
        let path = format!("{}{PAYOUT_PATH}", path_of(&self.base_url));
        let signature = sign(
            &secret,
            &timestamp,
            &Signed {
                method: "POST",
                path: &path,
                body: &body,
            },
        );
        let request = http::Request::post(format!("{}{PAYOUT_PATH}", self.base_url))
            .header("content-type", "application/json")
            .header("idempotency-key", &order.withdrawal_id)
            .header(TIMESTAMP_HEADER, &timestamp)
            .header(SIGNATURE_HEADER, &signature)
            .body(Full::new(Bytes::from(body)));
        let request = match request {
            Ok(request) => request,
            Err(e) => return Answer::Later(format!("cannot build the payout request: {e}")),
        };
        match edge::https::send(&self.client, request, CALL_TIMEOUT, MAX_ANSWER).await {
            Ok((status, body)) => answer_of(status, &body),
            Err(e) => Answer::Later(format!("the payment provider did not answer: {e}")),
        }
    }

    /// Sends one approved withdrawal; `Ok` says what happened, `Err` asks for a redelivery.
    pub async fn send(
        &self,
        player: &PlayerId,
        withdrawal_id: &ClientId,
        correlation_id: &str,
    ) -> Result<String, WalletError> {
        let found = self.state.store.withdrawal(withdrawal_id).await?;
        let Some(withdrawal) = found.filter(|w| w.player_id == *player) else {
            return Err(WalletError::WithdrawalNotFound(format!(
                "player {player} has no withdrawal {withdrawal_id}"
            )));
        };
        if withdrawal.status != WithdrawalStatus::Approved {
            return Ok(format!(
                "{withdrawal_id} is {}: nothing to send",
                withdrawal.status.as_str()
            ));
        }
        let order = PayoutOrder::of(&withdrawal);
        let mut last = String::new();
        for attempt in 1..=ATTEMPTS {
            match self.call(&order, self.state.clock.now()).await {
                Answer::Accepted => {
                    metrics::counter!("payouts", "outcome" => "accepted").increment(1);
                    return Ok(format!("{withdrawal_id}: accepted by the provider"));
                }
                Answer::Refused { status, text } => {
                    let result = refusal(status, &text);
                    store::withdrawal::withdrawal_result(
                        &self.state.store,
                        player,
                        withdrawal_id,
                        &result,
                        correlation_id,
                        || self.state.clock.now(),
                    )
                    .await
                    .map_err(|failed| failed.error)?;
                    metrics::counter!("payouts", "outcome" => "refused").increment(1);
                    return Ok(format!(
                        "{withdrawal_id}: refused by the provider (HTTP {status}), returned to cash"
                    ));
                }
                Answer::Later(why) => {
                    last = why;
                    if attempt < ATTEMPTS {
                        tokio::time::sleep(BACKOFF * 2u32.pow(attempt - 1)).await;
                    }
                }
            }
        }
        metrics::counter!("payouts", "outcome" => "unanswered").increment(1);
        Err(WalletError::Unavailable(last))
    }
}

/// `base_url` without a trailing slash, when it is `https://…` (or `http://` to a loopback
/// address: the local sandbox provider and tests).
pub fn check_url(base_url: &str) -> Result<String, String> {
    let base = base_url.trim_end_matches('/');
    if edge::https::allowed_url(base) {
        Ok(base.to_string())
    } else {
        Err(format!(
            "PAYOUT_API_URL must be an https:// URL (http:// only to a loopback address), not {base_url:?}"
        ))
    }
}

/// The path part of a base URL (`https://h/v1` → `/v1`; none → empty).
fn path_of(base_url: &str) -> &str {
    let rest = base_url
        .split_once("://")
        .map_or(base_url, |(_, rest)| rest);
    rest.find('/').map_or("", |i| &rest[i..])
}

pub async fn handle_batch(payout: &Payout, event: SqsEvent) -> SqsBatchResponse {
    edge::batch::each_message("payout", event, |message, _| async move {
        let event = wire::queue::delivered_event(message.body.as_deref().unwrap_or_default())?;
        let EventKind::WithdrawalApproved { withdrawal_id, .. } = &event.kind else {
            return Ok(format!(
                "{}: not a WithdrawalApproved event",
                event.event_id
            ));
        };
        let id = ClientId::parse("/detail/withdrawal_id", withdrawal_id)
            .map_err(|e| WalletError::Validation(vec![e]))?;
        payout
            .send(&event.player_id, &id, &event.correlation_id)
            .await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_accepted_refused_or_later() {
        assert_eq!(answer_of(202, b""), Answer::Accepted);
        assert_eq!(
            answer_of(422, b"destination\nrefused"),
            Answer::Refused {
                status: 422,
                text: "destinationrefused".into()
            }
        );
        for later in [408, 429, 500, 502, 503, 301, 100] {
            assert!(matches!(answer_of(later, b""), Answer::Later(_)), "{later}");
        }
    }

    #[test]
    fn a_refusal_is_a_failure_in_the_id_alphabet() {
        let failed = refusal(422, "  no such account ");
        assert!(!failed.paid);
        assert!(ClientId::new(&failed.provider_reference).is_ok());
        assert_eq!(
            failed.reason.as_deref(),
            Some("the payment provider refused the payout (HTTP 422): no such account")
        );
        assert!(refusal(404, "")
            .reason
            .unwrap_or_default()
            .ends_with("(HTTP 404)"));
    }

    #[test]
    fn the_signed_path_keeps_the_base_urls_own_path() {
        assert_eq!(path_of("https://psp.example/v1"), "/v1");
        assert_eq!(path_of("http://127.0.0.1:8080"), "");
        assert_eq!(path_of("https://psp.example"), "");
    }
}
