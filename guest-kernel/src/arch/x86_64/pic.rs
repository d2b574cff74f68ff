//! The legacy 8259A interrupt controllers: masked entirely, because
//! interrupts come through the IOAPIC and LAPIC instead (SDM Vol. 3A,
//! 11.1; Intel 8259A datasheet, OCW1). On machines without PICs (QEMU
//! microvm with pic=off) the writes go nowhere.

use super::cpu;

const PIC1_DATA: u16 = 0x21;
const PIC2_DATA: u16 = 0xA1;

/// Masks every line of both PICs.
pub fn mask_all() {
    // SAFETY: writing OCW1 (the interrupt mask) only stops the PICs from
    // raising interrupts, which nothing relies on.
    unsafe {
        cpu::outb(PIC1_DATA, 0xFF);
        cpu::outb(PIC2_DATA, 0xFF);
    }
}
