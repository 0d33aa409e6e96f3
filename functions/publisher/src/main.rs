#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    edge::observe::init("publisher");
    let publisher = publisher::Publisher::from_env().await?;
    edge::serve_with(publisher, publisher::handle).await
}
