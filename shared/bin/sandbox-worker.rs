//! The sandbox worker for the crate's own tests and benchmarks (feature `test-util`): their executables
//! are test harnesses that cannot serve as one, so `shared::testing` starts sandboxes from this binary.
//! The functions that run code (`code`, `server`) are their own workers and never use it.

fn main() {
    shared::code::serve_if_child();
    eprintln!("sandbox-worker: started without the sandbox marker; it only serves executions");
    std::process::exit(2);
}
