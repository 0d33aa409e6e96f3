//! Item mapping: a value as the item that holds it, and back. An account is two items (the
//! wallet every money operation writes, and the profile that changes rarely); an item a
//! change creates carries the change's ledger entries and sits in the `history` index; a
//! write that carries events is marked for the publisher's stream filter.

use crate::keys::{self, ItemType, ENTRIES, EVENTS, ITEM_TYPE, PK, PUBLISH, PUBLISH_EVENTS, SK};
use crate::table::check_item_size;
use crate::{Item, StoreError};
use aws_sdk_dynamodb::types::AttributeValue;
use ledger::events::WalletEvent;
use ledger::{Account, LedgerEntry, PlayerId};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The largest account item any activity can produce (documented in ARCHITECTURE.md): the
/// profile, identity and settings (well under 2 KB) plus at most
/// `ledger::limits::MAX_BUCKETS` deposit-hour buckets of at most 25 bytes each.
pub const MAX_ACCOUNT_ITEM_BYTES: usize = 20 * 1024;

/// The account's members kept in the profile item: identity, the registration's
/// fingerprint and the deposit limits with their windows. Everything else (balances,
/// status, bonus, sequence, version) is the wallet.
pub const PROFILE_FIELDS: [&str; 8] = [
    "email",
    "date_of_birth",
    "country",
    "display_name",
    "created_at",
    "registration",
    "limits",
    "deposit_buckets",
];

pub use crate::keys::key;

fn attributes<T: Serialize>(value: &T, what: &str) -> Result<Item, StoreError> {
    serde_dynamo::aws_sdk_dynamodb_1::to_item(value)
        .map_err(|e| StoreError::Request(format!("cannot map a {what} to an item: {e}")))
}

fn keyed(mut item: Item, pk: String, sk: String, item_type: ItemType) -> Result<Item, StoreError> {
    item.insert(PK.into(), AttributeValue::S(pk));
    item.insert(SK.into(), AttributeValue::S(sk));
    item.insert(
        ITEM_TYPE.into(),
        AttributeValue::S(item_type.as_str().into()),
    );
    check_item_size(item_type.as_str(), &item)?;
    Ok(item)
}

/// `value` as an item of `item_type` under `pk`/`sk`.
pub fn to_item<T: Serialize>(
    value: &T,
    pk: String,
    sk: String,
    item_type: ItemType,
) -> Result<Item, StoreError> {
    keyed(attributes(value, item_type.as_str())?, pk, sk, item_type)
}

pub fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    let key = item
        .get(PK)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default();
    serde_dynamo::aws_sdk_dynamodb_1::from_item(item)
        .map_err(|e| StoreError::Corrupt(format!("item {key}: {e}")))
}

/// An account as its two items, wallet and profile.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountItems {
    pub wallet: Item,
    pub profile: Item,
}

pub fn account_items(account: &Account) -> Result<AccountItems, StoreError> {
    let mut wallet = attributes(account, "account")?;
    let mut profile = Item::new();
    for field in PROFILE_FIELDS {
        if let Some(value) = wallet.remove(field) {
            profile.insert(field.to_string(), value);
        }
    }
    let pk = keys::player_pk(&account.player_id);
    Ok(AccountItems {
        wallet: keyed(wallet, pk.clone(), keys::WALLET_SK.into(), ItemType::Wallet)?,
        profile: keyed(profile, pk, keys::PROFILE_SK.into(), ItemType::Profile)?,
    })
}

/// The profile item of an account: the one that grows with its deposit windows.
pub fn profile_item(account: &Account) -> Result<Item, StoreError> {
    Ok(account_items(account)?.profile)
}

/// The account from its two items (both or neither exist: they are created together).
pub fn account_from(
    wallet: Option<Item>,
    profile: Option<Item>,
) -> Result<Option<Account>, StoreError> {
    match (wallet, profile) {
        (None, None) => Ok(None),
        (Some(mut wallet), Some(profile)) => {
            for field in PROFILE_FIELDS {
                if let Some(value) = profile.get(field) {
                    wallet.insert(field.to_string(), value.clone());
                }
            }
            for extra in [EVENTS, PUBLISH] {
                wallet.remove(extra);
            }
            from_item(wallet).map(Some)
        }
        (wallet, _) => Err(StoreError::Corrupt(format!(
            "an account with only its {}",
            if wallet.is_some() {
                "wallet"
            } else {
                "profile"
            }
        ))),
    }
}

/// Whether two accounts keep the same profile (then it is not written again): the members of
/// [`PROFILE_FIELDS`], compared as values, without mapping either account to items.
pub fn same_profile(a: &Account, b: &Account) -> bool {
    a.email == b.email
        && a.date_of_birth == b.date_of_birth
        && a.country == b.country
        && a.display_name == b.display_name
        && a.created_at == b.created_at
        && a.registration == b.registration
        && a.limits == b.limits
        && a.deposit_buckets == b.deposit_buckets
}

/// `item` carrying `entries` (in sequence order) in the `history` index of `player`. No
/// entries: the item stays out of the index.
pub fn with_entries(
    mut item: Item,
    player: &PlayerId,
    entries: &[&LedgerEntry],
) -> Result<Item, StoreError> {
    let Some(first) = entries.iter().map(|e| e.seq).min() else {
        return Ok(item);
    };
    let list = entries
        .iter()
        .map(|entry| attributes(entry, "ledger entry").map(AttributeValue::M))
        .collect::<Result<Vec<_>, _>>()?;
    item.insert(ENTRIES.into(), AttributeValue::L(list));
    item.insert(
        keys::HISTORY_PK.into(),
        AttributeValue::S(keys::player_pk(player)),
    );
    item.insert(
        keys::HISTORY_SK.into(),
        AttributeValue::S(keys::entry_sk(first)),
    );
    check_item_size("item with its entries", &item)?;
    Ok(item)
}

/// The history attributes of a read item (`entries`, `hpk`, `hsk`), to keep them when the
/// item is written again.
pub fn keep_entries(mut item: Item, read: Option<&Item>) -> Result<Item, StoreError> {
    if let Some(read) = read {
        for name in [ENTRIES, keys::HISTORY_PK, keys::HISTORY_SK] {
            if let Some(value) = read.get(name) {
                item.insert(name.to_string(), value.clone());
            }
        }
    }
    check_item_size("item with its entries", &item)?;
    Ok(item)
}

/// The entries an item records (none for most items).
pub fn entries_of(item: &Item) -> Result<Vec<LedgerEntry>, StoreError> {
    match item.get(ENTRIES) {
        None => Ok(Vec::new()),
        Some(AttributeValue::L(list)) => list
            .iter()
            .map(|value| match value {
                AttributeValue::M(map) => from_item(map.clone()),
                _ => Err(StoreError::Corrupt("an entry that is not a map".into())),
            })
            .collect(),
        Some(_) => Err(StoreError::Corrupt("entries that are not a list".into())),
    }
}

/// `item` carrying `events` for the publisher (none: unmarked).
pub fn with_events(mut item: Item, events: &[WalletEvent]) -> Result<Item, StoreError> {
    if events.is_empty() {
        return Ok(item);
    }
    let envelopes: Vec<_> = events.iter().map(WalletEvent::envelope).collect();
    let json = serde_json::to_string(&envelopes)
        .map_err(|e| StoreError::Request(format!("cannot encode events: {e}")))?;
    item.insert(EVENTS.into(), AttributeValue::S(json));
    item.insert(PUBLISH.into(), AttributeValue::S(PUBLISH_EVENTS.into()));
    check_item_size("item with its events", &item)?;
    Ok(item)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger::limits::{DepositBucket, MAX_BUCKETS};
    use ledger::Timestamp;

    fn account() -> Account {
        let request = ledger::register::RegisterRequest {
            email: format!("{}@example.com", "a".repeat(64)),
            date_of_birth: "1990-04-12".into(),
            country: "MT".into(),
            currency: "EUR".into(),
            display_name: Some("x".repeat(64)),
            deposit_limits: None,
        };
        let player = PlayerId::new(&"p".repeat(128)).unwrap();
        ledger::register::register(
            &player,
            &request,
            Timestamp::from_millis(1_795_392_000_000),
            18,
        )
        .unwrap()
    }

    #[test]
    fn the_account_item_is_bounded_whatever_the_deposits() {
        let mut account = account();
        // Every hour of the window holds a bucket, each with the largest possible sum.
        account.deposit_buckets = (0..MAX_BUCKETS as i64)
            .map(|h| DepositBucket(498_720 + h, i64::MAX))
            .collect();
        let items = account_items(&account).unwrap();
        let size = crate::table::item_size(&items.profile);
        assert!(size < MAX_ACCOUNT_ITEM_BYTES, "{size} bytes");
        // The wallet every bet writes stays small whatever the deposits.
        let wallet = crate::table::item_size(&items.wallet);
        assert!(wallet < 1024, "{wallet} bytes");
    }

    #[test]
    fn an_account_is_its_two_items_and_back() {
        let mut account = account();
        account.deposit_buckets = vec![DepositBucket(498_720, 500)];
        let items = account_items(&account).unwrap();
        for field in PROFILE_FIELDS {
            assert!(!items.wallet.contains_key(field), "{field} in the wallet");
        }
        assert!(items.wallet.contains_key("cash") && items.wallet.contains_key("version"));
        let events = [ledger::events::player_registered(&account, "c")];
        let wallet = with_events(items.wallet.clone(), &events).unwrap();
        assert_eq!(
            account_from(Some(wallet), Some(items.profile.clone())).unwrap(),
            Some(account.clone())
        );
        assert!(account_from(Some(items.wallet.clone()), None).is_err());
        assert_eq!(account_from(None, None).unwrap(), None);

        let mut richer = account.clone();
        richer.cash += 100;
        richer.version += 1;
        assert!(same_profile(&account, &richer));
        richer.deposit_buckets.push(DepositBucket(498_721, 100));
        assert!(!same_profile(&account, &richer));
    }

    #[test]
    fn every_profile_member_counts_as_a_profile_change() {
        let account = account();
        type Change = fn(&mut Account);
        let changes: [(&str, Change); 8] = [
            ("email", |a| a.email.push('x')),
            ("date_of_birth", |a| a.date_of_birth = "1990-04-13".into()),
            ("country", |a| a.country = "GB".into()),
            ("display_name", |a| a.display_name = None),
            ("created_at", |a| a.created_at = a.created_at.plus_millis(1)),
            ("registration", |a| a.registration.push('x')),
            ("limits", |a| a.limits.current.daily = Some(100)),
            ("deposit_buckets", |a| {
                a.deposit_buckets.push(DepositBucket(1, 1))
            }),
        ];
        let named: Vec<&str> = changes.iter().map(|(name, _)| *name).collect();
        assert_eq!(named, PROFILE_FIELDS, "every profile member is compared");
        for (name, change) in changes {
            let mut other = account.clone();
            change(&mut other);
            assert_ne!(
                account_items(&account).unwrap().profile,
                account_items(&other).unwrap().profile,
                "{name} is in the profile item"
            );
            assert!(!same_profile(&account, &other), "{name}");
        }
    }

    #[test]
    fn entries_ride_on_the_item_and_read_back() {
        let account = account();
        let (_, first) = account
            .post(
                ledger::EntryKind::Deposit,
                500,
                0,
                "d-1",
                account.updated_at,
            )
            .unwrap();
        let mut second = first.clone();
        second.seq = 2;
        let item = with_entries(
            key("DEPOSIT#d-1".into(), "DEPOSIT"),
            &account.player_id,
            &[&first, &second],
        )
        .unwrap();
        assert_eq!(entries_of(&item).unwrap(), vec![first.clone(), second]);
        assert_eq!(
            item.get(keys::HISTORY_SK),
            Some(&AttributeValue::S(keys::entry_sk(1)))
        );
        let bare = with_entries(key("X".into(), "X"), &account.player_id, &[]).unwrap();
        assert!(!bare.contains_key(keys::HISTORY_PK) && entries_of(&bare).unwrap().is_empty());
        let kept = keep_entries(key("DEPOSIT#d-1".into(), "DEPOSIT"), Some(&item)).unwrap();
        assert_eq!(entries_of(&kept).unwrap().len(), 2);
    }
}
