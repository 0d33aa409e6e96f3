//! Deposits against DynamoDB (moto): exactly once per id, stable rejections, every bad
//! input refused with nothing written, and a concurrency test on one wallet.

use edge::signature::{sign, Signed};
use lambda_http::http::HeaderValue;
use ledger::Timestamp;
use serde_json::json;
use stakeline_tests::*;
use std::collections::HashMap;

#[tokio::test]
async fn a_deposit_credits_cash_once_and_marks_the_first() {
    let state = state().await;
    let player = new_player(&state).await;
    let (status, body) = deposit(&state, &player, &unique("dep"), 2500).await;
    assert_eq!(
        (status, &body["first_deposit"]),
        (201, &json!(true)),
        "{body}"
    );
    let id = unique("dep");
    let (status, body) = deposit(&state, &player, &id, 1000).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["deposit_id"], id.as_str());
    assert_eq!(body["amount"], 1000);
    assert_eq!(
        body["first_deposit"], false,
        "the deposit before it was the first"
    );
    assert_eq!(body["wallet"]["cash"], 3500);
    assert_eq!(body["wallet"]["player_id"], player.as_str());

    let other = new_player(&state).await;
    let (_, first) = deposit(&state, &other, &unique("dep"), 700).await;
    assert_eq!(first["first_deposit"], true);
    let (_, second) = deposit(&state, &other, &unique("dep"), 700).await;
    assert_eq!(second["first_deposit"], false);
    let account = assert_wallet_consistent(&state, &other).await;
    assert_eq!((account.cash, account.seq), (1400, 2));
}

#[tokio::test]
async fn a_replay_returns_the_original_outcome_and_moves_nothing() {
    let state = state().await;
    let player = new_player(&state).await;
    let id = unique("dep");
    let (status, original) = deposit(&state, &player, &id, 1000).await;
    assert_eq!(status, 201);
    deposit(&state, &player, &unique("dep"), 1).await;
    let (status, replay) = deposit(&state, &player, &id, 1000).await;
    assert_eq!(status, 200, "{replay}");
    let strip = |mut v: serde_json::Value| {
        v.as_object_mut().map(|o| o.remove("wallet"));
        v
    };
    assert_eq!(
        strip(original.clone()),
        strip(replay.clone()),
        "same body apart from the wallet"
    );
    assert_eq!(
        replay["wallet"]["cash"], 1001,
        "the replay shows the current wallet"
    );
    let account = assert_wallet_consistent(&state, &player).await;
    assert_eq!((account.cash, account.seq), (1001, 2));
}

#[tokio::test]
async fn the_same_id_with_another_payload_is_a_duplicate() {
    let state = state().await;
    let player = new_player(&state).await;
    let id = unique("dep");
    assert_eq!(deposit(&state, &player, &id, 1000).await.0, 201);
    let (status, problem) = deposit(&state, &player, &id, 999).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("DUPLICATE_TRANSACTION"))
    );
    assert_eq!(
        problem["wallet"]["cash"], 1000,
        "the error carries the current wallet"
    );

    let (status, problem) = read(
        deposit::handle(
            &state,
            deposit_request(
                &player,
                &json!({"deposit_id": id, "amount": 1000, "currency": "USD"}).to_string(),
            ),
        )
        .await,
    );
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("DUPLICATE_TRANSACTION")),
        "{problem}"
    );

    let other = new_player(&state).await;
    let (status, problem) = deposit(&state, &other, &id, 1000).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("DUPLICATE_TRANSACTION")),
        "ids are global"
    );
    assert_eq!(problem["wallet"]["cash"], 0);
    assert_eq!(assert_wallet_consistent(&state, &player).await.cash, 1000);
}

#[tokio::test]
async fn a_rejection_for_a_limit_stays_rejected_on_retry() {
    let t0 = Timestamp::now();
    let state = state_at(edge::Clock::Fixed(t0)).await;
    let player = new_player(&state).await;
    let path = format!("/players/{player}/limits");
    let put = player_request(
        lambda_http::http::Method::PUT,
        &path,
        Some(&player),
        &[],
        r#"{"daily":1000}"#,
        Some(&player),
    );
    assert_eq!(read(register::handle(&state, put).await).0, 200);
    let id = unique("dep");
    let (status, problem) = deposit(&state, &player, &id, 1500).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("DEPOSIT_LIMIT_REACHED"))
    );
    assert_eq!(problem["wallet"]["cash"], 0);

    // Two days later the window is empty, but the id's outcome is settled for good.
    let later = state_at(edge::Clock::Fixed(
        t0.plus_millis(2 * ledger::clock::DAY_MS),
    ))
    .await;
    let (status, again) = deposit(&later, &player, &id, 1500).await;
    assert_eq!(status, 422);
    assert_eq!(
        again["detail"], problem["detail"],
        "the same rejection, word for word"
    );
    assert_eq!(assert_wallet_consistent(&later, &player).await.cash, 0);
    assert_eq!(deposit(&later, &player, &unique("dep"), 1000).await.0, 201);
}

#[tokio::test]
async fn currency_mismatch_and_unknown_players() {
    let state = state().await;
    let player = new_player(&state).await;
    let body = json!({"deposit_id": unique("dep"), "amount": 100, "currency": "GBP"}).to_string();
    let (status, problem) = read(deposit::handle(&state, deposit_request(&player, &body)).await);
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("CURRENCY_MISMATCH"))
    );
    assert_eq!(problem["wallet"]["currency"], "EUR");

    let ghost = unique("ghost");
    let (status, problem) = deposit(&state, &ghost, &unique("dep"), 100).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (404, Some("PLAYER_NOT_FOUND"))
    );
    assert!(problem.get("wallet").is_none());
}

/// Every bad input gets its documented 4xx and writes nothing: the wallet, its entries
/// and the deposit id are untouched (the id still works afterwards).
#[tokio::test]
async fn bad_input_is_refused_and_writes_nothing() {
    let state = state().await;
    let player = new_player(&state).await;
    assert_eq!(deposit(&state, &player, &unique("dep"), 100).await.0, 201);
    let id = unique("dep");
    let bodies: Vec<(String, &str)> = vec![
        ("{\"deposit_id\":".to_string(), "malformed JSON"),
        (
            format!(r#"{{"deposit_id":"{id}","amount":100,"currency":"EUR","note":"x"}}"#),
            "unknown field",
        ),
        (
            format!(r#"{{"deposit_id":"{id}","amount":"100","currency":"EUR"}}"#),
            "amount as a string",
        ),
        (
            format!(r#"{{"deposit_id":"{id}","amount":100.5,"currency":"EUR"}}"#),
            "float amount",
        ),
        (
            format!(r#"{{"deposit_id":{},"amount":100,"currency":"EUR"}}"#, 7),
            "id as a number",
        ),
        (
            format!(r#"{{"deposit_id":"{id}","amount":0,"currency":"EUR"}}"#),
            "zero",
        ),
        (
            format!(r#"{{"deposit_id":"{id}","amount":-100,"currency":"EUR"}}"#),
            "negative",
        ),
        (
            format!(r#"{{"deposit_id":"{id}","amount":1000000000001,"currency":"EUR"}}"#),
            "over 10^12",
        ),
        (
            format!(r#"{{"deposit_id":"{id}","amount":9223372036854775808,"currency":"EUR"}}"#),
            "over i64",
        ),
        (
            format!(r#"{{"deposit_id":"{id}","amount":100,"currency":"eur"}}"#),
            "lower-case currency",
        ),
        (
            format!(r#"{{"deposit_id":"{id}","amount":100,"currency":"XYZ"}}"#),
            "unknown currency",
        ),
        (
            r#"{"deposit_id":"has spaces","amount":100,"currency":"EUR"}"#.to_string(),
            "bad id",
        ),
        (
            format!(
                r#"{{"deposit_id":"{}","amount":100,"currency":"EUR"}}"#,
                "x".repeat(129)
            ),
            "id too long",
        ),
        (
            format!(r#"{{"deposit_id":"{id}","amount":100}}"#),
            "missing currency",
        ),
        (format!(r#"["{id}",100,"EUR"]"#), "array body"),
        (String::new(), "empty body"),
    ];
    for (body, what) in &bodies {
        let (status, problem) = read(deposit::handle(&state, deposit_request(&player, body)).await);
        assert_eq!(
            (status, problem["code"].as_str()),
            (422, Some("VALIDATION_FAILED")),
            "{what}: {problem}"
        );
        assert_eq!(
            problem["wallet"]["cash"], 100,
            "{what}: a money-route error shows the wallet"
        );
    }

    let valid = deposit_body(&id, 100);
    let now = Timestamp::now().seconds();
    let unsigned = {
        let mut r = deposit_request(&player, &valid);
        r.headers_mut().remove("x-stakeline-signature");
        r
    };
    let tampered = {
        let mut r = deposit_request(&player, &valid);
        let other_body = deposit_body(&id, 1_000_000);
        let sig = sign(
            PROVIDER_SECRET.as_bytes(),
            &now.to_string(),
            &Signed {
                method: "POST",
                path: &format!("/players/{player}/deposits"),
                body: other_body.as_bytes(),
            },
        );
        r.headers_mut().insert(
            "x-stakeline-signature",
            HeaderValue::from_str(&sig).unwrap(),
        );
        r
    };
    let auth_failures = [
        ("missing signature", unsigned),
        ("signature of another body", tampered),
        (
            "wrong secret",
            signed_deposit_request(&player, &valid, "some-other-integration-secret", now),
        ),
        (
            "stale timestamp",
            signed_deposit_request(&player, &valid, PROVIDER_SECRET, now - 301),
        ),
        (
            "future timestamp",
            signed_deposit_request(&player, &valid, PROVIDER_SECRET, now + 301),
        ),
    ];
    for (what, request) in auth_failures {
        let (status, problem) = read(deposit::handle(&state, request).await);
        assert_eq!(
            (status, problem["code"].as_str()),
            (401, Some("UNAUTHENTICATED")),
            "{what}"
        );
        assert!(
            problem.get("wallet").is_none(),
            "{what}: no wallet for an unauthenticated caller"
        );
    }

    let with_query = {
        let request = deposit_request(&player, &valid);
        let query = std::collections::HashMap::from([("dry_run".to_string(), "true".to_string())]);
        lambda_http::RequestExt::with_query_string_parameters(request, query)
    };
    let (status, problem) = read(deposit::handle(&state, with_query).await);
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("VALIDATION_FAILED")),
        "unknown query parameter"
    );
    assert_eq!(problem["errors"][0]["field"], "dry_run");

    let account = assert_wallet_consistent(&state, &player).await;
    assert_eq!((account.cash, account.seq), (100, 1), "nothing moved");
    assert_eq!(
        deposit(&state, &player, &id, 100).await.0,
        201,
        "the id was never used"
    );
}

/// 60 clients at once on ONE wallet: 40 distinct deposits, 10 exact replays and 10
/// conflicting reuses of their ids. Exactly one request per id moves money; the balance
/// is exact and equals the sum of the entries.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn concurrent_deposits_on_one_wallet_are_exact() {
    let state = std::sync::Arc::new(state().await);
    let player = new_player(&state).await;
    let ids: Vec<String> = (0..40).map(|_| unique("dep")).collect();
    let mut requests: Vec<(String, i64)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.clone(), 100 + i as i64))
        .collect();
    for i in 0..10 {
        requests.push((ids[i].clone(), 100 + i as i64)); // exact replay
        requests.push((ids[10 + i].clone(), 5_000 + i as i64)); // same id, another amount
    }
    fastrand::shuffle(&mut requests);

    let tasks: Vec<_> = requests
        .into_iter()
        .map(|(id, amount)| {
            let state = state.clone();
            let player = player.clone();
            tokio::spawn(async move {
                let (status, body) = deposit(&state, &player, &id, amount).await;
                (id, amount, status, body)
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("task"));
    }

    // Per id: exactly one 201; same-payload requests get 200, others 409.
    let mut by_id: HashMap<String, Vec<(i64, u16)>> = HashMap::new();
    for (id, amount, status, body) in &results {
        assert!(matches!(status, 200 | 201 | 409), "{status} {body}");
        by_id
            .entry(id.clone())
            .or_default()
            .push((*amount, *status));
    }
    let mut expected_cash = 0;
    for (id, outcomes) in &by_id {
        let winners: Vec<i64> = outcomes
            .iter()
            .filter(|(_, s)| *s == 201)
            .map(|(a, _)| *a)
            .collect();
        assert_eq!(winners.len(), 1, "{id}: {outcomes:?}");
        let winner = winners[0];
        expected_cash += winner;
        for (amount, status) in outcomes {
            match *status {
                201 => {}
                200 => assert_eq!(*amount, winner, "{id}"),
                409 => assert_ne!(*amount, winner, "{id}"),
                other => panic!("{id}: {other}"),
            }
        }
    }
    let account = assert_wallet_consistent(&state, &player).await;
    assert_eq!(account.cash, expected_cash);
    assert_eq!(account.seq, 40);
    let firsts = results
        .iter()
        .filter(|(_, _, s, b)| *s == 201 && b["first_deposit"] == true)
        .count();
    assert_eq!(firsts, 1, "exactly one first deposit");
}
