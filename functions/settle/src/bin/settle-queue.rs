#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let needs = edge::Needs {
        aggregator: true,
        ..Default::default()
    };
    edge::serve_events("settle-queue", needs, settle::handle_batch).await
}
