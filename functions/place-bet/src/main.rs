#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let needs = edge::Needs {
        aggregator: true,
        ..Default::default()
    };
    edge::serve("place-bet", needs, &place_bet::ROUTES, place_bet::handle).await
}
