//! The 8254 Programmable Interval Timer, channel 0, used only to calibrate
//! the TSC and LAPIC timer (Intel 82C54 datasheet; OSDev "PIT").
//!
//! Channel 0 is programmed in mode 0 (interrupt on terminal count) with the
//! count 0xffff, then read back with counter-latch commands; it counts down
//! at 1.193182 MHz, 55 ms to wrap. Port 0x61 (the channel 2 gate) is not
//! used: QEMU's microvm may not have it. The IOAPIC pin of IRQ 0 stays
//! masked, so the PIT never interrupts.

use super::cpu;

const CHANNEL0: u16 = 0x40;
const COMMAND: u16 = 0x43;
/// Command byte: channel (bits 7..6) 0, access (5..4) lobyte/hibyte, mode
/// (3..1) 0, binary (0).
const CMD_CH0_LOHI_MODE0: u8 = 0x30;
/// Command byte: channel 0, access 00 = counter latch.
const CMD_CH0_LATCH: u8 = 0x00;

/// Starts channel 0 counting down from 0xffff.
pub fn start_countdown() {
    // SAFETY: the PIT belongs to the calibration code; its IRQ is masked.
    unsafe {
        cpu::outb(COMMAND, CMD_CH0_LOHI_MODE0);
        cpu::outb(CHANNEL0, 0xFF);
        cpu::outb(CHANNEL0, 0xFF);
    }
}

/// Channel 0's current count (latched, so both bytes are from one instant).
pub fn read_count() -> u16 {
    // SAFETY: as above; the latch command freezes the count until both
    // bytes are read.
    unsafe {
        cpu::outb(COMMAND, CMD_CH0_LATCH);
        let lo = cpu::inb(CHANNEL0);
        let hi = cpu::inb(CHANNEL0);
        u16::from_le_bytes([lo, hi])
    }
}
