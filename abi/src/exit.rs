//! What the guest writes to [`crate::port::EXIT`] to end the VM.
//!
//! The guest writes a 32-bit value (`out dx, eax`). The low byte is the exit
//! status (0-255, the status of `init` or of `poweroff N`). When bit 8 is set
//! the kernel itself crashed (panic or unhandled exception) and the low byte
//! is the number of the exception, or [`PANIC`] for a Rust panic; the VMM then
//! exits with its own guest-crash code instead of the low byte.
//!
//! Under QEMU's `isa-debug-exit` (`iobase=0xf4,iosize=4`) QEMU exits with
//! `(value << 1) | 1` instead; the console output is the same.

/// Mask of the exit status in the written value.
pub const STATUS_MASK: u32 = 0xFF;

/// Flag: the kernel crashed; the status byte says how.
pub const CRASH: u32 = 0x100;

/// Status byte of a kernel crash that was a Rust panic rather than a CPU
/// exception (exception numbers are below 32).
pub const PANIC: u32 = 0xFF;

/// What a value written to the exit port means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitRequest {
    /// Clean power-off with this status.
    PowerOff(u8),
    /// The kernel crashed: an unhandled CPU exception with this vector.
    Exception(u8),
    /// The kernel crashed: a Rust panic.
    Panic,
}

impl ExitRequest {
    /// Decodes a value written to the exit port.
    pub fn decode(value: u32) -> Self {
        let status = (value & STATUS_MASK) as u8;
        if value & CRASH == 0 {
            ExitRequest::PowerOff(status)
        } else if u32::from(status) == PANIC {
            ExitRequest::Panic
        } else {
            ExitRequest::Exception(status)
        }
    }

    /// Encodes the request as the value the guest writes.
    pub fn encode(self) -> u32 {
        match self {
            ExitRequest::PowerOff(status) => u32::from(status),
            ExitRequest::Exception(vector) => CRASH | u32::from(vector),
            ExitRequest::Panic => CRASH | PANIC,
        }
    }
}

/// The mnemonic and name of a CPU exception vector (Intel SDM Vol. 3A,
/// Table 6-1), for crash reports on both sides.
pub fn exception_name(vector: u8) -> (&'static str, &'static str) {
    match vector {
        0 => ("#DE", "divide error"),
        1 => ("#DB", "debug"),
        2 => ("NMI", "non-maskable interrupt"),
        3 => ("#BP", "breakpoint"),
        4 => ("#OF", "overflow"),
        5 => ("#BR", "bound range exceeded"),
        6 => ("#UD", "invalid opcode"),
        7 => ("#NM", "device not available"),
        8 => ("#DF", "double fault"),
        9 => ("#MF", "coprocessor segment overrun"),
        10 => ("#TS", "invalid TSS"),
        11 => ("#NP", "segment not present"),
        12 => ("#SS", "stack-segment fault"),
        13 => ("#GP", "general protection fault"),
        14 => ("#PF", "page fault"),
        16 => ("#MF", "x87 floating-point error"),
        17 => ("#AC", "alignment check"),
        18 => ("#MC", "machine check"),
        19 => ("#XM", "SIMD floating-point exception"),
        20 => ("#VE", "virtualization exception"),
        21 => ("#CP", "control protection exception"),
        28 => ("#HV", "hypervisor injection exception"),
        29 => ("#VC", "VMM communication exception"),
        30 => ("#SX", "security exception"),
        _ => ("#??", "reserved exception"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for req in [
            ExitRequest::PowerOff(0),
            ExitRequest::PowerOff(255),
            ExitRequest::Exception(14),
            ExitRequest::Panic,
        ] {
            assert_eq!(ExitRequest::decode(req.encode()), req);
        }
    }

    #[test]
    fn plain_status_is_power_off() {
        assert_eq!(ExitRequest::decode(7), ExitRequest::PowerOff(7));
        // Bits above the crash flag are ignored, as the status mask says.
        assert_eq!(ExitRequest::decode(0x1_0003), ExitRequest::PowerOff(3));
        assert_eq!(ExitRequest::decode(0x10D), ExitRequest::Exception(13));
    }
}
