//! Players: a JWT whose `sub` must equal the `{player_id}` of the path. Operators: a JWT
//! carrying the operator scope, whose `sub` names the staff member. (Payment providers and
//! aggregators sign instead: [`crate::signature`].)

use crate::config::{Config, PlayerAuth};
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use ledger::action::Operator;
use ledger::{PlayerId, Timestamp, WalletError};
pub use wire::token::{
    mint_local_scoped_token, mint_local_token, verify_local_claims, verify_local_token,
    VerifiedToken, LOCAL_AUDIENCE, LOCAL_ISSUER,
};

/// The scope an operator's token carries (in its `scope` claim). On AWS the operator
/// routes' JWT authorizer requires it; the function checks it again, and locally it is
/// the only check.
pub const OPERATOR_SCOPE: &str = "stakeline/ops";

pub(crate) fn unauthenticated(reason: &str) -> WalletError {
    WalletError::Unauthenticated(reason.to_string())
}

/// The claims API Gateway's JWT authorizer put in the request context, if any.
pub fn authorizer_token(request: &Request) -> Option<VerifiedToken> {
    #[allow(irrefutable_let_patterns)]
    let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() else {
        return None;
    };
    let jwt = context.authorizer.as_ref()?.jwt.as_ref()?;
    let scope = jwt
        .claims
        .get("scope")
        .cloned()
        .or_else(|| jwt.scopes.as_ref().map(|all| all.join(" ")));
    Some(VerifiedToken {
        sub: jwt.claims.get("sub")?.clone(),
        scope,
    })
}

/// The `Authorization: Bearer` token, if any.
pub fn bearer_token(request: &Request) -> Option<&str> {
    let value = request.headers().get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The caller's verified token: the authorizer's claims on AWS, the local token locally.
fn verified_token(
    request: &Request,
    config: &Config,
    now: Timestamp,
) -> Result<VerifiedToken, WalletError> {
    if let Some(token) = authorizer_token(request) {
        return Ok(token);
    }
    match &config.player_auth {
        PlayerAuth::ApiGateway => Err(unauthenticated("a bearer token is required")),
        PlayerAuth::LocalHs256 { secret } => {
            let token = bearer_token(request)
                .ok_or_else(|| unauthenticated("a bearer token is required"))?;
            verify_local_claims(token, secret, now)
        }
    }
}

/// The authenticated player's subject (not yet matched against any path).
pub fn player_subject(
    request: &Request,
    config: &Config,
    now: Timestamp,
) -> Result<String, WalletError> {
    verified_token(request, config, now).map(|token| token.sub)
}

/// Whether a space-separated `scope` claim grants the operator scope.
pub fn grants_operator_scope(scope: Option<&str>) -> bool {
    scope.is_some_and(|all| all.split(' ').any(|one| one == OPERATOR_SCOPE))
}

/// The operator an `/ops` route acts for: a valid token (401 otherwise) carrying the
/// operator scope (403 otherwise: a player's token never reaches an operator route).
pub fn require_operator(
    request: &Request,
    config: &Config,
    now: Timestamp,
) -> Result<Operator, WalletError> {
    let token = verified_token(request, config, now)?;
    if !grants_operator_scope(token.scope.as_deref()) {
        return Err(WalletError::Forbidden(format!(
            "operator routes need a token with the {OPERATOR_SCOPE} scope"
        )));
    }
    Operator::new(&token.sub)
        .map_err(|_| WalletError::Forbidden("the token's subject cannot name an operator".into()))
}

/// The player a player route acts for: the token's subject, which must be the path's
/// `{player_id}` (403 otherwise).
pub fn require_player(
    request: &Request,
    config: &Config,
    now: Timestamp,
    path_player: Option<&str>,
) -> Result<PlayerId, WalletError> {
    player_named(&player_subject(request, config, now)?, path_player)
}

/// The path's `{player_id}`, when a verified token's subject names it (403 otherwise).
pub fn player_named(sub: &str, path_player: Option<&str>) -> Result<PlayerId, WalletError> {
    let path_player = path_player.unwrap_or_default();
    if sub != path_player {
        return Err(WalletError::Forbidden(
            "the token belongs to another player".into(),
        ));
    }
    PlayerId::new(path_player).map_err(|_| WalletError::PlayerNotFound(path_player.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_operator_scope_grants() {
        assert!(grants_operator_scope(Some("stakeline/ops")));
        assert!(grants_operator_scope(Some("openid stakeline/ops profile")));
        for no in [
            None,
            Some(""),
            Some("stakeline/ops2"),
            Some("stakeline"),
            Some("x/stakeline/ops"),
        ] {
            assert!(!grants_operator_scope(no), "{no:?}");
        }
    }
}
