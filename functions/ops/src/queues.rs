//! The queues on-call watches: every dead-letter queue and the publisher's failure queue,
//! with their depth, and the redrive of those whose messages are EventBridge events.
//!
//! A redrive puts each event back on the wallet bus, where its rule delivers it to the
//! queue it failed from (on AWS the consumer queues' policies admit only their rule, so
//! sending to the queue directly would be refused), then deletes it from the dead-letter
//! queue. A message that is not an event, or that the bus refuses, stays. The consumers are
//! idempotent (bonus grants by campaign, payouts by withdrawal id), so an event delivered
//! twice moves money once. `./dev redrive` does the same locally from the command line.

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_sqs::types::QueueAttributeName;
use edge::config::ConfigError;
use ledger::api::QueueView;
use ledger::WalletError;

/// What the back office can do with a queue's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handling {
    /// EventBridge events: back on the bus, whose rule delivers them to `delivers_to`.
    Redrive { delivers_to: &'static str },
    /// Not sent back from here; the note says why and what to do.
    Held,
}

/// A queue the back office knows: its template logical id, what it holds and how it is
/// handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Known {
    pub name: &'static str,
    pub handling: Handling,
    pub note: &'static str,
}

/// Every dead-letter and failure queue of the template (a test checks the template has
/// no other, and that each redrivable one is the dead-letter queue of its `delivers_to`).
pub const KNOWN: [Known; 6] = [
    Known {
        name: "SettlementDeadLetterQueue",
        handling: Handling::Held,
        note: "Settlements the settle function failed 5 times. Only the aggregator may send \
               to SettlementQueue and each message carries its signature: ask the aggregator \
               to send these settlements again (an applied settlement id replays and moves \
               nothing), then purge this queue.",
    },
    Known {
        name: "OutboxFailureQueue",
        handling: Handling::Held,
        note: "Stream batches the publisher could not publish: each message holds the \
               batch's stream coordinates, not events, so nothing here can be sent back. \
               The events are kept in the table with the changes that caused them: see the \
               README, \"Dead-letter queues\".",
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

/// The SQS and EventBridge side of the back office, built once per cold start.
pub struct Queues {
    sqs: aws_sdk_sqs::Client,
    events: aws_sdk_eventbridge::Client,
    bus: String,
    watched: Vec<Watched>,
}

fn unavailable(call: &str, error: impl std::fmt::Display) -> WalletError {
    WalletError::Unavailable(format!("{call}: {error}"))
}

impl Queues {
    pub fn new(
        sqs: aws_sdk_sqs::Client,
        events: aws_sdk_eventbridge::Client,
        bus: impl Into<String>,
        watched: Vec<Watched>,
    ) -> Queues {
        Queues {
            sqs,
            events,
            bus: bus.into(),
            watched,
        }
    }

    /// Reads `OPS_QUEUES` and `EVENT_BUS_NAME`.
    pub fn from_env(aws: &aws_config::SdkConfig) -> Result<Queues, ConfigError> {
        let bus = std::env::var("EVENT_BUS_NAME")
            .ok()
            .filter(|b| !b.trim().is_empty())
            .ok_or(ConfigError::Missing("EVENT_BUS_NAME"))?;
        let watched = parse_watched(
            &std::env::var("OPS_QUEUES").map_err(|_| ConfigError::Missing("OPS_QUEUES"))?,
        )?;
        Ok(Queues::new(
            aws_sdk_sqs::Client::new(aws),
            aws_sdk_eventbridge::Client::new(aws),
            bus,
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

    /// Every watched queue with its depth, in the order configured.
    pub async fn states(&self) -> Result<Vec<QueueView>, WalletError> {
        let mut views = Vec::with_capacity(self.watched.len());
        for watched in &self.watched {
            let out = self
                .sqs
                .get_queue_attributes()
                .queue_url(&watched.url)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
                .send()
                .await
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
                Handling::Redrive { delivers_to } => Some(delivers_to.to_string()),
                Handling::Held => None,
            };
            views.push(QueueView {
                queue: watched.known.name.to_string(),
                depth: count(QueueAttributeName::ApproximateNumberOfMessages),
                in_flight: count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
                redrivable: delivers_to.is_some(),
                delivers_to,
                note: watched.known.note.to_string(),
            });
        }
        Ok(views)
    }

    /// The queue `name` if its messages may be redriven here; otherwise why not.
    pub fn redrivable(&self, name: &str) -> Result<&Watched, WalletError> {
        let watched = self.watched(name)?;
        match watched.known.handling {
            Handling::Redrive { .. } => Ok(watched),
            Handling::Held => Err(WalletError::QueueNotRedrivable(format!(
                "{name} is not redriven from the back office: {}",
                watched.known.note
            ))),
        }
    }

    /// Moves up to [`MAX_REDRIVE`] messages of `watched` back onto the bus. Returns
    /// (moved, left). A message is deleted only after the bus took its event.
    pub async fn redrive(&self, watched: &Watched) -> Result<(u64, u64), WalletError> {
        let (mut moved, mut left) = (0u64, 0u64);
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        while seen.len() < MAX_REDRIVE {
            let out = self
                .sqs
                .receive_message()
                .queue_url(&watched.url)
                .max_number_of_messages(10)
                .wait_time_seconds(0)
                .visibility_timeout(60)
                .send()
                .await
                .map_err(|e| {
                    unavailable("ReceiveMessage", aws_sdk_sqs::error::DisplayErrorContext(e))
                })?;
            let batch: Vec<_> = out
                .messages
                .unwrap_or_default()
                .into_iter()
                .filter(|m| seen.insert(m.message_id().unwrap_or_default().to_string()))
                .collect();
            if batch.is_empty() {
                break;
            }
            let mut entries = Vec::new();
            let mut receipts = Vec::new();
            for message in &batch {
                match wire::queue::redriven_event(message.body().unwrap_or_default()) {
                    Ok(event) => {
                        entries.push(
                            PutEventsRequestEntry::builder()
                                .event_bus_name(&self.bus)
                                .source(event.source)
                                .detail_type(event.detail_type)
                                .detail(event.detail)
                                .build(),
                        );
                        receipts.push(message.receipt_handle().unwrap_or_default().to_string());
                    }
                    Err(why) => {
                        tracing::warn!(queue = watched.known.name, message_id = ?message.message_id(), %why, "not an event: left in the queue");
                        left += 1;
                    }
                }
            }
            if entries.is_empty() {
                continue;
            }
            let put = self
                .events
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| {
                    unavailable(
                        "PutEvents",
                        aws_sdk_eventbridge::error::DisplayErrorContext(e),
                    )
                })?;
            for (result, receipt) in put.entries().iter().zip(receipts) {
                if result.error_code().is_some() {
                    tracing::warn!(queue = watched.known.name, code = ?result.error_code(), "the bus refused an event: left in the queue");
                    left += 1;
                    continue;
                }
                self.sqs
                    .delete_message()
                    .queue_url(&watched.url)
                    .receipt_handle(receipt)
                    .send()
                    .await
                    .map_err(|e| {
                        unavailable("DeleteMessage", aws_sdk_sqs::error::DisplayErrorContext(e))
                    })?;
                moved += 1;
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
    fn only_event_queues_are_redrivable_and_each_says_what_it_holds() {
        for known in KNOWN {
            assert!(!known.note.is_empty());
            match known.handling {
                Handling::Redrive { delivers_to } => {
                    assert!(known
                        .name
                        .starts_with(delivers_to.trim_end_matches("Queue")))
                }
                Handling::Held => assert!(
                    ["SettlementDeadLetterQueue", "OutboxFailureQueue"].contains(&known.name)
                ),
            }
        }
    }
}
