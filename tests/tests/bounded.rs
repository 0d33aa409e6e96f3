//! Bounded items: nothing in the account item grows with a player's activity. The deposit
//! windows keep at most one bucket per clock hour of the last 30 days, so 20,000 deposits
//! of history leave the account item far below DynamoDB's 400 KB (and below the documented
//! `store::MAX_ACCOUNT_ITEM_BYTES`), and every write to the wallet still goes through.

use ledger::deposit::{deposit as decide_deposit, DepositCommand};
use ledger::{PlayerId, Timestamp};
use stakeline_tests::*;
use store::table::item_size;

const DEPOSITS: usize = 20_000;

#[tokio::test]
async fn twenty_thousand_deposits_keep_the_account_item_small_and_writable() {
    let start = Timestamp::now().minus_millis(28 * ledger::clock::DAY_MS);
    let state = state().await;
    // Registered four weeks ago (the account's clock never moves back).
    let player = new_player(&state_at(edge::Clock::Fixed(start)).await).await;
    let id = PlayerId::new(&player).expect("player id");
    let registered = account(&state, &player).await.expect("account");

    // 20,000 deposits, one every two minutes for almost four weeks, each decided by the
    // same pure rule the deposit function uses.
    let mut history = registered.clone();
    for n in 0..DEPOSITS {
        let request = ledger::api::DepositRequest {
            deposit_id: format!("hist-{n}"),
            amount: 1,
            currency: "EUR".into(),
        };
        let command = DepositCommand::from_request(&id, &request).expect("command");
        let at = start.plus_millis(n as i64 * 120_000);
        history = decide_deposit(&history, &command, at)
            .expect("deposit")
            .account;
    }
    assert_eq!(history.cash, DEPOSITS as i64);
    // One bucket per clock hour of the last 30 days, whatever the number of deposits.
    assert!(history.deposit_buckets.len() > 600);
    assert!(history.deposit_buckets.len() <= ledger::limits::MAX_BUCKETS);
    let size = item_size(&store::profile_item(&history).expect("item"));
    assert!(
        size < store::MAX_ACCOUNT_ITEM_BYTES,
        "{size} bytes after {DEPOSITS} deposits"
    );
    assert_eq!(
        state
            .store
            .update_account(&registered, &history)
            .await
            .expect("write"),
        store::Commit::Committed
    );

    // The wallet still takes money and still honours a self-exclusion at once.
    assert_eq!(deposit(&state, &player, &unique("dep"), 500).await.0, 201);
    let (status, body) = exclude(&state, &player, r#"{"kind":"self_exclusion","days":183}"#).await;
    assert_eq!(status, 201, "{body}");
    let (status, refused) = deposit(&state, &player, &unique("dep"), 500).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (403, Some("PLAYER_BLOCKED"))
    );

    // The item as DynamoDB holds it now.
    let stored = dynamo()
        .await
        .get_item()
        .table_name(&emulator().table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(store::keys::player_pk(&id)),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S(store::keys::PROFILE_SK.into()),
        )
        .consistent_read(true)
        .send()
        .await
        .expect("read")
        .item
        .expect("profile item");
    let stored_size = item_size(&stored);
    assert!(
        stored_size < store::MAX_ACCOUNT_ITEM_BYTES,
        "{stored_size} bytes"
    );
    println!(
        "account item after {DEPOSITS} deposits: {stored_size} bytes, {} hour buckets",
        account(&state, &player)
            .await
            .expect("account")
            .deposit_buckets
            .len()
    );
}
