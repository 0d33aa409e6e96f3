//! The age of the review queue's oldest withdrawal, for the `review-age` schedule.

use edge::State;
use ledger::withdrawal::WithdrawalStatus;
use ledger::Timestamp;
use serde_json::{json, Value};

/// Whole seconds the oldest withdrawal in review has waited at `now` (0 when none waits,
/// or for a clock that reads earlier than its creation).
pub fn age_seconds(oldest_created: Option<Timestamp>, now: Timestamp) -> u64 {
    oldest_created
        .map(|created| now.millis().saturating_sub(created.millis()) / 1000)
        .and_then(|seconds| u64::try_from(seconds).ok())
        .unwrap_or(0)
}

/// Reads the oldest withdrawal in review (the first of the `withdrawals-by-status` index)
/// and sets the gauge; any scheduled event triggers it (its content is not read). A failed
/// read sets nothing: the alarm then sees missing data, which it treats as breaching.
pub async fn measure(state: &'static State, _event: Value) -> Value {
    match state
        .store
        .withdrawals_in_status(WithdrawalStatus::PendingReview, 1, None)
        .await
    {
        Ok(page) => {
            let oldest = page.withdrawals.first();
            let age = age_seconds(oldest.map(|w| w.created_at), state.clock.now());
            metrics::gauge!("oldest_review_age_seconds").set(age as f64);
            tracing::info!(age_seconds = age, withdrawal_id = ?oldest.map(|w| w.withdrawal_id.to_string()), "oldest withdrawal in review");
            json!({ "oldest_review_age_seconds": age })
        }
        Err(error) => {
            tracing::error!(%error, "cannot read the review queue");
            json!({ "error": error.to_string() })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_age_is_whole_seconds_since_creation_and_never_negative() {
        let now = Timestamp::from_millis(10_000_000);
        assert_eq!(age_seconds(None, now), 0);
        assert_eq!(
            age_seconds(Some(Timestamp::from_millis(10_000_000)), now),
            0
        );
        assert_eq!(age_seconds(Some(Timestamp::from_millis(9_998_001)), now), 1);
        assert_eq!(
            age_seconds(Some(Timestamp::from_millis(6_400_000)), now),
            3600
        );
        assert_eq!(
            age_seconds(Some(Timestamp::from_millis(12_000_000)), now),
            0
        );
    }
}
