//! The retry policy against a mocked SDK (moto never cancels a read, never conflicts and
//! never throttles): only a failed version condition and `TransactionConflict` are decided
//! again; throttling is retried by the SDK, then `UNAVAILABLE`; validation errors and
//! unknown cancellation reasons fail at once.

use crate::account::update_account;
use crate::deposit::deposit_funds;
use crate::items::account_items;
use crate::Store;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::operation::transact_get_items::{
    TransactGetItemsError, TransactGetItemsOutput,
};
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsError, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::types::error::{
    ProvisionedThroughputExceededException, TransactionCanceledException,
};
use aws_sdk_dynamodb::types::{CancellationReason, ItemResponse};
use aws_sdk_dynamodb::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use ledger::api::DepositRequest;
use ledger::deposit::DepositCommand;
use ledger::register::{register, RegisterRequest};
use ledger::{Account, ErrorCode, PlayerId, Timestamp};
use std::time::Duration;

const NOW: Timestamp = Timestamp::from_millis(1_795_392_000_000);

fn player() -> PlayerId {
    PlayerId::new("player-1").unwrap()
}

fn account() -> Account {
    let request = RegisterRequest {
        email: "ada@example.com".into(),
        date_of_birth: "1990-04-12".into(),
        country: "MT".into(),
        currency: "EUR".into(),
        display_name: None,
        deposit_limits: None,
    };
    register(&player(), &request, NOW, 18).unwrap()
}

/// The account's two items, wallet and profile, as a snapshot returns them.
fn account_responses(
    builder: aws_sdk_dynamodb::operation::transact_get_items::builders::TransactGetItemsOutputBuilder,
) -> aws_sdk_dynamodb::operation::transact_get_items::builders::TransactGetItemsOutputBuilder {
    let items = account_items(&account()).unwrap();
    builder
        .responses(ItemResponse::builder().set_item(Some(items.wallet)).build())
        .responses(
            ItemResponse::builder()
                .set_item(Some(items.profile))
                .build(),
        )
}

/// A store whose client answers with `rules` in order; the SDK retries throttling up to 3
/// attempts with a 1 ms backoff.
fn store(rules: &[&Rule]) -> Store {
    store_with(RuleMode::Sequential, rules)
}

fn store_with(mode: RuleMode, rules: &[&Rule]) -> Store {
    let client: Client = mock_client!(aws_sdk_dynamodb, mode, rules, |c| c.retry_config(
        RetryConfig::standard()
            .with_max_attempts(3)
            .with_initial_backoff(Duration::from_millis(1))
            .with_max_backoff(Duration::from_millis(2))
    ));
    Store::new(client, "wallet")
}

fn cancelled(codes: &[&str]) -> TransactionCanceledException {
    TransactionCanceledException::builder()
        .message("Transaction cancelled")
        .set_cancellation_reasons(Some(
            codes
                .iter()
                .map(|c| CancellationReason::builder().code(*c).build())
                .collect(),
        ))
        .build()
}

fn write_cancelled(codes: &'static [&'static str]) -> Rule {
    mock!(Client::transact_write_items)
        .then_error(move || TransactWriteItemsError::TransactionCanceledException(cancelled(codes)))
}

fn write_ok() -> Rule {
    mock!(Client::transact_write_items).then_output(|| TransactWriteItemsOutput::builder().build())
}

fn read_account() -> Rule {
    mock!(Client::transact_get_items)
        .then_output(|| account_responses(TransactGetItemsOutput::builder()).build())
}

fn deposit_snapshot() -> Rule {
    mock!(Client::transact_get_items).then_output(|| {
        account_responses(TransactGetItemsOutput::builder())
            .responses(ItemResponse::builder().build())
            .build()
    })
}

fn command() -> DepositCommand {
    let request = DepositRequest {
        deposit_id: "dep-1".into(),
        amount: 500,
        currency: "EUR".into(),
    };
    DepositCommand::from_request(&player(), &request).unwrap()
}

/// Changes nothing but the version: enough to exercise the account write.
fn touch(account: &Account, _: Timestamp) -> Result<(Option<Account>, ()), ledger::WalletError> {
    Ok((Some(account.touched()), ()))
}

#[tokio::test]
async fn a_failed_version_condition_is_decided_again() {
    let (read, stale, ok) = (
        read_account(),
        write_cancelled(&["ConditionalCheckFailed"]),
        write_ok(),
    );
    let read_again = read_account();
    let store = store(&[&read, &stale, &read_again, &ok]);
    assert!(update_account(&store, &player(), || NOW, touch)
        .await
        .is_ok());
    assert_eq!((read.num_calls(), read_again.num_calls()), (1, 1));
    assert_eq!((stale.num_calls(), ok.num_calls()), (1, 1));
}

#[tokio::test]
async fn a_transaction_conflict_on_a_write_is_decided_again() {
    let (read, conflict, read_again, ok) = (
        deposit_snapshot(),
        write_cancelled(&["TransactionConflict", "None", "None"]),
        deposit_snapshot(),
        write_ok(),
    );
    let store = store(&[&read, &conflict, &read_again, &ok]);
    let applied = deposit_funds(&store, &command(), "corr", || NOW)
        .await
        .unwrap();
    assert_eq!(applied.account.cash, 500);
    assert_eq!((conflict.num_calls(), ok.num_calls()), (1, 1));
}

#[tokio::test]
async fn a_taken_id_is_read_again_and_not_written_again() {
    let (read, taken, read_again) = (
        deposit_snapshot(),
        write_cancelled(&["None", "None", "ConditionalCheckFailed"]),
        deposit_snapshot(),
    );
    // The second read still finds no record (the mock), so the flow writes once more.
    let ok = write_ok();
    let store = store(&[&read, &taken, &read_again, &ok]);
    assert!(deposit_funds(&store, &command(), "corr", || NOW)
        .await
        .is_ok());
    assert_eq!(
        read_again.num_calls(),
        1,
        "a taken id reads the record again"
    );
}

#[tokio::test]
async fn a_read_cancelled_by_a_concurrent_write_is_read_again() {
    let conflict = mock!(Client::transact_get_items).then_error(|| {
        TransactGetItemsError::TransactionCanceledException(cancelled(&[
            "TransactionConflict",
            "None",
            "None",
        ]))
    });
    let (read, ok) = (deposit_snapshot(), write_ok());
    let store = store(&[&conflict, &read, &ok]);
    let applied = deposit_funds(&store, &command(), "corr", || NOW)
        .await
        .unwrap();
    assert_eq!(applied.account.cash, 500);
    assert_eq!((conflict.num_calls(), read.num_calls()), (1, 1));
}

#[tokio::test]
async fn throttling_is_retried_by_the_sdk_then_unavailable() {
    let throttled = mock!(Client::transact_get_items)
        .sequence()
        .error(|| {
            TransactGetItemsError::ProvisionedThroughputExceededException(
                ProvisionedThroughputExceededException::builder()
                    .message("slow down")
                    .meta(
                        aws_sdk_dynamodb::error::ErrorMetadata::builder()
                            .code("ProvisionedThroughputExceededException")
                            .message("slow down")
                            .build(),
                    )
                    .build(),
            )
        })
        .times(3)
        .build();
    let store = store(&[&throttled]);
    let failed = update_account(&store, &player(), || NOW, touch)
        .await
        .unwrap_err();
    assert_eq!(failed.error.code(), ErrorCode::Unavailable);
    assert_eq!(throttled.num_calls(), 3, "the SDK's own attempts, no more");
}

#[tokio::test]
async fn a_throttled_transaction_item_is_unavailable_at_once() {
    let (read, throttled) = (
        deposit_snapshot(),
        write_cancelled(&["ThrottlingError", "None", "None"]),
    );
    let store = store(&[&read, &throttled]);
    let failed = deposit_funds(&store, &command(), "corr", || NOW)
        .await
        .unwrap_err();
    assert_eq!(failed.error.code(), ErrorCode::Unavailable);
    assert_eq!(throttled.num_calls(), 1);
}

#[tokio::test]
async fn validation_errors_fail_at_once() {
    let read = deposit_snapshot();
    let invalid = mock!(Client::transact_write_items).then_error(|| {
        TransactWriteItemsError::generic(
            aws_sdk_dynamodb::error::ErrorMetadata::builder()
                .code("ValidationException")
                .message("Item size has exceeded the maximum allowed size")
                .build(),
        )
    });
    let store = store(&[&read, &invalid]);
    let failed = deposit_funds(&store, &command(), "corr", || NOW)
        .await
        .unwrap_err();
    assert_eq!(failed.error.code(), ErrorCode::Internal);
    assert!(
        failed.error.to_string().contains("ValidationException"),
        "{}",
        failed.error
    );
    assert_eq!((read.num_calls(), invalid.num_calls()), (1, 1));
}

#[tokio::test]
async fn unknown_cancellation_reasons_fail_at_once() {
    for reason in ["ValidationError", "ItemCollectionSizeLimitExceeded"] {
        let read = deposit_snapshot();
        let odd = mock!(Client::transact_write_items).then_error(move || {
            TransactWriteItemsError::TransactionCanceledException(cancelled(&[
                "None", reason, "None",
            ]))
        });
        let store = store(&[&read, &odd]);
        let failed = deposit_funds(&store, &command(), "corr", || NOW)
            .await
            .unwrap_err();
        assert_eq!(failed.error.code(), ErrorCode::Internal, "{reason}");
        assert!(
            failed.error.to_string().contains(reason),
            "{}",
            failed.error
        );
        assert_eq!(odd.num_calls(), 1, "{reason}");
    }
}

#[tokio::test]
async fn endless_contention_gives_up_as_unavailable() {
    let read = mock!(Client::transact_get_items)
        .sequence()
        .output(|| account_responses(TransactGetItemsOutput::builder()).build())
        .repeatedly()
        .build();
    let stale = mock!(Client::transact_write_items)
        .sequence()
        .error(|| {
            TransactWriteItemsError::TransactionCanceledException(cancelled(&[
                "ConditionalCheckFailed",
            ]))
        })
        .repeatedly()
        .build();
    let store = store_with(RuleMode::MatchAny, &[&read, &stale]);
    tokio::time::pause();
    let failed = update_account(&store, &player(), || NOW, touch)
        .await
        .unwrap_err();
    assert_eq!(failed.error.code(), ErrorCode::Unavailable);
    assert_eq!(stale.num_calls(), crate::MAX_ATTEMPTS as usize);
}
