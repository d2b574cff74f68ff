//! `usertests [NAME...]`: a battery of hostile tests of the kernel, after
//! xv6's. Each case runs in a forked child, so a case that crashes (or
//! hangs: a watchdog kills it) fails alone. Cases that expect a death fork
//! the victim themselves. Prints `usertests: NAME ... ok` or
//! `usertests: NAME ... FAIL (reason)` per case, then
//! `usertests: N passed, M failed`, and exits with M.
//!
//! With names, runs only the cases whose names contain one of them.
#![no_std]
#![no_main]

use abi::PAGE_SIZE;
use abi::sys::{MAX_ARG_LEN, MAX_ARGS, MAX_FDS, MAX_PATH, Str, WNOHANG, nr};
use core::hint::black_box;
use programs::crash::{KINDS, Kind};
use ulib::io::write_all;
use ulib::prelude::*;
use ulib::{Cause, Errno, Fd, Pid, ProcInfo, ProcState, WaitStatus, println};

ulib::entry!(main);

type Res = Result<(), String>;
type CaseFn = fn() -> Res;
type AddrFn = fn() -> u64;
/// A test case, run in its own child.
type Case = Box<dyn Fn() -> Res>;

/// Longest a case may run before the watchdog kills it.
const CASE_TIMEOUT_MS: u64 = 10_000;
/// A pid no process has (far above any table size).
const NO_SUCH_PID: i64 = 0x7FFF_FFF0;
/// The arguments `--check-args` expects (see `check_args`).
const ARGS_PROBE: [&str; 4] = ["one", "two words", "", "ünïcode"];

macro_rules! ensure {
    ($cond:expr, $($fmt:tt)*) => {
        if !$cond {
            return Err(format!($($fmt)*));
        }
    };
}

fn main(args: &[&str]) -> i32 {
    if args.get(1) == Some(&"--check-args") {
        return check_args(&args[2..]);
    }
    let filters = args.get(1..).unwrap_or_default();
    let (mut passed, mut failed) = (0, 0);
    for (name, case) in cases() {
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f)) {
            continue;
        }
        match run_case(case.as_ref()) {
            Ok(()) => {
                passed += 1;
                println!("usertests: {name} ... ok");
            }
            Err(reason) => {
                failed += 1;
                println!("usertests: {name} ... FAIL ({reason})");
            }
        }
    }
    reap_orphans();
    println!("usertests: {passed} passed, {failed} failed");
    failed
}

/// Every case, in order.
fn cases() -> Vec<(String, Case)> {
    let plain: &[(&str, CaseFn)] = &[
        ("getpid_fork", getpid_fork),
        ("exit_status", exit_status),
        ("wait_no_children", wait_no_children),
        ("waitpid_specific", waitpid_specific),
        ("wnohang", wnohang),
        ("kill_sleeping", kill_sleeping),
        ("kill_stopped", kill_stopped),
        ("kill_errors", kill_errors),
        ("suspend_resume", suspend_resume),
        ("bad_pointers", bad_pointers),
        ("huge_lengths", huge_lengths),
        ("unknown_syscalls", unknown_syscalls),
        ("bad_fds", bad_fds),
        ("fd_limit", fd_limit),
        ("sbrk", sbrk_grow_shrink),
        ("sbrk_huge", sbrk_huge),
        ("spawn_errors", spawn_errors),
        ("spawn_arg_limits", spawn_arg_limits),
        ("spawn_exec_status", spawn_exec_status),
        ("pipe_roundtrip", pipe_roundtrip),
        ("pipe_big_transfer", pipe_big_transfer),
        ("pipe_eof", pipe_eof),
        ("pipe_epipe", pipe_epipe),
        ("dup", dup),
        ("uptime_sleep", uptime_sleep),
        ("procinfo", procinfo),
        ("fork_table_full", fork_table_full),
        ("orphan_reparent", orphan_reparent),
        ("fs_base_per_process", fs_base_per_process),
    ];
    let mut all: Vec<(String, Case)> = plain
        .iter()
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
fn run_case(case: &dyn Fn() -> Res) -> Res {
    let (r, w) = ok("pipe", ulib::pipe())?;
    let pid = match ulib::fork() {
        Ok(0) => {
            let _ = ulib::close(r);
            let code = match case() {
                Ok(()) => 0,
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
        Some(0) => Ok(()),
        Some(1) => {
            // The reason is already in the pipe (written before exit), so
            // this read does not block even if a leftover grandchild still
            // holds the write end.
            let mut buf = [0u8; 256];
            let n = ulib::read(r, &mut buf).unwrap_or(0);
            Err(String::from_utf8_lossy(&buf[..n]).into_owned())
        }
        Some(code) => Err(format!("case exited with {code}")),
        None => Err(format!("case died: {}", status.cause().describe())),
    });
    let _ = ulib::close(r);
    result
}

/// Waits for case `pid` with a watchdog, reaping any orphan handed to us on
/// the way (usertests may be init).
fn watch(pid: Pid) -> Result<WaitStatus, String> {
    let deadline = ulib::uptime_ms() + CASE_TIMEOUT_MS;
    loop {
        match ulib::waitpid(-1, WNOHANG) {
            Ok((p, status)) if p == pid => return Ok(status),
            Ok((0, _)) if ulib::uptime_ms() > deadline => {
                let _ = ulib::kill(i64::from(pid));
                let _ = ulib::waitpid(i64::from(pid), 0);
                return Err(format!("timed out after {CASE_TIMEOUT_MS} ms"));
            }
            Ok((0, _)) => {
                let _ = ulib::sleep(2);
            }
            Ok(_) => {} // an orphan
            Err(e) => return Err(format!("waitpid: {}", e.name())),
        }
    }
}

fn reap_orphans() {
    while let Ok((pid, _)) = ulib::waitpid(-1, WNOHANG) {
        if pid == 0 {
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
        Ok(0) => ulib::exit(f()),
        Ok(pid) => Ok(pid),
        Err(e) => Err(format!("fork: {}", e.name())),
    }
}

/// Waits for child `pid` specifically.
fn wait_for(pid: Pid) -> Result<WaitStatus, String> {
    let (p, status) = ok("waitpid", ulib::waitpid(i64::from(pid), 0))?;
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
        let _ = ulib::kill(i64::from(self.0));
        let _ = ulib::waitpid(i64::from(self.0), 0);
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
    ok("procinfo", ulib::procinfo(i64::from(pid)))
}

// ---------------------------------------------------------------- cases

fn getpid_fork() -> Res {
    let me = ulib::getpid();
    ensure!(me > 0, "getpid returned 0");
    let (r, w) = ok("pipe", ulib::pipe())?;
    let pid = child(|| {
        let ids = [ulib::getpid(), ulib::getppid()];
        let bytes: Vec<u8> = ids.iter().flat_map(|id| id.to_le_bytes()).collect();
        i32::from(ulib::write(w, &bytes).is_err())
    })?;
    let _ = ulib::close(w);
    expect_code(pid, 0)?;
    let mut buf = [0u8; 8];
    let n = ok("read", ulib::read(r, &mut buf))?;
    ensure!(n == 8, "read {n} bytes of the child's ids");
    let (cpid, cppid) = (
        u32::from_le_bytes(buf[..4].try_into().unwrap()),
        u32::from_le_bytes(buf[4..].try_into().unwrap()),
    );
    ensure!(cpid == pid, "child's getpid {cpid} != fork's {pid}");
    ensure!(cppid == me, "child's getppid {cppid} != parent {me}");
    ensure!(ulib::getpid() == me, "parent's pid changed");
    Ok(())
}

fn exit_status() -> Res {
    for code in [0u8, 1, 42, 255] {
        let pid = child(move || i32::from(code))?;
        expect_code(pid, code)?;
    }
    // Only the low byte is the code.
    let pid = child(|| 256 + 7)?;
    expect_code(pid, 7)
}

fn wait_no_children() -> Res {
    expect_err("waitpid(-1)", ulib::waitpid(-1, 0), &[Errno::ECHILD])?;
    expect_err(
        "waitpid(-1, WNOHANG)",
        ulib::waitpid(-1, WNOHANG),
        &[Errno::ECHILD],
    )?;
    expect_err("waitpid(init)", ulib::waitpid(1, 0), &[Errno::ECHILD])?;
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
        ulib::waitpid(-1, 0),
        &[Errno::ECHILD],
    )
}

fn wnohang() -> Res {
    let pid = child(|| {
        let _ = ulib::sleep(200);
        0
    })?;
    let (p, _) = ok("waitpid WNOHANG", ulib::waitpid(i64::from(pid), WNOHANG))?;
    ensure!(p == 0, "WNOHANG returned {p} for a sleeping child");
    expect_code(pid, 0)
}

fn kill_sleeping() -> Res {
    let pid = child(|| {
        let _ = ulib::sleep(10_000);
        0
    })?;
    let _ = ulib::sleep(30);
    let t0 = ulib::uptime_ms();
    ok("kill", ulib::kill(i64::from(pid)))?;
    expect_cause(pid, Cause::Killed)?;
    let took = ulib::uptime_ms() - t0;
    ensure!(took < 2000, "the killed sleeper took {took} ms to die");
    Ok(())
}

fn kill_stopped() -> Res {
    let pid = spinner()?;
    let guard = Reaper(pid);
    ok("suspend", ulib::suspend(i64::from(pid)))?;
    ok("kill", ulib::kill(i64::from(pid)))?;
    expect_cause(pid, Cause::Killed)?;
    guard.done();
    Ok(())
}

fn kill_errors() -> Res {
    expect_err("kill(1)", ulib::kill(1), &[Errno::EPERM])?;
    expect_err("kill(missing)", ulib::kill(NO_SUCH_PID), &[Errno::ESRCH])?;
    for pid in [0, -1, -42, i64::MIN] {
        expect_err(&format!("kill({pid})"), ulib::kill(pid), &[Errno::EINVAL])?;
    }
    expect_err(
        "suspend(missing)",
        ulib::suspend(NO_SUCH_PID),
        &[Errno::ESRCH],
    )?;
    expect_err(
        "resume(missing)",
        ulib::resume(NO_SUCH_PID),
        &[Errno::ESRCH],
    )
}

fn suspend_resume() -> Res {
    let pid = spinner()?;
    let guard = Reaper(pid);
    let _ = ulib::sleep(50);
    ok("suspend", ulib::suspend(i64::from(pid)))?;
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
    ok("resume", ulib::resume(i64::from(pid)))?;
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
    ok("kill", ulib::kill(i64::from(pid)))?;
    expect_cause(pid, Cause::Killed)?;
    guard.done();
    Ok(())
}

fn bad_pointers() -> Res {
    let (r, w) = pipe_with(b"some bytes to read")?;
    let addrs: [(&str, AddrFn); 4] = [
        ("null", || 0),
        ("kernel-half", || 0xFFFF_8000_0000_0000),
        ("non-canonical", || 0x8000_0000_0000_0000),
        ("past the break", past_break),
    ];
    let efault = &[Errno::EFAULT];
    let fd = |f: Fd| f as i64 as u64;
    for (label, addr) in addrs {
        expect_err(
            &format!("write from {label}"),
            raw(nr::WRITE, &[1, addr(), 8]),
            efault,
        )?;
        expect_err(
            &format!("read into {label}"),
            raw(nr::READ, &[fd(r), addr(), 8]),
            efault,
        )?;
        expect_err(
            &format!("pipe into {label}"),
            raw(nr::PIPE, &[addr()]),
            efault,
        )?;
        expect_err(
            &format!("procinfo into {label}"),
            raw(nr::PROCINFO, &[u64::from(ulib::getpid()), addr(), 1]),
            efault,
        )?;
        expect_err(
            &format!("spawn path at {label}"),
            raw(nr::SPAWN, &[addr(), 8, 0, 0]),
            efault,
        )?;
        let path = "/bin/true";
        let (p, n) = (path.as_ptr() as u64, path.len() as u64);
        expect_err(
            &format!("spawn argv at {label}"),
            raw(nr::SPAWN, &[p, n, addr(), 1]),
            efault,
        )?;
        let argv = [Str {
            ptr: addr(),
            len: 4,
        }];
        expect_err(
            &format!("spawn argv[0] at {label}"),
            raw(nr::SPAWN, &[p, n, argv.as_ptr() as u64, 1]),
            efault,
        )?;
        expect_err(
            &format!("exec path at {label}"),
            raw(nr::EXEC, &[addr(), 8, 0, 0]),
            efault,
        )?;
        if label != "null" {
            // (A null status pointer is valid: "do not store it".)
            let pid = child(|| 0)?;
            let r = raw(nr::WAITPID, &[u64::from(pid), addr(), 0]);
            let _ = ulib::waitpid(i64::from(pid), 0); // reap it either way
            expect_err(&format!("waitpid status at {label}"), r, efault)?;
        }
    }
    close_all(&[r, w]);
    Ok(())
}

fn huge_lengths() -> Res {
    let (r, w) = pipe_with(b"data")?;
    let mut buf = [0u8; 16];
    let p = buf.as_mut_ptr() as u64;
    let bad = &[Errno::EFAULT, Errno::EINVAL];
    for len in [u64::MAX, 1 << 47, u64::MAX - p + 2] {
        expect_err(
            &format!("write len {len:#x}"),
            raw(nr::WRITE, &[1, p, len]),
            bad,
        )?;
        expect_err(
            &format!("read len {len:#x}"),
            raw(nr::READ, &[r as u64, p, len]),
            bad,
        )?;
    }
    let path = "/bin/true";
    let too_long = &[Errno::EFAULT, Errno::EINVAL, Errno::ENAMETOOLONG];
    expect_err(
        "spawn path len MAX",
        raw(nr::SPAWN, &[path.as_ptr() as u64, u64::MAX, 0, 0]),
        too_long,
    )?;
    let argv = [Str {
        ptr: path.as_ptr() as u64,
        len: path.len() as u64,
    }];
    let big = &[Errno::E2BIG, Errno::EFAULT, Errno::EINVAL];
    expect_err(
        "spawn argc MAX",
        raw(
            nr::SPAWN,
            &[argv[0].ptr, argv[0].len, argv.as_ptr() as u64, u64::MAX],
        ),
        big,
    )?;
    let argv = [Str {
        ptr: path.as_ptr() as u64,
        len: u64::MAX,
    }];
    let arg_big = &[
        Errno::E2BIG,
        Errno::EFAULT,
        Errno::EINVAL,
        Errno::ENAMETOOLONG,
    ];
    expect_err(
        "spawn argv[0] len MAX",
        raw(nr::SPAWN, &[argv[0].ptr, 9, argv.as_ptr() as u64, 1]),
        arg_big,
    )?;
    close_all(&[r, w]);
    Ok(())
}

fn unknown_syscalls() -> Res {
    // COUNT + 2^32 catches a kernel that truncates the number to 32 bits.
    for n in [
        nr::COUNT,
        nr::COUNT + 1,
        9999,
        (1 << 32) + nr::GETPID,
        u64::MAX,
    ] {
        expect_err(&format!("syscall {n:#x}"), raw(n, &[]), &[Errno::ENOSYS])?;
    }
    Ok(())
}

fn bad_fds() -> Res {
    let ebadf = &[Errno::EBADF];
    let mut buf = [0u8; 4];
    for fd in [-1, 99, MAX_FDS as Fd, i32::MAX] {
        expect_err(&format!("write({fd})"), ulib::write(fd, b"x"), ebadf)?;
        expect_err(&format!("read({fd})"), ulib::read(fd, &mut buf), ebadf)?;
        expect_err(&format!("close({fd})"), ulib::close(fd), ebadf)?;
        expect_err(&format!("dup({fd})"), ulib::dup(fd), ebadf)?;
    }
    let (r, w) = ok("pipe", ulib::pipe())?;
    let wrong_end = &[Errno::EBADF, Errno::EINVAL];
    expect_err("write to a read end", ulib::write(r, b"x"), wrong_end)?;
    expect_err("read from a write end", ulib::read(w, &mut buf), wrong_end)?;
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
    let nomem = &[Errno::ENOMEM, Errno::EINVAL];
    expect_err("sbrk(2^46)", ulib::sbrk(1 << 46), &[Errno::ENOMEM])?;
    expect_err("sbrk(i64::MAX)", ulib::sbrk(i64::MAX), nomem)?;
    expect_err("sbrk(i64::MIN)", ulib::sbrk(i64::MIN), nomem)?;
    expect_err(
        "sbrk below the heap",
        ulib::sbrk(-(before as i64) - 4096),
        nomem,
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
    expect_err(
        "spawn empty path",
        // An empty path at a valid address (a zero-length range needs no check).
        ulib::spawn(&"/bin/true"[..0], &["x"]),
        &[Errno::ENOENT, Errno::EINVAL],
    )?;
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
    let long = "x".repeat(MAX_ARG_LEN);
    let args = vec![long.as_str(); MAX_ARGS];
    let pid = ok(
        "spawn with MAX_ARGS args of MAX_ARG_LEN",
        ulib::spawn("/bin/true", &args),
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
    Ok(())
}

fn fork_table_full() -> Res {
    const CAP: u32 = 20_000;
    // Children block reading this pipe until we close its write end.
    let (r, w) = ok("pipe", ulib::pipe())?;
    let mut kids = 0;
    let err = loop {
        if kids == CAP {
            close_all(&[r, w]);
            return Err(format!("fork never failed in {CAP} forks"));
        }
        match ulib::fork() {
            Ok(0) => {
                let _ = ulib::close(w);
                let _ = ulib::read(r, &mut [0u8; 1]);
                ulib::exit(0)
            }
            Ok(_) => kids += 1,
            Err(e) => break e,
        }
    };
    close_all(&[r, w]);
    let mut reaped = 0;
    while ulib::waitpid(-1, 0).is_ok() {
        reaped += 1;
    }
    ensure!(
        err == Errno::EAGAIN,
        "fork failed with {} after {kids} forks, want EAGAIN",
        err.name()
    );
    ensure!(reaped == kids, "reaped {reaped} of {kids}");
    let pid = child(|| 7)?;
    expect_code(pid, 7)
}

fn orphan_reparent() -> Res {
    let (r, w) = ok("pipe", ulib::pipe())?;
    let parent = child(|| match ulib::fork() {
        Ok(0) => {
            // The grandchild: wait to be handed to init, report via the pipe.
            let deadline = ulib::uptime_ms() + 2000;
            let mut adopted = false;
            while !adopted && ulib::uptime_ms() < deadline {
                adopted = ulib::getppid() == 1;
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
    ensure!(status.code() == Some(0), "probe: {}", programs::describe_status(status, false));
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
