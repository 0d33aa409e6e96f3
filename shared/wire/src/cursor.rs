//! The opaque cursor of `GET /players/{player_id}/transactions`: what a client sends back
//! to fetch the next page. A decoder of outside input, fuzzed (`fuzz/`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ledger::FieldError;

const CURSOR_PREFIX: &str = "entries-before:";

/// An opaque cursor: the position of the last entry of the previous page.
pub fn encode_cursor(seq: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{seq}"))
}

pub fn decode_cursor(cursor: &str) -> Result<u64, FieldError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| {
            text.strip_prefix(CURSOR_PREFIX)
                .and_then(|n| n.parse::<u64>().ok())
        })
        .filter(|seq| *seq >= 1)
        .ok_or_else(|| FieldError::new("cursor", "is not a cursor this API returned"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        assert_eq!(decode_cursor(&encode_cursor(42)), Ok(42));
        for bad in [
            "",
            "abc",
            "!!!",
            &URL_SAFE_NO_PAD.encode("entries-before:x"),
            &URL_SAFE_NO_PAD.encode("entries-before:0"),
        ] {
            assert!(decode_cursor(bad).is_err(), "{bad}");
        }
    }
}
