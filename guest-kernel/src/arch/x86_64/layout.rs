//! The kernel's virtual memory layout (Intel SDM Vol. 3A, 4.5 "4-Level
//! Paging and 5-Level Paging"), and the arithmetic between its physical and
//! virtual addresses.
//!
//! ```text
//! 0x0000_0000_0000_0000 .. 0x0000_7fff_ffff_ffff  user space (PML4 0..256)
//! 0xffff_8000_0000_0000 .. +4 GiB                 direct map of physical 0..4 GiB
//!                                                 (PML4[256], 2 MiB pages)
//! 0xffff_ffff_8000_0000 .. +4 MiB                 the kernel image (PML4[511],
//!                                                 4 KiB pages), physical 0..4 MiB
//! ```
//!
//! The boot page tables that set this up are static data built by the
//! assembler in [`super::boot`].

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
