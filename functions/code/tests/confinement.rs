//! What a sandbox process is, seen from the outside while it runs, and what is left of it afterwards:
//! nothing. One test at a time in this binary, so the process and CPU checks see only their own children.

use std::{
    collections::BTreeSet,
    fs,
    time::{Duration, Instant},
};

use async_trait::async_trait;
use serde_json::{json, Value};
use shared::code::{sandbox::WORKER_ARG, ErrorKind, Job, Limits, Sandbox, ToolFailure, ToolHost};

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct NoTools;

#[async_trait]
impl ToolHost for NoTools {
    async fn call(&self, name: &str, _arguments: Value) -> Result<Value, ToolFailure> {
        Err(ToolFailure::NotFound(format!("Tool not found: {name}")))
    }
}

fn sandbox() -> Sandbox {
    Sandbox::with_worker(env!("CARGO_BIN_EXE_code"))
}

fn job(code: &str, timeout_ms: u64) -> Job {
    Job {
        code: code.into(),
        context: json!({}),
        helpers: Vec::new(),
        limits: Limits::default(),
        timeout: Duration::from_millis(timeout_ms),
    }
}

/// Live sandbox processes whose parent is this process.
fn sandboxes() -> Vec<u32> {
    let me = std::process::id().to_string();
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let parent = status.lines().find_map(|l| l.strip_prefix("PPid:")).map(str::trim);
        let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let zombie = status.lines().any(|l| l.starts_with("State:") && l.contains('Z'));
        if parent == Some(me.as_str()) && String::from_utf8_lossy(&cmdline).contains(WORKER_ARG) && !zombie {
            found.push(pid);
        }
    }
    found
}

/// CPU time (user + system, clock ticks) of every thread of this process.
fn cpu_ticks() -> u64 {
    let mut total = 0;
    for task in fs::read_dir("/proc/self/task").into_iter().flatten().flatten() {
        let stat = fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
        let fields: Vec<&str> = rest.split_whitespace().collect();
        total += fields.get(11).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
        total += fields.get(12).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    }
    total
}

/// Builtins that loop in C without polling QuickJS's interrupt handler (each measured: the engine does not
/// stop them at the deadline; the host's kill does, 250 ms later).
const STUCK: &[&str] = &[
    "return Array.prototype.includes.call({length: 2 ** 53 - 1}, 1)",
    "return Array.prototype.indexOf.call({length: 2 ** 53 - 1}, 1)",
    "return Array.prototype.lastIndexOf.call({length: 2 ** 53 - 1}, 1)",
    "return Array.prototype.reverse.call({length: 2 ** 53 - 1}).length",
    "return Array.prototype.copyWithin.call({length: 2 ** 53 - 1}, 0, 1).length",
    "return Array.prototype.join.call({length: 2 ** 32 - 1}).length",
    "const a = []; a.length = 2 ** 32 - 1; return a.sort().length",
    "const s = 'a'.repeat(1 << 24); return s.indexOf('a'.repeat(1 << 16) + 'b')",
    "const s = 'a'.repeat(1 << 24); return s.split('a'.repeat(1 << 16) + 'b').length",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stuck_builtins_are_killed_at_the_deadline_and_leave_nothing_behind() {
    let _one = ONE_AT_A_TIME.lock().await;
    let sandbox = sandbox();
    let started = Instant::now();
    let runs = STUCK.iter().map(|code| sandbox.run(job(code, 1_000), &NoTools));
    let results = futures_util::future::join_all(runs).await;
    for (code, r) in STUCK.iter().zip(&results) {
        assert_eq!(r.error_kind, Some(ErrorKind::Timeout), "{code}: {r:?}");
    }
    // Deadline plus the grace, not the builtin's end (which is never).
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    assert!(sandboxes().is_empty(), "sandbox processes left: {:?}", sandboxes());
    let before = cpu_ticks();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let spent = cpu_ticks() - before;
    assert!(spent <= 5, "{spent} ticks of CPU in the second after the deadlines");
    let next = Instant::now();
    let r = sandbox.run(job("return 6 * 7", 5_000), &NoTools).await;
    assert_eq!(r.return_value, Some(json!(42)), "{r:?}");
    assert!(next.elapsed() < Duration::from_millis(500), "{:?}", next.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_sandbox_is_confined() {
    let _one = ONE_AT_A_TIME.lock().await;
    let sandbox = sandbox();
    let running = tokio::spawn(async move { sandbox.run(job("while (true) {}", 3_000), &NoTools).await });
    let mut pids = Vec::new();
    for _ in 0..100 {
        pids = sandboxes();
        if !pids.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let [pid] = pids[..] else { panic!("expected one sandbox process, found {pids:?}") };
    // Give it the moment between exec and running the code, where it installs its filter.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(status.contains("Seccomp:\t2"), "no seccomp filter: {status}");
    assert!(status.contains("NoNewPrivs:\t1"), "{status}");
    let environ = fs::read(format!("/proc/{pid}/environ")).unwrap();
    // Only what the sandbox set itself (its time zone); nothing of the parent's environment.
    assert_eq!(String::from_utf8_lossy(&environ), "", "environment: {:?}", String::from_utf8_lossy(&environ));
    let fds: BTreeSet<String> = fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into())
        .collect();
    assert_eq!(fds, BTreeSet::from(["0".into(), "1".into(), "2".into()]), "open files: {fds:?}");
    let limits = fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let limit = |name: &str| {
        limits.lines().find(|l| l.starts_with(name)).map(|l| l[26..].split_whitespace().next().unwrap_or("").to_owned())
    };
    assert_eq!(limit("Max processes").as_deref(), Some("0"), "{limits}");
    assert_eq!(limit("Max file size").as_deref(), Some("0"), "{limits}");
    assert_eq!(limit("Max cpu time").as_deref(), Some("5"), "{limits}");
    let address_space: u64 = limit("Max address space").and_then(|v| v.parse().ok()).unwrap();
    assert!(address_space < (128 << 20) + (600 << 20), "address space {address_space}");
    let r = running.await.unwrap();
    assert_eq!(r.error_kind, Some(ErrorKind::Timeout), "{r:?}");
    assert!(sandboxes().is_empty());
}

#[test]
fn the_gateway_process_is_not_dumpable_once_it_can_run_code() {
    shared::code::serve_if_child();
    // SAFETY: prctl with integer arguments only.
    assert_eq!(unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) }, 0);
    assert!(Sandbox::current().is_available());
}
