//! Kernel state shared between contexts on one CPU: [`IrqLock`] disables
//! interrupts while held. (The pure building blocks, [`logic::sync::cell`]
//! and [`logic::sync::list`], are in this folder too.)
//!
//! The kernel runs on one CPU, so the only concurrency is an interrupt
//! handler running in the middle of other kernel code. Holding an
//! [`IrqLock`] keeps interrupts off, which is all the exclusion needed; a
//! second CPU would need a spinning lock instead. Taking a lock that is
//! already held (from a handler that interrupted its holder, or re-entrantly)
//! would alias `&mut`, so it panics instead.

use core::cell::{Cell, UnsafeCell};

use core::ops::{Deref, DerefMut};

use crate::arch::x86_64::cpu;
use abi::proc::SleepReason;
use logic::sync::list::List;

/// A value shared between contexts on one CPU.
pub struct IrqLock<T> {
    held: Cell<bool>,
    value: UnsafeCell<T>,
}

// SAFETY: one CPU; access goes through lock(), which disables interrupts
// (so no other context runs) and refuses re-entry (so no two guards exist).
unsafe impl<T: Send> Sync for IrqLock<T> {}

impl<T> IrqLock<T> {
    /// Wraps a value.
    pub const fn new(value: T) -> Self {
        IrqLock {
            held: Cell::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Disables interrupts and gives access until the guard drops.
    pub fn lock(&self) -> IrqGuard<'_, T> {
        let interrupts_were_on = cpu::interrupts_save_disable();
        if self.held.replace(true) {
            panic!("IrqLock taken twice");
        }
        IrqGuard {
            lock: self,
            interrupts_were_on,
        }
    }
}

/// Access to an [`IrqLock`]'s value.
pub struct IrqGuard<'a, T> {
    lock: &'a IrqLock<T>,
    interrupts_were_on: bool,
}

impl<T> Deref for IrqGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard is the only access while it lives.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for IrqGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard is the only access while it lives.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for IrqGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.held.set(false);
        cpu::interrupts_restore(self.interrupts_were_on);
    }
}

/// A global the kernel touches only with interrupts off, on one CPU.
pub struct KCell<T>(UnsafeCell<T>);

// SAFETY: one CPU, and kernel code runs with interrupts off (see the module
// documentation): the only access to the value is through `get`, whose
// callers promise what `&mut` needs, or through its pointer.
unsafe impl<T> Sync for KCell<T> {}

impl<T> KCell<T> {
    /// Wraps a value.
    pub const fn new(v: T) -> Self {
        KCell(UnsafeCell::new(v))
    }

    /// The value.
    ///
    /// # Safety
    /// Interrupts are off, and no other reference to the value is used
    /// while this one lives (nothing the caller calls meanwhile takes the
    /// value again).
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn get(&self) -> &mut T {
        // SAFETY: the caller's promise.
        unsafe { &mut *self.0.get() }
    }

    /// A pointer to the value, for code that keeps an address (a wait
    /// list a sleeper is queued on) or forms references through a token
    /// of its own ([`crate::proc::Kernel`]).
    pub const fn as_ptr(&self) -> *mut T {
        self.0.get()
    }
}

/// How code below the scheduler blocks: sleeping on a wait list, waking a
/// list's sleepers. The scheduler implements it
/// ([`crate::proc::sched::Sched`]); a pipe or the console takes it as a
/// parameter, so it needs nothing of the process table.
pub trait Sleeper {
    /// Puts the current process to sleep on `list` for `reason` until it is
    /// woken; the caller then checks its condition again.
    fn sleep(&mut self, reason: SleepReason, list: *mut List);
    /// Wakes every process sleeping on `list`.
    fn wake_all(&mut self, list: *mut List);
    /// Whether the current process must not sleep (again): it was killed,
    /// or a signal waits for it. A blocking call then ends early
    /// (`EINTR`, or the count so far).
    fn interrupted(&mut self) -> bool;
}
