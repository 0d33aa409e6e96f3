//! Configuration, read once per cold start from the environment the template sets.

use crate::signature::HmacSecrets;

/// How players prove who they are.
#[derive(Clone)]
pub enum PlayerAuth {
    /// On AWS: API Gateway's JWT authorizer validated the token; the function reads its
    /// claims from the request context.
    ApiGateway,
    /// The local suite (no authorizer in front of the functions): the function itself
    /// verifies an HS256 token signed with this development secret.
    LocalHs256 { secret: Vec<u8> },
}

impl std::fmt::Debug for PlayerAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlayerAuth::ApiGateway => f.write_str("ApiGateway"),
            PlayerAuth::LocalHs256 { .. } => f.write_str("LocalHs256 { secret: <redacted> }"),
        }
    }
}

/// Where an integration's signing secrets come from.
#[derive(Debug, Clone)]
pub enum SecretSetting {
    /// On AWS: a Secrets Manager secret (its ARN), read at cold start and again after a
    /// signature mismatch at most once a minute (see [`crate::secrets::Keyring`]).
    SecretsManager(String),
    /// The local suite and tests: the secrets themselves (comma-separated for rotation).
    Literal(HmacSecrets),
}

/// An identity provider whose player tokens the function verifies itself, on the one route
/// API Gateway's JWT authorizer cannot guard (see [`crate::jwt`]): the same issuer and
/// audiences as the authorizer's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtSettings {
    /// `PLAYER_JWT_ISSUER`: the exact `iss`, whose OpenID discovery document names its keys.
    pub issuer: String,
    /// `PLAYER_JWT_AUDIENCE`: comma-separated; a token's `aud` or `client_id` must be one.
    pub audiences: Vec<String>,
}

impl JwtSettings {
    fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Option<Self>, ConfigError> {
        let Some(issuer) = lookup("PLAYER_JWT_ISSUER").filter(|v| !v.trim().is_empty()) else {
            return Ok(None);
        };
        let invalid = |name, reason: String| ConfigError::Invalid { name, reason };
        if !crate::https::allowed_url(&issuer) {
            return Err(invalid(
                "PLAYER_JWT_ISSUER",
                format!("{issuer:?} is not an https:// URL (http:// only on a loopback address)"),
            ));
        }
        let audiences: Vec<String> = lookup("PLAYER_JWT_AUDIENCE")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect();
        if audiences.is_empty() {
            return Err(ConfigError::Missing("PLAYER_JWT_AUDIENCE"));
        }
        Ok(Some(JwtSettings { issuer, audiences }))
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub table_name: String,
    pub player_auth: PlayerAuth,
    /// Secrets a payment provider may sign with (several during a rotation).
    pub payment_provider: Option<SecretSetting>,
    /// Secrets the game aggregator may sign with.
    pub aggregator: Option<SecretSetting>,
    pub min_age: u8,
    /// The withdrawal risk rules, for the functions that need them.
    pub risk_rules: Option<ledger::risk::RiskRules>,
    /// Player tokens this function verifies itself when no authorizer did (`wallet-read`).
    pub player_jwt: Option<JwtSettings>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// What a function needs beyond the common configuration; checked at cold start so a
/// misconfigured function fails to start instead of failing requests.
#[derive(Debug, Clone, Copy, Default)]
pub struct Needs {
    pub payment_provider: bool,
    pub aggregator: bool,
    /// The withdrawal risk rules (`RISK_RULES`, validated by `ledger::risk::parse_rules`).
    pub risk_rules: bool,
}

impl Config {
    pub fn from_env(needs: Needs) -> Result<Config, ConfigError> {
        Config::from_lookup(needs, |name| std::env::var(name).ok())
    }

    pub fn from_lookup(
        needs: Needs,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let table_name = lookup("TABLE_NAME")
            .filter(|v| !v.trim().is_empty())
            .ok_or(ConfigError::Missing("TABLE_NAME"))?;
        let player_auth = match lookup("PLAYER_AUTH").as_deref().unwrap_or("apigateway") {
            "apigateway" => PlayerAuth::ApiGateway,
            "local-hs256" => {
                let secret = lookup("LOCAL_JWT_SECRET")
                    .filter(|s| !s.is_empty())
                    .ok_or(ConfigError::Missing("LOCAL_JWT_SECRET"))?;
                PlayerAuth::LocalHs256 {
                    secret: secret.into_bytes(),
                }
            }
            other => {
                return Err(ConfigError::Invalid {
                    name: "PLAYER_AUTH",
                    reason: format!("{other:?} is neither apigateway nor local-hs256"),
                })
            }
        };
        let payment_provider = secrets(
            &lookup,
            (
                "PAYMENT_PROVIDER_SECRET_ARN",
                "PAYMENT_PROVIDER_HMAC_SECRETS",
            ),
            needs.payment_provider,
        )?;
        let aggregator = secrets(
            &lookup,
            ("AGGREGATOR_SECRET_ARN", "AGGREGATOR_HMAC_SECRETS"),
            needs.aggregator,
        )?;
        let min_age = match lookup("MIN_PLAYER_AGE") {
            None => ledger::register::DEFAULT_MIN_AGE,
            Some(v) => v
                .parse::<u8>()
                .ok()
                .filter(|a| (18..=25).contains(a))
                .ok_or(ConfigError::Invalid {
                    name: "MIN_PLAYER_AGE",
                    reason: format!("{v:?} is not an age from 18 to 25"),
                })?,
        };
        let risk_rules =
            match (lookup("RISK_RULES"), needs.risk_rules) {
                (None, true) => return Err(ConfigError::Missing("RISK_RULES")),
                (None, false) => None,
                (Some(json), _) => Some(ledger::risk::parse_rules(&json).map_err(|reason| {
                    ConfigError::Invalid {
                        name: "RISK_RULES",
                        reason,
                    }
                })?),
            };
        // Locally every function verifies local tokens; an identity provider's issuer (the
        // template's JwtIssuer, passed to every local function alike) means nothing there.
        let player_jwt = match player_auth {
            PlayerAuth::ApiGateway => JwtSettings::from_lookup(&lookup)?,
            PlayerAuth::LocalHs256 { .. } => None,
        };
        Ok(Config {
            table_name,
            player_auth,
            payment_provider,
            aggregator,
            min_age,
            risk_rules,
            player_jwt,
        })
    }
}

/// An integration's secrets: a Secrets Manager ARN (`names.0`) or, locally, the secrets
/// themselves (`names.1`); never both. Required when the function needs them, validated when
/// set.
fn secrets(
    lookup: &impl Fn(&str) -> Option<String>,
    names: (&'static str, &'static str),
    required: bool,
) -> Result<Option<SecretSetting>, ConfigError> {
    let (arn_name, literal_name) = names;
    let arn = lookup(arn_name).filter(|v| !v.trim().is_empty());
    let literal = lookup(literal_name)
        .map(|v| HmacSecrets::parse(&v))
        .transpose()
        .map_err(|reason| ConfigError::Invalid {
            name: literal_name,
            reason,
        })?;
    let setting = match (arn, literal) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::Invalid {
                name: arn_name,
                reason: format!("{literal_name} is set too: use one source of secrets"),
            })
        }
        (Some(arn), None) if !arn.starts_with("arn:") => {
            return Err(ConfigError::Invalid {
                name: arn_name,
                reason: format!("{arn:?} is not an ARN"),
            })
        }
        (Some(arn), None) => Some(SecretSetting::SecretsManager(arn)),
        (None, Some(literal)) => Some(SecretSetting::Literal(literal)),
        (None, None) => None,
    };
    if required && setting.is_none() {
        return Err(ConfigError::Missing(arn_name));
    }
    Ok(setting)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_to_api_gateway_auth_and_age_18() {
        let c = Config::from_lookup(Needs::default(), lookup(&[("TABLE_NAME", "t")])).unwrap();
        assert!(matches!(c.player_auth, PlayerAuth::ApiGateway));
        assert_eq!(c.min_age, 18);
        assert!(c.payment_provider.is_none());
    }

    #[test]
    fn refuses_missing_or_invalid_settings() {
        assert_eq!(
            Config::from_lookup(Needs::default(), lookup(&[])).unwrap_err(),
            ConfigError::Missing("TABLE_NAME")
        );
        assert_eq!(
            Config::from_lookup(
                Needs::default(),
                lookup(&[("TABLE_NAME", "t"), ("PLAYER_AUTH", "local-hs256")])
            )
            .unwrap_err(),
            ConfigError::Missing("LOCAL_JWT_SECRET")
        );
        assert!(Config::from_lookup(
            Needs::default(),
            lookup(&[("TABLE_NAME", "t"), ("PLAYER_AUTH", "none")])
        )
        .is_err());
        assert!(Config::from_lookup(
            Needs::default(),
            lookup(&[("TABLE_NAME", "t"), ("MIN_PLAYER_AGE", "16")])
        )
        .is_err());
        assert_eq!(
            Config::from_lookup(
                Needs {
                    payment_provider: true,
                    aggregator: false,
                    ..Needs::default()
                },
                lookup(&[("TABLE_NAME", "t")])
            )
            .unwrap_err(),
            ConfigError::Missing("PAYMENT_PROVIDER_SECRET_ARN")
        );
        assert!(Config::from_lookup(
            Needs {
                payment_provider: true,
                aggregator: false,
                ..Needs::default()
            },
            lookup(&[
                ("TABLE_NAME", "t"),
                (
                    "PAYMENT_PROVIDER_HMAC_SECRETS",
                    "a-local-secret-of-16-bytes"
                ),
                (
                    "PAYMENT_PROVIDER_SECRET_ARN",
                    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:p-AbCdEf"
                ),
            ])
        )
        .is_err());
        assert!(Config::from_lookup(
            Needs {
                payment_provider: false,
                aggregator: true,
                ..Needs::default()
            },
            lookup(&[
                ("TABLE_NAME", "t"),
                ("AGGREGATOR_SECRET_ARN", "stakeline/x")
            ])
        )
        .is_err());
        assert!(Config::from_lookup(
            Needs {
                payment_provider: true,
                aggregator: false,
                ..Needs::default()
            },
            lookup(&[
                ("TABLE_NAME", "t"),
                ("PAYMENT_PROVIDER_HMAC_SECRETS", " , ")
            ])
        )
        .is_err());
    }

    #[test]
    fn risk_rules_are_required_where_needed_and_always_validated() {
        let needs = Needs {
            risk_rules: true,
            ..Needs::default()
        };
        assert_eq!(
            Config::from_lookup(needs, lookup(&[("TABLE_NAME", "t")])).unwrap_err(),
            ConfigError::Missing("RISK_RULES")
        );
        let rules = Config::from_lookup(
            needs,
            lookup(&[
                ("TABLE_NAME", "t"),
                ("RISK_RULES", ledger::risk::DEFAULT_RULES),
            ]),
        )
        .unwrap()
        .risk_rules
        .unwrap();
        assert!(rules.turnover.is_some());
        assert!(matches!(
            Config::from_lookup(
                Needs::default(),
                lookup(&[
                    ("TABLE_NAME", "t"),
                    ("RISK_RULES", r#"{"velocity":{"max_per_24h":0}}"#)
                ])
            ),
            Err(ConfigError::Invalid {
                name: "RISK_RULES",
                ..
            })
        ));
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let c = Config::from_lookup(
            Needs {
                payment_provider: true,
                ..Needs::default()
            },
            lookup(&[
                ("TABLE_NAME", "t"),
                ("PLAYER_AUTH", "local-hs256"),
                ("LOCAL_JWT_SECRET", "jwt-secret-value"),
                ("PAYMENT_PROVIDER_HMAC_SECRETS", "hmac-secret-value"),
            ]),
        )
        .unwrap();
        let debug = format!("{c:?}");
        assert!(
            !debug.contains("jwt-secret-value") && !debug.contains("hmac-secret-value"),
            "{debug}"
        );
    }

    #[test]
    fn an_own_token_issuer_is_https_or_loopback_with_an_audience() {
        let read = |pairs: &[(&str, &str)]| {
            let mut all = vec![("TABLE_NAME", "t")];
            all.extend_from_slice(pairs);
            Config::from_lookup(Needs::default(), lookup(&all)).map(|c| c.player_jwt)
        };
        assert_eq!(read(&[]), Ok(None));
        assert_eq!(
            read(&[
                (
                    "PLAYER_JWT_ISSUER",
                    "https://cognito-idp.eu-west-1.amazonaws.com/pool"
                ),
                ("PLAYER_JWT_AUDIENCE", " app-1 , app-2,"),
            ]),
            Ok(Some(JwtSettings {
                issuer: "https://cognito-idp.eu-west-1.amazonaws.com/pool".into(),
                audiences: vec!["app-1".into(), "app-2".into()],
            }))
        );
        for local in [
            "http://127.0.0.1:8081/idp",
            "http://localhost:9",
            "http://[::1]:9/x",
        ] {
            let settings = read(&[("PLAYER_JWT_ISSUER", local), ("PLAYER_JWT_AUDIENCE", "a")]);
            assert!(matches!(settings, Ok(Some(_))), "{local}");
        }
        for refused in [
            "http://idp.example",
            "https://",
            "ftp://x",
            "idp.example",
            "http://127.0.0.1.evil",
        ] {
            let settings = read(&[("PLAYER_JWT_ISSUER", refused), ("PLAYER_JWT_AUDIENCE", "a")]);
            assert!(
                matches!(
                    settings,
                    Err(ConfigError::Invalid {
                        name: "PLAYER_JWT_ISSUER",
                        ..
                    })
                ),
                "{refused}"
            );
        }
        assert_eq!(
            read(&[
                ("PLAYER_JWT_ISSUER", "https://idp.example"),
                ("PLAYER_JWT_AUDIENCE", " , ")
            ]),
            Err(ConfigError::Missing("PLAYER_JWT_AUDIENCE"))
        );
        // The local suite's functions verify local tokens only.
        let local = Config::from_lookup(
            Needs::default(),
            lookup(&[
                ("TABLE_NAME", "t"),
                ("PLAYER_AUTH", "local-hs256"),
                ("LOCAL_JWT_SECRET", "s"),
                ("PLAYER_JWT_ISSUER", "stakeline-local"),
                ("PLAYER_JWT_AUDIENCE", "stakeline"),
            ]),
        );
        assert_eq!(local.map(|c| c.player_jwt), Ok(None));
    }
}
