//! What confines a sandbox process, and what keeps the gateway process out of its reach.
//!
//! Three layers, each enough on its own for one class of escape:
//! - rlimits, set between fork and exec ([`ChildLimits`]): address space, CPU seconds (a backstop to the
//!   host's kill at the deadline), no file may grow (`FSIZE` 0), no new process (`NPROC` 0), few file
//!   descriptors, no core dump; and the child dies with the gateway (`PR_SET_PDEATHSIG`).
//! - a seccomp-bpf allowlist, installed by the sandbox itself before it reads any code ([`confine_worker`]):
//!   reading its stdin, writing its stdout/stderr, memory management without executable pages, futex,
//!   clocks, randomness, signals to itself, exit. No open, no socket, no fork/exec, no ptrace, no kill of
//!   another process. Anything else kills the process (`SIGSYS`).
//! - the gateway process is not dumpable ([`protect_host_process`]): another process of the same user
//!   (such as a sandbox whose filter failed) cannot read its `/proc/<pid>/environ` (Lambda puts the
//!   role's credentials there) or its memory. The sandbox's own environment is empty.

use std::{collections::BTreeMap, io, time::Duration};

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule, TargetArch,
};

use crate::code::config::Limits;

/// Address space the sandbox process needs besides the engine heap: the executable and libc mapped,
/// the stack, tool replies and output on their way through Rust memory. The worker tightens the limit
/// to its measured size plus the heap plus this, once it runs.
pub(super) const HEADROOM_BYTES: u64 = 96 << 20;
/// The coarse address-space limit set before exec, above the measured one (the binary's size is only
/// known once it is mapped).
const BACKSTOP_BYTES: u64 = 1 << 30;
/// File descriptors: stdin, stdout, stderr, and what the dynamic loader opens while starting.
const MAX_FILES: u64 = 16;

/// Marks the gateway process non-dumpable (see the module docs). Idempotent.
pub(super) fn protect_host_process() {
    // SAFETY: prctl with integer arguments only.
    let done = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    if done != 0 {
        tracing::warn!(error = %io::Error::last_os_error(), "could not mark the process non-dumpable");
    }
}

/// The rlimits of one sandbox process, computed before fork so that applying them allocates nothing.
#[derive(Debug, Clone, Copy)]
pub(super) struct ChildLimits {
    address_space: u64,
    cpu_seconds: u64,
}

impl ChildLimits {
    pub fn new(limits: &Limits, timeout: Duration) -> Self {
        Self {
            address_space: limits.memory_bytes as u64 + BACKSTOP_BYTES,
            // Whole seconds past the deadline: the host kills the process long before this fires.
            cpu_seconds: timeout.as_secs() + 2,
        }
    }

    /// Runs in the forked child before exec: only async-signal-safe calls (plain syscalls).
    pub fn apply(&self) -> io::Result<()> {
        set(libc::RLIMIT_AS, self.address_space, self.address_space)?;
        // The soft limit sends SIGXCPU, the hard one SIGKILL a second later.
        set(libc::RLIMIT_CPU, self.cpu_seconds, self.cpu_seconds + 1)?;
        set(libc::RLIMIT_FSIZE, 0, 0)?;
        set(libc::RLIMIT_NPROC, 0, 0)?;
        set(libc::RLIMIT_NOFILE, MAX_FILES, MAX_FILES)?;
        set(libc::RLIMIT_CORE, 0, 0)?;
        // SAFETY: prctl with integer arguments only.
        if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

fn set(resource: libc::__rlimit_resource_t, soft: u64, hard: u64) -> io::Result<()> {
    let limit = libc::rlimit { rlim_cur: soft as libc::rlim_t, rlim_max: hard as libc::rlim_t };
    // SAFETY: `limit` is a valid rlimit for the duration of the call.
    if unsafe { libc::setrlimit(resource, &limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Closes every file descriptor but stdin, stdout and stderr: whatever the gateway process inherited
/// without close-on-exec (from the Lambda runtime, a shell, a test harness) must not reach the code.
pub(super) fn close_inherited_files() -> io::Result<()> {
    let inherited: Vec<i32> = std::fs::read_dir("/proc/self/fd")?
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd > 2)
        .collect();
    for fd in inherited {
        // SAFETY: closes a descriptor of this single-threaded process that nothing here uses (the one
        // the listing itself used is already closed: EBADF, ignored).
        unsafe { libc::close(fd) };
    }
    Ok(())
}

unsafe extern "C" {
    /// POSIX; the libc crate does not declare it for Linux.
    fn tzset();
}

/// Confines the sandbox process itself, after it has read its job and before it runs any of it. Any
/// failure means the process must not run the code.
pub(super) fn confine_worker(limits: &Limits) -> io::Result<()> {
    // Dates are UTC in the sandbox, and the time zone is loaded now: glibc looks at /etc/localtime on
    // every local-time conversion when TZ is unset, which the filter below would refuse.
    // SAFETY: the sandbox process is single-threaded here; nothing reads the environment concurrently.
    unsafe {
        std::env::set_var("TZ", "UTC");
        tzset();
    }
    tighten_address_space(limits)?;
    let filter = filter().map_err(|error| io::Error::other(format!("seccomp filter: {error}")))?;
    seccompiler::apply_filter(&filter).map_err(|error| io::Error::other(format!("seccomp: {error}")))
}

/// Lowers the address-space limit to what this process maps now, plus the engine heap and headroom.
fn tighten_address_space(limits: &Limits) -> io::Result<()> {
    let statm = std::fs::read_to_string("/proc/self/statm")?;
    let pages: u64 = statm.split_whitespace().next().and_then(|p| p.parse().ok()).ok_or_else(|| {
        io::Error::other("/proc/self/statm: no size") // never on Linux; the backstop limit stays then
    })?;
    // SAFETY: sysconf with a constant name.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as u64;
    let limit = pages * page + limits.memory_bytes as u64 + HEADROOM_BYTES;
    set(libc::RLIMIT_AS, limit, limit)
}

/// The system calls the sandbox may make once its code runs, for this architecture.
pub(super) fn filter() -> Result<BpfProgram, seccompiler::BackendError> {
    let arch = TargetArch::try_from(std::env::consts::ARCH)?;
    let arg =
        |index: u8, op: SeccompCmpOp, value: u64| SeccompCondition::new(index, SeccompCmpArgLen::Dword, op, value);
    let when = |conditions: Vec<SeccompCondition>| SeccompRule::new(conditions);
    // Memory may be mapped and re-protected, never executable: QuickJS has no JIT, so only an exploit
    // would want that.
    let not_executable = || when(vec![arg(2, SeccompCmpOp::MaskedEq(libc::PROT_EXEC as u64), 0)?]);
    // SAFETY: getpid has no preconditions.
    let own_pid = unsafe { libc::getpid() } as u64;
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    rules.insert(libc::SYS_read, vec![when(vec![arg(0, SeccompCmpOp::Eq, 0)?])?]);
    rules.insert(
        libc::SYS_write,
        vec![when(vec![arg(0, SeccompCmpOp::Eq, 1)?])?, when(vec![arg(0, SeccompCmpOp::Eq, 2)?])?],
    );
    rules.insert(libc::SYS_writev, vec![when(vec![arg(0, SeccompCmpOp::Eq, 2)?])?]);
    rules.insert(libc::SYS_mmap, vec![not_executable()?]);
    rules.insert(libc::SYS_mprotect, vec![not_executable()?]);
    // abort() signals its own thread: allowed for this process only, never another one.
    rules.insert(libc::SYS_tgkill, vec![when(vec![arg(0, SeccompCmpOp::Eq, own_pid)?])?]);
    for call in [
        libc::SYS_munmap,
        libc::SYS_mremap,
        libc::SYS_brk,
        libc::SYS_madvise,
        libc::SYS_futex,
        libc::SYS_clock_gettime,
        libc::SYS_clock_getres,
        libc::SYS_gettimeofday,
        libc::SYS_getrandom,
        libc::SYS_sched_yield,
        libc::SYS_getpid,
        libc::SYS_gettid,
        libc::SYS_rt_sigreturn,
        libc::SYS_rt_sigprocmask,
        libc::SYS_rt_sigaction,
        libc::SYS_sigaltstack,
        libc::SYS_exit,
        libc::SYS_exit_group,
    ] {
        rules.insert(call, Vec::new());
    }
    SeccompFilter::new(rules, SeccompAction::KillProcess, SeccompAction::Allow, arch)?.try_into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_builds_for_this_architecture() {
        let program = filter().unwrap();
        assert!(program.len() > 20, "{} instructions", program.len());
    }

    #[test]
    fn limits_leave_room_for_the_heap() {
        let limits = Limits::default();
        let child = ChildLimits::new(&limits, Duration::from_millis(25_000));
        assert_eq!(child.cpu_seconds, 27);
        assert!(child.address_space > limits.memory_bytes as u64);
    }
}
