//! The gateway as one plain HTTP/1.1 server: `/mcp`, `/.well-known/*`, `/health`, `/metrics` and
//! `/api/code/*` on one listener, served by the same handlers as the Lambda functions (see
//! `shared::selfhost`). For self-hosting outside Lambda (container, VM) and for measuring the gateway
//! without the Lambda emulator. No TLS: run it behind a TLS-terminating proxy or on loopback.
//!
//! `GATEWAY_LISTEN` (default `127.0.0.1:8080`) is the address; everything else is the Lambda functions'
//! configuration (README, "Configuration"). `/mcp` answers may be event streams (`GATEWAY_STREAMING`):
//! they go out chunk by chunk as they are written.

use std::{convert::Infallible, net::SocketAddr, sync::Arc};

use http_body_util::BodyExt;
use hyper::{body::Incoming, server::conn::http1, service::service_fn, Request, Response};
use hyper_util::rt::TokioIo;
use shared::{
    http::ResponseBody,
    selfhost::{lambda_request, Gateway},
};
use tokio::net::TcpListener;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), Error> {
    // First, before any runtime or thread: this binary is also the sandbox process of each execution.
    shared::code::serve_if_child();
    listen()
}

#[tokio::main]
async fn listen() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    shared::telemetry::init()?;
    let listen = std::env::var("GATEWAY_LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let addr: SocketAddr = listen.parse().map_err(|e| format!("GATEWAY_LISTEN={listen:?}: {e}"))?;
    // A bad configuration stops the server here with the variable's name, before it listens.
    let gateway = Arc::new(Gateway::from_env().await?);
    let listener = TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    tracing::info!(%addr, "gateway listening");
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: keep serving the connections already open.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        // An event stream is many small writes: with Nagle's algorithm on, an event written while the
        // previous one is unacknowledged waits for the client's delayed ACK (~40 ms on Linux).
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "TCP_NODELAY not set");
        }
        let gateway = Arc::clone(&gateway);
        tokio::spawn(async move {
            let service = service_fn(move |request| serve(Arc::clone(&gateway), request, peer));
            if let Err(error) = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
}

async fn serve(
    gateway: Arc<Gateway>,
    request: Request<Incoming>,
    peer: SocketAddr,
) -> Result<Response<ResponseBody>, Infallible> {
    let limit = gateway.app().config.max_body_bytes;
    let (parts, mut incoming) = request.into_parts();
    // Read at most one byte past the limit: the handler then refuses the body (413) exactly as in Lambda.
    let mut body = Vec::new();
    while body.len() <= limit {
        match incoming.frame().await {
            Some(Ok(frame)) => body.extend_from_slice(frame.data_ref().map(|d| d.as_ref()).unwrap_or_default()),
            Some(Err(error)) => {
                tracing::debug!(%error, "request body ended early");
                break;
            }
            None => break,
        }
    }
    Ok(gateway.handle(lambda_request(parts, body, peer.ip())).await)
}
