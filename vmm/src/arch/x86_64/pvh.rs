//! The PVH boot structures: the boot GDT, `hvm_start_info`, the module
//! list (the initrd), the E820 memory map and the command line, written
//! where `layout` puts them; the vCPU starts with `ebx` at the start info.

use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

use abi::pvh::{MemmapEntry, ModlistEntry, StartInfo};

use super::{layout, regs};

/// The E820 map of a guest with `ram_end` bytes of RAM.
pub fn memory_map(ram_end: u64) -> Vec<MemmapEntry> {
    vec![
        MemmapEntry {
            addr: 0,
            size: layout::LOW_RAM_END,
            kind: abi::pvh::E820_RAM,
            reserved: 0,
        },
        MemmapEntry {
            addr: layout::HIMEM_START,
            size: ram_end - layout::HIMEM_START,
            kind: abi::pvh::E820_RAM,
            reserved: 0,
        },
    ]
}

/// Plain-old-data structures we copy into guest memory byte for byte.
///
/// # Safety
/// Implementors are `#[repr(C)]`, `Copy`, and have no padding, so every byte
/// of a value is initialized.
unsafe trait Plain: Copy {
    fn bytes(&self) -> &[u8] {
        // SAFETY: the trait's contract: a padding-free repr(C) value is
        // size_of::<Self>() initialized bytes, valid for the borrow.
        unsafe {
            std::slice::from_raw_parts((self as *const Self).cast(), std::mem::size_of::<Self>())
        }
    }
}
// SAFETY: repr(C), u32/u64 fields in an order that leaves no padding (sizes
// asserted in the abi crate).
unsafe impl Plain for StartInfo {}
// SAFETY: as above.
unsafe impl Plain for ModlistEntry {}
// SAFETY: as above.
unsafe impl Plain for MemmapEntry {}

/// Writes the boot GDT, the start info, the module list, the memory map and
/// the command line into guest memory.
pub fn write_boot_info(
    mem: &GuestMemoryMmap,
    ram_end: u64,
    cmdline: &str,
    initrd: Option<(u64, u64)>,
) -> Result<(), vm_memory::GuestMemoryError> {
    let gdt: Vec<u8> = regs::boot_gdt()
        .iter()
        .flat_map(|d| d.to_le_bytes())
        .collect();
    mem.write_slice(&gdt, GuestAddress(layout::BOOT_GDT))?;

    let map = memory_map(ram_end);
    for (i, e) in map.iter().enumerate() {
        mem.write_slice(
            e.bytes(),
            GuestAddress(layout::MEMMAP + (i * std::mem::size_of::<MemmapEntry>()) as u64),
        )?;
    }
    let mut line = cmdline.as_bytes().to_vec();
    line.push(0);
    mem.write_slice(&line, GuestAddress(layout::CMDLINE))?;

    let mut info = StartInfo {
        magic: abi::pvh::START_MAGIC,
        version: abi::pvh::START_VERSION_MEMMAP,
        cmdline_paddr: layout::CMDLINE,
        memmap_paddr: layout::MEMMAP,
        memmap_entries: map.len() as u32,
        ..Default::default()
    };
    if let Some((addr, size)) = initrd {
        let module = ModlistEntry {
            paddr: addr,
            size,
            ..Default::default()
        };
        mem.write_slice(module.bytes(), GuestAddress(layout::MODLIST))?;
        info.nr_modules = 1;
        info.modlist_paddr = layout::MODLIST;
    }
    mem.write_slice(info.bytes(), GuestAddress(layout::START_INFO))?;
    Ok(())
}
