//! Integration signatures bind method, raw path and body (API.md, "Callers and
//! authentication"): a signed request works only where it was signed for, and each
//! integration's secret only on its own routes. A 401 never carries a wallet and moves
//! nothing.

use edge::signature::{sign, Signed};
use lambda_http::http::{HeaderValue, Method};
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use stakeline_tests::*;

fn assert_refused(what: &str, (status, problem): (u16, Value)) {
    assert_eq!(
        (status, problem["code"].as_str()),
        (401, Some("UNAUTHENTICATED")),
        "{what}: {problem}"
    );
    assert!(problem.get("wallet").is_none(), "{what}: {problem}");
}

/// A request for `path` carrying the signature headers made for another request.
fn with_signature_of(mut request: Request, signed_for: &Request) -> Request {
    for name in ["x-stakeline-timestamp", "x-stakeline-signature"] {
        let value = signed_for.headers().get(name).cloned().expect(name);
        request.headers_mut().insert(name, value);
    }
    request
}

fn unsigned(method: Method, path: &str, params: &[(&str, &str)], body: &str) -> Request {
    let mut request = signed_request(method, path, params, body, PROVIDER_SECRET, 0);
    request.headers_mut().remove("x-stakeline-signature");
    request.headers_mut().remove("x-stakeline-timestamp");
    request
}

async fn cash(state: &edge::State, player: &str) -> i64 {
    assert_wallet_consistent(state, player).await.cash
}

#[tokio::test]
async fn a_deposit_replayed_to_another_players_path_is_refused_without_a_wallet() {
    let state = state().await;
    let (alice, bob) = (new_player(&state).await, new_player(&state).await);
    let body = deposit_body(&unique("dep"), 700);
    let for_alice = deposit_request(&alice, &body);
    let to_bob = with_signature_of(
        unsigned(
            Method::POST,
            &format!("/players/{bob}/deposits"),
            &[("player_id", &bob)],
            &body,
        ),
        &for_alice,
    );
    assert_refused(
        "replayed to bob",
        read(deposit::handle(&state, to_bob).await),
    );
    assert_eq!(cash(&state, &bob).await, 0);
    // Once alice's deposit exists, the replay still learns nothing about bob.
    assert_eq!(read(deposit::handle(&state, for_alice).await).0, 201);
    let again = with_signature_of(
        unsigned(
            Method::POST,
            &format!("/players/{bob}/deposits"),
            &[("player_id", &bob)],
            &body,
        ),
        &deposit_request(&alice, &body),
    );
    assert_refused(
        "replay after commit",
        read(deposit::handle(&state, again).await),
    );
    assert_eq!(
        (cash(&state, &alice).await, cash(&state, &bob).await),
        (700, 0)
    );
}

#[tokio::test]
async fn a_signature_over_timestamp_and_body_only_is_refused() {
    let state = state().await;
    let player = new_player(&state).await;
    let body = deposit_body(&unique("dep"), 700);
    let now = ledger::Timestamp::now().seconds().to_string();
    // The signing string of earlier versions: timestamp "." body.
    let old_style = sign(
        PROVIDER_SECRET.as_bytes(),
        &now,
        &Signed {
            method: "",
            path: "",
            body: body.as_bytes(),
        },
    );
    let mut request = deposit_request(&player, &body);
    let headers = request.headers_mut();
    headers.insert(
        "x-stakeline-timestamp",
        HeaderValue::from_str(&now).unwrap(),
    );
    headers.insert(
        "x-stakeline-signature",
        HeaderValue::from_str(&old_style).unwrap(),
    );
    assert_refused("body-only", read(deposit::handle(&state, request).await));
    assert_eq!(cash(&state, &player).await, 0);
}

#[tokio::test]
async fn a_get_signature_presented_on_a_post_is_refused() {
    let state = state().await;
    let player = funded_player(&state, 1000).await;
    let bet_id = unique("bet");
    let now = ledger::Timestamp::now().seconds();
    let read_path = format!("/players/{player}/bets/{bet_id}");
    let get = signed_request(
        Method::GET,
        &read_path,
        &[("player_id", &player), ("bet_id", &bet_id)],
        "",
        AGGREGATOR_SECRET,
        now,
    );
    // The same signature on POST …/bets, with an empty body and with a bet body.
    let bets = format!("/players/{player}/bets");
    for body in [String::new(), bet_body(&bet_id, "r", 100)] {
        let post = with_signature_of(
            unsigned(Method::POST, &bets, &[("player_id", &player)], &body),
            &get,
        );
        assert_refused(
            "GET signature on POST",
            read(place_bet::handle(&state, post).await),
        );
    }
    // …and on the GET's own path with POST.
    let post_same_path = with_signature_of(
        unsigned(
            Method::POST,
            &read_path,
            &[("player_id", &player), ("bet_id", &bet_id)],
            "",
        ),
        &get,
    );
    assert_refused(
        "GET signature as POST",
        read(place_bet::handle(&state, post_same_path).await),
    );
    assert_eq!(cash(&state, &player).await, 1000);
}

#[tokio::test]
async fn each_integrations_secret_works_on_its_own_routes_only() {
    let state = state().await;
    let player = funded_player(&state, 1000).await;
    let bet_id = unique("bet");
    assert_eq!(bet(&state, &player, &bet_id, 100).await.0, 201);
    let now = ledger::Timestamp::now().seconds();
    let bets = format!("/players/{player}/bets");
    let settlement = format!("/players/{player}/bets/{bet_id}/settlement");
    let read_bet = format!("/players/{player}/bets/{bet_id}");
    let deposits = format!("/players/{player}/deposits");
    let with = |secret: &str, method: Method, path: &str, body: &str| {
        signed_request(
            method,
            path,
            &[("player_id", &player), ("bet_id", &bet_id)],
            body,
            secret,
            now,
        )
    };
    let respond = |r: Response<Body>| read(r);
    assert_refused(
        "provider secret on POST bets",
        respond(
            place_bet::handle(
                &state,
                with(
                    PROVIDER_SECRET,
                    Method::POST,
                    &bets,
                    &bet_body(&unique("bet"), "r", 100),
                ),
            )
            .await,
        ),
    );
    assert_refused(
        "provider secret on POST settlement",
        respond(
            settle::handle(
                &state,
                with(
                    PROVIDER_SECRET,
                    Method::POST,
                    &settlement,
                    &win(&unique("stl"), 500).to_string(),
                ),
            )
            .await,
        ),
    );
    assert_refused(
        "provider secret on GET bet",
        respond(
            wallet_read::handle(&state, with(PROVIDER_SECRET, Method::GET, &read_bet, "")).await,
        ),
    );
    assert_refused(
        "aggregator secret on POST deposits",
        respond(
            deposit::handle(
                &state,
                with(
                    AGGREGATOR_SECRET,
                    Method::POST,
                    &deposits,
                    &deposit_body(&unique("dep"), 100),
                ),
            )
            .await,
        ),
    );
    // The right secrets on the same routes go through.
    let (status, bet) = respond(
        wallet_read::handle(&state, with(AGGREGATOR_SECRET, Method::GET, &read_bet, "")).await,
    );
    assert_eq!(
        (status, bet["status"].as_str()),
        (200, Some("open")),
        "{bet}"
    );
    assert_eq!(cash(&state, &player).await, 900);
}
