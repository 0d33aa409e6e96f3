//! One error enum for every rule in the wallet, each variant mapped once to a stable code
//! and an HTTP status (the contract's list of codes, `../API.md` "Stable error codes").

use serde::{Deserialize, Serialize};

/// The stable, documented error codes. Clients switch on these; never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    ValidationFailed,
    Underage,
    EmailTaken,
    PlayerExists,
    Unauthenticated,
    Forbidden,
    PlayerNotFound,
    PlayerBlocked,
    CurrencyMismatch,
    InsufficientFunds,
    DepositLimitReached,
    StakeLimitExceeded,
    DuplicateTransaction,
    BetNotFound,
    BetAlreadySettled,
    BetRolledBack,
    WithdrawalNotFound,
    WithdrawalNotPending,
    WithdrawalAlreadyFinal,
    QueueNotFound,
    Internal,
    Unavailable,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 22] = [
        ErrorCode::ValidationFailed,
        ErrorCode::Underage,
        ErrorCode::EmailTaken,
        ErrorCode::PlayerExists,
        ErrorCode::Unauthenticated,
        ErrorCode::Forbidden,
        ErrorCode::PlayerNotFound,
        ErrorCode::PlayerBlocked,
        ErrorCode::CurrencyMismatch,
        ErrorCode::InsufficientFunds,
        ErrorCode::DepositLimitReached,
        ErrorCode::StakeLimitExceeded,
        ErrorCode::DuplicateTransaction,
        ErrorCode::BetNotFound,
        ErrorCode::BetAlreadySettled,
        ErrorCode::BetRolledBack,
        ErrorCode::WithdrawalNotFound,
        ErrorCode::WithdrawalNotPending,
        ErrorCode::WithdrawalAlreadyFinal,
        ErrorCode::QueueNotFound,
        ErrorCode::Internal,
        ErrorCode::Unavailable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::ValidationFailed => "VALIDATION_FAILED",
            ErrorCode::Underage => "UNDERAGE",
            ErrorCode::EmailTaken => "EMAIL_TAKEN",
            ErrorCode::PlayerExists => "PLAYER_EXISTS",
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::PlayerNotFound => "PLAYER_NOT_FOUND",
            ErrorCode::PlayerBlocked => "PLAYER_BLOCKED",
            ErrorCode::CurrencyMismatch => "CURRENCY_MISMATCH",
            ErrorCode::InsufficientFunds => "INSUFFICIENT_FUNDS",
            ErrorCode::DepositLimitReached => "DEPOSIT_LIMIT_REACHED",
            ErrorCode::StakeLimitExceeded => "STAKE_LIMIT_EXCEEDED",
            ErrorCode::DuplicateTransaction => "DUPLICATE_TRANSACTION",
            ErrorCode::BetNotFound => "BET_NOT_FOUND",
            ErrorCode::BetAlreadySettled => "BET_ALREADY_SETTLED",
            ErrorCode::BetRolledBack => "BET_ROLLED_BACK",
            ErrorCode::WithdrawalNotFound => "WITHDRAWAL_NOT_FOUND",
            ErrorCode::WithdrawalNotPending => "WITHDRAWAL_NOT_PENDING",
            ErrorCode::WithdrawalAlreadyFinal => "WITHDRAWAL_ALREADY_FINAL",
            ErrorCode::QueueNotFound => "QUEUE_NOT_FOUND",
            ErrorCode::Internal => "INTERNAL",
            ErrorCode::Unavailable => "UNAVAILABLE",
        }
    }

    pub fn parse(code: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == code)
    }

    /// Short, human title for problem+json (constant per code, as RFC 9457 asks).
    pub fn title(self) -> &'static str {
        match self {
            ErrorCode::ValidationFailed => "The request is not valid",
            ErrorCode::Underage => "The player is under the minimum age",
            ErrorCode::EmailTaken => "The email address is already registered",
            ErrorCode::PlayerExists => "The player is already registered with other details",
            ErrorCode::Unauthenticated => "Authentication is missing or wrong",
            ErrorCode::Forbidden => "Not allowed for this caller",
            ErrorCode::PlayerNotFound => "No such player",
            ErrorCode::PlayerBlocked => "The player is excluded or disabled",
            ErrorCode::CurrencyMismatch => "The currency is not the wallet's currency",
            ErrorCode::InsufficientFunds => "Not enough funds",
            ErrorCode::DepositLimitReached => "The deposit would exceed a deposit limit",
            ErrorCode::StakeLimitExceeded => "The stake is above the maximum while wagering",
            ErrorCode::DuplicateTransaction => "The id was already used with another payload",
            ErrorCode::BetNotFound => "No such bet",
            ErrorCode::BetAlreadySettled => "The bet is already settled",
            ErrorCode::BetRolledBack => "The bet was rolled back",
            ErrorCode::WithdrawalNotFound => "No such withdrawal",
            ErrorCode::WithdrawalNotPending => "The withdrawal is no longer in review",
            ErrorCode::WithdrawalAlreadyFinal => "The withdrawal's outcome is already decided",
            ErrorCode::QueueNotFound => "No such queue",
            ErrorCode::Internal => "Internal error",
            ErrorCode::Unavailable => "Temporarily unavailable; retry with the same id",
        }
    }

    /// `type` member of problem+json: a URN per code.
    pub fn problem_type(self) -> String {
        format!(
            "urn:stakeline:problem:{}",
            self.as_str().to_ascii_lowercase().replace('_', "-")
        )
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem with one field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// JSON Pointer into the body (`/amount`) or the name of a query parameter.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Every way a wallet request can fail. Variants carry what the caller needs to act.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalletError {
    #[error("{}", describe_fields(.0))]
    Validation(Vec<FieldError>),
    #[error("the player must be at least {min_age} years old")]
    Underage { min_age: u8 },
    #[error("another player already registered this email address")]
    EmailTaken,
    #[error("this player is already registered with other details")]
    PlayerExists,
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("player {0} does not exist")]
    PlayerNotFound(String),
    #[error("{0}")]
    PlayerBlocked(String),
    #[error("the wallet's currency is {wallet}, the request's is {requested}")]
    CurrencyMismatch { wallet: String, requested: String },
    #[error("{0}")]
    InsufficientFunds(String),
    #[error("{0}")]
    DepositLimitReached(String),
    #[error("{0}")]
    StakeLimitExceeded(String),
    #[error("{0}")]
    DuplicateTransaction(String),
    #[error("{0}")]
    BetNotFound(String),
    #[error("{0}")]
    BetAlreadySettled(String),
    #[error("{0}")]
    BetRolledBack(String),
    #[error("{0}")]
    WithdrawalNotFound(String),
    #[error("{0}")]
    WithdrawalNotPending(String),
    #[error("{0}")]
    WithdrawalAlreadyFinal(String),
    /// An operator route named a queue the back office does not watch.
    #[error("{0}")]
    QueueNotFound(String),
    #[error("internal error: {0}")]
    Internal(String),
    /// Throttled, or a dependency is down: safe to retry with the same id.
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
}

fn describe_fields(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| match e.field.as_str() {
            // The whole body (pointer ""): the message alone.
            "" => e.message.clone(),
            field => format!("{field}: {}", e.message),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl WalletError {
    pub fn code(&self) -> ErrorCode {
        match self {
            WalletError::Validation(_) => ErrorCode::ValidationFailed,
            WalletError::Underage { .. } => ErrorCode::Underage,
            WalletError::EmailTaken => ErrorCode::EmailTaken,
            WalletError::PlayerExists => ErrorCode::PlayerExists,
            WalletError::Unauthenticated(_) => ErrorCode::Unauthenticated,
            WalletError::Forbidden(_) => ErrorCode::Forbidden,
            WalletError::PlayerNotFound(_) => ErrorCode::PlayerNotFound,
            WalletError::PlayerBlocked(_) => ErrorCode::PlayerBlocked,
            WalletError::CurrencyMismatch { .. } => ErrorCode::CurrencyMismatch,
            WalletError::InsufficientFunds(_) => ErrorCode::InsufficientFunds,
            WalletError::DepositLimitReached(_) => ErrorCode::DepositLimitReached,
            WalletError::StakeLimitExceeded(_) => ErrorCode::StakeLimitExceeded,
            WalletError::DuplicateTransaction(_) => ErrorCode::DuplicateTransaction,
            WalletError::BetNotFound(_) => ErrorCode::BetNotFound,
            WalletError::BetAlreadySettled(_) => ErrorCode::BetAlreadySettled,
            WalletError::BetRolledBack(_) => ErrorCode::BetRolledBack,
            WalletError::WithdrawalNotFound(_) => ErrorCode::WithdrawalNotFound,
            WalletError::WithdrawalNotPending(_) => ErrorCode::WithdrawalNotPending,
            WalletError::WithdrawalAlreadyFinal(_) => ErrorCode::WithdrawalAlreadyFinal,
            WalletError::QueueNotFound(_) => ErrorCode::QueueNotFound,
            WalletError::Internal(_) => ErrorCode::Internal,
            WalletError::Unavailable(_) => ErrorCode::Unavailable,
        }
    }

    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        WalletError::Validation(vec![FieldError::new(field, message)])
    }

    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            WalletError::Validation(errors) => errors,
            _ => &[],
        }
    }

    /// A business rejection that must be recorded against its client id so that a retry
    /// with the same id is rejected the same way (WALLET-RULES invariant 7).
    pub fn is_stable_rejection(&self) -> bool {
        matches!(
            self.code(),
            ErrorCode::PlayerBlocked
                | ErrorCode::InsufficientFunds
                | ErrorCode::DepositLimitReached
                | ErrorCode::StakeLimitExceeded
        )
    }
}

/// Collects field errors so a request reports every problem at once.
#[derive(Debug, Default)]
pub struct Problems(Vec<FieldError>);

impl Problems {
    pub fn new() -> Self {
        Problems(Vec::new())
    }

    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// Keeps the value when valid, records the problem otherwise.
    pub fn check<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.0.push(error);
                None
            }
        }
    }

    pub fn into_result(self) -> Result<(), WalletError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(WalletError::Validation(self.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_its_name() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }

    #[test]
    fn problem_types_are_urns_in_kebab_case() {
        assert_eq!(
            ErrorCode::InsufficientFunds.problem_type(),
            "urn:stakeline:problem:insufficient-funds"
        );
    }

    #[test]
    fn only_business_rejections_are_recorded() {
        assert!(WalletError::DepositLimitReached("x".into()).is_stable_rejection());
        assert!(WalletError::PlayerBlocked("x".into()).is_stable_rejection());
        assert!(!WalletError::field("/amount", "x").is_stable_rejection());
        assert!(!WalletError::PlayerNotFound("p".into()).is_stable_rejection());
    }
}
