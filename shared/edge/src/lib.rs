//! Glue shared by every Stakeline function, written once: configuration and clients built
//! per cold start, authentication (player JWT, provider HMAC), problem+json and JSON
//! responses, tracing.

pub mod auth;
pub mod config;
pub mod http;
pub mod money_route;
pub mod state;

pub use config::{Config, Needs, PlayerAuth};
pub use state::{serve, serve_events, serve_with, Clock, State};
