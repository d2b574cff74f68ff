//! The scheduler: round-robin over an O(1) run queue, preemption by the
//! timer when a quantum is used up, sleeping and waking, and the idle loop.
//!
//! Switching is direct, process to process (no scheduler thread): the
//! process giving up the CPU picks the next one and [`switch`]es to it; the
//! idle loop has a context of its own on the boot stack. On a switch to a
//! process: its FPU state is loaded if another process's is in the FPU (the
//! outgoing owner's is saved first: the FPU only ever holds the state of
//! the last process that ran, so this is the same as saving and restoring
//! on every switch, minus the pairs a switch through idle would waste), CR3
//! is loaded if it differs, TSS.RSP0 points at its kernel stack, and the
//! timer fast path charges its ticks and counts down its quantum.

use core::sync::atomic::Ordering;

use core::sync::atomic::AtomicBool;

use super::{Run, current, pcb, procs, set_state, set_state_untraced, state};
use crate::arch::x86_64::switch::{self, fxrstor, fxsave};
use crate::arch::x86_64::{cpu, gdt, trap};
use crate::sync::Sleeper;
use abi::proc::{ProcState, SleepReason};
use logic::sync::list::List;

/// The scheduler as the [`Sleeper`] of code below it (pipes): sleeping is
/// [`sleep`], waking [`wake_all`].
pub struct Sched;

impl Sleeper for Sched {
    fn sleep(&mut self, reason: SleepReason, list: *mut List) {
        sleep(reason, list);
    }

    fn wake_all(&mut self, list: *mut List) {
        wake_all(list);
    }

    fn killed(&mut self) -> bool {
        super::current_killed()
    }
}

/// Puts `slot` on the run queue.
pub fn make_runnable(slot: usize) {
    set_state(slot, ProcState::Runnable, SleepReason::None);
    procs().runq.push_back(&mut Run, slot);
}

/// Wakes `slot` if it sleeps: off its wait list, onto the run queue. A
/// sleeper that was suspended stays Stopped, but its sleep is over: resume
/// makes it runnable rather than asleep again.
pub fn wake(slot: usize) {
    let stopped = state(slot) == ProcState::Stopped && pcb(slot).stopped_sleep != SleepReason::None;
    if state(slot) != ProcState::Sleeping && !stopped {
        return;
    }
    leave_wait_list(slot);
    if stopped {
        pcb(slot).stopped_sleep = SleepReason::None;
    } else {
        make_runnable(slot);
    }
}

/// Takes `slot` off the list it sleeps on, if any.
pub fn leave_wait_list(slot: usize) {
    let chan = core::mem::replace(&mut pcb(slot).chan, core::ptr::null_mut());
    if !chan.is_null() {
        // SAFETY: chan is the live list the sleeper was put on (a static
        // list, or a pipe that its own open fd keeps alive).
        unsafe { (*chan).remove(&mut Run, slot) };
        if chan == &raw mut procs().timers {
            update_deadline();
        }
    }
}

/// Wakes everyone on `list`.
pub fn wake_all(list: *mut List) {
    // SAFETY: a live list (as for wake); wake removes each sleeper.
    while let Some(s) = unsafe { (*list).front() } {
        wake(s);
    }
}

/// Puts the current process to sleep for `reason` on `chan` (null: on no
/// list; someone wakes it by slot) and runs something else. Returns when
/// woken; the caller rechecks its condition and `killed`.
pub fn sleep(reason: SleepReason, chan: *mut List) {
    let me = current();
    set_state_untraced(me, ProcState::Sleeping, reason);
    pcb(me).chan = chan;
    if !chan.is_null() {
        // SAFETY: a live list, see wake.
        unsafe { (*chan).push_back(&mut Run, me) };
    }
    pcb(me).info.voluntary_switches += 1;
    switch_out(me, ProcState::Sleeping, reason);
}

/// Sleeps until tick `deadline` (or until woken, e.g. by kill).
pub fn sleep_until(deadline: u64) {
    let me = current();
    let p = procs();
    let mut at = p.timers.front();
    while let Some(s) = at {
        if pcb(s).deadline > deadline {
            break;
        }
        at = p.timers.next(&mut Run, s);
    }
    pcb(me).deadline = deadline;
    p.timers.insert_before(&mut Run, me, at);
    update_deadline();
    set_state_untraced(me, ProcState::Sleeping, SleepReason::Sleep);
    pcb(me).chan = &raw mut p.timers;
    pcb(me).info.voluntary_switches += 1;
    switch_out(me, ProcState::Sleeping, SleepReason::Sleep);
}

/// Set while work other than sleepers waits for a timer tick's full path
/// ([`tick_soon`]); every deadline update keeps the next tick full.
static KICK: AtomicBool = AtomicBool::new(false);

/// Publishes the earliest deadline to the timer fast path.
fn update_deadline() {
    let p = procs();
    let d = p.timers.front().map_or(u64::MAX, |s| pcb(s).deadline);
    trap::NEXT_DEADLINE.store(d, Ordering::Relaxed);
    if KICK.load(Ordering::Relaxed) {
        tick_soon();
    }
}

/// Makes the next timer tick take the full path, and every one after it
/// until [`tick_done`] (the console uses it to take the rest of a flood of
/// input a tick at a time).
pub fn tick_soon() {
    KICK.store(true, Ordering::Relaxed);
    trap::NEXT_DEADLINE.fetch_min(crate::time::ticks() + 1, Ordering::Relaxed);
}

/// Ends [`tick_soon`]: the work it was for is done.
pub fn tick_done() {
    KICK.store(false, Ordering::Relaxed);
}

/// Gives up the CPU (`yield`, `sleep(0)`): to the back of the run queue.
pub fn yield_now() {
    let me = current();
    pcb(me).info.voluntary_switches += 1;
    set_state_untraced(me, ProcState::Runnable, SleepReason::None);
    procs().runq.push_back(&mut Run, me);
    switch_out(me, ProcState::Runnable, SleepReason::None);
}

/// The full path of a timer tick (EOI done, the console's share of input
/// taken): wakes sleepers whose deadline came, and preempts a process
/// interrupted in ring 3 whose quantum is up.
pub fn timer_tick(from_user: bool) {
    let now = crate::time::ticks();
    let p = procs();
    while let Some(s) = p.timers.front() {
        if pcb(s).deadline > now {
            break;
        }
        wake(s);
    }
    update_deadline();
    if from_user && trap::QUANTUM_LEFT.load(Ordering::Relaxed) <= 0 {
        let me = current();
        if p.runq.is_empty() {
            trap::QUANTUM_LEFT.store(p.quantum, Ordering::Relaxed);
            return;
        }
        pcb(me).info.involuntary_switches += 1;
        set_state_untraced(me, ProcState::Runnable, SleepReason::None);
        p.runq.push_back(&mut Run, me);
        switch_out(me, ProcState::Runnable, SleepReason::None);
    }
}

/// Runs the next runnable process, or idle. The current process must
/// already be off the CPU in its bookkeeping (Runnable and queued,
/// Sleeping, Stopped or Zombie). Returns when this process runs again.
pub fn schedule() {
    let p = procs();
    let prev = p.current;
    let next = p.runq.pop_front(&mut Run);
    if let Some(n) = next {
        set_state(n, ProcState::Running, SleepReason::None);
    }
    run_next(prev, next);
}

/// [`schedule`] for the running process `me`, which its caller has just
/// taken off the CPU (set to `state`, without an event, and queued where
/// it belongs): the switch is one trace event for both transitions
/// (tracing costs ring-0 instructions on the hottest path).
#[inline(always)]
fn switch_out(me: usize, state: ProcState, reason: SleepReason) {
    let p = procs();
    let next = p.runq.pop_front(&mut Run);
    let next_pid = match next {
        Some(n) => {
            set_state_untraced(n, ProcState::Running, SleepReason::None);
            pcb(n).info.pid
        }
        None => 0,
    };
    crate::dev::debugport::emit_switch(pcb(me).info.pid, state as u8, reason as u8, next_pid);
    run_next(Some(me), next);
}

/// The second half of [`schedule`]: `next` (already Running, or None for
/// idle) takes the CPU from `prev`.
fn run_next(prev: Option<usize>, next: Option<usize>) {
    let p = procs();
    trap::QUANTUM_LEFT.store(p.quantum, Ordering::Relaxed);
    if next == prev {
        return;
    }
    switch_to(prev, next);
}

/// Switches from `prev` to `next` (None: the idle context).
fn switch_to(prev: Option<usize>, next: Option<usize>) {
    let p = procs();
    match next {
        Some(n) => {
            let np = pcb(n);
            trap::charge_ticks_to(Some(&raw mut np.info.ticks));
            if np.info.pid == 1 {
                crate::dev::debugport::mark_init_running();
            }
            // The FPU and the FS/GS bases hold the last process's user
            // state (the kernel uses neither): swap them only on a change.
            if p.fpu_owner != Some(n) {
                if let Some(o) = p.fpu_owner {
                    fxsave(&mut pcb(o).fx);
                    (pcb(o).fs_base, pcb(o).gs_base) = cpu::user_bases();
                }
                fxrstor(&np.fx);
                cpu::set_user_bases(np.fs_base, np.gs_base);
                p.fpu_owner = Some(n);
            }
            let cr3 = np.space.as_ref().map_or(p.cr3, |s| s.pml4.0);
            if cr3 != p.cr3 {
                // SAFETY: every process PML4 maps the kernel half.
                unsafe { switch::write_cr3(cr3) };
                p.cr3 = cr3;
            }
            gdt::set_kernel_stack(np.kstack);
        }
        None => trap::charge_ticks_to(None),
    }
    p.current = next;
    let old: *mut switch::Context = match prev {
        Some(s) => &raw mut pcb(s).ctx,
        None => &raw mut p.idle,
    };
    let new: *const switch::Context = match next {
        Some(s) => &raw const pcb(s).ctx,
        None => &raw const p.idle,
    };
    // SAFETY: new is a context saved by switch (or built by the process's
    // creator) on a mapped kernel stack; interrupts are off.
    unsafe { switch::switch(old, new) };
}

/// The idle loop, on the boot stack: runs whatever is runnable, else halts
/// with interrupts on until an interrupt makes something runnable.
pub fn idle_loop() -> ! {
    loop {
        cpu::disable_interrupts();
        let p = procs();
        if let Some(n) = p.runq.pop_front(&mut Run) {
            set_state(n, ProcState::Running, SleepReason::None);
            trap::QUANTUM_LEFT.store(p.quantum, Ordering::Relaxed);
            switch_to(None, Some(n));
        } else {
            // SAFETY: sti; hlt as one step: an interrupt between the check
            // and the halt still wakes it.
            unsafe { core::arch::asm!("sti", "hlt", options(nostack)) };
        }
    }
}
