//! The debug console at port 0xe9 (QEMU's `isa-debugcon`, and our VMM's):
//! every byte written is appended to a log on the host. The kernel log goes
//! here, a whole line per `rep outsb` (one VM exit where the hypervisor
//! passes string I/O whole).
//!
//! A read returns 0xe9 when the device is present (our VMM has it only
//! with `--debugcon stderr|file:PATH`); without it the kernel skips the
//! writes (each would still cost a VM exit, and formatting a line costs
//! thousands of ring-0 instructions).

use core::sync::atomic::{AtomicBool, Ordering};

use crate::arch::x86_64::cpu;
use abi::port::{DEBUGCON, DEBUGCON_READBACK};

static PRESENT: AtomicBool = AtomicBool::new(false);

/// Probes for the device.
pub fn init() {
    // SAFETY: reading the debug console port has no side effect.
    let present = unsafe { cpu::inb(DEBUGCON) } == DEBUGCON_READBACK;
    PRESENT.store(present, Ordering::Relaxed);
}

/// Whether the device answered the probe.
pub fn present() -> bool {
    PRESENT.load(Ordering::Relaxed)
}

/// Writes bytes as they are.
pub fn write(bytes: &[u8]) {
    if present() {
        // SAFETY: the port is the debug console's; writes only log.
        unsafe { cpu::outsb(DEBUGCON, bytes) };
    }
}
