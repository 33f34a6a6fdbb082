//! HTTP transport policy shared by every function: header checks, Origin/Host (DNS rebinding), CORS,
//! security headers, and turning results and errors into responses.

mod origin;
mod request;
mod response;

pub use origin::{check_origin, cors_headers, preflight};
pub use request::{body, check_accept, check_content_type, header};
pub use response::{empty, error, json};
