//! Secrets Manager adapter: one `GetSecretValue` of the key secret per refresh.

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;

use super::{KeyError, KeyFile, KeySource};

/// Reads the key file from the secret `secret_id`, built once per cold start.
#[derive(Clone)]
pub struct SecretsManagerKeySource {
    client: Client,
    secret_id: String,
}

impl SecretsManagerKeySource {
    /// A client with tight timeouts: a refresh that hangs would hold up the request that triggered it,
    /// while the previous keys remain usable for a grace period anyway.
    pub fn new(sdk: &aws_config::SdkConfig, secret_id: impl Into<String>) -> Self {
        Self { client: crate::aws::secrets_manager(sdk), secret_id: secret_id.into() }
    }
}

#[async_trait]
impl KeySource for SecretsManagerKeySource {
    async fn load(&self) -> Result<KeyFile, KeyError> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(|e| KeyError::Unavailable(Box::new(e)))?;
        let text = output.secret_string().ok_or_else(|| KeyError::Corrupt("the secret has no SecretString".into()))?;
        KeyFile::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::testing::{key_document, KEY_A};

    /// Adapter test against moto: `AWS_ENDPOINT_URL=http://127.0.0.1:4566 cargo test -p mcp-gateway-shared
    /// secrets_manager -- --ignored`. Refuses to run without an endpoint override (never a real account).
    #[tokio::test]
    async fn reads_the_key_file_from_secrets_manager() {
        let Some(sdk) = crate::testing::moto("reads_the_key_file_from_secrets_manager").await else { return };
        let secret_id = "mcp-gateway/api-keys-adapter-test";
        let client = Client::new(&sdk);
        let doc = key_document().to_string();
        if client.put_secret_value().secret_id(secret_id).secret_string(&doc).send().await.is_err() {
            client.create_secret().name(secret_id).secret_string(&doc).send().await.unwrap();
        }
        let file = SecretsManagerKeySource::new(&sdk, secret_id).load().await.unwrap();
        assert_eq!(file.authenticate(KEY_A, 0).unwrap().id, "k_a");

        let missing = SecretsManagerKeySource::new(&sdk, "mcp-gateway/no-such-secret").load().await;
        assert!(matches!(missing, Err(KeyError::Unavailable(_))));
    }
}
