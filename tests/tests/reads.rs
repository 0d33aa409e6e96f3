//! The player's read routes against DynamoDB (moto): wallet and paged history.

use lambda_http::http::Method;
use stakeline_tests::*;

async fn get(
    state: &edge::State,
    path: &str,
    player: &str,
    query: &[(&str, &str)],
    as_player: Option<&str>,
) -> (u16, serde_json::Value) {
    read(
        wallet_read::handle(
            state,
            player_request(Method::GET, path, Some(player), query, "", as_player),
        )
        .await,
    )
}

#[tokio::test]
async fn the_wallet_shows_the_balances() {
    let state = state().await;
    let player = new_player(&state).await;
    deposit(&state, &player, &unique("dep"), 1234).await;
    let (status, wallet) = get(
        &state,
        &format!("/players/{player}/wallet"),
        &player,
        &[],
        Some(&player),
    )
    .await;
    assert_eq!(status, 200, "{wallet}");
    assert_eq!(wallet["player_id"], player.as_str());
    assert_eq!(wallet["currency"], "EUR");
    assert_eq!(
        (
            wallet["cash"].as_i64(),
            wallet["bonus"].as_i64(),
            wallet["wagering_remaining"].as_i64()
        ),
        (Some(1234), Some(0), Some(0))
    );
    assert!(wallet["updated_at"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
}

#[tokio::test]
async fn only_the_owner_reads_a_wallet() {
    let state = state().await;
    let player = new_player(&state).await;
    let other = new_player(&state).await;
    let path = format!("/players/{player}/wallet");
    let (status, problem) = get(&state, &path, &player, &[], Some(&other)).await;
    assert_eq!((status, problem["code"].as_str()), (403, Some("FORBIDDEN")));
    let (status, problem) = get(&state, &path, &player, &[], None).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (401, Some("UNAUTHENTICATED"))
    );
    let ghost = unique("ghost");
    let (status, problem) = get(
        &state,
        &format!("/players/{ghost}/wallet"),
        &ghost,
        &[],
        Some(&ghost),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (404, Some("PLAYER_NOT_FOUND"))
    );
}

#[tokio::test]
async fn history_pages_newest_first_with_a_cursor() {
    let state = state().await;
    let player = new_player(&state).await;
    let mut ids = Vec::new();
    for amount in 1..=5 {
        let id = unique("dep");
        assert_eq!(deposit(&state, &player, &id, amount * 100).await.0, 201);
        ids.push(id);
    }
    let path = format!("/players/{player}/transactions");
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut query = vec![("limit", "2")];
        if let Some(c) = &cursor {
            query.push(("cursor", c.as_str()));
        }
        let (status, page) = get(&state, &path, &player, &query, Some(&player)).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        for item in page["items"].as_array().unwrap() {
            seen.push(item.clone());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let references: Vec<&str> = seen
        .iter()
        .map(|e| e["reference"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = ids.iter().rev().map(String::as_str).collect();
    assert_eq!(references, expected, "newest first, each once");
    assert_eq!(seen[0]["cash_after"], 1500);
    assert_eq!(seen[0]["amount"], 500);
    assert_eq!(seen[0]["kind"], "deposit");
    assert_eq!(seen[4]["cash_after"], 100);
    assert!(seen[0]["entry_id"].as_str().is_some());

    let (_, default) = get(&state, &path, &player, &[], Some(&player)).await;
    assert_eq!(default["items"].as_array().unwrap().len(), 5);
    assert!(default["next_cursor"].is_null());
}

#[tokio::test]
async fn bad_paging_parameters_are_refused() {
    let state = state().await;
    let player = new_player(&state).await;
    let path = format!("/players/{player}/transactions");
    for query in [
        vec![("limit", "0")],
        vec![("limit", "101")],
        vec![("limit", "x")],
        vec![("cursor", "garbage")],
        vec![("page", "2")],
    ] {
        let (status, problem) = get(&state, &path, &player, &query, Some(&player)).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (422, Some("VALIDATION_FAILED")),
            "{query:?}"
        );
    }
    let (status, page) = get(&state, &path, &player, &[], Some(&player)).await;
    assert_eq!(status, 200);
    assert_eq!(page["items"].as_array().map(Vec::len), Some(0));
}
