#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    edge::serve(
        "register",
        edge::Needs::default(),
        &register::ROUTES,
        register::handle,
    )
    .await
}
