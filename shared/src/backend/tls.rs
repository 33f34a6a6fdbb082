//! One TLS configuration for every HTTPS client the gateway builds itself (backends, OAuth token
//! endpoints, the JWKS, health probes): the platform's root certificates are read once per process, not
//! once per client — each read is a parse of the whole CA bundle, paid at cold start.

use std::sync::{Arc, OnceLock};

use rustls::ClientConfig;
use rustls_platform_verifier::BuilderVerifierExt;

static CONFIG: OnceLock<Result<ClientConfig, String>> = OnceLock::new();

/// The shared configuration: aws-lc-rs, TLS 1.2 and 1.3, the platform verifier (the system's roots).
pub fn client_config() -> Result<ClientConfig, String> {
    CONFIG
        .get_or_init(|| {
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let config = ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .and_then(|builder| builder.with_platform_verifier())
                .map_err(|e| format!("TLS configuration: {e}"))?;
            Ok(config.with_no_client_auth())
        })
        .clone()
}

#[cfg(test)]
mod tests {
    #[test]
    fn builds_from_the_system_roots_and_speaks_tls12_and_13() {
        let config = super::client_config().expect("the system has root certificates");
        assert!(config.alpn_protocols.is_empty(), "HTTP/1.1 only, as the clients are built");
        assert!(super::client_config().is_ok());
    }
}
