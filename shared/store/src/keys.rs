//! The single-table layout: every item type, its keys and the condition that guards it.
//! ARCHITECTURE.md "Table design" documents the same table; keep them together.
//!
//! | item          | pk                  | sk                 | guard on write                          |
//! |---------------|---------------------|--------------------|-----------------------------------------|
//! | account       | `PLAYER#<player>`   | `ACCOUNT`          | create: `attribute_not_exists(pk)`; update: `version = :read_version` |
//! | ledger entry  | `PLAYER#<player>`   | `ENTRY#<seq:012>`  | `attribute_not_exists(pk)`              |
//! | email claim   | `EMAIL#<lowercase>` | `EMAIL`            | `attribute_not_exists(pk)`              |
//! | deposit id    | `DEPOSIT#<id>`      | `DEPOSIT`          | `attribute_not_exists(pk)`              |
//! | bet id        | `BET#<id>`          | `BET`              | create: `attribute_not_exists(pk)`; settle: `version = :read_version` |
//! | settlement id | `SETTLEMENT#<id>`   | `SETTLEMENT`       | `attribute_not_exists(pk)`              |
//! | bonus grant   | `BONUS#<player>#<campaign>` | `BONUS`    | `attribute_not_exists(pk)` (a campaign at most once) |
//! | outbox event  | `OUTBOX#<event id>` | `OUTBOX`           | `attribute_not_exists(pk)`; TTL `expires_at` |

use ledger::{ClientId, PlayerId};

pub const PK: &str = "pk";
pub const SK: &str = "sk";
/// Every item carries its type, so a scan (the audit) can tell items apart.
pub const ITEM_TYPE: &str = "item_type";

pub const ACCOUNT_SK: &str = "ACCOUNT";
pub const ENTRY_PREFIX: &str = "ENTRY#";

pub fn player_pk(player_id: &PlayerId) -> String {
    format!("PLAYER#{player_id}")
}

pub fn entry_sk(seq: u64) -> String {
    format!("{ENTRY_PREFIX}{seq:012}")
}

pub fn email_pk(email_key: &str) -> String {
    format!("EMAIL#{email_key}")
}

pub fn deposit_pk(deposit_id: &ClientId) -> String {
    format!("DEPOSIT#{deposit_id}")
}

pub fn bet_pk(bet_id: &ClientId) -> String {
    format!("BET#{bet_id}")
}

pub fn settlement_pk(settlement_id: &ClientId) -> String {
    format!("SETTLEMENT#{settlement_id}")
}

pub fn bonus_pk(player_id: &PlayerId, campaign_id: &str) -> String {
    format!("BONUS#{player_id}#{campaign_id}")
}

pub fn outbox_pk(event_id: &str) -> String {
    format!("OUTBOX#{event_id}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemType {
    Account,
    Entry,
    Email,
    Deposit,
    Bet,
    Settlement,
    Outbox,
    Bonus,
}

impl ItemType {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemType::Account => "account",
            ItemType::Entry => "entry",
            ItemType::Email => "email",
            ItemType::Deposit => "deposit",
            ItemType::Bet => "bet",
            ItemType::Settlement => "settlement",
            ItemType::Outbox => "outbox",
            ItemType::Bonus => "bonus",
        }
    }

    pub fn sort_key(self) -> &'static str {
        match self {
            ItemType::Account => ACCOUNT_SK,
            ItemType::Email => "EMAIL",
            ItemType::Deposit => "DEPOSIT",
            ItemType::Bet => "BET",
            ItemType::Settlement => "SETTLEMENT",
            ItemType::Outbox => "OUTBOX",
            ItemType::Bonus => "BONUS",
            ItemType::Entry => ENTRY_PREFIX,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_keys_sort_in_sequence_order() {
        let keys: Vec<String> = [1u64, 2, 10, 999, 1_000_000]
            .iter()
            .map(|s| entry_sk(*s))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(entry_sk(7), "ENTRY#000000000007");
    }

    #[test]
    fn the_account_sorts_before_its_entries() {
        assert!(ACCOUNT_SK < entry_sk(0).as_str());
    }
}
