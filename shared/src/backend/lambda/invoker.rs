//! How a function is invoked: a port ([`LambdaInvoker`]) with the AWS SDK adapter beside it, so the tool
//! mapping is tested without AWS and the adapter against a real HTTP endpoint.
//!
//! The adapter never retries (a tool call is not idempotent; the SDK would otherwise retry throttling
//! and 5xx answers) and sorts the SDK's outcomes into what the breaker needs: throttling (429) and
//! Lambda's own 5xx are outages; an unknown function or a refused permission (4xx) is not; a function
//! error is an answer. Two forms of function error are recognised: Lambda's HTTP 200 with
//! `X-Amz-Function-Error`, and the local emulator's (`cargo lambda watch`) HTTP 500 whose body is the
//! runtime's `{"errorType", "errorMessage"}` without the `X-Amzn-ErrorType` of a service error.

use async_trait::async_trait;
use aws_sdk_lambda::{
    config::retry::RetryConfig,
    error::SdkError,
    primitives::Blob,
    types::{InvocationType, LogType},
};
use serde_json::Value;

use crate::backend::BackendError;

/// What an invoke returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoked {
    /// `Unhandled` (or `Handled`) when the function failed: the payload is then its error document.
    pub function_error: Option<String>,
    pub payload: Vec<u8>,
}

/// Synchronous (request-response) invokes.
#[async_trait]
pub trait LambdaInvoker: Send + Sync {
    async fn invoke(&self, function: &str, qualifier: Option<&str>, payload: Vec<u8>) -> Result<Invoked, BackendError>;
}

/// The AWS SDK's Lambda client, retries off.
pub struct SdkLambdaInvoker {
    client: aws_sdk_lambda::Client,
}

impl SdkLambdaInvoker {
    /// From the function's shared AWS configuration. The endpoint follows the SDK's rules: the
    /// service-specific `AWS_ENDPOINT_URL_LAMBDA` first (the local stack points it at `cargo lambda
    /// watch`), then `AWS_ENDPOINT_URL`, then AWS.
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self::from_config(aws_sdk_lambda::config::Builder::from(sdk).build())
    }

    /// From a Lambda client configuration (tests); retries are turned off whatever it says.
    pub fn from_config(config: aws_sdk_lambda::Config) -> Self {
        let config = config.to_builder().retry_config(RetryConfig::disabled()).build();
        Self { client: aws_sdk_lambda::Client::from_conf(config) }
    }
}

#[async_trait]
impl LambdaInvoker for SdkLambdaInvoker {
    async fn invoke(&self, function: &str, qualifier: Option<&str>, payload: Vec<u8>) -> Result<Invoked, BackendError> {
        let sent = self
            .client
            .invoke()
            .function_name(function)
            .set_qualifier(qualifier.map(str::to_owned))
            .invocation_type(InvocationType::RequestResponse)
            .log_type(LogType::None)
            .payload(Blob::new(payload))
            .send()
            .await;
        match sent {
            Ok(output) => Ok(Invoked {
                function_error: output.function_error().map(str::to_owned),
                payload: output.payload().map(|p| p.as_ref().to_vec()).unwrap_or_default(),
            }),
            Err(error) => outcome_of(error),
        }
    }
}

fn outcome_of<E: std::error::Error>(
    error: SdkError<E, aws_sdk_lambda::config::http::HttpResponse>,
) -> Result<Invoked, BackendError> {
    match error {
        SdkError::ServiceError(service) => {
            let raw = service.raw();
            let status = raw.status().as_u16();
            let body = raw.body().bytes().unwrap_or_default();
            if status == 500 && raw.headers().get("x-amzn-errortype").is_none() && is_error_document(body) {
                return Ok(Invoked { function_error: Some("Unhandled".into()), payload: body.to_vec() });
            }
            // The error code (TooManyRequestsException, ResourceNotFoundException…) is logged, never relayed:
            // its message may name the function's ARN.
            let code = raw.headers().get("x-amzn-errortype").unwrap_or_default().split(':').next().unwrap_or_default();
            tracing::warn!(status, code, "Lambda refused the invoke");
            Err(BackendError::Status(status))
        }
        SdkError::TimeoutError(_) => Err(BackendError::Unreachable("the invoke timed out".into())),
        SdkError::DispatchFailure(failure) => {
            tracing::warn!(error = ?failure, "Lambda invoke could not be sent");
            Err(BackendError::Unreachable("the Lambda API could not be reached".into()))
        }
        SdkError::ResponseError(_) => Err(BackendError::InvalidResponse("Lambda's answer could not be read".into())),
        SdkError::ConstructionFailure(_) | _ => {
            Err(BackendError::Unreachable("the invoke request could not be built".into()))
        }
    }
}

/// A runtime's error document: an object with `errorType` or `errorMessage`.
fn is_error_document(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body).is_ok_and(|v| {
        v.get("errorType").is_some_and(Value::is_string) || v.get("errorMessage").is_some_and(Value::is_string)
    })
}

#[cfg(test)]
mod tests {
    use aws_sdk_lambda::config::{BehaviorVersion, Credentials, Region};

    use super::*;
    use crate::backend::testing::{HttpStub, Recorded, Reply as StubReply};

    async fn invoker_for(stub: &HttpStub) -> SdkLambdaInvoker {
        let config = aws_sdk_lambda::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .endpoint_url(stub.url("").as_str().trim_end_matches('/'))
            .http_client(crate::aws::http_client().expect("TLS configuration"))
            .build();
        SdkLambdaInvoker::from_config(config)
    }

    #[tokio::test]
    async fn a_result_comes_back_and_the_invoke_names_function_and_qualifier() {
        let stub = HttpStub::start(|_: &Recorded| (200, "application/json", r#"{"ok":true}"#.to_owned())).await;
        let invoked = invoker_for(&stub).await.invoke("demo-tools", Some("live"), b"{\"tool\":\"x\"}".to_vec()).await;
        assert_eq!(invoked.unwrap(), Invoked { function_error: None, payload: br#"{"ok":true}"#.to_vec() });
        let request = &stub.requests()[0];
        assert_eq!(request.path, "/2015-03-31/functions/demo-tools/invocations?Qualifier=live");
        assert_eq!(request.header("x-amz-invocation-type"), Some("RequestResponse"));
        assert_eq!(request.body, "{\"tool\":\"x\"}");
    }

    #[tokio::test]
    async fn both_forms_of_function_error_are_answers() {
        // The local emulator: HTTP 500, the runtime's error document, no X-Amzn-ErrorType.
        let error = r#"{"errorType":"DemoError","errorMessage":"boom"}"#;
        let stub = HttpStub::start(move |_: &Recorded| (500, "application/json", error.to_owned())).await;
        let invoked = invoker_for(&stub).await.invoke("f", None, b"{}".to_vec()).await.unwrap();
        assert_eq!(invoked.function_error.as_deref(), Some("Unhandled"));
        assert_eq!(stub.requests().len(), 1, "a failed invoke is never retried");
        // Lambda itself: HTTP 200 with X-Amz-Function-Error.
        let stub = HttpStub::start(move |_: &Recorded| {
            StubReply::Headed(200, "application/json", vec![("x-amz-function-error", "Unhandled".into())], error.into())
        })
        .await;
        let invoked = invoker_for(&stub).await.invoke("f", None, b"{}".to_vec()).await.unwrap();
        assert_eq!(invoked, Invoked { function_error: Some("Unhandled".into()), payload: error.as_bytes().to_vec() });
        // A service error (X-Amzn-ErrorType) is Lambda's own failure, even with a body that looks alike.
        let stub = HttpStub::start(move |_: &Recorded| {
            let header = vec![("x-amzn-errortype", "ServiceException".into())];
            StubReply::Headed(500, "application/json", header, error.into())
        })
        .await;
        let err = invoker_for(&stub).await.invoke("f", None, b"{}".to_vec()).await.unwrap_err();
        assert!(matches!(err, BackendError::Status(500)) && err.is_outage(), "{err}");
        assert_eq!(stub.requests().len(), 1, "a 5xx is never retried");
    }

    #[tokio::test]
    async fn throttling_is_an_outage_and_a_missing_function_is_not() {
        let stub = HttpStub::start(|_: &Recorded| {
            let header = vec![("x-amzn-errortype", "TooManyRequestsException".into())];
            StubReply::Headed(429, "application/json", header, r#"{"message":"Rate exceeded"}"#.into())
        })
        .await;
        let err = invoker_for(&stub).await.invoke("f", None, b"{}".to_vec()).await.unwrap_err();
        assert!(matches!(err, BackendError::Status(429)) && err.is_outage(), "{err}");
        assert_eq!(stub.requests().len(), 1, "throttling is never retried");
        let stub =
            HttpStub::start(|_: &Recorded| (404, "application/json", r#"{"message":"not found"}"#.to_owned())).await;
        let err = invoker_for(&stub).await.invoke("f", None, b"{}".to_vec()).await.unwrap_err();
        assert!(matches!(err, BackendError::Status(404)) && !err.is_outage(), "{err}");
    }

    #[tokio::test]
    async fn an_unreachable_endpoint_is_an_outage() {
        let stub = HttpStub::start(|_: &Recorded| (200, "application/json", "{}".to_owned())).await;
        let invoker = invoker_for(&stub).await;
        drop(stub);
        let err = invoker.invoke("f", None, b"{}".to_vec()).await.unwrap_err();
        assert!(err.is_outage(), "{err}");
    }
}
