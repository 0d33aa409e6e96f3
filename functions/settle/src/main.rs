#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let needs = edge::Needs {
        aggregator: true,
        ..Default::default()
    };
    edge::serve("settle", needs, &settle::ROUTES, settle::handle).await
}
