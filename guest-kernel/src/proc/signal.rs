//! Signals: sending one to a process or a process group, and delivering
//! what is pending on the way back to user mode (its default action, or a
//! handler run on the process's own stack and ended by `sigreturn`).
//! [`abi::signal`] has the numbers, the defaults and the frame.
//!
//! The process API's calls are signals with their default actions, acting
//! when they are sent: `suspend` is `SIGSTOP` (a sleeper stops where it
//! sleeps and stays on its wait list), `resume` is `SIGCONT`, and `kill`'s
//! `SIGKILL` marks the victim and wakes it to die. Every other signal is
//! pending until its target next returns to user mode (a sleeping target
//! is woken for it, and its call ends with `EINTR`), and stays pending
//! while the target blocks it or is stopped.
//!
//! Init ignores every signal it has no handler for: a signal to a group it
//! is in (the console's Ctrl-C) never ends the machine.

use super::Kernel;
use super::life::{exit, target, tell_parent};
pub use super::pending::{ERESTART, refuses};
use super::pending::{deliverable, discarded, handler, make_pending};
use super::sched::{self, make_runnable, wake};
use crate::arch::x86_64::frame::TrapFrame;
use crate::arch::x86_64::switch::{fxrstor, fxsave};
use abi::debug::EventKind;
use abi::proc::{Pid, ProcState, SleepReason, WaitStatus};
use abi::signal::{
    self, Default, RED_ZONE, SIG_DFL, SIG_IGN, SIGCONT, SIGKILL, SIGSEGV, SIGSTOP, SigFrame,
    SigRegs, SigSet, TRAMPOLINE,
};
use abi::sys::USER_END;

/// RFLAGS bits user code may set: the arithmetic flags, TF, DF, AC, ID.
const USER_FLAGS: u64 = 0x0024_0DD5;
/// RFLAGS of user mode: IF and the always-one bit.
const USER_MODE_FLAGS: u64 = 0x202;
/// MXCSR's offset in an `fxsave` area; the bits a CPU without DAZ refuses.
const MXCSR_AT: usize = 24;
const MXCSR_VALID: u32 = 0xFFBF;

/// Sends `sig` (valid) to the live process in `slot`, from `sender`.
pub fn send(k: &mut Kernel, slot: usize, sig: u32, sender: Pid) {
    if sig == SIGCONT || !discarded(k.pcb(slot), sig) {
        k.trace(slot, EventKind::Signal, sig, sender.arg());
    }
    if sig == SIGKILL {
        kill_now(k, slot, SIGKILL);
        return;
    }
    let pc = k.pcb(slot);
    match signal::default_action(sig) {
        Default::Continue => {
            pc.info.sig_pending.0 &= !stop_signals().0;
            continue_now(k, slot);
        }
        Default::Stop => pc.info.sig_pending.0 &= !SigSet::of(SIGCONT).0,
        _ => {}
    }
    let pc = k.pcb(slot);
    if discarded(pc, sig) || pc.info.killed != 0 {
        return;
    }
    let default_stop = handler(pc, sig) == SIG_DFL
        && signal::default_action(sig) == Default::Stop
        && !pc.info.sig_blocked.has(sig);
    let running = k.state(slot) == ProcState::Running;
    if default_stop && !running {
        stop_now(k, slot, sig);
        return;
    }
    make_pending(k, slot, sig);
}

/// `kill(pid, sig)` on one process, from `sender`: the process API's checks
/// (`-ESRCH` for no such process or a zombie, `-EPERM` for init), then
/// the signal (0: the checks only).
pub fn kill(k: &mut Kernel, pid: Pid, sig: u32, sender: Pid) -> i64 {
    match target(k, pid) {
        Ok(slot) => {
            if sig != 0 {
                send(k, slot, sig, sender);
            }
            0
        }
        Err(e) => e,
    }
}

/// Sends `sig` to every member of process group `pgid` but init, from
/// `sender`: `-ESRCH` when the group has no member.
pub fn send_group(k: &mut Kernel, pgid: Pid, sig: u32, sender: Pid) -> i64 {
    let mut found = false;
    for slot in 0..k.procs().hwm {
        let st = k.state(slot);
        let info = &k.pcb(slot).info;
        if info.pgid != pgid || st == ProcState::Unused || st == ProcState::Zombie {
            continue;
        }
        found = true;
        if info.pid != Pid::INIT && sig != 0 {
            send(k, slot, sig, sender);
        }
    }
    if found { 0 } else { -abi::sys::errno::ESRCH }
}

impl Kernel {
    /// Whether a live process (not a zombie) is in group `pgid`.
    pub fn group_alive(&mut self, pgid: Pid) -> bool {
        (0..self.procs().hwm).any(|s| {
            let st = self.state(s);
            self.pcb(s).info.pgid == pgid && st != ProcState::Unused && st != ProcState::Zombie
        })
    }

    /// Whether group `pgid` exists: a process is in it, a zombie not yet
    /// reaped included (so a shell can add the next process of a pipeline
    /// to the group of one that has already ended).
    pub fn group_exists(&mut self, pgid: Pid) -> bool {
        (0..self.procs().hwm)
            .any(|s| self.pcb(s).info.pgid == pgid && self.state(s) != ProcState::Unused)
    }
}

/// The stop signals.
fn stop_signals() -> SigSet {
    SigSet(
        SigSet::of(SIGSTOP).0
            | SigSet::of(signal::SIGTSTP).0
            | SigSet::of(signal::SIGTTIN).0
            | SigSet::of(signal::SIGTTOU).0,
    )
}

/// `SIGKILL`: marks `slot` killed by `sig` and gets it running, to die on
/// its way back to user mode.
fn kill_now(k: &mut Kernel, slot: usize, sig: u32) {
    k.trace(slot, EventKind::Kill, 0, 0);
    let info = &mut k.pcb(slot).info;
    info.killed = sig;
    // Pending as well, so the one look on the way to user mode sees it.
    info.sig_pending.0 |= SigSet::of(SIGKILL).0;
    match k.state(slot) {
        ProcState::Sleeping => wake(k, slot),
        ProcState::Stopped => {
            // Off any wait list it was stopped on, then let it run to die.
            sched::leave_wait_list(k, slot);
            k.pcb(slot).stopped_sleep = SleepReason::None;
            make_runnable(k, slot);
        }
        _ => {}
    }
}

/// Stops `slot`, which is not running, for `sig`. A sleeper is stopped at
/// once and stays on its wait list; if its event comes meanwhile, it is
/// runnable when continued, else asleep again. Its parent hears of it.
fn stop_now(k: &mut Kernel, slot: usize, sig: u32) {
    if k.state(slot) == ProcState::Stopped {
        return;
    }
    k.trace(slot, EventKind::Suspend, sig, 0);
    let pc = k.pcb(slot);
    pc.stop_sig = sig as u8;
    pc.cont_unreported = false;
    match k.state(slot) {
        ProcState::Runnable => {
            let (p, mut run) = k.run_lists();
            p.runq.remove(&mut run, slot);
            k.set_state(slot, ProcState::Stopped, SleepReason::None);
        }
        ProcState::Sleeping => {
            let reason = SleepReason::from_raw(k.pcb(slot).info.reason).unwrap_or(SleepReason::Io);
            k.pcb(slot).stopped_sleep = reason;
            k.set_state(slot, ProcState::Stopped, SleepReason::None);
        }
        _ => {}
    }
    tell_parent(k, slot);
}

/// Stops the running process for `sig` and runs something else; returns
/// when it is continued.
fn stop_self(k: &mut Kernel, sig: u32) {
    let me = k.current();
    k.trace(me, EventKind::Suspend, sig, 0);
    let pc = k.pcb(me);
    pc.stop_sig = sig as u8;
    pc.cont_unreported = false;
    pc.info.voluntary_switches += 1;
    k.set_state(me, ProcState::Stopped, SleepReason::None);
    tell_parent(k, me);
    sched::schedule(k);
}

/// `SIGCONT`: a stopped `slot` runs again (or sleeps again, if it was
/// stopped asleep and its event has not come); its parent hears of it.
fn continue_now(k: &mut Kernel, slot: usize) {
    k.pcb(slot).stop_sig = 0;
    if k.state(slot) != ProcState::Stopped {
        return;
    }
    k.trace(slot, EventKind::Resume, 0, 0);
    k.pcb(slot).cont_unreported = true;
    match core::mem::replace(&mut k.pcb(slot).stopped_sleep, SleepReason::None) {
        SleepReason::None => make_runnable(k, slot),
        // Still waiting for its event, on its wait list: asleep again.
        reason => k.set_state(slot, ProcState::Sleeping, reason),
    }
    tell_parent(k, slot);
}

/// Runs before every return to ring 3: a killed process dies; otherwise the
/// pending signals it does not block are delivered, lowest first: their
/// default actions (end, stop, nothing), or one handler. The common case,
/// nothing to do, is one look at the PCB.
#[inline(always)]
pub fn before_user_return(k: &mut Kernel, tf: &mut TrapFrame) {
    // A killed process has SIGKILL pending too (never blocked).
    let pc = k.me();
    if pc.info.sig_pending.0 & !pc.info.sig_blocked.0 != 0 {
        deliver(k, tf);
    }
}

/// [`before_user_return`] with something to do.
#[inline(never)]
fn deliver(k: &mut Kernel, tf: &mut TrapFrame) {
    loop {
        let killed = k.me().info.killed;
        if killed != 0 {
            exit(k, WaitStatus::signaled(killed));
        }
        let Some(sig) = deliverable(k.me()).lowest() else {
            return;
        };
        k.me().info.sig_pending.0 &= !SigSet::of(sig).0;
        let pc = k.me();
        match handler(pc, sig) {
            SIG_IGN => {}
            SIG_DFL if pc.info.pid == Pid::INIT => {}
            SIG_DFL => match signal::default_action(sig) {
                Default::Terminate => exit(k, WaitStatus::signaled(sig)),
                Default::Stop => stop_self(k, sig),
                Default::Continue | Default::Ignore => {}
            },
            at => {
                if !run_handler(k, tf, sig, at) {
                    // No room for the frame: the process cannot take the
                    // signal, and ends as Linux ends it then.
                    bad_frame(
                        k,
                        format_args!(
                            "no room on its stack (rsp {:#x}) for the {} handler's frame",
                            tf.rsp,
                            signal::Name(sig)
                        ),
                    );
                }
                return;
            }
        }
    }
}

/// Ends the current process for a signal frame it cannot use, with one
/// line saying why (as a fault does), by `SIGSEGV`.
pub fn bad_frame(k: &mut Kernel, why: core::fmt::Arguments) -> ! {
    let info = &k.me().info;
    println!("pid {} ({}): {why}: killed", info.pid, info.name());
    exit(k, WaitStatus::signaled(SIGSEGV))
}

/// Makes the process enter handler `at` for `sig` on its return: pushes a
/// [`SigFrame`] below the red zone and the trampoline's address below it.
/// False when the stack cannot take the frame.
fn run_handler(k: &mut Kernel, tf: &mut TrapFrame, sig: u32, at: u64) -> bool {
    let size = core::mem::size_of::<SigFrame>() as u64;
    let Some(frame_at) = tf
        .rsp
        .checked_sub(RED_ZONE + size)
        .map(|a| a & !15)
        .filter(|&a| a >= 8)
    else {
        return false;
    };
    let ret_at = frame_at - 8;
    let me = k.current();
    // The FPU holds this process's state (it is running): save it in the
    // PCB, then copy it out.
    fxsave(&mut k.pcb(me).fx);
    let pc = k.pcb(me);
    let frame = SigFrame {
        fx: pc.fx.0,
        regs: SigRegs {
            r15: tf.r15,
            r14: tf.r14,
            r13: tf.r13,
            r12: tf.r12,
            r11: tf.r11,
            r10: tf.r10,
            r9: tf.r9,
            r8: tf.r8,
            rbp: tf.rbp,
            rdi: tf.rdi,
            rsi: tf.rsi,
            rdx: tf.rdx,
            rcx: tf.rcx,
            rbx: tf.rbx,
            rax: tf.rax,
            rip: tf.rip,
            rflags: tf.rflags,
            rsp: tf.rsp,
        },
        sig,
        mask: pc.info.sig_blocked,
    };
    let Some(space) = pc.space.as_mut() else {
        return false;
    };
    // SAFETY: SigFrame is plain data; its bytes are what goes on the stack.
    let bytes =
        unsafe { core::slice::from_raw_parts((&raw const frame).cast::<u8>(), size as usize) };
    if !space.check(ret_at, size + 8, true)
        || !space.write(frame_at, bytes)
        || !space.write(ret_at, &TRAMPOLINE.to_le_bytes())
    {
        return false;
    }
    k.trace(me, EventKind::Handle, sig, at);
    let pc = k.pcb(me);
    pc.info.sig_blocked.0 |= SigSet::of(sig).maskable().0;
    tf.rip = at;
    tf.rsp = ret_at;
    tf.rdi = u64::from(sig);
    // The handler starts with a clean direction flag and no single-step.
    tf.rflags &= !(0x100 | 0x400);
    true
}

/// `sigreturn(frame)`: restores the registers, FPU state and mask a handler
/// interrupted, from the frame the trampoline names. Only what user code
/// may hold is taken: the kernel keeps the segments, IF and IOPL, and a
/// frame that would return outside user space ends the process (`SIGSEGV`),
/// as does one the process cannot read. Returns the restored `rax` (the
/// dispatcher puts a call's result there).
pub fn sigreturn(k: &mut Kernel, tf: &mut TrapFrame, frame: SigFrame) -> i64 {
    let r = &frame.regs;
    if r.rip >= USER_END || r.rsp >= USER_END {
        bad_frame(
            k,
            format_args!(
                "sigreturn to rip {:#x}, rsp {:#x}: outside user space",
                r.rip, r.rsp
            ),
        );
    }
    let me = k.current();
    let pc = k.pcb(me);
    pc.fx.0 = frame.fx;
    let mxcsr = u32::from_le_bytes(
        pc.fx.0[MXCSR_AT..MXCSR_AT + 4]
            .try_into()
            .unwrap_or_default(),
    );
    pc.fx.0[MXCSR_AT..MXCSR_AT + 4].copy_from_slice(&(mxcsr & MXCSR_VALID).to_le_bytes());
    // This process owns the FPU (it is running): load the state now.
    fxrstor(&pc.fx);
    pc.info.sig_blocked = frame.mask.maskable();
    tf.r15 = r.r15;
    tf.r14 = r.r14;
    tf.r13 = r.r13;
    tf.r12 = r.r12;
    tf.r11 = r.r11;
    tf.r10 = r.r10;
    tf.r9 = r.r9;
    tf.r8 = r.r8;
    tf.rbp = r.rbp;
    tf.rdi = r.rdi;
    tf.rsi = r.rsi;
    tf.rdx = r.rdx;
    tf.rcx = r.rcx;
    tf.rbx = r.rbx;
    tf.rip = r.rip;
    tf.rsp = r.rsp;
    tf.rflags = (r.rflags & USER_FLAGS) | USER_MODE_FLAGS;
    r.rax as i64
}

/// `signal(sig, handler)`: the old handler, or `-EINVAL` for a signal that
/// cannot be caught or a handler outside user space.
pub fn set_handler(k: &mut Kernel, sig: u32, at: u64) -> i64 {
    if !signal::catchable(sig) || (at >= USER_END) {
        return -abi::sys::errno::EINVAL;
    }
    let pc = k.me();
    let old = core::mem::replace(&mut pc.sig_handlers[sig as usize], at);
    let bit = SigSet::of(sig).0;
    if at > SIG_IGN {
        pc.info.sig_caught.0 |= bit;
    } else {
        pc.info.sig_caught.0 &= !bit;
    }
    if at == SIG_DFL {
        pc.sig_set.0 &= !bit;
    } else {
        pc.sig_set.0 |= bit;
    }
    // Ignoring a signal drops it if pending, as POSIX says.
    if discarded(pc, sig) {
        pc.info.sig_pending.0 &= !bit;
    }
    old as i64
}
