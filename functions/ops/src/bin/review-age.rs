//! `review-age`: every few minutes (an EventBridge schedule), how long the oldest withdrawal
//! in review has waited, as the metric `oldest_review_age_seconds` (0 when none waits): the
//! alarm on it tells on-call that the review queue is not being worked.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    edge::observe::init("review-age");
    let state = edge::State::from_env(edge::Needs::default()).await?;
    edge::serve_with(state, ops::review_age::measure).await
}
