//! The host against sandboxes that break the protocol (fake workers written in Python, so they can send
//! anything), and the seccomp filter against the system calls it must refuse. The real worker is
//! exercised by the `code` package's tests (`functions/code/tests`), which can start its binary.

mod filter;
mod hostile;

/// The only caller of `slot` in this test binary: the first call sizes the process-wide slots.
#[tokio::test]
async fn slots_bound_the_executions_of_a_process() {
    use std::time::Duration;
    let wait = Duration::from_millis(50);
    let first = super::slot(2, wait).await.expect("a free slot");
    let second = super::slot(2, wait).await.expect("a free slot");
    assert!(super::slot(2, wait).await.is_none(), "a third execution must wait");
    drop(first);
    assert!(super::slot(2, wait).await.is_some(), "a freed slot is taken again");
    drop(second);
}
