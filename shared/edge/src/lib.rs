//! Glue shared by every Stakeline function, written once: configuration and clients built
//! per cold start, authentication (player JWT, provider HMAC), problem+json and JSON
//! responses, an HTTPS client, logs, metrics and traces.

pub mod auth;
pub mod aws;
pub mod batch;
pub mod config;
pub mod http;
pub mod https;
pub mod jwt;
pub mod money_route;
pub mod observe;
#[cfg(feature = "otel")]
pub mod otel;
pub mod pages;
pub mod secrets;
pub mod signature;
pub mod state;

pub use config::{Config, JwtSettings, Needs, PlayerAuth, SecretSetting};
pub use secrets::{Integration, Keyring};
pub use state::{
    serve, serve_events, serve_http_with, serve_with, Clock, Keyrings, StartError, State,
};
