#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    edge::serve_events(edge::Needs::default(), settle::handle_batch).await
}
