//! Integration signatures: the scheme itself lives in [`wire::signature`] (pure, fuzzed);
//! here only what needs the Lambda request.

use lambda_http::{Request, RequestExt};
pub use wire::signature::*;

/// The raw path a request was sent to (API Gateway's `rawPath`), which its signature covers.
pub fn raw_path(request: &Request) -> &str {
    match request.raw_http_path() {
        "" => request.uri().path(),
        raw => raw,
    }
}
