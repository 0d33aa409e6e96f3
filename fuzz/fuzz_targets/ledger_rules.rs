//! The money rules: random sequences of commands against one account, decided by the same
//! pure functions the functions call and persisted the way the store persists them (a
//! decision's account and entries, each id's record). After every step the wallet rules'
//! invariants hold: no negative balance (1), balances equal their entries (2), every id
//! moves money at most once (3), bet states only move forward (4), rejections are stable
//! (7); and the bonus rules: wagering never grows except by an award, rollbacks never count,
//! the deposit windows stay bounded.
#![no_main]

use arbitrary::Arbitrary;
use ledger::api::DepositRequest;
use ledger::bet::{place_bet, BetCommand, BetRecord, BetRequest, BetStatus};
use ledger::bonus::{self, Award, Campaign, TriggeringDeposit};
use ledger::deposit::{deposit, DepositCommand, DepositRecord};
use ledger::exclusion::{exclude, ExclusionKind};
use ledger::idempotency::Recorded;
use ledger::limits::{LimitChange, LimitPeriod, MAX_BUCKETS};
use ledger::register::{register, RegisterRequest};
use ledger::settlement::{settle, SettlementCommand, SettlementRecord, SettlementRequest};
use ledger::{invariant, Account, ClientId, LedgerEntry, PlayerId, Timestamp};
use libfuzzer_sys::fuzz_target;
use std::collections::{HashMap, HashSet};

#[derive(Arbitrary, Debug)]
enum Op {
    Deposit { id: u8, amount: u16 },
    Bet { id: u8, amount: u16 },
    Win { bet: u8, settlement: u8, amount: u16 },
    Rollback { bet: u8, settlement: u8 },
    Award,
    Forfeit,
    Limit { period: u8, value: Option<u16> },
    Exclude { long: bool },
    Wait { minutes: u16 },
}

const CAMPAIGN: &str = r#"[{"campaign_id":"first-deposit-match","trigger":"first_deposit","match_percent":100,"cap":{"EUR":10000},"wagering_multiplier":10,"max_stake":{"EUR":500},"expiry_days":30}]"#;

struct World {
    player: PlayerId,
    account: Account,
    entries: Vec<LedgerEntry>,
    deposits: HashMap<String, DepositRecord>,
    bets: HashMap<String, BetRecord>,
    settlements: HashMap<String, SettlementRecord>,
    campaign: Campaign,
    /// The campaign's grant was recorded (awarded or declined): at most once per player,
    /// as the store's conditional grant item makes it.
    granted: bool,
    now: Timestamp,
}

impl World {
    fn post(&mut self, account: Account, entries: Vec<&LedgerEntry>) {
        self.entries.extend(entries.into_iter().cloned());
        self.account = account;
    }

    fn step(&mut self, op: Op) {
        let wagering_before = self.account.wagering_remaining;
        let mut awarded = false;
        match op {
            Op::Deposit { id, amount } => {
                let request = DepositRequest {
                    deposit_id: format!("d{id}"),
                    amount: i64::from(amount),
                    currency: "EUR".into(),
                };
                let Ok(command) = DepositCommand::from_request(&self.player, &request) else {
                    return;
                };
                if let Some(record) = self.deposits.get(&request.deposit_id) {
                    let _ = record.replay(&command);
                    return;
                }
                match deposit(&self.account, &command, self.now) {
                    Ok(d) => {
                        let record = DepositRecord::new(
                            &command,
                            Recorded::Accepted {
                                outcome: d.outcome.clone(),
                            },
                        );
                        self.post(d.account.clone(), d.entries());
                        self.deposits.insert(request.deposit_id, record);
                    }
                    Err(e) => {
                        assert!(e.is_stable_rejection() || e.code() == ledger::ErrorCode::ValidationFailed, "{e}");
                        if e.is_stable_rejection() {
                            let record = DepositRecord::new(&command, Recorded::rejection(&e));
                            // Invariant 7: the same id is refused the same way from now on.
                            assert_eq!(record.replay(&command).map_err(|r| r.code()), Err(e.code()));
                            self.deposits.insert(request.deposit_id, record);
                        }
                    }
                }
            }
            Op::Bet { id, amount } => {
                let request = BetRequest {
                    bet_id: format!("b{id}"),
                    round_id: "r".into(),
                    game_id: "g".into(),
                    amount: i64::from(amount),
                    currency: "EUR".into(),
                };
                let Ok(command) = BetCommand::from_request(&self.player, &request) else {
                    return;
                };
                if let Some(record) = self.bets.get(&request.bet_id) {
                    let _ = record.replay(&command);
                    return;
                }
                match place_bet(&self.account, &command, self.now) {
                    Ok(d) => {
                        self.post(d.account.clone(), d.entries());
                        self.bets.insert(request.bet_id, d.record);
                    }
                    Err(e) => {
                        assert!(e.is_stable_rejection(), "{e}");
                        self.bets
                            .insert(request.bet_id, BetRecord::rejected(&command, &e));
                    }
                }
            }
            Op::Win { bet, settlement, amount } => {
                self.settle(bet, settlement, "win", Some(i64::from(amount)));
            }
            Op::Rollback { bet, settlement } => {
                self.settle(bet, settlement, "rollback", None);
            }
            Op::Award => {
                if self.granted {
                    return;
                }
                let Some(first) = self
                    .deposits
                    .values()
                    .find(|r| matches!(&r.recorded, Recorded::Accepted { outcome } if outcome.first_deposit))
                    .cloned()
                else {
                    return;
                };
                let trigger = TriggeringDeposit {
                    event_id: format!("DepositCompleted:{}", first.deposit_id),
                    deposit_id: first.deposit_id.to_string(),
                    amount: first.amount,
                    currency: "EUR".into(),
                };
                trigger.confirm(&self.player, Some(&first)).expect("a real first deposit");
                match bonus::award(&self.account, &self.campaign, &trigger, self.now) {
                    Ok(Award::Granted(d)) => {
                        awarded = true;
                        self.granted = true;
                        let entry = d.entry.clone();
                        self.post(d.account, vec![&entry]);
                    }
                    Ok(Award::Declined(grant)) => {
                        assert_eq!(grant.amount, 0);
                        assert_ne!(self.account.status(self.now), ledger::AccountStatus::Active);
                        self.granted = true;
                    }
                    _ => {}
                }
            }
            Op::Forfeit => {
                if let Ok(Some(end)) = bonus::forfeit(&self.account, self.now) {
                    let entries: Vec<LedgerEntry> = end.entry.into_iter().collect();
                    self.post(end.account, entries.iter().collect());
                    assert_eq!(self.account.wagering_remaining, 0);
                }
            }
            Op::Limit { period, value } => {
                let period = LimitPeriod::ALL[usize::from(period) % 3];
                let change = match value {
                    Some(v) => LimitChange::Set(i64::from(v).max(1)),
                    None => LimitChange::Remove,
                };
                let mut changes = ledger::limits::no_changes();
                for slot in &mut changes {
                    if slot.0 == period {
                        slot.1 = change;
                    }
                }
                let mut next = self.account.touched();
                next.limits = self.account.limits.change(changes, self.now);
                self.account = next;
            }
            Op::Exclude { long } => {
                let (kind, days) = if long {
                    (ExclusionKind::SelfExclusion, 183)
                } else {
                    (ExclusionKind::TimeOut, 1)
                };
                let mut next = self.account.touched();
                next.exclusion = Some(exclude(self.account.exclusion.as_ref(), kind, days, self.now));
                self.account = next;
            }
            Op::Wait { minutes } => {
                self.now = self.now.plus_millis(i64::from(minutes) * 60_000);
            }
        }
        self.check(wagering_before, awarded);
    }

    fn settle(&mut self, bet: u8, settlement: u8, kind: &str, amount: Option<i64>) {
        let bet_id = format!("b{bet}");
        let request = SettlementRequest {
            settlement_id: format!("s{settlement}"),
            kind: kind.into(),
            amount,
        };
        let Ok(bet_key) = ClientId::new(&bet_id) else {
            return;
        };
        let Ok(command) = SettlementCommand::from_request(&self.player, &bet_key, &request) else {
            return;
        };
        if let Some(record) = self.settlements.get(&request.settlement_id) {
            let _ = record.replay(&command);
            return;
        }
        let before = self.bets.get(&bet_id).and_then(|r| r.placed()).map(|b| b.status);
        let wagering_before = self.account.wagering_remaining;
        let Ok(d) = settle(&self.account, self.bets.get(&bet_id), &command, self.now) else {
            return;
        };
        if let Some(next) = d.account.clone() {
            self.post(next, d.entries());
        }
        if let Some(record) = d.record.clone() {
            let after = record.placed().map(|b| b.status);
            if let (Some(before), Some(after)) = (before, after) {
                // Invariant 4: open → won | lost | rolled_back; closed states never change.
                assert!(before == BetStatus::Open || before == after, "{before:?} -> {after:?}");
            }
            if after == Some(BetStatus::RolledBack) {
                // A rollback never counts toward wagering (an expiry forfeited on the way
                // ends the bonus, and its wagering, altogether).
                if self.account.active_bonus.is_some() {
                    assert_eq!(self.account.wagering_remaining, wagering_before);
                }
            }
            self.bets.insert(bet_id, record);
        }
        self.settlements.insert(
            request.settlement_id,
            SettlementRecord::new(&command, &d.outcome),
        );
    }

    fn check(&self, wagering_before: i64, awarded: bool) {
        invariant::no_negative_balance(&self.account).expect("invariant 1");
        invariant::balance_equals_entries(&self.account, &self.entries).expect("invariant 2");
        assert!(self.account.wagering_remaining >= 0);
        if !awarded {
            assert!(self.account.wagering_remaining <= wagering_before, "wagering grew");
        }
        assert!(self.account.deposit_buckets.len() <= MAX_BUCKETS);
        // Invariant 3: every id's money moved at most once (one entry per kind and reference).
        let mut seen = HashSet::new();
        for e in &self.entries {
            assert!(seen.insert((e.kind, e.reference.clone())), "{:?} {} twice", e.kind, e.reference);
        }
    }
}

fuzz_target!(|ops: Vec<Op>| {
    let player = PlayerId::new("fuzz-player").expect("a valid id");
    let start = Timestamp::from_millis(1_795_392_000_000);
    let request = RegisterRequest {
        email: "fuzz@example.com".into(),
        date_of_birth: "1990-04-12".into(),
        country: "MT".into(),
        currency: "EUR".into(),
        display_name: None,
        deposit_limits: None,
    };
    let account = register(&player, &request, start, 18).expect("a valid registration");
    let mut world = World {
        player,
        account,
        entries: Vec::new(),
        deposits: HashMap::new(),
        bets: HashMap::new(),
        settlements: HashMap::new(),
        campaign: bonus::parse_campaigns(CAMPAIGN).expect("campaign").remove(0),
        granted: false,
        now: start,
    };
    for op in ops.into_iter().take(200) {
        world.step(op);
    }
});
