#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let needs = edge::Needs {
        payment_provider: true,
        risk_rules: true,
        ..Default::default()
    };
    edge::serve("withdraw", needs, &withdraw::ROUTES, withdraw::handle).await
}
