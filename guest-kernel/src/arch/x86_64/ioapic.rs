//! The I/O APIC at 0xfec00000, which turns ISA/PCI interrupt lines into
//! interrupt messages to a LAPIC (Intel 82093AA datasheet, sections 3.1-3.2;
//! the address is the PC default, which both QEMU and our VMM use).
//!
//! Two registers are memory-mapped: IOREGSEL (index, offset 0) and IOWIN
//! (data, offset 0x10). Redirection entry `n` is the 64-bit pair of indirect
//! registers 0x10 + 2n (low) and 0x11 + 2n (high). Every entry starts masked
//! at reset; we unmask only what we route.

use super::layout::{self, PhysAddr};

const IOAPIC_PHYS: u64 = 0xFEC0_0000;
const IOREGSEL: usize = 0x00;
const IOWIN: usize = 0x10;
const REG_VERSION: u32 = 0x01;
const REG_REDIRECTION: u32 = 0x10;

/// Redirection entry: fixed delivery, physical destination, active high,
/// edge triggered, unmasked: all zero bits but the vector.
const FIXED_EDGE_HIGH: u32 = 0;

fn base() -> usize {
    layout::direct::<u32>(PhysAddr(IOAPIC_PHYS)) as usize
}

fn write(reg: u32, value: u32) {
    let base = base();
    // SAFETY: the IOAPIC's registers are at IOAPIC_PHYS, mapped uncached by
    // the direct map; the index/data pair is only used with interrupts off
    // (boot), so the two accesses are not interleaved with another pair.
    unsafe {
        ((base + IOREGSEL) as *mut u32).write_volatile(reg);
        ((base + IOWIN) as *mut u32).write_volatile(value);
    }
}

fn read(reg: u32) -> u32 {
    let base = base();
    // SAFETY: as for write.
    unsafe {
        ((base + IOREGSEL) as *mut u32).write_volatile(reg);
        ((base + IOWIN) as *const u32).read_volatile()
    }
}

/// Number of redirection entries (input pins).
pub fn pins() -> u32 {
    ((read(REG_VERSION) >> 16) & 0xFF) + 1
}

/// Routes ISA interrupt `irq` (an edge-triggered, active-high line) to
/// `vector` on the CPU with APIC ID `apic_id`. Interrupts off.
pub fn route_isa(irq: u8, vector: u8, apic_id: u8) {
    let reg = REG_REDIRECTION + 2 * u32::from(irq);
    // Destination first, so the entry is never live with a stale one.
    write(reg + 1, u32::from(apic_id) << 24);
    write(reg, FIXED_EDGE_HIGH | u32::from(vector));
}
