//! The HTTP client the AWS SDK sends its requests with: the gateway's own (reqwest over rustls on aws-lc,
//! with the process's one TLS configuration, `tls::client_config`). So the process has one TLS stack and
//! one crypto provider, and reads the platform's root certificates once, on its first HTTPS handshake
//! (never, for a local stack on plain HTTP). The SDK's own default client is not compiled in.
//!
//! DynamoDB and Secrets Manager requests and responses are small JSON documents: both are buffered.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use aws_smithy_runtime_api::client::{
    http::{HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector},
    orchestrator::{HttpRequest, HttpResponse},
    result::ConnectorError,
    runtime_components::RuntimeComponents,
};
use aws_smithy_types::body::SdkBody;
use rustls::ClientConfig;

/// One reqwest client (and connection pool) per connect timeout the SDK asks for.
#[derive(Debug, Clone)]
pub struct SdkHttpClient {
    tls: ClientConfig,
    clients: Arc<Mutex<HashMap<Option<Duration>, reqwest::Client>>>,
}

impl SdkHttpClient {
    pub fn new(tls: ClientConfig) -> Self {
        Self { tls, clients: Arc::default() }
    }

    fn client(&self, connect_timeout: Option<Duration>) -> Result<reqwest::Client, ConnectorError> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(client) = clients.get(&connect_timeout) {
            return Ok(client.clone());
        }
        let mut builder = reqwest::Client::builder().tls_backend_preconfigured(self.tls.clone()).no_proxy();
        if let Some(timeout) = connect_timeout {
            builder = builder.connect_timeout(timeout);
        }
        let client = builder.build().map_err(|e| ConnectorError::other(e.into(), None))?;
        clients.insert(connect_timeout, client.clone());
        Ok(client)
    }
}

impl HttpClient for SdkHttpClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
        let client = self.client(settings.connect_timeout());
        SharedHttpConnector::new(Connector { client, read_timeout: settings.read_timeout() })
    }
}

#[derive(Debug)]
struct Connector {
    client: Result<reqwest::Client, ConnectorError>,
    read_timeout: Option<Duration>,
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = match &self.client {
            Ok(client) => client.clone(),
            Err(error) => {
                return HttpConnectorFuture::ready(Err(ConnectorError::other(error.to_string().into(), None)))
            }
        };
        let read_timeout = self.read_timeout;
        HttpConnectorFuture::new(async move {
            let request = request.try_into_http1x().map_err(|e| ConnectorError::user(e.into()))?;
            let (parts, body) = request.into_parts();
            let body = body
                .bytes()
                .map(<[u8]>::to_vec)
                .ok_or_else(|| ConnectorError::user("the AWS client sends buffered request bodies only".into()))?;
            let mut outgoing = client.request(parts.method, parts.uri.to_string()).headers(parts.headers).body(body);
            if let Some(timeout) = read_timeout {
                outgoing = outgoing.timeout(timeout);
            }
            let response = outgoing.send().await.map_err(connector_error)?;
            let (status, headers) = (response.status(), response.headers().clone());
            let bytes = response.bytes().await.map_err(connector_error)?;
            let mut answer = http::Response::new(SdkBody::from(bytes));
            *answer.status_mut() = status;
            *answer.headers_mut() = headers;
            HttpResponse::try_from(answer).map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// Timeouts and transport failures as the SDK's retry policy expects them (both retried).
fn connector_error(error: reqwest::Error) -> ConnectorError {
    if error.is_timeout() {
        ConnectorError::timeout(error.into())
    } else if error.is_connect() || error.is_request() || error.is_body() {
        ConnectorError::io(error.into())
    } else {
        ConnectorError::other(error.into(), None)
    }
}
