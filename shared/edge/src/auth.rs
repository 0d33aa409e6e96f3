//! Players: a JWT whose `sub` must equal the `{player_id}` of the path. (Payment providers
//! and aggregators sign instead: [`crate::signature`].)

use crate::config::{Config, PlayerAuth};
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use ledger::{PlayerId, Timestamp, WalletError};
pub use wire::token::{mint_local_token, verify_local_token, LOCAL_AUDIENCE, LOCAL_ISSUER};

fn unauthenticated(reason: &str) -> WalletError {
    WalletError::Unauthenticated(reason.to_string())
}

/// The `sub` claim API Gateway's JWT authorizer put in the request context, if any.
fn authorizer_subject(request: &Request) -> Option<String> {
    #[allow(irrefutable_let_patterns)]
    let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() else {
        return None;
    };
    context
        .authorizer
        .as_ref()?
        .jwt
        .as_ref()?
        .claims
        .get("sub")
        .cloned()
}

fn bearer_token(request: &Request) -> Option<&str> {
    let value = request.headers().get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The authenticated player's subject (not yet matched against any path).
pub fn player_subject(
    request: &Request,
    config: &Config,
    now: Timestamp,
) -> Result<String, WalletError> {
    if let Some(sub) = authorizer_subject(request) {
        return Ok(sub);
    }
    match &config.player_auth {
        PlayerAuth::ApiGateway => Err(unauthenticated("a bearer token is required")),
        PlayerAuth::LocalHs256 { secret } => {
            let token = bearer_token(request)
                .ok_or_else(|| unauthenticated("a bearer token is required"))?;
            verify_local_token(token, secret, now)
        }
    }
}

/// The player a player route acts for: the token's subject, which must be the path's
/// `{player_id}` (403 otherwise).
pub fn require_player(
    request: &Request,
    config: &Config,
    now: Timestamp,
    path_player: Option<&str>,
) -> Result<PlayerId, WalletError> {
    let sub = player_subject(request, config, now)?;
    let path_player = path_player.unwrap_or_default();
    if sub != path_player {
        return Err(WalletError::Forbidden(
            "the token belongs to another player".into(),
        ));
    }
    PlayerId::new(path_player).map_err(|_| WalletError::PlayerNotFound(path_player.to_string()))
}
