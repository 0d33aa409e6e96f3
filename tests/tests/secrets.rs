//! Integration secrets from Secrets Manager (moto): read once at cold start, re-read after a
//! signature mismatch at most once a minute, so a rotation is picked up without a deploy.

use edge::signature::{sign, Presented, SignatureError, Signed, REQUEST_FRESHNESS};
use edge::Keyring;
use ledger::Timestamp;
use stakeline_tests::*;

const T0: Timestamp = Timestamp::from_millis(1_795_392_000_000);
const MESSAGE: Signed<'static> = Signed {
    method: "POST",
    path: "/players/p-1/deposits",
    body: br#"{"deposit_id":"d-1","amount":100,"currency":"EUR"}"#,
};

async fn client() -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&aws_at(&emulator().endpoint).await)
}

async fn verify(keyring: &Keyring, secret: &str, now: Timestamp) -> Result<(), SignatureError> {
    let ts = now.seconds().to_string();
    let signature = sign(secret.as_bytes(), &ts, &MESSAGE);
    let presented = Presented {
        timestamp: Some(&ts),
        signature: Some(&signature),
    };
    keyring
        .verify(&presented, &MESSAGE, now, REQUEST_FRESHNESS)
        .await
}

async fn rotate(client: &aws_sdk_secretsmanager::Client, arn: &str, value: &str) {
    client
        .put_secret_value()
        .secret_id(arn)
        .secret_string(value)
        .send()
        .await
        .expect("rotate");
}

#[tokio::test]
async fn a_rotation_is_picked_up_within_a_minute_without_a_restart() {
    let client = client().await;
    let created = client
        .create_secret()
        .name(unique("stakeline/payment-provider-hmac"))
        .secret_string("first-secret-0000000000")
        .send()
        .await
        .expect("create secret");
    let arn = created.arn().expect("arn").to_string();
    let keyring = Keyring::from_secrets_manager(client.clone(), &arn, T0)
        .await
        .expect("cold start");
    assert_eq!(
        verify(&keyring, "first-secret-0000000000", T0).await,
        Ok(())
    );

    // The provider rotates: both secrets during the overlap, then only the new one.
    rotate(
        &client,
        &arn,
        "first-secret-0000000000,second-secret-000000000",
    )
    .await;
    let soon = T0.plus_millis(30_000);
    assert_eq!(
        verify(&keyring, "second-secret-000000000", soon).await,
        Err(SignatureError::Mismatch),
        "read at most once a minute"
    );
    let later = T0.plus_millis(61_000);
    assert_eq!(
        verify(&keyring, "second-secret-000000000", later).await,
        Ok(())
    );
    assert_eq!(
        verify(&keyring, "first-secret-0000000000", later).await,
        Ok(())
    );

    rotate(&client, &arn, "third-secret-00000000000").await;
    // A mismatch at `later` + 10 s does not read again (the last read was at `later`)…
    let next = later.plus_millis(10_000);
    assert_eq!(
        verify(&keyring, "third-secret-00000000000", next).await,
        Err(SignatureError::Mismatch)
    );
    // …a minute after the last read it does, and the retired secret stops working.
    let after = later.plus_millis(61_000);
    assert_eq!(
        verify(&keyring, "third-secret-00000000000", after).await,
        Ok(())
    );
    assert_eq!(
        verify(
            &keyring,
            "first-secret-0000000000",
            after.plus_millis(1_000)
        )
        .await,
        Err(SignatureError::Mismatch)
    );
}

#[tokio::test]
async fn a_function_whose_secret_cannot_be_read_does_not_start() {
    let client = client().await;
    let missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:stakeline/none-AbCdEf";
    let error = Keyring::from_secrets_manager(client.clone(), missing, T0)
        .await
        .expect_err("no such secret");
    assert!(error.to_string().contains("GetSecretValue"), "{error}");
    // A secret too short to be an HMAC key is refused too.
    let weak = client
        .create_secret()
        .name(unique("stakeline/weak"))
        .secret_string("short")
        .send()
        .await
        .expect("create secret");
    assert!(
        Keyring::from_secrets_manager(client, weak.arn().expect("arn"), T0)
            .await
            .is_err()
    );
}
