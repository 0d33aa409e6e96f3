//! Integration secrets at run time. On AWS each function reads its integration's secret from
//! Secrets Manager once per cold start (`*_SECRET_ARN`) and keeps it; after a signature
//! mismatch it reads the secret again, at most once a minute, so a rotation is picked up
//! without a deploy. Locally and in tests the secrets are given literally
//! (`*_HMAC_SECRETS`). The secrets themselves never reach a log or a `Debug` output.

use crate::config::SecretSetting;
use crate::signature::{
    verify_signature, Freshness, HmacSecrets, Presented, SignatureError, Signed,
};
use ledger::Timestamp;
use std::sync::RwLock;

/// How often a keyring may re-read its secret after signature mismatches.
pub const REFRESH_INTERVAL_SECONDS: i64 = 60;

/// Which integration signs a route. A route accepts its own integration's secrets only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Integration {
    PaymentProvider,
    Aggregator,
}

/// Where a keyring's secrets come from.
#[derive(Clone)]
enum Source {
    Fixed,
    SecretsManager {
        client: aws_sdk_secretsmanager::Client,
        secret_id: String,
    },
}

#[derive(Debug, Clone)]
struct Loaded {
    secrets: HmacSecrets,
    /// When the source was last read (for a fixed keyring: never).
    read_at: Option<Timestamp>,
}

/// One integration's current secrets, and how to renew them.
pub struct Keyring {
    source: Source,
    loaded: RwLock<Loaded>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.source {
            Source::Fixed => f.write_str("Keyring(fixed)"),
            Source::SecretsManager { secret_id, .. } => {
                write!(f, "Keyring(secretsmanager {secret_id})")
            }
        }
    }
}

/// A secret could not be read or is not a valid list of secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the secret {secret_id} cannot be used: {reason}")]
pub struct SecretError {
    pub secret_id: String,
    pub reason: String,
}

async fn read_secret(
    client: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
) -> Result<HmacSecrets, SecretError> {
    let failed = |reason: String| SecretError {
        secret_id: secret_id.to_string(),
        reason,
    };
    let output = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| {
            failed(format!(
                "GetSecretValue failed: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
            ))
        })?;
    let text = output
        .secret_string()
        .ok_or_else(|| failed("the secret has no SecretString".into()))?;
    HmacSecrets::parse(text).map_err(failed)
}

impl Keyring {
    /// Secrets given literally (the local suite, tests).
    pub fn fixed(secrets: HmacSecrets) -> Keyring {
        Keyring {
            source: Source::Fixed,
            loaded: RwLock::new(Loaded {
                secrets,
                read_at: None,
            }),
        }
    }

    /// Reads the secret now (cold start); a function whose secret cannot be read does not
    /// start.
    pub async fn from_secrets_manager(
        client: aws_sdk_secretsmanager::Client,
        secret_id: &str,
        now: Timestamp,
    ) -> Result<Keyring, SecretError> {
        let secrets = read_secret(&client, secret_id).await?;
        Ok(Keyring {
            source: Source::SecretsManager {
                client,
                secret_id: secret_id.to_string(),
            },
            loaded: RwLock::new(Loaded {
                secrets,
                read_at: Some(now),
            }),
        })
    }

    /// The keyring a setting describes.
    pub async fn from_setting(
        setting: &SecretSetting,
        aws: &aws_config::SdkConfig,
        now: Timestamp,
    ) -> Result<Keyring, SecretError> {
        match setting {
            SecretSetting::Literal(secrets) => Ok(Keyring::fixed(secrets.clone())),
            SecretSetting::SecretsManager(arn) => {
                Keyring::from_secrets_manager(aws_sdk_secretsmanager::Client::new(aws), arn, now)
                    .await
            }
        }
    }

    fn current(&self) -> Loaded {
        match self.loaded.read() {
            Ok(loaded) => loaded.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn replace(&self, loaded: Loaded) {
        match self.loaded.write() {
            Ok(mut slot) => *slot = loaded,
            Err(poisoned) => *poisoned.into_inner() = loaded,
        }
    }

    /// The secret outbound requests are signed with (a payout to the payment provider): the
    /// first of the list. During a rotation put the new secret first once the provider
    /// accepts it.
    pub fn signing_secret(&self) -> Vec<u8> {
        self.current().secrets.first().to_vec()
    }

    /// Verifies a signature with the current secrets. On a mismatch, when the secrets come
    /// from Secrets Manager and were last read over a minute ago, reads them again (a
    /// rotation may have happened) and verifies once more.
    pub async fn verify(
        &self,
        presented: &Presented<'_>,
        message: &Signed<'_>,
        now: Timestamp,
        freshness: Freshness,
    ) -> Result<(), SignatureError> {
        let loaded = self.current();
        match verify_signature(presented, message, &loaded.secrets, now, freshness) {
            Err(SignatureError::Mismatch) => {}
            other => return other,
        }
        let (Source::SecretsManager { client, secret_id }, Some(read_at)) =
            (&self.source, loaded.read_at)
        else {
            return Err(SignatureError::Mismatch);
        };
        if now.seconds().saturating_sub(read_at.seconds()) < REFRESH_INTERVAL_SECONDS {
            return Err(SignatureError::Mismatch);
        }
        // Whatever the outcome, the next read waits a minute: a flood of bad signatures
        // costs at most one GetSecretValue a minute.
        let secrets = match read_secret(client, secret_id).await {
            Ok(secrets) => secrets,
            Err(error) => {
                tracing::warn!(%error, "cannot re-read the integration secret; keeping the current one");
                loaded.secrets.clone()
            }
        };
        self.replace(Loaded {
            secrets: secrets.clone(),
            read_at: Some(now),
        });
        tracing::info!(secret_id = %secret_id, "integration secret re-read after a signature mismatch");
        verify_signature(presented, message, &secrets, now, freshness)
    }
}
