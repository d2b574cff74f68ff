//! `usertests [NAME...]`: a battery of hostile tests of the kernel, after
//! xv6's. Each case runs in a forked child, so a case that crashes (or
//! hangs: a watchdog kills it) fails alone. Cases that expect a death fork
//! the victim themselves. Prints `usertests: NAME ... ok` or
//! `usertests: NAME ... FAIL (reason)` per case, then
//! `usertests: N passed, M failed`, and exits with M.
//!
//! Around every case, and around the whole run, the kernel's counts
//! (`sysinfo`) must come back: free process slots, and free frames plus
//! the kernel's caches plus our own memory (see `abi::sys::SysInfo`). A
//! case that leaves a slot or a frame behind fails.
//!
//! With names, runs only the cases whose names contain one of them.
//! `usertests --list [NAME...]` runs nothing and prints the cases such a
//! run would run, a `usertests: case NAME` line each, in order.
#![no_std]
#![no_main]

use abi::PAGE_SIZE;
use abi::sys::{
    MAX_ARG_BYTES, MAX_ARG_LEN, MAX_ARGS, MAX_FDS, MAX_IO, MAX_PATH, STUB_ADDR, Str, USER_END,
    WNOHANG, WUNTRACED, nr,
};
use core::hint::black_box;
use programs::crash::{KINDS, Kind};
use ulib::io::write_all;
use ulib::prelude::*;
use ulib::{Cause, Errno, Fd, Pid, ProcInfo, ProcState, SleepReason, WaitStatus, println};

use ulib::WaitFor;

ulib::entry!(main);

type Res = Result<(), String>;
type CaseFn = fn() -> Res;
type AddrFn = fn() -> u64;
/// A test case, run in its own child.
type Case = Box<dyn Fn() -> Res>;

/// Most free frames `sbrk_exhaustion` takes on (32 MiB).
const MAX_HOG_FRAMES: u64 = 8192;
/// The exit code of a case that passed (not 0: a case whose process a
/// wrongly accepted `exec` replaced with `/bin/true` must not pass).
const CASE_OK: u8 = 77;
/// Longest a case may run before the watchdog kills it.
const CASE_TIMEOUT_MS: u64 = 30_000;
/// A pid no process has (far above any table size).
const NO_SUCH_PID: Pid = Pid(0x7FFE_FFF0);
/// The arguments `--check-args` expects (see `check_args`).
const ARGS_PROBE: [&str; 4] = ["one", "two words", "", "ünïcode"];

macro_rules! ensure {
    ($cond:expr, $($fmt:tt)*) => {
        if !$cond {
            return Err(format!($($fmt)*));
        }
    };
}

mod files;
mod signals;

fn main(args: &[&str]) -> i32 {
    if args.get(1) == Some(&"--check-args") {
        return check_args(&args[2..]);
    }
    if args.get(1) == Some(&"--check-fds") {
        return files::check_fds(&args[2..]);
    }
    if args.get(1) == Some(&"--list") {
        let filters = args.get(2..).unwrap_or_default();
        for (name, _) in cases() {
            if selected(&name, filters) {
                println!("usertests: case {name}");
            }
        }
        return 0;
    }
    let filters = args.get(1..).unwrap_or_default();
    let start = match counts() {
        Ok(c) => c,
        Err(e) => {
            println!("usertests: {e}");
            return 1;
        }
    };
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for (name, case) in cases() {
        if !selected(&name, filters) {
            continue;
        }
        let t0 = ulib::uptime_ms();
        match run_case(case.as_ref()) {
            Ok(()) => {
                passed += 1;
                println!("usertests: {name} ... ok ({} ms)", ulib::uptime_ms() - t0);
            }
            Err(reason) if reason.starts_with(SKIP) => {
                skipped += 1;
                println!("usertests: {name} ... skipped ({})", &reason[SKIP.len()..]);
            }
            Err(reason) => {
                failed += 1;
                println!("usertests: {name} ... FAIL ({reason})");
            }
        }
    }
    reap_orphans();
    // The whole run gave back every process slot and frame it used.
    match settle(start) {
        Ok(()) => {
            passed += 1;
            println!(
                "usertests: resources ... ok ({} free process slots, {} frames accounted for)",
                start.procs, start.frames
            );
        }
        Err(reason) => {
            failed += 1;
            println!("usertests: resources ... FAIL (the whole run {reason})");
        }
    }
    if skipped > 0 {
        println!("usertests: {passed} passed, {failed} failed, {skipped} skipped");
    } else {
        println!("usertests: {passed} passed, {failed} failed");
    }
    failed
}

/// Whether a run with names `filters` runs case `name`: all cases without
/// names, else those whose names contain one of them.
fn selected(name: &str, filters: &[&str]) -> bool {
    filters.is_empty() || filters.iter().any(|f| name.contains(f))
}

/// How a case's failure reason starts when the case could not run here.
const SKIP: &str = "skip: ";

/// What every case must give back: free process slots, and frames (free,
/// plus the kernel's caches, plus our own: see `abi::sys::SysInfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counts {
    procs: u64,
    frames: u64,
}

fn counts() -> Result<Counts, String> {
    let s = ok("sysinfo", ulib::sysinfo())?;
    Ok(Counts {
        procs: s.free_procs,
        frames: s.free_frames + s.kernel_frames + s.self_frames,
    })
}

/// Waits (up to 2 s: an orphan may still be on its way to init, which
/// reaps it) until the counts are back to `want`.
fn settle(want: Counts) -> Res {
    let deadline = ulib::uptime_ms() + 2000;
    loop {
        let now = counts()?;
        if now == want {
            return Ok(());
        }
        if ulib::uptime_ms() > deadline {
            return Err(format!(
                "left {} process slots and {} frames behind",
                want.procs as i64 - now.procs as i64,
                want.frames as i64 - now.frames as i64
            ));
        }
        reap_orphans();
        let _ = ulib::sleep(5);
    }
}

/// Every case, in order.
fn cases() -> Vec<(String, Case)> {
    let plain: &[(&str, CaseFn)] = &[
        ("getpid_fork", getpid_fork),
        ("exit_status", exit_status),
        ("killed_status", killed_status),
        ("wait_no_children", wait_no_children),
        ("wait_errors", wait_errors),
        ("waitpid_specific", waitpid_specific),
        ("wnohang", wnohang),
        ("kill_sleeping", kill_sleeping),
        ("kill_stopped", kill_stopped),
        ("kill_blocked", kill_blocked),
        ("kill_self", kill_self),
        ("kill_then_suspend", kill_then_suspend),
        ("kill_errors", kill_errors),
        ("suspend_resume", suspend_resume),
        ("suspend_edges", suspend_edges),
        ("wait_untraced", wait_untraced),
        ("bad_pointers", bad_pointers),
        ("huge_lengths", huge_lengths),
        ("io_bounded_per_call", io_bounded_per_call),
        ("unknown_syscalls", unknown_syscalls),
        ("bad_fds", bad_fds),
        ("fd_limit", fd_limit),
        ("sbrk", sbrk_grow_shrink),
        ("sbrk_huge", sbrk_huge),
        ("sbrk_exhaustion", sbrk_exhaustion),
        ("spawn_errors", spawn_errors),
        ("spawn_arg_limits", spawn_arg_limits),
        ("spawn_exec_status", spawn_exec_status),
        ("exec_errors", exec_errors),
        ("pipe_roundtrip", pipe_roundtrip),
        ("pipe_big_transfer", pipe_big_transfer),
        ("pipe_eof", pipe_eof),
        ("pipe_epipe", pipe_epipe),
        ("dup", dup),
        ("uptime_sleep", uptime_sleep),
        ("sleep_edges", sleep_edges),
        ("procinfo", procinfo),
        ("procinfo_errors", procinfo_errors),
        ("sysinfo", sysinfo_sane),
        ("pids_not_reused", pids_not_reused),
        ("fork_table_full", fork_table_full),
        ("fork_storm_then_quiet", fork_storm_then_quiet),
        ("orphan_reparent", orphan_reparent),
        ("reparent_rounds", reparent_rounds),
        ("privileged_instructions", privileged_instructions),
        ("int_n_from_ring3", int_n_from_ring3),
        ("fs_base_per_process", fs_base_per_process),
    ];
    // The file cases come first (each leaves memory as it found it: the
    // order is free).
    let mut all: Vec<(String, Case)> = files::CASES
        .iter()
        .chain(plain)
        .chain(signals::CASES)
        .map(|&(n, f)| (n.to_string(), Box::new(f) as Case))
        .collect();
    for kind in KINDS {
        all.push((
            format!("fault_{}", kind.name),
            Box::new(move || fault(kind)),
        ));
    }
    all
}

/// Runs `case` in a child; its failure reason comes back through a pipe.
/// Then every process slot and frame it used must come back.
fn run_case(case: &dyn Fn() -> Res) -> Res {
    let before = counts()?;
    let (r, w) = ok("pipe", ulib::pipe())?;
    let pid = match ulib::fork() {
        Ok(Pid::NONE) => {
            let _ = ulib::close(r);
            let code = match case() {
                Ok(()) => i32::from(CASE_OK),
                Err(msg) => {
                    // One short write: it fits the pipe, so exit never blocks.
                    let _ = write_all(w, &msg.as_bytes()[..msg.len().min(200)]);
                    1
                }
            };
            ulib::exit(code)
        }
        Ok(pid) => pid,
        Err(e) => {
            close_all(&[r, w]);
            return Err(format!("fork: {}", e.name()));
        }
    };
    let _ = ulib::close(w);
    let result = watch(pid).and_then(|status| match status.code() {
        Some(CASE_OK) => Ok(()),
        Some(1) => {
            // The reason is already in the pipe (written before exit), so
            // this read does not block even if a leftover grandchild still
            // holds the write end.
            let mut buf = [0u8; 256];
            let n = ulib::read(r, &mut buf).unwrap_or(0);
            Err(String::from_utf8_lossy(&buf[..n]).into_owned())
        }
        Some(code) => Err(format!("case exited with {code}")),
        None => Err(format!("case died: {}", status.describe())),
    });
    let _ = ulib::close(r);
    result?;
    settle(before)
}

/// Waits for case `pid` with a watchdog, reaping any orphan handed to us on
/// the way (usertests may be init).
fn watch(pid: Pid) -> Result<WaitStatus, String> {
    let deadline = ulib::uptime_ms() + CASE_TIMEOUT_MS;
    loop {
        match ulib::waitpid(WaitFor::Any, WNOHANG) {
            Ok((p, status)) if p == pid => return Ok(status),
            Ok((Pid::NONE, _)) if ulib::uptime_ms() > deadline => {
                kill_tree(pid);
                let _ = ulib::waitpid(pid, 0);
                return Err(format!("timed out after {CASE_TIMEOUT_MS} ms"));
            }
            Ok((Pid::NONE, _)) => {
                let _ = ulib::sleep(2);
            }
            Ok(_) => {} // an orphan
            Err(e) => return Err(format!("waitpid: {}", e.name())),
        }
    }
}

/// Kills `pid` and every descendant of it (a timed-out case's children
/// would go on using the machine).
fn kill_tree(pid: Pid) {
    let mut all = vec![ProcInfo::EMPTY; 4096];
    let n = ulib::procinfo_all(&mut all).unwrap_or(0);
    let mut doomed = vec![pid];
    let mut grew = true;
    while grew {
        grew = false;
        for p in &all[..n] {
            if doomed.contains(&p.ppid) && !doomed.contains(&p.pid) {
                doomed.push(p.pid);
                grew = true;
            }
        }
    }
    for p in doomed {
        let _ = ulib::kill(p, ulib::signal::SIGKILL);
    }
}

fn reap_orphans() {
    while let Ok((pid, _)) = ulib::waitpid(WaitFor::Any, WNOHANG) {
        if pid.is_none() {
            break;
        }
    }
}

/// The hidden mode `spawn_exec_status` runs: exit 0 iff the arguments
/// arrived intact.
fn check_args(args: &[&str]) -> i32 {
    if args == ARGS_PROBE { 0 } else { 3 }
}

// ---------------------------------------------------------------- helpers

fn ok<T>(what: &str, r: Result<T, Errno>) -> Result<T, String> {
    r.map_err(|e| format!("{what}: {} ({e})", e.name()))
}

/// Checks that `r` failed with one of `want`.
fn expect_err<T: core::fmt::Debug>(what: &str, r: Result<T, Errno>, want: &[Errno]) -> Res {
    let names = || want.iter().map(|e| e.name()).collect::<Vec<_>>().join("/");
    match r {
        Err(e) if want.contains(&e) => Ok(()),
        Err(e) => Err(format!("{what}: got {}, want {}", e.name(), names())),
        Ok(v) => Err(format!("{what}: returned {v:?}, want {}", names())),
    }
}

/// A raw system call, decoded.
fn raw(nr: u64, args: &[u64]) -> Result<u64, Errno> {
    // SAFETY: the tests pass addresses the kernel must refuse or buffers we
    // own; a kernel that wrongly writes through them can only corrupt this
    // disposable case process.
    Errno::result(unsafe { ulib::syscall(nr, args) })
}

/// Forks a child that runs `f` and exits with its result.
fn child(f: impl FnOnce() -> i32) -> Result<Pid, String> {
    match ulib::fork() {
        Ok(Pid::NONE) => ulib::exit(f()),
        Ok(pid) => Ok(pid),
        Err(e) => Err(format!("fork: {}", e.name())),
    }
}

/// Waits for child `pid` specifically.
fn wait_for(pid: Pid) -> Result<WaitStatus, String> {
    let (p, status) = ok("waitpid", ulib::waitpid(pid, 0))?;
    ensure!(p == pid, "waitpid({pid}) returned pid {p}");
    Ok(status)
}

fn expect_code(pid: Pid, code: u8) -> Res {
    let s = wait_for(pid)?;
    ensure!(
        s.code() == Some(code),
        "child {pid}: {}, want exit {code}",
        programs::describe_status(s, false)
    );
    Ok(())
}

fn expect_cause(pid: Pid, cause: Cause) -> Res {
    let s = wait_for(pid)?;
    ensure!(
        s.cause() == cause,
        "child {pid}: {}, want {}",
        programs::describe_status(s, false),
        cause.describe()
    );
    Ok(())
}

/// Kills and reaps a child when a case leaves early, so a failed case does
/// not leave a spinner behind.
struct Reaper(Pid);

impl Reaper {
    /// The child was reaped normally: nothing to clean up.
    fn done(self) {
        core::mem::forget(self);
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = ulib::kill(self.0, ulib::signal::SIGKILL);
        let _ = ulib::waitpid(self.0, 0);
    }
}

fn spinner() -> Result<Pid, String> {
    child(|| {
        let mut x = 0u64;
        loop {
            x = black_box(x.wrapping_add(1));
        }
    })
}

fn close_all(fds: &[Fd]) {
    for &fd in fds {
        let _ = ulib::close(fd);
    }
}

/// A pipe holding `data`, for reads that must not block.
fn pipe_with(data: &[u8]) -> Result<(Fd, Fd), String> {
    let (r, w) = ok("pipe", ulib::pipe())?;
    ok("write pipe", ulib::write(w, data))?;
    Ok((r, w))
}

/// The first page wholly above the program break: unmapped, however the
/// kernel rounds the heap.
fn past_break() -> u64 {
    ulib::sbrk(0).unwrap_or(0).next_multiple_of(PAGE_SIZE)
}

fn info(pid: Pid) -> Result<ProcInfo, String> {
    ok("procinfo", ulib::procinfo(pid))
}

// ---------------------------------------------------------------- cases

fn getpid_fork() -> Res {
    let me = ulib::getpid();
    ensure!(!me.is_none(), "getpid returned no pid");
    let (r, w) = ok("pipe", ulib::pipe())?;
    let pid = child(|| {
        let ids = [ulib::getpid(), ulib::getppid()];
        let bytes: Vec<u8> = ids.iter().flat_map(|id| id.0.to_le_bytes()).collect();
        i32::from(ulib::write(w, &bytes).is_err())
    })?;
    let _ = ulib::close(w);
    expect_code(pid, 0)?;
    let mut buf = [0u8; 8];
    let n = ok("read", ulib::read(r, &mut buf))?;
    ensure!(n == 8, "read {n} bytes of the child's ids");
    let (cpid, cppid) = (
        Pid(u32::from_le_bytes(buf[..4].try_into().unwrap())),
        Pid(u32::from_le_bytes(buf[4..].try_into().unwrap())),
    );
    ensure!(cpid == pid, "child's getpid {cpid} != fork's {pid}");
    ensure!(cppid == me, "child's getppid {cppid} != parent {me}");
    ensure!(ulib::getpid() == me, "parent's pid changed");
    Ok(())
}

fn wait_no_children() -> Res {
    expect_err(
        "waitpid(-1)",
        ulib::waitpid(WaitFor::Any, 0),
        &[Errno::ECHILD],
    )?;
    expect_err(
        "waitpid(-1, WNOHANG)",
        ulib::waitpid(WaitFor::Any, WNOHANG),
        &[Errno::ECHILD],
    )?;
    expect_err(
        "waitpid(init)",
        ulib::waitpid(Pid::INIT, 0),
        &[Errno::ECHILD],
    )?;
    expect_err(
        "waitpid(missing)",
        ulib::waitpid(NO_SUCH_PID, 0),
        &[Errno::ECHILD],
    )
}

fn waitpid_specific() -> Res {
    let slow = child(|| {
        let _ = ulib::sleep(50);
        1
    })?;
    let fast = child(|| 2)?;
    expect_code(fast, 2)?;
    expect_code(slow, 1)?;
    expect_err(
        "waitpid after reaping all",
        ulib::waitpid(WaitFor::Any, 0),
        &[Errno::ECHILD],
    )
}

fn wnohang() -> Res {
    let pid = child(|| {
        let _ = ulib::sleep(200);
        0
    })?;
    let (p, _) = ok("waitpid WNOHANG", ulib::waitpid(pid, WNOHANG))?;
    ensure!(p.is_none(), "WNOHANG returned {p} for a sleeping child");
    expect_code(pid, 0)
}

fn kill_sleeping() -> Res {
    let pid = child(|| {
        let _ = ulib::sleep(10_000);
        0
    })?;
    let _ = ulib::sleep(30);
    let t0 = ulib::uptime_ms();
    ok("kill", ulib::kill(pid, ulib::signal::SIGKILL))?;
    expect_cause(pid, Cause::Killed)?;
    let took = ulib::uptime_ms() - t0;
    ensure!(took < 2000, "the killed sleeper took {took} ms to die");
    Ok(())
}

fn kill_stopped() -> Res {
    let pid = spinner()?;
    let guard = Reaper(pid);
    ok("suspend", ulib::suspend(pid))?;
    ok("kill", ulib::kill(pid, ulib::signal::SIGKILL))?;
    expect_cause(pid, Cause::Killed)?;
    guard.done();
    Ok(())
}

fn suspend_resume() -> Res {
    let pid = spinner()?;
    let guard = Reaper(pid);
    let _ = ulib::sleep(50);
    ok("suspend", ulib::suspend(pid))?;
    let _ = ulib::sleep(20);
    let a = info(pid)?;
    ensure!(
        a.state() == Some(ProcState::Stopped),
        "state {} after suspend",
        programs::ps::state_name(&a)
    );
    let _ = ulib::sleep(100);
    let b = info(pid)?;
    ensure!(
        b.ticks == a.ticks,
        "ticks advanced while stopped: {} -> {}",
        a.ticks,
        b.ticks
    );
    ok("resume", ulib::resume(pid))?;
    let _ = ulib::sleep(150);
    let c = info(pid)?;
    ensure!(
        c.ticks > b.ticks,
        "ticks did not advance after resume ({})",
        c.ticks
    );
    ensure!(
        c.state() != Some(ProcState::Stopped),
        "still stopped after resume"
    );
    ok("kill", ulib::kill(pid, ulib::signal::SIGKILL))?;
    expect_cause(pid, Cause::Killed)?;
    guard.done();
    Ok(())
}

/// `waitpid` with `WUNTRACED` reports each stop once, for a pid and for
/// -1, wakes a parent already waiting, and never reaps the stopped child.
fn wait_untraced() -> Res {
    let pid = spinner()?;
    let guard = Reaper(pid);
    let p = pid;
    let nothing = |what: &str, who: WaitFor| -> Res {
        let (r, _) = ok(what, ulib::waitpid(who, WNOHANG | WUNTRACED))?;
        ensure!(r.is_none(), "{what}: reported {r}, want nothing");
        Ok(())
    };
    nothing("before any stop", p.into())?;
    ok("suspend", ulib::suspend(p))?;
    let (_, plain) = ok("waitpid WNOHANG", ulib::waitpid(p, WNOHANG))?;
    ensure!(plain.0 == 0, "a stop without WUNTRACED was reported");
    let (r, s) = ok("waitpid WUNTRACED", ulib::waitpid(p, WUNTRACED))?;
    ensure!(r == pid && s.is_stopped(), "got pid {r} status {:#x}", s.0);
    nothing("the same stop again", p.into())?;
    ok("suspend a stopped child", ulib::suspend(p))?;
    nothing("a second suspend", WaitFor::Any)?;
    ok("resume", ulib::resume(p))?;
    nothing("after resume", WaitFor::Any)?;
    ok("suspend after resume", ulib::suspend(p))?;
    let (r, s) = ok(
        "waitpid(-1, WUNTRACED)",
        ulib::waitpid(WaitFor::Any, WUNTRACED),
    )?;
    ensure!(r == pid && s.is_stopped(), "got pid {r} status {:#x}", s.0);
    ok("kill", ulib::kill(p, ulib::signal::SIGKILL))?;
    expect_cause(pid, Cause::Killed)?;
    guard.done();
    // A parent already asleep in waitpid is woken by the stop.
    let pid = child(|| {
        let _ = ulib::suspend(ulib::getpid());
        7
    })?;
    let (r, s) = ok("waitpid for a self-stop", ulib::waitpid(pid, WUNTRACED))?;
    ensure!(r == pid && s.is_stopped(), "got pid {r} status {:#x}", s.0);
    ok("resume", ulib::resume(pid))?;
    expect_code(pid, 7)
}

/// An address a system call must refuse, by what it is.
struct BadAddr {
    label: &'static str,
    addr: AddrFn,
    /// Readable user memory (so only calls that write through the pointer
    /// must refuse it).
    readable: bool,
}

/// Addresses no system call may read or write through (`readable`: or
/// only not write), each used with a length of 8 or more: a range that
/// starts in mapped memory and runs into unmapped memory straddles.
const BAD_ADDRS: &[BadAddr] = &[
    BadAddr {
        label: "null",
        addr: || 0,
        readable: false,
    },
    BadAddr {
        label: "the direct map",
        addr: || 0xFFFF_8000_0000_0000,
        readable: false,
    },
    BadAddr {
        label: "the kernel image",
        addr: || programs::crash::KERNEL_ADDR,
        readable: false,
    },
    BadAddr {
        label: "a kernel stack",
        addr: || 0xFFFF_FF00_0000_3000,
        readable: false,
    },
    BadAddr {
        label: "non-canonical",
        addr: || 0x8000_0000_0000_0000,
        readable: false,
    },
    BadAddr {
        label: "the end of the user half",
        addr: || USER_END - 2,
        readable: false,
    },
    BadAddr {
        label: "past the break",
        addr: past_break,
        readable: false,
    },
    BadAddr {
        label: "straddling the break",
        addr: || past_break() - 2,
        readable: false,
    },
    BadAddr {
        label: "the stack guard",
        addr: || stack_guard_addr(),
        readable: false,
    },
    BadAddr {
        label: "the stub page",
        addr: || STUB_ADDR,
        readable: true,
    },
    BadAddr {
        label: "program text",
        addr: || bad_pointers as *const () as u64,
        readable: true,
    },
];

/// An address in the unmapped guard region below the user stack.
fn stack_guard_addr() -> u64 {
    abi::sys::USER_STACK_TOP - abi::sys::USER_STACK_MAX - PAGE_SIZE
}

/// Every system call that takes a pointer, with every bad address: EFAULT,
/// and nothing done (no fd taken, no child made, no byte consumed or
/// stored).
fn bad_pointers() -> Res {
    let data = b"some bytes to read";
    let (r, w) = pipe_with(data)?;
    let efault = &[Errno::EFAULT];
    let fd = |f: Fd| f as i64 as u64;
    let me = ulib::getpid().arg();
    let path = "/bin/true";
    let (p, n) = (path.as_ptr() as u64, path.len() as u64);
    let good_argv = [Str { ptr: p, len: n }];
    let next_fd = ok("dup", ulib::dup(1))?;
    ok("close", ulib::close(next_fd))?;
    for bad in BAD_ADDRS {
        let (label, addr) = (bad.label, (bad.addr)());
        let e = |what: &str, r| expect_err(&format!("{what} {label}"), r, efault);
        // Calls that store through the pointer.
        if label.starts_with("straddling") {
            // The mapped half keeps its bytes.
            // SAFETY: [addr, addr + 2) is below the break, ours.
            unsafe { (addr as *mut [u8; 2]).write_unaligned([0xAA; 2]) };
        }
        e("read into", raw(nr::READ, &[fd(r), addr, 8]))?;
        e("pipe into", raw(nr::PIPE, &[addr]))?;
        e("procinfo into", raw(nr::PROCINFO, &[me, addr, 1]))?;
        e("procinfo(-1) into", raw(nr::PROCINFO, &[u64::MAX, addr, 2]))?;
        e("sysinfo into", raw(nr::SYSINFO, &[addr]))?;
        if label.starts_with("straddling") {
            // SAFETY: as above.
            let kept = unsafe { (addr as *const [u8; 2]).read_unaligned() };
            ensure!(
                kept == [0xAA; 2],
                "a refused call stored {kept:?} at {label}"
            );
        }
        if label != "null" {
            // (A null status pointer is valid: "do not store it".)
            let pid = child(|| 0)?;
            let _ = ulib::sleep(1);
            let got = raw(nr::WAITPID, &[pid.arg(), addr, 0]);
            // The child is still ours after the refusal.
            let status = wait_for(pid)?;
            e("waitpid status at", got)?;
            ensure!(status.code() == Some(0), "child after a refused waitpid");
        }
        if bad.readable {
            continue;
        }
        // Calls that read through the pointer.
        e("write from", raw(nr::WRITE, &[fd(w), addr, 8]))?;
        e("spawn path at", raw(nr::SPAWN, &[addr, 8, 0, 0]))?;
        e("spawn argv at", raw(nr::SPAWN, &[p, n, addr, 1]))?;
        let argv = [Str { ptr: addr, len: 4 }];
        let argv_p = argv.as_ptr() as u64;
        e("spawn argv[0] at", raw(nr::SPAWN, &[p, n, argv_p, 1]))?;
        let argv2 = [good_argv[0], Str { ptr: addr, len: 8 }];
        let argv2_p = argv2.as_ptr() as u64;
        e("spawn argv[1] at", raw(nr::SPAWN, &[p, n, argv2_p, 2]))?;
        e("exec path at", raw(nr::EXEC, &[addr, 8, 0, 0]))?;
        e("exec argv at", raw(nr::EXEC, &[p, n, addr, 1]))?;
        e("exec argv[0] at", raw(nr::EXEC, &[p, n, argv_p, 1]))?;
        e("exec argv[1] at", raw(nr::EXEC, &[p, n, argv2_p, 2]))?;
    }
    // Nothing was read out of the pipe, no fd was taken, no child made.
    let mut buf = [0u8; 32];
    let got = ok("read", ulib::read(r, &mut buf))?;
    ensure!(&buf[..got] == data, "the pipe lost data: {:?}", &buf[..got]);
    let fd_now = ok("dup", ulib::dup(1))?;
    ok("close", ulib::close(fd_now))?;
    ensure!(
        fd_now == next_fd,
        "refused pipes took fds: next is {fd_now}, was {next_fd}"
    );
    expect_err(
        "waitpid(-1)",
        ulib::waitpid(WaitFor::Any, WNOHANG),
        &[Errno::ECHILD],
    )?;
    close_all(&[r, w]);
    Ok(())
}

/// A read or write moves at most MAX_IO bytes however long the buffer, and
/// maps only the pages it moves: a call over a huge buffer returns a short
/// count at once, instead of faulting in every page first with interrupts
/// off.
fn io_bounded_per_call() -> Res {
    let (r, w) = ok("pipe", ulib::pipe())?;
    let grow = 64 * PAGE_SIZE;
    let start = ok("sbrk", ulib::sbrk(grow as i64))?;
    // Page-aligned, so each one-page move touches one page; the last
    // page of the 64 is past the moves.
    let heap = start.next_multiple_of(PAGE_SIZE);
    let free = || ok("sysinfo", ulib::sysinfo()).map(|i| i.free_frames);
    let before = free()?;
    let res = (|| {
        let n = ok("write 64 pages", raw(nr::WRITE, &[w as u64, heap, grow]))?;
        ensure!(
            n == MAX_IO,
            "write of {grow} bytes moved {n}, want {MAX_IO}"
        );
        let n = ok(
            "read 64 pages",
            raw(nr::READ, &[r as u64, heap + grow / 2, grow]),
        )?;
        ensure!(n == MAX_IO, "read of {grow} bytes moved {n}, want {MAX_IO}");
        // Two pages, and a page table if the heap just crossed into a new
        // 2 MiB region: not the 64 pages the lengths asked for.
        let used = before.saturating_sub(free()?);
        ensure!(used <= 3, "{used} frames mapped for two one-page moves");
        // A buffer running from the heap to the end of user space: most of
        // it can never be mapped, but only its first MAX_IO bytes count.
        let p = heap + grow / 2;
        let n = ok(
            "write to USER_END",
            raw(nr::WRITE, &[w as u64, p, USER_END - p]),
        )?;
        ensure!(
            n == MAX_IO,
            "write to the end of user space moved {n}, want {MAX_IO}"
        );
        Ok(())
    })();
    let _ = ulib::sbrk(-(grow as i64));
    close_all(&[r, w]);
    res
}

/// Lengths that overflow or cover the address space: the exact errno.
fn huge_lengths() -> Res {
    let (r, w) = pipe_with(b"data")?;
    let mut buf = [0u8; 16];
    let p = buf.as_mut_ptr() as u64;
    let efault = &[Errno::EFAULT];
    for len in [u64::MAX, 1 << 47, u64::MAX - p + 2, USER_END - p + 1] {
        let l = format!("len {len:#x}");
        expect_err(&format!("write {l}"), raw(nr::WRITE, &[1, p, len]), efault)?;
        expect_err(
            &format!("pipe write {l}"),
            raw(nr::WRITE, &[w as u64, p, len]),
            efault,
        )?;
        expect_err(
            &format!("read {l}"),
            raw(nr::READ, &[r as u64, p, len]),
            efault,
        )?;
    }
    let path = "/bin/true";
    let pp = path.as_ptr() as u64;
    for call in [nr::SPAWN, nr::EXEC] {
        let name = if call == nr::SPAWN { "spawn" } else { "exec" };
        expect_err(
            &format!("{name} path len MAX"),
            raw(call, &[pp, u64::MAX, 0, 0]),
            &[Errno::ENAMETOOLONG],
        )?;
        let argv = [Str { ptr: pp, len: 9 }];
        expect_err(
            &format!("{name} argc MAX"),
            raw(call, &[pp, 9, argv.as_ptr() as u64, u64::MAX]),
            &[Errno::E2BIG],
        )?;
        let argv = [Str {
            ptr: pp,
            len: u64::MAX,
        }];
        expect_err(
            &format!("{name} argv[0] len MAX"),
            raw(call, &[pp, 9, argv.as_ptr() as u64, 1]),
            &[Errno::E2BIG],
        )?;
    }
    expect_err(
        "procinfo(-1) max MAX at null",
        raw(nr::PROCINFO, &[u64::MAX, 0, u64::MAX]),
        efault,
    )?;
    // The pipe still holds its data: nothing was consumed.
    let n = ok("read", ulib::read(r, &mut buf))?;
    ensure!(&buf[..n] == b"data", "read back {:?}", &buf[..n]);
    close_all(&[r, w]);
    Ok(())
}

fn unknown_syscalls() -> Res {
    // COUNT + 2^32 catches a kernel that truncates the number to 32 bits;
    // 2^63 and u64::MAX one that takes it as signed.
    for n in [
        nr::COUNT,
        nr::COUNT + 1,
        9999,
        1 << 31,
        (1 << 32) + nr::GETPID,
        1 << 63,
        u64::MAX,
    ] {
        expect_err(
            &format!("syscall {n:#x}"),
            raw(n, &[1, 2, 3, 4, 5, 6]),
            &[Errno::ENOSYS],
        )?;
    }
    Ok(())
}

fn bad_fds() -> Res {
    let ebadf = &[Errno::EBADF];
    let mut buf = [0u8; 4];
    for fd in [-1, 99, MAX_FDS as Fd, i32::MAX, i32::MIN] {
        expect_err(&format!("write({fd})"), ulib::write(fd, b"x"), ebadf)?;
        expect_err(&format!("read({fd})"), ulib::read(fd, &mut buf), ebadf)?;
        expect_err(&format!("close({fd})"), ulib::close(fd), ebadf)?;
        expect_err(&format!("dup({fd})"), ulib::dup(fd), ebadf)?;
    }
    let (r, w) = ok("pipe", ulib::pipe())?;
    expect_err("write to a read end", ulib::write(r, b"x"), ebadf)?;
    expect_err("read from a write end", ulib::read(w, &mut buf), ebadf)?;
    // The fd is checked before the buffer: a bad fd with a bad pointer
    // is EBADF.
    expect_err("write(99, null)", raw(nr::WRITE, &[99, 0, 8]), ebadf)?;
    expect_err("read(-1, null)", raw(nr::READ, &[u64::MAX, 0, 8]), ebadf)?;
    expect_err("close(2^32)", raw(nr::CLOSE, &[1 << 32]), ebadf)?;
    expect_err("dup(2^32 + 1)", raw(nr::DUP, &[(1 << 32) + 1]), ebadf)?;
    ok("close", ulib::close(w))?;
    expect_err("write to a closed fd", ulib::write(w, b"x"), ebadf)?;
    expect_err("close twice", ulib::close(w), ebadf)?;
    ok("close", ulib::close(r))?;
    expect_err("read from a closed fd", ulib::read(r, &mut buf), ebadf)
}

fn fd_limit() -> Res {
    let mut fds = Vec::with_capacity(MAX_FDS);
    let err = loop {
        match ulib::dup(1) {
            Ok(fd) => fds.push(fd),
            Err(e) => break e,
        }
        if fds.len() > MAX_FDS {
            close_all(&fds);
            return Err(format!("dup succeeded {} times", fds.len()));
        }
    };
    close_all(&fds);
    ensure!(
        err == Errno::EMFILE,
        "dup failed with {}, want EMFILE",
        err.name()
    );
    let fd = ok("dup after closing", ulib::dup(1))?;
    ok("close", ulib::close(fd))
}

fn sbrk_grow_shrink() -> Res {
    // No allocation between these calls: the heap allocator uses sbrk too.
    const GROW: i64 = 64 * 1024;
    let faults0 = info(ulib::getpid())?.page_faults;
    let old = ok("sbrk(0)", ulib::sbrk(0))?;
    ensure!(
        ok("sbrk(grow)", ulib::sbrk(GROW))? == old,
        "sbrk did not return the old break"
    );
    ensure!(
        ok("sbrk(0)", ulib::sbrk(0))? == old + GROW as u64,
        "break did not move"
    );
    let words = |f: &mut dyn FnMut(*mut u64)| {
        for off in (0..GROW as u64).step_by(512) {
            f((old + off) as *mut u64);
        }
    };
    // SAFETY: [old, old + GROW) is ours since the sbrk above.
    words(&mut |p| unsafe { p.write_volatile(0xDEAD_BEEF) });
    let faults1 = info(ulib::getpid())?.page_faults;
    ensure!(
        faults1 > faults0,
        "touching new heap pages took no page fault (lazy allocation?)"
    );
    ensure!(
        ok("sbrk(-grow)", ulib::sbrk(-GROW))? == old + GROW as u64,
        "shrink returned a wrong old break"
    );
    ensure!(ok("sbrk(0)", ulib::sbrk(0))? == old, "break did not shrink");
    ok("sbrk(grow) again", ulib::sbrk(GROW))?;
    let mut dirty = 0;
    // SAFETY: ours again since the second sbrk.
    words(&mut |p| dirty += usize::from(unsafe { p.read_volatile() } != 0));
    let _ = ulib::sbrk(-GROW);
    ensure!(dirty == 0, "{dirty} words not zero after shrink and regrow");
    Ok(())
}

fn sbrk_huge() -> Res {
    let before = ok("sbrk(0)", ulib::sbrk(0))?;
    let (nomem, inval) = (&[Errno::ENOMEM], &[Errno::EINVAL]);
    expect_err("sbrk(2^46)", ulib::sbrk(1 << 46), nomem)?;
    expect_err("sbrk(i64::MAX)", ulib::sbrk(i64::MAX), nomem)?;
    // More than the free memory, though below the stack.
    let free = ok("sysinfo", ulib::sysinfo())?.free_frames;
    let more = ((free + 1) * PAGE_SIZE) as i64;
    expect_err("sbrk(free memory + 1 page)", ulib::sbrk(more), nomem)?;
    expect_err("sbrk(i64::MIN)", ulib::sbrk(i64::MIN), inval)?;
    expect_err(
        "sbrk below the heap",
        ulib::sbrk(-(before as i64) - 4096),
        inval,
    )?;
    let after = ok("sbrk(0)", ulib::sbrk(0))?;
    ensure!(
        after == before,
        "failed sbrk moved the break {before:#x} -> {after:#x}"
    );
    Ok(())
}

fn spawn_errors() -> Res {
    expect_err(
        "spawn missing",
        ulib::spawn("/bin/no-such-program", &["x"]),
        &[Errno::ENOENT],
    )?;
    // An empty path at a valid address (a zero-length range needs no
    // check): no file has that name.
    let empty = ulib::spawn(&"/bin/true"[..0], &["x"]);
    expect_err("spawn empty path", empty, &[Errno::ENOENT])?;
    expect_err(
        "spawn a text file",
        ulib::spawn("/etc/motd", &["motd"]),
        &[Errno::ENOEXEC],
    )?;
    let e = ulib::exec("/bin/no-such-program", &["x"]);
    ensure!(
        e == Errno::ENOENT,
        "exec missing: got {}, want ENOENT",
        e.name()
    );
    Ok(())
}

fn spawn_arg_limits() -> Res {
    // MAX_ARG_BYTES in all, in arguments of MAX_ARG_LEN.
    let long = "x".repeat(MAX_ARG_LEN);
    let mut args = vec![long.as_str(); MAX_ARG_BYTES / MAX_ARG_LEN];
    let pid = ok(
        "spawn with MAX_ARG_BYTES in args of MAX_ARG_LEN",
        ulib::spawn("/bin/true", &args),
    )?;
    expect_code(pid, 0)?;
    args.push("y");
    expect_err(
        "spawn with MAX_ARG_BYTES + 1",
        ulib::spawn("/bin/true", &args),
        &[Errno::E2BIG],
    )?;
    let pid = ok(
        "spawn with MAX_ARGS args",
        ulib::spawn("/bin/true", &vec!["a"; MAX_ARGS]),
    )?;
    expect_code(pid, 0)?;
    let args = vec!["a"; MAX_ARGS + 1];
    expect_err(
        "spawn with MAX_ARGS+1 args",
        ulib::spawn("/bin/true", &args),
        &[Errno::E2BIG],
    )?;
    let longer = "x".repeat(MAX_ARG_LEN + 1);
    let e = &[Errno::E2BIG, Errno::ENAMETOOLONG];
    expect_err(
        "spawn with a too-long arg",
        ulib::spawn("/bin/true", &["true", &longer]),
        e,
    )?;
    let path = format!("/bin/{}", "p".repeat(MAX_PATH));
    expect_err(
        "spawn with a too-long path",
        ulib::spawn(&path, &["p"]),
        &[Errno::ENAMETOOLONG],
    )
}

fn spawn_exec_status() -> Res {
    let t = ok("spawn true", ulib::spawn("/bin/true", &["true"]))?;
    expect_code(t, 0)?;
    let f = ok("spawn false", ulib::spawn("/bin/false", &["false"]))?;
    expect_code(f, 1)?;
    let pid = child(|| {
        let e = ulib::exec("/bin/false", &["false"]);
        100 + e.0 as i32
    })?;
    expect_code(pid, 1)?;
    let mut args = vec!["usertests", "--check-args"];
    args.extend(ARGS_PROBE);
    let pid = ok(
        "spawn usertests --check-args",
        ulib::spawn("/bin/usertests", &args),
    )?;
    expect_code(pid, 0).map_err(|e| format!("arguments garbled: {e}"))
}

fn pipe_roundtrip() -> Res {
    let (r, w) = pipe_with(b"hello")?;
    let mut buf = [0u8; 16];
    let n = ok("read", ulib::read(r, &mut buf))?;
    ensure!(&buf[..n] == b"hello", "read back {:?}", &buf[..n]);
    close_all(&[r, w]);
    Ok(())
}

fn pipe_big_transfer() -> Res {
    const TOTAL: usize = 20_000;
    let (r, w) = ok("pipe", ulib::pipe())?;
    let pid = child(|| {
        let _ = ulib::close(r);
        let data: Vec<u8> = (0..TOTAL).map(|i| (i % 251) as u8).collect();
        for chunk in data.chunks(1000) {
            if write_all(w, chunk).is_err() {
                return 1;
            }
        }
        0
    })?;
    let _ = ulib::close(w);
    let (mut got, mut buf) = (0usize, [0u8; 700]);
    loop {
        let n = ok("read", ulib::read(r, &mut buf))?;
        if n == 0 {
            break;
        }
        for (i, &b) in buf[..n].iter().enumerate() {
            ensure!(b == ((got + i) % 251) as u8, "byte {} corrupted", got + i);
        }
        got += n;
    }
    let _ = ulib::close(r);
    ensure!(got == TOTAL, "read {got} of {TOTAL} bytes");
    expect_code(pid, 0)
}

fn pipe_eof() -> Res {
    let (r, w) = pipe_with(b"ab")?;
    ok("close", ulib::close(w))?;
    let mut buf = [0u8; 8];
    ensure!(
        ok("read", ulib::read(r, &mut buf))? == 2,
        "buffered data lost at close"
    );
    ensure!(
        ok("read", ulib::read(r, &mut buf))? == 0,
        "no end of file after the writer closed"
    );
    close_all(&[r]);
    Ok(())
}

fn pipe_epipe() -> Res {
    // SIGPIPE would end us first (see the sigpipe case).
    ok(
        "signal",
        ulib::signal(ulib::signal::SIGPIPE, ulib::Handler::Ignore),
    )?;
    let (r, w) = ok("pipe", ulib::pipe())?;
    ok("close", ulib::close(r))?;
    expect_err(
        "write with no reader",
        ulib::write(w, b"x"),
        &[Errno::EPIPE],
    )?;
    close_all(&[w]);
    Ok(())
}

fn dup() -> Res {
    let (r, w) = ok("pipe", ulib::pipe())?;
    let w2 = ok("dup", ulib::dup(w))?;
    ensure!(w2 != w && w2 >= 0, "dup returned {w2}");
    ok("close", ulib::close(w))?;
    ok("write to the dup", ulib::write(w2, b"x"))?;
    let mut buf = [0u8; 4];
    let n = ok("read", ulib::read(r, &mut buf))?;
    ensure!(&buf[..n] == b"x", "read back {:?}", &buf[..n]);
    ok("close", ulib::close(w2))?;
    ensure!(
        ok("read", ulib::read(r, &mut buf))? == 0,
        "no end of file after closing the dup"
    );
    close_all(&[r]);
    Ok(())
}

fn uptime_sleep() -> Res {
    let t0 = ulib::uptime_ms();
    ok("sleep", ulib::sleep(50))?;
    let t1 = ulib::uptime_ms();
    ensure!(
        t1 >= t0 + 45 && t1 < t0 + 2000,
        "sleep(50) took {} ms",
        t1 - t0
    );
    for _ in 0..10 {
        ulib::yield_now();
    }
    ok("sleep(0)", ulib::sleep(0))
}

fn procinfo() -> Res {
    let me = info(ulib::getpid())?;
    ensure!(me.pid == ulib::getpid(), "pid {} != getpid", me.pid);
    ensure!(me.ppid == ulib::getppid(), "ppid {} != getppid", me.ppid);
    ensure!(me.name() == "usertests", "name {:?}", me.name());
    ensure!(
        me.state() == Some(ProcState::Running),
        "own state {}",
        programs::ps::state_name(&me)
    );
    ensure!(me.mem_bytes > 0, "no memory");
    let mut all = vec![ProcInfo::EMPTY; 256];
    let n = ok("procinfo all", ulib::procinfo_all(&mut all))?;
    ensure!(
        all[..n].iter().any(|p| p.pid == me.pid),
        "all-process list lacks me"
    );
    ensure!(
        all[..n].iter().any(|p| p.pid == me.ppid),
        "all-process list lacks my parent"
    );
    expect_err(
        "procinfo(missing)",
        ulib::procinfo(NO_SUCH_PID),
        &[Errno::ESRCH],
    )
}

fn fault(kind: &Kind) -> Res {
    let pid = child(|| {
        (kind.run)();
        0
    })?;
    // The record of the zombie says the same as waitpid will.
    let deadline = ulib::uptime_ms() + 2000;
    let zombie = loop {
        let p = info(pid)?;
        if p.state() == Some(ProcState::Zombie) {
            break p;
        }
        ensure!(
            ulib::uptime_ms() < deadline,
            "child still {} after 2 s",
            programs::ps::state_name(&p)
        );
        let _ = ulib::sleep(2);
    };
    let status = wait_for(pid)?;
    ensure!(
        status.cause() == kind.cause,
        "child {}, want {}",
        programs::describe_status(status, false),
        kind.cause.describe()
    );
    ensure!(
        zombie.exit_status == status.0,
        "procinfo status {:#x} != waitpid's {:#x}",
        zombie.exit_status,
        status.0
    );
    ensure!(
        status == WaitStatus::ended_by(kind.cause),
        "status {:#x}, want exactly {:#x}",
        status.0,
        WaitStatus::ended_by(kind.cause).0
    );
    if let Some(addr) = kind.addr {
        ensure!(
            zombie.fault_addr == addr,
            "fault address {:#x}, want {addr:#x}",
            zombie.fault_addr
        );
    }
    if kind.cause == Cause::StackOverflow {
        let guard = abi::sys::USER_STACK_TOP - abi::sys::USER_STACK_MAX;
        ensure!(
            zombie.fault_addr < guard && zombie.fault_addr >= guard - (1 << 20),
            "stack overflow at {:#x}, not in the guard below {guard:#x}",
            zombie.fault_addr
        );
    }
    Ok(())
}

fn orphan_reparent() -> Res {
    let (r, w) = ok("pipe", ulib::pipe())?;
    let parent = child(|| match ulib::fork() {
        Ok(Pid::NONE) => {
            // The grandchild: wait to be handed to init, report via the pipe.
            let deadline = ulib::uptime_ms() + 2000;
            let mut adopted = false;
            while !adopted && ulib::uptime_ms() < deadline {
                adopted = ulib::getppid() == Pid::INIT;
                let _ = ulib::sleep(2);
            }
            let _ = ulib::write(w, &[u8::from(adopted)]);
            0
        }
        Ok(_) => 0, // exit at once, orphaning the grandchild
        Err(_) => 1,
    })?;
    let _ = ulib::close(w);
    expect_code(parent, 0)?;
    let mut b = [0u8; 1];
    let n = ok("read", ulib::read(r, &mut b))?;
    let _ = ulib::close(r);
    ensure!(n == 1, "the grandchild died without reporting");
    ensure!(b[0] == 1, "the orphan's getppid never became 1");
    Ok(())
}

/// Sets this thread's FS base with `wrfsbase`.
fn set_fs_base(base: u64) {
    // SAFETY: only FS's base changes; nothing in this program uses FS.
    unsafe { core::arch::asm!("wrfsbase {}", in(reg) base, options(nostack)) };
}

/// This thread's FS base, by `rdfsbase`.
fn fs_base() -> u64 {
    let base: u64;
    // SAFETY: reads FS's base only.
    unsafe { core::arch::asm!("rdfsbase {}", out(reg) base, options(nostack)) };
    base
}

/// A process's FS base is its own: another process's switches neither
/// see nor change it. (`wrfsbase` needs CR4.FSGSBASE, which our kernel
/// leaves off, or a hypervisor that always allows it, as the PVM one does;
/// where it is an invalid opcode the case has nothing to check.)
fn fs_base_per_process() -> Res {
    let probe = child(|| {
        set_fs_base(0x1000);
        0
    })?;
    let status = wait_for(probe)?;
    if status.cause() == Cause::InvalidOpcode {
        return Ok(());
    }
    ensure!(
        status.code() == Some(0),
        "probe: {}",
        programs::describe_status(status, false)
    );
    let setter = child(|| {
        set_fs_base(0xAAAA_0000);
        for _ in 0..30 {
            ulib::yield_now();
        }
        i32::from(fs_base() != 0xAAAA_0000)
    })?;
    let watcher = child(|| {
        for _ in 0..30 {
            ulib::yield_now();
            if fs_base() != 0 {
                return 2;
            }
        }
        0
    })?;
    expect_code(setter, 0)?;
    expect_code(watcher, 0)
}

// ------------------------------------------------- the hostile battery

/// Waits until `pid` is in `state` (and, when sleeping, for `reason`).
fn await_state(pid: Pid, state: ProcState, reason: Option<SleepReason>) -> Res {
    let deadline = ulib::uptime_ms() + 2000;
    loop {
        let p = info(pid)?;
        let reason_ok = reason.is_none_or(|r| p.reason == r as u32);
        if p.state() == Some(state) && reason_ok {
            return Ok(());
        }
        ensure!(
            ulib::uptime_ms() < deadline,
            "pid {pid} still {} after 2 s, want {}{}",
            programs::ps::state_name(&p),
            state.name(),
            reason.map_or(String::new(), |r| format!("({})", r.name()))
        );
        let _ = ulib::sleep(1);
    }
}

/// Waits for `pid` and checks its exact wait status.
fn expect_status(pid: Pid, want: WaitStatus) -> Res {
    let s = wait_for(pid)?;
    ensure!(
        s == want,
        "child {pid}: status {:#x} ({}), want {:#x} ({})",
        s.0,
        programs::describe_status(s, false),
        want.0,
        programs::describe_status(want, false)
    );
    Ok(())
}

/// Every exit code comes back exactly, and only the low byte of the
/// status counts.
fn exit_status() -> Res {
    // Every bit of the code, and the edges.
    for code in [0u8, 1, 2, 4, 8, 16, 32, 64, 128, 42, 127, 254, 255] {
        let pid = child(move || i32::from(code))?;
        expect_status(pid, WaitStatus::exited(code))?;
    }
    for (status, code) in [(-1, 255u8), (256, 0), (0x1234_5678, 0x78), (i32::MIN, 0)] {
        let pid = child(move || status)?;
        expect_status(pid, WaitStatus::exited(code))?;
    }
    Ok(())
}

/// A killed process's status is exactly "killed", in waitpid and in the
/// zombie's record, whatever it was doing.
fn killed_status() -> Res {
    let pid = spinner()?;
    let guard = Reaper(pid);
    ok("kill", ulib::kill(pid, ulib::signal::SIGKILL))?;
    await_state(pid, ProcState::Zombie, None)?;
    let z = info(pid)?;
    ensure!(
        z.killed == ulib::signal::SIGKILL,
        "zombie's killed signal {}",
        z.killed
    );
    let want = WaitStatus::ended_by(Cause::Killed);
    ensure!(
        z.exit_status == want.0,
        "zombie's status {:#x}",
        z.exit_status
    );
    // A second kill of the zombie is refused, and changes nothing.
    expect_err(
        "kill(zombie)",
        ulib::kill(pid, ulib::signal::SIGKILL),
        &[Errno::ESRCH],
    )?;
    expect_status(pid, want)?;
    guard.done();
    Ok(())
}

/// waitpid on what is not (or no longer) our child.
fn wait_errors() -> Res {
    let echild = &[Errno::ECHILD];
    let pid = child(|| 3)?;
    expect_code(pid, 3)?;
    let p = pid;
    expect_err("waitpid(reaped)", ulib::waitpid(p, 0), echild)?;
    expect_err(
        "waitpid(reaped, WNOHANG)",
        ulib::waitpid(p, WNOHANG),
        echild,
    )?;
    expect_err("waitpid(self)", ulib::waitpid(ulib::getpid(), 0), echild)?;
    expect_err("waitpid(parent)", ulib::waitpid(ulib::getppid(), 0), echild)?;
    // A grandchild is not ours to wait for.
    let (r, w) = ok("pipe", ulib::pipe())?;
    let mid = child(|| {
        let Ok(g) = child(|| 0) else { return 1 };
        let _ = ulib::write(w, &g.0.to_le_bytes());
        i32::from(ulib::waitpid(g, 0).is_err())
    })?;
    let mut b = [0u8; 4];
    ok("read", ulib::read(r, &mut b))?;
    close_all(&[r, w]);
    let grandchild = Pid(u32::from_le_bytes(b));
    expect_err("waitpid(grandchild)", ulib::waitpid(grandchild, 0), echild)?;
    expect_code(mid, 0)?;
    // 0 and other negatives name process groups: with no child in them
    // (this case has none left), there is nothing to wait for.
    for pid in [0, -2, -100, i64::MIN] {
        expect_err(
            &format!("waitpid({pid})"),
            raw(nr::WAITPID, &[pid as u64, 0, 0]),
            echild,
        )?;
    }
    // A child in a group of its own, waited for by its group.
    let g = child(|| {
        let _ = ulib::setpgid(Pid::NONE, Pid::NONE);
        5
    })?;
    let _ = ulib::setpgid(g, g);
    let (p, s) = ok("waitpid(-group)", ulib::waitpid(WaitFor::Group(g), 0))?;
    ensure!(
        p == g && s.code() == Some(5),
        "waitpid(-{g}) gave {p} {:#x}",
        s.0
    );
    Ok(())
}

/// Pids are not handed out again soon: more children in a row (each
/// reaped before the next) than the table has slots all get different
/// pids, none of them an earlier one.
fn pids_not_reused() -> Res {
    let n = ok("sysinfo", ulib::sysinfo())?.total_procs as usize + 8;
    let mut seen: Vec<Pid> = Vec::with_capacity(n);
    for _ in 0..n {
        let pid = child(|| 0)?;
        expect_code(pid, 0)?;
        ensure!(
            !seen.contains(&pid),
            "pid {pid} came back after {} forks",
            seen.len()
        );
        seen.push(pid);
    }
    // A reaped pid names no one.
    expect_err(
        "kill(reaped)",
        ulib::kill(seen[0], ulib::signal::SIGKILL),
        &[Errno::ESRCH],
    )?;
    expect_err("procinfo(reaped)", ulib::procinfo(seen[0]), &[Errno::ESRCH])
}

/// kill and friends on pids that are not there, or not allowed.
fn kill_errors() -> Res {
    let (esrch, einval) = (&[Errno::ESRCH], &[Errno::EINVAL]);
    // kill's 0 and other negatives name process groups (signal_errors).
    for pid in [0, -1, -2, i64::MIN] {
        for (name, call) in [("suspend", nr::SUSPEND), ("resume", nr::RESUME)] {
            expect_err(&format!("{name}({pid})"), raw(call, &[pid as u64]), einval)?;
        }
    }
    expect_err("kill(-1)", raw(nr::KILL, &[-1i64 as u64]), einval)?;
    let huge = [
        NO_SUCH_PID.arg(),
        u64::from(u32::MAX),
        i64::MAX as u64,
        1 << 32 | 1,
    ];
    for pid in huge {
        for (name, call) in [
            ("kill", nr::KILL),
            ("suspend", nr::SUSPEND),
            ("resume", nr::RESUME),
        ] {
            expect_err(&format!("{name}({pid:#x})"), raw(call, &[pid]), esrch)?;
        }
    }
    let eperm = &[Errno::EPERM];
    expect_err(
        "kill(1)",
        ulib::kill(Pid::INIT, ulib::signal::SIGKILL),
        eperm,
    )?;
    expect_err("suspend(1)", ulib::suspend(Pid::INIT), eperm)?;
    expect_err("resume(1)", ulib::resume(Pid::INIT), eperm)?;
    // A zombie cannot be killed, stopped or resumed.
    let z = child(|| 4)?;
    await_state(z, ProcState::Zombie, None)?;
    expect_err("kill(zombie)", ulib::kill(z, ulib::signal::SIGKILL), esrch)?;
    expect_err("suspend(zombie)", ulib::suspend(z), esrch)?;
    expect_err("resume(zombie)", ulib::resume(z), esrch)?;
    expect_code(z, 4)
}

/// A killed process dies even when it is suspended before it ran again
/// (kill wins: a stop must not keep it alive).
fn kill_then_suspend() -> Res {
    let pid = spinner()?;
    let guard = Reaper(pid);
    let p = pid;
    // Not yet run since the kill: still runnable, about to die.
    ok("kill", ulib::kill(p, ulib::signal::SIGKILL))?;
    let r = ulib::suspend(p);
    let deadline = ulib::uptime_ms() + 2000;
    loop {
        let i = info(pid)?;
        if i.state() == Some(ProcState::Zombie) {
            break;
        }
        ensure!(
            ulib::uptime_ms() < deadline,
            "killed, then suspend returned {r:?}: still {} after 2 s",
            programs::ps::state_name(&i)
        );
        let _ = ulib::sleep(2);
    }
    // Resuming what died changes nothing either.
    expect_err("resume(zombie)", ulib::resume(p), &[Errno::ESRCH])?;
    expect_status(pid, WaitStatus::ended_by(Cause::Killed))?;
    guard.done();
    Ok(())
}

/// A process that kills itself dies at once, killed.
fn kill_self() -> Res {
    let pid = child(|| {
        let _ = ulib::kill(ulib::getpid(), ulib::signal::SIGKILL);
        3
    })?;
    expect_status(pid, WaitStatus::ended_by(Cause::Killed))
}

/// Killing a process blocked in each way ends it at once, killed.
fn kill_blocked() -> Res {
    let killed = WaitStatus::ended_by(Cause::Killed);
    // Reading an empty pipe.
    let (r, w) = ok("pipe", ulib::pipe())?;
    let reader = child(|| i32::from(ulib::read(r, &mut [0u8; 4]).is_ok()))?;
    // Writing a full pipe (no one reads it).
    let (r2, w2) = ok("pipe", ulib::pipe())?;
    let writer = child(|| {
        let big = vec![7u8; 3 * 4096];
        let _ = write_all(w2, &big);
        0
    })?;
    // Waiting for a child that waits for us to close a pipe (after the
    // waiter dies, it is init's, and exits when we close it).
    let (r3, w3) = ok("pipe", ulib::pipe())?;
    let waiter = child(|| {
        let Ok(k) = child(|| {
            let _ = ulib::close(w3);
            let _ = ulib::read(r3, &mut [0u8; 1]);
            0
        }) else {
            return 1;
        };
        let _ = ulib::waitpid(k, 0);
        0
    })?;
    // Sleeping, and stopped while sleeping.
    let sleeper = child(|| {
        let _ = ulib::sleep(60_000);
        0
    })?;
    let stopped_sleeper = child(|| {
        let _ = ulib::sleep(60_000);
        0
    })?;
    let victims = [
        (reader, SleepReason::Pipe),
        (writer, SleepReason::Pipe),
        (waiter, SleepReason::Wait),
        (sleeper, SleepReason::Sleep),
        (stopped_sleeper, SleepReason::Sleep),
    ];
    let guards: Vec<Reaper> = victims.iter().map(|&(p, _)| Reaper(p)).collect();
    for &(pid, reason) in &victims {
        await_state(pid, ProcState::Sleeping, Some(reason))?;
    }
    ok("suspend", ulib::suspend(stopped_sleeper))?;
    await_state(stopped_sleeper, ProcState::Stopped, None)?;
    let t0 = ulib::uptime_ms();
    for &(pid, _) in &victims {
        ok("kill", ulib::kill(pid, ulib::signal::SIGKILL))?;
    }
    for &(pid, _) in &victims {
        expect_status(pid, killed)?;
    }
    let took = ulib::uptime_ms() - t0;
    ensure!(took < 1000, "the blocked victims took {took} ms to die");
    for g in guards {
        g.done();
    }
    // The waiter's child, now init's, ends at end of file.
    close_all(&[r, w, r2, w2, r3, w3]);
    Ok(())
}

/// suspend and resume at the edges: twice, of a runner, of oneself, of
/// processes blocked on a pipe and in waitpid whose event comes while
/// they are stopped.
fn suspend_edges() -> Res {
    // Resuming what is not stopped changes nothing.
    let spin = spinner()?;
    let guard = Reaper(spin);
    ok("resume(running)", ulib::resume(spin))?;
    ok("suspend", ulib::suspend(spin))?;
    ok("suspend again", ulib::suspend(spin))?;
    await_state(spin, ProcState::Stopped, None)?;
    ok("resume", ulib::resume(spin))?;
    ok("resume again", ulib::resume(spin))?;
    let p = info(spin)?;
    ensure!(
        p.state() != Some(ProcState::Stopped),
        "stopped after resume: {}",
        programs::ps::state_name(&p)
    );
    drop(guard);
    // Stopping oneself: the parent resumes it.
    let me = child(|| {
        let r = ulib::suspend(ulib::getpid());
        if r.is_ok() { 7 } else { 1 }
    })?;
    await_state(me, ProcState::Stopped, None)?;
    ok("resume self-stopped", ulib::resume(me))?;
    expect_code(me, 7)?;
    // A pipe reader stopped while blocked gets its data when resumed.
    let (r, w) = ok("pipe", ulib::pipe())?;
    let reader = child(|| {
        let mut b = [0u8; 1];
        match ulib::read(r, &mut b) {
            Ok(1) => i32::from(b[0]),
            _ => 1,
        }
    })?;
    await_state(reader, ProcState::Sleeping, Some(SleepReason::Pipe))?;
    ok("suspend reader", ulib::suspend(reader))?;
    ok("write", ulib::write(w, &[42]))?;
    let _ = ulib::sleep(20);
    await_state(reader, ProcState::Stopped, None)?;
    ok("resume reader", ulib::resume(reader))?;
    expect_code(reader, 42)?;
    close_all(&[r, w]);
    // A waiter stopped while its child exits finds the child when
    // resumed.
    let (r, w) = ok("pipe", ulib::pipe())?;
    let waiter = child(|| {
        let Ok(k) = child(|| {
            let _ = ulib::read(r, &mut [0u8; 1]);
            9
        }) else {
            return 1;
        };
        match ulib::waitpid(k, 0) {
            Ok((p, s)) if p == k => i32::from(s.code().unwrap_or(2)),
            _ => 3,
        }
    })?;
    let guard = Reaper(waiter);
    await_state(waiter, ProcState::Sleeping, Some(SleepReason::Wait))?;
    ok("suspend waiter", ulib::suspend(waiter))?;
    ok("write", ulib::write(w, &[1]))?; // its child exits now
    let _ = ulib::sleep(30);
    await_state(waiter, ProcState::Stopped, None)?;
    ok("resume waiter", ulib::resume(waiter))?;
    close_all(&[r, w]);
    let deadline = ulib::uptime_ms() + 2000;
    loop {
        let p = info(waiter)?;
        if p.state() == Some(ProcState::Zombie) {
            break;
        }
        ensure!(
            ulib::uptime_ms() < deadline,
            "the resumed waiter is still {} though its child exited",
            programs::ps::state_name(&p)
        );
        let _ = ulib::sleep(2);
    }
    expect_code(waiter, 9)?;
    guard.done();
    Ok(())
}

/// sleep(0) returns at once; huge sleeps neither overflow into short ones
/// nor keep a killed sleeper alive.
fn sleep_edges() -> Res {
    let t0 = ulib::uptime_ms();
    for _ in 0..20 {
        ok("sleep(0)", ulib::sleep(0))?;
    }
    let took = ulib::uptime_ms() - t0;
    ensure!(took < 200, "20 sleep(0) took {took} ms");
    let huge = [
        u64::MAX,
        1 << 63,
        u64::MAX / 1000 + 1,
        u64::MAX / 1000,
        1 << 54,
    ];
    let mut sleepers = Vec::new();
    for ms in huge {
        let pid = child(move || {
            let _ = ulib::sleep(ms);
            5
        })?;
        sleepers.push((pid, Reaper(pid)));
    }
    let _ = ulib::sleep(100);
    for (pid, _) in &sleepers {
        let p = info(*pid)?;
        ensure!(
            p.state() == Some(ProcState::Sleeping) && p.reason == SleepReason::Sleep as u32,
            "a huge sleep ended early: {}",
            programs::ps::state_name(&p)
        );
        ok("kill", ulib::kill(*pid, ulib::signal::SIGKILL))?;
    }
    for (pid, guard) in sleepers {
        expect_status(pid, WaitStatus::ended_by(Cause::Killed))?;
        guard.done();
    }
    Ok(())
}

/// A process that takes all the memory there is: sbrk says ENOMEM before
/// memory runs out, fork, spawn and pipe fail cleanly meanwhile, and
/// everything comes back when it shrinks and exits.
fn sbrk_exhaustion() -> Res {
    let before = ok("sysinfo", ulib::sysinfo())?;
    // Each page costs a page fault, slow where ring 0 is emulated (README,
    // "The platform"): beyond 32 MiB this takes too long for the watchdog.
    if before.free_frames > MAX_HOG_FRAMES {
        return Err(format!(
            "{SKIP}{} MiB free, more than the {} MiB it fills in time; run with --memory 16M",
            before.free_frames / 256,
            MAX_HOG_FRAMES / 256
        ));
    }
    let (r, w) = ok("pipe", ulib::pipe())?;
    // Built now: between the first sbrk and the shrink the hog allocates
    // nothing (its allocator's heap must not grow into the hogged range).
    let true_path = "/bin/true";
    let argv = [Str {
        ptr: true_path.as_ptr() as u64,
        len: true_path.len() as u64,
    }];
    let hog = child(|| {
        const STEP: i64 = 1 << 20;
        let base = match ulib::sbrk(0) {
            Ok(b) => b,
            Err(_) => return 10,
        };
        let mut grown = 0i64;
        let err = loop {
            match ulib::sbrk(STEP) {
                Ok(_) => {}
                Err(e) => break e,
            }
            // Touch every page: the kernel maps them now.
            for off in (0..STEP as u64).step_by(PAGE_SIZE as usize) {
                // SAFETY: the range was just added to the heap.
                unsafe { ((base + grown as u64 + off) as *mut u8).write_volatile(1) };
            }
            grown += STEP;
        };
        if err != Errno::ENOMEM {
            return 11;
        }
        let low = ulib::sysinfo().map_or(0, |s| s.free_frames);
        // With memory gone, creating things fails cleanly (or just fits).
        let f = ulib::fork();
        if f == Ok(Pid::NONE) {
            ulib::exit(0);
        }
        if f.is_ok() {
            let _ = ulib::waitpid(WaitFor::Any, 0);
        }
        if let Ok((pr, pw)) = ulib::pipe() {
            close_all(&[pr, pw]);
        }
        let spawned = raw(
            nr::SPAWN,
            &[argv[0].ptr, argv[0].len, argv.as_ptr() as u64, 1],
        );
        if let Ok(p) = spawned {
            let _ = ulib::waitpid(Pid(p as u32), 0);
        }
        // Give it back.
        if ulib::sbrk(-grown).is_err() {
            return 12;
        }
        let after = ulib::sysinfo().map_or(0, |s| s.free_frames);
        let mut report = [0u8; 24];
        for (i, v) in [grown as u64, low, after].into_iter().enumerate() {
            report[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
        }
        let _ = ulib::write(w, &report);
        i32::from(CASE_OK)
    })?;
    let _ = ulib::close(w);
    let status = wait_for(hog)?;
    let mut b = [0u8; 24];
    let n = ulib::read(r, &mut b).unwrap_or(0);
    let _ = ulib::close(r);
    ensure!(
        status.code() == Some(CASE_OK),
        "the hog: {}",
        programs::describe_status(status, false)
    );
    ensure!(n == 24, "no report from the hog");
    let word = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap());
    let (grown, low, after) = (word(0), word(1), word(2));
    ensure!(
        grown >= (before.free_frames * PAGE_SIZE) / 2,
        "sbrk failed after only {} KiB of {} KiB free",
        grown / 1024,
        before.free_frames * 4
    );
    // Refused: 1 MiB was more than the frames beyond the kernel's reserve
    // (and the few page tables the hog's last touches took).
    let most = (1 << 20) / PAGE_SIZE + before.reserve_frames + 16;
    ensure!(
        low < most,
        "{low} frames still free when sbrk refused 1 MiB (at most {most} expected)"
    );
    ensure!(
        after > low + grown / PAGE_SIZE - 16,
        "shrinking freed too little: {low} -> {after} frames"
    );
    // Everything works again.
    let pid = ok("spawn after", ulib::spawn("/bin/true", &["true"]))?;
    expect_code(pid, 0)?;
    let (r, w) = ok("pipe after", ulib::pipe())?;
    close_all(&[r, w]);
    Ok(())
}

/// Fork until the table is full, three times: the same number of forks
/// each time, EAGAIN each time, and everything back in between.
fn fork_table_full() -> Res {
    let mut counts = Vec::new();
    for round in 0..3 {
        let (r, w) = ok("pipe", ulib::pipe())?;
        let mut kids = Vec::new();
        let err = loop {
            if kids.len() > 5000 {
                close_all(&[r, w]);
                return Err("fork never failed".into());
            }
            match ulib::fork() {
                Ok(Pid::NONE) => {
                    let _ = ulib::close(w);
                    let _ = ulib::read(r, &mut [0u8; 1]);
                    ulib::exit(0)
                }
                Ok(pid) => kids.push(pid),
                Err(e) => break e,
            }
        };
        // While full: spawn fails the same way, and so does a second fork.
        let spawned = ulib::spawn("/bin/true", &["true"]);
        let again = ulib::fork();
        if again == Ok(Pid::NONE) {
            ulib::exit(0);
        }
        close_all(&[r, w]);
        for &k in &kids {
            expect_code(k, 0)?;
        }
        ensure!(
            err == Errno::EAGAIN,
            "round {round}: fork failed with {}",
            err.name()
        );
        expect_err("spawn while full", spawned, &[Errno::EAGAIN])?;
        expect_err("fork again while full", again, &[Errno::EAGAIN])?;
        counts.push(kids.len());
    }
    ensure!(
        counts.iter().all(|&c| c == counts[0]),
        "forks before the table was full: {counts:?}"
    );
    let s = ok("sysinfo", ulib::sysinfo())?;
    ensure!(
        counts[0] as u64 == s.free_procs,
        "{} forks filled a table with {} free slots",
        counts[0],
        s.free_procs
    );
    Ok(())
}

/// A storm of short-lived processes forking more, then quiet: all reaped,
/// the table as it was.
fn fork_storm_then_quiet() -> Res {
    let before = ok("sysinfo", ulib::sysinfo())?.free_procs;
    // Waves of 8 children forking 3 grandchildren each, until 100
    // processes have come and gone (a small table fails some forks on the
    // way: the storm goes on).
    let mut made = 0;
    for _ in 0..40 {
        if made >= 100 {
            break;
        }
        let mut kids = Vec::new();
        for i in 0..8u32 {
            let f = child(move || {
                // Grandchildren exit at once or after a yield; the child
                // reaps them and exits with how many it made.
                let mut n = 0;
                for j in 0..3 {
                    match ulib::fork() {
                        Ok(Pid::NONE) => {
                            if (i + j) % 2 == 0 {
                                ulib::yield_now();
                            }
                            ulib::exit(0)
                        }
                        Ok(_) => n += 1,
                        Err(_) => break,
                    }
                }
                let mut reaped = 0;
                while ulib::waitpid(WaitFor::Any, 0).is_ok() {
                    reaped += 1;
                }
                if reaped == n { n } else { 100 }
            });
            match f {
                Ok(pid) => kids.push(pid),
                Err(_) => break,
            }
        }
        made += kids.len();
        for k in kids {
            let s = wait_for(k)?;
            match s.code() {
                Some(n @ 0..=3) => made += usize::from(n),
                _ => {
                    return Err(format!(
                        "a storm child: {}",
                        programs::describe_status(s, false)
                    ));
                }
            }
        }
    }
    ensure!(made >= 100, "only {made} processes in the storm");
    let _ = ulib::sleep(20);
    let after = ok("sysinfo", ulib::sysinfo())?.free_procs;
    ensure!(
        after == before,
        "free slots {before} -> {after} after the storm"
    );
    let mut all = vec![ProcInfo::EMPTY; 256];
    let n = ok("procinfo all", ulib::procinfo_all(&mut all))?;
    let me = ulib::getpid();
    let left: Vec<Pid> = all[..n]
        .iter()
        .filter(|p| p.ppid == me)
        .map(|p| p.pid)
        .collect();
    ensure!(left.is_empty(), "children left after the storm: {left:?}");
    Ok(())
}

/// A hundred rounds of a parent exiting and leaving two orphans, one of
/// them already a zombie: each is handed to init (getppid 1) and reaped by
/// it.
fn reparent_rounds() -> Res {
    const ROUNDS: usize = 100;
    const PER_ROUND: usize = 2;
    let mut orphans = Vec::new();
    let (r, w) = ok("pipe", ulib::pipe())?;
    for _ in 0..ROUNDS {
        let (rp, wp) = ok("pipe", ulib::pipe())?;
        let parent = child(|| {
            let _ = ulib::close(rp);
            for i in 0..PER_ROUND {
                match ulib::fork() {
                    Ok(Pid::NONE) => {
                        if i % 2 == 0 {
                            ulib::exit(0); // a zombie when its parent goes
                        }
                        let deadline = ulib::uptime_ms() + 3000;
                        while ulib::getppid() != Pid::INIT && ulib::uptime_ms() < deadline {
                            let _ = ulib::sleep(1);
                        }
                        let _ = ulib::write(w, &[u8::from(ulib::getppid() == Pid::INIT)]);
                        ulib::exit(0)
                    }
                    Ok(pid) => {
                        let _ = ulib::write(wp, &pid.0.to_le_bytes());
                    }
                    Err(_) => return 1,
                }
            }
            // Let the even ones become zombies first.
            let _ = ulib::sleep(2);
            0
        })?;
        let _ = ulib::close(wp);
        let mut buf = [0u8; 4 * PER_ROUND];
        let got = ulib::io::read_full(rp, &mut buf);
        let _ = ulib::close(rp);
        expect_code(parent, 0)?;
        ensure!(
            got == buf.len(),
            "the parent reported {} of {PER_ROUND} orphans",
            got / 4
        );
        orphans.extend(
            buf.chunks(4)
                .map(|c| Pid(u32::from_le_bytes(c.try_into().unwrap()))),
        );
    }
    let _ = ulib::close(w);
    let mut adopted = 0;
    let mut b = [0u8; 64];
    loop {
        match ulib::read(r, &mut b) {
            Ok(0) | Err(_) => break,
            Ok(n) => adopted += b[..n].iter().filter(|&&x| x == 1).count(),
        }
    }
    let _ = ulib::close(r);
    ensure!(
        adopted == ROUNDS * PER_ROUND / 2,
        "{adopted} of {} live orphans saw init adopt them",
        ROUNDS * PER_ROUND / 2
    );
    // Init reaps them all, the zombies among them.
    let deadline = ulib::uptime_ms() + 3000;
    for pid in orphans {
        while ulib::procinfo(pid).is_ok() {
            ensure!(ulib::uptime_ms() < deadline, "orphan {pid} never reaped");
            let _ = ulib::sleep(2);
        }
    }
    Ok(())
}

/// exec's failures leave the process as it was; the limits are exact.
fn exec_errors() -> Res {
    let pid = child(|| {
        let keep = vec![0x5Au8; 1000];
        let long = "x".repeat(MAX_ARG_LEN + 1);
        let path_long = format!("/bin/{}", "p".repeat(MAX_PATH));
        let many = vec!["a"; MAX_ARGS + 1];
        let bad_utf8 = [0xFFu8, 0xFE, b'/', b'x'];
        let tries: [(&str, Errno); 8] = [
            ("missing", ulib::exec("/bin/no-such-program", &["x"])),
            ("a text file", ulib::exec("/etc/motd", &["motd"])),
            ("a directory", ulib::exec("/bin", &["bin"])),
            ("an empty path", ulib::exec(&"/bin/true"[..0], &["x"])),
            ("a too-long path", ulib::exec(&path_long, &["p"])),
            ("too many args", ulib::exec("/bin/true", &many)),
            ("a too-long arg", ulib::exec("/bin/true", &["true", &long])),
            (
                "a non-UTF-8 path",
                raw(nr::EXEC, &[bad_utf8.as_ptr() as u64, 4, 0, 0])
                    .err()
                    .unwrap_or(Errno(0)),
            ),
        ];
        // A directory: EISDIR; an empty path: ENOENT.
        let want: [&[Errno]; 8] = [
            &[Errno::ENOENT],
            &[Errno::ENOEXEC],
            &[Errno::EISDIR],
            &[Errno::ENOENT],
            &[Errno::ENAMETOOLONG],
            &[Errno::E2BIG],
            &[Errno::E2BIG],
            &[Errno::ENOENT],
        ];
        for (i, ((_, got), want)) in tries.iter().zip(want).enumerate() {
            if !want.contains(got) {
                return 20 + i as i32;
            }
        }
        // Still ourselves: memory and fds intact.
        if keep.iter().any(|&b| b != 0x5A) || ulib::write(1, b"").is_err() {
            return 2;
        }
        0x33
    })?;
    let s = wait_for(pid)?;
    let names = [
        "missing",
        "a text file",
        "a directory",
        "an empty path",
        "a too-long path",
        "too many args",
        "a too-long arg",
        "a non-UTF-8 path",
    ];
    match s.code() {
        Some(0x33) => Ok(()),
        Some(c @ 20..=27) => Err(format!("exec of {}: wrong errno", names[c as usize - 20])),
        _ => Err(format!("child: {}", programs::describe_status(s, false))),
    }
}

/// A function that runs one instruction that must kill a ring-3 process
/// before it has any effect (a privileged one, or `int N` through a gate
/// ring 3 may not use).
macro_rules! insn {
    ($($asm:tt)*) => {{
        fn run() {
            // SAFETY: at CPL 3 this raises #GP (or #UD) before it has any
            // effect; the process dies of it.
            unsafe { core::arch::asm!($($asm)*) }
        }
        run as fn()
    }};
}

/// An all-zero descriptor-table pointer, for `lgdt`/`lidt`.
static ZERO_TABLE: [u64; 2] = [0; 2];

/// Privileged instructions in ring 3: each kills the process with a
/// general protection fault and does nothing.
fn privileged_instructions() -> Res {
    type Insn = (&'static str, fn());
    let insns: &[Insn] = &[
        ("hlt", insn!("hlt")),
        ("cli", insn!("cli")),
        ("sti", insn!("sti")),
        ("in", insn!("in al, dx", in("dx") 0x3F8u16, out("al") _)),
        ("out", insn!("out dx, al", in("dx") 0x604u16, in("al") 0u8)),
        ("mov from cr3", insn!("mov {}, cr3", out(reg) _)),
        ("mov to cr3", insn!("mov cr3, {}", in(reg) 0u64)),
        ("mov to cr0", insn!("mov cr0, {}", in(reg) 0u64)),
        ("mov to dr7", insn!("mov dr7, {}", in(reg) 0xFFu64)),
        (
            "rdmsr",
            insn!("rdmsr", in("ecx") 0xC000_0080u32, out("eax") _, out("edx") _),
        ),
        (
            "wrmsr",
            insn!("wrmsr", in("ecx") 0xC000_0080u32, in("eax") 0u32, in("edx") 0u32),
        ),
        ("lgdt", insn!("lgdt [{}]", in(reg) ZERO_TABLE.as_ptr())),
        ("lidt", insn!("lidt [{}]", in(reg) ZERO_TABLE.as_ptr())),
        ("ltr", insn!("ltr {0:x}", in(reg) 0x28u16)),
        ("invlpg", insn!("invlpg [{}]", in(reg) 0x40_0000u64)),
        ("wbinvd", insn!("wbinvd")),
        ("clts", insn!("clts")),
        ("swapgs", insn!("swapgs")),
        (
            "load the kernel data selector",
            insn!("mov ds, {0:x}", in(reg) 0x10u16),
        ),
        // A frame that "returns" to the kernel's code selector.
        (
            "iretq into ring 0",
            insn!(
                "mov rax, rsp",
                "push 0x10",
                "push rax",
                "pushfq",
                "push 0x08",
                "lea rax, [rip]",
                "push rax",
                "iretq",
                out("rax") _,
            ),
        ),
    ];
    for &(name, run) in insns {
        let pid = child(|| {
            run();
            0
        })?;
        let s = wait_for(pid)?;
        ensure!(
            s == WaitStatus::ended_by(Cause::GeneralProtection),
            "{name} in ring 3: {}, want general protection fault",
            programs::describe_status(s, false)
        );
    }
    Ok(())
}

/// `int N` for a vector whose gate is not open to ring 3 (a hardware
/// interrupt's, the old Linux system call's) never reaches its handler:
/// the process dies (#GP on VMX/SVM KVM and QEMU; this machine's PVM KVM
/// raises #UD for every `int N` but `int3`).
fn int_n_from_ring3() -> Res {
    let gates: &[(&str, fn())] = &[
        ("int 0x80", insn!("int 0x80")),
        ("int 0x20 (timer)", insn!("int 0x20")),
        ("int 0x24 (serial)", insn!("int 0x24")),
        ("int 0x0e (page fault)", insn!("int 0x0e")),
        ("int 0x08 (double fault)", insn!("int 0x08")),
    ];
    let gp = WaitStatus::ended_by(Cause::GeneralProtection);
    let ud = WaitStatus::ended_by(Cause::InvalidOpcode);
    for &(name, run) in gates {
        let pid = child(|| {
            run();
            0
        })?;
        let s = wait_for(pid)?;
        ensure!(
            s == gp || s == ud,
            "{name} in ring 3: {}, want general protection fault (or invalid opcode)",
            programs::describe_status(s, false)
        );
    }
    Ok(())
}

/// sysinfo's figures hang together.
fn sysinfo_sane() -> Res {
    let s = ok("sysinfo", ulib::sysinfo())?;
    ensure!(
        s.total_frames > 0 && s.free_frames <= s.total_frames,
        "{s:?}"
    );
    ensure!(s.free_procs < s.total_procs, "{s:?}");
    ensure!(
        s.self_frames > 4 && s.kernel_frames > 0 && s.heap_bytes > 0,
        "{s:?}"
    );
    ensure!(
        s.reserve_frames > 0 && s.reserve_frames < s.total_frames / 4,
        "{s:?}"
    );
    let mut all = vec![ProcInfo::EMPTY; s.total_procs as usize];
    let n = ok("procinfo all", ulib::procinfo_all(&mut all))? as u64;
    ensure!(
        n + s.free_procs == s.total_procs,
        "{n} processes + {} free slots != {} slots",
        s.free_procs,
        s.total_procs
    );
    // A child's frames are its own: forking one costs about our size.
    let pid = spinner()?;
    let guard = Reaper(pid);
    let t = ok("sysinfo", ulib::sysinfo())?;
    ensure!(t.free_procs + 1 == s.free_procs, "{s:?} -> {t:?}");
    ensure!(t.free_frames < s.free_frames, "a fork took no frames");
    drop(guard);
    Ok(())
}

/// procinfo's argument checks.
fn procinfo_errors() -> Res {
    let me = ulib::getpid();
    for pid in [0, -2, i64::MIN] {
        let mut rec = ProcInfo::EMPTY;
        expect_err(
            &format!("procinfo({pid})"),
            raw(nr::PROCINFO, &[pid as u64, &raw mut rec as u64, 1]),
            &[Errno::EINVAL],
        )?;
    }
    let mut rec = ProcInfo::EMPTY;
    let n = ok(
        "procinfo max 0",
        raw(nr::PROCINFO, &[me.arg(), &raw mut rec as u64, 0]),
    )?;
    ensure!(n == 0 && rec == ProcInfo::EMPTY, "max 0 wrote {n} records");
    let n = ok("procinfo(-1) max 0", raw(nr::PROCINFO, &[u64::MAX, 0, 0]))?;
    ensure!(n == 0, "procinfo(-1) max 0 gave {n}");
    let mut two = [ProcInfo::EMPTY; 2];
    let n = ok(
        "procinfo(-1) max 2",
        raw(nr::PROCINFO, &[u64::MAX, two.as_mut_ptr() as u64, 2]),
    )?;
    ensure!(
        n == 2 && two.iter().all(|p| !p.pid.is_none()),
        "max 2 gave {n}"
    );
    Ok(())
}
