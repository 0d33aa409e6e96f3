//! BENCHMARKS.md, written from one run's results.

use crate::stats::{median, ms, percentile, ratio};
use crate::{Cold, Cost, Results, FUNCTIONS, HELLO};
use std::fmt::Write;
use std::path::Path;
use std::time::Duration;

/// MB as 10^6 bytes: the stricter reading of the size and memory targets.
const MB: f64 = 1_000_000.0;

/// On-demand list prices, us-east-1, per million unless said otherwise.
struct Prices;
impl Prices {
    const AS_OF: &'static str = "as commonly published for us-east-1, on-demand, as of 2025 (DynamoDB after its November 2024 on-demand price cut); taken from the published price lists, not re-read from this machine, which has no internet: check them before relying on the dollars";
    const WRITE_UNIT: f64 = 0.625;
    const READ_UNIT: f64 = 0.125;
    const EVENTBRIDGE_EVENT: f64 = 1.00;
    const SQS_REQUEST: f64 = 0.40;
    const LAMBDA_REQUEST: f64 = 0.20;
    /// Per GB-second, arm64 (the template's architecture), first pricing tier.
    const LAMBDA_GB_SECOND_ARM64: f64 = 0.000_013_333_4;
    const HTTP_API_REQUEST: f64 = 1.00;
    /// The template's MemorySize, in GB.
    const MEMORY_GB: f64 = 0.25;
}

fn mb(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / MB)
}

fn met(ok: bool, because: String) -> String {
    if ok {
        "**met**".to_string()
    } else {
        format!("**not met**, because {because}")
    }
}

fn units(u: f64) -> String {
    if u.fract() == 0.0 {
        format!("{u:.0}")
    } else {
        format!("{u:.1}")
    }
}

fn first_line_of(path: &Path, prefix: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()?
        .lines()
        .find(|l| l.trim_start().starts_with(prefix))
        .map(|l| l.trim().to_string())
}

fn machine() -> String {
    let cpu = first_line_of(Path::new("/proc/cpuinfo"), "model name")
        .and_then(|l| l.split_once(':').map(|(_, v)| v.trim().to_string()))
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let memory = first_line_of(Path::new("/proc/meminfo"), "MemTotal")
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map(|kib| format!("{:.1} GiB", kib / (1024.0 * 1024.0)))
        .unwrap_or_else(|| "unknown".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    format!(
        "{cpu}, {cores} cores, {memory} memory; Linux {kernel} ({})",
        std::env::consts::ARCH
    )
}

fn rustc() -> String {
    std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "rustc (unknown version)".into())
}

fn profile(root: &Path) -> String {
    let text = std::fs::read_to_string(root.join("Cargo.toml")).unwrap_or_default();
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line.trim_start().starts_with('[') {
            inside = line.trim() == "[profile.release]";
            if inside {
                out.push(line.to_string());
            }
            continue;
        }
        if inside {
            out.push(line.to_string());
        }
    }
    while out
        .last()
        .is_some_and(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        out.pop();
    }
    out.join("\n")
}

fn cold<'a>(results: &'a Results, name: &str) -> Option<&'a Cold> {
    results.cold.iter().find(|c| c.name == name)
}

fn cost<'a>(results: &'a Results, operation: &str) -> Option<&'a Cost> {
    results.costs.iter().find(|c| c.operation == operation)
}

/// Whole milliseconds, rounded up: Lambda bills duration per started millisecond.
fn billed_ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).ceil()
}

struct Dollars {
    lines: Vec<(&'static str, f64)>,
}

impl Dollars {
    fn total(&self) -> f64 {
        self.lines.iter().map(|(_, d)| d).sum()
    }
}

/// $ per million operations of `cost`, served by `api_calls` HTTP API calls whose functions
/// ran `api_ms` (billed) in all, each event relayed by one publisher invocation of
/// `publisher_ms` (the worst case: one event per stream batch).
fn dollars(cost: &Cost, api_calls: f64, api_ms: f64, publisher_ms: f64) -> Dollars {
    let events = cost.events as f64;
    let gb_seconds = (api_ms + events * publisher_ms) / 1000.0 * Prices::MEMORY_GB;
    Dollars {
        lines: vec![
            ("DynamoDB writes", cost.write_units * Prices::WRITE_UNIT),
            ("DynamoDB reads", cost.read_units * Prices::READ_UNIT),
            (
                "EventBridge PutEvents entries",
                events * Prices::EVENTBRIDGE_EVENT,
            ),
            ("SQS requests", 0.0 * Prices::SQS_REQUEST),
            (
                "API Gateway HTTP API requests",
                api_calls * Prices::HTTP_API_REQUEST,
            ),
            (
                "Lambda requests (API + publisher)",
                (api_calls + events) * Prices::LAMBDA_REQUEST,
            ),
            (
                "Lambda duration (256 MB, arm64)",
                gb_seconds * Prices::LAMBDA_GB_SECOND_ARM64 * 1_000_000.0,
            ),
        ],
    }
}

pub fn render(results: &Results, root: &Path) -> String {
    let mut md = String::new();
    let now = ledger::Timestamp::now().to_rfc3339();
    let date = format!("{} {} UTC", &now[..10], now.get(11..16).unwrap_or(""));
    let moto = first_line_of(&root.join("infra/local/requirements.txt"), "moto")
        .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
        .unwrap_or_else(|| "moto".into());
    let elapsed = results.elapsed.as_secs();
    let hello = cold(results, HELLO);
    let hello_init = hello.map(|h| median(&h.inits)).unwrap_or_default();

    let _ = writeln!(md, "# Benchmarks\n");
    let _ = writeln!(
        md,
        "The hot path, measured: cold start, warm latency, requests and units (cost), throughput and \
         growth of the functions `template.yaml` deploys. `./dev bench [--ops N]` measures all of it in \
         one run on the machine at hand and rewrites this file (the harness is `bench/`, \
         `stakeline-bench`). It is not part of `./dev test`: no test asserts a timing.\n"
    );
    let _ = writeln!(md, "| | |\n|---|---|");
    let _ = writeln!(md, "| date | {date} |");
    let _ = writeln!(md, "| machine | {} |", machine());
    let _ = writeln!(md, "| toolchain | {} |", rustc());
    let _ = writeln!(
        md,
        "| run | `--ops {}`: {} operations per warm-latency figure, {} cold starts per binary, {} prior entries for growth; the run took {} min {} s (release builds not included) |",
        results.args_ops, results.args_ops, results.cold_runs, results.growth_entries, elapsed / 60, elapsed % 60
    );
    let _ = writeln!(
        md,
        "| AWS | `{moto}` on loopback, provisioned from template.yaml (`infra/local`); it serves **one request at a time**, so every figure below includes its queueing, and DynamoDB's own latency (a few ms per call in a region) is not what is measured here |\n"
    );

    // Targets.
    let functions: Vec<&Cold> = results.cold.iter().filter(|c| c.name != HELLO).collect();
    let init_ratios: Vec<(String, f64)> = functions
        .iter()
        .map(|c| (c.name.clone(), ratio(median(&c.inits), hello_init)))
        .collect();
    let worst_init = init_ratios
        .iter()
        .cloned()
        .fold((String::new(), 0.0), |a, b| if b.1 > a.1 { b } else { a });
    let first_ratios: Vec<(String, f64)> = functions
        .iter()
        .map(|c| (c.name.clone(), ratio(median(&c.firsts), median(&c.warms))))
        .collect();
    let worst_first = first_ratios
        .iter()
        .cloned()
        .fold((String::new(), 0.0), |a, b| if b.1 > a.1 { b } else { a });
    let first_over: Vec<String> = first_ratios
        .iter()
        .filter(|(_, r)| *r > 2.0)
        .map(|(n, r)| format!("{n} {r:.2}×"))
        .collect();
    let init_over: Vec<String> = init_ratios
        .iter()
        .filter(|(_, r)| *r > 1.5)
        .map(|(n, r)| format!("{n} {r:.2}×"))
        .collect();
    let mut rss: Vec<(String, u64)> = functions
        .iter()
        .map(|c| (c.name.clone(), c.peak_rss_kib))
        .collect();
    for w in &results.warm {
        if let Some(entry) = rss.iter_mut().find(|(n, _)| n == w.operation) {
            entry.1 = entry.1.max(w.peak_rss_kib);
        }
    }
    let worst_rss = rss
        .iter()
        .cloned()
        .fold((String::new(), 0), |a, b| if b.1 > a.1 { b } else { a });
    let worst_size = functions
        .iter()
        .map(|c| (c.name.clone(), c.stripped_bytes))
        .fold((String::new(), 0), |a, b| if b.1 > a.1 { b } else { a });
    let warm_ratios: Vec<(String, f64, f64)> = results
        .warm
        .iter()
        .map(|w| {
            (
                w.operation.to_string(),
                ratio(median(&w.binary), median(&w.raw)),
                ratio(percentile(&w.binary, 99.0), percentile(&w.raw, 99.0)),
            )
        })
        .collect();
    let warm_over: Vec<String> = warm_ratios
        .iter()
        .filter(|(_, p50, _)| *p50 > 1.10)
        .map(|(n, p50, _)| format!("{n} {p50:.2}× at p50"))
        .collect();
    let money = ["deposit", "place bet", "settle (win)", "settle (loss)"];
    let trips: Vec<String> = money
        .iter()
        .filter_map(|op| cost(results, op))
        .map(|c| {
            format!(
                "{} {}+{}",
                c.operation, c.read_round_trips, c.write_round_trips
            )
        })
        .collect();
    let trips_over: Vec<String> = money
        .iter()
        .filter_map(|op| cost(results, op))
        .filter(|c| c.read_round_trips > 1 || c.write_round_trips > 1)
        .map(|c| {
            format!(
                "{} makes {} read and {} write round trips",
                c.operation, c.read_round_trips, c.write_round_trips
            )
        })
        .collect();
    let cycle = cost(results, "bet cycle (win)");
    let cycle_wru = cycle.map(|c| c.write_units).unwrap_or(0.0);

    let _ = writeln!(md, "## Targets\n");
    let _ = writeln!(md, "| target | measurement | verdict |\n|---|---|---|");
    let _ = writeln!(
        md,
        "| init ≤ 1.5× hello-world | worst {} at {:.2}× ({} against {}) | {} |",
        worst_init.0,
        worst_init.1,
        cold(results, &worst_init.0)
            .map(|c| ms(median(&c.inits)))
            .unwrap_or_default(),
        ms(hello_init),
        met(
            init_over.is_empty(),
            format!(
                "{} take longer than 1.5× hello-world's init",
                init_over.join(", ")
            )
        )
    );
    let _ = writeln!(
        md,
        "| first event after init ≤ 2× a warm one | worst {} at {:.2}× | {} |",
        worst_first.0,
        worst_first.1,
        met(
            first_over.is_empty(),
            format!(
                "the first event of {} is over twice a warm one",
                first_over.join(", ")
            )
        )
    );
    let _ = writeln!(
        md,
        "| peak RSS ≤ 32 MB | worst {} at {} (VmHWM) | {} |",
        worst_rss.0,
        mb(worst_rss.1 * 1024),
        met(
            worst_rss.1 as f64 * 1024.0 <= 32.0 * MB,
            format!("{} peaks at {}", worst_rss.0, mb(worst_rss.1 * 1024))
        )
    );
    let _ = writeln!(
        md,
        "| stripped binary ≤ 8 MB (x86_64 here; production is arm64) | largest {} at {} | {} |",
        worst_size.0,
        mb(worst_size.1),
        met(
            worst_size.1 as f64 <= 8.0 * MB,
            format!("{} is {} stripped", worst_size.0, mb(worst_size.1))
        )
    );
    let _ = writeln!(
        md,
        "| warm money operation ≤ 1.10× its raw SDK calls | p50: {} | {} |",
        warm_ratios
            .iter()
            .map(|(n, p50, _)| format!("{n} {p50:.2}×"))
            .collect::<Vec<_>>()
            .join(", "),
        met(warm_over.is_empty(), warm_over.join(", "))
    );
    let _ = writeln!(
        md,
        "| ≤ 1 read and ≤ 1 write round trip per money operation | {} (read+write, counted by the interceptor) | {} |",
        trips.join(", "),
        met(trips_over.is_empty(), trips_over.join(", "))
    );
    let _ = writeln!(
        md,
        "| ≤ 12 write units per bet cycle with a win | {} WRU (breakdown in c.) | {} |",
        units(cycle_wru),
        met(
            cycle_wru <= 12.0,
            format!(
                "a bet cycle with a win writes {} WRU ({})",
                units(cycle_wru),
                cycle.map(breakdown_short).unwrap_or_default()
            )
        )
    );
    let growth_verdict = growth_verdict(results);
    let _ = writeln!(
        md,
        "| per-operation figures do not grow with the wallet's history | {} | {} |\n",
        growth_verdict.0, growth_verdict.1
    );

    let _ = writeln!(md, "## Release profile\n");
    let _ = writeln!(
        md,
        "The root Cargo.toml's `[profile.release]`, with which every binary below was built (tests and \
         clippy use the dev profile and are not slowed by it):\n\n```toml\n{}\n```\n",
        profile(root)
    );

    // a.
    let _ = writeln!(md, "## a. Cold start, first event, memory, size\n");
    let _ = writeln!(
        md,
        "Each binary is exec'd under a Lambda Runtime API emulator on loopback (the runtime's own HTTP \
         protocol) with `AWS_LAMBDA_RUNTIME_API` and the variables Lambda sets, and the function's \
         environment as the local suite derives it from template.yaml (local development secrets, \
         `AWS_ENDPOINT_URL` to moto). **init** is exec → the process's first `GET /next`, the median of \
         {} cold starts per binary, interleaved across binaries. The **first event** (median over the \
         cold starts) includes the first connection to DynamoDB; **warm** is the median of the {} \
         events that follow it. Peak RSS is VmHWM from `/proc/PID/status` (after the cold-start \
         events, and for deposit, place-bet and settle also after the {} warm operations of b.). Size: \
         the release binary as built (the profile strips it) and a copy passed through `strip \
         --strip-all`.\n",
        results.cold_runs,
        crate::WARM_AFTER_COLD,
        results.args_ops
    );
    let _ = writeln!(
        md,
        "| binary | size | stripped | relocations at load | init | × hello-world | first event | warm event | first ÷ warm | peak RSS |\n|---|---|---|---|---|---|---|---|---|---|"
    );
    let mut names: Vec<&str> = FUNCTIONS.to_vec();
    names.push(HELLO);
    for name in names {
        let Some(c) = cold(results, name) else {
            continue;
        };
        let peak = rss
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, k)| *k)
            .unwrap_or(c.peak_rss_kib);
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {:.2}× | {} | {} | {:.2}× | {} |",
            if name == HELLO {
                "hello-world (baseline)"
            } else {
                name
            },
            mb(c.file_bytes),
            mb(c.stripped_bytes),
            c.relocations
                .map_or_else(|| "?".to_string(), |n| n.to_string()),
            ms(median(&c.inits)),
            ratio(median(&c.inits), hello_init),
            ms(median(&c.firsts)),
            ms(median(&c.warms)),
            ratio(median(&c.firsts), median(&c.warms)),
            mb(peak * 1024)
        );
    }
    let _ = writeln!(
        md,
        "\nThe binary comes from the page cache here; on Lambda it is fetched and mapped on the cold \
         start, which favours smaller binaries more than these figures show. On AWS the first event \
         also pays TLS to DynamoDB (plain HTTP to moto here) and functions with a Secrets Manager ARN \
         read their secret during init (given literally here).\n"
    );
    if let (Some(function), Some(hello)) = (
        FUNCTIONS
            .iter()
            .filter_map(|n| cold(results, n))
            .filter_map(|c| c.relocations)
            .max(),
        cold(results, HELLO).and_then(|c| c.relocations),
    ) {
        let _ = writeln!(
            md,
            "**Why init stays above hello-world's.** Before `main`, the dynamic loader maps the \
             binary and applies its relative relocations (\"relocations at load\": up to {function} \
             pointers for a function against {hello} for hello-world), every one of them on every \
             cold start; the binaries are position-independent on purpose (ASLR), and Lambda's \
             Amazon Linux 2023 loader (glibc 2.34) predates packed relative relocations. Then the \
             function builds its SDK configuration and client, which no longer reads the \
             platform's certificate store (`edge::aws`: Amazon Trust Services' roots, compiled in), \
             and the runtime's Tokio threads. (An earlier run of this harness, with the platform's \
             store loaded at init, measured every function at about 3.2× hello-world.)\n"
        );
    }

    // b.
    let _ = writeln!(md, "## b. Warm latency: binary against raw SDK calls\n");
    let _ = writeln!(
        md,
        "{} operations each, after {} warm-up events, sent one at a time: through the release binary \
         (an API Gateway v2 event, signed with HMAC-SHA256 over `timestamp.METHOD.rawPath.body`, handed \
         over by the runtime emulator; the time is from handing the event over to receiving the \
         response) alternating operation by operation with the same operation as raw store calls from \
         a bare SDK client in the bench process (`Store::deposit_read` + `commit_deposit`, \
         `bet_read` + `commit_bet`, `settlement_read` + `commit_settlement`, with the decisions of \
         the pure ledger functions: one consistent read and one transaction, the same items). Settlements \
         are wins.\n",
        results.args_ops,
        crate::WARM_UP
    );
    let _ = writeln!(
        md,
        "| operation | binary p50 | binary p99 | raw p50 | raw p99 | ratio p50 | ratio p99 |\n|---|---|---|---|---|---|---|"
    );
    for w in &results.warm {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {:.2}× | {:.2}× |",
            w.operation,
            ms(median(&w.binary)),
            ms(percentile(&w.binary, 99.0)),
            ms(median(&w.raw)),
            ms(percentile(&w.raw, 99.0)),
            ratio(median(&w.binary), median(&w.raw)),
            ratio(percentile(&w.binary, 99.0), percentile(&w.raw, 99.0))
        );
    }
    let _ = writeln!(
        md,
        "\nThe difference is what the function adds around the same two calls: the runtime's \
         long-poll and response over loopback HTTP, decoding the API Gateway event, checking the \
         signature, parsing the body, building the response, and its JSON logs.\n"
    );

    // c.
    render_costs(&mut md, results);

    // d.
    let _ = writeln!(md, "## d. Throughput\n");
    let _ = writeln!(
        md,
        "Bets of 0.01 placed for {:.0} s by 1, 8 and 64 concurrent clients, each on its own wallet or all \
         on one hot wallet. These are **in-process calls of the place-bet handler** (the binary's code, \
         without the runtime emulator; the store's read → decide → write loop, with its retries on \
         a changed wallet), on a multi-threaded runtime with 2 cores. **moto serialises requests** (one \
         at a time, to keep transactions atomic), so the ceiling here is moto's, not DynamoDB's, which \
         serves distinct wallets in parallel; on one hot wallet DynamoDB also serialises, by \
         cancelling conflicting transactions, which the store then decides again. \
         **failed** counts bets answered other than 201: on a hot wallet, 503 UNAVAILABLE (retry \
         later with the same id) once the store has decided a bet again 40 times.\n",
        results.throughput_seconds
    );
    let _ = writeln!(
        md,
        "| clients | wallets | bets/s | p50 | p99 | failed | write round trips per bet | cancelled transactions |\n|---|---|---|---|---|---|---|---|"
    );
    for t in &results.throughput {
        let per = if t.ops > 0 {
            t.write_round_trips as f64 / t.ops as f64
        } else {
            0.0
        };
        let _ = writeln!(
            md,
            "| {} | {} | {:.0} | {} | {} | {} | {:.2} | {} |",
            t.clients,
            if t.hot {
                "one (hot)".to_string()
            } else {
                format!("{} (distinct)", t.clients)
            },
            t.ops as f64 / t.seconds,
            ms(median(&t.latencies)),
            ms(percentile(&t.latencies, 99.0)),
            t.errors,
            per,
            t.cancelled
        );
    }
    let _ = writeln!(md);

    // e.
    let _ = writeln!(md, "## e. Growth\n");
    let cycles = results
        .growth
        .first()
        .map(|g| g.latencies.len())
        .unwrap_or(0);
    let _ = writeln!(
        md,
        "The same operations on a wallet with 10 and with {} prior ledger entries (written by real \
         deposits before measuring), {} cycles of deposit, bet and settlement (a win) each, through \
         the in-process handlers with the interceptor counting. Each cycle adds three entries, so the \
         wallets end {} entries larger. Units and round trips are given as the lowest–highest seen.\n",
        results.growth_entries,
        cycles,
        3 * cycles
    );
    let _ = writeln!(
        md,
        "| operation | prior entries | p50 | p99 | read units | write units | round trips |\n|---|---|---|---|---|---|---|"
    );
    let mut rows: Vec<&crate::Growth> = results.growth.iter().collect();
    rows.sort_by_key(|g| (g.operation, g.prior_entries));
    for g in rows {
        let span = |(a, b): (f64, f64)| {
            if a == b {
                units(a)
            } else {
                format!("{}–{}", units(a), units(b))
            }
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} |",
            g.operation,
            g.prior_entries,
            ms(median(&g.latencies)),
            ms(percentile(&g.latencies, 99.0)),
            span(g.read_units),
            span(g.write_units),
            if g.round_trips.0 == g.round_trips.1 {
                g.round_trips.0.to_string()
            } else {
                format!("{}–{}", g.round_trips.0, g.round_trips.1)
            }
        );
    }
    let _ = writeln!(
        md,
        "\nNothing a money operation reads or writes depends on the history: the account item keeps \
         running balances and at most one bucket per clock hour of deposits, and entries are only \
         ever added.\n"
    );
    md
}

fn breakdown_short(cost: &Cost) -> String {
    let mut kinds: Vec<(String, f64, usize)> = Vec::new();
    for item in &cost.written {
        match kinds.iter_mut().find(|(k, _, _)| *k == item.kind) {
            Some(entry) => {
                entry.1 += item.units;
                entry.2 += 1;
            }
            None => kinds.push((item.kind.clone(), item.units, 1)),
        }
    }
    kinds
        .iter()
        .map(|(k, u, n)| {
            format!(
                "{k} {} in {n} write{}",
                units(*u),
                if *n == 1 { "" } else { "s" }
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn growth_verdict(results: &Results) -> (String, String) {
    let mut notes = Vec::new();
    let mut problems = Vec::new();
    for g in results.growth.iter().filter(|g| g.prior_entries != 10) {
        let Some(small) = results
            .growth
            .iter()
            .find(|s| s.prior_entries == 10 && s.operation == g.operation)
        else {
            continue;
        };
        let r = ratio(median(&g.latencies), median(&small.latencies));
        notes.push(format!(
            "{} p50 {:.2}×, units {} → {}",
            g.operation,
            r,
            units(small.write_units.1 + small.read_units.1),
            units(g.write_units.1 + g.read_units.1)
        ));
        if g.write_units.1 > small.write_units.1
            || g.read_units.1 > small.read_units.1
            || g.round_trips.1 > small.round_trips.1
        {
            problems.push(format!(
                "{} costs more units or round trips at {} entries",
                g.operation, g.prior_entries
            ));
        }
        if r > 1.25 {
            problems.push(format!(
                "{} is {r:.2}× slower at p50 at {} entries",
                g.operation, g.prior_entries
            ));
        }
    }
    (
        format!("{} entries against 10: {} (met when units and round trips are equal and p50 is within 1.25×, the run-to-run noise here)", results.growth_entries, notes.join("; ")),
        met(problems.is_empty(), problems.join("; ")),
    )
}

fn render_costs(md: &mut String, results: &Results) {
    let _ = writeln!(md, "## c. Requests, units and cost per operation\n");
    let _ = writeln!(
        md,
        "Counted from the requests actually sent: the handlers run in-process (the same code as the \
         binaries) on a DynamoDB client with an SDK interceptor (`Intercept`: \
         `read_before_serialization` downcasts each operation's input, `read_before_transmit` counts \
         round trips, `read_after_execution` downcasts the output). Items are sized with \
         `store::table::item_size`, DynamoDB's own rule, and billed as DynamoDB bills on-demand: a write \
         1 unit per started KB of the larger of the item before and after, a read 1 unit per started \
         4 KB (strongly consistent; ½ eventually consistent), both doubled in a transaction; reading an \
         item that does not exist still costs the minimum; a write that adds or changes an item's entry \
         in the `history` index costs the index 1 unit per started KB of that entry (a standard write, \
         not transactional), and nothing when the projected attributes stay as they were. Each figure repeated at least 5 times; \
         \"stable\" says every repetition sent exactly the same.\n"
    );
    let _ = writeln!(
        md,
        "| operation | read round trips | write round trips | read units | write units | events (PutEvents entries) | SQS requests | stable |\n|---|---|---|---|---|---|---|---|"
    );
    for c in &results.costs {
        let sqs = if c.operation == "first deposit" {
            "3+ (see below)"
        } else {
            "0"
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            c.operation,
            c.read_round_trips,
            c.write_round_trips,
            units(c.read_units),
            units(c.write_units),
            c.events,
            sqs,
            if c.stable { "yes" } else { "no" }
        );
    }
    let _ = writeln!(
        md,
        "\nA first deposit also starts the bonus: its `DepositCompleted` goes through the rule to the \
         bonus queue (1 SQS SendMessage by EventBridge, then at least one ReceiveMessage and one \
         DeleteMessage by Lambda's poller, shared by a batch of up to 10) and bonus-award reads and \
         writes the award (not counted above). No other operation sends to SQS; settlements sent \
         through the settlement queue instead of HTTP add the aggregator's SendMessage and the \
         poller's receive and delete.\n"
    );

    if let Some(cycle) = cost(results, "bet cycle (win)") {
        let _ = writeln!(md, "### Per item: a bet cycle with a win\n");
        let _ = writeln!(
            md,
            "Every item written, in order (place bet, then settle), by its `item_type`:\n"
        );
        let _ = writeln!(md, "| # | item | size | write units |\n|---|---|---|---|");
        for (n, item) in cycle.written.iter().enumerate() {
            let _ = writeln!(
                md,
                "| {} | {} | {} B | {} |",
                n + 1,
                item.kind,
                item.bytes,
                units(item.units)
            );
        }
        let _ = writeln!(md, "| | **total** | | **{}** |\n", units(cycle.write_units));
        let _ = writeln!(md, "By kind: {}.\n", breakdown_short(cycle));
        let _ = writeln!(
            md,
            "{} The reads, for comparison: {}.\n",
            if cycle.written.iter().all(|w| w.bytes <= 1024) {
                "Every item is under 1 KB, so each costs the transactional minimum of 2 units, and \
                 each index entry 1 unit."
            } else {
                "Items over 1 KB cost 2 units per started KB."
            },
            cycle
                .reads
                .iter()
                .map(|r| if r.bytes == 0 {
                    "an id record not yet written (0 B, billed at the minimum)".to_string()
                } else {
                    format!("{} {} B", r.kind, r.bytes)
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
    }

    let _ = writeln!(md, "### Prices\n");
    let _ = writeln!(md, "On-demand list prices {}.\n", Prices::AS_OF);
    let _ = writeln!(md, "| item | price |\n|---|---|");
    for (item, price) in [
        (
            "DynamoDB write request unit",
            format!("${} per million", Prices::WRITE_UNIT),
        ),
        (
            "DynamoDB read request unit",
            format!("${} per million", Prices::READ_UNIT),
        ),
        (
            "DynamoDB Streams read by a Lambda trigger",
            "free".to_string(),
        ),
        (
            "EventBridge custom event (PutEvents entry, 64 KB chunk)",
            format!("${:.2} per million", Prices::EVENTBRIDGE_EVENT),
        ),
        (
            "SQS standard request (64 KB chunk)",
            format!("${:.2} per million", Prices::SQS_REQUEST),
        ),
        (
            "API Gateway HTTP API request (first 300 million a month)",
            format!("${:.2} per million", Prices::HTTP_API_REQUEST),
        ),
        (
            "Lambda request",
            format!("${:.2} per million", Prices::LAMBDA_REQUEST),
        ),
        (
            "Lambda duration, arm64",
            format!("${} per GB-second", Prices::LAMBDA_GB_SECOND_ARM64),
        ),
    ] {
        let _ = writeln!(md, "| {item} | {price} |");
    }
    let _ = writeln!(md);

    let warm = |name: &str| {
        results
            .warm
            .iter()
            .find(|w| w.operation == name)
            .map(|w| billed_ms(median(&w.binary)))
            .unwrap_or(0.0)
    };
    let publisher_ms = cold(results, "publisher")
        .map(|c| billed_ms(median(&c.warms)))
        .unwrap_or(0.0);
    let mut columns: Vec<(&str, Dollars)> = Vec::new();
    if let Some(c) = cost(results, "deposit") {
        columns.push((
            "per million deposits",
            dollars(c, 1.0, warm("deposit"), publisher_ms),
        ));
    }
    for (label, operation) in [
        ("per million bet cycles (win)", "bet cycle (win)"),
        ("per million bet cycles (loss)", "bet cycle (loss)"),
    ] {
        if let Some(c) = cost(results, operation) {
            columns.push((
                label,
                dollars(c, 2.0, warm("place-bet") + warm("settle"), publisher_ms),
            ));
        }
    }
    let _ = writeln!(md, "### Dollars\n");
    let _ = writeln!(
        md,
        "From the units and requests above; Lambda duration is the warm p50 of b. rounded up to the \
         millisecond at the template's 256 MB (a local figure: DynamoDB's latency in a region differs), \
         and the publisher is counted at its worst, one invocation per event ({} ms, its warm event in \
         a.; at full stream batches of 100 its requests and duration shrink a hundredfold). Deposits \
         are repeat deposits (no bonus).\n",
        publisher_ms
    );
    let _ = write!(md, "| $ |");
    for (label, _) in &columns {
        let _ = write!(md, " {label} |");
    }
    let _ = write!(md, "\n|---|");
    for _ in &columns {
        let _ = write!(md, "---|");
    }
    let _ = writeln!(md);
    if let Some((_, first)) = columns.first() {
        for (n, (line, _)) in first.lines.iter().enumerate() {
            let _ = write!(md, "| {line} |");
            for (_, d) in &columns {
                let _ = write!(md, " {:.3} |", d.lines[n].1);
            }
            let _ = writeln!(md);
        }
    }
    let _ = write!(md, "| **total** |");
    for (_, d) in &columns {
        let _ = write!(md, " **{:.2}** |", d.total());
    }
    let _ = writeln!(md, "\n");
}
