//! The parts of the kernel that need no hardware.
//!
//! The kernel binary (`src/main.rs`) owns every device, register and page
//! table; the pure logic it relies on (memory-map arithmetic, the console's
//! line editor and ring buffer, the monitor's command parser, timer
//! arithmetic, exception names) lives here, in a `no_std` library whose unit
//! tests run on the host:
//!
//! ```text
//! cd guest-kernel && cargo test --lib --target x86_64-unknown-linux-gnu
//! ```
#![cfg_attr(not(test), no_std)]
#![deny(missing_docs)]

extern crate alloc;

pub mod command;
pub mod cooked;
pub mod exception;
pub mod hex;
pub mod image;
pub mod line;
pub mod memmap;
pub mod pagelist;
pub mod procs;
pub mod ring;
pub mod time;
