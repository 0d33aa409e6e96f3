//! Responses: JSON bodies and RFC 9457 problem details, mapped once from [`WalletError`].

use lambda_http::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use lambda_http::{Body, Request, RequestExt, Response};
use ledger::api::WalletView;
use ledger::{Account, ErrorCode, WalletError};
use serde::Serialize;

pub const JSON: &str = "application/json";
pub const PROBLEM_JSON: &str = "application/problem+json";

/// How long a caller waits before retrying a `503 UNAVAILABLE` (with the same id).
pub const RETRY_AFTER_SECONDS: &str = "1";

fn respond(status: u16, content_type: &str, body: Vec<u8>) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = lambda_http::http::StatusCode::from_u16(status)
        .unwrap_or(lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        lambda_http::http::HeaderValue::from_static(if content_type == JSON {
            JSON
        } else {
            PROBLEM_JSON
        }),
    );
    // Balances change: no cache anywhere may keep an answer.
    headers.insert(
        CACHE_CONTROL,
        lambda_http::http::HeaderValue::from_static("no-store"),
    );
    response
}

/// A JSON response.
pub fn json<T: Serialize>(status: u16, body: &T) -> Response<Body> {
    match serde_json::to_vec(body) {
        Ok(bytes) => respond(status, JSON, bytes),
        Err(e) => problem(
            &WalletError::Internal(format!("cannot encode the response: {e}")),
            "",
            None,
        ),
    }
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    code: &'a str,
    detail: String,
    instance: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [ledger::FieldError],
    #[serde(skip_serializing_if = "Option::is_none")]
    wallet: Option<WalletView>,
}

/// The HTTP status of each stable code, as API.md gives it.
pub fn status_of(code: ErrorCode) -> u16 {
    match code {
        ErrorCode::ValidationFailed
        | ErrorCode::Underage
        | ErrorCode::CurrencyMismatch
        | ErrorCode::InsufficientFunds
        | ErrorCode::DepositLimitReached
        | ErrorCode::StakeLimitExceeded => 422,
        ErrorCode::EmailTaken
        | ErrorCode::PlayerExists
        | ErrorCode::DuplicateTransaction
        | ErrorCode::BetAlreadySettled
        | ErrorCode::BetRolledBack
        | ErrorCode::WithdrawalNotPending
        | ErrorCode::WithdrawalAlreadyFinal => 409,
        ErrorCode::Unauthenticated => 401,
        ErrorCode::Forbidden | ErrorCode::PlayerBlocked => 403,
        ErrorCode::PlayerNotFound
        | ErrorCode::BetNotFound
        | ErrorCode::WithdrawalNotFound
        | ErrorCode::QueueNotFound => 404,
        ErrorCode::Internal => 500,
        ErrorCode::Unavailable => 503,
    }
}

/// An `application/problem+json` response for `error`. `wallet` is the current wallet,
/// attached on money routes when the player exists (never to an unauthenticated caller).
pub fn problem(error: &WalletError, instance: &str, wallet: Option<&Account>) -> Response<Body> {
    let code = error.code();
    let detail = match error {
        // Internal details go to the log, not to the caller.
        WalletError::Internal(reason) => {
            tracing::error!(%reason, %instance, "internal error");
            "an internal error occurred; it has been logged".to_string()
        }
        WalletError::Unavailable(reason) => {
            tracing::warn!(%reason, %instance, "unavailable");
            "the wallet is busy or a dependency is unavailable; retry with the same id".to_string()
        }
        other => other.to_string(),
    };
    let wallet = match error {
        WalletError::Unauthenticated(_) => None,
        _ => wallet.map(WalletView::of),
    };
    let body = Problem {
        kind: code.problem_type(),
        title: code.title(),
        status: status_of(code),
        code: code.as_str(),
        detail,
        instance,
        errors: error.field_errors(),
        wallet,
    };
    match serde_json::to_vec(&body) {
        Ok(bytes) => {
            let mut response = respond(status_of(code), PROBLEM_JSON, bytes);
            // For the request's log line and metrics (`crate::observe::outcome`).
            response.extensions_mut().insert(code);
            if code == ledger::ErrorCode::Unavailable {
                response.headers_mut().insert(
                    lambda_http::http::header::RETRY_AFTER,
                    lambda_http::http::HeaderValue::from_static(RETRY_AFTER_SECONDS),
                );
            }
            response
        }
        Err(_) => respond(500, PROBLEM_JSON, br#"{"type":"urn:stakeline:problem:internal","title":"Internal error","status":500,"code":"INTERNAL"}"#.to_vec()),
    }
}

/// The value of a path parameter (`{player_id}`) as API Gateway or the local router filled it.
pub fn path_param(request: &Request, name: &str) -> Option<String> {
    request.path_parameters().first(name).map(str::to_owned)
}

/// The value of a query string parameter.
pub fn query_param(request: &Request, name: &str) -> Option<String> {
    request
        .query_string_parameters()
        .first(name)
        .map(str::to_owned)
}

/// Query parameters that the route does not know: refused like unknown body fields.
pub fn unknown_query_params(request: &Request, known: &[&str]) -> Result<(), WalletError> {
    let params = request.query_string_parameters();
    let mut unknown: Vec<String> = params
        .iter()
        .map(|(name, _)| name.to_string())
        .filter(|name| !known.contains(&name.as_str()))
        .collect();
    unknown.sort();
    unknown.dedup();
    match unknown.first() {
        None => Ok(()),
        Some(name) => Err(WalletError::field(
            name.clone(),
            format!(
                "unknown query parameter; this route takes {}",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ),
        )),
    }
}

pub const CORRELATION_HEADER: &str = "x-correlation-id";

/// A request's correlation id once settled (see [`settle_correlation_id`]).
#[derive(Debug, Clone)]
struct Correlation(String);

/// Settles the request's correlation id once, before it is handled, so that its log lines and
/// the events it causes carry the same one (the fallback is a clock reading, which two
/// computations would not agree on).
pub fn settle_correlation_id(request: &mut Request) {
    let id = correlation_id(request);
    request.extensions_mut().insert(Correlation(id));
}

/// The id that ties this request to the events it causes: the caller's `X-Correlation-Id`
/// when it is a well-formed id, else the Lambda request id (as settled for the request, when
/// it was).
pub fn correlation_id(request: &Request) -> String {
    if let Some(Correlation(id)) = request.extensions().get::<Correlation>() {
        return id.clone();
    }
    request
        .headers()
        .get(CORRELATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| ledger::ClientId::new(v).is_ok())
        .map(str::to_owned)
        .or_else(|| request.lambda_context_ref().map(|c| c.request_id.clone()))
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| format!("local-{}", ledger::Timestamp::now().millis()))
}

/// The request path, used as the problem's `instance`.
pub fn instance(request: &Request) -> String {
    request.uri().path().to_string()
}

/// Whether `path` matches a route template such as `/players/{player_id}/limits`.
pub fn path_matches(path: &str, template: &str) -> bool {
    let mut path = path.trim_end_matches('/').split('/');
    let mut template = template.split('/');
    loop {
        match (path.next(), template.next()) {
            (None, None) => return true,
            (Some(p), Some(t)) if t.starts_with('{') && t.ends_with('}') && !p.is_empty() => {}
            (Some(p), Some(t)) if p == t => {}
            _ => return false,
        }
    }
}

/// The route key (`METHOD /template`, as API Gateway names routes) of the first of `routes`
/// the request's method and path match: what a function serving several routes dispatches on
/// with one `match`.
pub fn route_key(request: &Request, routes: &[&'static str]) -> Option<&'static str> {
    let path = instance(request);
    let method = request.method().as_str();
    routes.iter().copied().find(|key| {
        key.split_once(' ')
            .is_some_and(|(m, template)| m == method && path_matches(&path, template))
    })
}

/// The refusal of a request no route of this function serves (API Gateway never sends one).
pub fn unrouted(request: &Request, function: &str) -> WalletError {
    WalletError::Internal(format!(
        "{} {} is not served by {function}",
        request.method(),
        instance(request)
    ))
}

/// The default and largest page of a paged route (`limit`).
pub const DEFAULT_PAGE: usize = 50;
pub const MAX_PAGE: usize = 100;

/// A paged route's `limit`: 1 to [`MAX_PAGE`] in decimal digits, [`DEFAULT_PAGE`] when absent.
pub fn parse_limit(value: Option<&str>) -> Result<usize, ledger::FieldError> {
    let Some(value) = value else {
        return Ok(DEFAULT_PAGE);
    };
    value
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=MAX_PAGE).contains(n) && value.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            ledger::FieldError::new("limit", format!("must be an integer from 1 to {MAX_PAGE}"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_settled_correlation_id_is_the_one_every_reader_gets() {
        let mut request = Request::new(Body::Empty);
        request
            .headers_mut()
            .insert(CORRELATION_HEADER, "order-7".parse().expect("a header"));
        settle_correlation_id(&mut request);
        // Whatever happens to the request afterwards, the settled id stands.
        request
            .headers_mut()
            .insert(CORRELATION_HEADER, "order-8".parse().expect("a header"));
        assert_eq!(correlation_id(&request), "order-7");

        let mut unnamed = Request::new(Body::Empty);
        settle_correlation_id(&mut unnamed);
        let settled = correlation_id(&unnamed);
        assert!(settled.starts_with("local-"), "{settled}");
        unnamed
            .headers_mut()
            .insert(CORRELATION_HEADER, "order-9".parse().expect("a header"));
        assert_eq!(correlation_id(&unnamed), settled);
    }

    #[test]
    fn page_limits_are_bounded() {
        assert_eq!(parse_limit(None), Ok(50));
        assert_eq!(parse_limit(Some("1")), Ok(1));
        assert_eq!(parse_limit(Some("100")), Ok(100));
        for bad in ["0", "101", "-1", "+5", "ten", "", "1.5"] {
            assert!(parse_limit(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn route_keys_match_method_and_path() {
        let routes = ["POST /players", "PUT /players/{player_id}/limits"];
        let request = |method: &str, path: &str| {
            lambda_http::http::Request::builder()
                .method(method)
                .uri(path)
                .body(Body::Empty)
                .unwrap()
        };
        assert_eq!(
            route_key(&request("POST", "/players"), &routes),
            Some("POST /players")
        );
        assert_eq!(
            route_key(&request("PUT", "/players/p-1/limits"), &routes),
            Some("PUT /players/{player_id}/limits")
        );
        assert_eq!(route_key(&request("GET", "/players"), &routes), None);
        assert_eq!(
            route_key(&request("PUT", "/players//limits"), &routes),
            None
        );
    }

    #[test]
    fn statuses_follow_the_contract() {
        assert_eq!(status_of(ErrorCode::ValidationFailed), 422);
        assert_eq!(status_of(ErrorCode::Underage), 422);
        assert_eq!(status_of(ErrorCode::EmailTaken), 409);
        assert_eq!(status_of(ErrorCode::PlayerExists), 409);
        assert_eq!(status_of(ErrorCode::Unauthenticated), 401);
        assert_eq!(status_of(ErrorCode::Forbidden), 403);
        assert_eq!(status_of(ErrorCode::PlayerNotFound), 404);
        assert_eq!(status_of(ErrorCode::PlayerBlocked), 403);
        assert_eq!(status_of(ErrorCode::CurrencyMismatch), 422);
        assert_eq!(status_of(ErrorCode::InsufficientFunds), 422);
        assert_eq!(status_of(ErrorCode::DepositLimitReached), 422);
        assert_eq!(status_of(ErrorCode::StakeLimitExceeded), 422);
        assert_eq!(status_of(ErrorCode::DuplicateTransaction), 409);
        assert_eq!(status_of(ErrorCode::BetNotFound), 404);
        assert_eq!(status_of(ErrorCode::BetAlreadySettled), 409);
        assert_eq!(status_of(ErrorCode::BetRolledBack), 409);
        assert_eq!(status_of(ErrorCode::WithdrawalNotFound), 404);
        assert_eq!(status_of(ErrorCode::WithdrawalNotPending), 409);
        assert_eq!(status_of(ErrorCode::WithdrawalAlreadyFinal), 409);
        assert_eq!(status_of(ErrorCode::Internal), 500);
    }

    #[test]
    fn routes_match_their_templates_only() {
        assert!(path_matches("/players", "/players"));
        assert!(path_matches(
            "/players/p1/limits",
            "/players/{player_id}/limits"
        ));
        assert!(path_matches(
            "/players/p1/limits/",
            "/players/{player_id}/limits"
        ));
        assert!(!path_matches(
            "/players//limits",
            "/players/{player_id}/limits"
        ));
        assert!(!path_matches(
            "/players/p1/exclusions",
            "/players/{player_id}/limits"
        ));
        assert!(!path_matches("/players/p1", "/players/{player_id}/limits"));
        assert!(!path_matches(
            "/players/p1/limits/x",
            "/players/{player_id}/limits"
        ));
    }

    #[test]
    fn unavailable_tells_when_to_retry_and_hides_the_reason() {
        let response = problem(
            &WalletError::Unavailable("DynamoDB throttled TransactWriteItems".into()),
            "/players/p/deposits",
            None,
        );
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()["retry-after"], RETRY_AFTER_SECONDS);
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(body["code"], "UNAVAILABLE");
        assert!(!body.to_string().contains("DynamoDB"), "{body}");
        let internal = problem(&WalletError::Internal("x".into()), "/", None);
        assert!(internal.headers().get("retry-after").is_none());
    }

    #[test]
    fn problems_carry_the_contract_members() {
        let response = problem(
            &WalletError::field("/amount", "must be positive"),
            "/players/p/deposits",
            None,
        );
        assert_eq!(response.status(), 422);
        assert_eq!(response.headers()[CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(body["type"], "urn:stakeline:problem:validation-failed");
        assert_eq!(body["code"], "VALIDATION_FAILED");
        assert_eq!(body["status"], 422);
        assert_eq!(body["errors"][0]["field"], "/amount");
        assert!(body.get("wallet").is_none());
    }

    #[test]
    fn internal_details_stay_in_the_log() {
        let response = problem(
            &WalletError::Internal("table xyz is gone".into()),
            "/x",
            None,
        );
        assert_eq!(response.status(), 500);
        let text = String::from_utf8_lossy(response.body()).to_string();
        assert!(!text.contains("xyz"), "{text}");
    }
}
