//! Counts what the DynamoDB client actually sends: an SDK interceptor sees every operation's
//! input before it is serialised, every attempt before it is transmitted (a round trip) and
//! every output after it is deserialised, and prices each item the way DynamoDB bills it.
//!
//! Billing rules (on-demand, as documented by DynamoDB):
//! - a write costs 1 write unit per started KB of the item (the larger of the item before and
//!   after the write), a transactional write twice that;
//! - a strongly consistent read costs 1 read unit per started 4 KB, an eventually consistent
//!   one half that, a transactional read twice that; a read of an item that does not exist
//!   still costs the minimum;
//! - a query costs the summed size of the items it returns, rounded up to 4 KB once;
//! - a write that adds, changes or removes an item's entry in a global secondary index costs
//!   the index 1 write unit per started KB of the index entry (its keys and projected
//!   attributes; index writes are standard writes, not transactional); a write that leaves
//!   the projected attributes as they were costs the index nothing.

use aws_sdk_dynamodb::config::interceptors::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::operation::get_item::{GetItemInput, GetItemOutput};
use aws_sdk_dynamodb::operation::query::{QueryInput, QueryOutput};
use aws_sdk_dynamodb::operation::transact_get_items::{
    TransactGetItemsInput, TransactGetItemsOutput,
};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use store::table::item_size;
use store::Item;

pub const READ_OPERATIONS: [&str; 5] = [
    "GetItem",
    "TransactGetItems",
    "Query",
    "BatchGetItem",
    "Scan",
];

/// One item a call read or wrote, priced.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemCost {
    /// The item's `item_type` (wallet, profile, bet, settlement, deposit, …), or
    /// `history index (<item_type>)` for the index entry a write adds or changes.
    pub kind: String,
    pub bytes: usize,
    pub units: f64,
}

/// One completed SDK operation.
#[derive(Debug, Clone)]
pub struct Call {
    pub operation: String,
    pub ok: bool,
    pub read_units: f64,
    pub write_units: f64,
    pub reads: Vec<ItemCost>,
    pub writes: Vec<ItemCost>,
    /// Events the written items carry for the publisher (one `PutEvents` entry each).
    pub events: usize,
}

impl Call {
    pub fn is_read(&self) -> bool {
        READ_OPERATIONS.contains(&self.operation.as_str())
    }

    /// Events committed for the publisher (one `PutEvents` entry each).
    pub fn published_events(&self) -> usize {
        if self.ok {
            self.events
        } else {
            0
        }
    }
}

/// What the interceptor saw since it was last drained.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    pub calls: Vec<Call>,
    /// One per attempt sent over the wire, by operation name.
    pub round_trips: Vec<String>,
}

impl Seen {
    pub fn read_round_trips(&self) -> usize {
        self.round_trips
            .iter()
            .filter(|op| READ_OPERATIONS.contains(&op.as_str()))
            .count()
    }

    pub fn write_round_trips(&self) -> usize {
        self.round_trips.len() - self.read_round_trips()
    }

    pub fn read_units(&self) -> f64 {
        self.calls.iter().map(|c| c.read_units).sum()
    }

    pub fn write_units(&self) -> f64 {
        self.calls.iter().map(|c| c.write_units).sum()
    }

    pub fn published_events(&self) -> usize {
        self.calls.iter().map(Call::published_events).sum()
    }

    /// Transactions DynamoDB cancelled (a condition failed or a conflict): decided again.
    pub fn cancelled_writes(&self) -> usize {
        self.calls.iter().filter(|c| !c.ok && !c.is_read()).count()
    }

    /// Every item written by the calls that succeeded.
    pub fn written(&self) -> Vec<ItemCost> {
        self.calls
            .iter()
            .filter(|c| c.ok)
            .flat_map(|c| c.writes.iter().cloned())
            .collect()
    }
}

#[derive(Debug, Default)]
struct Inner {
    seen: Seen,
    /// The last known size of every item read or written, for the "larger of before and
    /// after" rule of writes that replace an item.
    sizes: HashMap<(String, String), usize>,
    /// The last known index entry of every item read or written (its projected attributes),
    /// to tell whether a write changes it.
    indexed: HashMap<(String, String), Option<String>>,
}

/// The interceptor; cheap to clone (shared state).
#[derive(Debug, Clone, Default)]
pub struct Meter(Arc<Mutex<Inner>>);

impl Meter {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Everything seen since the last call, and forget it.
    pub fn drain(&self) -> Seen {
        std::mem::take(&mut self.inner().seen)
    }
}

#[derive(Debug, Clone)]
enum Intent {
    Write(Vec<Written>),
    Get { consistent: bool },
    Query { consistent: bool },
    TransactGet,
    Other,
}

#[derive(Debug, Clone)]
struct Written {
    key: (String, String),
    kind: String,
    bytes: Option<usize>,
    /// The item's entry in the history index (`None`: not in it), when the write sets it.
    index: Option<Option<IndexEntry>>,
    events: usize,
}

/// An item's entry in the `history` index: its projected attributes and their size.
#[derive(Debug, Clone, PartialEq)]
struct IndexEntry {
    image: String,
    bytes: usize,
}

/// The index entry of an item: the table's keys, the index's keys and the projected
/// attributes (`entries`), as DynamoDB sizes it. `None` when the item is not in the index.
fn index_entry(item: &Item) -> Option<IndexEntry> {
    use store::keys::{ENTRIES, HISTORY_PK, HISTORY_SK, PK, SK};
    item.get(HISTORY_PK)?;
    let projected: Item = [PK, SK, HISTORY_PK, HISTORY_SK, ENTRIES]
        .iter()
        .filter_map(|name| item.get(*name).map(|v| (name.to_string(), v.clone())))
        .collect();
    let mut names: Vec<&String> = projected.keys().collect();
    names.sort();
    let image = names
        .iter()
        .map(|name| format!("{name}={:?}", projected[*name]))
        .collect::<Vec<_>>()
        .join(";");
    Some(IndexEntry {
        image,
        bytes: item_size(&projected),
    })
}

/// The events an item carries for the publisher.
fn events_of(item: &Item) -> usize {
    let marked = item
        .get(store::keys::PUBLISH)
        .and_then(|v| v.as_s().ok())
        .is_some_and(|mark| mark == store::keys::PUBLISH_EVENTS);
    if !marked {
        return 0;
    }
    item.get(store::keys::EVENTS)
        .and_then(|v| v.as_s().ok())
        .and_then(|json| serde_json::from_str::<Vec<serde_json::Value>>(json).ok())
        .map_or(0, |events| events.len())
}

impl Storable for Intent {
    type Storer = StoreReplace<Self>;
}

fn text(item: &Item, name: &str) -> String {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

fn key_of(item: &Item) -> (String, String) {
    (text(item, "pk"), text(item, "sk"))
}

fn kind_of(item: &Item) -> String {
    match text(item, "item_type") {
        kind if kind.is_empty() => "?".to_string(),
        kind => kind,
    }
}

fn started(bytes: usize, per: usize) -> f64 {
    bytes.max(1).div_ceil(per) as f64
}

fn intent(input: &aws_smithy_runtime_api::client::interceptors::context::Input) -> Intent {
    if let Some(write) = input.downcast_ref::<TransactWriteItemsInput>() {
        let items = write
            .transact_items()
            .iter()
            .filter_map(|t| {
                if let Some(put) = t.put() {
                    let item = put.item();
                    return Some(Written {
                        key: key_of(item),
                        kind: kind_of(item),
                        bytes: Some(item_size(item)),
                        index: Some(index_entry(item)),
                        events: events_of(item),
                    });
                }
                let (key, kind) = if let Some(check) = t.condition_check() {
                    (check.key(), "condition check")
                } else if let Some(update) = t.update() {
                    (update.key(), "update")
                } else if let Some(delete) = t.delete() {
                    (delete.key(), "delete")
                } else {
                    return None;
                };
                Some(Written {
                    key: key_of(key),
                    kind: kind.to_string(),
                    bytes: None,
                    index: None,
                    events: 0,
                })
            })
            .collect();
        return Intent::Write(items);
    }
    if let Some(get) = input.downcast_ref::<GetItemInput>() {
        return Intent::Get {
            consistent: get.consistent_read() == Some(true),
        };
    }
    if let Some(query) = input.downcast_ref::<QueryInput>() {
        return Intent::Query {
            consistent: query.consistent_read() == Some(true),
        };
    }
    if input.downcast_ref::<TransactGetItemsInput>().is_some() {
        return Intent::TransactGet;
    }
    Intent::Other
}

fn read_cost(item: &Item, inner: &mut Inner, per_unit: f64) -> ItemCost {
    let bytes = item_size(item);
    inner.sizes.insert(key_of(item), bytes);
    inner
        .indexed
        .insert(key_of(item), index_entry(item).map(|e| e.image));
    ItemCost {
        kind: kind_of(item),
        bytes,
        units: per_unit * started(bytes, 4096),
    }
}

fn operation_name(cfg: &ConfigBag) -> String {
    cfg.load::<Metadata>()
        .map(|m| m.name().to_string())
        .unwrap_or_else(|| "?".to_string())
}

impl Intercept for Meter {
    fn name(&self) -> &'static str {
        "stakeline-bench-meter"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let intent = intent(context.input());
        cfg.interceptor_state().store_put(intent);
        Ok(())
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = operation_name(cfg);
        self.inner().seen.round_trips.push(operation);
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = operation_name(cfg);
        let intent = cfg.load::<Intent>().cloned().unwrap_or(Intent::Other);
        let output = match context.output_or_error() {
            Some(Ok(output)) => Some(output),
            _ => None,
        };
        let mut inner = self.inner();
        let mut call = Call {
            operation,
            ok: output.is_some(),
            read_units: 0.0,
            write_units: 0.0,
            reads: Vec::new(),
            writes: Vec::new(),
            events: 0,
        };
        match (&intent, output) {
            (Intent::Write(items), _) => {
                for written in items {
                    let before = inner.sizes.get(&written.key).copied().unwrap_or(0);
                    let after = written.bytes.unwrap_or(before);
                    let billed = before.max(after);
                    call.writes.push(ItemCost {
                        kind: written.kind.clone(),
                        bytes: after,
                        units: 2.0 * started(billed, 1024),
                    });
                    if let Some(index) = &written.index {
                        let known = inner.indexed.get(&written.key).cloned().flatten();
                        let now = index.as_ref().map(|e| e.image.clone());
                        if known != now {
                            // Added or changed: the new entry; removed: a delete of the old.
                            let bytes = index.as_ref().map_or(1, |e| e.bytes);
                            call.writes.push(ItemCost {
                                kind: format!("history index ({})", written.kind),
                                bytes,
                                units: started(bytes, 1024),
                            });
                        }
                    }
                    call.events += written.events;
                    if call.ok {
                        if let Some(bytes) = written.bytes {
                            inner.sizes.insert(written.key.clone(), bytes);
                        }
                        if let Some(index) = &written.index {
                            inner.indexed.insert(
                                written.key.clone(),
                                index.as_ref().map(|e| e.image.clone()),
                            );
                        }
                    }
                }
                if call.ok {
                    call.write_units = call.writes.iter().map(|w| w.units).sum();
                }
            }
            (Intent::TransactGet, Some(output)) => {
                if let Some(out) = output.downcast_ref::<TransactGetItemsOutput>() {
                    for response in out.responses() {
                        let cost = match response.item() {
                            Some(item) => read_cost(item, &mut inner, 2.0),
                            None => ItemCost {
                                kind: "absent".to_string(),
                                bytes: 0,
                                units: 2.0,
                            },
                        };
                        call.reads.push(cost);
                    }
                }
                call.read_units = call.reads.iter().map(|r| r.units).sum();
            }
            (Intent::Get { consistent }, Some(output)) => {
                let per = if *consistent { 1.0 } else { 0.5 };
                if let Some(out) = output.downcast_ref::<GetItemOutput>() {
                    call.reads.push(match out.item() {
                        Some(item) => read_cost(item, &mut inner, per),
                        None => ItemCost {
                            kind: "absent".to_string(),
                            bytes: 0,
                            units: per,
                        },
                    });
                }
                call.read_units = call.reads.iter().map(|r| r.units).sum();
            }
            (Intent::Query { consistent }, Some(output)) => {
                let per = if *consistent { 1.0 } else { 0.5 };
                if let Some(out) = output.downcast_ref::<QueryOutput>() {
                    let mut total = 0;
                    for item in out.items() {
                        let cost = read_cost(item, &mut inner, 0.0);
                        total += cost.bytes;
                        call.reads.push(cost);
                    }
                    call.read_units = per * started(total, 4096);
                }
            }
            _ => {}
        }
        inner.seen.calls.push(call);
        Ok(())
    }
}
