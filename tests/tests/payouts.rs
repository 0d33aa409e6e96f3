//! Payouts (WALLET-RULES "Withdrawals", Payout and Isolation): an approved withdrawal's
//! `WithdrawalApproved`, delivered from the payout queue, is posted to the payment provider
//! signed and with the withdrawal id as `Idempotency-Key`; a refusal fails it and returns the
//! money; a provider that is down makes the message come back, and blocks nothing else.
//! The provider here is a small HTTP server on a local port.

use lambda_http::http::Method;
use serde_json::{json, Value};
use stakeline_tests::*;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Every request goes to review (any amount is "large").
const ALWAYS_REVIEW: &str = r#"{"large_amount":{"EUR":1}}"#;

/// One request the provider received.
#[derive(Debug, Clone)]
struct Received {
    head: String,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_string())
        })
    }
}

/// A payment provider on `listener`'s port answering every request with `status`.
fn provider(listener: TcpListener, status: u16) -> Arc<Mutex<Vec<Received>>> {
    let received = Arc::new(Mutex::new(Vec::new()));
    let log = received.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut data = Vec::new();
            let mut buffer = [0u8; 4096];
            let request = loop {
                let Ok(n) = socket.read(&mut buffer).await else {
                    break None;
                };
                if n == 0 {
                    break None;
                }
                data.extend_from_slice(&buffer[..n]);
                let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                let head = String::from_utf8_lossy(&data[..end]).to_string();
                let received = Received {
                    head,
                    body: Vec::new(),
                };
                let length: usize = received
                    .header("content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                if data.len() >= end + 4 + length {
                    break Some(Received {
                        body: data[end + 4..end + 4 + length].to_vec(),
                        ..received
                    });
                }
            };
            if let Some(request) = request {
                log.lock().expect("log").push(request);
                let answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}"
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        }
    });
    received
}

async fn free_listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.expect("bind")
}

/// A player with an approved withdrawal of `amount` and its `WithdrawalApproved` delivery.
async fn approved(state: &edge::State, amount: i64) -> (String, String, String) {
    let player = funded_player(state, 5000).await;
    let id = unique("wd");
    let body = withdrawal_body(&id, amount, &unique("iban"));
    let (status, answer) = request_withdrawal(state, &player, &body).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (201, Some("approved")),
        "{answer}"
    );
    let event = outbox_event(state, &format!("WithdrawalApproved:{id}"))
        .await
        .expect("event");
    (player, id, eventbridge_delivery(&event))
}

fn payout_at(state: &edge::State, url: &str) -> payout::Payout {
    payout::Payout::new(state.clone(), url).expect("payout")
}

async fn withdrawal(state: &edge::State, player: &str, id: &str) -> Value {
    let path = format!("/players/{player}/withdrawals/{id}");
    let params = [("player_id", player), ("withdrawal_id", id)];
    let request = player_request_at(Method::GET, &path, &params, "", player);
    let (status, answer) = read(wallet_read::handle(state, request).await);
    assert_eq!(status, 200, "{answer}");
    answer
}

#[tokio::test]
async fn an_approved_withdrawal_is_posted_signed_and_idempotent_by_its_id() {
    let state = state_with_rules("{}").await;
    let (player, id, delivery) = approved(&state, 2000).await;
    let listener = free_listener().await;
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let received = provider(listener, 202);
    let payout = payout_at(&state, &url);

    let response = payout::handle_batch(&payout, sqs_batch(std::slice::from_ref(&delivery))).await;
    assert_eq!(failed_ids(&response), Vec::<String>::new());
    // A repeated delivery (a lost acknowledgement) sends the same key: the provider pays once.
    let response = payout::handle_batch(&payout, sqs_batch(&[delivery])).await;
    assert_eq!(failed_ids(&response), Vec::<String>::new());
    let requests = received.lock().expect("log").clone();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert!(
            request.head.starts_with("POST /payouts HTTP/1.1"),
            "{}",
            request.head
        );
        assert_eq!(
            request.header("idempotency-key").as_deref(),
            Some(id.as_str())
        );
        let timestamp = request.header("x-stakeline-timestamp").expect("timestamp");
        let signed = edge::signature::Signed {
            method: "POST",
            path: "/payouts",
            body: &request.body,
        };
        assert_eq!(
            request.header("x-stakeline-signature"),
            Some(edge::signature::sign(
                PROVIDER_SECRET.as_bytes(),
                &timestamp,
                &signed
            ))
        );
        let order: Value = serde_json::from_slice(&request.body).expect("json");
        assert_eq!(
            order,
            json!({"withdrawal_id": id, "player_id": player, "amount": 2000, "currency": "EUR",
                   "destination": order["destination"].clone()})
        );
        assert_eq!(order["destination"]["kind"], "bank_account");
    }
    // Accepted is not paid: the hold stays until the provider's result.
    assert_eq!(withdrawal(&state, &player, &id).await["status"], "approved");
    assert_eq!(
        account(&state, &player)
            .await
            .expect("account")
            .pending_withdrawal,
        2000
    );
}

#[tokio::test]
async fn a_refused_payout_fails_the_withdrawal_and_returns_the_money_once() {
    let state = state_with_rules("{}").await;
    let (player, id, delivery) = approved(&state, 1500).await;
    let listener = free_listener().await;
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let received = provider(listener, 422);
    let payout = payout_at(&state, &url);

    let response = payout::handle_batch(&payout, sqs_batch(std::slice::from_ref(&delivery))).await;
    assert_eq!(
        failed_ids(&response),
        Vec::<String>::new(),
        "a refusal is final"
    );
    let failed = withdrawal(&state, &player, &id).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["provider_reference"], "refused-http-422");
    assert_eq!(
        (
            failed["wallet"]["cash"].as_i64(),
            failed["wallet"]["pending_withdrawal"].as_i64()
        ),
        (Some(5000), Some(0))
    );
    assert!(outbox_event(&state, &format!("WithdrawalFailed:{id}"))
        .await
        .is_some());
    // Delivered again: the withdrawal is no longer approved, nothing is sent.
    let response = payout::handle_batch(&payout, sqs_batch(&[delivery])).await;
    assert_eq!(failed_ids(&response), Vec::<String>::new());
    assert_eq!(received.lock().expect("log").len(), 1);
    assert_wallet_consistent(&state, &player).await;
    assert_audit_clean(&state, &[&player]).await;
}

#[tokio::test]
async fn a_withdrawal_in_review_is_never_sent() {
    let state = state_with_rules(ALWAYS_REVIEW).await;
    let player = funded_player(&state, 5000).await;
    let id = unique("wd");
    let body = withdrawal_body(&id, 1000, &unique("iban"));
    assert_eq!(request_withdrawal(&state, &player, &body).await.0, 201);
    // A message claiming an approval the record does not have.
    let forged = json!({"detail-type": "WithdrawalApproved", "source": "stakeline.wallet",
        "detail": {"event_id": format!("WithdrawalApproved:{id}"), "correlation_id": "c",
                   "occurred_at": "2026-11-23T00:00:00.000Z", "player_id": player,
                   "withdrawal_id": id, "amount": 1000, "currency": "EUR",
                   "destination_kind": "bank_account", "destination_reference": "x",
                   "decided_by": null}})
    .to_string();
    let listener = free_listener().await;
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let received = provider(listener, 202);
    let response = payout::handle_batch(&payout_at(&state, &url), sqs_batch(&[forged])).await;
    assert_eq!(failed_ids(&response), Vec::<String>::new());
    assert!(received.lock().expect("log").is_empty());
    assert_eq!(
        withdrawal(&state, &player, &id).await["status"],
        "pending_review"
    );
}

#[tokio::test]
async fn a_provider_that_is_down_delays_payouts_and_blocks_nothing_else() {
    let state = state_with_rules("{}").await;
    let (player, id, delivery) = approved(&state, 1000).await;
    // A port nobody listens on: every call is refused.
    let listener = free_listener().await;
    let address = listener.local_addr().expect("addr");
    drop(listener);
    let payout = payout_at(&state, &format!("http://{address}"));

    let response = payout::handle_batch(&payout, sqs_batch(std::slice::from_ref(&delivery))).await;
    assert_eq!(
        failed_ids(&response),
        ["m0"],
        "the message comes back later"
    );
    // Meanwhile the wallet works: deposits, bets and settlements go through.
    assert_eq!(deposit(&state, &player, &unique("dep"), 700).await.0, 201);
    let bet_id = unique("bet");
    assert_eq!(bet(&state, &player, &bet_id, 300).await.0, 201);
    let (status, won) = settle(&state, &player, &bet_id, &win(&unique("stl"), 900)).await;
    assert_eq!((status, won["status"].as_str()), (201, Some("won")));
    assert_eq!(withdrawal(&state, &player, &id).await["status"], "approved");

    // The provider is back on the same address: the redelivered message goes through.
    let received = provider(TcpListener::bind(address).await.expect("rebind"), 202);
    let response = payout::handle_batch(&payout, sqs_batch(&[delivery])).await;
    assert_eq!(failed_ids(&response), Vec::<String>::new());
    assert_eq!(received.lock().expect("log").len(), 1);
    let account = assert_wallet_consistent(&state, &player).await;
    assert_eq!(
        (account.cash, account.pending_withdrawal),
        (5000 - 1000 + 700 - 300 + 900, 1000)
    );
    assert_audit_clean(&state, &[&player]).await;
}

#[test]
fn only_https_or_a_loopback_address_is_accepted() {
    for bad in ["http://psp.example", "ftp://x", "psp.example"] {
        assert!(payout::check_url(bad).is_err(), "{bad}");
    }
    for good in [
        "https://psp.example/v1",
        "http://127.0.0.1:9100",
        "http://localhost:1",
    ] {
        assert!(payout::check_url(good).is_ok(), "{good}");
    }
}
