//! Queue messages: settlement messages (the aggregator's), EventBridge deliveries (the
//! bonus queue) and dead-lettered deliveries (a redrive). Any body is read or refused without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    if let Ok(message) = wire::queue::settlement_message(body) {
        let _ = ledger::settlement::SettlementCommand::from_request(
            &message.player_id,
            &message.bet_id,
            &message.request,
        );
    }
    if let Ok(text) = std::str::from_utf8(body) {
        let _ = wire::queue::delivered_event(text);
        let _ = wire::queue::redriven_event(text);
    }
});
