//! Secrets Manager adapter: one `GetSecretValue` per secret per refresh.

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;

use super::{CredentialError, SecretSource, SecretValue};

/// Reads backend secrets, built once per cold start.
#[derive(Clone)]
pub struct SecretsManagerSource {
    client: Client,
}

impl SecretsManagerSource {
    /// Tight timeouts: a read happens inside a backend exchange and counts against its timeout.
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self { client: crate::aws::secrets_manager(sdk) }
    }
}

#[async_trait]
impl SecretSource for SecretsManagerSource {
    async fn secret(&self, id: &str) -> Result<SecretValue, CredentialError> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| CredentialError::Unavailable(id.to_owned(), Box::new(e)))?;
        let value = output.secret_string().map(str::trim).filter(|v| !v.is_empty());
        value.map(SecretValue::new).ok_or_else(|| CredentialError::Invalid(id.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Adapter test against moto (`make test` starts it and sets AWS_ENDPOINT_URL). Refuses to run
    /// without an endpoint override, so it never touches a real account.
    #[tokio::test]
    async fn reads_a_backend_secret_from_secrets_manager() {
        let Some(sdk) = crate::testing::moto("reads_a_backend_secret_from_secrets_manager").await else { return };
        let id = "mcp-gateway/backends/adapter-test";
        let client = Client::new(&sdk);
        if client.put_secret_value().secret_id(id).secret_string(" token-1 \n").send().await.is_err() {
            client.create_secret().name(id).secret_string(" token-1 \n").send().await.unwrap();
        }
        let source = SecretsManagerSource::new(&sdk);
        assert_eq!(source.secret(id).await.unwrap().expose(), "token-1");
        let missing = source.secret("mcp-gateway/backends/no-such-secret").await;
        assert!(matches!(missing, Err(CredentialError::Unavailable(..))));
    }
}
