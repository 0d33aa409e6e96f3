#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    edge::serve(edge::Needs::default(), wallet_read::handle).await
}
