//! One HTTPS client for the calls a function makes outside AWS (the payment provider's
//! payout API, an identity provider's keys): hyper over rustls with aws-lc and the system's
//! roots, HTTP/1.1. Built once per cold start; every call has a deadline and a cap on the
//! answer's size.

pub use http_body_util::Full;
use http_body_util::{BodyExt, Limited};
pub use hyper::body::Bytes;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

pub type Client =
    hyper_util::client::legacy::Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Whether a function may call `url`: `https://` to any host, plain `http://` only to this
/// machine (127.0.0.1, localhost, [::1]: the local suite and the tests).
pub fn allowed_url(url: &str) -> bool {
    let host_of = |rest: &str| {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if let Some(v6) = authority.strip_prefix('[') {
            return v6.split(']').next().unwrap_or_default().to_string();
        }
        authority.split(':').next().unwrap_or_default().to_string()
    };
    if let Some(rest) = url.strip_prefix("https://") {
        return !host_of(rest).is_empty();
    }
    url.strip_prefix("http://")
        .is_some_and(|rest| matches!(host_of(rest).as_str(), "127.0.0.1" | "localhost" | "::1"))
}

/// A request as the client sends it.
pub type Request = http::Request<Full<Bytes>>;

/// A client for `https://` and (for loopback test servers) `http://` addresses.
pub fn client() -> Result<Client, String> {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|e| format!("no TLS roots: {e}"))?
        .https_or_http()
        .enable_http1()
        .build();
    Ok(hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build(https))
}

/// Sends `request` and reads the answer: its status and at most `max_body` bytes of body.
/// No answer within `deadline` (connection included), a longer body or a broken connection
/// is an `Err` saying which.
pub async fn send(
    client: &Client,
    request: Request,
    deadline: Duration,
    max_body: usize,
) -> Result<(u16, Bytes), String> {
    let call = async {
        let response = client.request(request).await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let body = Limited::new(response.into_body(), max_body)
            .collect()
            .await
            .map_err(|e| format!("cannot read the answer: {e}"))?
            .to_bytes();
        Ok((status, body))
    };
    tokio::time::timeout(deadline, call)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {} ms", deadline.as_millis())))
}

/// `GET url`, expecting 200.
pub async fn get(
    client: &Client,
    url: &str,
    deadline: Duration,
    max_body: usize,
) -> Result<Bytes, String> {
    let request = http::Request::get(url)
        .header("accept", "application/json")
        .body(Full::new(Bytes::new()))
        .map_err(|e| format!("cannot request {url}: {e}"))?;
    match send(client, request, deadline, max_body).await {
        Ok((200, body)) => Ok(body),
        Ok((status, _)) => Err(format!("{url} answered {status}")),
        Err(e) => Err(format!("{url}: {e}")),
    }
}
