//! Puts the guest in memory: checks and loads the kernel ELF, places the
//! initrd, and writes the PVH boot structures.
//!
//! `linux-loader` copies the segments and finds the PVH note, but trusts the
//! file. [`check_kernel`] first checks what it does not (class, machine,
//! header bounds, segments inside RAM and clear of our boot structures and of
//! each other, the entry inside an executable segment), so a bad file is one
//! clear error and nothing is half-loaded.

use std::io::Cursor;

use linux_loader::loader::KernelLoader;
use linux_loader::loader::elf::{Elf, PvhBootCapability};
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

use abi::pvh::{MemmapEntry, ModlistEntry, StartInfo};

use crate::arch::x86_64::{layout, regs};

use abi::elf;

/// Why a kernel image cannot be booted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KernelError {
    #[error("the file is empty")]
    Empty,
    #[error("only {0} bytes: too short for an ELF header (64 bytes)")]
    TooShort(usize),
    #[error("not an ELF file (bad magic number)")]
    NotElf,
    #[error("a 32-bit ELF; the kernel must be a 64-bit x86_64 ELF")]
    Elf32,
    #[error("bad ELF class {0}; the kernel must be a 64-bit x86_64 ELF")]
    BadClass(u8),
    #[error("a big-endian ELF; x86_64 is little-endian")]
    BigEndian,
    #[error("an ELF for {0}, not x86_64")]
    WrongMachine(String),
    #[error("bad program header size {0} (an ELF64 program header is 56 bytes)")]
    BadPhentsize(u16),
    #[error("no program headers")]
    NoProgramHeaders,
    #[error(
        "the program header table (offset {offset}, {count} entries) runs past the end of the file ({len} bytes)"
    )]
    TruncatedProgramHeaders { offset: u64, count: u16, len: usize },
    #[error(
        "segment {index}: its data (offset {offset:#x}, {size} bytes) runs past the end of the file"
    )]
    SegmentPastEnd {
        index: usize,
        offset: u64,
        size: u64,
    },
    #[error("segment {index}: file size {filesz:#x} is larger than its memory size {memsz:#x}")]
    FileszOverMemsz {
        index: usize,
        filesz: u64,
        memsz: u64,
    },
    #[error("segment {index}: address {addr:#x} + size {size:#x} overflows")]
    AddressOverflow { index: usize, addr: u64, size: u64 },
    #[error(
        "segment {index} ({start:#x}-{end:#x}) overlaps the VMM's boot structures ({:#x}-{:#x}); load the kernel at or above {:#x}",
        0,
        layout::BOOT_STRUCTS_END,
        layout::HIMEM_START
    )]
    OverBootStructures { index: usize, start: u64, end: u64 },
    #[error(
        "segment {index} ({start:#x}-{end:#x}) is below 1 MiB; load the kernel at or above {:#x}",
        layout::HIMEM_START
    )]
    BelowHighMemory { index: usize, start: u64, end: u64 },
    #[error(
        "segment {index} ({start:#x}-{end:#x}) lies outside guest RAM (which ends at {ram_end:#x}); raise --memory or relink the kernel"
    )]
    OutsideRam {
        index: usize,
        start: u64,
        end: u64,
        ram_end: u64,
    },
    #[error("segments {0} and {1} overlap")]
    Overlap(usize, usize),
    #[error("no loadable segment")]
    NoLoadableSegment,
    #[error(
        "no PVH entry point (an ELF note \"Xen\" of type 18, XEN_ELFNOTE_PHYS32_ENTRY); vmm boots PVH kernels only"
    )]
    NoPvhNote,
    #[error("the PVH entry point {0:#x} is not inside an executable segment")]
    EntryOutside(u64),
    #[error("linux-loader could not load it: {0}")]
    Loader(String),
}

/// Why an initrd cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InitrdError {
    #[error("not a cpio newc archive: {0}")]
    NotCpio(abi::cpio::Error),
    #[error(
        "{size} bytes do not fit in guest RAM above the kernel (free: {free} bytes); raise --memory"
    )]
    TooLarge { size: u64, free: u64 },
}

/// What [`check_kernel`] learned about a kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelInfo {
    /// Guest-physical address of the 32-bit PVH entry point.
    pub entry: u64,
    /// First address past the highest segment.
    pub end: u64,
}

fn machine_name(machine: u16) -> String {
    match machine {
        3 => "i386".into(),
        40 => "ARM".into(),
        183 => "AArch64".into(),
        243 => "RISC-V".into(),
        8 => "MIPS".into(),
        20 | 21 => "PowerPC".into(),
        _ => format!("machine {machine}"),
    }
}

/// Checks a kernel image against guest RAM of `ram_end` bytes, without
/// touching guest memory. Every error is a reason the file cannot boot.
pub fn check_kernel(image: &[u8], ram_end: u64) -> Result<KernelInfo, KernelError> {
    use KernelError::*;
    let header = elf::parse(image).map_err(|e| match e {
        elf::Error::Empty => Empty,
        elf::Error::TooShort(n) => TooShort(n),
        elf::Error::NotElf => NotElf,
        elf::Error::Elf32 => Elf32,
        elf::Error::BadClass(c) => BadClass(c),
        elf::Error::BigEndian => BigEndian,
        elf::Error::WrongMachine(m) => WrongMachine(machine_name(m)),
        elf::Error::BadPhentsize(n) => BadPhentsize(n),
        elf::Error::NoProgramHeaders => NoProgramHeaders,
        elf::Error::TruncatedProgramHeaders { offset, count } => TruncatedProgramHeaders {
            offset,
            count,
            len: image.len(),
        },
    })?;
    let phdrs: Vec<elf::ProgramHeader> = elf::program_headers(image, &header).collect();

    // First the file's own consistency, and the PVH note: a file that is
    // not a PVH kernel at all should say so, not where its segments lie.
    let mut entry = None;
    for (index, p) in phdrs.iter().enumerate() {
        if p.kind != elf::PT_LOAD && p.kind != elf::PT_NOTE {
            continue;
        }
        let data = p.data(image).ok_or(SegmentPastEnd {
            index,
            offset: p.offset,
            size: p.filesz,
        })?;
        if p.kind == elf::PT_NOTE {
            entry = entry.or(elf::find_pvh_entry(data));
            continue;
        }
        if p.filesz > p.memsz {
            return Err(FileszOverMemsz {
                index,
                filesz: p.filesz,
                memsz: p.memsz,
            });
        }
        if p.paddr.checked_add(p.memsz).is_none() {
            return Err(AddressOverflow {
                index,
                addr: p.paddr,
                size: p.memsz,
            });
        }
    }
    let entry = entry.ok_or(NoPvhNote)?;

    // Then where the segments go.
    let mut loads: Vec<(usize, u64, u64, bool)> = Vec::new();
    for (index, p) in phdrs.iter().enumerate() {
        if p.kind != elf::PT_LOAD || p.memsz == 0 {
            continue;
        }
        let (start, end) = (p.paddr, p.paddr + p.memsz);
        if start < layout::BOOT_STRUCTS_END {
            return Err(OverBootStructures { index, start, end });
        }
        if start < layout::HIMEM_START {
            return Err(BelowHighMemory { index, start, end });
        }
        if end > ram_end {
            return Err(OutsideRam {
                index,
                start,
                end,
                ram_end,
            });
        }
        if let Some(&(other, ..)) = loads.iter().find(|(_, s, e, _)| start < *e && *s < end) {
            return Err(Overlap(other, index));
        }
        loads.push((index, start, end, p.flags & elf::PF_X != 0));
    }
    if loads.is_empty() {
        return Err(NoLoadableSegment);
    }
    if !loads
        .iter()
        .any(|&(_, s, e, exec)| exec && s <= entry && entry < e)
    {
        return Err(EntryOutside(entry));
    }
    let end = loads.iter().map(|&(_, _, e, _)| e).max().unwrap_or(0);
    Ok(KernelInfo { entry, end })
}

/// Loads a checked kernel into guest memory with linux-loader.
pub fn load_kernel(
    mem: &GuestMemoryMmap,
    image: &[u8],
    info: &KernelInfo,
) -> Result<(), KernelError> {
    let result = Elf::load(mem, None, &mut Cursor::new(image), None)
        .map_err(|e| KernelError::Loader(e.to_string()))?;
    match result.pvh_boot_cap {
        PvhBootCapability::PvhEntryPresent(addr) if addr.0 == info.entry => Ok(()),
        other => Err(KernelError::Loader(format!(
            "it disagrees about the PVH entry ({other:?}, we found {:#x})",
            info.entry
        ))),
    }
}

/// Checks an initrd and picks its address: page-aligned, as high in RAM as it
/// fits, above the kernel.
pub fn place_initrd(initrd: &[u8], kernel_end: u64, ram_end: u64) -> Result<u64, InitrdError> {
    abi::cpio::Archive::new(initrd)
        .validate()
        .map_err(InitrdError::NotCpio)?;
    let size = initrd.len() as u64;
    let free = ram_end.saturating_sub(kernel_end.next_multiple_of(abi::PAGE_SIZE));
    let addr = ram_end
        .checked_sub(size)
        .map(|a| a & !(abi::PAGE_SIZE - 1))
        .filter(|&a| a >= kernel_end)
        .ok_or(InitrdError::TooLarge { size, free })?;
    Ok(addr)
}

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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a minimal ELF64 image: the given program headers (type, flags,
    /// paddr, filesz, memsz), each segment's data at its own offset, and a
    /// PVH note pointing at `entry` when given.
    pub fn make_elf(segments: &[(u32, u32, u64, u64, u64)], entry: Option<u32>) -> Vec<u8> {
        let mut phdrs: Vec<(u32, u32, u64, u64, u64, u64)> = Vec::new();
        let nphdrs = segments.len() + usize::from(entry.is_some());
        let mut offset = (elf::EHDR_LEN + nphdrs * elf::PHDR_LEN) as u64;
        for &(kind, flags, paddr, filesz, memsz) in segments {
            phdrs.push((kind, flags, offset, paddr, filesz, memsz));
            offset += filesz;
        }
        let mut note = Vec::new();
        if let Some(e) = entry {
            note.extend_from_slice(&4u32.to_le_bytes());
            note.extend_from_slice(&4u32.to_le_bytes());
            note.extend_from_slice(&abi::pvh::XEN_ELFNOTE_PHYS32_ENTRY.to_le_bytes());
            note.extend_from_slice(b"Xen\0");
            note.extend_from_slice(&e.to_le_bytes());
            phdrs.push((elf::PT_NOTE, 4, offset, 0, note.len() as u64, 0));
        }
        let mut img = vec![0u8; elf::EHDR_LEN];
        img[..4].copy_from_slice(elf::MAGIC);
        img[4] = elf::CLASS64;
        img[5] = elf::DATA_LSB;
        img[6] = 1;
        img[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        img[18..20].copy_from_slice(&elf::EM_X86_64.to_le_bytes());
        img[24..32].copy_from_slice(&u64::from(entry.unwrap_or(0)).to_le_bytes());
        img[32..40].copy_from_slice(&(elf::EHDR_LEN as u64).to_le_bytes());
        img[52..54].copy_from_slice(&(elf::EHDR_LEN as u16).to_le_bytes());
        img[54..56].copy_from_slice(&(elf::PHDR_LEN as u16).to_le_bytes());
        img[56..58].copy_from_slice(&(phdrs.len() as u16).to_le_bytes());
        for (kind, flags, off, paddr, filesz, memsz) in &phdrs {
            let mut ph = [0u8; elf::PHDR_LEN];
            ph[0..4].copy_from_slice(&kind.to_le_bytes());
            ph[4..8].copy_from_slice(&flags.to_le_bytes());
            ph[8..16].copy_from_slice(&off.to_le_bytes());
            ph[16..24].copy_from_slice(&paddr.to_le_bytes());
            ph[24..32].copy_from_slice(&paddr.to_le_bytes());
            ph[32..40].copy_from_slice(&filesz.to_le_bytes());
            ph[40..48].copy_from_slice(&memsz.to_le_bytes());
            ph[48..56].copy_from_slice(&0x1000u64.to_le_bytes());
            img.extend_from_slice(&ph);
        }
        for &(_, _, _, filesz, _) in segments {
            img.extend(std::iter::repeat_n(0x90u8, filesz as usize));
        }
        img.extend_from_slice(&note);
        img
    }

    const RAM: u64 = 128 << 20;
    const RX: u32 = 5;
    const RW: u32 = 6;

    fn good() -> Vec<u8> {
        make_elf(
            &[
                (elf::PT_LOAD, RX, 0x10_0000, 0x100, 0x100),
                (elf::PT_LOAD, RW, 0x10_1000, 0x10, 0x2000),
            ],
            Some(0x10_0000),
        )
    }

    #[test]
    fn accepts_a_good_kernel() {
        assert_eq!(
            check_kernel(&good(), RAM),
            Ok(KernelInfo {
                entry: 0x10_0000,
                end: 0x10_3000
            })
        );
    }

    #[test]
    fn rejects_bad_headers() {
        use KernelError::*;
        assert_eq!(check_kernel(b"", RAM), Err(Empty));
        assert_eq!(check_kernel(b"\x7fELF", RAM), Err(TooShort(4)));
        let mut img = good();
        img[0] = b'M';
        assert_eq!(check_kernel(&img, RAM), Err(NotElf));
        let mut img = good();
        img[4] = elf::CLASS32;
        assert_eq!(check_kernel(&img, RAM), Err(Elf32));
        let mut img = good();
        img[5] = 2;
        assert_eq!(check_kernel(&img, RAM), Err(BigEndian));
        let mut img = good();
        img[18..20].copy_from_slice(&183u16.to_le_bytes());
        assert_eq!(check_kernel(&img, RAM), Err(WrongMachine("AArch64".into())));
        let mut img = good();
        img[54] = 32;
        assert_eq!(check_kernel(&img, RAM), Err(BadPhentsize(32)));
        let mut img = good();
        img[56..58].copy_from_slice(&1000u16.to_le_bytes());
        assert!(matches!(
            check_kernel(&img, RAM),
            Err(TruncatedProgramHeaders { count: 1000, .. })
        ));
        // Truncating the file cuts into the last segment's data.
        let img = good();
        assert!(matches!(
            check_kernel(&img[..img.len() - 5], RAM),
            Err(SegmentPastEnd { .. })
        ));
    }

    #[test]
    fn rejects_bad_segments() {
        use KernelError::*;
        let check = |segs: &[(u32, u32, u64, u64, u64)], entry| {
            check_kernel(&make_elf(segs, Some(entry)), RAM)
        };
        assert!(matches!(
            check(&[(elf::PT_LOAD, RX, 0x7000, 0x10, 0x10)], 0x7000),
            Err(OverBootStructures { .. })
        ));
        assert!(matches!(
            check(&[(elf::PT_LOAD, RX, 0x2_0000, 0x10, 0x10)], 0x2_0000),
            Err(BelowHighMemory { .. })
        ));
        assert!(matches!(
            check(&[(elf::PT_LOAD, RX, 0x4000_0000, 0x10, 0x10)], 0x4000_0000),
            Err(OutsideRam { .. })
        ));
        assert!(matches!(
            check(
                &[(elf::PT_LOAD, RX, 0x10_0000, 0x10, 0x1_0000_0000)],
                0x10_0000
            ),
            Err(OutsideRam { .. })
        ));
        assert!(matches!(
            check(&[(elf::PT_LOAD, RX, u64::MAX - 4, 0x10, 0x10)], 0x10_0000),
            Err(AddressOverflow { .. })
        ));
        assert!(matches!(
            check(&[(elf::PT_LOAD, RX, 0x10_0000, 0x20, 0x10)], 0x10_0000),
            Err(FileszOverMemsz { .. })
        ));
        assert_eq!(
            check(
                &[
                    (elf::PT_LOAD, RX, 0x10_0000, 0x10, 0x2000),
                    (elf::PT_LOAD, RW, 0x10_1000, 0x10, 0x10)
                ],
                0x10_0000
            ),
            Err(Overlap(0, 1))
        );
        assert_eq!(
            check(&[(elf::PT_LOAD, RW, 0x10_0000, 0x10, 0x10)], 0x10_0000),
            Err(EntryOutside(0x10_0000))
        );
        assert_eq!(
            check_kernel(
                &make_elf(&[(elf::PT_LOAD, RX, 0x10_0000, 0x10, 0x10)], None),
                RAM
            ),
            Err(NoPvhNote)
        );
    }

    #[test]
    fn loads_into_guest_memory() {
        let mem = GuestMemoryMmap::from_ranges(&[(GuestAddress(0), RAM as usize)]).unwrap();
        let img = good();
        let info = check_kernel(&img, RAM).unwrap();
        load_kernel(&mem, &img, &info).unwrap();
        let mut b = [0u8; 4];
        mem.read_slice(&mut b, GuestAddress(0x10_0000)).unwrap();
        assert_eq!(b, [0x90; 4]);
    }

    #[test]
    fn places_the_initrd_at_the_top() {
        let mut cpio = Vec::new();
        let mut out = |b: &[u8]| cpio.extend_from_slice(b);
        abi::cpio::write_member(&mut out, 1, "a", abi::cpio::MODE_FILE, b"xyz");
        abi::cpio::write_trailer(&mut out);
        let addr = place_initrd(&cpio, 0x20_0000, RAM).unwrap();
        assert_eq!(addr % abi::PAGE_SIZE, 0);
        assert!(addr + cpio.len() as u64 <= RAM);
        assert!(addr >= RAM - 2 * abi::PAGE_SIZE);
        assert!(matches!(
            place_initrd(&cpio, RAM - 16, RAM),
            Err(InitrdError::TooLarge { .. })
        ));
        assert!(matches!(
            place_initrd(b"garbage", 0x20_0000, RAM),
            Err(InitrdError::NotCpio(_))
        ));
    }

    /// The embedded kernel corrupted thousands of ways: the checks never
    /// panic, and whatever they accept linux-loader loads without error,
    /// so no file is ever half-loaded.
    #[test]
    fn corrupted_kernels_are_rejected_or_load_whole() {
        let good = crate::guest::KERNEL;
        let ram = 64u64 << 20;
        let mem = GuestMemoryMmap::from_ranges(&[(GuestAddress(0), ram as usize)]).unwrap();
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let headers = elf::EHDR_LEN + 8 * elf::PHDR_LEN;
        let (mut accepted, mut rejected) = (0, 0);
        for _ in 0..3000 {
            let mut k = good.to_vec();
            for _ in 0..1 + next() % 3 {
                // Mostly in the headers, where the decisions are made.
                let i = (next() % headers as u64) as usize;
                k[i] = next() as u8;
            }
            if next() % 8 == 0 {
                k.truncate((next() % k.len() as u64) as usize);
            }
            match check_kernel(&k, ram) {
                Ok(info) => {
                    accepted += 1;
                    load_kernel(&mem, &k, &info).unwrap();
                }
                Err(_) => rejected += 1,
            }
        }
        assert!(
            accepted > 0 && rejected > 0,
            "{accepted} accepted, {rejected} rejected"
        );
    }
}
