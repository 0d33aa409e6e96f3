//! The opaque cursors of `GET /players/{player_id}/transactions` and of
//! `GET /ops/withdrawals`: what a client sends back to fetch the next page. Decoders of
//! outside input, fuzzed (`fuzz/`).

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

const QUEUE_PREFIX: &str = "withdrawals-after:";

/// An opaque cursor: the queue position of the last withdrawal of the previous page
/// (`<created millis, 13 digits>#<withdrawal id>`, as `store::keys::queue_position` makes it).
pub fn encode_queue_cursor(position: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{QUEUE_PREFIX}{position}"))
}

/// The position a queue cursor holds, checked to have a queue position's shape.
pub fn decode_queue_cursor(cursor: &str) -> Result<String, FieldError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix(QUEUE_PREFIX).map(str::to_string))
        .filter(|position| {
            position.split_once('#').is_some_and(|(millis, id)| {
                millis.len() == 13
                    && millis.bytes().all(|b| b.is_ascii_digit())
                    && ledger::ClientId::new(id).is_ok()
            })
        })
        .ok_or_else(|| FieldError::new("cursor", "is not a cursor this API returned"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_cursors_round_trip_and_garbage_is_refused() {
        let position = "1795392000000#w-1".to_string();
        assert_eq!(
            decode_queue_cursor(&encode_queue_cursor(&position)),
            Ok(position)
        );
        for bad in [
            "",
            "abc",
            &encode_cursor(3),
            &URL_SAFE_NO_PAD.encode("withdrawals-after:123#w"),
            &URL_SAFE_NO_PAD.encode("withdrawals-after:1795392000000#"),
            &URL_SAFE_NO_PAD.encode("withdrawals-after:1795392000000#w 1"),
            &URL_SAFE_NO_PAD.encode("withdrawals-after:179539200000x#w"),
        ] {
            assert!(decode_queue_cursor(bad).is_err(), "{bad}");
        }
    }

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
