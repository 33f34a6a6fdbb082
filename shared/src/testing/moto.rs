//! The local DynamoDB / Secrets Manager emulator (moto) for adapter tests. `make test` starts it and sets
//! `AWS_ENDPOINT_URL` and `MOTO_REQUIRED=1`; a plain `cargo test` has neither, and the adapter tests skip
//! with a message instead of failing (they cannot reach AWS, and must never try).

use std::{net::ToSocketAddrs, time::Duration};

/// The SDK configuration pointing at the emulator, or `None` (with a message on stderr) when there is
/// none. With `MOTO_REQUIRED=1` a missing emulator is a failure, so CI cannot silently skip these tests.
pub async fn moto(test: &str) -> Option<aws_config::SdkConfig> {
    let required = std::env::var("MOTO_REQUIRED").is_ok_and(|v| v == "1");
    let reachable = match std::env::var("AWS_ENDPOINT_URL") {
        Err(_) => Err("AWS_ENDPOINT_URL is not set".to_owned()),
        Ok(endpoint) => reach(&endpoint).map(|()| endpoint),
    };
    match reachable {
        Ok(_) => Some(crate::aws::sdk_config().await.expect("the AWS SDK configuration builds")),
        Err(why) if required => panic!("{test}: the emulator is required (MOTO_REQUIRED=1) but {why}"),
        Err(why) => {
            eprintln!("skipped {test}: needs the moto emulator ({why}); `make test` starts it");
            None
        }
    }
}

fn reach(endpoint: &str) -> Result<(), String> {
    let authority = endpoint.split("://").nth(1).unwrap_or(endpoint).split('/').next().unwrap_or_default();
    let addr = authority
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| format!("AWS_ENDPOINT_URL {endpoint:?} does not resolve"))?;
    std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500))
        .map(drop)
        .map_err(|_| format!("nothing answers at {endpoint}"))
}

/// Runs the future `make` returns to completion on a thread of its own with a 64 MB stack: the SDK's
/// futures are deep in a debug build. A panic in it is the caller's.
pub fn on_deep_stack<F, Fut>(make: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let run = move || tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(make());
    let worker = std::thread::Builder::new().stack_size(64 << 20).spawn(run).expect("a test thread");
    if let Err(panic) = worker.join() {
        std::panic::resume_unwind(panic);
    }
}
