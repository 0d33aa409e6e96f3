#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    edge::observe::init("bonus-award");
    let awarder = bonus_award::Awarder::from_env().await?;
    edge::serve_with(awarder, bonus_award::handle_batch).await
}
