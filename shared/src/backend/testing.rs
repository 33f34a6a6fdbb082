//! A tiny HTTP/1.1 server on 127.0.0.1 for unit tests of the backend clients: it records every request
//! (headers and body) and answers with whatever the test's handler returns, including streamed bodies
//! for SSE. One request per connection (`Connection: close`), so no keep-alive parsing is needed.

use std::sync::{Arc, Mutex};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::mpsc,
};

/// One received request.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// What the handler answers.
pub enum Reply {
    Full(u16, &'static str, String),
    /// Status, content type, extra headers and body.
    Headed(u16, &'static str, Vec<(&'static str, String)>, String),
    /// Status, content type, and chunks written as they arrive; the connection closes when the sender
    /// is dropped.
    Stream(u16, &'static str, mpsc::UnboundedReceiver<String>),
}

impl From<(u16, &'static str, String)> for Reply {
    fn from((status, ctype, body): (u16, &'static str, String)) -> Self {
        Reply::Full(status, ctype, body)
    }
}

type Handler = Arc<dyn Fn(&Recorded) -> Reply + Send + Sync>;

pub struct HttpStub {
    addr: std::net::SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for HttpStub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl HttpStub {
    pub async fn start<R: Into<Reply>>(handler: impl Fn(&Recorded) -> R + Send + Sync + 'static) -> Self {
        let handler: Handler = Arc::new(move |r| handler(r).into());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (handler, log) = (handler.clone(), log.clone());
                tokio::spawn(async move { serve(stream, handler, log).await });
            }
        });
        Self { addr, requests, task }
    }

    pub fn url(&self, path: &str) -> reqwest::Url {
        reqwest::Url::parse(&format!("http://{}{path}", self.addr)).expect("valid URL")
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

async fn serve(mut stream: TcpStream, handler: Handler, log: Arc<Mutex<Vec<Recorded>>>) {
    let Some(request) = read_request(&mut stream).await else { return };
    log.lock().unwrap_or_else(|p| p.into_inner()).push(request.clone());
    let head = |status: u16, ctype: &str, length: Option<usize>| {
        let length = length.map(|n| format!("content-length: {n}\r\n")).unwrap_or_default();
        format!("HTTP/1.1 {status} X\r\ncontent-type: {ctype}\r\n{length}connection: close\r\n\r\n")
    };
    match handler(&request) {
        Reply::Full(status, ctype, body) => {
            let _ = stream.write_all(format!("{}{body}", head(status, ctype, Some(body.len()))).as_bytes()).await;
        }
        Reply::Headed(status, ctype, headers, body) => {
            let extra: String = headers.iter().map(|(n, v)| format!("{n}: {v}\r\n")).collect();
            let head = head(status, ctype, Some(body.len())).replacen("\r\n", &format!("\r\n{extra}"), 1);
            let _ = stream.write_all(format!("{head}{body}").as_bytes()).await;
        }
        Reply::Stream(status, ctype, mut chunks) => {
            let _ = stream.write_all(head(status, ctype, None).as_bytes()).await;
            while let Some(chunk) = chunks.recv().await {
                if stream.write_all(chunk.as_bytes()).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = stream.shutdown().await;
}

async fn read_request(stream: &mut TcpStream) -> Option<Recorded> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let n = stream.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, path) = (first.next()?.to_owned(), first.next()?.to_owned());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':').map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned())))
        .collect();
    let length = headers.iter().find(|(n, _)| n == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Recorded { method, path, headers, body: String::from_utf8_lossy(&body).into_owned() })
}
