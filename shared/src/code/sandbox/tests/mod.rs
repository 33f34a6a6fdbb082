//! The host against sandboxes that break the protocol (fake workers written in Python, so they can send
//! anything), and the seccomp filter against the system calls it must refuse. The real worker is
//! exercised by the `code` package's tests (`functions/code/tests`), which can start its binary.

mod filter;
mod hostile;
