//! Puts the guest in memory: checks and loads the kernel ELF
//! ([`kernel`]), checks and places the initrd ([`initrd`]). Both files are
//! checked whole before any KVM or memory setup, so a bad file is one clear
//! error and nothing is half-loaded. The boot structures that tell the
//! kernel where things are belong to `arch::x86_64::pvh`.

pub mod initrd;
pub mod kernel;

pub use initrd::{InitrdError, place_initrd};
pub use kernel::{KernelError, check_kernel, load_kernel};
