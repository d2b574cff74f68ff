//! Cases for signals, process groups and the console's job control.
//!
//! Handlers record what they saw in statics (a case runs in a process of
//! its own, so nothing leaks between cases).

use super::*;
use abi::signal::{
    SIG_BLOCK, SIG_SETMASK, SIG_UNBLOCK, SIGCHLD, SIGCONT, SIGINT, SIGKILL, SIGPIPE, SIGSEGV,
    SIGSTOP, SIGTERM, SIGTSTP, SIGTTIN, SIGUSR1, SIGUSR2, SigFrame, SigSet,
};
use abi::sys::{TTY_CANON, TTY_DEFAULT, TTY_ECHO, TTY_SIG, WCONTINUED};
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use ulib::{Group, Handler};

/// The cases, in order.
pub const CASES: &[(&str, CaseFn)] = &[
    ("signal_defaults", signal_defaults),
    ("signal_handler", signal_handler),
    ("signal_handler_keeps_state", signal_handler_keeps_state),
    ("signal_mask", signal_mask),
    ("signal_errors", signal_errors),
    ("signal_in_handler", signal_in_handler),
    ("signal_handler_faults", signal_handler_faults),
    ("sigreturn_forged", sigreturn_forged),
    ("sigkill_stopped", sigkill_stopped),
    ("signal_zombie", signal_zombie),
    ("wait_continued", wait_continued),
    ("sigpipe", sigpipe),
    ("eintr_sleep", eintr_sleep),
    ("restart_read", restart_read),
    ("stop_signals", stop_signals),
    ("process_groups", process_groups),
    ("tty_calls", tty_calls),
    ("background_read", background_read),
];

/// How many times each signal reached [`count`].
static SEEN: [AtomicU32; 32] = [const { AtomicU32::new(0) }; 32];
/// The signals [`count`] saw, in order, four bits each (up to 16).
static ORDER: AtomicU64 = AtomicU64::new(0);

/// A handler that counts and records its signal.
extern "C" fn count(sig: u32) {
    if let Some(c) = SEEN.get(sig as usize) {
        c.fetch_add(1, Ordering::SeqCst);
    }
    let o = ORDER.load(Ordering::SeqCst);
    ORDER.store((o << 4) | u64::from(sig & 0xF), Ordering::SeqCst);
}

fn seen(sig: u32) -> u32 {
    SEEN[sig as usize].load(Ordering::SeqCst)
}

fn catch(sig: u32, f: extern "C" fn(u32)) -> Res {
    ok("signal", ulib::signal(sig, Handler::Catch(f))).map(drop)
}

/// `pid` ended by `sig`, exactly.
fn expect_signaled(pid: Pid, sig: u32) -> Res {
    expect_status(pid, WaitStatus::signaled(sig))
}

/// Default actions: the terminating ones end the process with their number
/// in the wait status; `SIGCHLD` is ignored.
fn signal_defaults() -> Res {
    for sig in [SIGTERM, SIGINT, SIGUSR1, abi::signal::SIGHUP] {
        let pid = spinner()?;
        let guard = Reaper(pid);
        ok("kill", ulib::kill(pid, sig))?;
        expect_signaled(pid, sig)?;
        guard.done();
    }
    let pid = spinner()?;
    let guard = Reaper(pid);
    ok("kill(SIGCHLD)", ulib::kill(pid, SIGCHLD))?;
    ok("kill(SIGCONT)", ulib::kill(pid, SIGCONT))?;
    let _ = ulib::sleep(20);
    let p = info(pid)?;
    ensure!(
        p.state() != Some(ProcState::Zombie) && p.sig_pending == SigSet::EMPTY,
        "ignored signals ended the child or stayed pending: {} pending {:#x}",
        programs::ps::state_name(&p),
        p.sig_pending.0
    );
    ok("kill", ulib::kill(pid, SIGKILL))?;
    expect_signaled(pid, SIGKILL)?;
    guard.done();
    // The status reads as the shell says it.
    let s = WaitStatus::signaled(SIGINT);
    ensure!(
        s.describe() == "interrupt" && s.shell_code() == 130,
        "SIGINT reads as {} / {}",
        s.describe(),
        s.shell_code()
    );
    Ok(())
}

/// A handler runs with the signal's number, before the call that raised
/// it returns; the process goes on, and its record shows the handler.
fn signal_handler() -> Res {
    catch(SIGUSR1, count)?;
    let old = ok("signal", ulib::signal(SIGUSR1, Handler::Catch(count)))?;
    ensure!(
        matches!(old, Handler::Catch(f) if f as *const () == count as *const ()),
        "signal returned {old:?}, want the handler set before"
    );
    let me = info(ulib::getpid())?;
    ensure!(
        me.sig_caught.has(SIGUSR1),
        "sig_caught {:#x}",
        me.sig_caught.0
    );
    ok("kill(self)", ulib::kill(ulib::getpid(), SIGUSR1))?;
    ensure!(seen(SIGUSR1) == 1, "handler ran {} times", seen(SIGUSR1));
    // From another process, while we sleep in waitpid.
    let me = ulib::getpid();
    let pid = child(move || i32::from(ulib::kill(me, SIGUSR1).is_err()))?;
    expect_code(pid, 0)?;
    ensure!(seen(SIGUSR1) == 2, "handler ran {} times", seen(SIGUSR1));
    // Back to the default: the next one ends a child that does the same.
    ok("signal", ulib::signal(SIGUSR1, Handler::Default))?;
    let pid = child(|| {
        let _ = ulib::kill(ulib::getpid(), SIGUSR1);
        0
    })?;
    expect_signaled(pid, SIGUSR1)
}

static FLOAT_SEEN: AtomicU64 = AtomicU64::new(0);

/// Uses the FPU and most registers, to clobber what the interrupted code
/// holds if the kernel did not save it.
extern "C" fn clobber(sig: u32) {
    let mut x = black_box(1.5f64);
    for _ in 0..10 {
        x = black_box(x * 3.25 + f64::from(sig));
    }
    FLOAT_SEEN.store(x.to_bits(), Ordering::SeqCst);
}

/// The interrupted code's registers and FPU state come back whole.
fn signal_handler_keeps_state() -> Res {
    catch(SIGUSR2, clobber)?;
    let pid = spinner_with_check()?;
    let guard = Reaper(pid);
    for _ in 0..50 {
        ok("kill", ulib::kill(pid, SIGUSR2))?;
        let _ = ulib::sleep(1);
    }
    ok("kill", ulib::kill(pid, SIGTERM))?;
    // The checker exits 5 if a value it kept in registers changed.
    let s = wait_for(pid)?;
    guard.done();
    ensure!(
        s == WaitStatus::signaled(SIGTERM),
        "the checker ended {}",
        programs::describe_status(s, false)
    );
    Ok(())
}

/// A child that computes the same integer and floating-point results over
/// and over, and exits 5 the moment one differs (the handler [`clobber`]
/// interrupts it at random points).
fn spinner_with_check() -> Result<Pid, String> {
    fn run() -> (u64, u64) {
        let mut a = 1u64;
        let mut f = 1.0f64;
        for i in 0..20_000u64 {
            a = black_box(a.wrapping_mul(6364136223846793005).wrapping_add(i));
            f = black_box(f * 1.000_000_1 + (i & 1) as f64 * 1e-9);
        }
        (a, f.to_bits())
    }
    child(|| {
        let want = run();
        loop {
            if run() != want {
                return 5;
            }
        }
    })
}

/// Waits until `pid` is no longer stopped.
fn await_continued(pid: Pid) -> Res {
    let deadline = ulib::uptime_ms() + 2000;
    while info(pid)?.state() == Some(ProcState::Stopped) {
        ensure!(
            ulib::uptime_ms() < deadline,
            "pid {pid} still stopped after 2 s"
        );
        let _ = ulib::sleep(1);
    }
    Ok(())
}

/// A blocked signal stays pending (visible in the record) and is delivered
/// the moment it is unblocked; `SIGKILL` and `SIGSTOP` cannot be blocked.
fn signal_mask() -> Res {
    catch(SIGUSR1, count)?;
    let old = ok(
        "sigprocmask",
        ulib::sigprocmask(SIG_BLOCK, SigSet::of(SIGUSR1)),
    )?;
    ensure!(old == SigSet::EMPTY, "old mask {:#x}", old.0);
    ok("kill(self)", ulib::kill(ulib::getpid(), SIGUSR1))?;
    ensure!(seen(SIGUSR1) == 0, "a blocked signal was delivered");
    let me = info(ulib::getpid())?;
    ensure!(
        me.sig_pending.has(SIGUSR1),
        "pending {:#x}",
        me.sig_pending.0
    );
    ensure!(
        me.sig_blocked.has(SIGUSR1),
        "blocked {:#x}",
        me.sig_blocked.0
    );
    ok(
        "sigprocmask",
        ulib::sigprocmask(SIG_UNBLOCK, SigSet::of(SIGUSR1)),
    )?;
    ensure!(seen(SIGUSR1) == 1, "the unblocked signal was not delivered");
    let all = SigSet(u32::MAX);
    ok("sigprocmask", ulib::sigprocmask(SIG_SETMASK, all))?;
    let now = ok("sigprocmask", ulib::sigprocmask(SIG_SETMASK, SigSet::EMPTY))?;
    ensure!(
        !now.has(SIGKILL) && !now.has(SIGSTOP),
        "SIGKILL or SIGSTOP was blocked: {:#x}",
        now.0
    );
    expect_err(
        "sigprocmask(bad how)",
        ulib::sigprocmask(7, SigSet::EMPTY),
        &[Errno::EINVAL],
    )?;
    // Blocking everything does not save a process from SIGKILL.
    let pid = child(|| {
        let _ = ulib::sigprocmask(SIG_SETMASK, SigSet(u32::MAX));
        loop {
            black_box(0);
        }
    })?;
    ok("kill", ulib::kill(pid, SIGKILL))?;
    expect_signaled(pid, SIGKILL)
}

/// Bad signal numbers, targets and handlers are refused.
fn signal_errors() -> Res {
    let einval = &[Errno::EINVAL];
    let me = ulib::getpid();
    ok("kill(self, 0)", ulib::kill(me, 0))?;
    for bad in [32, 64, 99, u32::MAX] {
        expect_err("kill(bad signal)", ulib::kill(me, bad), einval)?;
        expect_err("signal(bad)", ulib::signal(bad, Handler::Ignore), einval)?;
    }
    expect_err("signal(0)", ulib::signal(0, Handler::Ignore), einval)?;
    for sig in [SIGKILL, SIGSTOP] {
        expect_err(
            "signal(SIGKILL/STOP)",
            ulib::signal(sig, Handler::Ignore),
            einval,
        )?;
        expect_err(
            "signal(SIGKILL/STOP, handler)",
            ulib::signal(sig, Handler::Catch(count)),
            einval,
        )?;
    }
    // A handler in the kernel's half, or at the end of user space.
    for at in [0xFFFF_8000_0000_0000u64, 0xFFFF_FFFF_8000_0000, USER_END] {
        expect_err(
            "signal(kernel address)",
            raw(nr::SIGNAL, &[u64::from(SIGUSR1), at]),
            einval,
        )?;
    }
    expect_err(
        "kill(no such pid)",
        ulib::kill(NO_SUCH_PID, SIGTERM),
        &[Errno::ESRCH],
    )?;
    expect_err("kill(-1)", raw(nr::KILL, &[-1i64 as u64, 15]), einval)?;
    expect_err(
        "kill(no such group)",
        ulib::kill_group(NO_SUCH_PID, SIGTERM),
        &[Errno::ESRCH],
    )?;
    expect_err(
        "kill(init)",
        ulib::kill(Pid::INIT, SIGTERM),
        &[Errno::EPERM],
    )?;
    // Our own group, signal 0: the check only.
    ok("kill(0, 0)", raw(nr::KILL, &[0, 0]).map(drop))
}

/// A signal that comes while its handler runs waits until the handler
/// returns; another signal's handler runs inside it.
fn signal_in_handler() -> Res {
    extern "C" fn nested(sig: u32) {
        count(sig);
        if seen(SIGUSR1) == 1 {
            let me = ulib::getpid();
            // Blocked while this handler runs: delivered after it.
            let _ = ulib::kill(me, SIGUSR1);
            // Not blocked: its handler runs now, inside this one.
            let _ = ulib::kill(me, SIGUSR2);
            if seen(SIGUSR1) != 1 || seen(SIGUSR2) != 1 {
                ORDER.store(0xBAD, Ordering::SeqCst);
            }
        }
    }
    catch(SIGUSR1, nested)?;
    catch(SIGUSR2, count)?;
    ok("kill(self)", ulib::kill(ulib::getpid(), SIGUSR1))?;
    let order = ORDER.load(Ordering::SeqCst);
    // USR1 (10 = 0xA), USR2 (12 = 0xC) inside it, then USR1 again.
    ensure!(
        order == 0xACA,
        "handlers ran in the order {order:#x}, want 0xaca"
    );
    Ok(())
}

/// A handler that faults ends only its own process, with the fault's
/// signal; so does one that is not code at all.
fn signal_handler_faults() -> Res {
    extern "C" fn bad(_: u32) {
        // SAFETY: deliberately invalid: the case expects the crash.
        unsafe { core::arch::asm!("ud2") };
    }
    let pid = child(|| {
        let _ = ulib::signal(SIGUSR1, Handler::Catch(bad));
        let _ = ulib::kill(ulib::getpid(), SIGUSR1);
        0
    })?;
    expect_status(pid, WaitStatus::ended_by(Cause::InvalidOpcode))?;
    let unmapped = past_break() + 64 * PAGE_SIZE;
    let pid = child(move || {
        let _ = raw(nr::SIGNAL, &[u64::from(SIGUSR1), unmapped]);
        let _ = ulib::kill(ulib::getpid(), SIGUSR1);
        0
    })?;
    let s = wait_for(pid)?;
    ensure!(
        s.signal() == Some(SIGSEGV),
        "a handler at an unmapped address: {}",
        programs::describe_status(s, false)
    );
    // No room on the stack for the frame: the process cannot take it.
    let pid = child(|| {
        let _ = ulib::signal(SIGUSR1, Handler::Catch(count));
        let low = abi::sys::USER_STACK_TOP - abi::sys::USER_STACK_MAX + 256;
        // SAFETY: the stack pointer is set just above the stack's guard
        // region: the call's return address fits, the kill's signal frame
        // does not, which ends the process before it uses that stack again.
        unsafe {
            core::arch::asm!(
                "mov rsp, {low}",
                "call {stub}",
                low = in(reg) low,
                stub = in(reg) STUB_ADDR,
                in("rax") nr::KILL,
                in("rdi") ulib::getpid().arg(),
                in("rsi") u64::from(SIGUSR1),
                options(noreturn)
            )
        }
    })?;
    let s = wait_for(pid)?;
    ensure!(
        s.signal() == Some(SIGSEGV),
        "a signal with no room for its frame: {}",
        programs::describe_status(s, false)
    );
    Ok(())
}

/// Where [`sigreturn_forged`]'s frames return to: exits with the IOPL bits
/// of RFLAGS (0 unless the kernel let the frame raise them).
extern "C" fn landing() -> ! {
    let flags: u64;
    // SAFETY: reads RFLAGS.
    unsafe { core::arch::asm!("pushfq", "pop {}", out(reg) flags) };
    ulib::exit(if flags & 0x3000 != 0 { 9 } else { 40 })
}

/// `sigreturn` with a frame made up by the process: what it may set
/// (registers, flags) is taken, what would give it more (a return into
/// the kernel, IOPL) is refused, and a bad frame ends only the caller.
fn sigreturn_forged() -> Res {
    fn frame_to(rip: u64, rsp: u64, rflags: u64) -> SigFrame {
        // SAFETY: plain data; all zero is a valid value.
        let mut f: SigFrame = unsafe { core::mem::zeroed() };
        f.fx[0..2].copy_from_slice(&0x037Fu16.to_le_bytes());
        f.fx[24..28].copy_from_slice(&0x1F80u32.to_le_bytes());
        f.regs.rip = rip;
        f.regs.rsp = rsp;
        f.regs.rflags = rflags;
        f
    }
    fn forge(f: SigFrame) -> i32 {
        let _ = raw(nr::SIGRETURN, &[&raw const f as u64]);
        // sigreturn never returns.
        3
    }
    let stack = vec![0u8; 8192];
    let top = ((stack.as_ptr() as u64 + 8192) & !15) - 8;
    // IOPL 3, NT, VM and RF asked for: none given.
    let pid = child(move || {
        forge(frame_to(
            landing as *const () as u64,
            top,
            0x3000 | 0x4000 | 0x2_0000 | 0x1_0000 | 1,
        ))
    })?;
    expect_code(pid, 40)?;
    // A return into the kernel's half, or a stack there.
    let pid = child(move || forge(frame_to(0xFFFF_FFFF_8000_0000, top, 0x202)))?;
    expect_signaled(pid, SIGSEGV)?;
    let pid = child(move || {
        forge(frame_to(
            landing as *const () as u64,
            0xFFFF_8000_0000_1000,
            0x202,
        ))
    })?;
    expect_signaled(pid, SIGSEGV)?;
    // A non-canonical return address.
    let pid = child(move || forge(frame_to(0x0000_8000_0000_0000, top, 0x202)))?;
    expect_signaled(pid, SIGSEGV)?;
    // A frame the process cannot read.
    let pid = child(|| {
        let _ = raw(nr::SIGRETURN, &[0xFFFF_8000_0000_0000]);
        3
    })?;
    expect_signaled(pid, SIGSEGV)?;
    // A reserved MXCSR bit would fault the kernel's fxrstor: masked.
    let pid = child(move || {
        let mut f = frame_to(landing as *const () as u64, top, 0x202);
        f.fx[24..28].copy_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
        forge(f)
    })?;
    expect_code(pid, 40)?;
    drop(stack);
    Ok(())
}

/// A process stopped by `SIGSTOP` dies at once of `SIGKILL`; waitpid
/// reports the stop first (with `WUNTRACED`).
fn sigkill_stopped() -> Res {
    let pid = spinner()?;
    let guard = Reaper(pid);
    ok("kill(SIGSTOP)", ulib::kill(pid, SIGSTOP))?;
    let (_, s) = ok("waitpid", ulib::waitpid(pid, WUNTRACED))?;
    ensure!(
        s == WaitStatus::stopped(SIGSTOP),
        "waitpid after SIGSTOP: {:#x}",
        s.0
    );
    // Other signals wait while it is stopped.
    ok("kill(SIGTERM)", ulib::kill(pid, SIGTERM))?;
    let _ = ulib::sleep(10);
    let p = info(pid)?;
    ensure!(
        p.state() == Some(ProcState::Stopped) && p.sig_pending.has(SIGTERM),
        "stopped child: {} pending {:#x}",
        programs::ps::state_name(&p),
        p.sig_pending.0
    );
    ok("kill(SIGKILL)", ulib::kill(pid, SIGKILL))?;
    expect_signaled(pid, SIGKILL)?;
    guard.done();
    Ok(())
}

/// A zombie takes no signals: `ESRCH`, and its status stays.
fn signal_zombie() -> Res {
    let pid = child(|| 4)?;
    await_state(pid, ProcState::Zombie, None)?;
    for sig in [0, SIGTERM, SIGKILL, SIGSTOP, SIGCONT] {
        expect_err("kill(zombie)", ulib::kill(pid, sig), &[Errno::ESRCH])?;
    }
    expect_code(pid, 4)
}

/// `WCONTINUED` reports a continue once; `WUNTRACED` a stop once.
fn wait_continued() -> Res {
    let pid = spinner()?;
    let guard = Reaper(pid);
    ok("kill(SIGSTOP)", ulib::kill(pid, SIGSTOP))?;
    let (_, s) = ok("waitpid", ulib::waitpid(pid, WUNTRACED))?;
    ensure!(s.stop_signal() == Some(SIGSTOP), "{:#x}", s.0);
    let (p, _) = ok("waitpid", ulib::waitpid(pid, WUNTRACED | WNOHANG))?;
    ensure!(p.is_none(), "the stop was reported twice");
    ok("kill(SIGCONT)", ulib::kill(pid, SIGCONT))?;
    let (_, s) = ok("waitpid", ulib::waitpid(pid, WCONTINUED))?;
    ensure!(s.is_continued(), "after SIGCONT: {:#x}", s.0);
    let (p, _) = ok("waitpid", ulib::waitpid(pid, WCONTINUED | WNOHANG))?;
    ensure!(p.is_none(), "the continue was reported twice");
    ok("kill", ulib::kill(pid, SIGKILL))?;
    expect_signaled(pid, SIGKILL)?;
    guard.done();
    Ok(())
}

/// Writing to a pipe no one reads raises `SIGPIPE`, which ends the writer;
/// ignored, the write fails with `EPIPE`.
fn sigpipe() -> Res {
    let (r, w) = ok("pipe", ulib::pipe())?;
    ok("close", ulib::close(r))?;
    let pid = child(move || {
        let _ = ulib::write(w, b"x");
        3
    })?;
    expect_signaled(pid, SIGPIPE)?;
    let pid = child(move || {
        let _ = ulib::signal(SIGPIPE, Handler::Ignore);
        match ulib::write(w, b"x") {
            Err(Errno::EPIPE) => 0,
            _ => 1,
        }
    })?;
    expect_code(pid, 0)?;
    ok("close", ulib::close(w))
}

/// A signal ends a `sleep` early with `EINTR`, after its handler ran.
fn eintr_sleep() -> Res {
    let pid = child(|| {
        let _ = ulib::signal(SIGUSR1, Handler::Catch(count));
        let t0 = ulib::uptime_ms();
        let r = ulib::sleep(20_000);
        match (r, seen(SIGUSR1), ulib::uptime_ms() - t0 < 10_000) {
            (Err(Errno::EINTR), 1, true) => 0,
            (Err(Errno::EINTR), _, _) => 2,
            _ => 1,
        }
    })?;
    let guard = Reaper(pid);
    await_state(pid, ProcState::Sleeping, Some(SleepReason::Sleep))?;
    ok("kill", ulib::kill(pid, SIGUSR1))?;
    expect_code(pid, 0)?;
    guard.done();
    Ok(())
}

/// A read waiting on a pipe is made again after a handler runs: the data
/// written later arrives, with no `EINTR` in between.
fn restart_read() -> Res {
    let (r, w) = ok("pipe", ulib::pipe())?;
    let pid = child(move || {
        let _ = ulib::signal(SIGUSR1, Handler::Catch(count));
        let mut buf = [0u8; 8];
        match (ulib::read(r, &mut buf), seen(SIGUSR1)) {
            (Ok(4), 1) if &buf[..4] == b"data" => 0,
            (Ok(_), _) => 2,
            (Err(_), _) => 1,
        }
    })?;
    let guard = Reaper(pid);
    await_state(pid, ProcState::Sleeping, Some(SleepReason::Pipe))?;
    ok("kill", ulib::kill(pid, SIGUSR1))?;
    // Asleep in the read again after the handler.
    let _ = ulib::sleep(10);
    await_state(pid, ProcState::Sleeping, Some(SleepReason::Pipe))?;
    ok("write", ulib::write(w, b"data"))?;
    expect_code(pid, 0)?;
    guard.done();
    close_all(&[r, w]);
    Ok(())
}

/// `SIGTSTP` stops by default and `SIGCONT` continues; a caught `SIGTSTP`
/// does not stop; a process stopped asleep sleeps on when continued.
fn stop_signals() -> Res {
    let pid = spinner()?;
    let guard = Reaper(pid);
    ok("kill(SIGTSTP)", ulib::kill(pid, SIGTSTP))?;
    let (_, s) = ok("waitpid", ulib::waitpid(pid, WUNTRACED))?;
    ensure!(s.stop_signal() == Some(SIGTSTP), "{:#x}", s.0);
    ok("kill(SIGCONT)", ulib::kill(pid, SIGCONT))?;
    await_continued(pid)?;
    ok("kill", ulib::kill(pid, SIGKILL))?;
    expect_signaled(pid, SIGKILL)?;
    guard.done();
    let pid = child(|| {
        let _ = ulib::signal(SIGTSTP, Handler::Catch(count));
        let _ = ulib::kill(ulib::getpid(), SIGTSTP);
        i32::from(seen(SIGTSTP) != 1)
    })?;
    expect_code(pid, 0)?;
    let pid = child(|| {
        let _ = ulib::sleep(60_000);
        0
    })?;
    let guard = Reaper(pid);
    await_state(pid, ProcState::Sleeping, Some(SleepReason::Sleep))?;
    ok("kill(SIGSTOP)", ulib::kill(pid, SIGSTOP))?;
    await_state(pid, ProcState::Stopped, None)?;
    ok("kill(SIGCONT)", ulib::kill(pid, SIGCONT))?;
    await_state(pid, ProcState::Sleeping, Some(SleepReason::Sleep))?;
    drop(guard);
    Ok(())
}

/// Process groups: set and read, inherited, signalled as one; the checks.
fn process_groups() -> Res {
    let me = ulib::getpid();
    ok("setpgid(0, 0)", ulib::setpgid(Pid::NONE, Pid::NONE))?;
    let pg = ok("getpgid", ulib::getpgid(Pid::NONE))?;
    ensure!(pg == me, "own group {pg}, want {me}");
    // Children inherit it; two children and a grandchild die as a group.
    let a = spinner()?;
    let b = spinner()?;
    let guards = [Reaper(a), Reaper(b)];
    ensure!(info(a)?.pgid == me, "child's pgid {}", info(a)?.pgid);
    let c = child(|| {
        let _ = ulib::setpgid(Pid::NONE, Pid::NONE);
        loop {
            black_box(0);
        }
    })?;
    let guard_c = Reaper(c);
    let deadline = ulib::uptime_ms() + 2000;
    while info(c)?.pgid != c {
        ensure!(
            ulib::uptime_ms() < deadline,
            "setpgid(0, 0) in the child did not take"
        );
        let _ = ulib::sleep(1);
    }
    ok("setpgid(b, c)", ulib::setpgid(b, c))?;
    ok("kill(group c)", ulib::kill_group(c, SIGTERM))?;
    expect_signaled(b, SIGTERM)?;
    expect_signaled(c, SIGTERM)?;
    let p = info(a)?;
    ensure!(
        p.state() != Some(ProcState::Zombie),
        "a process outside the group died"
    );
    ok("kill", ulib::kill(a, SIGKILL))?;
    expect_signaled(a, SIGKILL)?;
    for g in guards {
        g.done();
    }
    guard_c.done();
    // The checks.
    expect_err(
        "setpgid(no such pid)",
        ulib::setpgid(NO_SUCH_PID, Pid::NONE),
        &[Errno::ESRCH],
    )?;
    expect_err(
        "setpgid(init)",
        ulib::setpgid(Pid::INIT, Pid::NONE),
        &[Errno::ESRCH],
    )?;
    expect_err(
        "setpgid(0, no such group)",
        ulib::setpgid(Pid::NONE, NO_SUCH_PID),
        &[Errno::EPERM],
    )?;
    expect_err(
        "setpgid(negative)",
        raw(nr::SETPGID, &[0, -5i64 as u64]),
        &[Errno::EINVAL],
    )?;
    expect_err(
        "getpgid(no such pid)",
        ulib::getpgid(NO_SUCH_PID),
        &[Errno::ESRCH],
    )?;
    // spawn into a new group, or into a group that does not exist.
    let pid = ok("spawn", ulib::spawn_in("/bin/true", &["true"], Group::New))?;
    let pgid = ulib::getpgid(pid);
    expect_code(pid, 0)?;
    ensure!(
        pgid.is_err() || pgid == Ok(pid),
        "a spawned group leader's pgid {pgid:?}, want {pid}"
    );
    expect_err(
        "spawn(no such group)",
        ulib::spawn_in("/bin/true", &["true"], Group::Join(NO_SUCH_PID)),
        &[Errno::EPERM],
    )?;
    Ok(())
}

/// The console calls: on a pipe `ENOTTY`, on a bad fd `EBADF`, a group
/// that does not exist `EPERM`, unknown mode bits `EINVAL`; a mode set
/// reads back.
fn tty_calls() -> Res {
    // Changing the console from a background group would stop us.
    let _ = ulib::signal(abi::signal::SIGTTOU, Handler::Ignore);
    let (r, w) = ok("pipe", ulib::pipe())?;
    let fg = ok("tcgetpgrp", ulib::tcgetpgrp(0))?;
    expect_err("tcgetpgrp(pipe)", ulib::tcgetpgrp(r), &[Errno::ENOTTY])?;
    expect_err("tcsetpgrp(pipe)", ulib::tcsetpgrp(w, fg), &[Errno::ENOTTY])?;
    expect_err("ttymode(pipe)", ulib::ttymode_get(r), &[Errno::ENOTTY])?;
    expect_err(
        "tcgetpgrp(bad fd)",
        ulib::tcgetpgrp(MAX_FDS as Fd),
        &[Errno::EBADF],
    )?;
    expect_err(
        "tcsetpgrp(no such group)",
        ulib::tcsetpgrp(0, NO_SUCH_PID),
        &[Errno::EPERM],
    )?;
    expect_err(
        "tcsetpgrp(0)",
        raw(nr::TCSETPGRP, &[0, 0]),
        &[Errno::EINVAL],
    )?;
    let old = ok("ttymode", ulib::ttymode_get(0))?;
    expect_err(
        "ttymode(bad bits)",
        ulib::ttymode(0, 0x100),
        &[Errno::EINVAL],
    )?;
    ok("ttymode", ulib::ttymode(0, TTY_CANON | TTY_SIG))?;
    let now = ok("ttymode", ulib::ttymode_get(0))?;
    ensure!(
        now & (TTY_CANON | TTY_ECHO | TTY_SIG) == TTY_CANON | TTY_SIG,
        "mode {now:#x} after setting canonical without echo"
    );
    ok("ttymode", ulib::ttymode(0, old))?;
    ensure!(
        ok("ttymode", ulib::ttymode_get(0))? & TTY_DEFAULT == old & TTY_DEFAULT,
        "the mode did not come back"
    );
    // Our own group may take the console, and give it back.
    let mine = ok("getpgid", ulib::getpgid(Pid::NONE))?;
    ok("tcsetpgrp(own)", ulib::tcsetpgrp(0, mine))?;
    ensure!(
        ulib::tcgetpgrp(0) == Ok(mine),
        "the foreground did not move"
    );
    // A child spawned as a foreground job has the console from the start.
    let pid = ok(
        "spawn(foreground)",
        ulib::spawn_in("/bin/true", &["true"], Group::NewForeground),
    )?;
    let now = ulib::tcgetpgrp(0);
    expect_code(pid, 0)?;
    ensure!(
        now == Ok(pid),
        "the foreground after spawn: {now:?}, want {pid}"
    );
    ok("tcsetpgrp(back)", ulib::tcsetpgrp(0, fg))?;
    close_all(&[r, w]);
    Ok(())
}

/// A process in a background group that reads the console is stopped by
/// `SIGTTIN` (it does not take the input); one that ignores `SIGTTIN`
/// gets `EIO`.
fn background_read() -> Res {
    // This case's own group owns the console while it runs.
    let _ = ulib::signal(abi::signal::SIGTTOU, Handler::Ignore);
    let fg = ok("tcgetpgrp", ulib::tcgetpgrp(0))?;
    ok("setpgid", ulib::setpgid(Pid::NONE, Pid::NONE))?;
    let mine = ulib::getpid();
    ok("tcsetpgrp", ulib::tcsetpgrp(0, mine))?;
    let result = (|| {
        let pid = child(|| {
            let _ = ulib::setpgid(Pid::NONE, Pid::NONE);
            let _ = ulib::read(0, &mut [0u8; 16]);
            3
        })?;
        let guard = Reaper(pid);
        let (_, s) = ok("waitpid", ulib::waitpid(pid, WUNTRACED))?;
        ensure!(
            s.stop_signal() == Some(SIGTTIN),
            "a background reader: {:#x}",
            s.0
        );
        drop(guard);
        let pid = child(|| {
            let _ = ulib::setpgid(Pid::NONE, Pid::NONE);
            let _ = ulib::signal(SIGTTIN, Handler::Ignore);
            match ulib::read(0, &mut [0u8; 16]) {
                Err(Errno::EIO) => 0,
                _ => 1,
            }
        })?;
        expect_code(pid, 0)
    })();
    // Give the console back to whoever had it (if that group still lives).
    let _ = ulib::tcsetpgrp(0, fg);
    result
}
