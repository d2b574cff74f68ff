//! The process lifecycle: a PCB's creation (fork, and the slot that the
//! first process and spawn take), exit, wait, kill and suspend/resume.

use super::sched::{self, Sched, make_runnable, wake};
use super::{Run, Sib, current, lookup, pcb, procs, set_space, set_state, state, trap_frame};
use crate::arch::x86_64::frame::TrapFrame;
use crate::arch::x86_64::switch::{self, fxsave};
use crate::arch::x86_64::{cpu, gdt, trap};
use crate::dev::poweroff;
use crate::fs::file::File;
use crate::mm::kstack;
use crate::mm::uvm;
use abi::debug::EventKind;
use abi::exit::ExitRequest;
use abi::proc::{Cause, ProcState, SleepReason, WaitStatus};
use abi::sys::errno::*;
use abi::sys::{WNOHANG, WUNTRACED};

/// RFLAGS of a new process: IF and the always-one bit.
pub(super) const USER_RFLAGS: u64 = 0x202;

/// Takes a free slot, maps its kernel stack and makes it an Embryo child
/// of `parent` whose first switch enters user mode through `trap_return`
/// with the (zeroed) trap frame. `-EAGAIN` when the table is full.
pub(super) fn alloc_proc(parent: Option<usize>, name: &str) -> Result<usize, i64> {
    let p = procs();
    let slot = match p.free.pop_front(&mut Run) {
        Some(s) => s,
        None if p.hwm < p.cap => {
            p.hwm += 1;
            p.hwm - 1
        }
        None => return Err(-EAGAIN),
    };
    let Some(top) = kstack::alloc(uvm::kernel_pml4(), slot) else {
        p.free.push_back(&mut Run, slot);
        return Err(-ENOMEM);
    };
    let pc = pcb(slot);
    pc.kstack = top;
    pc.info.pid = logic::proc::pid::make(pc.generation, slot, p.cap);
    pc.info.ppid = parent.map_or(0, |s| pcb(s).info.pid);
    pc.info.start_tick = crate::time::ticks();
    pc.info.set_name(name);
    pc.fx.set_default();
    (pc.fs_base, pc.gs_base) = (0, 0);
    let tf = trap_frame(slot);
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
    pc.ctx = switch::Context {
        rsp: ret,
        ..Default::default()
    };
    super::trace(slot, EventKind::Create, 0, u64::from(pcb(slot).info.ppid));
    set_state(slot, ProcState::Embryo, SleepReason::None);
    if let Some(par) = parent {
        let mut kids = pcb(par).kids;
        kids.push_back(&mut Sib, slot);
        pcb(par).kids = kids;
    }
    Ok(slot)
}

/// Returns an Embryo or reaped Zombie's slot to the free list: frees its
/// kernel stack, clears the PCB, bumps the generation.
fn free_slot(slot: usize) {
    kstack::free(uvm::kernel_pml4(), slot);
    let generation = pcb(slot).generation.wrapping_add(1);
    let (pid, old) = (pcb(slot).info.pid, pcb(slot).info.state);
    // The clearing is the state change to Unused: inside the debug port's
    // generation bracket (the VMM never sees a half-cleared PCB as valid),
    // and traced with the pid it had.
    crate::dev::debugport::begin_change();
    // SAFETY: the PCB is unreferenced now; all-zero is a valid Unused PCB.
    unsafe {
        cpu::zero_bytes(
            pcb(slot) as *mut super::Pcb as *mut u8,
            core::mem::size_of::<super::Pcb>(),
        )
    };
    pcb(slot).generation = generation;
    crate::dev::debugport::end_change();
    crate::dev::debugport::emit(EventKind::State, pid, old, ProcState::Unused as u32, 0, 0);
    procs().free.push_back(&mut Run, slot);
}

/// Undoes alloc_proc for a child that never ran.
pub(super) fn abandon(parent: usize, slot: usize) {
    let mut kids = pcb(parent).kids;
    kids.remove(&mut Sib, slot);
    pcb(parent).kids = kids;
    for f in core::mem::replace(&mut pcb(slot).fds, [File::CLOSED; abi::sys::MAX_FDS]) {
        f.close(&mut Sched);
    }
    pcb(slot).space = None;
    free_slot(slot);
}

/// `fork`: a copy of the current process; 0 in the child.
pub fn fork(tf: &TrapFrame) -> i64 {
    let me = current();
    let name = pcb(me).info;
    let slot = match alloc_proc(Some(me), name.name()) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let Some(space) = pcb(me).space.as_ref().and_then(|s| s.duplicate()) else {
        abandon(me, slot);
        return -ENOMEM;
    };
    set_space(slot, space);
    for i in 0..abi::sys::MAX_FDS {
        pcb(slot).fds[i] = pcb(me).fds[i].dup();
    }
    fxsave(&mut pcb(slot).fx);
    (pcb(slot).fs_base, pcb(slot).gs_base) = cpu::user_bases();
    let child_tf = trap_frame(slot);
    *child_tf = *tf;
    child_tf.rax = 0;
    make_runnable(slot);
    i64::from(pcb(slot).info.pid)
}

/// Ends the current process with `status`: closes its files, frees its
/// memory, hands its children to init, becomes a Zombie for its parent.
/// When init ends, the machine powers off.
pub fn exit(status: WaitStatus) -> ! {
    let me = current();
    let p = procs();
    let pc = pcb(me);
    if pc.info.pid == 1 {
        let code = match status.code() {
            Some(c) => c,
            None => {
                println!("init ended: {}", status.cause().describe());
                128 + status.cause() as u8
            }
        };
        poweroff::exit(ExitRequest::PowerOff(code));
    }
    for f in core::mem::replace(&mut pc.fds, [File::CLOSED; abi::sys::MAX_FDS]) {
        f.close(&mut Sched);
    }
    let kernel = uvm::kernel_pml4().0;
    if p.cr3 != kernel {
        // SAFETY: the kernel PML4 maps the kernel half (and this stack).
        unsafe { switch::write_cr3(kernel) };
        p.cr3 = kernel;
    }
    pcb(me).space = None;
    if p.fpu_owner == Some(me) {
        p.fpu_owner = None;
    }
    // Children go to init (slot 0 holds pid 1 for good).
    let init = 0;
    let mut kids = pcb(me).kids;
    let mut init_kids = pcb(init).kids;
    let mut init_zombies = pcb(init).zombies;
    let mut zombies = pcb(me).zombies;
    let mut orphaned_zombie = false;
    while let Some(k) = kids.pop_front(&mut Sib) {
        pcb(k).info.ppid = 1;
        init_kids.push_back(&mut Sib, k);
        if state(k) == ProcState::Zombie {
            zombies.remove(&mut Run, k);
            init_zombies.push_back(&mut Run, k);
            orphaned_zombie = true;
        }
    }
    pcb(me).kids = kids;
    pcb(me).zombies = zombies;
    pcb(init).kids = init_kids;
    pcb(init).zombies = init_zombies;
    if orphaned_zombie && is_waiting(init) {
        wake(init);
    }
    super::trace(me, EventKind::Exit, 0, status.0 as u32 as u64);
    let pc = pcb(me);
    pc.info.exit_status = status.0;
    pc.info.mem_bytes = 0;
    set_state(me, ProcState::Zombie, SleepReason::None);
    if let Some(parent) = lookup(i64::from(pc.info.ppid)) {
        let mut z = pcb(parent).zombies;
        z.push_back(&mut Run, me);
        pcb(parent).zombies = z;
        if is_waiting(parent) {
            wake(parent);
        }
    }
    sched::schedule();
    unreachable!("a zombie ran again");
}

/// Whether `slot` sleeps in `waitpid`, or was suspended there (then
/// [`wake`] ends its wait: it stays Stopped, and `resume` makes it
/// runnable, so it finds the zombie; without the wake it went back to
/// sleep on resume, with no one left to wake it).
fn is_waiting(slot: usize) -> bool {
    match state(slot) {
        ProcState::Sleeping => pcb(slot).info.reason == SleepReason::Wait as u32,
        ProcState::Stopped => pcb(slot).stopped_sleep == SleepReason::Wait,
        _ => false,
    }
}

/// Frees a zombie child of `parent`: returns its pid and status.
fn reap(parent: usize, child: usize) -> (u32, i32) {
    let (pid, status) = (pcb(child).info.pid, pcb(child).info.exit_status);
    let mut z = pcb(parent).zombies;
    z.remove(&mut Run, child);
    pcb(parent).zombies = z;
    let mut k = pcb(parent).kids;
    k.remove(&mut Sib, child);
    pcb(parent).kids = k;
    free_slot(child);
    (pid, status)
}

/// `waitpid(pid or -1, flags)`: a child's pid, with its wait status handed
/// to `status` first; 0 for nothing yet with `WNOHANG`; or a negative
/// errno.
pub fn waitpid(pid: i64, flags: u64, status: impl FnOnce(i32)) -> i64 {
    let me = current();
    if pid == 0 || pid < -1 {
        return -EINVAL;
    }
    let untraced = flags & WUNTRACED != 0;
    loop {
        let (found, stopped) = if pid == -1 {
            if pcb(me).kids.is_empty() {
                return -ECHILD;
            }
            let stopped = untraced.then(|| first_unreported_stop(me)).flatten();
            (pcb(me).zombies.front(), stopped)
        } else {
            match lookup(pid) {
                Some(c) if pcb(c).info.ppid == pcb(me).info.pid => (
                    (state(c) == ProcState::Zombie).then_some(c),
                    (untraced && pcb(c).stop_unreported).then_some(c),
                ),
                _ => return -ECHILD,
            }
        };
        let report = match (found, stopped) {
            (Some(c), _) => Some(reap(me, c)),
            (None, Some(c)) => {
                pcb(c).stop_unreported = false;
                Some((pcb(c).info.pid, WaitStatus::stopped().0))
            }
            (None, None) => None,
        };
        if let Some((cpid, st)) = report {
            status(st);
            return i64::from(cpid);
        }
        if flags & WNOHANG != 0 {
            return 0;
        }
        if pcb(me).info.killed != 0 {
            return -ECHILD;
        }
        sched::sleep(SleepReason::Wait, core::ptr::null_mut());
    }
}

/// A child of `parent` whose stop no `waitpid` has reported yet.
fn first_unreported_stop(parent: usize) -> Option<usize> {
    let kids = pcb(parent).kids;
    let mut at = kids.front();
    while let Some(k) = at {
        if pcb(k).stop_unreported {
            return Some(k);
        }
        at = kids.next(&mut Sib, k);
    }
    None
}

/// The slot of a pid the process API may act on: EINVAL for `pid <= 0`,
/// ESRCH if missing (or a zombie), EPERM for init.
pub fn target(pid: i64) -> Result<usize, i64> {
    if pid <= 0 {
        return Err(-EINVAL);
    }
    let slot = lookup(pid).ok_or(-ESRCH)?;
    if state(slot) == ProcState::Zombie {
        return Err(-ESRCH);
    }
    if pid == 1 {
        return Err(-EPERM);
    }
    Ok(slot)
}

/// `kill(pid)`: marks it killed; a sleeping or stopped victim is woken so
/// it dies at once (on its way back to user mode).
pub fn kill(pid: i64) -> i64 {
    let slot = match target(pid) {
        Ok(s) => s,
        Err(e) => return e,
    };
    super::trace(slot, EventKind::Kill, 0, 0);
    let pc = pcb(slot);
    pc.info.killed = 1;
    match state(slot) {
        ProcState::Sleeping => wake(slot),
        ProcState::Stopped => {
            // Off any wait list it was suspended on, then let it run to die.
            sched::leave_wait_list(slot);
            pcb(slot).stopped_sleep = SleepReason::None;
            make_runnable(slot);
        }
        _ => {}
    }
    0
}

/// `suspend(pid)`: Stopped until resumed. A sleeper is Stopped at once and
/// stays on its wait list; if its event comes meanwhile, `resume` finds it
/// runnable, else asleep again. A killed process is not stopped: the kill
/// wins (stopped, it would never run to die).
pub fn suspend(pid: i64) -> i64 {
    let slot = match target(pid) {
        Ok(s) => s,
        Err(e) => return e,
    };
    if pcb(slot).info.killed != 0 {
        return 0;
    }
    super::trace(slot, EventKind::Suspend, 0, 0);
    if state(slot) != ProcState::Stopped {
        pcb(slot).stop_unreported = true;
        if let Some(parent) = lookup(i64::from(pcb(slot).info.ppid))
            && is_waiting(parent)
        {
            wake(parent);
        }
    }
    match state(slot) {
        ProcState::Runnable => {
            procs().runq.remove(&mut Run, slot);
            set_state(slot, ProcState::Stopped, SleepReason::None);
        }
        ProcState::Running => {
            set_state(slot, ProcState::Stopped, SleepReason::None);
            pcb(slot).info.voluntary_switches += 1;
            sched::schedule();
        }
        ProcState::Sleeping => {
            let reason = SleepReason::from_raw(pcb(slot).info.reason).unwrap_or(SleepReason::Io);
            pcb(slot).stopped_sleep = reason;
            set_state(slot, ProcState::Stopped, SleepReason::None);
        }
        _ => {}
    }
    0
}

/// `resume(pid)`.
pub fn resume(pid: i64) -> i64 {
    let slot = match target(pid) {
        Ok(s) => s,
        Err(e) => return e,
    };
    super::trace(slot, EventKind::Resume, 0, 0);
    pcb(slot).stop_unreported = false;
    if state(slot) == ProcState::Stopped {
        match core::mem::replace(&mut pcb(slot).stopped_sleep, SleepReason::None) {
            SleepReason::None => make_runnable(slot),
            // Still waiting for its event, on its wait list: asleep again.
            reason => set_state(slot, ProcState::Sleeping, reason),
        }
    }
    0
}

/// Runs before every return to ring 3: a killed process dies here.
pub fn before_user_return() {
    if let Some(me) = procs().current
        && pcb(me).info.killed != 0
    {
        exit(WaitStatus::ended_by(Cause::Killed));
    }
}
