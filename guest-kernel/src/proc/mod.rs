//! Processes: the PCB table ([`table`]), the scheduler ([`sched`]), the
//! lifecycle ([`life`]: create, exit, wait), pending signals
//! ([`pending`]), signals ([`signal`]: kill, suspend/resume, handlers),
//! their files ([`files`]: fds and working
//! directory), loading programs ([`exec`]) and death by CPU exception
//! ([`fault`]).
//!
//! # Concurrency
//! One CPU. The kernel runs with interrupts off, except in the idle loop
//! (xv6's rule), so kernel code is never interrupted by other kernel code
//! that touches these structures, with one exception: the serial interrupt
//! may run in the idle loop or over user code and wakes console readers or
//! prints the table. Hence no locks. Every access goes through a
//! [`Kernel`] token, taken once per kernel entry (a trap, boot, each pass
//! of the idle loop): whatever it hands out borrows it, and whatever may
//! switch to another process takes it, so the borrow checker proves that
//! no two references to a PCB are used interleaved and that none is held
//! across a context switch. Addresses that must outlive a borrow (a wait
//! list a sleeper is on, a saved context, the tick counter the timer's
//! fast path increments) are formed from the owners' own pointers, never
//! from a reference.
//!
//! # The table
//! `capacity` fixed-size [`Pcb`]s in one array, allocated zeroed at boot
//! (never-used frames, zero already: no `rep stosq` over it unless
//! `scrub`): an all-zero PCB is a valid Unused slot (links and
//! lists are 0 = empty, `Option<Box>` is `None`, files are closed), so boot
//! loops over nothing. Each PCB starts with its [`ProcInfo`], kept current
//! in place, so the table is readable from outside (the VMM) with a stride
//! of `size_of::<Pcb>()`.
//!
//! Invariants:
//! - a slot is Unused iff `info.state == Unused`; Unused slots below the
//!   high-water mark `hwm` are on the free list, those at or above it have
//!   never been used;
//! - `pid = logic::proc::pid::make(generation, slot, capacity)` (O(1) lookup);
//! - the `run` link puts a slot on at most one of: the free list (Unused),
//!   the run queue (Runnable), the timer list or a wait queue (Sleeping,
//!   `chan` names the list), its parent's zombie list (Zombie);
//! - the `sib` link puts a live or zombie process on its parent's `kids`;
//! - exactly the Running process is `current` (None: the idle loop runs).

pub mod exec;
pub mod fault;
pub mod files;
pub mod life;
pub mod pending;
pub mod sched;
pub mod signal;
pub mod table;

pub use table::*;
