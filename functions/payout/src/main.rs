#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    edge::observe::init("payout");
    let payout = payout::Payout::from_env().await?;
    edge::serve_with(payout, payout::handle_batch).await
}
