//! `reconcile --table NAME [--endpoint URL] [--region REGION]`
//!
//! Walks every wallet, entry, and deposit, bet and settlement id of the table and checks
//! invariants 1–4 of the wallet rules. Prints a report; exits 0 when clean, 1 on any
//! violation, 2 when the table cannot be read or the arguments are wrong.

use std::process::ExitCode;

struct Args {
    table: String,
    endpoint: Option<String>,
    region: Option<String>,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let (mut table, mut endpoint, mut region) = (None, None, None);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--table" => table = Some(value()?),
            "--endpoint" => endpoint = Some(value()?),
            "--region" => region = Some(value()?),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(Args {
        table: table
            .or_else(|| std::env::var("TABLE_NAME").ok())
            .ok_or("--table (or TABLE_NAME) is required")?,
        endpoint,
        region,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(error) => {
            eprintln!("reconcile: {error}\nusage: reconcile --table NAME [--endpoint URL] [--region REGION]");
            return ExitCode::from(2);
        }
    };
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(endpoint) = &args.endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    if let Some(region) = args.region {
        loader = loader.region(aws_config::Region::new(region));
    }
    let config = loader.load().await;
    let store = store::Store::new(aws_sdk_dynamodb::Client::new(&config), args.table.clone());
    match audit::reconcile(&store).await {
        Ok(report) => {
            print!("table {}: {report}", args.table);
            if report.is_clean() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(error) => {
            eprintln!("reconcile: cannot read table {}: {error}", args.table);
            ExitCode::from(2)
        }
    }
}
