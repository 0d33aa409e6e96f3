//! The SDK configuration every function loads once per cold start.
//!
//! TLS trusts the roots of Amazon Trust Services, compiled in (`certs/`): every AWS service
//! endpoint the functions call (DynamoDB, Secrets Manager, EventBridge, SQS) presents a chain
//! to one of them. Loading the platform's store instead reads and parses its whole bundle and
//! a directory of as many files on every cold start, the largest part of a function's init
//! (BENCHMARKS.md). `STAKELINE_TLS_ROOTS=native` trusts the platform's store instead (for
//! example behind a TLS-inspecting proxy with its own root).

use crate::config::ConfigError;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_http_client::Builder;

/// Amazon Trust Services' root certificates (PEM), as the Debian `ca-certificates` package
/// ships them.
pub const AMAZON_ROOTS: [(&str, &[u8]); 5] = [
    (
        "Amazon Root CA 1",
        include_bytes!("../certs/Amazon_Root_CA_1.pem"),
    ),
    (
        "Amazon Root CA 2",
        include_bytes!("../certs/Amazon_Root_CA_2.pem"),
    ),
    (
        "Amazon Root CA 3",
        include_bytes!("../certs/Amazon_Root_CA_3.pem"),
    ),
    (
        "Amazon Root CA 4",
        include_bytes!("../certs/Amazon_Root_CA_4.pem"),
    ),
    (
        "Starfield Services Root Certificate Authority - G2",
        include_bytes!("../certs/Starfield_Services_Root_Certificate_Authority_-_G2.pem"),
    ),
];

/// Which roots TLS trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsRoots {
    /// Amazon Trust Services' roots, compiled in (the default).
    Amazon,
    /// The platform's trust store.
    Native,
}

impl TlsRoots {
    /// `STAKELINE_TLS_ROOTS`: unset or `amazon`, or `native`.
    pub fn parse(value: Option<&str>) -> Result<TlsRoots, ConfigError> {
        match value.map(str::trim) {
            None | Some("") | Some("amazon") => Ok(TlsRoots::Amazon),
            Some("native") => Ok(TlsRoots::Native),
            Some(other) => Err(ConfigError::Invalid {
                name: "STAKELINE_TLS_ROOTS",
                reason: format!("{other:?} is neither amazon nor native"),
            }),
        }
    }

    fn trust_store(self) -> TrustStore {
        match self {
            TlsRoots::Amazon => AMAZON_ROOTS
                .iter()
                .fold(TrustStore::empty(), |store, (_, pem)| {
                    store.with_pem_certificate(*pem)
                }),
            TlsRoots::Native => TrustStore::default(),
        }
    }
}

/// The HTTPS client of every SDK client: rustls with aws-lc, trusting `roots`.
pub fn http_client(
    roots: TlsRoots,
) -> Result<aws_sdk_dynamodb::config::SharedHttpClient, ConfigError> {
    let context = TlsContext::builder()
        .with_trust_store(roots.trust_store())
        .build()
        .map_err(|e| ConfigError::Invalid {
            name: "STAKELINE_TLS_ROOTS",
            reason: e.to_string(),
        })?;
    Ok(Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https())
}

/// The SDK configuration from the environment (region, credentials, `AWS_ENDPOINT_URL`),
/// with the HTTPS client above.
pub async fn sdk_config() -> Result<aws_config::SdkConfig, ConfigError> {
    let roots = TlsRoots::parse(std::env::var("STAKELINE_TLS_ROOTS").ok().as_deref())?;
    Ok(aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http_client(roots)?)
        .load()
        .await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_in_roots_are_pem_certificates() {
        for (name, pem) in AMAZON_ROOTS {
            let text = std::str::from_utf8(pem).expect(name);
            assert!(text.starts_with("-----BEGIN CERTIFICATE-----"), "{name}");
            assert_eq!(
                text.matches("-----BEGIN CERTIFICATE-----").count(),
                1,
                "{name}"
            );
            assert!(
                text.trim_end().ends_with("-----END CERTIFICATE-----"),
                "{name}"
            );
        }
        assert!(http_client(TlsRoots::Amazon).is_ok());
    }

    #[test]
    fn the_roots_setting_is_checked() {
        assert_eq!(TlsRoots::parse(None).unwrap(), TlsRoots::Amazon);
        assert_eq!(TlsRoots::parse(Some("amazon")).unwrap(), TlsRoots::Amazon);
        assert_eq!(TlsRoots::parse(Some("native")).unwrap(), TlsRoots::Native);
        assert!(TlsRoots::parse(Some("system")).is_err());
    }
}
