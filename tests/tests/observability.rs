//! What a function writes while it serves requests, captured and read back: JSON log lines
//! whose request fields (request id, trace id, correlation id, route, player id, outcome,
//! duration) are all there and which never hold an email, a date of birth, a token or a
//! secret; and the EMF metrics documents, parsed: one namespace, bounded dimensions (never
//! a player id), the counts of what happened. Alone in its binary: the metrics recorder is
//! global to the process.

use lambda_http::http::{HeaderValue, Method};
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::Value;
use stakeline_tests::*;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// A metric's name, its dimensions (name, value) and its value in one EMF document.
type Counted = (String, Vec<(String, String)>, f64);

/// A log destination the test reads back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn lines(&self) -> Vec<Value> {
        let text =
            String::from_utf8(self.0.lock().expect("log buffer").clone()).expect("utf-8 logs");
        text.lines()
            .map(|line| {
                serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
            })
            .collect()
    }
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().expect("log buffer").clone()).expect("utf-8 logs")
    }
}

/// The request as Lambda hands it over: with its invocation's request id and trace id, and
/// a correlation id from the caller.
fn invoked(mut request: Request, request_id: &str, correlation: &str) -> Request {
    let mut context = lambda_http::Context::default();
    context.request_id = request_id.to_string();
    context.xray_trace_id = Some(format!("Root=1-6922a700-{request_id}"));
    request.headers_mut().insert(
        "x-correlation-id",
        HeaderValue::from_str(correlation).expect("header"),
    );
    request.with_lambda_context(context)
}

async fn served<F>(
    routes: &[&'static str],
    request: Request,
    handle: impl FnOnce(Request) -> F,
) -> Response<Body>
where
    F: std::future::Future<Output = Response<Body>>,
{
    let facts = edge::observe::RequestFacts::of(&request, routes);
    let method = request.method().as_str().to_string();
    edge::observe::observed(facts, &method, handle(request)).await
}

#[tokio::test]
async fn every_request_leaves_one_complete_log_line_and_bounded_metrics_without_personal_data() {
    let logs = Captured::default();
    let writer = logs.clone();
    let _logging =
        tracing::subscriber::set_default(edge::observe::json_subscriber(Some("info"), move || {
            writer.clone()
        }));
    let collector = edge::observe::install_metrics("observability-test").expect("the EMF recorder");

    let state = state().await;
    let player = unique("player");
    let email = format!("{player}@example.com");
    let body = registration(&email);
    let register = |request: Request| {
        let state = state.clone();
        async move { register::handle(&state, request).await }
    };
    let first = served(
        &register::ROUTES,
        invoked(
            player_request(Method::POST, "/players", None, &[], &body, Some(&player)),
            "req-1",
            "corr-1",
        ),
        register,
    )
    .await;
    assert_eq!(first.status(), 201);
    let again = served(
        &register::ROUTES,
        invoked(
            player_request(Method::POST, "/players", None, &[], &body, Some(&player)),
            "req-2",
            "corr-2",
        ),
        register,
    )
    .await;
    assert_eq!(again.status(), 200, "a replay");
    let deposit = |request: Request| {
        let state = state.clone();
        async move { deposit::handle(&state, request).await }
    };
    let refused = served(
        &deposit::ROUTES,
        invoked(
            signed_deposit_request(
                &player,
                r#"{"deposit_id":"d-1","amount":-5,"currency":"EUR"}"#,
                PROVIDER_SECRET,
                ledger::Timestamp::now().seconds(),
            ),
            "req-3",
            "corr-3",
        ),
        deposit,
    )
    .await;
    assert_eq!(refused.status(), 422);

    // The log: JSON lines; each request's last line has every field.
    let lines = logs.lines();
    let last_lines: Vec<&Value> = lines
        .iter()
        .filter(|l| l["message"] == "request handled")
        .collect();
    assert_eq!(last_lines.len(), 3, "{}", logs.text());
    let expected = [
        ("req-1", "corr-1", "POST /players", "", 201, "OK"),
        ("req-2", "corr-2", "POST /players", "", 200, "OK"),
        (
            "req-3",
            "corr-3",
            "POST /players/{player_id}/deposits",
            player.as_str(),
            422,
            "VALIDATION_FAILED",
        ),
    ];
    for (line, (request_id, correlation, route, path_player, status, outcome)) in
        last_lines.iter().zip(expected)
    {
        let span = &line["span"];
        assert_eq!(span["request_id"], request_id, "{line}");
        assert_eq!(
            span["trace_id"],
            format!("Root=1-6922a700-{request_id}").as_str(),
            "{line}"
        );
        assert_eq!(span["correlation_id"], correlation, "{line}");
        assert_eq!(span["route"], route, "{line}");
        assert_eq!(span["player_id"], path_player, "{line}");
        assert_eq!(line["status"], status, "{line}");
        assert_eq!(line["outcome"], outcome, "{line}");
        assert!(line["duration_ms"].is_u64(), "{line}");
        assert_eq!(line["level"], "INFO", "{line}");
    }
    // Nothing personal or secret, anywhere in the output.
    let text = logs.text();
    for secret in [
        email.as_str(),
        "1990-04-12",
        &token(&player),
        JWT_SECRET,
        PROVIDER_SECRET,
        "Bearer",
    ] {
        assert!(!text.contains(secret), "the logs hold {secret:?}:\n{text}");
    }

    // The metrics: EMF documents, one per label set.
    let mut emitted = Vec::new();
    collector.flush(&mut emitted).expect("flush");
    let documents: Vec<Value> = String::from_utf8(emitted)
        .expect("utf-8 metrics")
        .lines()
        .map(|line| serde_json::from_str(line).expect("an EMF document"))
        .collect();
    assert!(!documents.is_empty());
    let mut counted: Vec<Counted> = Vec::new();
    for document in &documents {
        let directive = &document["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(
            directive["Namespace"],
            edge::observe::NAMESPACE,
            "{document}"
        );
        assert!(document["_aws"]["Timestamp"].is_u64(), "{document}");
        let dimensions: Vec<String> = directive["Dimensions"][0]
            .as_array()
            .expect("one dimension set")
            .iter()
            .filter_map(|d| d.as_str().map(str::to_string))
            .collect();
        assert!(dimensions.contains(&"function".to_string()), "{document}");
        assert_eq!(document["function"], "observability-test");
        let labels: Vec<(String, String)> = dimensions
            .iter()
            .map(|d| (d.clone(), document[d].as_str().unwrap_or("").to_string()))
            .collect();
        for (name, value) in &labels {
            assert!(
                ["function", "route", "outcome", "code", "queue", "type"].contains(&name.as_str()),
                "{name}"
            );
            assert!(
                !value.contains(&player),
                "a player id as a dimension: {document}"
            );
        }
        for metric in directive["Metrics"].as_array().expect("metrics") {
            let name = metric["Name"].as_str().expect("a name").to_string();
            let value = document[&name].as_f64().expect("a value");
            counted.push((name, labels.clone(), value));
        }
    }
    let count = |name: &str, label: (&str, &str)| -> f64 {
        counted
            .iter()
            .filter(|(n, labels, _)| {
                n == name && labels.iter().any(|(k, v)| k == label.0 && v == label.1)
            })
            .map(|(_, _, v)| v)
            .sum()
    };
    assert_eq!(
        count("requests", ("route", "POST /players")),
        2.0,
        "{documents:?}"
    );
    assert_eq!(
        count("requests", ("outcome", "VALIDATION_FAILED")),
        1.0,
        "{documents:?}"
    );
    assert_eq!(
        count("rejections", ("code", "VALIDATION_FAILED")),
        1.0,
        "{documents:?}"
    );
    assert_eq!(
        count("replays", ("route", "POST /players")),
        1.0,
        "{documents:?}"
    );
}
