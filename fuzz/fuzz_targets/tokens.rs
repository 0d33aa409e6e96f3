//! Local player tokens (JWT, HS256): any string is refused or accepted without a panic, and
//! only a token signed with the secret is ever accepted.
#![no_main]

use ledger::Timestamp;
use libfuzzer_sys::fuzz_target;
use wire::token::{mint_local_token, verify_local_token};

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
    // Whatever the subject, a minted token round-trips.
    let token = mint_local_token(SECRET, &text, now, 3600);
    assert_eq!(verify_local_token(&token, SECRET, now).as_deref(), Ok(text.as_ref()));
});
