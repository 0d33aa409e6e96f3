#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    edge::state::init_tracing();
    let ops = ops::Ops::from_env().await?;
    edge::serve_http_with(ops, ops::handle).await
}
