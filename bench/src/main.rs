//! `./dev bench`: measures the hot path on the machine at hand, in one run, and writes
//! BENCHMARKS.md. Nothing here is asserted by a test: it reports figures and says, for each
//! target, whether it was met and by what measurement.
//!
//! It starts the local AWS emulator (moto, provisioned from template.yaml, as the tests do),
//! runs the release binaries under a Lambda Runtime API emulator (`runtime`), calls the store
//! directly for the raw SDK figures (`world`), and counts every DynamoDB request with an SDK
//! interceptor (`meter`).

mod events;
mod meter;
mod report;
mod runtime;
mod stats;
mod world;

use meter::{ItemCost, Seen};
use runtime::Function;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use world::{unique, World};

/// Every binary the template deploys.
pub const FUNCTIONS: [&str; 8] = [
    "register",
    "deposit",
    "wallet-read",
    "place-bet",
    "settle",
    "settle-queue",
    "bonus-award",
    "publisher",
];
pub const HELLO: &str = "hello";
/// Warm events after each cold start (their median is the "warm" figure).
const WARM_AFTER_COLD: usize = 5;
/// Events a function gets before its warm latency is measured.
const WARM_UP: usize = 20;

struct Args {
    ops: usize,
    cold_runs: usize,
    growth_entries: usize,
    out: PathBuf,
    bin_dir: PathBuf,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

const USAGE: &str = "usage: stakeline-bench [--ops N (1000)] [--cold-runs N (5)] [--growth-entries N (10000)] [--out FILE (BENCHMARKS.md)] [--bin-dir DIR (target/release)]";

fn args() -> Args {
    let mut args = Args {
        ops: 1000,
        cold_runs: 5,
        growth_entries: 10_000,
        out: root().join("BENCHMARKS.md"),
        bin_dir: root().join("target/release"),
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let mut value = || {
            given
                .next()
                .unwrap_or_else(|| fail(&format!("{flag} wants a value\n{USAGE}")))
        };
        let number = |v: String| {
            v.parse::<usize>()
                .unwrap_or_else(|_| fail(&format!("{v:?} is not a count\n{USAGE}")))
        };
        match flag.as_str() {
            "--ops" => args.ops = number(value()).max(10),
            "--cold-runs" => args.cold_runs = number(value()).max(1),
            "--growth-entries" => args.growth_entries = number(value()).max(10),
            "--out" => args.out = PathBuf::from(value()),
            "--bin-dir" => args.bin_dir = PathBuf::from(value()),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => fail(&format!("unknown argument {other}\n{USAGE}")),
        }
    }
    args
}

fn fail(message: &str) -> ! {
    eprintln!("stakeline-bench: {message}");
    std::process::exit(2)
}

fn say(message: &str) {
    eprintln!("==> bench: {message}");
}

/// The emulator (moto provisioned from template.yaml) and what it says in its ready line.
struct Stack {
    endpoint: String,
    region: String,
    table: String,
    environments: BTreeMap<String, BTreeMap<String, String>>,
    _process: std::process::Child,
}

fn start_stack() -> Stack {
    let python = std::env::var_os("STAKELINE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv/bin/python"));
    let mut child = Command::new(&python)
        .arg(root().join("bench/local_stack.py"))
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| {
            fail(&format!(
                "cannot start {} (./dev bootstrap creates it): {e}",
                python.display()
            ))
        });
    let stdout = child.stdout.take().expect("the emulator's stdout is piped");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the emulator's ready line");
    let ready: Value = serde_json::from_str(&line)
        .unwrap_or_else(|e| fail(&format!("the emulator said {line:?}: {e}")));
    let text = |pointer: &str| {
        ready
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_else(|| fail(&format!("{pointer} missing in the emulator's ready line")))
            .to_string()
    };
    let environments = serde_json::from_value(ready["environments"].clone())
        .unwrap_or_else(|e| fail(&format!("the function environments: {e}")));
    Stack {
        endpoint: text("/endpoint"),
        region: text("/region"),
        table: text("/outputs/WalletTableName"),
        environments,
        _process: child,
    }
}

/// What the bench learnt about one binary from its cold starts.
pub struct Cold {
    pub name: String,
    pub file_bytes: u64,
    pub stripped_bytes: u64,
    /// Relative relocations the dynamic loader applies at exec (`DT_RELACOUNT`).
    pub relocations: Option<u64>,
    pub inits: Vec<Duration>,
    pub firsts: Vec<Duration>,
    pub warms: Vec<Duration>,
    pub peak_rss_kib: u64,
}

/// The latencies of one money operation, through the binary and as raw store calls.
pub struct Warm {
    pub operation: &'static str,
    pub binary: Vec<Duration>,
    pub raw: Vec<Duration>,
    pub peak_rss_kib: u64,
}

/// The requests and units of one operation, from the interceptor.
#[derive(Clone, Debug)]
pub struct Cost {
    pub operation: &'static str,
    pub read_round_trips: usize,
    pub write_round_trips: usize,
    pub read_units: f64,
    pub write_units: f64,
    /// Events committed for the publisher (PutEvents entries).
    pub events: usize,
    pub reads: Vec<ItemCost>,
    pub written: Vec<ItemCost>,
    /// Whether every repetition sent the same requests and units.
    pub stable: bool,
}

impl Cost {
    fn of(operation: &'static str, seen: &Seen) -> Cost {
        Cost {
            operation,
            read_round_trips: seen.read_round_trips(),
            write_round_trips: seen.write_round_trips(),
            read_units: seen.read_units(),
            write_units: seen.write_units(),
            events: seen.published_events(),
            reads: seen
                .calls
                .iter()
                .filter(|c| c.ok)
                .flat_map(|c| c.reads.iter().cloned())
                .collect(),
            written: seen.written(),
            stable: true,
        }
    }

    fn same_as(&self, other: &Cost) -> bool {
        self.read_round_trips == other.read_round_trips
            && self.write_round_trips == other.write_round_trips
            && self.read_units == other.read_units
            && self.write_units == other.write_units
            && self.events == other.events
    }

    fn plus(&self, other: &Cost, operation: &'static str) -> Cost {
        let mut reads = self.reads.clone();
        reads.extend(other.reads.iter().cloned());
        let mut written = self.written.clone();
        written.extend(other.written.iter().cloned());
        Cost {
            operation,
            read_round_trips: self.read_round_trips + other.read_round_trips,
            write_round_trips: self.write_round_trips + other.write_round_trips,
            read_units: self.read_units + other.read_units,
            write_units: self.write_units + other.write_units,
            events: self.events + other.events,
            reads,
            written,
            stable: self.stable && other.stable,
        }
    }
}

pub struct Throughput {
    pub clients: usize,
    pub hot: bool,
    pub ops: usize,
    pub errors: usize,
    pub seconds: f64,
    pub latencies: Vec<Duration>,
    pub write_round_trips: usize,
    pub cancelled: usize,
}

pub struct Growth {
    pub prior_entries: usize,
    pub operation: &'static str,
    pub latencies: Vec<Duration>,
    pub read_units: (f64, f64),
    pub write_units: (f64, f64),
    pub round_trips: (usize, usize),
}

pub struct Results {
    pub args_ops: usize,
    pub cold_runs: usize,
    pub growth_entries: usize,
    pub cold: Vec<Cold>,
    pub warm: Vec<Warm>,
    pub costs: Vec<Cost>,
    pub throughput: Vec<Throughput>,
    pub throughput_seconds: f64,
    pub growth: Vec<Growth>,
    pub elapsed: Duration,
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// The relative relocations a position-independent ELF64 executable asks the dynamic loader
/// to apply before `main` (`DT_RELACOUNT` in its dynamic section): one pointer written per
/// relocation on every cold start. `None` when the file is not a little-endian ELF64 with one.
fn relative_relocations(binary: &Path) -> Option<u64> {
    const PT_DYNAMIC: u32 = 2;
    const DT_NULL: u64 = 0;
    const DT_RELACOUNT: u64 = 0x6fff_fff9;
    let bytes = std::fs::read(binary).ok()?;
    let u16_at = |at: usize| -> Option<u64> {
        Some(u64::from(u16::from_le_bytes(
            bytes.get(at..at + 2)?.try_into().ok()?,
        )))
    };
    let u32_at = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
    };
    let u64_at = |at: usize| -> Option<u64> {
        Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
    };
    // ELF64 (class 2), little-endian (data 1).
    if bytes.get(..6)? != b"\x7fELF\x02\x01" {
        return None;
    }
    let phoff = usize::try_from(u64_at(0x20)?).ok()?;
    let phentsize = usize::try_from(u16_at(0x36)?).ok()?;
    let phnum = usize::try_from(u16_at(0x38)?).ok()?;
    let dynamic = (0..phnum)
        .map(|n| phoff + n * phentsize)
        .find(|at| u32_at(*at) == Some(PT_DYNAMIC))?;
    let (offset, size) = (
        usize::try_from(u64_at(dynamic + 8)?).ok()?,
        usize::try_from(u64_at(dynamic + 32)?).ok()?,
    );
    (offset..offset + size)
        .step_by(16)
        .find_map(|at| match u64_at(at)? {
            DT_RELACOUNT => u64_at(at + 8),
            DT_NULL => Some(0),
            _ => None,
        })
}

/// The size of a copy stripped with `strip` (the profile strips already; this checks it).
fn stripped_size(binary: &Path, work: &Path) -> u64 {
    let copy = work.join(binary.file_name().unwrap_or_default());
    if std::fs::copy(binary, &copy).is_err() {
        return file_size(binary);
    }
    match Command::new("strip").arg("--strip-all").arg(&copy).status() {
        Ok(status) if status.success() => file_size(&copy),
        _ => file_size(binary),
    }
}

/// The next event for a function's cold-start run, prepared in-process (not timed).
async fn cold_event(
    world: &World,
    name: &str,
    player: &str,
    funded: &str,
) -> Result<Vec<u8>, String> {
    let root = root();
    let event = match name {
        "register" => events::register(&unique("bench-cold")),
        "deposit" => events::deposit(player, &unique("dep"), 100),
        "wallet-read" => events::wallet(player),
        "place-bet" => events::bet(funded, &unique("bet"), 100),
        "settle" => {
            let bet = world.open_bets(funded, 1, 100).await.remove(0);
            events::settle(funded, &bet, &unique("stl"), 150)
        }
        "settle-queue" => {
            let bet = world.open_bets(funded, 1, 100).await.remove(0);
            events::settlement_message(&root, funded, &bet, &unique("stl"), 150)?
        }
        "bonus-award" => {
            let fresh = world.player("bonus").await;
            let deposit_id = unique("first");
            if world.deposit(&fresh, &deposit_id, 5000).await != 201 {
                return Err("the first deposit before a bonus award failed".into());
            }
            events::bonus_delivery(&root, &world.deposit_event(&fresh, &deposit_id).await?)?
        }
        "publisher" => events::stream_batch(&root)?,
        _ => serde_json::json!({"hello": "bench"}),
    };
    Ok(event.to_string().into_bytes())
}

fn check_answer(name: &str, answer: &[u8]) -> Result<(), String> {
    let ok = match name {
        "settle-queue" | "bonus-award" | "publisher" => events::batch_ok(answer),
        HELLO => true,
        _ => matches!(events::status(answer), Some(200 | 201)),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name} answered {}",
            String::from_utf8_lossy(answer)
        ))
    }
}

fn environment(stack: &Stack, name: &str) -> BTreeMap<String, String> {
    let source = if name == HELLO { "register" } else { name };
    stack.environments.get(source).cloned().unwrap_or_else(|| {
        fail(&format!(
            "the template deploys no function built from the binary {source}"
        ))
    })
}

async fn cold_starts(args: &Args, stack: &Stack, world: &World, logs: &Path) -> Vec<Cold> {
    let player = world.funded("cold", 0).await;
    let funded = world.funded("cold-bets", 1_000_000).await;
    let stripped_dir = logs.join("stripped");
    let _ = std::fs::create_dir_all(&stripped_dir);
    let mut names: Vec<&str> = FUNCTIONS.to_vec();
    names.push(HELLO);
    let mut cold: Vec<Cold> = names
        .iter()
        .map(|name| {
            let binary = args.bin_dir.join(name);
            if !binary.exists() {
                fail(&format!(
                    "{} is missing: `./dev bench` builds it",
                    binary.display()
                ));
            }
            Cold {
                name: name.to_string(),
                file_bytes: file_size(&binary),
                stripped_bytes: stripped_size(&binary, &stripped_dir),
                relocations: relative_relocations(&binary),
                inits: Vec::new(),
                firsts: Vec::new(),
                warms: Vec::new(),
                peak_rss_kib: 0,
            }
        })
        .collect();
    for run in 0..args.cold_runs {
        say(&format!(
            "cold starts, run {} of {}",
            run + 1,
            args.cold_runs
        ));
        // Interleaved, so that drift on the machine touches every binary alike.
        for entry in cold.iter_mut() {
            let name = entry.name.clone();
            let mut events = Vec::new();
            for _ in 0..=WARM_AFTER_COLD {
                events.push(
                    cold_event(world, &name, &player, &funded)
                        .await
                        .unwrap_or_else(|e| fail(&e)),
                );
            }
            let log = logs.join(format!("{name}-cold-{run}.log"));
            let started = Function::start(
                &name,
                &args.bin_dir.join(&name),
                &environment(stack, &name),
                &log,
            )
            .await
            .unwrap_or_else(|e| fail(&e));
            let mut function = started.function;
            entry.inits.push(started.init);
            let mut warm = Vec::new();
            for (n, event) in events.iter().enumerate() {
                let (took, answer) = function.invoke(event).await.unwrap_or_else(|e| fail(&e));
                check_answer(&name, &answer).unwrap_or_else(|e| fail(&e));
                if n == 0 {
                    entry.firsts.push(took);
                } else {
                    warm.push(took);
                }
            }
            entry.warms.push(stats::median(&warm));
            entry.peak_rss_kib = entry.peak_rss_kib.max(function.peak_rss_kib().unwrap_or(0));
            function.stop().await;
        }
    }
    cold
}

/// Warm latency of one money operation: the binary and the raw store calls, alternating
/// operation by operation.
async fn warm_latency(
    args: &Args,
    stack: &Stack,
    world: &World,
    logs: &Path,
    name: &'static str,
) -> Warm {
    let n = args.ops;
    let cash = ((n + WARM_UP) as i64) * 100 + 1000;
    let (binary_player, raw_player) = match name {
        "deposit" => (
            world.funded("warm-dep", 0).await,
            world.funded("raw-dep", 0).await,
        ),
        _ => (
            world.funded("warm", cash).await,
            world.funded("raw", cash).await,
        ),
    };
    let (binary_bets, raw_bets) = if name == "settle" {
        say(&format!("placing {} bets to settle", 2 * n + WARM_UP));
        let mut binary_bets = Vec::new();
        let mut raw_bets = Vec::new();
        for i in 0..(2 * n + WARM_UP) {
            let (player, bets) = if i < n + WARM_UP {
                (&binary_player, &mut binary_bets)
            } else {
                (&raw_player, &mut raw_bets)
            };
            let bet = unique("bet");
            world::raw_bet(&world.bare, player, &bet, 100)
                .await
                .unwrap_or_else(|e| fail(&e));
            bets.push(bet);
        }
        (binary_bets, raw_bets)
    } else {
        (Vec::new(), Vec::new())
    };
    let event = |i: usize| -> Vec<u8> {
        let event = match name {
            "deposit" => events::deposit(&binary_player, &unique("dep"), 100),
            "place-bet" => events::bet(&binary_player, &unique("bet"), 100),
            _ => events::settle(&binary_player, &binary_bets[i], &unique("stl"), 150),
        };
        event.to_string().into_bytes()
    };
    let log = logs.join(format!("{name}-warm.log"));
    let started = Function::start(
        name,
        &args.bin_dir.join(name),
        &environment(stack, name),
        &log,
    )
    .await
    .unwrap_or_else(|e| fail(&e));
    let mut function = started.function;
    for i in 0..WARM_UP {
        let (_, answer) = function
            .invoke(&event(i))
            .await
            .unwrap_or_else(|e| fail(&e));
        check_answer(name, &answer).unwrap_or_else(|e| fail(&e));
    }
    let mut binary = Vec::with_capacity(n);
    let mut raw = Vec::with_capacity(n);
    for i in 0..n {
        let payload = event(WARM_UP + i);
        let (took, answer) = function.invoke(&payload).await.unwrap_or_else(|e| fail(&e));
        check_answer(name, &answer).unwrap_or_else(|e| fail(&e));
        binary.push(took);
        let raw_bet = raw_bets.get(i).cloned().unwrap_or_default();
        let took = match name {
            "deposit" => world::raw_deposit(&world.bare, &raw_player, &unique("dep"), 100).await,
            "place-bet" => world::raw_bet(&world.bare, &raw_player, &unique("bet"), 100).await,
            _ => world::raw_settle(&world.bare, &raw_player, &raw_bet, &unique("stl"), 150).await,
        }
        .unwrap_or_else(|e| fail(&e));
        raw.push(took);
    }
    let peak_rss_kib = function.peak_rss_kib().unwrap_or(0);
    function.stop().await;
    Warm {
        operation: name,
        binary,
        raw,
        peak_rss_kib,
    }
}

/// Runs `op` `times` times through the metered handlers and returns its cost (checking that
/// every repetition cost the same).
async fn measure<F, Fut>(world: &World, operation: &'static str, times: usize, mut op: F) -> Cost
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = u16>,
{
    let mut first: Option<Cost> = None;
    for i in 0..times {
        world.meter.drain();
        let status = op(i).await;
        if status != 201 {
            fail(&format!(
                "{operation} answered {status} while measuring its cost"
            ));
        }
        let cost = Cost::of(operation, &world.meter.drain());
        match &mut first {
            None => first = Some(cost),
            Some(seen) if !seen.same_as(&cost) => seen.stable = false,
            Some(_) => {}
        }
    }
    first.unwrap_or_else(|| fail("no repetition"))
}

async fn costs(world: &World) -> Vec<Cost> {
    const TIMES: usize = 20;
    let player = world.funded("cost", 1_000_000).await;
    let player = player.as_str();
    let mut costs = Vec::new();
    let mut fresh = Vec::new();
    for _ in 0..5 {
        fresh.push(world.player("cost-first").await);
    }
    let fresh = fresh.as_slice();
    costs.push(
        measure(world, "first deposit", fresh.len(), |i| async move {
            world.deposit(&fresh[i], &unique("first"), 5000).await
        })
        .await,
    );
    costs.push(
        measure(world, "deposit", TIMES, |_| async move {
            world.deposit(player, &unique("dep"), 100).await
        })
        .await,
    );
    let bets: Vec<String> = (0..2 * TIMES).map(|_| unique("bet")).collect();
    let bets = bets.as_slice();
    let bet = measure(world, "place bet", 2 * TIMES, |i| async move {
        world.bet(player, &bets[i], 100).await
    })
    .await;
    let win = measure(world, "settle (win)", TIMES, |i| async move {
        world.settle(player, &bets[i], &unique("stl"), 150).await
    })
    .await;
    let loss = measure(world, "settle (loss)", TIMES, |i| async move {
        world
            .settle(player, &bets[TIMES + i], &unique("stl"), 0)
            .await
    })
    .await;
    costs.push(bet.clone());
    costs.push(win.clone());
    costs.push(loss.clone());
    costs.push(bet.plus(&win, "bet cycle (win)"));
    costs.push(bet.plus(&loss, "bet cycle (loss)"));
    costs
}

async fn throughput(world: Arc<World>, seconds: f64) -> Vec<Throughput> {
    let mut results = Vec::new();
    for hot in [false, true] {
        for clients in [1usize, 8, 64] {
            say(&format!(
                "throughput: {clients} client(s), {}",
                if hot {
                    "one hot wallet"
                } else {
                    "distinct wallets"
                }
            ));
            let mut players = Vec::new();
            for _ in 0..(if hot { 1 } else { clients }) {
                players.push(world.funded("tp", 10_000_000).await);
            }
            world.meter.drain();
            let deadline = Instant::now() + Duration::from_secs_f64(seconds);
            let started = Instant::now();
            let mut tasks = tokio::task::JoinSet::new();
            for client in 0..clients {
                let world = world.clone();
                let player = players[client % players.len()].clone();
                tasks.spawn(async move {
                    let mut latencies = Vec::new();
                    let mut errors = 0;
                    while Instant::now() < deadline {
                        let began = Instant::now();
                        let status = world.bet(&player, &unique("bet"), 1).await;
                        if status == 201 {
                            latencies.push(began.elapsed());
                        } else {
                            errors += 1;
                        }
                    }
                    (latencies, errors)
                });
            }
            let mut latencies = Vec::new();
            let mut errors = 0;
            while let Some(done) = tasks.join_next().await {
                let (mut l, e) = done.unwrap_or_else(|e| fail(&format!("a client failed: {e}")));
                latencies.append(&mut l);
                errors += e;
            }
            let elapsed = started.elapsed().as_secs_f64();
            let seen = world.meter.drain();
            results.push(Throughput {
                clients,
                hot,
                ops: latencies.len(),
                errors,
                seconds: elapsed,
                latencies,
                write_round_trips: seen.write_round_trips(),
                cancelled: seen.cancelled_writes(),
            });
        }
    }
    results
}

async fn growth(world: &World, entries: usize, cycles: usize) -> Vec<Growth> {
    let mut results = Vec::new();
    for prior in [10usize, entries] {
        say(&format!("growth: a wallet with {prior} entries"));
        let player = world.funded("growth", 10_000_000).await;
        for i in 1..prior {
            world::raw_deposit(&world.bare, &player, &unique("seed"), 100)
                .await
                .unwrap_or_else(|e| fail(&e));
            if i % 2000 == 0 {
                say(&format!("growth: {i} of {prior} entries written"));
            }
        }
        let mut per: BTreeMap<&'static str, (Vec<Duration>, Vec<Seen>)> = BTreeMap::new();
        for _ in 0..cycles {
            let bet = unique("bet");
            for operation in ["deposit", "place bet", "settle (win)"] {
                world.meter.drain();
                let began = Instant::now();
                let status = match operation {
                    "deposit" => world.deposit(&player, &unique("dep"), 100).await,
                    "place bet" => world.bet(&player, &bet, 100).await,
                    _ => world.settle(&player, &bet, &unique("stl"), 150).await,
                };
                let took = began.elapsed();
                if status != 201 {
                    fail(&format!("growth: {operation} answered {status}"));
                }
                let entry = per.entry(operation).or_default();
                entry.0.push(took);
                entry.1.push(world.meter.drain());
            }
        }
        for (operation, (latencies, seen)) in per {
            let range = |f: &dyn Fn(&Seen) -> f64| {
                let values: Vec<f64> = seen.iter().map(f).collect();
                (
                    values.iter().cloned().fold(f64::INFINITY, f64::min),
                    values.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
                )
            };
            let trips: Vec<usize> = seen.iter().map(|s| s.round_trips.len()).collect();
            results.push(Growth {
                prior_entries: prior,
                operation,
                latencies,
                read_units: range(&|s: &Seen| s.read_units()),
                write_units: range(&|s: &Seen| s.write_units()),
                round_trips: (
                    trips.iter().copied().min().unwrap_or(0),
                    trips.iter().copied().max().unwrap_or(0),
                ),
            });
        }
    }
    results
}

#[tokio::main]
async fn main() {
    let args = args();
    let began = Instant::now();
    let logs = root().join("target/bench");
    std::fs::create_dir_all(&logs)
        .unwrap_or_else(|e| fail(&format!("cannot create {}: {e}", logs.display())));
    say("starting the AWS emulator (moto, provisioned from template.yaml)");
    let stack = start_stack();
    let world = Arc::new(World::new(&stack.endpoint, &stack.region, &stack.table).await);

    say("a. cold starts, first events, memory, sizes");
    let cold = cold_starts(&args, &stack, &world, &logs).await;

    let mut warm = Vec::new();
    for name in ["deposit", "place-bet", "settle"] {
        say(&format!(
            "b. warm latency of {name}: {} operations through the binary and as raw store calls",
            args.ops
        ));
        warm.push(warm_latency(&args, &stack, &world, &logs, name).await);
    }

    say("c. requests and units per operation");
    let costs = costs(&world).await;

    let throughput_seconds = (args.ops as f64 / 100.0).clamp(3.0, 10.0);
    say("d. throughput");
    let throughput = throughput(world.clone(), throughput_seconds).await;

    say("e. growth");
    let growth = growth(&world, args.growth_entries, args.ops.min(300)).await;

    let results = Results {
        args_ops: args.ops,
        cold_runs: args.cold_runs,
        growth_entries: args.growth_entries,
        cold,
        warm,
        costs,
        throughput,
        throughput_seconds,
        growth,
        elapsed: began.elapsed(),
    };
    let text = report::render(&results, &root());
    std::fs::write(&args.out, text)
        .unwrap_or_else(|e| fail(&format!("cannot write {}: {e}", args.out.display())));
    say(&format!(
        "wrote {} in {:.0} s (logs of the functions under {})",
        args.out.display(),
        results.elapsed.as_secs_f64(),
        logs.display()
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relocations_are_read_from_position_independent_executables_only() {
        // This test binary is a position-independent executable like the functions.
        let exe = std::env::current_exe().expect("the test binary");
        assert!(matches!(relative_relocations(&exe), Some(n) if n > 0));
        assert_eq!(relative_relocations(&root().join("Cargo.toml")), None);
        assert_eq!(relative_relocations(Path::new("/nonexistent")), None);
    }
}
