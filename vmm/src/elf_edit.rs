//! Making and editing ELF64 files, for tests: small kernels built from a
//! list of segments, and malformed kernels made from a good one. Fields are
//! read and written where `abi::elf` (which the kernel checks use) says
//! they are.
//!
//! The functions that read a file's headers panic when `abi::elf::parse`
//! refuses them: they are for tests, on files whose headers are sound.

use abi::elf::{self, Header, ProgramHeader};

/// A segment of [`build`]: `p_type`, `p_flags`, `p_paddr` (also its
/// `p_vaddr`), `p_filesz`, `p_memsz`.
pub type Segment = (u32, u32, u64, u64, u64);

/// A minimal x86_64 ELF64 executable: a program header for each of
/// `segments`, each segment's data (`p_filesz` bytes of 0x90, `nop`) at its
/// own offset, and a PVH note pointing at `entry` when given.
pub fn build(segments: &[Segment], entry: Option<u32>) -> Vec<u8> {
    let mut note = Vec::new();
    if let Some(e) = entry {
        for word in [4, 4, abi::pvh::XEN_ELFNOTE_PHYS32_ENTRY] {
            note.extend_from_slice(&word.to_le_bytes());
        }
        note.extend_from_slice(b"Xen\0");
        note.extend_from_slice(&e.to_le_bytes());
    }
    let phnum = segments.len() + usize::from(entry.is_some());
    let mut offset = (elf::EHDR_LEN + phnum * elf::PHDR_LEN) as u64;
    let mut phdrs = Vec::new();
    for &(kind, flags, paddr, filesz, memsz) in segments {
        phdrs.push(ProgramHeader {
            kind,
            flags,
            offset,
            vaddr: paddr,
            paddr,
            filesz,
            memsz,
        });
        offset += filesz;
    }
    if entry.is_some() {
        phdrs.push(ProgramHeader {
            kind: elf::PT_NOTE,
            flags: elf::PF_R,
            offset,
            vaddr: 0,
            paddr: 0,
            filesz: note.len() as u64,
            memsz: 0,
        });
    }
    let header = Header {
        kind: elf::ET_EXEC,
        entry: u64::from(entry.unwrap_or(0)),
        phoff: elf::EHDR_LEN as u64,
        phnum: phnum as u16,
    };
    let mut file = vec![0u8; offset as usize];
    header.write(&mut file);
    for (i, p) in phdrs.iter().enumerate() {
        p.write(&mut file, header.phdr_offset(i));
    }
    for p in &phdrs[..segments.len()] {
        file[p.offset as usize..(p.offset + p.filesz) as usize].fill(0x90);
    }
    file.extend_from_slice(&note);
    file
}

fn header(file: &[u8]) -> Header {
    elf::parse(file).expect("an ELF file whose headers abi::elf accepts")
}

/// The program headers, in file order.
pub fn program_headers(file: &[u8]) -> Vec<ProgramHeader> {
    elf::program_headers(file, &header(file)).collect()
}

/// The indices of the program headers of type `kind` (`elf::PT_*`).
pub fn headers_of(file: &[u8], kind: u32) -> Vec<usize> {
    let phdrs = program_headers(file);
    (0..phdrs.len())
        .filter(|&i| phdrs[i].kind == kind)
        .collect()
}

/// The index of the `PT_LOAD` header with the largest BSS (`p_memsz` beyond
/// `p_filesz`): a kernel's data segment.
pub fn data_segment(file: &[u8]) -> usize {
    let phdrs = program_headers(file);
    headers_of(file, elf::PT_LOAD)
        .into_iter()
        .max_by_key(|&i| phdrs[i].memsz - phdrs[i].filesz)
        .expect("a PT_LOAD segment")
}

/// Changes program header `index`: `edit` changes its fields, which are
/// written back in place.
pub fn edit_program_header(file: &mut [u8], index: usize, edit: impl FnOnce(&mut ProgramHeader)) {
    let mut p = program_headers(file)[index];
    edit(&mut p);
    p.write(file, header(file).phdr_offset(index));
}

/// Writes `value` little-endian at byte `at`, e.g. [`elf::E_MACHINE`].
pub fn put_u16(file: &mut [u8], at: usize, value: u16) {
    file[at..at + 2].copy_from_slice(&value.to_le_bytes());
}

/// Writes `value` little-endian at byte `at`, e.g. [`elf::E_PHOFF`].
pub fn put_u64(file: &mut [u8], at: usize, value: u64) {
    file[at..at + 8].copy_from_slice(&value.to_le_bytes());
}
