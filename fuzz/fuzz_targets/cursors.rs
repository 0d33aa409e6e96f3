//! Page cursors: any string is decoded or refused without a panic; a decoded cursor
//! re-encodes to a cursor that decodes to the same position.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wire::cursor::{decode_cursor, decode_queue_cursor, encode_cursor, encode_queue_cursor};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(seq) = decode_cursor(&text) {
        assert!(seq >= 1);
        assert_eq!(decode_cursor(&encode_cursor(seq)), Ok(seq));
    }
    if let Ok(position) = decode_queue_cursor(&text) {
        assert_eq!(
            decode_queue_cursor(&encode_queue_cursor(&position)),
            Ok(position)
        );
    }
});
