//! What a function builds once per cold start and lends to every invocation.

use crate::config::{Config, ConfigError, Needs, SecretSetting};
use crate::jwt::JwtVerifier;
use crate::secrets::{Integration, Keyring, SecretError};
use lambda_http::{Body, Request, Response};
use ledger::{Timestamp, WalletError};
use std::future::Future;
use std::sync::Arc;
use store::Store;

/// Why a function cannot start: it fails its cold start rather than its requests.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Secret(#[from] SecretError),
}

/// The signing secrets of the integrations a function serves: each route accepts its own
/// integration's keyring only.
#[derive(Debug, Clone, Default)]
pub struct Keyrings {
    pub payment_provider: Option<Arc<Keyring>>,
    pub aggregator: Option<Arc<Keyring>>,
}

impl Keyrings {
    async fn load(
        config: &Config,
        aws: &aws_config::SdkConfig,
        now: Timestamp,
    ) -> Result<Keyrings, SecretError> {
        async fn one(
            setting: &Option<SecretSetting>,
            aws: &aws_config::SdkConfig,
            now: Timestamp,
        ) -> Result<Option<Arc<Keyring>>, SecretError> {
            match setting {
                Some(setting) => Ok(Some(Arc::new(
                    Keyring::from_setting(setting, aws, now).await?,
                ))),
                None => Ok(None),
            }
        }
        Ok(Keyrings {
            payment_provider: one(&config.payment_provider, aws, now).await?,
            aggregator: one(&config.aggregator, aws, now).await?,
        })
    }
}

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
    pub keyrings: Keyrings,
    /// Player tokens verified by the function itself (`PLAYER_JWT_ISSUER`), on the route
    /// with no authorizer in front (see [`crate::jwt`]).
    pub jwt: Option<Arc<JwtVerifier>>,
}

impl State {
    /// The keyring of the integration that signs a route.
    pub fn keyring(&self, integration: Integration) -> Result<&Keyring, WalletError> {
        let keyring = match integration {
            Integration::PaymentProvider => self.keyrings.payment_provider.as_deref(),
            Integration::Aggregator => self.keyrings.aggregator.as_deref(),
        };
        keyring.ok_or_else(|| {
            WalletError::Internal(format!(
                "no signing secret is configured for {integration:?}"
            ))
        })
    }

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

    /// The player of a route that may have no authorizer in front: a token the authorizer
    /// verified (or, locally, a local token) as [`State::path_player`]; otherwise, when the
    /// function verifies tokens itself, the bearer token checked against the issuer's keys.
    pub async fn path_player_verified(
        &self,
        request: &lambda_http::Request,
    ) -> Result<ledger::PlayerId, ledger::WalletError> {
        let Some(verifier) = self
            .jwt
            .as_ref()
            .filter(|_| crate::auth::authorizer_token(request).is_none())
        else {
            return self.path_player(request);
        };
        let token = crate::auth::bearer_token(request)
            .ok_or_else(|| crate::auth::unauthenticated("a bearer token is required"))?;
        let verified = verifier.verify(token, self.clock.now()).await?;
        let path_player = crate::http::path_param(request, "player_id");
        crate::auth::player_named(&verified.sub, path_player.as_deref())
    }

    /// The operator an `/ops` route acts for (see [`crate::auth::require_operator`]).
    pub fn operator(
        &self,
        request: &lambda_http::Request,
    ) -> Result<ledger::action::Operator, ledger::WalletError> {
        crate::auth::require_operator(request, &self.config, self.clock.now())
    }

    /// Reads the configuration, builds the SDK clients (honouring `AWS_ENDPOINT_URL`) and
    /// reads the integration secrets.
    pub async fn from_env(needs: Needs) -> Result<State, StartError> {
        let config = Config::from_env(needs)?;
        let aws = crate::aws::sdk_config().await?;
        let store = Store::new(
            aws_sdk_dynamodb::Client::new(&aws),
            config.table_name.clone(),
        );
        let keyrings = Keyrings::load(&config, &aws, Timestamp::now()).await?;
        let jwt = config
            .player_jwt
            .clone()
            .map(|settings| Arc::new(JwtVerifier::new(settings)));
        Ok(State {
            config,
            store,
            clock: Clock::System,
            keyrings,
            jwt,
        })
    }
}

/// The whole `main` of a function serving `routes`: logs and metrics, state built once,
/// then the handler for every request. The state lives as long as the process.
pub async fn serve<H, F>(
    function: &'static str,
    needs: Needs,
    routes: &'static [&'static str],
    handler: H,
) -> Result<(), lambda_http::Error>
where
    H: Fn(&'static State, Request) -> F + Copy + Send + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    crate::observe::init(function);
    serve_http_with(State::from_env(needs).await?, routes, handler).await
}

/// Serves HTTP requests with any state built once per cold start (call
/// [`crate::observe::init`] before building it): each request observed
/// ([`crate::observe::observed`]), its metrics (and traces) flushed after it.
pub async fn serve_http_with<S, H, F>(
    state: S,
    routes: &'static [&'static str],
    handler: H,
) -> Result<(), lambda_http::Error>
where
    S: Send + Sync + 'static,
    H: Fn(&'static S, Request) -> F + Copy + Send + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let state: &'static S = Box::leak(Box::new(state));
    lambda_http::run(lambda_http::service_fn(
        move |mut request: Request| async move {
            crate::http::settle_correlation_id(&mut request);
            let facts = crate::observe::RequestFacts::of(&request, routes);
            let method = request.method().as_str().to_string();
            let response = crate::observe::observed(facts, &method, handler(state, request)).await;
            crate::observe::flush();
            Ok::<_, std::convert::Infallible>(response)
        },
    ))
    .await
}

/// The whole `main` of a function fed by an event source (SQS, streams) around a wallet
/// [`State`]: logs and metrics, state built once, then `handler` for every event.
pub async fn serve_events<E, R, H, F>(
    function: &'static str,
    needs: Needs,
    handler: H,
) -> Result<(), lambda_http::Error>
where
    E: serde::de::DeserializeOwned + Send + 'static,
    R: serde::Serialize + Send + 'static,
    H: Fn(&'static State, E) -> F + Copy + Send + 'static,
    F: Future<Output = R> + Send + 'static,
{
    crate::observe::init(function);
    serve_with(State::from_env(needs).await?, handler).await
}

/// Serves events with any state built once per cold start (call [`crate::observe::init`]
/// before building it): each invocation observed ([`crate::observe::observed_event`]), its
/// metrics flushed after it. The handler's future is boxed so deep money flows do not
/// inflate the runtime's future.
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
            let request_id = event.context.request_id.clone();
            let trace = event.context.xray_trace_id.clone();
            let answer: std::pin::Pin<Box<dyn Future<Output = R> + Send>> =
                Box::pin(handler(state, event.payload));
            async move {
                let response = crate::observe::observed_event(&request_id, trace, answer).await;
                crate::observe::flush();
                Ok::<_, std::convert::Infallible>(response)
            }
        },
    ))
    .await
}
