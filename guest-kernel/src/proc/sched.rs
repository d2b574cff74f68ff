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

use core::sync::atomic::{AtomicBool, Ordering};

use super::{Kernel, timers_list};
use crate::arch::x86_64::switch::{self, fxrstor, fxsave};
use crate::arch::x86_64::{cpu, gdt, trap};
use crate::sync::Sleeper;
use abi::proc::{Pid, ProcState, SleepReason};
use logic::sync::list::List;

/// The scheduler as the [`Sleeper`] of code below it (pipes): sleeping is
/// [`sleep`], waking [`wake_all`].
pub struct Sched<'k>(pub &'k mut Kernel);

impl Sleeper for Sched<'_> {
    fn sleep(&mut self, reason: SleepReason, list: *mut List) {
        sleep(self.0, reason, list);
    }

    fn wake_all(&mut self, list: *mut List) {
        wake_all(self.0, list);
    }

    fn interrupted(&mut self) -> bool {
        self.0.interrupted()
    }
}

/// Puts `slot` on the run queue.
pub fn make_runnable(k: &mut Kernel, slot: usize) {
    k.set_state(slot, ProcState::Runnable, SleepReason::None);
    let (p, mut run) = k.run_lists();
    p.runq.push_back(&mut run, slot);
}

/// Wakes `slot` if it sleeps: off its wait list, onto the run queue. A
/// sleeper that was suspended stays Stopped, but its sleep is over: resume
/// makes it runnable rather than asleep again.
pub fn wake(k: &mut Kernel, slot: usize) {
    let stopped =
        k.state(slot) == ProcState::Stopped && k.pcb(slot).stopped_sleep != SleepReason::None;
    if k.state(slot) != ProcState::Sleeping && !stopped {
        return;
    }
    leave_wait_list(k, slot);
    if stopped {
        k.pcb(slot).stopped_sleep = SleepReason::None;
    } else {
        make_runnable(k, slot);
    }
}

/// Takes `slot` off the list it sleeps on, if any.
pub fn leave_wait_list(k: &mut Kernel, slot: usize) {
    let chan = core::mem::replace(&mut k.pcb(slot).chan, core::ptr::null_mut());
    if !chan.is_null() {
        // SAFETY: chan is the live list the sleeper was put on (a static
        // list, or a pipe that its own open fd keeps alive), reached
        // through its owner's pointer, and nothing else refers to it now.
        unsafe { (*chan).remove(&mut k.run(), slot) };
        if chan == timers_list() {
            update_deadline(k);
        }
    }
}

/// Wakes everyone on `list`.
pub fn wake_all(k: &mut Kernel, list: *mut List) {
    // SAFETY: a live list (as for wake); wake removes each sleeper.
    while let Some(s) = unsafe { (*list).front() } {
        wake(k, s);
    }
}

/// Puts the current process to sleep for `reason` on `chan` (null: on no
/// list; someone wakes it by slot) and runs something else. Returns when
/// woken; the caller rechecks its condition and `killed`.
pub fn sleep(k: &mut Kernel, reason: SleepReason, chan: *mut List) {
    let me = k.current();
    k.set_state_untraced(me, ProcState::Sleeping, reason);
    k.pcb(me).chan = chan;
    if !chan.is_null() {
        // SAFETY: a live list, see leave_wait_list.
        unsafe { (*chan).push_back(&mut k.run(), me) };
    }
    k.pcb(me).info.voluntary_switches += 1;
    switch_out(k, me, ProcState::Sleeping, reason);
}

/// Sleeps until tick `deadline` (or until woken, e.g. by kill).
pub fn sleep_until(k: &mut Kernel, deadline: u64) {
    let me = k.current();
    let mut at = k.procs().timers.front();
    while let Some(s) = at {
        if k.pcb(s).deadline > deadline {
            break;
        }
        let (p, mut run) = k.run_lists();
        at = p.timers.next(&mut run, s);
    }
    k.pcb(me).deadline = deadline;
    let (p, mut run) = k.run_lists();
    p.timers.insert_before(&mut run, me, at);
    update_deadline(k);
    k.set_state_untraced(me, ProcState::Sleeping, SleepReason::Sleep);
    k.pcb(me).chan = timers_list();
    k.pcb(me).info.voluntary_switches += 1;
    switch_out(k, me, ProcState::Sleeping, SleepReason::Sleep);
}

/// Set while work other than sleepers waits for a timer tick's full path
/// ([`tick_soon`]); every deadline update keeps the next tick full.
static KICK: AtomicBool = AtomicBool::new(false);

/// Publishes the earliest deadline to the timer fast path.
fn update_deadline(k: &mut Kernel) {
    let first = k.procs().timers.front();
    let d = first.map_or(u64::MAX, |s| k.pcb(s).deadline);
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
pub fn yield_now(k: &mut Kernel) {
    let me = k.current();
    k.pcb(me).info.voluntary_switches += 1;
    k.set_state_untraced(me, ProcState::Runnable, SleepReason::None);
    let (p, mut run) = k.run_lists();
    p.runq.push_back(&mut run, me);
    switch_out(k, me, ProcState::Runnable, SleepReason::None);
}

/// The full path of a timer tick (EOI done, the console's share of input
/// taken): wakes sleepers whose deadline came, and preempts a process
/// interrupted in ring 3 whose quantum is up.
pub fn timer_tick(k: &mut Kernel, from_user: bool) {
    let now = crate::time::ticks();
    while let Some(s) = k.procs().timers.front() {
        if k.pcb(s).deadline > now {
            break;
        }
        wake(k, s);
    }
    update_deadline(k);
    if from_user && trap::QUANTUM_LEFT.load(Ordering::Relaxed) <= 0 {
        let me = k.current();
        let p = k.procs();
        if p.runq.is_empty() {
            trap::QUANTUM_LEFT.store(p.quantum, Ordering::Relaxed);
            return;
        }
        k.pcb(me).info.involuntary_switches += 1;
        k.set_state_untraced(me, ProcState::Runnable, SleepReason::None);
        let (p, mut run) = k.run_lists();
        p.runq.push_back(&mut run, me);
        switch_out(k, me, ProcState::Runnable, SleepReason::None);
    }
}

/// Runs the next runnable process, or idle. The current process must
/// already be off the CPU in its bookkeeping (Runnable and queued,
/// Sleeping, Stopped or Zombie). Returns when this process runs again.
pub fn schedule(k: &mut Kernel) {
    let (p, mut run) = k.run_lists();
    let prev = p.current;
    let next = p.runq.pop_front(&mut run);
    if let Some(n) = next {
        k.set_state(n, ProcState::Running, SleepReason::None);
    }
    run_next(k, prev, next);
}

/// [`schedule`] for the running process `me`, which its caller has just
/// taken off the CPU (set to `state`, without an event, and queued where
/// it belongs): the switch is one trace event for both transitions
/// (tracing costs ring-0 instructions on the hottest path).
#[inline(always)]
fn switch_out(k: &mut Kernel, me: usize, state: ProcState, reason: SleepReason) {
    let (p, mut run) = k.run_lists();
    let next = p.runq.pop_front(&mut run);
    let next_pid = match next {
        Some(n) => {
            k.set_state_untraced(n, ProcState::Running, SleepReason::None);
            k.pcb(n).info.pid
        }
        None => Pid::NONE,
    };
    let my_pid = k.pcb(me).info.pid;
    crate::dev::debugport::emit_switch(my_pid, state as u8, reason as u8, next_pid);
    run_next(k, Some(me), next);
}

/// The second half of [`schedule`]: `next` (already Running, or None for
/// idle) takes the CPU from `prev`.
fn run_next(k: &mut Kernel, prev: Option<usize>, next: Option<usize>) {
    trap::QUANTUM_LEFT.store(k.procs().quantum, Ordering::Relaxed);
    if next == prev {
        return;
    }
    switch_to(k, prev, next);
}

/// Switches from `prev` to `next` (None: the idle context). Takes the
/// token, so the caller holds no reference into the table across the
/// switch (other processes run meanwhile).
fn switch_to(k: &mut Kernel, prev: Option<usize>, next: Option<usize>) {
    match next {
        Some(n) => {
            let (pid, kstack) = (k.pcb(n).info.pid, k.pcb(n).kstack);
            // SAFETY: a slot of the table; the place is reached through
            // the table's own pointer, so it stays valid for the fast path.
            trap::charge_ticks_to(Some(unsafe { &raw mut (*k.pcb_ptr(n)).info.ticks }));
            if pid == Pid::INIT {
                crate::dev::debugport::mark_init_running();
            }
            // The FPU and the FS/GS bases hold the last process's user
            // state (the kernel uses neither): swap them only on a change.
            let owner = k.procs().fpu_owner;
            if owner != Some(n) {
                if let Some(o) = owner {
                    let op = k.pcb(o);
                    fxsave(&mut op.fx);
                    (op.fs_base, op.gs_base) = cpu::user_bases();
                }
                let np = k.pcb(n);
                fxrstor(&np.fx);
                cpu::set_user_bases(np.fs_base, np.gs_base);
                k.procs().fpu_owner = Some(n);
            }
            let loaded = k.procs().cr3;
            let cr3 = k.pcb(n).space.as_ref().map_or(loaded, |s| s.pml4.0);
            if cr3 != loaded {
                // SAFETY: every process PML4 maps the kernel half.
                unsafe { switch::write_cr3(cr3) };
                k.procs().cr3 = cr3;
            }
            gdt::set_kernel_stack(kstack);
        }
        None => trap::charge_ticks_to(None),
    }
    k.procs().current = next;
    let old = context(k, prev);
    let new = context(k, next);
    // SAFETY: new is a context saved by switch (or built by the process's
    // creator) on a mapped kernel stack; interrupts are off; no reference
    // into the table is live (the token is borrowed here).
    unsafe { switch::switch(old, new) };
}

/// Where the saved registers of `slot` (None: the idle loop) are, reached
/// through the owners' own pointers (no reference is formed).
#[inline(always)]
fn context(k: &mut Kernel, slot: Option<usize>) -> *mut switch::Context {
    match slot {
        // SAFETY: a slot of the table.
        Some(s) => unsafe { &raw mut (*k.pcb_ptr(s)).ctx },
        None => super::idle_context(),
    }
}

/// The idle loop, on the boot stack: runs whatever is runnable, else halts
/// with interrupts on until an interrupt makes something runnable.
pub fn idle_loop() -> ! {
    loop {
        cpu::disable_interrupts();
        // SAFETY: interrupts are off; the loop uses no reference from an
        // earlier token (each pass takes its own, and drops it before it
        // halts with interrupts on).
        let k = &mut unsafe { Kernel::enter() };
        let (p, mut run) = k.run_lists();
        if let Some(n) = p.runq.pop_front(&mut run) {
            k.set_state(n, ProcState::Running, SleepReason::None);
            trap::QUANTUM_LEFT.store(k.procs().quantum, Ordering::Relaxed);
            switch_to(k, None, Some(n));
        } else {
            // SAFETY: sti; hlt as one step: an interrupt between the check
            // and the halt still wakes it.
            unsafe { core::arch::asm!("sti", "hlt", options(nostack)) };
        }
    }
}
