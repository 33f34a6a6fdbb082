//! The sandbox as the `code` function runs it: every execution in a process started from this package's
//! binary (`CARGO_BIN_EXE_code`), confined and killed at its deadline. Escapes, the tool bridge, and the
//! limits on what code may hand the gateway.

mod bridge;
mod escapes;
mod fake;
mod limits;
