//! `publisher`: relays the outbox to EventBridge. It reads the table's stream (Lambda's
//! event source keeps only writes marked `publish` = `events`: a change's wallet, or its id
//! record when the wallet does not change), and puts each event on the wallet bus, in
//! stream order.
//!
//! Guarantee (invariant 6): every committed change's event is published at least once. The
//! events were written in the change's own transaction, so they exist exactly when the
//! change does. A crash or an EventBridge error here only means the stream delivers the record
//! again: the publisher reports the first record it could not publish
//! (`batchItemFailures`), and Lambda retries from that record on. Consumers deduplicate on
//! `event_id`.

use lambda_http::aws_lambda_events::event::dynamodb::{Event, EventRecord};
use lambda_http::aws_lambda_events::event::streams::{
    DynamoDbBatchItemFailure, DynamoDbEventResponse,
};
use ledger::events::Envelope;
use wire::stream::change_events;

pub mod replay;

/// EventBridge takes at most ten entries per `PutEvents`.
const PUT_EVENTS_MAX: usize = 10;

#[derive(Clone)]
pub struct Publisher {
    client: aws_sdk_eventbridge::Client,
    bus: String,
}

impl Publisher {
    pub fn new(client: aws_sdk_eventbridge::Client, bus: impl Into<String>) -> Publisher {
        Publisher {
            client,
            bus: bus.into(),
        }
    }

    /// The bus the events go to.
    pub fn bus(&self) -> &str {
        &self.bus
    }

    /// The EventBridge client.
    pub fn client(&self) -> &aws_sdk_eventbridge::Client {
        &self.client
    }

    /// Reads `EVENT_BUS_NAME` and builds the client once per cold start.
    pub async fn from_env() -> Result<Publisher, edge::config::ConfigError> {
        let bus = std::env::var("EVENT_BUS_NAME")
            .ok()
            .filter(|b| !b.trim().is_empty())
            .ok_or(edge::config::ConfigError::Missing("EVENT_BUS_NAME"))?;
        let aws = edge::aws::sdk_config().await?;
        Ok(Publisher::new(aws_sdk_eventbridge::Client::new(&aws), bus))
    }
}

fn failure_at(record: &EventRecord) -> DynamoDbEventResponse {
    let mut failure = DynamoDbBatchItemFailure::default();
    failure.item_identifier = record.change.sequence_number.clone();
    let mut response = DynamoDbEventResponse::default();
    response.batch_item_failures.push(failure);
    response
}

/// Publishes the batch's outbox events in order; reports the first record that could not
/// be published, so the stream retries from it.
pub async fn handle(publisher: &Publisher, event: Event) -> DynamoDbEventResponse {
    let mut pending: Vec<(&EventRecord, Envelope)> = Vec::new();
    for record in &event.records {
        match change_events(record) {
            None => {}
            Some(Ok(envelopes)) => pending.extend(envelopes.into_iter().map(|e| (record, e))),
            Some(Err(why)) => {
                // Publish what came before, then stop here: a change's events are never skipped.
                tracing::error!(sequence = ?record.change.sequence_number, %why, "cannot read the events of a record");
                return match publish(publisher, &pending).await {
                    Ok(()) => failure_at(record),
                    Err(first_failed) => failure_at(first_failed),
                };
            }
        }
    }
    match publish(publisher, &pending).await {
        Ok(()) => DynamoDbEventResponse::default(),
        Err(first_failed) => failure_at(first_failed),
    }
}

/// The money an event moved, in minor units, for the money-flow metrics: a deposit's,
/// a stake's, a withdrawal's amount; a settlement's credits (cash and bonus). `None` for
/// events that move no money by themselves.
pub fn flow_amount(envelope: &Envelope) -> Option<u64> {
    let field = |name: &str| envelope.detail.get(name).and_then(|v| v.as_i64());
    let amount = match envelope.detail_type.as_str() {
        "DepositCompleted"
        | "BetPlaced"
        | "BonusAwarded"
        | "WithdrawalRequested"
        | "WithdrawalPaid" => field("amount")?,
        "BetSettled" => field("cash_credit")?.checked_add(field("bonus_credit")?)?,
        _ => return None,
    };
    u64::try_from(amount).ok()
}

/// The currency of a money event, for a metric's label: an active ISO 4217 code (so the
/// label stays bounded), `unknown` for anything else.
pub fn flow_currency(envelope: &Envelope) -> String {
    envelope
        .detail
        .get("currency")
        .and_then(|v| v.as_str())
        .and_then(|code| ledger::Currency::new(code).ok())
        .map_or_else(|| "unknown".to_string(), |code| code.to_string())
}

/// Counts a published event (`events` by type) and the money it moved: `minor_units` by type
/// (every currency summed, what the dashboard's totals and any alarm use) and
/// `minor_units_by_currency` by type and currency. The money flow, from what committed. At
/// least once, like the stream: a batch delivered again counts again.
fn count_flow(envelope: &Envelope) {
    let kind = envelope.detail_type.clone();
    metrics::counter!("events", "type" => kind.clone()).increment(1);
    if let Some(amount) = flow_amount(envelope) {
        metrics::counter!("minor_units", "type" => kind.clone()).increment(amount);
        metrics::counter!(
            "minor_units_by_currency",
            "type" => kind,
            "currency" => flow_currency(envelope)
        )
        .increment(amount);
    }
}

/// Puts the events, ten at a time, in order; on failure, the place (`K`: a stream record,
/// or whatever the caller locates its events by) of the first event not published.
pub async fn publish<K: Copy>(publisher: &Publisher, events: &[(K, Envelope)]) -> Result<(), K> {
    for chunk in events.chunks(PUT_EVENTS_MAX) {
        let entries = chunk
            .iter()
            .map(|(_, envelope)| {
                aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                    .event_bus_name(&publisher.bus)
                    .source(&envelope.source)
                    .detail_type(&envelope.detail_type)
                    .detail(envelope.detail.to_string())
                    .build()
            })
            .collect::<Vec<_>>();
        match publisher
            .client
            .put_events()
            .set_entries(Some(entries))
            .send()
            .await
        {
            Err(error) => {
                tracing::warn!(error = ?error, "PutEvents failed; the stream will deliver these records again");
                return Err(chunk[0].0);
            }
            Ok(output) => {
                let results = output.entries();
                if let Some(index) = results.iter().position(|r| r.error_code().is_some()) {
                    tracing::warn!(code = ?results[index].error_code(), "an event was refused; the stream will deliver it again");
                    return Err(chunk[index.min(chunk.len() - 1)].0);
                }
                if output.failed_entry_count() > 0 || results.len() != chunk.len() {
                    return Err(chunk[0].0);
                }
                for (_, envelope) in chunk {
                    tracing::info!(detail_type = %envelope.detail_type, event_id = %envelope.detail["event_id"], "published");
                    count_flow(envelope);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(detail_type: &str, detail: serde_json::Value) -> Envelope {
        Envelope {
            source: "stakeline.wallet".into(),
            detail_type: detail_type.into(),
            detail,
        }
    }

    #[test]
    fn money_events_name_their_currency_and_nothing_else_becomes_a_label() {
        let deposit = envelope(
            "DepositCompleted",
            serde_json::json!({"amount": 500, "currency": "EUR"}),
        );
        assert_eq!(
            (flow_amount(&deposit), flow_currency(&deposit).as_str()),
            (Some(500), "EUR")
        );
        let settled = envelope(
            "BetSettled",
            serde_json::json!({"cash_credit": 300, "bonus_credit": 200, "currency": "JPY"}),
        );
        assert_eq!(
            (flow_amount(&settled), flow_currency(&settled).as_str()),
            (Some(500), "JPY")
        );
        for odd in [
            serde_json::json!("eur"),
            serde_json::json!("XYZ"),
            serde_json::json!(7),
            serde_json::Value::Null,
        ] {
            let event = envelope(
                "DepositCompleted",
                serde_json::json!({"amount": 1, "currency": odd}),
            );
            assert_eq!(flow_currency(&event), "unknown", "{odd}");
        }
        let other = envelope("PlayerRegistered", serde_json::json!({"currency": "EUR"}));
        assert_eq!(flow_amount(&other), None);
    }
}
