//! Request bodies: every route's body type through the strict JSON reader and its
//! validation into a command. Any input gets a value or a `WalletError`, never a panic.
#![no_main]

use ledger::action::{Operator, QueueAction, RedriveRequest};
use ledger::api::{parse_json, DepositRequest, ExclusionRequest, LimitsRequest};
use ledger::bet::{BetCommand, BetRequest};
use ledger::deposit::DepositCommand;
use ledger::register::{register, RegisterRequest};
use ledger::settlement::{SettlementCommand, SettlementRequest};
use ledger::{ClientId, PlayerId, Timestamp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let player = PlayerId::new("fuzz-player").expect("a valid id");
    let bet = ClientId::new("fuzz-bet").expect("a valid id");
    let now = Timestamp::from_millis(1_795_392_000_000);
    if let Ok(r) = parse_json::<RegisterRequest>(body) {
        let _ = register(&player, &r, now, 18);
    }
    if let Ok(r) = parse_json::<DepositRequest>(body) {
        let _ = DepositCommand::from_request(&player, &r);
    }
    if let Ok(r) = parse_json::<BetRequest>(body) {
        let _ = BetCommand::from_request(&player, &r);
    }
    if let Ok(r) = parse_json::<SettlementRequest>(body) {
        let _ = SettlementCommand::from_request(&player, &bet, &r);
    }
    if let Ok(r) = parse_json::<LimitsRequest>(body) {
        let _ = r.to_changes("");
    }
    let _ = parse_json::<ExclusionRequest>(body);
    if let Ok(r) = parse_json::<RedriveRequest>(body) {
        let staff = Operator::new("staff-fuzz").expect("a valid operator");
        let _ = QueueAction::redrive("PayoutDeadLetterQueue", &r, &staff, "c-fuzz", now);
    }
});
