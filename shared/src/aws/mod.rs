//! The AWS clients of the gateway's stores and secrets, built once per cold start with tight timeouts: a
//! store or a secret that does not answer fails the request fast instead of hanging it. (The rate limiter
//! is tighter still: see `ratelimit::DynamoRateLimitStore`.) Every client counts its calls (`calls`).

mod calls;
mod http;

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_smithy_runtime_api::client::http::SharedHttpClient;

pub use calls::{counted, totals, Calls, CountCalls, OPERATIONS};
pub use http::SdkHttpClient;

/// The SDK configuration from the environment (region, credentials, `AWS_ENDPOINT_URL` for the local
/// stack), sending its requests through the gateway's own HTTPS client (`SdkHttpClient`).
pub async fn sdk_config() -> Result<SdkConfig, String> {
    Ok(aws_config::defaults(BehaviorVersion::latest()).http_client(http_client()?).load().await)
}

/// The gateway's HTTPS client in the SDK's form, for a client configured by hand (the SDK has no HTTP
/// client of its own: its default features are off).
pub fn http_client() -> Result<SharedHttpClient, String> {
    Ok(SharedHttpClient::new(SdkHttpClient::new(crate::tls::client_config()?)))
}

use aws_config::{timeout::TimeoutConfig, SdkConfig};

fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_millis(1500))
        .operation_timeout(Duration::from_secs(4))
        .build()
}

/// DynamoDB: sessions and the PII vault.
pub fn dynamodb(sdk: &SdkConfig) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::config::Builder::from(sdk).timeout_config(timeouts()).interceptor(CountCalls);
    aws_sdk_dynamodb::Client::from_conf(config.build())
}

/// Secrets Manager: API keys, the PII key, backend credentials.
pub fn secrets_manager(sdk: &SdkConfig) -> aws_sdk_secretsmanager::Client {
    let config = aws_sdk_secretsmanager::config::Builder::from(sdk).timeout_config(timeouts()).interceptor(CountCalls);
    aws_sdk_secretsmanager::Client::from_conf(config.build())
}
