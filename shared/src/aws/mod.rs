//! The AWS clients of the gateway's stores and secrets, built once per cold start with tight timeouts: a
//! store or a secret that does not answer fails the request fast instead of hanging it. (The rate limiter
//! is tighter still: see `ratelimit::DynamoRateLimitStore`.) Every client counts its calls (`calls`).

mod calls;

use std::time::Duration;

pub use calls::{counted, totals, Calls, CountCalls, OPERATIONS};

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
