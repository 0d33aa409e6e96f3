//! The smallest useful Lambda function in Rust: answers every event with a greeting. Built
//! with the release profile like the real functions, it is the baseline their cold start is
//! compared with (BENCHMARKS.md).

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(json!({ "hello": "world", "echo": event.payload }))
    }))
    .await
}
