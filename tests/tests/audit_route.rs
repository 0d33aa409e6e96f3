//! `POST /ops/audit`: the reconciliation through the back office, alone in its binary (it
//! reads the whole table, which no other test of this binary writes meanwhile).

use lambda_http::http::Method;
use serde_json::Value;
use stakeline_tests::*;

async fn run_audit(state: &edge::State) -> (u16, Value) {
    let request = ops_request(Method::POST, "/ops/audit", &[], &[], "", "staff-audit");
    read(ops::handle(&ops_of(state).await, request).await)
}

#[tokio::test]
async fn the_audit_reports_a_clean_table_then_a_broken_balance() {
    let state = state().await;
    let player = funded_player(&state, 5000).await;
    let (status, answer) = bet(&state, &player, &unique("bet"), 700).await;
    assert_eq!(status, 201, "{answer}");
    let entries = all_entries(&state, &player).await.len();

    let (status, report) = run_audit(&state).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["clean"], true, "{report}");
    assert_eq!(report["accounts"].as_u64(), Some(1), "{report}");
    assert_eq!(report["entries"].as_u64(), Some(entries as u64), "{report}");
    assert_eq!(report["bets"].as_u64(), Some(1), "{report}");
    assert_eq!(report["findings"].as_array().map(Vec::len), Some(0));

    // A body is refused: the audit takes none.
    let request = ops_request(
        Method::POST,
        "/ops/audit",
        &[],
        &[],
        r#"{"all":true}"#,
        "staff-audit",
    );
    let (status, refused) = read(ops::handle(&ops_of(&state).await, request).await);
    assert_eq!(
        (status, refused["code"].as_str()),
        (422, Some("VALIDATION_FAILED")),
        "{refused}"
    );

    // A wallet whose cash no longer equals its entries breaks invariant 2.
    dynamo()
        .await
        .update_item()
        .table_name(state.store.table())
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("PLAYER#{player}")),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("WALLET".into()),
        )
        .update_expression("SET cash = cash + :one")
        .expression_attribute_values(
            ":one",
            aws_sdk_dynamodb::types::AttributeValue::N("1".into()),
        )
        .send()
        .await
        .expect("corrupt the wallet");
    let (status, report) = run_audit(&state).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["clean"], false, "{report}");
    let findings = report["findings"].as_array().cloned().unwrap_or_default();
    assert!(
        findings
            .iter()
            .any(|f| f["invariant"] == 2
                && f["detail"].as_str().is_some_and(|d| d.contains(&player))),
        "{report}"
    );
}
