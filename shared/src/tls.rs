//! One TLS configuration for every HTTPS client of the process: the gateway's own (backends, OAuth token
//! endpoints, the JWKS, health probes) and the AWS SDK's (`aws::sdk_config`). One crypto provider
//! (aws-lc-rs), and the platform's root certificates read once per process, on the first handshake that
//! needs them: reading them is a parse of the whole CA bundle, and a cold start that speaks only plain
//! HTTP (a local stack) or has not reached an HTTPS endpoint yet should not pay for it.

use std::sync::{Arc, OnceLock};

use rustls::{
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    crypto::CryptoProvider,
    pki_types::{CertificateDer, ServerName, UnixTime},
    ClientConfig, DigitallySignedStruct, SignatureScheme,
};

static CONFIG: OnceLock<Result<ClientConfig, String>> = OnceLock::new();

/// The shared configuration: aws-lc-rs, TLS 1.2 and 1.3, the platform's verifier and roots.
pub fn client_config() -> Result<ClientConfig, String> {
    CONFIG
        .get_or_init(|| {
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let verifier = Arc::new(PlatformVerifier { provider: Arc::clone(&provider), inner: OnceLock::new() });
            let builder = ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| format!("TLS configuration: {e}"))?;
            // "dangerous" is rustls' name for a verifier of one's own: this one is the platform's, built
            // on first use, and every certificate is verified by it.
            Ok(builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth())
        })
        .clone()
}

/// The platform verifier (`rustls-platform-verifier`), built when the first certificate is checked.
#[derive(Debug)]
struct PlatformVerifier {
    provider: Arc<CryptoProvider>,
    inner: OnceLock<Result<rustls_platform_verifier::Verifier, rustls::Error>>,
}

impl PlatformVerifier {
    fn verifier(&self) -> Result<&rustls_platform_verifier::Verifier, rustls::Error> {
        self.inner
            .get_or_init(|| rustls_platform_verifier::Verifier::new(Arc::clone(&self.provider)))
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl ServerCertVerifier for PlatformVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.verifier()?.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    // Handshake signatures need no roots: checked with the provider's algorithms, as the platform
    // verifier itself does.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_without_reading_the_roots_and_speaks_tls12_and_13() {
        let config = client_config().expect("the TLS configuration builds");
        assert!(config.alpn_protocols.is_empty(), "HTTP/1.1 only, as the clients are built");
        assert!(client_config().is_ok());
    }

    #[test]
    fn certificates_are_still_verified() {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier = PlatformVerifier { provider, inner: OnceLock::new() };
        assert!(verifier.inner.get().is_none(), "the roots are read on the first check, not before");
        let name = ServerName::try_from("gateway.example.com").unwrap();
        let garbage = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
        assert!(verifier.verify_server_cert(&garbage, &[], &name, &[], UnixTime::now()).is_err());
        assert!(verifier.inner.get().is_some());
    }
}
