//! The process lifecycle: a PCB's creation (fork, and the slot that the
//! first process and spawn take), exit, wait, kill and suspend/resume.

use super::sched::{self, make_runnable, wake};
use super::{Kernel, Pcb, pending};
use crate::arch::x86_64::frame::TrapFrame;
use crate::arch::x86_64::switch::{self, fxsave};
use crate::arch::x86_64::{cpu, gdt, trap};
use crate::dev::poweroff;
use crate::mm::kstack;
use crate::mm::uvm;
use abi::debug::EventKind;
use abi::exit::ExitRequest;
use abi::proc::{Pid, ProcState, SleepReason, WaitStatus};
use abi::sys::errno::*;
use abi::sys::{WCONTINUED, WNOHANG, WUNTRACED};

/// RFLAGS of a new process: IF and the always-one bit.
pub(super) const USER_RFLAGS: u64 = 0x202;

/// Takes a free slot, maps its kernel stack and makes it an Embryo child
/// of `parent` whose first switch enters user mode through `trap_return`
/// with the (zeroed) trap frame. `-EAGAIN` when the table is full.
pub(super) fn alloc_proc(k: &mut Kernel, parent: Option<usize>, name: &str) -> Result<usize, i64> {
    let (p, mut run) = k.run_lists();
    let slot = match p.free.pop_front(&mut run) {
        Some(s) => s,
        None if p.hwm < p.cap => {
            p.hwm += 1;
            p.hwm - 1
        }
        None => return Err(-EAGAIN),
    };
    let cap = p.cap;
    let Some(top) = kstack::alloc(uvm::kernel_pml4(), slot) else {
        let (p, mut run) = k.run_lists();
        p.free.push_back(&mut run, slot);
        return Err(-ENOMEM);
    };
    let ppid = parent.map_or(Pid::NONE, |s| k.pcb(s).info.pid);
    let pgid = parent.map(|s| k.pcb(s).info.pgid);
    let pc = k.pcb(slot);
    pc.kstack = top;
    pc.info.pid = logic::proc::pid::make(pc.generation, slot, cap);
    pc.info.ppid = ppid;
    // A child is in its parent's process group; the first process leads
    // its own.
    pc.info.pgid = pgid.unwrap_or(pc.info.pid);
    pc.info.start_tick = crate::time::ticks();
    pc.info.set_name(name);
    pc.fx.set_default();
    (pc.fs_base, pc.gs_base) = (0, 0);
    let tf = k.trap_frame(slot);
    // SAFETY: the frame lies inside the freshly mapped stack.
    unsafe {
        core::ptr::write_bytes(
            tf as *mut TrapFrame as *mut u8,
            0,
            core::mem::size_of::<TrapFrame>(),
        )
    };
    tf.cs = u64::from(gdt::USER_CS);
    tf.ss = u64::from(gdt::USER_DS);
    tf.rflags = USER_RFLAGS;
    // The first switch "returns" into trap_return with rsp at the frame.
    let ret = (tf as *mut TrapFrame as u64) - 8;
    // SAFETY: just below the frame, inside the stack.
    unsafe { (ret as *mut u64).write(trap::trap_return as *const () as u64) };
    k.pcb(slot).ctx = switch::Context {
        rsp: ret,
        ..Default::default()
    };
    k.trace(slot, EventKind::Create, 0, ppid.arg());
    k.set_state(slot, ProcState::Embryo, SleepReason::None);
    if let Some(par) = parent {
        let mut kids = k.pcb(par).kids;
        kids.push_back(&mut k.sib(), slot);
        k.pcb(par).kids = kids;
    }
    Ok(slot)
}

/// Returns an Embryo or reaped Zombie's slot to the free list: frees its
/// kernel stack, clears the PCB, bumps the generation.
fn free_slot(k: &mut Kernel, slot: usize) {
    kstack::free(uvm::kernel_pml4(), slot);
    let generation = k.pcb(slot).generation.wrapping_add(1);
    let (pid, old) = (k.pcb(slot).info.pid, k.pcb(slot).info.state);
    // The clearing is the state change to Unused: inside the debug port's
    // generation bracket (the VMM never sees a half-cleared PCB as valid),
    // and traced with the pid it had.
    crate::dev::debugport::begin_change();
    // SAFETY: the PCB is unreferenced now; all-zero is a valid Unused PCB.
    unsafe {
        cpu::zero_bytes(
            k.pcb(slot) as *mut super::Pcb as *mut u8,
            core::mem::size_of::<super::Pcb>(),
        )
    };
    k.pcb(slot).generation = generation;
    crate::dev::debugport::end_change();
    crate::dev::debugport::emit(EventKind::State, pid, old, ProcState::Unused as u32, 0, 0);
    let (p, mut run) = k.run_lists();
    p.free.push_back(&mut run, slot);
}

/// Undoes alloc_proc for a child that never ran.
pub(super) fn abandon(k: &mut Kernel, parent: usize, slot: usize) {
    let mut kids = k.pcb(parent).kids;
    kids.remove(&mut k.sib(), slot);
    k.pcb(parent).kids = kids;
    k.drop_files(slot);
    k.pcb(slot).space = None;
    free_slot(k, slot);
}

/// `fork`: a copy of the current process; 0 in the child.
pub fn fork(k: &mut Kernel, tf: &TrapFrame) -> i64 {
    let me = k.current();
    let name = k.pcb(me).info;
    let slot = match alloc_proc(k, Some(me), name.name()) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let Some(space) = k.pcb(me).space.as_ref().and_then(|s| s.duplicate()) else {
        abandon(k, me, slot);
        return -ENOMEM;
    };
    k.set_space(slot, space);
    inherit(k, me, slot, true);
    fxsave(&mut k.pcb(slot).fx);
    (k.pcb(slot).fs_base, k.pcb(slot).gs_base) = cpu::user_bases();
    let child_tf = k.trap_frame(slot);
    *child_tf = *tf;
    child_tf.rax = 0;
    make_runnable(k, slot);
    i64::from(k.pcb(slot).info.pid.get())
}

/// What a child takes from its parent: copies of the open files (for a
/// spawn, not those marked close-on-exec) and the working directory, and
/// with `signals` (fork) the signal handlers and mask (but no pending
/// signal).
/// A new PCB's handlers are all `SIG_DFL` and its mask empty already.
pub(super) fn inherit(k: &mut Kernel, parent: usize, child: usize, signals: bool) {
    k.inherit_files(parent, child, !signals);
    if !signals {
        return;
    }
    let p = k.pcb(parent);
    let (set, blocked, caught) = (p.sig_set, p.info.sig_blocked, p.info.sig_caught);
    if set.0 != 0 {
        let handlers = p.sig_handlers;
        k.pcb(child).sig_handlers = handlers;
    }
    let c = k.pcb(child);
    c.sig_set = set;
    c.info.sig_blocked = blocked;
    c.info.sig_caught = caught;
}

/// Ends the current process with `status`: closes its files, frees its
/// memory, hands its children to init, becomes a Zombie for its parent.
/// When init ends, the machine powers off.
pub fn exit(k: &mut Kernel, status: WaitStatus) -> ! {
    let me = k.current();
    if k.pcb(me).info.pid == Pid::INIT {
        if status.code().is_none() {
            println!("init ended: {}", status.describe());
        }
        let code = status.shell_code();
        poweroff::exit(ExitRequest::PowerOff(code));
    }
    k.drop_files(me);
    let kernel = uvm::kernel_pml4().0;
    let p = k.procs();
    if p.cr3 != kernel {
        // SAFETY: the kernel PML4 maps the kernel half (and this stack).
        unsafe { switch::write_cr3(kernel) };
        p.cr3 = kernel;
    }
    if p.fpu_owner == Some(me) {
        p.fpu_owner = None;
    }
    k.pcb(me).space = None;
    // Children go to init (slot 0 holds pid 1 for good).
    let init = 0;
    let mut kids = k.pcb(me).kids;
    let mut init_kids = k.pcb(init).kids;
    let mut init_zombies = k.pcb(init).zombies;
    let mut zombies = k.pcb(me).zombies;
    let mut orphaned_zombie = false;
    while let Some(kid) = kids.pop_front(&mut k.sib()) {
        k.pcb(kid).info.ppid = Pid::INIT;
        init_kids.push_back(&mut k.sib(), kid);
        if k.state(kid) == ProcState::Zombie {
            zombies.remove(&mut k.run(), kid);
            init_zombies.push_back(&mut k.run(), kid);
            orphaned_zombie = true;
        }
    }
    k.pcb(me).kids = kids;
    k.pcb(me).zombies = zombies;
    k.pcb(init).kids = init_kids;
    k.pcb(init).zombies = init_zombies;
    if orphaned_zombie && is_waiting(k, init) {
        wake(k, init);
    }
    k.trace(me, EventKind::Exit, 0, status.0 as u32 as u64);
    let pc = k.pcb(me);
    pc.info.exit_status = status.0;
    pc.info.mem_bytes = 0;
    let ppid = pc.info.ppid;
    k.set_state(me, ProcState::Zombie, SleepReason::None);
    if let Some(parent) = k.lookup(ppid) {
        let mut z = k.pcb(parent).zombies;
        z.push_back(&mut k.run(), me);
        k.pcb(parent).zombies = z;
        tell_parent(k, me);
    }
    sched::schedule(k);
    unreachable!("a zombie ran again");
}

/// Tells the parent of `slot` that it stopped, continued or ended: a
/// waiting parent is woken, and the parent gets `SIGCHLD`.
pub fn tell_parent(k: &mut Kernel, slot: usize) {
    let ppid = k.pcb(slot).info.ppid;
    let Some(parent) = k.lookup(ppid) else {
        return;
    };
    if is_waiting(k, parent) {
        wake(k, parent);
    }
    let pid = k.pcb(slot).info.pid;
    if k.state(parent) != ProcState::Zombie {
        pending::child_changed(k, parent, pid);
    }
}

/// Whether `slot` sleeps in `waitpid`, or was suspended there (then
/// [`wake`] ends its wait: it stays Stopped, and `resume` makes it
/// runnable, so it finds the zombie; without the wake it went back to
/// sleep on resume, with no one left to wake it).
pub(super) fn is_waiting(k: &mut Kernel, slot: usize) -> bool {
    match k.state(slot) {
        ProcState::Sleeping => k.pcb(slot).info.reason == SleepReason::Wait as u32,
        ProcState::Stopped => k.pcb(slot).stopped_sleep == SleepReason::Wait,
        _ => false,
    }
}

/// Frees a zombie child of `parent`: returns its pid and status.
fn reap(k: &mut Kernel, parent: usize, child: usize) -> (Pid, i32) {
    let (pid, status) = (k.pcb(child).info.pid, k.pcb(child).info.exit_status);
    let mut z = k.pcb(parent).zombies;
    z.remove(&mut k.run(), child);
    k.pcb(parent).zombies = z;
    let mut kids = k.pcb(parent).kids;
    kids.remove(&mut k.sib(), child);
    k.pcb(parent).kids = kids;
    free_slot(k, child);
    (pid, status)
}

/// Whose end `waitpid` waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// Any child.
    Any,
    /// This child.
    Child(Pid),
    /// Any child in this process group.
    Group(Pid),
}

/// `waitpid(who, flags)`: a child's pid, with its wait status handed to
/// `status` first; 0 for nothing yet with `WNOHANG`; or a negative errno
/// (`ECHILD`: no such child).
pub fn waitpid(k: &mut Kernel, who: Who, flags: u64, status: impl FnOnce(i32)) -> i64 {
    let me = k.current();
    let my_pid = k.pcb(me).info.pid;
    let untraced = flags & WUNTRACED != 0;
    let continued = flags & WCONTINUED != 0;
    loop {
        let (found, stopped) = match who {
            Who::Child(pid) => match k.lookup(pid) {
                Some(c) if k.pcb(c).info.ppid == my_pid => (
                    (k.state(c) == ProcState::Zombie).then_some(c),
                    news(k.pcb(c), untraced, continued).then_some(c),
                ),
                _ => return -ECHILD,
            },
            Who::Any => {
                if k.pcb(me).kids.is_empty() {
                    return -ECHILD;
                }
                let stopped = first_news(k, me, untraced, continued, None);
                (k.pcb(me).zombies.front(), stopped)
            }
            Who::Group(pgid) => {
                if first_kid(k, me, |pc| pc.info.pgid == pgid).is_none() {
                    return -ECHILD;
                }
                let zombie = first_kid(k, me, |pc| {
                    pc.info.pgid == pgid && pc.info.state == ProcState::Zombie as u32
                });
                (zombie, first_news(k, me, untraced, continued, Some(pgid)))
            }
        };
        let report = match (found, stopped) {
            (Some(c), _) => Some(reap(k, me, c)),
            (None, Some(c)) => {
                let pc = k.pcb(c);
                let status = if untraced && pc.stop_sig != 0 {
                    WaitStatus::stopped(u32::from(core::mem::take(&mut pc.stop_sig)))
                } else {
                    pc.cont_unreported = false;
                    WaitStatus::continued()
                };
                Some((pc.info.pid, status.0))
            }
            (None, None) => None,
        };
        if let Some((cpid, st)) = report {
            status(st);
            return i64::from(cpid.get());
        }
        if flags & WNOHANG != 0 {
            return 0;
        }
        if k.interrupted() {
            return -pending::ERESTART;
        }
        sched::sleep(k, SleepReason::Wait, core::ptr::null_mut());
    }
}

/// The first child of `parent` (live or zombie) for which `want` holds.
fn first_kid(k: &mut Kernel, parent: usize, want: impl Fn(&Pcb) -> bool) -> Option<usize> {
    let kids = k.pcb(parent).kids;
    let mut at = kids.front();
    while let Some(kid) = at {
        if want(k.pcb(kid)) {
            return Some(kid);
        }
        at = kids.next(&mut k.sib(), kid);
    }
    None
}

/// Whether `pcb` has a stop (with `untraced`) or a continue (with
/// `continued`) no `waitpid` has reported yet.
fn news(pcb: &Pcb, untraced: bool, continued: bool) -> bool {
    (untraced && pcb.stop_sig != 0) || (continued && pcb.cont_unreported)
}

/// A child of `parent` (in group `pgid`, if given) with news for
/// `waitpid` (see [`news`]).
fn first_news(
    k: &mut Kernel,
    parent: usize,
    untraced: bool,
    continued: bool,
    pgid: Option<Pid>,
) -> Option<usize> {
    if !untraced && !continued {
        return None;
    }
    first_kid(k, parent, |pc| {
        news(pc, untraced, continued) && pgid.is_none_or(|g| pc.info.pgid == g)
    })
}

/// The slot of a pid the process API may act on: ESRCH if missing (or a
/// zombie), EPERM for init.
pub fn target(k: &mut Kernel, pid: Pid) -> Result<usize, i64> {
    let slot = k.lookup(pid).ok_or(-ESRCH)?;
    if k.state(slot) == ProcState::Zombie {
        return Err(-ESRCH);
    }
    if pid == Pid::INIT {
        return Err(-EPERM);
    }
    Ok(slot)
}
