//! Signature headers: any timestamp, signature, method, path and body is verified without a
//! panic; a signature made over them verifies, and over anything else it does not.
#![no_main]

use arbitrary::Arbitrary;
use ledger::Timestamp;
use libfuzzer_sys::fuzz_target;
use wire::signature::{
    sign, verify_signature, HmacSecrets, Presented, SignatureError, Signed, REQUEST_FRESHNESS,
};

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    timestamp: Option<&'a str>,
    signature: Option<&'a str>,
    method: &'a str,
    path: &'a str,
    body: &'a [u8],
    secrets: &'a str,
    now_offset: i16,
}

fuzz_target!(|input: Input<'_>| {
    let now = Timestamp::from_millis(1_795_392_000_000);
    let message = Signed {
        method: input.method,
        path: input.path,
        body: input.body,
    };
    let parsed = HmacSecrets::parse(input.secrets);
    let secrets = parsed
        .clone()
        .unwrap_or_else(|_| HmacSecrets::parse("a-fixed-secret-of-24-bytes").expect("valid"));
    let presented = Presented {
        timestamp: input.timestamp,
        signature: input.signature,
    };
    let _ = verify_signature(&presented, &message, &secrets, now, REQUEST_FRESHNESS);

    // A signature made now over exactly this message verifies.
    let ts = (now.seconds() + i64::from(input.now_offset) % 300).to_string();
    let key = input.secrets.split(',').map(str::trim).find(|s| !s.is_empty());
    if let (Ok(_), Some(key)) = (parsed, key) {
        let good = sign(key.as_bytes(), &ts, &message);
        let presented = Presented {
            timestamp: Some(&ts),
            signature: Some(&good),
        };
        assert_eq!(
            verify_signature(&presented, &message, &secrets, now, REQUEST_FRESHNESS),
            Ok(())
        );
        // The same signature on another path is refused.
        let mut other_path = input.path.to_string();
        other_path.push('x');
        let moved = Signed {
            path: &other_path,
            ..message
        };
        assert_eq!(
            verify_signature(&presented, &moved, &secrets, now, REQUEST_FRESHNESS),
            Err(SignatureError::Mismatch)
        );
    }
});
