#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    edge::state::init_tracing();
    let publisher = publisher::Publisher::from_env().await?;
    edge::serve_with(publisher, publisher::handle).await
}
