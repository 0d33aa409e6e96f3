//! The single-table layout: every item type, its keys and the condition that guards it.
//! ARCHITECTURE.md "Table design" documents the same table; keep them together.
//!
//! | item          | pk                  | sk                 | guard on write                          |
//! |---------------|---------------------|--------------------|-----------------------------------------|
//! | wallet        | `PLAYER#<player>`   | `WALLET`           | create: `attribute_not_exists(pk)`; update: `version = :read_version` |
//! | profile       | `PLAYER#<player>`   | `PROFILE`          | create: `attribute_not_exists(pk)`; update: `attribute_exists(pk)`, only when it changed, always beside the wallet |
//! | movement      | `PLAYER#<player>`   | `MOVE#<seq:012>`   | `attribute_not_exists(pk)` (an entry no client id caused: a bonus forfeited on request) |
//! | email claim   | `EMAIL#<lowercase>` | `EMAIL`            | `attribute_not_exists(pk)`              |
//! | deposit id    | `DEPOSIT#<id>`      | `DEPOSIT`          | `attribute_not_exists(pk)`              |
//! | bet id        | `BET#<id>`          | `BET`              | create: `attribute_not_exists(pk)`; settle: `version = :read_version` |
//! | settlement id | `SETTLEMENT#<id>`   | `SETTLEMENT`       | `attribute_not_exists(pk)`              |
//! | bonus grant   | `BONUS#<player>#<campaign>` | `BONUS`    | `attribute_not_exists(pk)` (a campaign at most once) |
//! | withdrawal id | `WITHDRAWAL#<id>`   | `WITHDRAWAL`       | create: `attribute_not_exists(pk)`; each transition: `version = :read_version` |
//! | destination   | `DESTINATION#<kind>#<reference>` | `DESTINATION` | `attribute_not_exists(pk)`: the player who used it first |
//! | operator action | `PLAYER#<player>` | `ACTION#<at:013>#<action id>` | `attribute_not_exists(pk)`: written once, never changed |
//! | queue action  | `QUEUE#<queue>`     | `ACTION#<at:013>#<action id>` | `attribute_not_exists(pk)`: a redrive, written once before it starts |
//!
//! The ledger has no items of its own: the item a change creates (its id record, a grant,
//! a movement) carries the change's entries (`entries`) and, through `hpk`/`hsk`, sits in
//! the `history` index by the player and the sequence of its first entry. A change's
//! events ride on the wallet it writes (`events`, marked `publish`), or on its id record
//! when the wallet does not change: the table's stream carries them to the publisher.
//!
//! An accepted withdrawal's record also carries `wstatus` (its status), `wpk` (its player's
//! partition key) and `wsk` (its queue position: creation time, then id), which put it in
//! two sparse indexes: `withdrawals-by-status` (the review queue, oldest first) and
//! `withdrawals-by-player` (a player's withdrawals, for operators).

use aws_sdk_dynamodb::types::AttributeValue;
use ledger::{ClientId, PlayerId};
use std::collections::HashMap;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
/// Every item carries its type, so a scan (the audit) can tell items apart.
pub const ITEM_TYPE: &str = "item_type";

pub const WALLET_SK: &str = "WALLET";
pub const PROFILE_SK: &str = "PROFILE";
pub const MOVEMENT_PREFIX: &str = "MOVE#";

/// The global secondary index of the ledger: `hpk` = the player's partition key, `hsk` =
/// `ENTRY#<seq of the item's first entry>`, projecting `entries`.
pub const HISTORY_INDEX: &str = "history";
pub const HISTORY_PK: &str = "hpk";
pub const HISTORY_SK: &str = "hsk";
pub const ENTRY_PREFIX: &str = "ENTRY#";
/// The attribute holding the entries an item records, in sequence order.
pub const ENTRIES: &str = "entries";

/// The operators' indexes of withdrawals (see the module's notes).
pub const WITHDRAWALS_BY_STATUS_INDEX: &str = "withdrawals-by-status";
pub const WITHDRAWALS_BY_PLAYER_INDEX: &str = "withdrawals-by-player";
pub const WITHDRAWAL_STATUS: &str = "wstatus";
pub const WITHDRAWAL_PLAYER_PK: &str = "wpk";
pub const WITHDRAWAL_POSITION: &str = "wsk";
pub const ACTION_PREFIX: &str = "ACTION#";

/// The attribute marking an item whose write carries events (`publish` = `events`), the
/// value the publisher's stream filter matches, and the attribute holding them (a JSON
/// array of envelopes).
pub const PUBLISH: &str = "publish";
pub const PUBLISH_EVENTS: &str = "events";
pub const EVENTS: &str = "events";

/// The key of the item at `pk`/`sk`.
pub fn key(pk: String, sk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (PK.to_string(), AttributeValue::S(pk)),
        (SK.to_string(), AttributeValue::S(sk.to_string())),
    ])
}

pub fn player_pk(player_id: &PlayerId) -> String {
    format!("PLAYER#{player_id}")
}

pub fn entry_sk(seq: u64) -> String {
    format!("{ENTRY_PREFIX}{seq:012}")
}

pub fn movement_sk(seq: u64) -> String {
    format!("{MOVEMENT_PREFIX}{seq:012}")
}

pub fn email_pk(email_key: &str) -> String {
    format!("EMAIL#{email_key}")
}

pub fn deposit_pk(deposit_id: &ClientId) -> String {
    format!("DEPOSIT#{deposit_id}")
}

/// The partition of a watched queue's operator actions (its template logical id).
pub fn queue_pk(queue: &str) -> String {
    format!("QUEUE#{queue}")
}

/// The partition key prefix of bet ids.
pub const BET_PREFIX: &str = "BET#";

pub fn bet_pk(bet_id: &ClientId) -> String {
    format!("{BET_PREFIX}{bet_id}")
}

pub fn settlement_pk(settlement_id: &ClientId) -> String {
    format!("SETTLEMENT#{settlement_id}")
}

pub fn bonus_pk(player_id: &PlayerId, campaign_id: &str) -> String {
    format!("BONUS#{player_id}#{campaign_id}")
}

pub fn withdrawal_pk(withdrawal_id: &ClientId) -> String {
    format!("WITHDRAWAL#{withdrawal_id}")
}

pub fn destination_pk(kind: &str, reference: &ClientId) -> String {
    format!("DESTINATION#{kind}#{reference}")
}

/// A withdrawal's place in the operators' indexes: its creation time (milliseconds, 13
/// digits) then its id, which sorts oldest first (`wire::cursor` carries it in the review
/// queue's cursor).
pub fn queue_position(created_millis: i64, withdrawal_id: &ClientId) -> String {
    format!("{created_millis:013}#{withdrawal_id}")
}

/// An operator action's sort key: newest last, unique by its id.
pub fn action_sk(at_millis: i64, action_id: &str) -> String {
    format!("{ACTION_PREFIX}{at_millis:013}#{action_id}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemType {
    Wallet,
    Profile,
    Movement,
    Email,
    Deposit,
    Bet,
    Settlement,
    Bonus,
    Withdrawal,
    Destination,
    Action,
}

impl ItemType {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemType::Wallet => "wallet",
            ItemType::Profile => "profile",
            ItemType::Movement => "movement",
            ItemType::Email => "email",
            ItemType::Deposit => "deposit",
            ItemType::Bet => "bet",
            ItemType::Settlement => "settlement",
            ItemType::Bonus => "bonus",
            ItemType::Withdrawal => "withdrawal",
            ItemType::Destination => "destination",
            ItemType::Action => "action",
        }
    }

    pub fn parse(text: &str) -> Option<ItemType> {
        [
            ItemType::Wallet,
            ItemType::Profile,
            ItemType::Movement,
            ItemType::Email,
            ItemType::Deposit,
            ItemType::Bet,
            ItemType::Settlement,
            ItemType::Bonus,
            ItemType::Withdrawal,
            ItemType::Destination,
            ItemType::Action,
        ]
        .into_iter()
        .find(|t| t.as_str() == text)
    }

    /// The sort key of the one item of this type under its partition key (a movement's
    /// carries its sequence: [`movement_sk`]).
    pub fn sort_key(self) -> &'static str {
        match self {
            ItemType::Wallet => WALLET_SK,
            ItemType::Profile => PROFILE_SK,
            ItemType::Movement => MOVEMENT_PREFIX,
            ItemType::Email => "EMAIL",
            ItemType::Deposit => "DEPOSIT",
            ItemType::Bet => "BET",
            ItemType::Settlement => "SETTLEMENT",
            ItemType::Bonus => "BONUS",
            ItemType::Withdrawal => "WITHDRAWAL",
            ItemType::Destination => "DESTINATION",
            ItemType::Action => ACTION_PREFIX,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_keys_sort_in_sequence_order() {
        let keys: Vec<String> = [1u64, 2, 10, 999, 1_000_000]
            .iter()
            .map(|s| entry_sk(*s))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(entry_sk(7), "ENTRY#000000000007");
        assert_eq!(movement_sk(7), "MOVE#000000000007");
    }

    #[test]
    fn queue_positions_sort_oldest_first() {
        let id = |s: &str| ClientId::new(s).unwrap();
        assert_eq!(
            queue_position(1_795_392_000_000, &id("w-1")),
            "1795392000000#w-1"
        );
        assert!(queue_position(5, &id("z")) < queue_position(10, &id("a")));
        assert!(action_sk(999, "b") < action_sk(1000, "a"));
    }

    #[test]
    fn item_types_read_back() {
        for t in [ItemType::Wallet, ItemType::Bet, ItemType::Movement] {
            assert_eq!(ItemType::parse(t.as_str()), Some(t));
        }
        assert_eq!(ItemType::parse("outbox"), None);
    }
}
