//! Stream records: any JSON Lambda might deliver as a DynamoDB stream batch is read, and
//! each record is recognised as an outbox event or not, and any on-failure record is read
//! or refused, without a panic.
#![no_main]

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(event) = serde_json::from_slice::<Event>(data) {
        for record in &event.records {
            let _ = wire::stream::change_events(record);
        }
    }
    if let Ok(record) = serde_json::from_slice::<EventRecord>(data) {
        let _ = wire::stream::change_events(&record);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = wire::stream::failed_batch(text);
    }
});
