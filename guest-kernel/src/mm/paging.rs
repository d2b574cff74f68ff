//! The kernel's virtual memory layout and page-table walking (Intel SDM Vol.
//! 3A, 4.5 "4-Level Paging and 5-Level Paging").
//!
//! ```text
//! 0x0000_0000_0000_0000 .. 0x0000_7fff_ffff_ffff  user space (PML4 0..256), empty
//! 0xffff_8000_0000_0000 .. +4 GiB                 direct map of physical 0..4 GiB
//!                                                 (PML4[256], 2 MiB pages)
//! 0xffff_ffff_8000_0000 .. +4 MiB                 the kernel image (PML4[511],
//!                                                 4 KiB pages), physical 0..4 MiB
//! ```
//!
//! The tables themselves are static data built by the assembler in
//! [`crate::boot`]; this module only reads them, through the direct map.

use crate::arch::x86_64::cpu;

/// Where the direct map of physical memory starts.
pub const DIRECT_MAP_BASE: u64 = 0xFFFF_8000_0000_0000;
/// How much physical memory the direct map covers: RAM above it is unused.
pub const DIRECT_MAP_SIZE: u64 = 4 << 30;
/// Where the kernel image is linked: physical P is at `KERNEL_BASE + P`.
pub const KERNEL_BASE: u64 = 0xFFFF_FFFF_8000_0000;

/// A physical address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PhysAddr(pub u64);

/// The direct-map address of `[phys, phys + len)`, if all of it is mapped.
pub fn phys_to_virt(phys: PhysAddr, len: u64) -> Option<u64> {
    let end = phys.0.checked_add(len)?;
    (end <= DIRECT_MAP_SIZE).then_some(DIRECT_MAP_BASE + phys.0)
}

/// The direct-map pointer of a physical address known to be mapped (RAM the
/// frame allocator manages, device registers below 4 GiB).
pub fn direct<T>(phys: PhysAddr) -> *mut T {
    debug_assert!(phys.0 < DIRECT_MAP_SIZE);
    (DIRECT_MAP_BASE + phys.0) as *mut T
}

/// The physical address of a direct-map address.
pub fn direct_to_phys(virt: u64) -> PhysAddr {
    PhysAddr(virt - DIRECT_MAP_BASE)
}

/// The physical address of an address in the kernel image.
pub fn kernel_virt_to_phys(virt: u64) -> PhysAddr {
    PhysAddr(virt - KERNEL_BASE)
}

/// Present bit of a page-table entry.
const PTE_PRESENT: u64 = 1 << 0;
/// Page-size bit: the entry maps a 1 GiB or 2 MiB page.
const PTE_HUGE: u64 = 1 << 7;
/// Physical address bits of an entry (bits 12..52).
const PTE_ADDR: u64 = 0x000F_FFFF_FFFF_F000;

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
        if entry & PTE_PRESENT == 0 {
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
