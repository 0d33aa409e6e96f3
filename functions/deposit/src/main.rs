#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let needs = edge::Needs {
        payment_provider: true,
        ..Default::default()
    };
    edge::serve("deposit", needs, &deposit::ROUTES, deposit::handle).await
}
