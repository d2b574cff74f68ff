//! Page-table walking (Intel SDM Vol. 3A, 4.5 "4-Level Paging and 5-Level
//! Paging") in the layout of [`crate::arch::x86_64::layout`]: the entry bits,
//! and the translation of a virtual address through the loaded tables.

use crate::arch::x86_64::cpu;
use crate::arch::x86_64::layout::{PhysAddr, direct};

/// Present.
pub const PTE_P: u64 = 1;
/// Writable.
pub const PTE_W: u64 = 1 << 1;
/// User accessible.
pub const PTE_U: u64 = 1 << 2;
/// No execute (only when EFER.NXE is on).
pub const PTE_NX: u64 = 1 << 63;
/// Software bit (SDM Vol. 3A, 4.5: bits 9-11 are ignored by the MMU): the
/// frame belongs to the text cache, is shared and is never freed with the
/// address space.
pub const PTE_SHARED: u64 = 1 << 9;
/// Physical address bits of an entry (bits 12..52).
pub const PTE_ADDR: u64 = 0x000F_FFFF_FFFF_F000;
/// Page-size bit of a PDPT or PD entry: it maps a 1 GiB or 2 MiB page.
pub const PTE_HUGE: u64 = 1 << 7;

/// Translates a virtual address with the current page tables (CR3): the
/// physical address, or `None` when it is not mapped.
pub fn translate(virt: u64) -> Option<PhysAddr> {
    let mut table = PhysAddr(cpu::read_cr3() & PTE_ADDR);
    // Levels: PML4 (bits 39..48), PDPT (30..39), PD (21..30), PT (12..21).
    for shift in [39u32, 30, 21, 12] {
        let index = (virt >> shift) & 0x1FF;
        let entry_ptr: *const u64 = direct(PhysAddr(table.0 + index * 8));
        // SAFETY: page tables live in RAM below 4 GiB (the boot tables in
        // the image, later ones from the frame allocator), which the direct
        // map covers; an entry is 8 aligned bytes.
        let entry = unsafe { entry_ptr.read_volatile() };
        if entry & PTE_P == 0 {
            return None;
        }
        if shift == 12 || (shift != 39 && entry & PTE_HUGE != 0) {
            let offset = virt & ((1u64 << shift) - 1);
            return Some(PhysAddr(
                (entry & PTE_ADDR & !((1u64 << shift) - 1)) + offset,
            ));
        }
        table = PhysAddr(entry & PTE_ADDR);
    }
    None
}
