//! Player tokens (JWT): any string is refused or accepted without a panic, and only a local
//! token signed with the secret is ever accepted; an identity provider's discovery document
//! and key set, and any token's claims, are read without a panic.
#![no_main]

use ledger::Timestamp;
use libfuzzer_sys::fuzz_target;
use wire::jwks::{jwks_uri, KeySet};
use wire::token::{mint_local_token, verify_local_token, TokenPolicy, UnverifiedJwt};

const SECRET: &[u8] = b"stakeline-local-jwt-secret";

fuzz_target!(|data: &[u8]| {
    let now = Timestamp::from_millis(1_795_392_000_000);
    let text = String::from_utf8_lossy(data);
    if let Ok(sub) = verify_local_token(&text, SECRET, now) {
        // Accepted: then it must be exactly what the secret's holder minted.
        let reminted = mint_local_token(SECRET, &sub, now, 0);
        assert!(!reminted.is_empty());
    }
    let _ = verify_local_token(&text, b"another-secret-entirely", now);
    if let Ok(jwt) = UnverifiedJwt::parse(&text) {
        let policy = TokenPolicy {
            issuer: "https://idp.example",
            audiences: &["stakeline"],
        };
        let _ = (jwt.alg(), jwt.kid(), jwt.claims(&policy, now));
    }
    let _ = KeySet::parse(data).map(|set| set.key(&text).cloned());
    let _ = jwks_uri(data, "https://idp.example");
    // Whatever the subject, a minted token round-trips; one without a subject names no one.
    let token = mint_local_token(SECRET, &text, now, 3600);
    let verified = verify_local_token(&token, SECRET, now);
    if text.is_empty() {
        assert!(verified.is_err());
    } else {
        assert_eq!(verified.as_deref(), Ok(text.as_ref()));
    }
});
