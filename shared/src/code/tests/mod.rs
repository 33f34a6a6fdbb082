//! Execution tests with a fake tool host: the escape suite, limits, and the tool bridge.

mod bridge;
mod escapes;
mod fake;
