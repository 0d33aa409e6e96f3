//! The queues on-call watches: every dead-letter queue and the publisher's failure queue,
//! with their depth, and a redrive for each, the way its messages first came:
//! - the four that hold EventBridge events (bonus and payout deliveries): each event goes
//!   back on the wallet bus, where its rule delivers it to the queue it failed from (on AWS
//!   those queues' policies admit only their rule, so sending to them directly would be
//!   refused); `./dev redrive` does the same from the command line;
//! - the settlements' (`SettlementDeadLetterQueue`): each message goes back to
//!   `SettlementQueue` as it was, body and signature attributes, whose policy admits the
//!   aggregator and this function only; `settle-queue` verifies the aggregator's signature
//!   again, so only genuine settlements are applied;
//! - the publisher's failures (`OutboxFailureQueue`): each message names a stream batch,
//!   whose events are read again from the table's stream and published (`publisher::replay`).
//!
//! A message is deleted only once it went back; one that cannot (not an event, a batch no
//! longer on the stream, a refusal) stays. The consumers are idempotent (bonus grants by
//! campaign, payouts by withdrawal id, settlements by id, events by `event_id`), so a
//! message sent back twice moves money once.

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_sqs::types::{MessageAttributeValue, QueueAttributeName};
use edge::config::ConfigError;
use ledger::api::QueueView;
use ledger::WalletError;

/// How a queue's messages go back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handling {
    /// EventBridge events: back on the bus, whose rule delivers them to `delivers_to`.
    Redrive { delivers_to: &'static str },
    /// Signed settlement messages: sent again, as they were, to `delivers_to`.
    Resend { delivers_to: &'static str },
    /// Stream batch coordinates: the batch's events published again from the stream.
    Replay,
}

/// A queue the back office knows: its template logical id, what it holds and how it goes
/// back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Known {
    pub name: &'static str,
    pub handling: Handling,
    pub note: &'static str,
}

/// Every dead-letter and failure queue of the template (a test checks the template has
/// no other, and that each queue's messages go back where the template says they came
/// from).
pub const KNOWN: [Known; 6] = [
    Known {
        name: "SettlementDeadLetterQueue",
        handling: Handling::Resend {
            delivers_to: "SettlementQueue",
        },
        note: "Settlements the settle-queue function failed 5 times. A redrive sends them \
               back to SettlementQueue with their signature: settle-queue verifies the \
               aggregator's signature again (valid for the 14 days a message is kept) and \
               applies each once.",
    },
    Known {
        name: "OutboxFailureQueue",
        handling: Handling::Replay,
        note: "Stream batches the publisher could not publish. A redrive reads each batch \
               again from the table's stream (kept 24 hours) and publishes its events; \
               consumers ignore the events they already had.",
    },
    Known {
        name: "BonusDeadLetterQueue",
        handling: Handling::Redrive {
            delivers_to: "BonusQueue",
        },
        note: "First-deposit events the bonus-award function failed 5 times.",
    },
    Known {
        name: "BonusRuleDeadLetterQueue",
        handling: Handling::Redrive {
            delivers_to: "BonusQueue",
        },
        note: "First-deposit events EventBridge could not deliver to BonusQueue.",
    },
    Known {
        name: "PayoutDeadLetterQueue",
        handling: Handling::Redrive {
            delivers_to: "PayoutQueue",
        },
        note: "Approved withdrawals the payout function failed 5 times (the payment \
               provider unreachable or answering 5xx).",
    },
    Known {
        name: "PayoutRuleDeadLetterQueue",
        handling: Handling::Redrive {
            delivers_to: "PayoutQueue",
        },
        note: "Approved withdrawals EventBridge could not deliver to PayoutQueue.",
    },
];

/// The most messages one redrive moves, so that it ends well within the function's
/// timeout; asking again moves the rest.
pub const MAX_REDRIVE: usize = 500;

/// A watched queue: what it is and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watched {
    pub known: Known,
    pub url: String,
}

/// `OPS_QUEUES`: space-separated `LogicalId=QueueUrl` pairs, each a known queue, once.
pub fn parse_watched(text: &str) -> Result<Vec<Watched>, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        name: "OPS_QUEUES",
        reason,
    };
    let mut watched: Vec<Watched> = Vec::new();
    for pair in text.split_whitespace() {
        let (name, url) = pair
            .split_once('=')
            .ok_or_else(|| invalid(format!("{pair:?} is not NAME=URL")))?;
        let known = KNOWN
            .iter()
            .find(|k| k.name == name)
            .ok_or_else(|| invalid(format!("{name} is not a queue the back office knows")))?;
        if url.is_empty() {
            return Err(invalid(format!("{name} has no URL")));
        }
        if watched.iter().any(|w| w.known.name == name) {
            return Err(invalid(format!("{name} is given twice")));
        }
        watched.push(Watched {
            known: *known,
            url: url.to_string(),
        });
    }
    Ok(watched)
}

/// The SQS, EventBridge and stream side of the back office, built once per cold start.
pub struct Queues {
    sqs: aws_sdk_sqs::Client,
    streams: aws_sdk_dynamodbstreams::Client,
    publisher: publisher::Publisher,
    /// Where settlements go back to (`SETTLEMENT_QUEUE_URL`).
    settlement_queue: String,
    watched: Vec<Watched>,
}

fn unavailable(call: &str, error: impl std::fmt::Display) -> WalletError {
    WalletError::Unavailable(format!("{call}: {error}"))
}

/// One message received from a dead-letter queue.
struct Received {
    id: String,
    receipt: String,
    body: String,
    attributes: std::collections::HashMap<String, MessageAttributeValue>,
}

impl Queues {
    pub fn new(
        sqs: aws_sdk_sqs::Client,
        streams: aws_sdk_dynamodbstreams::Client,
        publisher: publisher::Publisher,
        settlement_queue: impl Into<String>,
        watched: Vec<Watched>,
    ) -> Queues {
        Queues {
            sqs,
            streams,
            publisher,
            settlement_queue: settlement_queue.into(),
            watched,
        }
    }

    /// Reads `OPS_QUEUES`, `SETTLEMENT_QUEUE_URL` and `EVENT_BUS_NAME`.
    pub fn from_env(aws: &aws_config::SdkConfig) -> Result<Queues, ConfigError> {
        let variable = |name: &'static str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .ok_or(ConfigError::Missing(name))
        };
        let watched = parse_watched(&variable("OPS_QUEUES")?)?;
        Ok(Queues::new(
            aws_sdk_sqs::Client::new(aws),
            aws_sdk_dynamodbstreams::Client::new(aws),
            publisher::Publisher::new(
                aws_sdk_eventbridge::Client::new(aws),
                variable("EVENT_BUS_NAME")?,
            ),
            variable("SETTLEMENT_QUEUE_URL")?,
            watched,
        ))
    }

    /// The watched queue `name`, or 404.
    pub fn watched(&self, name: &str) -> Result<&Watched, WalletError> {
        self.watched
            .iter()
            .find(|w| w.known.name == name)
            .ok_or_else(|| {
                let names: Vec<&str> = self.watched.iter().map(|w| w.known.name).collect();
                WalletError::QueueNotFound(format!(
                    "there is no queue {name}; the queues are {}",
                    names.join(", ")
                ))
            })
    }

    /// Every watched queue with its depth, in the order configured. The queues are asked at
    /// once (one task each), not one after another.
    pub async fn states(&self) -> Result<Vec<QueueView>, WalletError> {
        let asked: Vec<_> = self
            .watched
            .iter()
            .map(|watched| {
                let request = self
                    .sqs
                    .get_queue_attributes()
                    .queue_url(&watched.url)
                    .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
                    .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible);
                tokio::spawn(request.send())
            })
            .collect();
        let mut views = Vec::with_capacity(self.watched.len());
        for (watched, answer) in self.watched.iter().zip(asked) {
            let out = answer
                .await
                .map_err(|e| unavailable("GetQueueAttributes", e))?
                .map_err(|e| {
                    unavailable(
                        "GetQueueAttributes",
                        aws_sdk_sqs::error::DisplayErrorContext(e),
                    )
                })?;
            let count = |name: QueueAttributeName| {
                out.attributes()
                    .and_then(|a| a.get(&name))
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            let delivers_to = match watched.known.handling {
                Handling::Redrive { delivers_to } | Handling::Resend { delivers_to } => {
                    Some(delivers_to.to_string())
                }
                Handling::Replay => None,
            };
            views.push(QueueView {
                queue: watched.known.name.to_string(),
                depth: count(QueueAttributeName::ApproximateNumberOfMessages),
                in_flight: count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
                redrivable: true,
                delivers_to,
                note: watched.known.note.to_string(),
            });
        }
        Ok(views)
    }

    /// Up to ten messages not seen yet in this redrive, invisible for a minute meanwhile.
    async fn receive(
        &self,
        watched: &Watched,
        seen: &mut std::collections::HashSet<String>,
    ) -> Result<Vec<Received>, WalletError> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(&watched.url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .visibility_timeout(60)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| {
                unavailable("ReceiveMessage", aws_sdk_sqs::error::DisplayErrorContext(e))
            })?;
        Ok(out
            .messages
            .unwrap_or_default()
            .into_iter()
            .filter(|m| seen.insert(m.message_id().unwrap_or_default().to_string()))
            .map(|m| Received {
                id: m.message_id().unwrap_or_default().to_string(),
                receipt: m.receipt_handle().unwrap_or_default().to_string(),
                body: m.body().unwrap_or_default().to_string(),
                attributes: m.message_attributes.unwrap_or_default(),
            })
            .collect())
    }

    async fn delete(&self, watched: &Watched, message: &Received) -> Result<(), WalletError> {
        self.sqs
            .delete_message()
            .queue_url(&watched.url)
            .receipt_handle(&message.receipt)
            .send()
            .await
            .map_err(|e| {
                unavailable("DeleteMessage", aws_sdk_sqs::error::DisplayErrorContext(e))
            })?;
        Ok(())
    }

    /// Sends one message back the way it came; `Err` says why it stays.
    async fn send_back(&self, watched: &Watched, message: &Received) -> Result<(), String> {
        match watched.known.handling {
            Handling::Redrive { .. } => {
                let event = wire::queue::redriven_event(&message.body)?;
                let entry = PutEventsRequestEntry::builder()
                    .event_bus_name(self.publisher.bus())
                    .source(event.source)
                    .detail_type(event.detail_type)
                    .detail(event.detail)
                    .build();
                let put = self
                    .publisher
                    .client()
                    .put_events()
                    .entries(entry)
                    .send()
                    .await
                    .map_err(|e| aws_sdk_eventbridge::error::DisplayErrorContext(e).to_string())?;
                match put.entries().first().and_then(|r| r.error_code()) {
                    None if put.failed_entry_count() == 0 => Ok(()),
                    code => Err(format!("the bus refused the event ({code:?})")),
                }
            }
            Handling::Resend { .. } => {
                self.sqs
                    .send_message()
                    .queue_url(&self.settlement_queue)
                    .message_body(&message.body)
                    .set_message_attributes(Some(message.attributes.clone()))
                    .send()
                    .await
                    .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())?;
                Ok(())
            }
            Handling::Replay => {
                let batch = wire::stream::failed_batch(&message.body)?;
                let published = publisher::replay::replay(&self.streams, &self.publisher, &batch)
                    .await
                    .map_err(|e| e.to_string())?;
                tracing::info!(shard = %batch.shard_id, start = %batch.start_sequence, end = %batch.end_sequence, published, "a failed batch published again");
                Ok(())
            }
        }
    }

    /// Sends up to [`MAX_REDRIVE`] messages of `watched` back. Returns (moved, left).
    pub async fn redrive(&self, watched: &Watched) -> Result<(u64, u64), WalletError> {
        let (mut moved, mut left) = (0u64, 0u64);
        let mut seen = std::collections::HashSet::new();
        while seen.len() < MAX_REDRIVE {
            let batch = self.receive(watched, &mut seen).await?;
            if batch.is_empty() {
                break;
            }
            for message in &batch {
                match self.send_back(watched, message).await {
                    Ok(()) => {
                        self.delete(watched, message).await?;
                        moved += 1;
                    }
                    Err(why) => {
                        tracing::warn!(queue = watched.known.name, message_id = %message.id, %why, "left in the queue");
                        left += 1;
                    }
                }
            }
        }
        Ok((moved, left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_names_known_queues_once_each() {
        let watched = parse_watched(
            "PayoutDeadLetterQueue=https://sqs.eu-west-1.amazonaws.com/1/p \
             OutboxFailureQueue=https://sqs.eu-west-1.amazonaws.com/1/o",
        )
        .unwrap();
        assert_eq!(watched.len(), 2);
        assert_eq!(watched[0].known.name, "PayoutDeadLetterQueue");
        assert_eq!(watched[1].url, "https://sqs.eu-west-1.amazonaws.com/1/o");
        assert_eq!(parse_watched("  ").unwrap(), Vec::new());
        for bad in [
            "PayoutDeadLetterQueue",
            "PayoutDeadLetterQueue=",
            "SomethingElse=https://x/1/q",
            "PayoutDeadLetterQueue=https://x/1/a PayoutDeadLetterQueue=https://x/1/b",
        ] {
            assert!(parse_watched(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_queue_says_what_it_holds_and_where_it_goes_back() {
        for known in KNOWN {
            assert!(!known.note.is_empty());
            match known.handling {
                Handling::Redrive { delivers_to } => {
                    assert!(known
                        .name
                        .starts_with(delivers_to.trim_end_matches("Queue")))
                }
                Handling::Resend { delivers_to } => {
                    assert_eq!(
                        (known.name, delivers_to),
                        ("SettlementDeadLetterQueue", "SettlementQueue")
                    )
                }
                Handling::Replay => assert_eq!(known.name, "OutboxFailureQueue"),
            }
        }
    }
}
