//! The operator's routes (API.md "Operators", WALLET-RULES "Operators"): only tokens with
//! the operator scope reach them; the review queue is paged oldest first by status; a
//! decision is made once and never overwritten; the fraud lock goes through the
//! version-guarded account write; every action is recorded with who, when, what and why,
//! and produces an event.

use lambda_http::http::Method;
use serde_json::{json, Value};
use stakeline_tests::*;

/// Every request goes to review (any amount is "large").
const ALWAYS_REVIEW: &str = r#"{"large_amount":{"EUR":1}}"#;

async fn ops(state: &edge::State, request: lambda_http::Request) -> (u16, Value) {
    read(ops::handle(&ops_of(state).await, request).await)
}

async fn decide(
    state: &edge::State,
    id: &str,
    decision: &str,
    reason: &str,
    staff: &str,
) -> (u16, Value) {
    let path = format!("/ops/withdrawals/{id}/decision");
    let body = json!({"decision": decision, "reason": reason}).to_string();
    let request = ops_request(
        Method::POST,
        &path,
        &[("withdrawal_id", id)],
        &[],
        &body,
        staff,
    );
    ops(state, request).await
}

async fn queue_page(state: &edge::State, query: &[(&str, &str)]) -> (u16, Value) {
    let request = ops_request(Method::GET, "/ops/withdrawals", &[], query, "", "staff-1");
    ops(state, request).await
}

async fn player_view(state: &edge::State, player: &str) -> Value {
    let path = format!("/ops/players/{player}");
    let request = ops_request(
        Method::GET,
        &path,
        &[("player_id", player)],
        &[],
        "",
        "staff-1",
    );
    let (status, view) = ops(state, request).await;
    assert_eq!(status, 200, "{view}");
    view
}

/// Each of `bodies` sent to `method path` is refused as `422 VALIDATION_FAILED`.
async fn assert_all_invalid(
    state: &edge::State,
    method: Method,
    path: &str,
    param: (&str, &str),
    bodies: &[Value],
) {
    for body in bodies {
        let request = ops_request(
            method.clone(),
            path,
            &[param],
            &[],
            &body.to_string(),
            "staff-1",
        );
        let (status, answer) = ops(state, request).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (422, Some("VALIDATION_FAILED")),
            "{body}"
        );
    }
}

/// A funded player's withdrawal sent to review; returns (player, withdrawal id).
async fn in_review(state: &edge::State, amount: i64) -> (String, String) {
    let player = funded_player(state, 5000).await;
    let id = unique("wd");
    let (status, answer) = request_withdrawal(
        state,
        &player,
        &withdrawal_body(&id, amount, &unique("iban")),
    )
    .await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (201, Some("pending_review")),
        "{answer}"
    );
    (player, id)
}

/// Every withdrawal id of the queue in `status`, walking its pages of `limit`.
async fn whole_queue(state: &edge::State, status: &str, limit: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10_000 {
        let mut query = vec![("status", status), ("limit", limit)];
        if let Some(c) = cursor.as_deref() {
            query.push(("cursor", c));
        }
        let (code, page) = queue_page(state, &query).await;
        assert_eq!(code, 200, "{page}");
        let items = page["items"].as_array().cloned().unwrap_or_default();
        assert!(items.len() <= limit.parse::<usize>().unwrap_or(0));
        all.extend(items);
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return all,
        }
    }
    panic!("the queue never ended");
}

#[tokio::test]
async fn only_operator_tokens_reach_the_operator_routes() {
    let state = state().await;
    let player = new_player(&state).await;
    let path = format!("/ops/players/{player}");
    let params = [("player_id", player.as_str())];
    // No token: 401.
    let request = player_request(Method::GET, &path, Some(&player), &[], "", None);
    let (status, answer) = ops(&state, request).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (401, Some("UNAUTHENTICATED"))
    );
    // The player's own token, even for its own page: 403, and nothing changes.
    let request = player_request(Method::GET, &path, Some(&player), &[], "", Some(&player));
    let (status, answer) = ops(&state, request).await;
    assert_eq!((status, answer["code"].as_str()), (403, Some("FORBIDDEN")));
    let lock = json!({"status": "disabled", "reason": "self-service"}).to_string();
    let request = player_request(
        Method::PUT,
        &format!("{path}/status"),
        Some(&player),
        &[],
        &lock,
        Some(&player),
    );
    let (status, _) = ops(&state, request).await;
    assert_eq!(status, 403);
    assert!(!account(&state, &player).await.expect("account").disabled);
    // A forged operator token (another secret): 401.
    let mut request = ops_request(Method::GET, &path, &params, &[], "", "staff-1");
    let forged = edge::auth::mint_local_scoped_token(
        b"not-the-secret",
        "staff-1",
        Some(edge::auth::OPERATOR_SCOPE),
        ledger::Timestamp::now(),
        60,
    );
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {forged}").parse().expect("header"),
    );
    assert_eq!(ops(&state, request).await.0, 401);
    // The operator: 200.
    let request = ops_request(Method::GET, &path, &params, &[], "", "staff-1");
    assert_eq!(ops(&state, request).await.0, 200);
}

#[tokio::test]
async fn the_review_queue_pages_oldest_first_by_status() {
    let state = state_with_rules(ALWAYS_REVIEW).await;
    let mut ours = Vec::new();
    for amount in [1000, 1100, 1200] {
        ours.push(in_review(&state, amount).await.1);
    }
    let queue = whole_queue(&state, "pending_review", "2").await;
    let ids: Vec<&str> = queue
        .iter()
        .filter_map(|w| w["withdrawal_id"].as_str())
        .collect();
    let mut unique_ids = ids.clone();
    unique_ids.sort_unstable();
    unique_ids.dedup();
    assert_eq!(unique_ids.len(), ids.len(), "no withdrawal on two pages");
    let positions: Vec<usize> = ours
        .iter()
        .map(|id| ids.iter().position(|x| x == id).expect("in the queue"))
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "oldest first: {positions:?}"
    );
    let created: Vec<&str> = queue
        .iter()
        .filter_map(|w| w["created_at"].as_str())
        .collect();
    assert!(created.windows(2).all(|w| w[0] <= w[1]), "oldest first");
    let first = queue
        .iter()
        .find(|w| w["withdrawal_id"] == ours[0].as_str())
        .expect("ours");
    assert_eq!(first["review_reasons"], json!(["large_amount"]));
    assert!(first["player_id"].is_string() && first.get("wallet").is_none());

    // Decided: it leaves the review queue and shows under its new status.
    assert_eq!(
        decide(&state, &ours[0], "approve", "checked", "staff-1")
            .await
            .0,
        200
    );
    let review = whole_queue(&state, "pending_review", "100").await;
    assert!(!review
        .iter()
        .any(|w| w["withdrawal_id"] == ours[0].as_str()));
    let approved = whole_queue(&state, "approved", "100").await;
    assert!(approved
        .iter()
        .any(|w| w["withdrawal_id"] == ours[0].as_str()));

    // Bad parameters: 422, naming the parameter.
    for (query, field) in [
        (vec![("status", "open")], "status"),
        (vec![("limit", "0")], "limit"),
        (vec![("cursor", "garbage")], "cursor"),
        (vec![("page", "2")], "page"),
    ] {
        let (status, answer) = queue_page(&state, &query).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (422, Some("VALIDATION_FAILED"))
        );
        assert!(answer.to_string().contains(field), "{answer}");
    }
}

#[tokio::test]
async fn an_approval_is_recorded_once_and_never_overwritten() {
    let state = state_with_rules(ALWAYS_REVIEW).await;
    let (player, id) = in_review(&state, 2000).await;
    let (status, approved) = decide(&state, &id, "approve", "documents checked", "staff-1").await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(
        (
            approved["status"].as_str(),
            approved["decided_by"].as_str(),
            approved["decision_reason"].as_str()
        ),
        (Some("approved"), Some("staff-1"), Some("documents checked"))
    );
    assert_eq!(
        (
            approved["wallet"]["cash"].as_i64(),
            approved["wallet"]["pending_withdrawal"].as_i64()
        ),
        (Some(3000), Some(2000)),
        "an approval moves no money"
    );
    let event = outbox_event(&state, &format!("WithdrawalApproved:{id}"))
        .await
        .expect("event");
    assert_eq!(event.detail["decided_by"], "staff-1");

    // Someone decided first: 409, and the first decision stands.
    let (status, late) = decide(&state, &id, "reject", "late", "staff-2").await;
    assert_eq!(
        (status, late["code"].as_str()),
        (409, Some("WITHDRAWAL_NOT_PENDING"))
    );
    assert_eq!(late["wallet"]["pending_withdrawal"], 2000);
    let (status, again) = decide(&state, &id, "approve", "documents checked", "staff-1").await;
    assert_eq!(
        (status, again["code"].as_str()),
        (409, Some("WITHDRAWAL_NOT_PENDING"))
    );
    let view = player_view(&state, &player).await;
    let open: Vec<&Value> = view["open_withdrawals"]
        .as_array()
        .expect("list")
        .iter()
        .collect();
    assert_eq!(open.len(), 1);
    assert_eq!(
        (open[0]["status"].as_str(), open[0]["decided_by"].as_str()),
        (Some("approved"), Some("staff-1"))
    );
    let actions = view["actions"].as_array().expect("actions");
    assert_eq!(actions.len(), 1, "one decision, one action: {view}");
    assert_eq!(
        (
            actions[0]["kind"].as_str(),
            actions[0]["operator"].as_str(),
            actions[0]["decision"].as_str(),
            actions[0]["withdrawal_id"].as_str(),
            actions[0]["reason"].as_str()
        ),
        (
            Some("withdrawal_decision"),
            Some("staff-1"),
            Some("approve"),
            Some(id.as_str()),
            Some("documents checked")
        )
    );
    assert_eq!(view["risk_flags"][0]["reason"], "large_amount");
    assert_eq!(view["risk_flags"][0]["withdrawal_id"], id.as_str());
    // The player can no longer cancel it.
    let path = format!("/players/{player}/withdrawals/{id}/cancel");
    let params = [
        ("player_id", player.as_str()),
        ("withdrawal_id", id.as_str()),
    ];
    let request = player_request_at(Method::POST, &path, &params, "", &player);
    let (status, _) = read(withdraw::handle(&state, request).await);
    assert_eq!(status, 409);
    assert_audit_clean(&state, &[&player]).await;
}

#[tokio::test]
async fn a_rejection_returns_the_money_in_one_entry() {
    let state = state_with_rules(ALWAYS_REVIEW).await;
    let (player, id) = in_review(&state, 1500).await;
    let (status, rejected) = decide(&state, &id, "reject", "chargeback history", "staff-9").await;
    assert_eq!(status, 200, "{rejected}");
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(
        (
            rejected["wallet"]["cash"].as_i64(),
            rejected["wallet"]["pending_withdrawal"].as_i64()
        ),
        (Some(5000), Some(0))
    );
    let event = outbox_event(&state, &format!("WithdrawalRejected:{id}"))
        .await
        .expect("event");
    assert_eq!(
        (
            event.detail["decided_by"].as_str(),
            event.detail["reason"].as_str()
        ),
        (Some("staff-9"), Some("chargeback history"))
    );
    let entries = all_entries(&state, &player).await;
    let returned: Vec<_> = entries
        .iter()
        .filter(|e| e.reference == id && e.kind == ledger::EntryKind::WithdrawalReturned)
        .collect();
    assert_eq!(returned.len(), 1);
    let view = player_view(&state, &player).await;
    assert_eq!(view["open_withdrawals"], json!([]));
    assert_eq!(view["actions"][0]["decision"], "reject");
    assert_eq!(view["wallet"]["cash"], 5000);
    assert_audit_clean(&state, &[&player]).await;
}

#[tokio::test]
async fn bad_decisions_are_refused_and_write_nothing() {
    let state = state_with_rules(ALWAYS_REVIEW).await;
    let (player, id) = in_review(&state, 1000).await;
    let path = format!("/ops/withdrawals/{id}/decision");
    let bodies = [
        json!({"decision": "maybe", "reason": "x"}),
        json!({"decision": "approve", "reason": ""}),
        json!({"decision": "approve"}),
        json!({"decision": "approve", "reason": "ok", "amount": 5}),
    ];
    assert_all_invalid(&state, Method::POST, &path, ("withdrawal_id", &id), &bodies).await;
    let (status, answer) = decide(&state, &unique("nope"), "approve", "ok", "staff-1").await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (404, Some("WITHDRAWAL_NOT_FOUND"))
    );
    let view = player_view(&state, &player).await;
    assert_eq!(view["open_withdrawals"][0]["status"], "pending_review");
    assert_eq!(view["actions"], json!([]));
}

#[tokio::test]
async fn the_lock_stops_deposits_bets_and_withdrawals_but_not_settlements() {
    let state = state_with_rules("{}").await;
    let player = funded_player(&state, 5000).await;
    let (status, open_bet) = bet(&state, &player, &unique("bet"), 1000).await;
    assert_eq!(status, 201, "{open_bet}");
    let bet_id = open_bet["bet_id"].as_str().expect("bet id").to_string();

    let (status, locked) = set_status(&state, &player, "disabled", "staff-3").await;
    assert_eq!(
        (status, locked["status"].as_str()),
        (200, Some("disabled")),
        "{locked}"
    );
    let changed = account(&state, &player).await.expect("account");
    let event_id = format!("PlayerStatusChanged:{player}:{}", changed.version);
    let event = outbox_event(&state, &event_id).await.expect("event");
    assert_eq!(
        (
            event.detail["status"].as_str(),
            event.detail["previous_status"].as_str(),
            event.detail["operator"].as_str()
        ),
        (Some("disabled"), Some("active"), Some("staff-3"))
    );

    let (status, refused) = deposit(&state, &player, &unique("dep"), 100).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (403, Some("PLAYER_BLOCKED"))
    );
    let (status, refused) = bet(&state, &player, &unique("bet"), 100).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (403, Some("PLAYER_BLOCKED"))
    );
    let body = withdrawal_body(&unique("wd"), 100, &unique("iban"));
    let (status, refused) = request_withdrawal(&state, &player, &body).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (403, Some("PLAYER_BLOCKED"))
    );
    let (status, won) = settle(&state, &player, &bet_id, &win(&unique("stl"), 2500)).await;
    assert_eq!(
        (status, won["status"].as_str()),
        (201, Some("won")),
        "{won}"
    );

    // Locking again changes nothing and records nothing.
    let (status, again) = set_status(&state, &player, "disabled", "staff-3").await;
    assert_eq!((status, again["status"].as_str()), (200, Some("disabled")));
    assert_eq!(
        account(&state, &player).await.expect("account").version,
        changed.version + 1
    );

    let (status, unlocked) = set_status(&state, &player, "active", "staff-4").await;
    assert_eq!((status, unlocked["status"].as_str()), (200, Some("active")));
    assert_eq!(deposit(&state, &player, &unique("dep"), 100).await.0, 201);

    let view = player_view(&state, &player).await;
    let actions = view["actions"].as_array().expect("actions");
    let summary: Vec<(Option<&str>, Option<&str>, Option<&str>)> = actions
        .iter()
        .map(|a| {
            (
                a["status"].as_str(),
                a["previous_status"].as_str(),
                a["operator"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (Some("active"), Some("disabled"), Some("staff-4")),
            (Some("disabled"), Some("active"), Some("staff-3"))
        ],
        "newest first, one per change"
    );
    assert_eq!(view["account"]["status"], "active");
    assert_eq!(view["wallet"]["cash"], 5000 - 1000 + 2500 + 100);
    assert_audit_clean(&state, &[&player]).await;
}

#[tokio::test]
async fn bad_status_changes_are_refused_and_write_nothing() {
    let state = state().await;
    let player = new_player(&state).await;
    let before = account(&state, &player).await.expect("account");
    let path = format!("/ops/players/{player}/status");
    let bodies = [
        json!({"status": "excluded", "reason": "x"}),
        json!({"status": "disabled", "reason": " "}),
        json!({"status": "disabled"}),
        json!({"status": "disabled", "reason": "x", "until": "never"}),
    ];
    assert_all_invalid(&state, Method::PUT, &path, ("player_id", &player), &bodies).await;
    assert_eq!(account(&state, &player).await.expect("account"), before);
    let (status, answer) = set_status(&state, &unique("ghost"), "disabled", "staff-1").await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (404, Some("PLAYER_NOT_FOUND"))
    );
}

#[tokio::test]
async fn a_lock_racing_deposits_is_never_lost() {
    let state = state_with_rules("{}").await;
    let player = funded_player(&state, 1000).await;
    let mut tasks = Vec::new();
    for n in 0..8 {
        let state = state.clone();
        let player = player.clone();
        tasks.push(tokio::spawn(async move {
            if n == 4 {
                set_status(&state, &player, "disabled", "staff-5").await.0
            } else {
                deposit(&state, &player, &unique("dep"), 100).await.0
            }
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("task"));
    }
    assert_eq!(statuses[4], 200);
    assert!(
        statuses.iter().all(|s| [200, 201, 403].contains(s)),
        "{statuses:?}"
    );
    let accepted = statuses.iter().filter(|s| **s == 201).count() as i64;
    let account = assert_wallet_consistent(&state, &player).await;
    assert!(account.disabled, "the lock survives every concurrent write");
    assert_eq!(account.cash, 1000 + 100 * accepted);
    assert_audit_clean(&state, &[&player]).await;
}

#[tokio::test]
async fn two_operators_deciding_at_once_record_one_decision() {
    let state = state_with_rules(ALWAYS_REVIEW).await;
    let (player, id) = in_review(&state, 2500).await;
    let mut tasks = Vec::new();
    for (decision, staff) in [
        ("approve", "staff-a"),
        ("reject", "staff-b"),
        ("reject", "staff-c"),
    ] {
        let state = state.clone();
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            decide(&state, &id, decision, "concurrent review", staff).await
        }));
    }
    let mut won = Vec::new();
    for task in tasks {
        let (status, answer) = task.await.expect("task");
        match status {
            200 => won.push(answer),
            409 => assert_eq!(answer["code"], "WITHDRAWAL_NOT_PENDING"),
            other => panic!("{other}: {answer}"),
        }
    }
    assert_eq!(won.len(), 1, "exactly one decision");
    let account = assert_wallet_consistent(&state, &player).await;
    let view = player_view(&state, &player).await;
    assert_eq!(view["actions"].as_array().map(Vec::len), Some(1));
    match won[0]["status"].as_str() {
        Some("approved") => assert_eq!((account.cash, account.pending_withdrawal), (2500, 2500)),
        Some("rejected") => assert_eq!((account.cash, account.pending_withdrawal), (5000, 0)),
        other => panic!("{other:?}"),
    }
    assert_audit_clean(&state, &[&player]).await;
}
