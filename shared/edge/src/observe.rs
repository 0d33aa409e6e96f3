//! What every invocation leaves behind, written once for every function:
//! - JSON log lines (Lambda's `LogFormat: JSON` keeps them as they are). Every line logged
//!   while a request is handled carries, in `span`, the request id, the X-Ray trace id, the
//!   correlation id, the route and the path's player id; the request's last line adds the
//!   HTTP status, the outcome (the problem's stable code, or `OK`) and the duration. No line
//!   carries a body, a header, an email, a date of birth, a token or a secret: the handlers
//!   never log them and the SDK crates that would are held at `info` ([`QUIET_TARGETS`]).
//! - CloudWatch metrics in Embedded Metric Format, through the `metrics` facade and
//!   `metrics_cloudwatch_embedded`, flushed to stdout after each invocation: one namespace
//!   ([`NAMESPACE`]), the function as a dimension, and only bounded labels (routes, codes,
//!   event types, outcomes; never a player id).
//! - With the `otel` feature, the same spans as OpenTelemetry traces ([`crate::otel`]).

use lambda_http::{Body, Request, RequestExt, Response};
use ledger::ErrorCode;
use metrics_cloudwatch_embedded::Collector;
use std::future::Future;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tracing::Instrument;

/// The CloudWatch namespace of every Stakeline metric.
pub const NAMESPACE: &str = "Stakeline";

/// Crates that log whole requests, responses or events (tokens, signatures, personal data,
/// account items) below `info`: held at `info` whatever `RUST_LOG` says.
pub const QUIET_TARGETS: [&str; 7] = [
    "aws_smithy_runtime",
    "aws_smithy_http_client",
    "aws_sdk_dynamodb",
    "aws_sdk_secretsmanager",
    "aws_config",
    "lambda_runtime",
    "lambda_http",
];

/// Routes whose first answer is `201` and whose replay (the same id and body again) is `200`.
const REPLAYABLE: [&str; 5] = [
    "POST /players",
    "POST /players/{player_id}/deposits",
    "POST /players/{player_id}/bets",
    "POST /players/{player_id}/bets/{bet_id}/settlement",
    "POST /players/{player_id}/withdrawals",
];

/// The log filter: `RUST_LOG` (`info` by default), with [`QUIET_TARGETS`] held at `info`.
pub fn log_filter(rust_log: Option<&str>) -> tracing_subscriber::EnvFilter {
    let mut filter = rust_log
        .and_then(|v| tracing_subscriber::EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new("info"));
    for target in QUIET_TARGETS {
        if let Ok(directive) = format!("{target}=info").parse() {
            filter = filter.add_directive(directive);
        }
    }
    filter
}

/// The JSON log format of every function, writing to `writer` (stdout in Lambda; a buffer in
/// the tests that read it).
pub fn json_subscriber<W>(
    rust_log: Option<&str>,
    writer: W,
) -> impl tracing::Subscriber + Send + Sync + 'static
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_env_filter(log_filter(rust_log))
        .without_time()
        .with_target(false)
        .with_writer(writer)
        .finish()
}

/// Sets up the JSON logs (level from `RUST_LOG`) and the metrics once per process.
#[cfg(not(feature = "otel"))]
pub fn init(function: &'static str) {
    let _ = tracing::subscriber::set_global_default(json_subscriber(
        std::env::var("RUST_LOG").ok().as_deref(),
        std::io::stdout,
    ));
    install_metrics(function);
}

/// Sets up the JSON logs, the metrics and the OpenTelemetry export ([`crate::otel`]) once
/// per process. The two layers filter on their own: the logs as without the feature, the
/// traces that plus the AWS SDK's call spans ([`crate::otel::span_filter`]).
#[cfg(feature = "otel")]
pub fn init(function: &'static str) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::Layer;
    let rust_log = std::env::var("RUST_LOG").ok();
    let logs = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .without_time()
        .with_target(false)
        .with_writer(std::io::stdout)
        .with_filter(log_filter(rust_log.as_deref()));
    let traces = crate::otel::layer(function)
        .with_filter(crate::otel::span_filter(log_filter(rust_log.as_deref())));
    let subscriber = tracing_subscriber::registry().with(logs).with(traces);
    let _ = tracing::subscriber::set_global_default(subscriber);
    install_metrics(function);
}

static METRICS: OnceLock<Option<&'static Collector>> = OnceLock::new();

/// Installs the EMF recorder (once per process) with `function` as its dimension; `None` if
/// another recorder was installed first.
pub fn install_metrics(function: &'static str) -> Option<&'static Collector> {
    *METRICS.get_or_init(|| {
        metrics_cloudwatch_embedded::Builder::new()
            .cloudwatch_namespace(NAMESPACE)
            .with_dimension("function", function)
            .init()
            .map_err(|e| tracing::warn!(error = %e, "metrics are off"))
            .ok()
    })
}

/// What an invocation leaves to write when it ends: its metrics and, with the `otel`
/// feature, its spans.
pub fn flush() {
    flush_metrics();
    #[cfg(feature = "otel")]
    crate::otel::flush();
}

/// Writes the invocation's metrics (one EMF document per label set) to stdout.
pub fn flush_metrics() {
    if let Some(Some(collector)) = METRICS.get() {
        if let Err(error) = collector.flush(std::io::stdout().lock()) {
            tracing::warn!(%error, "cannot write the metrics");
        }
    }
}

/// Who asked what: the fields every log line of a request carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFacts {
    pub request_id: String,
    pub trace_id: String,
    pub correlation_id: String,
    /// `METHOD /template` of the function's routes, or `unrouted`.
    pub route: &'static str,
    /// The path's `{player_id}` as sent (a route without one: empty).
    pub player_id: String,
}

impl RequestFacts {
    pub fn of(request: &Request, routes: &[&'static str]) -> RequestFacts {
        let context = request.lambda_context_ref();
        RequestFacts {
            request_id: context.map(|c| c.request_id.clone()).unwrap_or_default(),
            trace_id: trace_id(context.and_then(|c| c.xray_trace_id.clone())),
            correlation_id: crate::http::correlation_id(request),
            route: crate::http::route_key(request, routes).unwrap_or("unrouted"),
            player_id: crate::http::path_param(request, "player_id")
                .map(|p| p.chars().take(128).collect())
                .unwrap_or_default(),
        }
    }

    fn span(&self) -> tracing::Span {
        let span = tracing::info_span!(
            "request",
            request_id = %self.request_id,
            trace_id = %self.trace_id,
            correlation_id = %self.correlation_id,
            route = self.route,
            player_id = %self.player_id,
            status = tracing::field::Empty,
            outcome = tracing::field::Empty,
        );
        #[cfg(feature = "otel")]
        crate::otel::continue_trace(&span, &self.trace_id);
        span
    }
}

/// The invocation's X-Ray trace id: the runtime's, or `_X_AMZN_TRACE_ID` (empty when
/// tracing is off).
fn trace_id(from_context: Option<String>) -> String {
    from_context
        .or_else(|| std::env::var("_X_AMZN_TRACE_ID").ok())
        .unwrap_or_default()
}

/// The outcome of a response: the problem's code, or `OK`.
pub fn outcome(response: &Response<Body>) -> &'static str {
    response
        .extensions()
        .get::<ErrorCode>()
        .map(|code| code.as_str())
        .unwrap_or("OK")
}

/// Runs `handled` (a request's handling) inside the request's span, then logs its last line
/// and counts it: `requests` by route and outcome, `rejections` by code, `replays` by route.
pub async fn observed<F>(facts: RequestFacts, method: &str, handled: F) -> Response<Body>
where
    F: Future<Output = Response<Body>>,
{
    let span = facts.span();
    let started = Instant::now();
    let response = handled.instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    let outcome = outcome(&response);
    span.in_scope(|| {
        tracing::info!(
            status,
            outcome,
            duration_ms = millis(elapsed),
            "request handled"
        )
    });
    #[cfg(feature = "otel")]
    {
        span.record("status", i64::from(status));
        span.record("outcome", outcome);
    }
    metrics::counter!("requests", "route" => facts.route, "outcome" => outcome).increment(1);
    if status >= 400 {
        metrics::counter!("rejections", "code" => outcome).increment(1);
    }
    if method == "POST" && status == 200 && REPLAYABLE.contains(&facts.route) {
        metrics::counter!("replays", "route" => facts.route).increment(1);
    }
    response
}

/// Runs `handled` (an event's handling: a queue batch, a stream batch) inside a span naming
/// the invocation, then logs its last line: how many items failed (`batchItemFailures`) and
/// the duration; counts `batch_item_failures`.
pub async fn observed_event<F, R>(request_id: &str, trace: Option<String>, handled: F) -> R
where
    F: Future<Output = R>,
    R: serde::Serialize,
{
    let trace_id = trace_id(trace);
    let span = tracing::info_span!("event", request_id = %request_id, trace_id = %trace_id);
    #[cfg(feature = "otel")]
    crate::otel::continue_trace(&span, &trace_id);
    let started = Instant::now();
    let response = handled.instrument(span.clone()).await;
    let failures = serde_json::to_value(&response)
        .ok()
        .and_then(|v| {
            v.get("batchItemFailures")
                .and_then(|f| f.as_array())
                .map(Vec::len)
        })
        .unwrap_or(0);
    span.in_scope(|| {
        tracing::info!(
            outcome = if failures == 0 {
                "OK"
            } else {
                "PARTIAL_FAILURE"
            },
            failures,
            duration_ms = millis(started.elapsed()),
            "event handled"
        )
    });
    if failures > 0 {
        metrics::counter!("batch_item_failures").increment(failures as u64);
    }
    response
}

fn millis(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_logging_crates_stay_at_info_whatever_rust_log_says() {
        for rust_log in [None, Some("trace"), Some("debug"), Some("not a filter")] {
            let filter = log_filter(rust_log).to_string();
            for target in QUIET_TARGETS {
                assert!(filter.contains(&format!("{target}=info")), "{filter}");
            }
        }
    }

    #[test]
    fn an_answer_without_a_problem_is_ok_and_a_problem_names_its_code() {
        let ok = crate::http::json(200, &serde_json::json!({}));
        assert_eq!(outcome(&ok), "OK");
        let refused = crate::http::problem(
            &ledger::WalletError::InsufficientFunds("no".into()),
            "/x",
            None,
        );
        assert_eq!(outcome(&refused), "INSUFFICIENT_FUNDS");
    }
}

/// The request's span as OpenTelemetry exports it (the `otel` feature).
#[cfg(all(test, feature = "otel"))]
mod otel_tests {
    use super::*;
    use opentelemetry::Value;
    use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::Layer;

    const HEADER: &str =
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

    #[test]
    fn a_request_is_one_span_in_the_xray_trace_with_its_calls_beneath() {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let subscriber = tracing_subscriber::registry().with(
            crate::otel::layer_with(&provider)
                .with_filter(crate::otel::span_filter(log_filter(Some("info")))),
        );
        let facts = RequestFacts {
            request_id: "req-1".into(),
            trace_id: HEADER.into(),
            correlation_id: "corr-1".into(),
            route: "GET /players/{player_id}/wallet",
            player_id: "p-1".into(),
        };
        tracing::subscriber::with_default(subscriber, || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("a runtime");
            runtime.block_on(observed(facts, "GET", async {
                tracing::debug_span!(target: "aws_sdk_dynamodb", "GetItem", "rpc.method" = "GetItem")
                    .in_scope(|| {
                        tracing::debug!(target: "aws_smithy_runtime", "wire bytes");
                        tracing::debug!(target: "aws_sdk_dynamodb", "request body");
                        tracing::debug_span!("unimportant").in_scope(|| {});
                    });
                crate::http::json(200, &serde_json::json!({}))
            }));
        });
        provider.force_flush().expect("flushed");
        let spans = exporter.get_finished_spans().expect("spans");
        let request = spans
            .iter()
            .find(|s| s.name == "request")
            .expect("the request span");
        let call = spans
            .iter()
            .find(|s| s.name == "GetItem")
            .expect("the call's span");
        assert_eq!(
            request.span_context.trace_id().to_string(),
            "5759e988bd862e3fe1be46a994272793"
        );
        assert_eq!(request.parent_span_id.to_string(), "53995c3f42cd8ad8");
        assert_eq!(call.parent_span_id, request.span_context.span_id());
        assert_eq!(
            call.span_context.trace_id(),
            request.span_context.trace_id()
        );
        // The SDK's events and other debug spans stay out, as they stay out of the logs.
        assert!(spans.iter().all(|s| s.name != "unimportant"));
        assert!(call.events.is_empty(), "{call:?}");
        let events: Vec<&str> = request.events.iter().map(|e| e.name.as_ref()).collect();
        assert_eq!(events, ["request handled"]);
        let attribute = |key: &str| {
            request
                .attributes
                .iter()
                .find(|kv| kv.key.as_str() == key)
                .map(|kv| kv.value.clone())
        };
        assert_eq!(
            attribute("route"),
            Some(Value::from("GET /players/{player_id}/wallet"))
        );
        assert_eq!(attribute("correlation_id"), Some(Value::from("corr-1")));
        assert_eq!(attribute("status"), Some(Value::I64(200)));
        assert_eq!(attribute("outcome"), Some(Value::from("OK")));
    }
}
