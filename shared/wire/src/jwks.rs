//! An identity provider's published keys: its OpenID discovery document and its JSON Web
//! Key Set (RFC 7517). Pure decoders of what the provider's endpoints answer; fetching and
//! verifying belong to `edge::jwt`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;

/// Why a provider's answer is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwksError {
    #[error("the discovery document is unreadable: {0}")]
    Discovery(String),
    #[error("the discovery document names issuer {found:?}, not {expected:?}")]
    IssuerMismatch { expected: String, found: String },
    #[error("the key set is unreadable: {0}")]
    KeySet(String),
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

/// The `jwks_uri` of `{issuer}/.well-known/openid-configuration`, whose `issuer` must be
/// exactly the configured one (OpenID Connect Discovery 1.0, section 4.3).
pub fn jwks_uri(document: &[u8], issuer: &str) -> Result<String, JwksError> {
    let discovery: Discovery =
        serde_json::from_slice(document).map_err(|e| JwksError::Discovery(e.to_string()))?;
    if discovery.issuer != issuer {
        return Err(JwksError::IssuerMismatch {
            expected: issuer.to_string(),
            found: discovery.issuer,
        });
    }
    Ok(discovery.jwks_uri)
}

/// The discovery document's address for `issuer`.
pub fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

/// One RSA signing key: modulus and exponent (big-endian bytes), and the algorithm the
/// provider pinned it to, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsaKey {
    pub kid: String,
    pub n: Vec<u8>,
    pub e: Vec<u8>,
    pub alg: Option<String>,
}

/// The RSA signing keys of a key set, by `kid`. Keys of other types, encryption keys and
/// keys without a `kid` are skipped (a token names its key by `kid`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeySet {
    keys: Vec<RsaKey>,
}

#[derive(Deserialize)]
struct RawSet {
    keys: Vec<serde_json::Value>,
}

impl KeySet {
    pub fn parse(document: &[u8]) -> Result<KeySet, JwksError> {
        let raw: RawSet =
            serde_json::from_slice(document).map_err(|e| JwksError::KeySet(e.to_string()))?;
        let text = |key: &serde_json::Value, field: &str| {
            key.get(field)
                .and_then(serde_json::Value::as_str)
                .map(str::to_string)
        };
        let bytes = |key: &serde_json::Value, field: &str| {
            text(key, field).and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
        };
        let keys = raw
            .keys
            .iter()
            .filter(|key| text(key, "kty").as_deref() == Some("RSA"))
            .filter(|key| matches!(text(key, "use").as_deref(), None | Some("sig")))
            .filter_map(|key| {
                Some(RsaKey {
                    kid: text(key, "kid")?,
                    n: bytes(key, "n").filter(|n| !n.is_empty())?,
                    e: bytes(key, "e").filter(|e| !e.is_empty())?,
                    alg: text(key, "alg"),
                })
            })
            .collect();
        Ok(KeySet { keys })
    }

    /// The key named `kid`.
    pub fn key(&self, kid: &str) -> Option<&RsaKey> {
        self.keys.iter().find(|key| key.kid == kid)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_names_the_key_set_of_exactly_its_issuer() {
        let document =
            br#"{"issuer":"https://idp.example/pool","jwks_uri":"https://idp.example/pool/keys"}"#;
        assert_eq!(
            jwks_uri(document, "https://idp.example/pool").as_deref(),
            Ok("https://idp.example/pool/keys")
        );
        assert!(matches!(
            jwks_uri(document, "https://idp.example/other"),
            Err(JwksError::IssuerMismatch { .. })
        ));
        assert!(matches!(
            jwks_uri(b"{}", "https://idp.example/pool"),
            Err(JwksError::Discovery(_))
        ));
        assert_eq!(
            discovery_url("https://idp.example/pool/"),
            "https://idp.example/pool/.well-known/openid-configuration"
        );
    }

    #[test]
    fn only_rsa_signing_keys_with_an_id_are_kept() {
        let document = br#"{"keys":[
            {"kty":"RSA","kid":"a","alg":"RS256","use":"sig","n":"AQAB","e":"AQAB"},
            {"kty":"RSA","kid":"enc","use":"enc","n":"AQAB","e":"AQAB"},
            {"kty":"EC","kid":"ec","crv":"P-256","x":"AQAB","y":"AQAB"},
            {"kty":"RSA","n":"AQAB","e":"AQAB"},
            {"kty":"RSA","kid":"bad","n":"!!","e":"AQAB"},
            {"kty":"RSA","kid":"b","n":"AQAB","e":"AQAB"}
        ]}"#;
        let set = KeySet::parse(document).expect("a key set");
        assert_eq!(set.len(), 2);
        let a = set.key("a").expect("key a");
        assert_eq!(
            (a.n.as_slice(), a.alg.as_deref()),
            (&[1, 0, 1][..], Some("RS256"))
        );
        assert_eq!(set.key("b").map(|b| b.alg.clone()), Some(None));
        for skipped in ["enc", "ec", "bad", "missing"] {
            assert!(set.key(skipped).is_none(), "{skipped}");
        }
        assert!(KeySet::parse(b"[]").is_err());
        assert!(KeySet::parse(br#"{"keys":[]}"#).is_ok_and(|set| set.is_empty()));
    }
}
