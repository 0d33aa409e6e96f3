//! The audit: invariants 1–4 of WALLET-RULES checked across everything a table holds.
//! Pure: it judges a snapshot; reading the snapshot is the store's job.

use crate::account::Account;
use crate::bet::{BetRecord, BetState, BetStatus};
use crate::deposit::DepositRecord;
use crate::entry::{EntryKind, LedgerEntry};
use crate::idempotency::Recorded;
use crate::invariant::{balance_equals_entries, no_negative_balance};
use crate::settlement::{SettlementKind, SettlementRecord};
use std::collections::{BTreeMap, HashMap};

/// Everything the audit reads.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    pub accounts: Vec<Account>,
    pub entries: Vec<LedgerEntry>,
    pub deposits: Vec<DepositRecord>,
    pub bets: Vec<BetRecord>,
    pub settlements: Vec<SettlementRecord>,
}

impl Snapshot {
    /// Only what belongs to these players: an audit of their wallets that other, concurrent
    /// activity on the table cannot disturb.
    pub fn for_players(&self, players: &[&str]) -> Snapshot {
        let mine = |p: &crate::ids::PlayerId| players.contains(&p.as_str());
        Snapshot {
            accounts: self
                .accounts
                .iter()
                .filter(|a| mine(&a.player_id))
                .cloned()
                .collect(),
            entries: self
                .entries
                .iter()
                .filter(|e| mine(&e.player_id))
                .cloned()
                .collect(),
            deposits: self
                .deposits
                .iter()
                .filter(|d| mine(&d.player_id))
                .cloned()
                .collect(),
            bets: self
                .bets
                .iter()
                .filter(|b| mine(&b.player_id))
                .cloned()
                .collect(),
            settlements: self
                .settlements
                .iter()
                .filter(|s| mine(&s.player_id))
                .cloned()
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The WALLET-RULES invariant broken (1–4).
    pub invariant: u8,
    pub detail: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub accounts: usize,
    pub entries: usize,
    pub deposits: usize,
    pub bets: usize,
    pub settlements: usize,
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "audited {} accounts, {} entries, {} deposit ids, {} bet ids, {} settlement ids",
            self.accounts, self.entries, self.deposits, self.bets, self.settlements
        )?;
        if self.findings.is_empty() {
            return writeln!(f, "invariants 1-4 hold: no negative balance, balances equal their entries, every id moved money at most once, bet states match their entries");
        }
        writeln!(f, "{} violation(s):", self.findings.len())?;
        for finding in &self.findings {
            writeln!(f, "  invariant {}: {}", finding.invariant, finding.detail)?;
        }
        Ok(())
    }
}

impl crate::api::AuditView {
    /// The report as `POST /ops/audit` answers it.
    pub fn of(report: &Report, at: crate::clock::Timestamp) -> crate::api::AuditView {
        crate::api::AuditView {
            clean: report.is_clean(),
            accounts: report.accounts,
            entries: report.entries,
            deposits: report.deposits,
            bets: report.bets,
            settlements: report.settlements,
            findings: report
                .findings
                .iter()
                .map(|f| crate::api::FindingView {
                    invariant: f.invariant,
                    detail: f.detail.clone(),
                })
                .collect(),
            audited_at: at.to_rfc3339(),
        }
    }
}

/// Entries by the id that caused them: (kind of id, id).
type Movements<'a> = BTreeMap<(&'static str, String), Vec<&'a LedgerEntry>>;

fn moved<'a, 'm>(
    movements: &'m Movements<'a>,
    id_kind: &'static str,
    id: &str,
) -> &'m [&'a LedgerEntry] {
    movements
        .get(&(id_kind, id.to_string()))
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn finding(invariant: u8, detail: String) -> Finding {
    Finding { invariant, detail }
}

/// Judges a snapshot against invariants 1–4.
pub fn audit(snapshot: &Snapshot) -> Report {
    let mut findings = Vec::new();
    let mut by_player: HashMap<&str, Vec<&LedgerEntry>> = HashMap::new();
    for entry in &snapshot.entries {
        by_player
            .entry(entry.player_id.as_str())
            .or_default()
            .push(entry);
    }
    // Invariants 1 and 2, wallet by wallet.
    for account in &snapshot.accounts {
        if let Err(v) = no_negative_balance(account) {
            findings.push(finding(1, v.to_string()));
        }
        let mut entries: Vec<LedgerEntry> = by_player
            .remove(account.player_id.as_str())
            .unwrap_or_default()
            .into_iter()
            .cloned()
            .collect();
        entries.sort_by_key(|e| e.seq);
        if let Err(v) = balance_equals_entries(account, &entries) {
            findings.push(finding(2, v.to_string()));
        }
    }
    for (player, entries) in by_player {
        findings.push(finding(
            2,
            format!(
                "{} entries belong to player {player}, who has no account",
                entries.len()
            ),
        ));
    }

    // Invariant 3: each client id moved money at most once.
    let mut movements: Movements<'_> = BTreeMap::new();
    for entry in &snapshot.entries {
        let id_kind = match entry.kind {
            EntryKind::Deposit => "deposit",
            EntryKind::Bet => "bet",
            EntryKind::Win | EntryKind::Rollback => "settlement",
            EntryKind::BonusAward | EntryKind::BonusRelease | EntryKind::BonusForfeit => "bonus",
            // A withdrawal holds its amount once, and pays it out or returns it once.
            EntryKind::Withdrawal => "withdrawal",
            EntryKind::WithdrawalReturned | EntryKind::WithdrawalPaid => "withdrawal end",
        };
        // Client ids are global; a bonus's references are per player.
        let reference = if id_kind == "bonus" {
            format!("{}/{}", entry.player_id, entry.reference)
        } else {
            entry.reference.clone()
        };
        movements
            .entry((id_kind, reference))
            .or_default()
            .push(entry);
    }
    for ((id_kind, reference), entries) in &movements {
        if entries.len() > 1 {
            findings.push(finding(
                3,
                format!(
                    "{id_kind} id {reference} moved money {} times",
                    entries.len()
                ),
            ));
        }
    }
    let moved = |id_kind: &'static str, id: &str| moved(&movements, id_kind, id);

    for record in &snapshot.deposits {
        let entries = moved("deposit", record.deposit_id.as_str());
        match &record.recorded {
            Recorded::Accepted { outcome } => {
                let matches = entries.len() == 1
                    && entries[0].entry_id == outcome.entry_id
                    && entries[0].cash_delta == record.amount;
                if !matches {
                    findings.push(finding(
                        3,
                        format!(
                            "accepted deposit {} has {} matching entries, not exactly one of {}",
                            record.deposit_id,
                            entries.len(),
                            record.amount
                        ),
                    ));
                }
            }
            Recorded::Rejected { .. } if !entries.is_empty() => {
                findings.push(finding(
                    3,
                    format!("rejected deposit {} moved money", record.deposit_id),
                ));
            }
            Recorded::Rejected { .. } => {}
        }
    }
    let deposit_ids: std::collections::HashSet<&str> = snapshot
        .deposits
        .iter()
        .map(|d| d.deposit_id.as_str())
        .collect();
    for (id_kind, reference) in movements.keys() {
        if *id_kind == "deposit" && !deposit_ids.contains(reference.as_str()) {
            findings.push(finding(
                3,
                format!("deposit entry {reference} has no deposit record"),
            ));
        }
    }

    // Invariant 4: bet states consistent with their entries.
    for record in &snapshot.bets {
        let id = record.bet_id.as_str();
        let stakes = moved("bet", id);
        match &record.state {
            BetState::Rejected { .. } | BetState::Tombstone { .. } => {
                if !stakes.is_empty() {
                    findings.push(finding(
                        4,
                        format!("bet {id} was never placed but its stake moved"),
                    ));
                }
            }
            BetState::Placed { bet } => {
                let stake_ok = stakes.len() == 1
                    && stakes[0].entry_id == bet.entry_id
                    && stakes[0].cash_delta == -bet.cash_stake
                    && stakes[0].bonus_delta == -bet.bonus_stake
                    && bet.cash_stake + bet.bonus_stake == bet.payload.amount;
                if !stake_ok {
                    findings.push(finding(
                        4,
                        format!("bet {id}: its stake entry does not match the bet"),
                    ));
                }
                let expected = match (&bet.status, &bet.settlement) {
                    (BetStatus::Open, None) => Ok(None),
                    (BetStatus::Open, Some(_)) => Err("is open but has a settlement"),
                    (_, None) => Err("is closed without a settlement"),
                    (status, Some(s)) if s.status != *status => {
                        Err("has a settlement for another status")
                    }
                    (BetStatus::RolledBack, Some(s))
                        if (s.cash_credit, s.bonus_credit) != (bet.cash_stake, bet.bonus_stake) =>
                    {
                        Err("was rolled back for other amounts than its stake")
                    }
                    (BetStatus::Lost, Some(s)) if s.cash_credit + s.bonus_credit != 0 => {
                        Err("is lost but credited money")
                    }
                    (BetStatus::Won, Some(s)) if !matches!(s.settlement, SettlementKind::Win { amount } if amount == s.cash_credit + s.bonus_credit && amount > 0) => {
                        Err("is won but its credit is not its win")
                    }
                    (_, Some(s)) => Ok(Some(s)),
                };
                match expected {
                    Err(why) => findings.push(finding(4, format!("bet {id} {why}"))),
                    Ok(None) => {}
                    Ok(Some(s)) => {
                        let credits = moved("settlement", s.settlement_id.as_str());
                        let credited = s.cash_credit + s.bonus_credit > 0;
                        let entry_ok = if credited {
                            credits.len() == 1
                                && Some(&credits[0].entry_id) == s.entry_id.as_ref()
                                && (credits[0].cash_delta, credits[0].bonus_delta)
                                    == (s.cash_credit, s.bonus_credit)
                        } else {
                            credits.is_empty()
                        };
                        if !entry_ok {
                            findings.push(finding(
                                4,
                                format!(
                                    "bet {id}: settlement {} does not match its entries",
                                    s.settlement_id
                                ),
                            ));
                        }
                    }
                }
            }
        }
    }
    let settled_bets: HashMap<&str, &BetRecord> = snapshot
        .bets
        .iter()
        .map(|b| (b.bet_id.as_str(), b))
        .collect();
    for record in &snapshot.settlements {
        let Recorded::Accepted { outcome } = &record.recorded else {
            continue;
        };
        if outcome.cash_credit + outcome.bonus_credit == 0 {
            continue;
        }
        let closes = settled_bets
            .get(record.bet_id.as_str())
            .and_then(|b| b.placed())
            .and_then(|bet| bet.settlement.as_ref())
            .is_some_and(|s| s.settlement_id == record.settlement_id);
        if !closes {
            findings.push(finding(
                4,
                format!(
                    "settlement {} moved money but did not close bet {}",
                    record.settlement_id, record.bet_id
                ),
            ));
        }
    }
    let bet_ids: std::collections::HashSet<&str> =
        snapshot.bets.iter().map(|b| b.bet_id.as_str()).collect();
    for (id_kind, reference) in movements.keys() {
        if *id_kind == "bet" && !bet_ids.contains(reference.as_str()) {
            findings.push(finding(
                4,
                format!("stake entry {reference} has no bet record"),
            ));
        }
    }

    Report {
        accounts: snapshot.accounts.len(),
        entries: snapshot.entries.len(),
        deposits: snapshot.deposits.len(),
        bets: snapshot.bets.len(),
        settlements: snapshot.settlements.len(),
        findings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::fixtures::{account, T0};
    use crate::bet::{place_bet, BetCommand, BetPayload};
    use crate::deposit::{deposit, DepositCommand};
    use crate::ids::{ClientId, PlayerId};
    use crate::money::{Amount, Currency};
    use crate::settlement::{settle, SettlementCommand};

    /// A small, consistent world: a deposit, two bets, one won, one rolled back.
    fn world() -> Snapshot {
        let player = PlayerId::new("player-1").unwrap();
        let eur = Currency::new("EUR").unwrap();
        let mut snapshot = Snapshot::default();
        let command = DepositCommand {
            player_id: player.clone(),
            deposit_id: ClientId::new("d1").unwrap(),
            amount: Amount::new(1000).unwrap(),
            currency: eur.clone(),
        };
        let d = deposit(&account(), &command, T0).unwrap();
        snapshot.deposits.push(DepositRecord::new(
            &command,
            Recorded::Accepted { outcome: d.outcome },
        ));
        snapshot.entries.push(d.entry);
        let mut a = d.account;
        for (bet_id, settlement) in [
            ("b1", SettlementKind::Win { amount: 300 }),
            ("b2", SettlementKind::Rollback),
        ] {
            let c = BetCommand {
                player_id: player.clone(),
                bet_id: ClientId::new(bet_id).unwrap(),
                payload: BetPayload {
                    round_id: ClientId::new("r").unwrap(),
                    game_id: ClientId::new("g").unwrap(),
                    amount: 200,
                    currency: eur.clone(),
                },
            };
            let placed = place_bet(&a, &c, T0).unwrap();
            snapshot.entries.push(placed.entry);
            a = placed.account;
            let s = SettlementCommand {
                player_id: player.clone(),
                bet_id: c.bet_id.clone(),
                settlement_id: ClientId::new(&format!("s-{bet_id}")).unwrap(),
                kind: settlement,
            };
            let settled = settle(&a, Some(&placed.record), &s, T0).unwrap();
            snapshot
                .settlements
                .push(SettlementRecord::new(&s, &settled.outcome));
            snapshot.bets.push(settled.record.unwrap());
            snapshot.entries.extend(settled.entry);
            a = settled.account.unwrap();
        }
        snapshot.accounts.push(a);
        snapshot
    }

    #[test]
    fn a_consistent_world_is_clean() {
        let report = audit(&world());
        assert!(report.is_clean(), "{report}");
        assert_eq!((report.accounts, report.entries, report.bets), (1, 5, 2));
    }

    #[test]
    fn a_tampered_balance_breaks_invariant_2() {
        let mut w = world();
        w.accounts[0].cash += 1;
        assert!(audit(&w).findings.iter().any(|f| f.invariant == 2));
    }

    #[test]
    fn a_negative_balance_breaks_invariant_1() {
        let mut w = world();
        w.accounts[0].bonus = -5;
        assert!(audit(&w).findings.iter().any(|f| f.invariant == 1));
    }

    #[test]
    fn an_id_applied_twice_breaks_invariant_3() {
        let mut w = world();
        let mut again = w.entries[0].clone();
        again.entry_id = "x".into();
        again.seq = 99;
        w.entries.push(again);
        assert!(audit(&w).findings.iter().any(|f| f.invariant == 3));
    }

    #[test]
    fn a_bet_state_that_does_not_match_its_entries_breaks_invariant_4() {
        let mut w = world();
        if let BetState::Placed { bet } = &mut w.bets[0].state {
            bet.status = BetStatus::Open;
        }
        assert!(audit(&w).findings.iter().any(|f| f.invariant == 4));
        let mut w = world();
        w.entries.retain(|e| e.kind != EntryKind::Rollback);
        let report = audit(&w);
        assert!(report.findings.iter().any(|f| f.invariant == 4), "{report}");
    }
}
