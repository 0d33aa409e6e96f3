//! OpenTelemetry traces, built in with the `otel` feature (`cargo lambda build --features
//! edge/otel`) and nothing else: no handler changes. Every request's (or event's) span from
//! [`crate::observe`], with the spans the AWS SDK opens beneath it for each DynamoDB, SQS or
//! EventBridge call, is exported over OTLP (HTTP, protobuf) to `OTEL_EXPORTER_OTLP_ENDPOINT`
//! (by default `http://localhost:4318`, where the AWS Distro for OpenTelemetry collector
//! layer listens), and flushed at the end of every invocation, before Lambda freezes the
//! environment. The span continues the invocation's X-Ray trace: its trace id and parent are
//! those of `_X_AMZN_TRACE_ID`, so the collector's X-Ray exporter joins it to API Gateway's
//! and Lambda's segments. `OTEL_SDK_DISABLED=true` turns it off without a rebuild.

use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, TracerProvider as _,
};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use std::sync::OnceLock;
use tracing_opentelemetry::{OpenTelemetryLayer, OpenTelemetrySpanExt};
use tracing_subscriber::registry::LookupSpan;

/// The instrumentation scope of Stakeline's spans.
pub const TRACER: &str = "stakeline";

static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// The exporting layer for `function`'s process, unless `OTEL_SDK_DISABLED=true` or the
/// exporter cannot be built (then a warning, and the function runs untraced).
pub fn layer<S>(function: &'static str) -> Option<OpenTelemetryLayer<S, SdkTracer>>
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span>,
{
    if std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true")) {
        return None;
    }
    match provider(function, None) {
        Ok(provider) => {
            let layer = layer_with(&provider);
            let _ = PROVIDER.set(provider);
            Some(layer)
        }
        Err(error) => {
            eprintln!("OpenTelemetry is off: {error}");
            None
        }
    }
}

/// A provider exporting `function`'s spans over OTLP/HTTP in batches: to `endpoint` (the
/// traces URL itself), or where the `OTEL_EXPORTER_OTLP_*` variables say.
pub fn provider(
    function: &'static str,
    endpoint: Option<&str>,
) -> Result<SdkTracerProvider, String> {
    use opentelemetry_otlp::WithExportConfig;
    let mut exporter = opentelemetry_otlp::SpanExporter::builder().with_http();
    if let Some(endpoint) = endpoint {
        exporter = exporter.with_endpoint(endpoint);
    }
    let exporter = exporter
        .build()
        .map_err(|e| format!("cannot build the OTLP exporter: {e}"))?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(function)
                .with_attribute(opentelemetry::KeyValue::new("cloud.provider", "aws"))
                .with_attribute(opentelemetry::KeyValue::new("faas.name", function))
                .build(),
        )
        .build())
}

/// The layer over any tracer provider (the tests give one that keeps spans in memory).
pub fn layer_with<S>(provider: &SdkTracerProvider) -> OpenTelemetryLayer<S, SdkTracer>
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span>,
{
    tracing_opentelemetry::layer().with_tracer(provider.tracer(TRACER))
}

/// What the exported traces hold: what the logs hold (`logs`, the log filter), plus the AWS
/// SDK's operation spans (one per call, at `debug`: service, operation, invocation id), but
/// none of the SDK's events, which stay held at `info` as in the logs.
pub fn span_filter<S>(
    logs: tracing_subscriber::EnvFilter,
) -> impl tracing_subscriber::layer::Filter<S>
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span>,
{
    use tracing_subscriber::filter::{filter_fn, FilterExt};
    let sdk_calls = filter_fn(|meta| {
        meta.is_span()
            && meta.target().starts_with("aws_sdk_")
            && *meta.level() <= tracing::Level::DEBUG
    });
    logs.or(sdk_calls)
}

/// Exports the invocation's spans now (Lambda may freeze the process right after).
pub fn flush() {
    if let Some(provider) = PROVIDER.get() {
        if let Err(error) = provider.force_flush() {
            tracing::warn!(%error, "cannot export the traces");
        }
    }
}

/// The remote parent an X-Ray trace header names
/// (`Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1`): the
/// root's epoch and random parts are the 128-bit trace id. `None` for anything else.
pub fn xray_parent(header: &str) -> Option<SpanContext> {
    let field = |name: &str| {
        header
            .split(';')
            .filter_map(|part| part.trim().split_once('='))
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value)
    };
    let root = field("Root")?;
    let mut parts = root.split('-');
    let (Some("1"), Some(epoch), Some(random), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let hex =
        |text: &str, len: usize| text.len() == len && text.bytes().all(|b| b.is_ascii_hexdigit());
    if !hex(epoch, 8) || !hex(random, 24) {
        return None;
    }
    let parent = field("Parent").filter(|p| hex(p, 16))?;
    let trace_id = TraceId::from_hex(&format!("{epoch}{random}")).ok()?;
    let span_id = SpanId::from_hex(parent).ok()?;
    let flags = if field("Sampled") == Some("1") {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    let context = SpanContext::new(trace_id, span_id, flags, true, TraceState::default());
    context.is_valid().then_some(context)
}

/// Makes `span` a child of the X-Ray trace `header` names (nothing when it names none).
pub fn continue_trace(span: &tracing::Span, header: &str) {
    if let Some(parent) = xray_parent(header) {
        let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(parent));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    const HEADER: &str =
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

    #[test]
    fn an_xray_header_names_the_remote_parent() {
        let parent = xray_parent(HEADER).expect("a parent");
        assert_eq!(
            parent.trace_id().to_string(),
            "5759e988bd862e3fe1be46a994272793"
        );
        assert_eq!(parent.span_id().to_string(), "53995c3f42cd8ad8");
        assert!(parent.is_sampled() && parent.is_remote());
        let unsampled = xray_parent(&HEADER.replace("Sampled=1", "Sampled=0")).expect("a parent");
        assert!(!unsampled.is_sampled());
        for broken in [
            "",
            "Root=1-5759e988-bd862e3fe1be46a994272793",
            "Root=2-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8",
            "Root=1-5759e98-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8",
            "Root=1-5759e988-bd862e3fe1be46a99427279z;Parent=53995c3f42cd8ad8",
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8a",
            "Root=1-00000000-000000000000000000000000;Parent=53995c3f42cd8ad8",
        ] {
            assert!(xray_parent(broken).is_none(), "{broken}");
        }
    }

    #[test]
    fn spans_reach_an_otlp_collector_when_flushed() {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        let port = listener.local_addr().expect("an address").port();
        let received = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("the exporter connects");
            let mut seen = Vec::new();
            let mut buffer = [0; 8192];
            // Read the head, then as much body as it announces.
            loop {
                let n = stream.read(&mut buffer).expect("a read");
                seen.extend_from_slice(&buffer[..n]);
                let text = String::from_utf8_lossy(&seen).to_ascii_lowercase();
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if seen.len() >= end + 4 + length || n == 0 {
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
            seen
        });
        let provider = provider(
            "wallet-read",
            Some(&format!("http://127.0.0.1:{port}/v1/traces")),
        )
        .expect("a provider");
        let subscriber = tracing_subscriber::registry().with(layer_with(&provider));
        tracing::subscriber::with_default(subscriber, || {
            tracing::info_span!("request", route = "GET /players/{player_id}/wallet")
                .in_scope(|| tracing::info!("handled"));
        });
        provider.force_flush().expect("exported");
        let seen = received.join().expect("the collector's thread");
        let text = String::from_utf8_lossy(&seen);
        assert!(text.starts_with("POST /v1/traces HTTP/1.1"), "{text}");
        assert!(
            text.to_ascii_lowercase()
                .contains("content-type: application/x-protobuf"),
            "{text}"
        );
        for expected in ["request", "wallet-read", "GET /players/{player_id}/wallet"] {
            assert!(text.contains(expected), "{expected} in {text}");
        }
    }
}
