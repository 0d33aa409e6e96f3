//! 64 concurrent clients send more than 2,000 bets, wins and rollbacks to 16 shared
//! wallets. On four of them, every request is also sent twice (an aggregator retrying) and
//! some bets get a win and a rollback racing each other. However the requests interleave,
//! each id moves money at most once, no bet changes state twice, no request fails with a
//! 5xx, and the audit of the whole table is clean.

use stakeline_tests::*;
use std::collections::HashMap;
use std::sync::Arc;

const CLIENTS: usize = 64;
const ROUNDS_PER_CLIENT: usize = 16;
const WALLETS: usize = 16;
const NOISY_WALLETS: usize = 4;

#[derive(Default)]
struct Tally {
    requests: usize,
    by_status: HashMap<u16, usize>,
    created_bets: HashMap<String, usize>,
    settled: HashMap<String, Vec<(String, u16)>>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn concurrent_bets_wins_and_rollbacks_keep_every_invariant() {
    let state = Arc::new(state().await);
    let mut wallets = Vec::new();
    for _ in 0..WALLETS {
        wallets.push(funded_player(&state, 1_000_000).await);
    }
    let wallets = Arc::new(wallets);

    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let state = state.clone();
            let wallets = wallets.clone();
            tokio::spawn(async move {
                let mut tally = Tally::default();
                let mut rng = fastrand::Rng::with_seed(client as u64);
                for round in 0..ROUNDS_PER_CLIENT {
                    let wallet_no = (client + round) % WALLETS;
                    let player = &wallets[wallet_no];
                    let noisy = wallet_no < NOISY_WALLETS;
                    let bet_id = format!("load-bet-{client}-{round}");
                    let stake = rng.i64(1..=5_000);
                    let sends = if noisy { 2 } else { 1 };
                    for _ in 0..sends {
                        let (status, _) = bet(&state, player, &bet_id, stake).await;
                        tally.requests += 1;
                        *tally.by_status.entry(status).or_default() += 1;
                        if status == 201 {
                            *tally.created_bets.entry(bet_id.clone()).or_default() += 1;
                        }
                    }
                    let win_id = format!("load-win-{client}-{round}");
                    let rollback_id = format!("load-rollback-{client}-{round}");
                    let settlements: Vec<(String, serde_json::Value)> = match (noisy, rng.u8(0..4))
                    {
                        // A win and a rollback race: exactly one may close the bet.
                        (true, 0) => vec![
                            (win_id.clone(), win(&win_id, stake * 2)),
                            (rollback_id.clone(), rollback(&rollback_id)),
                        ],
                        (_, 0) | (_, 1) => {
                            vec![(win_id.clone(), win(&win_id, rng.i64(0..=stake * 3)))]
                        }
                        (_, 2) => vec![(rollback_id.clone(), rollback(&rollback_id))],
                        _ => vec![],
                    };
                    let racing: Vec<_> = settlements
                        .iter()
                        .flat_map(|s| std::iter::repeat_n(s.clone(), sends))
                        .map(|(id, body)| {
                            let state = state.clone();
                            let player = player.clone();
                            let bet_id = bet_id.clone();
                            tokio::spawn(async move {
                                (id, settle(&state, &player, &bet_id, &body).await.0)
                            })
                        })
                        .collect();
                    for settled in racing {
                        let (id, status) = settled.await.expect("settlement task");
                        tally.requests += 1;
                        *tally.by_status.entry(status).or_default() += 1;
                        tally
                            .settled
                            .entry(bet_id.clone())
                            .or_default()
                            .push((id, status));
                    }
                }
                tally
            })
        })
        .collect();

    let mut total = Tally::default();
    for client in clients {
        let tally = client.await.expect("client");
        total.requests += tally.requests;
        for (status, n) in tally.by_status {
            *total.by_status.entry(status).or_default() += n;
        }
        total.created_bets.extend(tally.created_bets);
        total.settled.extend(tally.settled);
    }

    assert!(total.requests >= 2_000, "only {} requests", total.requests);
    for status in total.by_status.keys() {
        assert!(
            matches!(status, 200 | 201 | 409),
            "unexpected status {status}: {:?}",
            total.by_status
        );
    }
    assert!(
        total.created_bets.values().all(|n| *n == 1),
        "a bet id was created twice"
    );
    for (bet_id, outcomes) in &total.settled {
        let created: std::collections::HashSet<&str> = outcomes
            .iter()
            .filter(|(_, s)| *s == 201)
            .map(|(id, _)| id.as_str())
            .collect();
        assert!(
            created.len() <= 1,
            "bet {bet_id} was settled by {created:?}"
        );
        for (id, status) in outcomes {
            if created.contains(id.as_str()) {
                assert!(
                    matches!(status, 200 | 201),
                    "{bet_id}: {id} got {status} after it settled the bet"
                );
            } else {
                assert_eq!(
                    *status, 409,
                    "{bet_id}: {id} lost the race and must be refused"
                );
            }
        }
    }

    let report = audit::reconcile(&state.store).await.expect("audit");
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.accounts, WALLETS);
    println!(
        "{} requests {:?}; {report}",
        total.requests, total.by_status
    );
}
