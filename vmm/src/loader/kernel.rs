//! The kernel: an x86_64 ELF64 with a PVH entry note, checked, then loaded
//! by `linux-loader`.
//!
//! `linux-loader` copies the segments, but trusts the file: it reads a
//! 32-bit ELF's headers as 64-bit ones, loads any machine's code, writes
//! wherever `p_paddr` says (over our boot structures, one segment over
//! another), ignores `p_memsz` past the end of RAM and never asks whether the
//! entry point is code. [`check_kernel`] first checks what it does not
//! (class, encoding, machine, header bounds, segment data inside the file,
//! segments inside RAM and clear of our boot structures and of each other,
//! the entry inside an executable segment). Whatever `check_kernel` accepts,
//! [`load_kernel`] loads whole.

use std::io::Cursor;

use linux_loader::loader::KernelLoader;
use linux_loader::loader::elf::Elf;
use vm_memory::{GuestAddress, GuestMemoryMmap};

use abi::elf;

use crate::arch::x86_64::layout;

/// Why a kernel image cannot be booted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KernelError {
    /// Not an x86_64 ELF64 file with sound headers.
    #[error("{error}{context}", context = elf_context(.error, *.len))]
    Elf {
        /// What is wrong.
        error: elf::Error,
        /// The file's length.
        len: usize,
    },
    /// A segment's data lies (partly) outside the file.
    #[error(
        "segment {index}: its data (offset {offset:#x}, {size} bytes) runs past the end of the file"
    )]
    SegmentPastEnd {
        /// The segment's program header index.
        index: usize,
        /// `p_offset`.
        offset: u64,
        /// `p_filesz`.
        size: u64,
    },
    /// A segment has more bytes in the file than in memory.
    #[error("segment {index}: file size {filesz:#x} is larger than its memory size {memsz:#x}")]
    FileszOverMemsz {
        /// The segment's program header index.
        index: usize,
        /// `p_filesz`.
        filesz: u64,
        /// `p_memsz`.
        memsz: u64,
    },
    /// A segment's end address does not fit in 64 bits.
    #[error("segment {index}: address {addr:#x} + size {size:#x} overflows")]
    AddressOverflow {
        /// The segment's program header index.
        index: usize,
        /// `p_paddr`.
        addr: u64,
        /// `p_memsz`.
        size: u64,
    },
    /// A segment starts below [`layout::BOOT_STRUCTS_END`].
    #[error(
        "segment {index} ({start:#x}-{end:#x}) overlaps the VMM's boot structures ({:#x}-{:#x}); load the kernel at or above {:#x}",
        0,
        layout::BOOT_STRUCTS_END,
        layout::HIMEM_START
    )]
    OverBootStructures {
        /// The segment's program header index.
        index: usize,
        /// Its first address.
        start: u64,
        /// Its end (exclusive).
        end: u64,
    },
    /// A segment starts below [`layout::HIMEM_START`].
    #[error(
        "segment {index} ({start:#x}-{end:#x}) is below 1 MiB; load the kernel at or above {:#x}",
        layout::HIMEM_START
    )]
    BelowHighMemory {
        /// The segment's program header index.
        index: usize,
        /// Its first address.
        start: u64,
        /// Its end (exclusive).
        end: u64,
    },
    /// A segment starts past the end of guest RAM.
    #[error(
        "segment {index} ({start:#x}-{end:#x}) lies outside guest RAM (which ends at {ram_end:#x}); raise --memory or relink the kernel"
    )]
    OutsideRam {
        /// The segment's program header index.
        index: usize,
        /// Its first address.
        start: u64,
        /// Its end (exclusive).
        end: u64,
        /// The end of guest RAM.
        ram_end: u64,
    },
    /// Two segments share addresses.
    #[error(
        "segments {first} ({first_start:#x}-{first_end:#x}) and {second} ({second_start:#x}-{second_end:#x}) overlap"
    )]
    Overlap {
        /// The earlier segment's program header index.
        first: usize,
        /// Its first address.
        first_start: u64,
        /// Its end (exclusive).
        first_end: u64,
        /// The later segment's program header index.
        second: usize,
        /// Its first address.
        second_start: u64,
        /// Its end (exclusive).
        second_end: u64,
    },
    /// A segment starts in guest RAM but ends past it.
    #[error(
        "segment {index} ({start:#x}-{end:#x}: {filesz:#x} bytes in the file, {memsz:#x} in memory) runs past the end of guest RAM at {ram_end:#x}; raise --memory or shrink the kernel's BSS"
    )]
    PastRamEnd {
        /// The segment's program header index.
        index: usize,
        /// Its first address.
        start: u64,
        /// Its end (exclusive).
        end: u64,
        /// `p_filesz`.
        filesz: u64,
        /// `p_memsz`.
        memsz: u64,
        /// The end of guest RAM.
        ram_end: u64,
    },
    /// No `PT_LOAD` segment with memory.
    #[error("no loadable segment")]
    NoLoadableSegment,
    /// No `XEN_ELFNOTE_PHYS32_ENTRY` note.
    #[error(
        "no PVH entry point (an ELF note \"Xen\" of type 18, XEN_ELFNOTE_PHYS32_ENTRY); vmm boots PVH kernels only"
    )]
    NoPvhNote,
    /// The PVH entry point is not in an executable segment.
    #[error("the PVH entry point {0:#x} is not inside an executable segment")]
    EntryOutside(u64),
    /// linux-loader failed on a kernel [`check_kernel`] accepted (a bug).
    #[error("linux-loader could not load it: {0}")]
    Loader(String),
}

/// What [`check_kernel`] learned about a kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelInfo {
    /// Guest-physical address of the 32-bit PVH entry point.
    pub entry: u64,
    /// First address past the highest segment.
    pub end: u64,
}

/// What an ELF error's own text leaves out: the file's length when the
/// program header table runs past it, what a kernel must be when the class
/// is wrong.
fn elf_context(e: &elf::Error, len: usize) -> String {
    match e {
        elf::Error::TruncatedProgramHeaders { .. } => format!(" ({len} bytes)"),
        elf::Error::Elf32 | elf::Error::BadClass(_) => {
            "; the kernel must be a 64-bit x86_64 ELF".into()
        }
        _ => String::new(),
    }
}

/// Checks a kernel image against guest RAM of `ram_end` bytes, without
/// touching guest memory. Every error is a reason the file cannot boot.
pub fn check_kernel(image: &[u8], ram_end: u64) -> Result<KernelInfo, KernelError> {
    use KernelError::*;
    let header = elf::parse(image).map_err(|error| Elf {
        error,
        len: image.len(),
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
        if start >= ram_end {
            return Err(OutsideRam {
                index,
                start,
                end,
                ram_end,
            });
        }
        if end > ram_end {
            return Err(PastRamEnd {
                index,
                start,
                end,
                filesz: p.filesz,
                memsz: p.memsz,
                ram_end,
            });
        }
        if let Some(&(first, first_start, first_end, _)) =
            loads.iter().find(|(_, s, e, _)| start < *e && *s < end)
        {
            return Err(Overlap {
                first,
                first_start,
                first_end,
                second: index,
                second_start: start,
                second_end: end,
            });
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

/// Loads a kernel [`check_kernel`] accepted into fresh guest memory with
/// linux-loader, which copies each `PT_LOAD` segment's `p_filesz` bytes to
/// its `p_paddr`. It cannot fail on such a kernel: every read lies inside the
/// file, every write inside RAM.
///
/// We pass it a load offset of 0, which loads at `p_paddr` all the same but
/// stops it reading the PVH note: the entry is the one `check_kernel` found.
/// linux-loader's own note reading keeps only the last `PT_NOTE` segment's
/// answer (a later note segment hides the PVH note) and fails on notes we
/// skip, so a kernel we accepted could fail here, after KVM and memory were
/// set up and some segments copied.
///
/// The BSS (the `p_memsz - p_filesz` bytes after a segment's file data) is
/// not written: guest RAM is a fresh anonymous mapping, zero-filled by the
/// host, and nothing the VMM writes before the vCPU starts lands inside a
/// segment (`check_kernel` keeps them above the boot structures and
/// [`place_initrd`](crate::loader::place_initrd) puts the initrd above the kernel's end). RAM that had
/// been used before would need those bytes zeroed here.
pub fn load_kernel(mem: &GuestMemoryMmap, image: &[u8]) -> Result<(), KernelError> {
    Elf::load(mem, Some(GuestAddress(0)), &mut Cursor::new(image), None)
        .map_err(|e| KernelError::Loader(e.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use vm_memory::Bytes;

    use super::*;
    use crate::arch::x86_64::pvh::write_boot_info;
    use crate::elf_edit::{
        build, data_segment, edit_program_header, headers_of, program_headers, put_u16, put_u64,
    };
    use crate::loader::place_initrd;

    const RAM: u64 = 128 << 20;
    const RX: u32 = elf::PF_R | elf::PF_X;
    const RW: u32 = elf::PF_R | elf::PF_W;

    fn good() -> Vec<u8> {
        build(
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
        let elf_error = |img: &[u8]| match check_kernel(img, RAM) {
            Err(KernelError::Elf { error, len }) => {
                assert_eq!(len, img.len());
                error
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(elf_error(b""), elf::Error::Empty);
        assert_eq!(elf_error(b"\x7fELF"), elf::Error::TooShort(4));
        let mut img = good();
        img[0] = b'M';
        assert_eq!(elf_error(&img), elf::Error::NotElf);
        let mut img = good();
        img[elf::EI_CLASS] = elf::CLASS32;
        assert_eq!(elf_error(&img), elf::Error::Elf32);
        let mut img = good();
        img[elf::EI_DATA] = elf::DATA_MSB;
        assert_eq!(elf_error(&img), elf::Error::BigEndian);
        let mut img = good();
        put_u16(&mut img, elf::E_MACHINE, 183);
        assert_eq!(elf_error(&img), elf::Error::WrongMachine(183));
        assert_eq!(
            check_kernel(&img, RAM).unwrap_err().to_string(),
            "an ELF for AArch64, not x86_64"
        );
        let mut img = good();
        put_u16(&mut img, elf::E_PHENTSIZE, 32);
        assert_eq!(elf_error(&img), elf::Error::BadPhentsize(32));
        let mut img = good();
        put_u16(&mut img, elf::E_PHNUM, 1000);
        assert!(matches!(
            elf_error(&img),
            elf::Error::TruncatedProgramHeaders { count: 1000, .. }
        ));
        // Truncating the file cuts into the last segment's data.
        let img = good();
        assert!(matches!(
            check_kernel(&img[..img.len() - 5], RAM),
            Err(KernelError::SegmentPastEnd { .. })
        ));
    }

    #[test]
    fn rejects_bad_segments() {
        use KernelError::*;
        let check = |segs: &[(u32, u32, u64, u64, u64)], entry| {
            check_kernel(&build(segs, Some(entry)), RAM)
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
            Err(PastRamEnd { .. })
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
            Err(Overlap {
                first: 0,
                first_start: 0x10_0000,
                first_end: 0x10_2000,
                second: 1,
                second_start: 0x10_1000,
                second_end: 0x10_1010
            })
        );
        assert_eq!(
            check(&[(elf::PT_LOAD, RW, 0x10_0000, 0x10, 0x10)], 0x10_0000),
            Err(EntryOutside(0x10_0000))
        );
        assert_eq!(
            check_kernel(
                &build(&[(elf::PT_LOAD, RX, 0x10_0000, 0x10, 0x10)], None),
                RAM
            ),
            Err(NoPvhNote)
        );
    }

    #[test]
    fn loads_into_guest_memory() {
        let mem = GuestMemoryMmap::from_ranges(&[(GuestAddress(0), RAM as usize)]).unwrap();
        let img = good();
        check_kernel(&img, RAM).unwrap();
        load_kernel(&mem, &img).unwrap();
        let mut b = [0u8; 4];
        mem.read_slice(&mut b, GuestAddress(0x10_0000)).unwrap();
        assert_eq!(b, [0x90; 4]);
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
        let header = elf::parse(good).unwrap();
        let note = elf::program_headers(good, &header)
            .find(|p| p.kind == elf::PT_NOTE)
            .unwrap();
        let (mut accepted, mut rejected) = (0, 0);
        for _ in 0..3000 {
            let mut k = good.to_vec();
            for _ in 0..1 + next() % 3 {
                // Mostly in the headers, where the decisions are made, and
                // in the PVH note.
                let i = if next() % 4 == 0 {
                    (note.offset + next() % note.filesz) as usize
                } else {
                    (next() % headers as u64) as usize
                };
                k[i] = next() as u8;
            }
            if next() % 8 == 0 {
                k.truncate((next() % k.len() as u64) as usize);
            }
            match check_kernel(&k, ram) {
                Ok(_) => {
                    accepted += 1;
                    load_kernel(&mem, &k).unwrap();
                }
                Err(_) => rejected += 1,
            }
        }
        assert!(
            accepted > 0 && rejected > 0,
            "{accepted} accepted, {rejected} rejected"
        );
    }

    /// linux-loader keeps only the last `PT_NOTE` segment's answer; a
    /// kernel whose PVH note is followed by another note segment passes our
    /// checks and must load (`load_kernel` does not let linux-loader read
    /// the notes).
    #[test]
    fn a_later_note_segment_does_not_hide_the_pvh_note() {
        let mut img = build(
            &[
                (elf::PT_LOAD, RX, 0x10_0000, 0x100, 0x100),
                (elf::PT_NOTE, 4, 0, 0, 0),
            ],
            Some(0x10_0000),
        );
        // Swap the empty note segment (header 1) and the PVH note (2).
        let phdrs = program_headers(&img);
        edit_program_header(&mut img, 1, |p| *p = phdrs[2]);
        edit_program_header(&mut img, 2, |p| *p = phdrs[1]);
        let info = check_kernel(&img, RAM).unwrap();
        assert_eq!(info.entry, 0x10_0000);
        let mem = GuestMemoryMmap::from_ranges(&[(GuestAddress(0), RAM as usize)]).unwrap();
        load_kernel(&mem, &img).unwrap();
    }

    /// The BSS is zero when the guest starts: linux-loader copies only the
    /// file bytes, RAM is fresh, and neither the initrd nor the boot
    /// structures land inside a segment.
    #[test]
    fn the_bss_is_zero_after_loading() {
        let mem = GuestMemoryMmap::from_ranges(&[(GuestAddress(0), RAM as usize)]).unwrap();
        let img = good();
        let info = check_kernel(&img, RAM).unwrap();
        load_kernel(&mem, &img).unwrap();
        let mut cpio = Vec::new();
        let mut out = |b: &[u8]| cpio.extend_from_slice(b);
        abi::cpio::write_member(&mut out, 1, "a", abi::cpio::MODE_FILE, &[0xAA; 5000]);
        abi::cpio::write_trailer(&mut out);
        let addr = place_initrd(&cpio, info.end, RAM).unwrap();
        mem.write_slice(&cpio, GuestAddress(addr)).unwrap();
        write_boot_info(&mem, RAM, "verbose", Some((addr, cpio.len() as u64))).unwrap();
        // The RW segment: 0x10 bytes of file at 0x10_1000, 0x2000 in memory.
        let mut file = [0u8; 0x10];
        mem.read_slice(&mut file, GuestAddress(0x10_1000)).unwrap();
        assert_eq!(file, [0x90; 0x10]);
        let mut bss = vec![0xFFu8; 0x2000 - 0x10];
        mem.read_slice(&mut bss, GuestAddress(0x10_1010)).unwrap();
        assert!(bss.iter().all(|&b| b == 0));
    }

    /// The PT_LOAD header of the segment holding the PVH entry.
    fn entry_segment(k: &[u8]) -> usize {
        let entry = check_kernel(k, RAM).unwrap().entry;
        let phdrs = program_headers(k);
        headers_of(k, elf::PT_LOAD)
            .into_iter()
            .find(|&i| phdrs[i].paddr <= entry && entry < phdrs[i].paddr + phdrs[i].memsz)
            .unwrap()
    }

    /// Every kind of malformed kernel, made from the embedded one: each
    /// is rejected before anything touches memory, with an error that
    /// names the problem. tests/host_errors.rs runs the same through the
    /// binary.
    #[test]
    fn malformed_kernels_table() {
        type Corrupt = fn(&mut Vec<u8>);
        let cases: &[(&str, Corrupt, &str)] = &[
            ("empty", |k| k.clear(), "the file is empty"),
            ("short", |k| k.truncate(40), "only 40 bytes: too short"),
            ("magic", |k| k[1] = b'X', "not an ELF file"),
            (
                "32-bit",
                |k| k[elf::EI_CLASS] = elf::CLASS32,
                "a 32-bit ELF",
            ),
            ("class", |k| k[elf::EI_CLASS] = 7, "bad ELF class 7"),
            (
                "big-endian",
                |k| k[elf::EI_DATA] = elf::DATA_MSB,
                "big-endian",
            ),
            (
                "encoding",
                |k| k[elf::EI_DATA] = 9,
                "bad ELF data encoding 9",
            ),
            (
                "machine",
                |k| put_u16(k, elf::E_MACHINE, 183),
                "an ELF for AArch64",
            ),
            (
                "phentsize",
                |k| put_u16(k, elf::E_PHENTSIZE, 64),
                "program header size 64",
            ),
            (
                "phoff",
                |k| put_u64(k, elf::E_PHOFF, 16),
                "offset 16 (inside the 64-byte",
            ),
            (
                "phoff past end",
                |k| {
                    let len = k.len() as u64;
                    put_u64(k, elf::E_PHOFF, len - 8);
                },
                "program header table",
            ),
            (
                "phnum",
                |k| put_u16(k, elf::E_PHNUM, 0xFFFF),
                "65535 entries",
            ),
            (
                "no phdrs",
                |k| put_u16(k, elf::E_PHNUM, 0),
                "no program headers",
            ),
            (
                "data past end",
                |k| {
                    let len = k.len() as u64;
                    let i = headers_of(k, elf::PT_LOAD)[0];
                    edit_program_header(k, i, |p| p.offset = len - 16);
                },
                "runs past the end of the file",
            ),
            (
                "filesz > memsz",
                |k| {
                    let i = data_segment(k);
                    edit_program_header(k, i, |p| p.memsz = p.filesz - 1)
                },
                "larger than its memory size",
            ),
            (
                "address overflow",
                |k| {
                    let i = data_segment(k);
                    edit_program_header(k, i, |p| p.paddr = u64::MAX - 0x1000)
                },
                "overflows",
            ),
            (
                "overlap",
                |k| {
                    let loads = headers_of(k, elf::PT_LOAD);
                    let paddr = program_headers(k)[loads[1]].paddr;
                    edit_program_header(k, loads[2], |p| p.paddr = paddr + 0x10);
                },
                "overlap",
            ),
            (
                "below 1 MiB",
                |k| {
                    let i = headers_of(k, elf::PT_LOAD)[0];
                    edit_program_header(k, i, |p| p.paddr = 0x8_0000)
                },
                "is below 1 MiB",
            ),
            (
                "boot structures",
                |k| {
                    let i = headers_of(k, elf::PT_LOAD)[0];
                    edit_program_header(k, i, |p| p.paddr = 0x6000)
                },
                "overlaps the VMM's boot structures",
            ),
            (
                "outside RAM",
                |k| {
                    let i = data_segment(k);
                    edit_program_header(k, i, |p| p.paddr = 0x4000_0000)
                },
                "lies outside guest RAM",
            ),
            (
                "huge BSS",
                |k| {
                    let i = data_segment(k);
                    edit_program_header(k, i, |p| p.memsz = 0x4000_0000)
                },
                "runs past the end of guest RAM",
            ),
            (
                "entry not in code",
                |k| {
                    let i = entry_segment(k);
                    edit_program_header(k, i, |p| p.flags &= !elf::PF_X)
                },
                "not inside an executable segment",
            ),
            (
                "no PT_LOAD",
                |k| {
                    for i in headers_of(k, elf::PT_LOAD) {
                        edit_program_header(k, i, |p| p.kind = 0);
                    }
                },
                "no loadable segment",
            ),
            (
                "no PVH note",
                |k| {
                    for i in headers_of(k, elf::PT_NOTE) {
                        edit_program_header(k, i, |p| p.kind = 0);
                    }
                },
                "no PVH entry point",
            ),
        ];
        for (name, corrupt, phrase) in cases {
            let mut k = crate::guest::KERNEL.to_vec();
            corrupt(&mut k);
            match check_kernel(&k, RAM) {
                Ok(info) => panic!("{name}: accepted ({info:?})"),
                Err(e) => {
                    let msg = e.to_string();
                    assert!(!matches!(e, KernelError::Loader(_)), "{name}: {msg}");
                    assert!(msg.contains(phrase), "{name}: want {phrase:?} in {msg:?}");
                    assert!(!msg.contains('\n'), "{name}: {msg:?}");
                }
            }
        }
    }
}
