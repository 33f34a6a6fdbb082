//! HTTP transport policy shared by every function: header checks, Origin/Host (DNS rebinding), CORS,
//! security headers, turning results and errors into responses, and finishing every response (`finish`).

mod body;
mod finish;
mod origin;
mod request;
mod response;

pub use body::{sse_comment, sse_event, sse_priming, stream, ResponseBody, SseSender, StreamBody, StreamEnd};
pub use finish::{finish, Finishable, Served};
pub use origin::{check_origin, preflight};
pub use request::{body, check_accept, check_content_type, header};
pub use response::{empty, error, json, not_allowed, text};
