//! Secrets Manager adapter: one `GetSecretValue` of the key secret per refresh; for the admin API, the
//! compare-and-swap described in `admin.rs` (`PutSecretValue` of a staged version, then
//! `UpdateSecretVersionStage` moving `AWSCURRENT` from the version that was read).

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
        let (text, _) = self.current().await?;
        KeyFile::parse(&text)
    }
}

impl SecretsManagerKeySource {
    /// The secret's current text and version. Named explicitly: the admin API moves this label between
    /// versions.
    async fn current(&self) -> Result<(String, String), KeyError> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .version_stage("AWSCURRENT")
            .send()
            .await
            .map_err(|e| KeyError::Unavailable(Box::new(e)))?;
        let text = output.secret_string().ok_or_else(|| KeyError::Corrupt("the secret has no SecretString".into()))?;
        let version = output.version_id().ok_or_else(|| KeyError::Corrupt("the secret has no VersionId".into()))?;
        Ok((text.to_owned(), version.to_owned()))
    }
}

#[async_trait]
impl super::KeyAdmin for SecretsManagerKeySource {
    async fn read(&self) -> Result<(String, String), KeyError> {
        self.current().await
    }

    async fn replace(&self, version: &str, text: &str) -> Result<bool, KeyError> {
        let mut token = [0u8; 16];
        getrandom::fill(&mut token).map_err(|e| KeyError::Unavailable(e.to_string().into()))?;
        let staged = self
            .client
            .put_secret_value()
            .secret_id(&self.secret_id)
            .client_request_token(hex::encode(token))
            .secret_string(text)
            // Not current yet: a staged version serves nobody until the label moves to it.
            .version_stages("AWSPENDING")
            .send()
            .await
            .map_err(|e| KeyError::Unavailable(Box::new(e)))?;
        let new_version = staged.version_id().unwrap_or_default().to_owned();
        let moved = self
            .client
            .update_secret_version_stage()
            .secret_id(&self.secret_id)
            .version_stage("AWSCURRENT")
            .move_to_version_id(&new_version)
            // The compare: this fails if AWSCURRENT is no longer on the version that was read.
            .remove_from_version_id(version)
            .send()
            .await;
        match moved {
            Ok(_) => Ok(true),
            Err(error) => {
                // Lost the race, or a real failure? The current version tells.
                let (_, current) = self.read().await?;
                if current != version {
                    Ok(false)
                } else {
                    Err(KeyError::Unavailable(Box::new(error)))
                }
            }
        }
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
        assert_eq!(file.authenticate(KEY_A, 0).unwrap().id, "key:k_a");

        let missing = SecretsManagerKeySource::new(&sdk, "mcp-gateway/no-such-secret").load().await;
        assert!(matches!(missing, Err(KeyError::Unavailable(_))));
    }

    /// Two admin writers racing on the real (emulated) secret: both keys end up in it.
    #[tokio::test]
    async fn concurrent_creates_through_secrets_manager_lose_no_key() {
        let Some(sdk) = crate::testing::moto("concurrent_creates_through_secrets_manager_lose_no_key").await else {
            return;
        };
        let secret_id = format!("mcp-gateway/api-keys-cas-{}", crate::protocol::mint_id().unwrap());
        Client::new(&sdk).create_secret().name(&secret_id).secret_string(r#"{"keys":[]}"#).send().await.unwrap();
        let source = std::sync::Arc::new(SecretsManagerKeySource::new(&sdk, secret_id));
        let creates: Vec<_> = (0..4)
            .map(|i| {
                let source = source.clone();
                tokio::spawn(async move {
                    super::super::admin::create(source.as_ref(), &format!("k{i}"), &[], None, 0).await.unwrap().0
                })
            })
            .collect();
        let mut keys = Vec::new();
        for create in creates {
            keys.push(create.await.unwrap());
        }
        let file = source.load().await.unwrap();
        assert_eq!(file.len(), 4);
        assert!(keys.iter().all(|k| file.authenticate(k, 0).is_ok()));
        // A stale version is refused without touching the current document.
        use super::super::KeyAdmin;
        let (text, version) = source.read().await.unwrap();
        assert!(source.replace(&version, &text).await.unwrap());
        assert!(!source.replace(&version, r#"{"keys":[]}"#).await.unwrap());
        assert_eq!(source.load().await.unwrap().len(), 4);
    }
}
