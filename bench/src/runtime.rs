//! A Lambda Runtime API emulator on loopback, speaking the runtime's own HTTP protocol
//! (`GET /2018-06-01/runtime/invocation/next`, `POST …/invocation/{id}/response`,
//! `POST …/invocation/{id}/error`, `POST /2018-06-01/runtime/init/error`), and a function
//! process started under it the way Lambda starts one: exec'd with `AWS_LAMBDA_RUNTIME_API`
//! and the usual variables. "Ready" is the moment the process first asks for an event.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

const NEXT: &str = "/2018-06-01/runtime/invocation/next";
const INIT_ERROR: &str = "/2018-06-01/runtime/init/error";
const INVOCATION: &str = "/2018-06-01/runtime/invocation/";
/// How long a function may take to start or to answer before the bench gives up on it.
const PATIENCE: Duration = Duration::from_secs(60);

/// What a function answered to one event.
#[derive(Debug)]
pub enum Answer {
    Response(Vec<u8>),
    Error(Vec<u8>),
}

struct Invocation {
    id: String,
    payload: Vec<u8>,
    answer: oneshot::Sender<Answer>,
}

enum Ready {
    Next(Instant),
    InitError(String),
}

struct Shared {
    queue: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Answer>>>,
    ready: Mutex<Option<oneshot::Sender<Ready>>>,
    function_arn: String,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn reply(
    status: StatusCode,
    headers: &[(&'static str, String)],
    body: Vec<u8>,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
    }
    response
}

async fn serve(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let asked_at = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    if method == Method::GET && path == NEXT {
        if let Some(ready) = lock(&shared.ready).take() {
            let _ = ready.send(Ready::Next(asked_at));
        }
        let next = shared.queue.lock().await.recv().await;
        let Some(invocation) = next else {
            return Ok(reply(
                StatusCode::GONE,
                &[],
                b"{\"errorMessage\":\"shutting down\"}".to_vec(),
            ));
        };
        lock(&shared.waiting).insert(invocation.id.clone(), invocation.answer);
        let deadline = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis()
            + PATIENCE.as_millis();
        let headers = [
            ("lambda-runtime-aws-request-id", invocation.id.clone()),
            ("lambda-runtime-deadline-ms", deadline.to_string()),
            (
                "lambda-runtime-invoked-function-arn",
                shared.function_arn.clone(),
            ),
            (
                "lambda-runtime-trace-id",
                format!(
                    "Root=1-00000000-{:024x};Sampled=0",
                    fastrand::u128(..) >> 32
                ),
            ),
            ("content-type", "application/json".to_string()),
        ];
        return Ok(reply(StatusCode::OK, &headers, invocation.payload));
    }
    if method != Method::POST {
        return Ok(reply(StatusCode::NOT_FOUND, &[], Vec::new()));
    }
    let body = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes().to_vec(),
        Err(_) => return Ok(reply(StatusCode::BAD_REQUEST, &[], Vec::new())),
    };
    if path == INIT_ERROR {
        if let Some(ready) = lock(&shared.ready).take() {
            let _ = ready.send(Ready::InitError(
                String::from_utf8_lossy(&body).into_owned(),
            ));
        }
        return Ok(reply(
            StatusCode::ACCEPTED,
            &[],
            b"{\"status\":\"OK\"}".to_vec(),
        ));
    }
    let Some(rest) = path.strip_prefix(INVOCATION) else {
        return Ok(reply(StatusCode::NOT_FOUND, &[], Vec::new()));
    };
    let (id, answer) = match rest.rsplit_once('/') {
        Some((id, "response")) => (id, Answer::Response(body)),
        Some((id, "error")) => (id, Answer::Error(body)),
        _ => return Ok(reply(StatusCode::NOT_FOUND, &[], Vec::new())),
    };
    match lock(&shared.waiting).remove(id) {
        Some(waiting) => {
            let _ = waiting.send(answer);
            Ok(reply(
                StatusCode::ACCEPTED,
                &[],
                b"{\"status\":\"OK\"}".to_vec(),
            ))
        }
        None => Ok(reply(
            StatusCode::BAD_REQUEST,
            &[],
            b"{\"errorMessage\":\"unknown request id\"}".to_vec(),
        )),
    }
}

/// One function process under its own Runtime API endpoint.
pub struct Function {
    pub name: String,
    child: tokio::process::Child,
    pid: u32,
    queue: mpsc::Sender<Invocation>,
    server: tokio::task::JoinHandle<()>,
    invocations: u64,
}

/// A started function and how long it took to be ready.
pub struct Started {
    pub function: Function,
    /// exec → the first `GET /next`.
    pub init: Duration,
}

impl Function {
    /// Execs `binary` with `environment` plus the variables Lambda sets, under a fresh
    /// Runtime API endpoint, and waits until it asks for its first event.
    pub async fn start(
        name: &str,
        binary: &Path,
        environment: &BTreeMap<String, String>,
        log: &Path,
    ) -> Result<Started, String> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("cannot bind the runtime API: {e}"))?;
        let address: SocketAddr = listener
            .local_addr()
            .map_err(|e| format!("runtime API address: {e}"))?;
        let (queue, receiver) = mpsc::channel(1);
        let (ready_tx, ready_rx) = oneshot::channel();
        let shared = Arc::new(Shared {
            queue: tokio::sync::Mutex::new(receiver),
            waiting: Mutex::new(HashMap::new()),
            ready: Mutex::new(Some(ready_tx)),
            function_arn: format!("arn:aws:lambda:us-east-1:123456789012:function:bench-{name}"),
        });
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |request| serve(shared.clone(), request));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        let out = std::fs::File::create(log)
            .map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| format!("log file: {e}"))?;
        let mut command = tokio::process::Command::new(binary);
        command
            .env_clear()
            .envs(environment)
            .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", format!("bench-{name}"))
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/bench-{name}"),
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/01/01/[$LATEST]bench")
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .env("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023")
            .env("_HANDLER", "bootstrap")
            .env("TZ", ":UTC")
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .kill_on_drop(true);
        let started_at = Instant::now();
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot exec {}: {e}", binary.display()))?;
        let pid = child.id().unwrap_or(0);
        let ready = tokio::select! {
            ready = tokio::time::timeout(PATIENCE, ready_rx) => ready,
            status = child.wait() => {
                server.abort();
                return Err(format!("{name} exited before asking for an event ({status:?}); see {}", log.display()));
            }
        };
        let function = Function {
            name: name.to_string(),
            child,
            pid,
            queue,
            server,
            invocations: 0,
        };
        match ready {
            Ok(Ok(Ready::Next(at))) => Ok(Started {
                function,
                init: at.saturating_duration_since(started_at),
            }),
            Ok(Ok(Ready::InitError(why))) => {
                function.stop().await;
                Err(format!("{name} reported an init error: {why}"))
            }
            _ => {
                function.stop().await;
                Err(format!(
                    "{name} did not ask for an event within {PATIENCE:?}; see {}",
                    log.display()
                ))
            }
        }
    }

    /// Hands the function one event and waits for its answer: the time from handing it
    /// over to receiving the response, and the response.
    pub async fn invoke(&mut self, payload: &[u8]) -> Result<(Duration, Vec<u8>), String> {
        self.invocations += 1;
        let id = format!(
            "{}-{:06}-{:08x}",
            self.name,
            self.invocations,
            fastrand::u32(..)
        );
        let (answer, receiver) = oneshot::channel();
        let started = Instant::now();
        self.queue
            .send(Invocation {
                id,
                payload: payload.to_vec(),
                answer,
            })
            .await
            .map_err(|_| format!("{}: the runtime API is gone", self.name))?;
        match tokio::time::timeout(PATIENCE, receiver).await {
            Ok(Ok(Answer::Response(body))) => Ok((started.elapsed(), body)),
            Ok(Ok(Answer::Error(body))) => Err(format!(
                "{} answered an error: {}",
                self.name,
                String::from_utf8_lossy(&body)
            )),
            _ => Err(format!("{} did not answer within {PATIENCE:?}", self.name)),
        }
    }

    /// The process's peak resident set (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// Ends the process (SIGKILL to its own pid, as Lambda ends an environment) and the
    /// runtime API.
    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        self.server.abort();
    }
}
