//! The PVH boot protocol: the structures a PVH loader (our VMM, QEMU, Cloud
//! Hypervisor, Firecracker) hands to a kernel's 32-bit entry point.
//!
//! Reference: Xen's `xen/include/public/arch-x86/hvm/start_info.h`. On entry,
//! `ebx` holds the guest-physical address of an [`StartInfo`]; the CPU is in
//! 32-bit protected mode with paging off, flat CS/DS, `cr0.PE` set and
//! interrupts disabled.

/// ELF note type (name "Xen") whose 32-bit descriptor is the physical address
/// of the PVH entry point.
pub const XEN_ELFNOTE_PHYS32_ENTRY: u32 = 18;

/// [`StartInfo::magic`]: "xEn3" with bit 7 of the last byte set.
pub const START_MAGIC: u32 = 0x336e_c578;

/// [`StartInfo::version`] that carries the memory map fields.
pub const START_VERSION_MEMMAP: u32 = 1;

/// The start-of-day structure (`struct hvm_start_info`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StartInfo {
    /// Must be [`START_MAGIC`].
    pub magic: u32,
    /// Version of this structure; 1 adds the memory map.
    pub version: u32,
    /// SIF_xxx flags; unused by us.
    pub flags: u32,
    /// Number of entries at [`StartInfo::modlist_paddr`].
    pub nr_modules: u32,
    /// Physical address of an array of [`ModlistEntry`].
    pub modlist_paddr: u64,
    /// Physical address of the NUL-terminated command line, or 0.
    pub cmdline_paddr: u64,
    /// Physical address of the ACPI RSDP, or 0.
    pub rsdp_paddr: u64,
    /// Physical address of an array of [`MemmapEntry`] (version 1).
    pub memmap_paddr: u64,
    /// Number of entries at [`StartInfo::memmap_paddr`].
    pub memmap_entries: u32,
    /// Must be zero.
    pub reserved: u32,
}

/// A boot module (`struct hvm_modlist_entry`); our initrd is module 0.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ModlistEntry {
    /// Physical address of the module.
    pub paddr: u64,
    /// Size of the module in bytes.
    pub size: u64,
    /// Physical address of the module's command line, or 0.
    pub cmdline_paddr: u64,
    /// Must be zero.
    pub reserved: u64,
}

/// One memory map entry (`struct hvm_memmap_table_entry`), E820 style.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemmapEntry {
    /// Base physical address.
    pub addr: u64,
    /// Length in bytes.
    pub size: u64,
    /// One of the `E820_*` types.
    pub kind: u32,
    /// Must be zero.
    pub reserved: u32,
}

/// Usable RAM.
pub const E820_RAM: u32 = 1;
/// Reserved; not to be used as RAM.
pub const E820_RESERVED: u32 = 2;

const _: () = assert!(core::mem::size_of::<StartInfo>() == 56);
const _: () = assert!(core::mem::size_of::<ModlistEntry>() == 32);
const _: () = assert!(core::mem::size_of::<MemmapEntry>() == 24);
