//! `logic`: the parts of the kernel that need no hardware.
//!
//! The kernel binary (`src/main.rs`) owns every device, register and page
//! table; the pure logic it relies on lives here, in a `no_std` library whose
//! unit tests run on the host:
//!
//! ```text
//! cd guest-kernel && cargo test --lib --target x86_64-unknown-linux-gnu
//! ```
//!
//! Each module sits in the folder of the subsystem it serves, beside that
//! subsystem's hardware-facing code (declared by `main.rs`), so a folder
//! holds all of a subsystem; the crate boundary keeps this part free of
//! hardware access.
#![cfg_attr(not(test), no_std)]
#![deny(missing_docs)]

extern crate alloc;

/// Architecture facts that need no hardware.
pub mod arch {
    /// x86_64.
    pub mod x86_64 {
        pub mod exception;
    }
}

/// The console's line discipline.
pub mod console {
    pub mod cooked;
    pub mod line;
    pub mod ring;
}

/// Files: paths, and the tree they lead through.
pub mod fs {
    pub mod path;
    pub mod tree;
}

/// The kernel monitor's command language.
pub mod kmon {
    pub mod command;
}

/// Formatting for the kernel's log.
pub mod log {
    pub mod hex;
}

/// Memory: the physical memory map, program images, page lists.
pub mod mm {
    pub mod image;
    pub mod memmap;
    pub mod pagelist;
}

/// Processes: pid arithmetic.
pub mod proc {
    pub mod pid;
}

/// Building blocks for kernel state: boot-time cells, intrusive lists.
pub mod sync {
    pub mod cell;
    pub mod list;
}

/// Timer and time-stamp arithmetic.
pub mod time {
    pub mod units;
}
