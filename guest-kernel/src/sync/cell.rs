//! Cells for kernel statics whose access rules the type system cannot see.

use core::cell::UnsafeCell;

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
