//! The betting rules of WALLET-RULES "Bets" and "Settlements", one test per rule, plus
//! properties over any sequence of bets and settlements.

use crate::account::fixtures::{account, T0};
use crate::account::Account;
use crate::bet::*;
use crate::error::ErrorCode;
use crate::exclusion::{exclude, ExclusionKind};
use crate::ids::{ClientId, PlayerId};
use crate::money::Currency;
use crate::settlement::*;
use proptest::prelude::*;

fn funded(cash: i64, bonus: i64) -> Account {
    let mut a = account();
    a.cash = cash;
    a.bonus = bonus;
    a
}

fn bet(id: &str, amount: i64) -> BetCommand {
    BetCommand {
        player_id: PlayerId::new("player-1").unwrap(),
        bet_id: ClientId::new(id).unwrap(),
        payload: BetPayload {
            round_id: ClientId::new("round-1").unwrap(),
            game_id: ClientId::new("game-1").unwrap(),
            amount,
            currency: Currency::new("EUR").unwrap(),
        },
    }
}

fn settlement(bet_id: &str, id: &str, kind: SettlementKind) -> SettlementCommand {
    SettlementCommand {
        player_id: PlayerId::new("player-1").unwrap(),
        bet_id: ClientId::new(bet_id).unwrap(),
        settlement_id: ClientId::new(id).unwrap(),
        kind,
    }
}

fn win(amount: i64) -> SettlementKind {
    SettlementKind::Win { amount }
}

#[test]
fn the_stake_comes_from_cash_first_then_bonus() {
    let d = place_bet(&funded(60, 50), &bet("b1", 100), T0).unwrap();
    assert_eq!((d.outcome.cash_stake, d.outcome.bonus_stake), (60, 40));
    assert_eq!((d.account.cash, d.account.bonus), (0, 10));
    assert_eq!((d.entry.cash_delta, d.entry.bonus_delta), (-60, -40));
    let d = place_bet(&funded(500, 50), &bet("b2", 100), T0).unwrap();
    assert_eq!((d.outcome.cash_stake, d.outcome.bonus_stake), (100, 0));
}

#[test]
fn not_enough_cash_and_bonus_is_insufficient_funds() {
    let err = place_bet(&funded(60, 39), &bet("b1", 100), T0).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InsufficientFunds);
    assert!(err.is_stable_rejection());
    assert!(place_bet(&funded(60, 40), &bet("b1", 100), T0).is_ok());
}

#[test]
fn a_stake_over_the_campaign_maximum_while_wagering_is_refused() {
    let mut a = funded(1000, 500);
    a.wagering_remaining = 5000;
    a.max_stake_while_wagering = Some(500);
    assert_eq!(
        place_bet(&a, &bet("b1", 501), T0).unwrap_err().code(),
        ErrorCode::StakeLimitExceeded
    );
    assert!(place_bet(&a, &bet("b1", 500), T0).is_ok());
    a.wagering_remaining = 0;
    assert!(
        place_bet(&a, &bet("b1", 501), T0).is_ok(),
        "no maximum once wagering is done"
    );
}

#[test]
fn blocked_players_cannot_bet() {
    let mut a = funded(1000, 0);
    a.exclusion = Some(exclude(None, ExclusionKind::TimeOut, 1, T0));
    assert_eq!(
        place_bet(&a, &bet("b1", 10), T0).unwrap_err().code(),
        ErrorCode::PlayerBlocked
    );
}

#[test]
fn another_currency_is_refused() {
    let mut c = bet("b1", 10);
    c.payload.currency = Currency::new("USD").unwrap();
    assert_eq!(
        place_bet(&funded(1000, 0), &c, T0).unwrap_err().code(),
        ErrorCode::CurrencyMismatch
    );
}

fn placed(cash: i64, bonus: i64, stake: i64) -> (Account, BetRecord) {
    let d = place_bet(&funded(cash, bonus), &bet("b1", stake), T0).unwrap();
    (d.account, d.record)
}

#[test]
fn a_bet_replays_and_the_same_id_with_another_payload_is_a_duplicate() {
    let (_, record) = placed(100, 0, 50);
    let replay = record.replay(&bet("b1", 50)).unwrap();
    assert_eq!(replay.cash_stake, 50);
    assert_eq!(
        record.replay(&bet("b1", 51)).unwrap_err().code(),
        ErrorCode::DuplicateTransaction
    );
    let mut other_round = bet("b1", 50);
    other_round.payload.round_id = ClientId::new("round-2").unwrap();
    assert_eq!(
        record.replay(&other_round).unwrap_err().code(),
        ErrorCode::DuplicateTransaction
    );
    let mut other_player = bet("b1", 50);
    other_player.player_id = PlayerId::new("player-2").unwrap();
    assert_eq!(
        record.replay(&other_player).unwrap_err().code(),
        ErrorCode::DuplicateTransaction
    );
}

#[test]
fn a_rejected_bet_stays_rejected() {
    let c = bet("b1", 100);
    let err = place_bet(&funded(10, 0), &c, T0).unwrap_err();
    let record = BetRecord::rejected(&c, &err);
    assert_eq!(record.replay(&c), Err(err));
    assert_eq!(
        record.replay(&bet("b1", 5)).unwrap_err().code(),
        ErrorCode::DuplicateTransaction
    );
}

#[test]
fn a_rolled_back_refused_bet_is_closed_but_keeps_its_refusal() {
    let c = bet("b1", 100);
    let err = place_bet(&funded(10, 0), &c, T0).unwrap_err();
    let refused = BetRecord::rejected(&c, &err);
    let a = funded(10, 0);
    let d = settle(
        &a,
        Some(&refused),
        &settlement("b1", "s1", SettlementKind::Rollback),
        T0,
    )
    .unwrap();
    assert!(d.account.is_none() && d.entry.is_none());
    let closed = d.record.unwrap();
    assert_eq!(
        closed.replay(&c),
        Err(err),
        "a retry of the bet keeps its original refusal"
    );
    assert_eq!(
        settle(&a, Some(&closed), &settlement("b1", "s2", win(5)), T0)
            .unwrap_err()
            .code(),
        ErrorCode::BetRolledBack
    );
    assert_eq!(
        settle(
            &a,
            Some(&closed),
            &settlement("b1", "s3", SettlementKind::Rollback),
            T0
        )
        .unwrap_err()
        .code(),
        ErrorCode::BetAlreadySettled
    );
}

#[test]
fn a_win_is_split_in_proportion_to_the_stake_rounding_toward_cash() {
    let (a, record) = placed(60, 50, 100);
    let d = settle(&a, Some(&record), &settlement("b1", "s1", win(250)), T0).unwrap();
    assert_eq!((d.outcome.cash_credit, d.outcome.bonus_credit), (150, 100));
    assert_eq!(d.outcome.status, BetStatus::Won);
    let odd = split_win(101, 60, 40);
    assert_eq!(odd, (61, 40), "40.4 bonus rounds down, cash takes the rest");
    assert_eq!(split_win(1, 1, 2), (1, 0));
}

#[test]
fn a_win_of_zero_closes_the_bet_as_lost_and_moves_nothing() {
    let (a, record) = placed(100, 0, 100);
    let d = settle(&a, Some(&record), &settlement("b1", "s1", win(0)), T0).unwrap();
    assert_eq!(d.outcome.status, BetStatus::Lost);
    assert!(d.account.is_none() && d.entry.is_none());
    assert_eq!(d.record.unwrap().placed().unwrap().status, BetStatus::Lost);
}

#[test]
fn a_rollback_returns_the_stake_as_drawn() {
    let (a, record) = placed(60, 50, 100);
    let d = settle(
        &a,
        Some(&record),
        &settlement("b1", "s1", SettlementKind::Rollback),
        T0,
    )
    .unwrap();
    assert_eq!((d.outcome.cash_credit, d.outcome.bonus_credit), (60, 40));
    let after = d.account.unwrap();
    assert_eq!(
        (after.cash, after.bonus),
        (60, 50),
        "exactly as before the bet"
    );
    assert_eq!(d.outcome.status, BetStatus::RolledBack);
}

#[test]
fn a_rollback_of_an_unknown_bet_leaves_a_tombstone_and_the_late_bet_is_refused() {
    let a = funded(100, 0);
    let d = settle(
        &a,
        None,
        &settlement("b1", "s1", SettlementKind::Rollback),
        T0,
    )
    .unwrap();
    assert!(d.account.is_none() && d.entry.is_none() && d.creates_record);
    assert_eq!(d.outcome.status, BetStatus::RolledBack);
    let tombstone = d.record.unwrap();
    assert_eq!(
        tombstone.replay(&bet("b1", 50)).unwrap_err().code(),
        ErrorCode::BetRolledBack
    );
    assert_eq!(
        settle(&a, Some(&tombstone), &settlement("b1", "s2", win(10)), T0)
            .unwrap_err()
            .code(),
        ErrorCode::BetRolledBack
    );
}

#[test]
fn a_win_for_an_unknown_bet_is_not_found() {
    assert_eq!(
        settle(&funded(0, 0), None, &settlement("b1", "s1", win(10)), T0)
            .unwrap_err()
            .code(),
        ErrorCode::BetNotFound
    );
}

#[test]
fn win_after_rollback_rollback_after_win_and_second_settlements() {
    let (a, record) = placed(100, 0, 100);
    let rolled = settle(
        &a,
        Some(&record),
        &settlement("b1", "s1", SettlementKind::Rollback),
        T0,
    )
    .unwrap()
    .record
    .unwrap();
    assert_eq!(
        settle(&a, Some(&rolled), &settlement("b1", "s2", win(10)), T0)
            .unwrap_err()
            .code(),
        ErrorCode::BetRolledBack
    );
    assert_eq!(
        settle(
            &a,
            Some(&rolled),
            &settlement("b1", "s3", SettlementKind::Rollback),
            T0
        )
        .unwrap_err()
        .code(),
        ErrorCode::BetAlreadySettled
    );

    let won = settle(&a, Some(&record), &settlement("b1", "s1", win(300)), T0)
        .unwrap()
        .record
        .unwrap();
    assert_eq!(
        settle(
            &a,
            Some(&won),
            &settlement("b1", "s2", SettlementKind::Rollback),
            T0
        )
        .unwrap_err()
        .code(),
        ErrorCode::BetAlreadySettled
    );
    assert_eq!(
        settle(&a, Some(&won), &settlement("b1", "s3", win(300)), T0)
            .unwrap_err()
            .code(),
        ErrorCode::BetAlreadySettled
    );
}

#[test]
fn settlements_go_through_for_blocked_players() {
    let (mut a, record) = placed(100, 0, 100);
    a.exclusion = Some(exclude(None, ExclusionKind::SelfExclusion, 183, T0));
    assert!(settle(&a, Some(&record), &settlement("b1", "s1", win(50)), T0).is_ok());
    assert!(settle(
        &a,
        Some(&record),
        &settlement("b1", "s1", SettlementKind::Rollback),
        T0
    )
    .is_ok());
}

#[test]
fn another_players_bet_is_not_found() {
    let (_, record) = placed(100, 0, 100);
    let mut other = funded(0, 0);
    other.player_id = PlayerId::new("player-2").unwrap();
    let mut command = settlement("b1", "s1", SettlementKind::Rollback);
    command.player_id = other.player_id.clone();
    assert_eq!(
        settle(&other, Some(&record), &command, T0)
            .unwrap_err()
            .code(),
        ErrorCode::BetNotFound
    );
}

#[test]
fn settlement_replays_and_duplicates() {
    let (a, record) = placed(100, 0, 100);
    let command = settlement("b1", "s1", win(70));
    let d = settle(&a, Some(&record), &command, T0).unwrap();
    let stored = SettlementRecord::new(&command, &d.outcome);
    assert_eq!(stored.replay(&command), Ok(d.outcome));
    assert_eq!(
        stored
            .replay(&settlement("b1", "s1", win(71)))
            .unwrap_err()
            .code(),
        ErrorCode::DuplicateTransaction
    );
    assert_eq!(
        stored
            .replay(&settlement("b1", "s1", SettlementKind::Rollback))
            .unwrap_err()
            .code(),
        ErrorCode::DuplicateTransaction
    );
    assert_eq!(
        stored
            .replay(&settlement("b2", "s1", win(70)))
            .unwrap_err()
            .code(),
        ErrorCode::DuplicateTransaction
    );
}

#[test]
fn settlement_bodies_are_validated() {
    assert!(SettlementKind::parse("win", Some(0)).is_ok());
    assert!(SettlementKind::parse("win", Some(-1)).is_err());
    assert!(SettlementKind::parse("win", None).is_err());
    assert!(SettlementKind::parse("rollback", Some(5)).is_err());
    assert!(SettlementKind::parse("lose", None).is_err());
    assert!(SettlementKind::parse("win", Some(crate::money::MAX_AMOUNT + 1)).is_err());
}

proptest! {
    /// A win's parts always add up to the win, are never negative, and the bonus part
    /// never exceeds its proportional share (rounding never creates bonus money).
    #[test]
    fn win_split_never_creates_money(amount in 0i64..=crate::money::MAX_AMOUNT, cash in 0i64..=crate::money::MAX_AMOUNT, bonus in 0i64..=crate::money::MAX_AMOUNT) {
        let (c, b) = split_win(amount, cash, bonus);
        prop_assert_eq!(c + b, amount);
        prop_assert!(c >= 0 && b >= 0);
        if cash + bonus > 0 {
            prop_assert!(i128::from(b) * i128::from(cash + bonus) <= i128::from(amount) * i128::from(bonus));
        }
    }

    /// Any sequence of bets and settlements on one wallet keeps balances non-negative
    /// and equal to the sum of the entries, moves each id's money at most once, and
    /// never moves a bet's state backwards.
    #[test]
    fn any_sequence_keeps_the_invariants(
        cash in 0i64..5_000, bonus in 0i64..5_000,
        ops in proptest::collection::vec((0u8..3, 0u8..8, 0i64..3_000, 0u8..12), 1..120)
    ) {
        let start = funded(cash, bonus);
        let mut a = start.clone();
        // The opening balances as the first entry, so the chain can be checked from zero.
        let (opened, opening) = {
            let mut zero = a.clone();
            zero.cash = 0;
            zero.bonus = 0;
            zero.post(crate::entry::EntryKind::Deposit, cash, bonus, "opening", T0).unwrap()
        };
        a = opened;
        let mut entries = vec![opening];
        let mut bets: std::collections::HashMap<String, BetRecord> = Default::default();
        let mut settlements: std::collections::HashMap<String, SettlementRecord> = Default::default();
        for (op, bet_no, amount, settle_no) in ops {
            let bet_id = format!("b{bet_no}");
            match op {
                0 => {
                    let c = bet(&bet_id, amount.max(1));
                    if let Some(record) = bets.get(&bet_id) { let _ = record.replay(&c); continue; }
                    match place_bet(&a, &c, T0) {
                        Ok(d) => { a = d.account; entries.push(d.entry); bets.insert(bet_id, d.record); }
                        Err(e) => { prop_assert!(e.is_stable_rejection()); bets.insert(bet_id, BetRecord::rejected(&c, &e)); }
                    }
                }
                _ => {
                    let kind = if op == 1 { win(amount) } else { SettlementKind::Rollback };
                    let c = settlement(&bet_id, &format!("s{settle_no}"), kind);
                    if let Some(record) = settlements.get(c.settlement_id.as_str()) { let _ = record.replay(&c); continue; }
                    let before = bets.get(&bet_id).and_then(|r| r.placed()).map(|b| b.status);
                    if let Ok(d) = settle(&a, bets.get(&bet_id), &c, T0) {
                        if let Some(next) = d.account { a = next; }
                        if let Some(entry) = d.entry { entries.push(entry); }
                        if let Some(record) = d.record {
                            let after = record.placed().map(|b| b.status);
                            if let (Some(before), Some(after)) = (before, after) {
                                prop_assert!(before == BetStatus::Open || before == after, "{:?} -> {:?}", before, after);
                            }
                            bets.insert(bet_id, record);
                        }
                        settlements.insert(c.settlement_id.to_string(), SettlementRecord::new(&c, &d.outcome));
                    }
                }
            }
            prop_assert!(crate::invariant::no_negative_balance(&a).is_ok());
            prop_assert!(crate::invariant::balance_equals_entries(&a, &entries).is_ok());
        }
        let mut refs: Vec<(crate::entry::EntryKind, String)> = entries.iter().map(|e| (e.kind, e.reference.clone())).collect();
        let total = refs.len();
        refs.sort_by(|x, y| x.1.cmp(&y.1));
        refs.dedup();
        prop_assert_eq!(total, refs.len(), "an id moved money twice");
    }
}

#[test]
fn stakes_count_toward_the_withdrawal_turnover_until_rolled_back() {
    let a = funded(1000, 0);
    let placed = place_bet(&a, &bet("b1", 300), T0).unwrap();
    assert_eq!(placed.account.staked_since_payout, 300);
    let won = settle(
        &placed.account,
        Some(&placed.record),
        &settlement("b1", "s1", win(0)),
        T0,
    )
    .unwrap();
    assert!(
        won.account.is_none(),
        "a loss without a bonus moves nothing"
    );
    let again = place_bet(&placed.account, &bet("b2", 200), T0).unwrap();
    assert_eq!(again.account.staked_since_payout, 500);
    let rolled = settle(
        &again.account,
        Some(&again.record),
        &settlement("b2", "s2", SettlementKind::Rollback),
        T0,
    )
    .unwrap();
    assert_eq!(rolled.account.unwrap().staked_since_payout, 300);
}

#[test]
fn deposits_count_toward_the_withdrawal_turnover() {
    let a = account();
    let command = crate::deposit::DepositCommand::from_request(
        &a.player_id,
        &crate::api::DepositRequest {
            deposit_id: "d1".into(),
            amount: 1000,
            currency: "EUR".into(),
        },
    )
    .unwrap();
    let decided = crate::deposit::deposit(&a, &command, T0).unwrap();
    assert_eq!(decided.account.deposited_since_payout, 1000);
}
