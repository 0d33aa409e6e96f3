#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    edge::observe::init("ops");
    let ops = ops::Ops::from_env().await?;
    edge::serve_http_with(ops, &ops::ROUTES, ops::handle).await
}
