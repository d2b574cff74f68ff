//! Mutual exclusion on one CPU: [`IrqLock`] disables interrupts while held.
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

/// A static that only single-threaded boot code writes, through
/// [`BootCell::as_ptr`] (the CPU may read it afterwards, e.g. the GDT).
pub struct BootCell<T>(UnsafeCell<T>);

// SAFETY: writers promise (at each `as_ptr` use) that boot is
// single-threaded and no other reference to the value is live.
unsafe impl<T> Sync for BootCell<T> {}

impl<T> BootCell<T> {
    /// Wraps a value.
    pub const fn new(value: T) -> Self {
        BootCell(UnsafeCell::new(value))
    }

    /// A pointer to the value.
    pub const fn as_ptr(&self) -> *mut T {
        self.0.get()
    }
}

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
