//! Account routes against DynamoDB (moto): registration, limits, exclusions.

use edge::Clock;
use lambda_http::http::Method;
use ledger::clock::{DAY_MS, HOUR_MS};
use ledger::Timestamp;
use serde_json::json;
use stakeline_tests::*;

async fn register_as(player: &str, body: &str) -> (u16, serde_json::Value) {
    let state = state().await;
    read(
        register::handle(
            &state,
            player_request(Method::POST, "/players", None, &[], body, Some(player)),
        )
        .await,
    )
}

#[tokio::test]
async fn registering_creates_the_account_and_an_empty_wallet() {
    let player = unique("player");
    let (status, body) =
        register_as(&player, &registration(&format!("{player}@example.com"))).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["player_id"], player.as_str());
    assert_eq!(body["status"], "active");
    assert_eq!(body["currency"], "EUR");
    let state = state().await;
    let account = assert_wallet_consistent(&state, &player).await;
    assert_eq!((account.cash, account.bonus, account.seq), (0, 0, 0));
}

#[tokio::test]
async fn registration_refuses_unknown_query_parameters_and_writes_nothing() {
    let player = unique("player");
    let state = state().await;
    let request = player_request(
        Method::POST,
        "/players",
        None,
        &[("referrer", "x")],
        &registration(&format!("{player}@example.com")),
        Some(&player),
    );
    let (status, problem) = read(register::handle(&state, request).await);
    assert_eq!(
        (
            status,
            problem["code"].as_str(),
            problem["errors"][0]["field"].as_str()
        ),
        (422, Some("VALIDATION_FAILED"), Some("referrer"))
    );
    assert!(account(&state, &player).await.is_none());
}

#[tokio::test]
async fn registering_again_with_the_same_body_returns_the_account_and_another_body_conflicts() {
    let player = unique("player");
    let body = registration(&format!("{player}@example.com"));
    let (first, created) = register_as(&player, &body).await;
    assert_eq!(first, 201);
    let (again, replayed) = register_as(&player, &body).await;
    assert_eq!(again, 200);
    assert_eq!(created, replayed);
    let other = registration(&format!("{player}-other@example.com"));
    let (status, problem) = register_as(&player, &other).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("PLAYER_EXISTS"))
    );
}

#[tokio::test]
async fn emails_are_unique_whatever_their_case() {
    let first = unique("player");
    let email = format!("{first}@Example.com");
    assert_eq!(register_as(&first, &registration(&email)).await.0, 201);
    let second = unique("player");
    let (status, problem) = register_as(&second, &registration(&email.to_uppercase())).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("EMAIL_TAKEN")),
        "{problem}"
    );
    let state = state().await;
    assert!(
        account(&state, &second).await.is_none(),
        "nothing written for the refused player"
    );
}

#[tokio::test]
async fn bad_registrations_are_refused_and_write_nothing() {
    let state = state().await;
    let cases = [
        ("{not json", 422, "VALIDATION_FAILED"),
        (
            r#"{"email":"a@b.co","date_of_birth":"1990-01-01","country":"MT","currency":"EUR","bonus":true}"#,
            422,
            "VALIDATION_FAILED",
        ),
        (
            r#"{"email":"a@b.co","date_of_birth":"1990-01-01","country":"MT"}"#,
            422,
            "VALIDATION_FAILED",
        ),
        (
            r#"{"email":"a@b.co","date_of_birth":19900101,"country":"MT","currency":"EUR"}"#,
            422,
            "VALIDATION_FAILED",
        ),
        (
            r#"{"email":"a@b.co","date_of_birth":"1990-01-01","country":"mt","currency":"EUR"}"#,
            422,
            "VALIDATION_FAILED",
        ),
        (
            r#"{"email":"a@b.co","date_of_birth":"1990-01-01","country":"MT","currency":"EURO"}"#,
            422,
            "VALIDATION_FAILED",
        ),
        (
            r#"{"email":"a@b.co","date_of_birth":"2020-01-01","country":"MT","currency":"EUR"}"#,
            422,
            "UNDERAGE",
        ),
        (
            r#"{"email":"a@b.co","date_of_birth":"1990-01-01","country":"MT","currency":"EUR","deposit_limits":{"daily":-5}}"#,
            422,
            "VALIDATION_FAILED",
        ),
    ];
    for (body, status, code) in cases {
        let player = unique("player");
        let (got, problem) = read(
            register::handle(
                &state,
                player_request(Method::POST, "/players", None, &[], body, Some(&player)),
            )
            .await,
        );
        assert_eq!(
            (got, problem["code"].as_str()),
            (status, Some(code)),
            "{body} -> {problem}"
        );
        assert_eq!(problem["status"], status);
        assert!(problem["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("urn:stakeline:problem:")));
        assert!(
            account(&state, &player).await.is_none(),
            "{body} wrote an account"
        );
    }
}

#[tokio::test]
async fn registering_needs_a_valid_token() {
    let state = state().await;
    let body = registration("nobody@example.com");
    let (status, problem) = read(
        register::handle(
            &state,
            player_request(Method::POST, "/players", None, &[], &body, None),
        )
        .await,
    );
    assert_eq!(
        (status, problem["code"].as_str()),
        (401, Some("UNAUTHENTICATED"))
    );
    let mut forged = player_request(Method::POST, "/players", None, &[], &body, None);
    forged.headers_mut().insert(
        "authorization",
        "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."
            .parse()
            .unwrap(),
    );
    assert_eq!(read(register::handle(&state, forged).await).0, 401);
}

async fn put_limits(state: &edge::State, player: &str, body: &str) -> (u16, serde_json::Value) {
    let path = format!("/players/{player}/limits");
    read(
        register::handle(
            state,
            player_request(Method::PUT, &path, Some(player), &[], body, Some(player)),
        )
        .await,
    )
}

#[tokio::test]
async fn lowering_a_limit_applies_at_once_and_raising_waits_24_hours() {
    let t0 = Timestamp::now();
    let now = state_at(Clock::Fixed(t0)).await;
    let player = new_player(&now).await;
    let (status, body) = put_limits(&now, &player, r#"{"daily":1000}"#).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["current"],
        json!({"daily": 1000, "weekly": null, "monthly": null})
    );
    assert_eq!(body["pending"], json!([]));

    let (_, body) = put_limits(&now, &player, r#"{"daily":5000,"weekly":null}"#).await;
    assert_eq!(body["current"]["daily"], 1000);
    assert_eq!(body["pending"][0]["limit"], "daily");
    assert_eq!(body["pending"][0]["value"], 5000);
    assert_eq!(
        body["pending"][0]["effective_at"],
        t0.plus_millis(DAY_MS).to_rfc3339()
    );

    // A deposit over the old limit is refused while the raise is pending...
    let (status, problem) = deposit(&now, &player, &unique("dep"), 2000).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("DEPOSIT_LIMIT_REACHED"))
    );
    assert_eq!(problem["wallet"]["cash"], 0);

    // ...and accepted once 24 hours have passed.
    let later = state_at(Clock::Fixed(t0.plus_millis(DAY_MS + HOUR_MS))).await;
    let (_, body) = put_limits(&later, &player, "{}").await;
    assert_eq!(body["current"]["daily"], 5000);
    assert_eq!(body["pending"], json!([]));

    let (status, problem) = put_limits(&now, &player, r#"{"daily":0}"#).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("VALIDATION_FAILED"))
    );
    assert_eq!(problem["errors"][0]["field"], "/daily");
}

#[tokio::test]
async fn a_player_can_only_touch_their_own_account() {
    let state = state().await;
    let player = new_player(&state).await;
    let intruder = new_player(&state).await;
    let path = format!("/players/{player}/limits");
    let (status, problem) = read(
        register::handle(
            &state,
            player_request(
                Method::PUT,
                &path,
                Some(&player),
                &[],
                r#"{"daily":1}"#,
                Some(&intruder),
            ),
        )
        .await,
    );
    assert_eq!((status, problem["code"].as_str()), (403, Some("FORBIDDEN")));
    assert_eq!(
        account(&state, &player).await.unwrap().limits.current.daily,
        None
    );
    let ghost = unique("ghost");
    let (status, problem) = put_limits(&state, &ghost, r#"{"daily":1}"#).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (404, Some("PLAYER_NOT_FOUND"))
    );
}

#[tokio::test]
async fn exclusions_block_deposits_at_once_and_cannot_be_shortened() {
    let t0 = Timestamp::now();
    let now = state_at(Clock::Fixed(t0)).await;
    let player = new_player(&now).await;
    assert_eq!(deposit(&now, &player, &unique("dep"), 500).await.0, 201);
    let path = format!("/players/{player}/exclusions");
    let exclude = |body: &'static str| {
        let path = path.clone();
        let player = player.clone();
        let state = &now;
        async move {
            read(
                register::handle(
                    state,
                    player_request(Method::POST, &path, Some(&player), &[], body, Some(&player)),
                )
                .await,
            )
        }
    };

    let (status, body) = exclude(r#"{"kind":"time_out","days":7}"#).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["kind"], "time_out");
    assert_eq!(body["until"], t0.plus_millis(7 * DAY_MS).to_rfc3339());

    let (status, body) = exclude(r#"{"kind":"time_out","days":1}"#).await;
    assert_eq!(status, 201);
    assert_eq!(
        body["days"], 7,
        "the longer exclusion stays in force: {body}"
    );

    let (status, problem) = deposit(&now, &player, &unique("dep"), 100).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("PLAYER_BLOCKED"))
    );
    assert_eq!(problem["wallet"]["cash"], 500, "the error shows the wallet");

    for bad in [
        r#"{"kind":"time_out","days":3}"#,
        r#"{"kind":"self_exclusion","days":30}"#,
        r#"{"kind":"forever","days":1}"#,
        r#"{"kind":"time_out"}"#,
    ] {
        let (status, problem) = exclude(bad).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (422, Some("VALIDATION_FAILED")),
            "{bad}"
        );
    }

    let (_, body) = exclude(r#"{"kind":"self_exclusion","days":183}"#).await;
    assert_eq!(body["kind"], "self_exclusion");
    let account = account(&now, &player).await.unwrap();
    assert_eq!(account.status(t0), ledger::AccountStatus::Excluded);
    assert_eq!(
        account.status(t0.plus_millis(184 * DAY_MS)),
        ledger::AccountStatus::Active
    );
}
