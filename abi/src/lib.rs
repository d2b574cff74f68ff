//! The contract between the VMM, the guest kernel and guest programs.
//!
//! Every I/O port, boot-time structure, command-line key and exit value that
//! crosses the guest/host boundary is defined here, once. The crate is
//! `no_std` so the kernel and user programs (built for
//! `x86_64-unknown-none`) use the very same definitions as the host.
//!
//! Layouts are `#[repr(C)]`, little-endian, with their sizes checked at
//! compile time. A change to any of them bumps [`ABI_VERSION`].
#![no_std]
#![deny(missing_docs)]

/// Declares a fieldless `#[repr(uN)]` wire enum with `ALL` (every variant,
/// in order) and `from_raw` (`None` for a value no variant has): the shape
/// of every enum that crosses the guest/host boundary as a number.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident: $repr:ident {
            $($(#[$vmeta:meta])* $variant:ident = $value:expr,)+
        }
    ) => {
        $(#[$meta])*
        #[repr($repr)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name {
            $($(#[$vmeta])* $variant = $value,)+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// Decodes a raw value; `None` for one no variant has.
            pub fn from_raw(raw: $repr) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| *v as $repr == raw)
            }
        }
    };
}

pub mod cmdline;
pub mod cpio;
pub mod debug;
pub mod elf;
pub mod exit;
pub mod fs;
pub mod port;
pub mod proc;
pub mod pvh;
pub mod signal;
pub mod sys;

/// Version of this guest/host contract. The kernel reports it at boot; the VMM
/// refuses features of a guest whose version it does not know.
pub const ABI_VERSION: u32 = 4;

/// Size of a page, the unit of guest memory management.
pub const PAGE_SIZE: u64 = 4096;
