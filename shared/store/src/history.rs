//! The ledger's pages, from the `history` index: every item that records entries (an id
//! record, a grant, a movement) is in it by its player and the sequence of its first entry.
//! An index is eventually consistent: an entry committed a moment ago may be missing from
//! a page for that moment (openapi.yaml and ARCHITECTURE.md say so). The wallet's balances
//! are always read consistently.

use crate::items::{entries_of, from_item};
use crate::keys::{self, ItemType, HISTORY_INDEX, HISTORY_PK, HISTORY_SK};
use crate::table::call_failed;
use crate::{Item, Store, StoreError};
use aws_sdk_dynamodb::types::AttributeValue;
use ledger::bet::BetRecord;
use ledger::{LedgerEntry, PlayerId};

/// The highest `history` sort key of a page whose entries are older than `before_seq`
/// (all of them when `None`); `None` when no entry can be that old.
fn history_upper(before_seq: Option<u64>) -> Option<String> {
    match before_seq {
        Some(0) | Some(1) => None,
        Some(seq) => Some(keys::entry_sk(seq - 1)),
        None => Some(format!("{}~", keys::ENTRY_PREFIX)),
    }
}

impl Store {
    /// The player's items in the `history` index up to the sort key `upper`, newest first.
    fn history_query(
        &self,
        player: &PlayerId,
        upper: &str,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client()
            .query()
            .table_name(self.table())
            .index_name(HISTORY_INDEX)
            .key_condition_expression("#hpk = :pk AND #hsk BETWEEN :lower AND :upper")
            .expression_attribute_names("#hpk", HISTORY_PK)
            .expression_attribute_names("#hsk", HISTORY_SK)
            .expression_attribute_values(":pk", AttributeValue::S(keys::player_pk(player)))
            .expression_attribute_values(":lower", AttributeValue::S(keys::entry_sk(0)))
            .expression_attribute_values(":upper", AttributeValue::S(upper.to_string()))
            .scan_index_forward(false)
    }

    /// Up to `limit` entries newest first, strictly older than `before_seq` when given.
    /// Returns the entries and whether older ones remain.
    pub async fn entries_page(
        &self,
        player: &PlayerId,
        limit: usize,
        before_seq: Option<u64>,
    ) -> Result<(Vec<LedgerEntry>, bool), StoreError> {
        let Some(upper) = history_upper(before_seq) else {
            return Ok((Vec::new(), false));
        };
        let below = before_seq.unwrap_or(u64::MAX);
        let mut entries: Vec<LedgerEntry> = Vec::new();
        let mut start = None;
        // Each item holds at least one entry older than `before_seq`: `limit + 1` items
        // are enough to fill the page and tell whether more remain.
        loop {
            let want = limit.saturating_add(1).saturating_sub(entries.len());
            let out = self
                .history_query(player, &upper)
                .limit(i32::try_from(want.max(1)).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| call_failed("Query", e))?;
            for item in out.items.unwrap_or_default() {
                let mut recorded = entries_of(&item)?;
                recorded.retain(|e| e.seq < below);
                recorded.sort_by_key(|e| std::cmp::Reverse(e.seq));
                entries.extend(recorded);
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() && entries.len() <= limit => start = Some(key),
                _ => break,
            }
        }
        let more = entries.len() > limit;
        entries.truncate(limit);
        Ok((entries, more))
    }
}

/// A page of a player's bets, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct BetsPage {
    pub bets: Vec<BetRecord>,
    /// The sequence the next page starts below, when more bets may follow.
    pub next_before: Option<u64>,
}

/// The sequence of an item's first entry, from its place in the `history` index.
fn history_seq(item: &Item) -> Option<u64> {
    item.get(HISTORY_SK)?
        .as_s()
        .ok()?
        .strip_prefix(keys::ENTRY_PREFIX)?
        .parse()
        .ok()
}

impl Store {
    /// Up to `limit` of the player's bets, newest first, placed before the entry sequence
    /// `before_seq` when given: the bet records of the `history` index (a bet's record holds
    /// its stake's entries), each read again consistently for its current state. A player
    /// with many entries and few bets costs more reads per page: the index is read until
    /// the page is full.
    pub async fn bets_page(
        &self,
        player: &PlayerId,
        limit: usize,
        before_seq: Option<u64>,
    ) -> Result<BetsPage, StoreError> {
        let Some(upper) = history_upper(before_seq) else {
            return Ok(BetsPage {
                bets: Vec::new(),
                next_before: None,
            });
        };
        let mut found: Vec<(u64, String)> = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .history_query(player, &upper)
                .filter_expression("begins_with(#pk, :bet)")
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_values(":bet", AttributeValue::S(keys::BET_PREFIX.into()))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| call_failed("Query", e))?;
            for item in out.items.unwrap_or_default() {
                let pk = item.get(keys::PK).and_then(|v| v.as_s().ok());
                if let (Some(seq), Some(pk)) = (history_seq(&item), pk) {
                    found.push((seq, pk.clone()));
                }
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() && found.len() <= limit => start = Some(key),
                _ => break,
            }
        }
        let more = found.len() > limit;
        found.truncate(limit);
        let next_before = if more {
            found.last().map(|(seq, _)| *seq)
        } else {
            None
        };
        let mut bets = Vec::with_capacity(found.len());
        if !found.is_empty() {
            let wanted = found
                .iter()
                .map(|(_, pk)| (pk.clone(), ItemType::Bet.sort_key()))
                .collect();
            for item in self.snapshot(wanted).await?.into_iter().flatten() {
                bets.push(from_item::<BetRecord>(item)?);
            }
        }
        Ok(BetsPage { bets, next_before })
    }
}
