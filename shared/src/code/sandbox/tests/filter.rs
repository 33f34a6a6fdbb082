//! The seccomp filter, applied to a real process: this test binary started again with one probe to run
//! after confining itself exactly as the sandbox does. A refused call kills the process with SIGSYS.

use std::{os::unix::process::ExitStatusExt, process::Command};

use super::super::confine::confine_worker;
use crate::code::Limits;

const PROBE: &str = "MCP_GATEWAY_FILTER_PROBE";

/// Runs in the child only (the variable is unset in a normal test run): confine, probe, exit 0.
#[test]
fn probe_child() {
    let Ok(probe) = std::env::var(PROBE) else { return };
    confine_worker(&Limits::default()).unwrap();
    // SAFETY: each probe is one system call with valid (or deliberately useless) arguments.
    unsafe {
        match probe.as_str() {
            "allowed" => {
                let block = vec![7u8; 50 << 20];
                let keys = std::collections::hash_map::RandomState::new();
                let _ = (std::time::Instant::now(), std::time::SystemTime::now(), keys);
                eprintln!("{}", block.iter().map(|b| *b as usize).sum::<usize>());
                let mut byte = [0u8; 1];
                let _ = std::io::Read::read(&mut std::io::stdin(), &mut byte);
            }
            "open" => drop(std::fs::read("/proc/self/environ")),
            "open-parent" => drop(std::fs::read(format!("/proc/{}/environ", libc::getppid()))),
            "socket" => drop(libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0)),
            "fork" => drop(libc::fork()),
            "exec" => drop(Command::new("/bin/true").status()),
            "kill" => drop(libc::kill(libc::getppid(), 0)),
            "ptrace" => drop(libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0)),
            "exec-memory" => drop(libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_EXEC,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )),
            "write-elsewhere" => drop(libc::write(7, b"x".as_ptr().cast(), 1)),
            other => panic!("unknown probe {other}"),
        }
    }
    std::process::exit(0);
}

fn probe(name: &str) -> std::process::ExitStatus {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "code::sandbox::tests::filter::probe_child", "--nocapture", "--test-threads=1"])
        .env(PROBE, name)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap()
}

#[test]
fn the_engine_needs_are_allowed() {
    let status = probe("allowed");
    assert!(status.success(), "{status:?}");
}

#[test]
fn everything_else_kills_the_sandbox() {
    for name in ["open", "open-parent", "socket", "fork", "exec", "kill", "ptrace", "exec-memory", "write-elsewhere"] {
        let status = probe(name);
        assert_eq!(status.signal(), Some(libc::SIGSYS), "{name}: {status:?}");
    }
}
