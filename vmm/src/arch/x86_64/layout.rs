//! Where the VMM puts things in guest-physical memory. Every fixed guest
//! address lives here.
//!
//! ```text
//! 0x0000_0500  GDT used for the 32-bit PVH entry (4 descriptors)
//! 0x0000_6000  hvm_start_info, then the module list (initrd)
//! 0x0000_7000  E820 memory map (MEMMAP_MAX entries)
//! 0x0000_8000  kernel command line, NUL-terminated (4 KiB)
//! 0x0001_0000  end of the VMM's boot structures
//! 0x0010_0000  lowest address a kernel segment may occupy (HIMEM_START)
//! ...          kernel image
//! ...          initrd, page-aligned at the top of RAM
//! RAM end      at most MAX_RAM: RAM stays below the 32-bit MMIO hole
//! 0xFEC0_0000  IOAPIC (in-kernel irqchip)
//! 0xFEE0_0000  LAPIC (in-kernel irqchip)
//! ```

/// GDT for the PVH entry: null, 32-bit code, data, TSS.
pub const BOOT_GDT: u64 = 0x500;
/// `struct hvm_start_info`; `ebx` points here at entry.
pub const START_INFO: u64 = 0x6000;
/// Module list (one entry: the initrd), right after the start info.
pub const MODLIST: u64 = 0x6040;
/// E820 memory map.
pub const MEMMAP: u64 = 0x7000;
/// Most entries the memory map may have.
pub const MEMMAP_MAX: usize = 128;
/// Kernel command line.
pub const CMDLINE: u64 = 0x8000;
/// Room for the command line, with its NUL.
pub const CMDLINE_MAX: u64 = 0x1000;
/// First address past the VMM's boot structures.
pub const BOOT_STRUCTS_END: u64 = 0x1_0000;
/// End of conventional low memory (the EBDA and BIOS area follow).
pub const LOW_RAM_END: u64 = 0xA_0000;
/// Lowest address of a kernel segment: the start of "high" memory, 1 MiB.
pub const HIMEM_START: u64 = 0x10_0000;
/// Start of the 32-bit MMIO hole; guest RAM ends at or below it.
pub const MMIO_HOLE_START: u64 = 0xC000_0000;
/// Largest guest RAM the layout supports (everything below the hole).
pub const MAX_RAM: u64 = MMIO_HOLE_START;
/// Smallest guest RAM we accept: room for the kernel, its tables and an
/// initrd.
pub const MIN_RAM: u64 = 8 << 20;
/// Address KVM uses for the three pages of its real-mode TSS (Intel only),
/// inside the MMIO hole where no RAM is.
pub const KVM_TSS: u64 = 0xFFFB_D000;

const _: () = assert!(MODLIST >= START_INFO + 56);
const _: () = assert!(CMDLINE + CMDLINE_MAX <= BOOT_STRUCTS_END);
const _: () = assert!(MEMMAP + (MEMMAP_MAX as u64) * 24 <= CMDLINE);
