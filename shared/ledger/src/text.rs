//! Free text a client sends (a display name, a reason): bounded, not blank, no control
//! characters. A leaf.

use crate::error::FieldError;

/// The longest `reason` a payout result or an operator's action may give.
pub const MAX_REASON_CHARS: usize = 500;

/// A free-text reason ([`check_text`]), trimmed.
pub fn check_reason(field: &str, reason: &str) -> Result<String, FieldError> {
    check_text(field, reason, MAX_REASON_CHARS)?;
    Ok(reason.trim().to_string())
}

/// `text` at `field`: 1 to `max_chars` characters, not only spaces, no control characters.
pub fn check_text(field: &str, text: &str, max_chars: usize) -> Result<(), FieldError> {
    if text.trim().is_empty() || text.chars().count() > max_chars {
        return Err(FieldError::new(
            field,
            format!("must be 1 to {max_chars} characters, not only spaces"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_bounded_not_blank_and_without_control_characters() {
        assert!(check_text("/x", "ok", 2).is_ok());
        assert!(check_text("/x", "abc", 2).is_err());
        assert!(check_text("/x", "   ", 5).is_err());
        assert!(check_text("/x", "a\nb", 5).is_err());
        assert_eq!(check_text("/y", "", 3).unwrap_err().field, "/y");
    }
}
