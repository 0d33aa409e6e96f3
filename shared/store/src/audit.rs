//! The reconciliation scan: every item of the table, typed, for `ledger::audit`.

use crate::account::take_account;
use crate::items::{entries_of, from_item};
use crate::keys::{ItemType, ITEM_TYPE, PK};
use crate::table::call_failed;
use crate::{Item, Store, StoreError};
use std::collections::BTreeMap;

impl Store {
    /// Every item of the table, typed, for the audit: a paginated, strongly consistent
    /// scan. (On a live table the result is not one point in time; run the audit on a
    /// quiet table or a point-in-time restore for an exact answer.)
    pub async fn scan_all(&self) -> Result<ledger::audit::Snapshot, StoreError> {
        let mut snapshot = ledger::audit::Snapshot::default();
        // An account is two items, which the scan meets apart: paired by partition key.
        let mut accounts: BTreeMap<String, (Option<Item>, Option<Item>)> = BTreeMap::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client()
                .scan()
                .table_name(self.table())
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| call_failed("Scan", e))?;
            for item in out.items.unwrap_or_default() {
                let item_type = item
                    .get(ITEM_TYPE)
                    .and_then(|v| v.as_s().ok())
                    .and_then(|t| ItemType::parse(t));
                let pk = item
                    .get(PK)
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default();
                snapshot.entries.extend(entries_of(&item)?);
                match item_type {
                    Some(ItemType::Wallet) => accounts.entry(pk).or_default().0 = Some(item),
                    Some(ItemType::Profile) => accounts.entry(pk).or_default().1 = Some(item),
                    Some(ItemType::Deposit) => snapshot.deposits.push(from_item(item)?),
                    Some(ItemType::Bet) => snapshot.bets.push(from_item(item)?),
                    Some(ItemType::Settlement) => snapshot.settlements.push(from_item(item)?),
                    _ => {}
                }
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        for (wallet, profile) in accounts.into_values() {
            let mut pair = [wallet, profile].into_iter();
            if let Some(account) = take_account(&mut pair)? {
                snapshot.accounts.push(account);
            }
        }
        Ok(snapshot)
    }
}
