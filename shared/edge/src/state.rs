//! What a function builds once per cold start and lends to every invocation.

use crate::config::{Config, ConfigError, Needs};
use lambda_http::{Body, Request, Response};
use ledger::Timestamp;
use std::future::Future;
use store::Store;

/// The time as the handlers see it: the system clock in production, a fixed instant when
/// a test replays a recorded (signed) event.
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    System,
    Fixed(Timestamp),
}

impl Clock {
    pub fn now(&self) -> Timestamp {
        match self {
            Clock::System => Timestamp::now(),
            Clock::Fixed(t) => *t,
        }
    }
}

#[derive(Debug, Clone)]
pub struct State {
    pub config: Config,
    pub store: Store,
    pub clock: Clock,
}

impl State {
    /// The player a player route acts for: the token's subject, which must be the path's
    /// `{player_id}` (see [`crate::auth::require_player`]).
    pub fn path_player(
        &self,
        request: &lambda_http::Request,
    ) -> Result<ledger::PlayerId, ledger::WalletError> {
        let path_player = crate::http::path_param(request, "player_id");
        crate::auth::require_player(
            request,
            &self.config,
            self.clock.now(),
            path_player.as_deref(),
        )
    }

    /// Reads the configuration and builds the SDK clients (honouring `AWS_ENDPOINT_URL`).
    pub async fn from_env(needs: Needs) -> Result<State, ConfigError> {
        let config = Config::from_env(needs)?;
        let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let store = Store::new(
            aws_sdk_dynamodb::Client::new(&aws),
            config.table_name.clone(),
        );
        Ok(State {
            config,
            store,
            clock: Clock::System,
        })
    }
}

/// Sets up JSON logs (level from `RUST_LOG`, `info` by default) once per process.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .without_time()
        .with_target(false)
        .try_init();
}

/// The whole `main` of a function: logs, state built once, then the handler for every
/// request. The state lives as long as the process.
pub async fn serve<H, F>(needs: Needs, handler: H) -> Result<(), lambda_http::Error>
where
    H: Fn(&'static State, Request) -> F + Copy + Send + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    init_tracing();
    let state: &'static State = Box::leak(Box::new(State::from_env(needs).await?));
    lambda_http::run(lambda_http::service_fn(
        move |request: Request| async move {
            Ok::<_, std::convert::Infallible>(handler(state, request).await)
        },
    ))
    .await
}

/// The whole `main` of a function fed by an event source (SQS, streams) around a wallet
/// [`State`]: logs, state built once, then `handler` for every event.
pub async fn serve_events<E, R, H, F>(needs: Needs, handler: H) -> Result<(), lambda_http::Error>
where
    E: serde::de::DeserializeOwned + Send + 'static,
    R: serde::Serialize + Send + 'static,
    H: Fn(&'static State, E) -> F + Copy + Send + 'static,
    F: Future<Output = R> + Send + 'static,
{
    init_tracing();
    serve_with(State::from_env(needs).await?, handler).await
}

/// Serves events with any state built once per cold start. The handler's future is boxed
/// so deep money flows do not inflate the runtime's future.
pub async fn serve_with<S, E, R, H, F>(state: S, handler: H) -> Result<(), lambda_http::Error>
where
    S: Send + Sync + 'static,
    E: serde::de::DeserializeOwned + Send + 'static,
    R: serde::Serialize + Send + 'static,
    H: Fn(&'static S, E) -> F + Copy + Send + 'static,
    F: Future<Output = R> + Send + 'static,
{
    let state: &'static S = Box::leak(Box::new(state));
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        move |event: lambda_http::LambdaEvent<E>| {
            let answer: std::pin::Pin<Box<dyn Future<Output = R> + Send>> =
                Box::pin(handler(state, event.payload));
            async move { Ok::<_, std::convert::Infallible>(answer.await) }
        },
    ))
    .await
}
