#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    edge::serve(
        "wallet-read",
        edge::Needs::default(),
        &wallet_read::ROUTES,
        wallet_read::handle,
    )
    .await
}
