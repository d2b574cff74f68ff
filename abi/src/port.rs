//! I/O ports of the devices the VMM provides.
//!
//! The first three match what QEMU offers (`isa-serial`, `isa-debugcon`,
//! `isa-debug-exit`), so the same kernel runs under both.

/// COM1, a 16550 UART: the interactive console.
pub const COM1: u16 = 0x3F8;
/// Number of I/O ports a 16550 decodes.
pub const COM1_LEN: u16 = 8;
/// ISA interrupt line of COM1 (the IOAPIC pin and the KVM GSI).
pub const COM1_IRQ: u8 = 4;

/// Debug console: each byte written is appended to the kernel log (QEMU's
/// `isa-debugcon`). Reads return [`DEBUGCON_READBACK`] so a guest can probe it.
pub const DEBUGCON: u16 = 0xE9;
/// Value read back from [`DEBUGCON`] when it is present (as QEMU does).
pub const DEBUGCON_READBACK: u8 = 0xE9;

/// Exit port (QEMU's `isa-debug-exit`): a write ends the VM. See [`crate::exit`]
/// for the meaning of the value written.
pub const EXIT: u16 = 0xF4;

/// Value a read of an I/O port that no device claims returns, as on a PC bus
/// with nothing attached.
pub const UNASSIGNED_READ: u8 = 0xFF;

/// An I/O port no device claims, which the kernel monitor's `probe` reads
/// and writes at every width (under our VMM and QEMU's microvm alike).
pub const PROBE_PORT: u16 = 0x600;

/// A physical address no device or RAM claims (above the largest guest RAM
/// the VMM allows, 3 GiB, below the IOAPIC), which `probe` reads and
/// writes at every width.
pub const PROBE_MMIO: u64 = 0xD000_0000;
