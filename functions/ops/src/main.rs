#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    edge::serve(edge::Needs::default(), ops::handle).await
}
