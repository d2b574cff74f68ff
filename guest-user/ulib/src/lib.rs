//! The user-space runtime every program links against.
//!
//! - [`entry!`] names the program's `main(args: &[&str]) -> i32`; `_start`
//!   (in `rt`) builds the argument slice, calls it and exits with its result.
//! - [`sys`]: one function per system call of [`abi::sys::nr`], returning
//!   `Result<_, Errno>`, plus the raw [`sys::syscall6`].
//! - [`print!`], [`println!`], [`eprint!`], [`eprintln!`]: formatted output to
//!   fd 1 / fd 2, one `write` per call (so concurrent lines do not mix).
//! - A global allocator over `sbrk` ([`heap`]), so programs use [`prelude`]'s
//!   `Vec`, `String` and `format!`.
//! - A panic prints `panic: MESSAGE` to stderr and exits with status 101.
//!
//! The runtime pieces (`_start`, the panic handler, the global allocator)
//! exist only on the guest target, so the pure logic here and in `programs`
//! can be unit-tested on the host.
#![cfg_attr(not(test), no_std)]
#![deny(missing_docs)]

pub extern crate alloc;
pub use abi;

pub mod heap;
pub mod io;
mod rt;
pub mod sys;

pub use abi::proc::{Cause, Pid, ProcInfo, ProcState, SleepReason, WaitStatus};
pub use abi::signal::{self, SigSet};
pub use abi::sys::SysInfo;
pub use sys::*;

/// What most programs need from `alloc`.
pub mod prelude {
    pub use alloc::borrow::ToOwned;
    pub use alloc::boxed::Box;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec::Vec;
    pub use alloc::{format, vec};
}

/// Declares the program's entry point: `ulib::entry!(main);` where
/// `fn main(args: &[&str]) -> i32` gets the argument vector (`args[0]` is the
/// program's name) and returns the exit status.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        /// Called by ulib's `_start`.
        #[unsafe(no_mangle)]
        fn __ulib_main(args: &[&str]) -> i32 {
            let main: fn(&[&str]) -> i32 = $main;
            main(args)
        }
    };
}
