//! Reading request bodies: one JSON object, every offending field named as a JSON Pointer.
//! A leaf: every operation and view may use it.

use crate::error::WalletError;
use serde::de::DeserializeOwned;

/// Parses a request body into `T`, naming the offending field as a JSON Pointer.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, WalletError> {
    // serde would also read a struct from a JSON array (`["d1", 100, "EUR"]`): only an
    // object names its fields, so only an object is accepted.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(WalletError::field(
            "",
            "the request body must be a JSON object",
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let pointer = pointer_of(e.path());
        let inner = e.into_inner();
        let message = if inner.is_syntax() || inner.is_eof() {
            format!("the request body is not valid JSON: {inner}")
        } else {
            strip_position(&inner.to_string())
        };
        WalletError::field(pointer, message)
    })?;
    deserializer.end().map_err(|e| {
        WalletError::field("", format!("unexpected data after the JSON object: {e}"))
    })?;
    Ok(value)
}

fn pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|segment| match segment {
            Segment::Seq { index } => Some(format!("/{index}")),
            Segment::Map { key } => Some(format!("/{}", key.replace('~', "~0").replace('/', "~1"))),
            Segment::Enum { .. } | Segment::Unknown => None,
        })
        .collect()
}

/// serde_json appends "at line L column C": meaningless to API clients once the field
/// is named.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}
