//! Reading ELF64 executables without allocating: the VMM checks the kernel
//! with it and the kernel loads user programs with it.
//!
//! Only what a loader needs: the file header and the program headers
//! (System V gABI, "ELF Header" and "Program Header"). Every offset and size
//! is bounds-checked; malformed input is an [`Error`], never a panic.

/// Size of an ELF64 file header.
pub const EHDR_LEN: usize = 64;
/// Size of an ELF64 program header.
pub const PHDR_LEN: usize = 56;
/// The magic number.
pub const MAGIC: &[u8; 4] = b"\x7fELF";
/// `e_ident[EI_CLASS]` of a 32-bit file.
pub const CLASS32: u8 = 1;
/// `e_ident[EI_CLASS]` of a 64-bit file.
pub const CLASS64: u8 = 2;
/// `e_ident[EI_DATA]` of a little-endian file.
pub const DATA_LSB: u8 = 1;
/// `e_ident[EI_DATA]` of a big-endian file.
pub const DATA_MSB: u8 = 2;
/// `e_type` of an executable.
pub const ET_EXEC: u16 = 2;
/// `e_machine` of x86_64.
pub const EM_X86_64: u16 = 62;
/// A loadable segment.
pub const PT_LOAD: u32 = 1;
/// A segment of notes.
pub const PT_NOTE: u32 = 4;
/// Segment flag: executable.
pub const PF_X: u32 = 1;
/// Segment flag: writable.
pub const PF_W: u32 = 2;
/// Segment flag: readable.
pub const PF_R: u32 = 4;

// Byte offsets of the fields a loader uses, in the file header and in a
// program header; little-endian, of the sizes the gABI gives them.
/// `e_ident[EI_CLASS]` (1 byte).
pub const EI_CLASS: usize = 4;
/// `e_ident[EI_DATA]` (1 byte).
pub const EI_DATA: usize = 5;
/// `e_ident[EI_VERSION]` (1 byte).
pub const EI_VERSION: usize = 6;
/// `e_type` (2 bytes).
pub const E_TYPE: usize = 16;
/// `e_machine` (2 bytes).
pub const E_MACHINE: usize = 18;
/// `e_entry` (8 bytes).
pub const E_ENTRY: usize = 24;
/// `e_phoff` (8 bytes).
pub const E_PHOFF: usize = 32;
/// `e_ehsize` (2 bytes).
pub const E_EHSIZE: usize = 52;
/// `e_phentsize` (2 bytes).
pub const E_PHENTSIZE: usize = 54;
/// `e_phnum` (2 bytes).
pub const E_PHNUM: usize = 56;
/// `p_type` (4 bytes).
pub const P_TYPE: usize = 0;
/// `p_flags` (4 bytes).
pub const P_FLAGS: usize = 4;
/// `p_offset` (8 bytes).
pub const P_OFFSET: usize = 8;
/// `p_vaddr` (8 bytes).
pub const P_VADDR: usize = 16;
/// `p_paddr` (8 bytes).
pub const P_PADDR: usize = 24;
/// `p_filesz` (8 bytes).
pub const P_FILESZ: usize = 32;
/// `p_memsz` (8 bytes).
pub const P_MEMSZ: usize = 40;

/// Why a file is not a usable x86_64 ELF64 executable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The file is empty.
    Empty,
    /// Shorter than the file header; its length.
    TooShort(usize),
    /// No ELF magic number.
    NotElf,
    /// A 32-bit ELF.
    Elf32,
    /// An unknown class.
    BadClass(u8),
    /// A big-endian ELF.
    BigEndian,
    /// An unknown data encoding (`e_ident[EI_DATA]`, neither little- nor
    /// big-endian).
    BadEncoding(u8),
    /// Another machine; its `e_machine`.
    WrongMachine(u16),
    /// A program header size other than 56.
    BadPhentsize(u16),
    /// No program headers.
    NoProgramHeaders,
    /// The program header table starts inside the file header; `e_phoff`.
    PhoffInHeader(u64),
    /// The program header table runs past the end of the file.
    TruncatedProgramHeaders {
        /// `e_phoff`.
        offset: u64,
        /// `e_phnum`.
        count: u16,
    },
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Error::Empty => write!(f, "the file is empty"),
            Error::TooShort(n) => {
                write!(
                    f,
                    "only {n} bytes: too short for an ELF header ({EHDR_LEN} bytes)"
                )
            }
            Error::NotElf => write!(f, "not an ELF file (bad magic number)"),
            Error::Elf32 => write!(f, "a 32-bit ELF"),
            Error::BadClass(c) => write!(f, "bad ELF class {c}"),
            Error::BigEndian => write!(f, "a big-endian ELF; x86_64 is little-endian"),
            Error::BadEncoding(d) => write!(
                f,
                "bad ELF data encoding {d} ({DATA_LSB} is little-endian, which x86_64 is)"
            ),
            Error::WrongMachine(m) => match machine_name(m) {
                Some(name) => write!(f, "an ELF for {name}, not x86_64"),
                None => write!(f, "an ELF for machine {m}, not x86_64"),
            },
            Error::BadPhentsize(n) => write!(
                f,
                "bad program header size {n} (an ELF64 program header is {PHDR_LEN} bytes)"
            ),
            Error::NoProgramHeaders => write!(f, "no program headers"),
            Error::PhoffInHeader(o) => write!(
                f,
                "bad program header table offset {o} (inside the {EHDR_LEN}-byte ELF header)"
            ),
            Error::TruncatedProgramHeaders { offset, count } => write!(
                f,
                "the program header table (offset {offset}, {count} entries) runs past the end of the file"
            ),
        }
    }
}

/// The name of a common `e_machine` other than x86_64.
fn machine_name(machine: u16) -> Option<&'static str> {
    Some(match machine {
        3 => "i386",
        8 => "MIPS",
        20 | 21 => "PowerPC",
        40 => "ARM",
        183 => "AArch64",
        243 => "RISC-V",
        _ => return None,
    })
}

/// The parts of the file header a loader uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// `e_type`.
    pub kind: u16,
    /// `e_entry`.
    pub entry: u64,
    /// `e_phoff`.
    pub phoff: u64,
    /// `e_phnum`.
    pub phnum: u16,
}

/// A program header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgramHeader {
    /// `p_type`.
    pub kind: u32,
    /// `p_flags` (`PF_*`).
    pub flags: u32,
    /// `p_offset`: where the segment's bytes start in the file.
    pub offset: u64,
    /// `p_vaddr`.
    pub vaddr: u64,
    /// `p_paddr`.
    pub paddr: u64,
    /// `p_filesz`: bytes in the file.
    pub filesz: u64,
    /// `p_memsz`: bytes in memory (the rest is zero).
    pub memsz: u64,
}

#[inline]
fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

#[inline]
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

#[inline]
fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(v)
}

fn put(b: &mut [u8], at: usize, le_bytes: &[u8]) {
    b[at..at + le_bytes.len()].copy_from_slice(le_bytes);
}

/// Checks the file header of an x86_64 ELF64 file and that its program
/// header table lies inside the file.
pub fn parse(file: &[u8]) -> Result<Header, Error> {
    if file.is_empty() {
        return Err(Error::Empty);
    }
    if file.len() < EHDR_LEN {
        return Err(Error::TooShort(file.len()));
    }
    if &file[..MAGIC.len()] != MAGIC {
        return Err(Error::NotElf);
    }
    match file[EI_CLASS] {
        CLASS64 => {}
        CLASS32 => return Err(Error::Elf32),
        c => return Err(Error::BadClass(c)),
    }
    match file[EI_DATA] {
        DATA_LSB => {}
        DATA_MSB => return Err(Error::BigEndian),
        d => return Err(Error::BadEncoding(d)),
    }
    let machine = u16_at(file, E_MACHINE);
    if machine != EM_X86_64 {
        return Err(Error::WrongMachine(machine));
    }
    let phentsize = u16_at(file, E_PHENTSIZE);
    if phentsize as usize != PHDR_LEN {
        return Err(Error::BadPhentsize(phentsize));
    }
    let header = Header {
        kind: u16_at(file, E_TYPE),
        entry: u64_at(file, E_ENTRY),
        phoff: u64_at(file, E_PHOFF),
        phnum: u16_at(file, E_PHNUM),
    };
    if header.phnum == 0 {
        return Err(Error::NoProgramHeaders);
    }
    if header.phoff < EHDR_LEN as u64 {
        return Err(Error::PhoffInHeader(header.phoff));
    }
    let end = header
        .phoff
        .checked_add(u64::from(header.phnum) * PHDR_LEN as u64);
    if end.is_none_or(|end| end > file.len() as u64) {
        return Err(Error::TruncatedProgramHeaders {
            offset: header.phoff,
            count: header.phnum,
        });
    }
    Ok(header)
}

/// The program headers of a file [`parse`] accepted.
pub fn program_headers<'a>(
    file: &'a [u8],
    header: &Header,
) -> impl Iterator<Item = ProgramHeader> + 'a {
    let phoff = header.phoff as usize;
    (0..header.phnum as usize).map(move |i| {
        let at = phoff + i * PHDR_LEN;
        ProgramHeader {
            kind: u32_at(file, at + P_TYPE),
            flags: u32_at(file, at + P_FLAGS),
            offset: u64_at(file, at + P_OFFSET),
            vaddr: u64_at(file, at + P_VADDR),
            paddr: u64_at(file, at + P_PADDR),
            filesz: u64_at(file, at + P_FILESZ),
            memsz: u64_at(file, at + P_MEMSZ),
        }
    })
}

impl Header {
    /// Where program header `index` starts in the file.
    pub fn phdr_offset(&self, index: usize) -> usize {
        self.phoff as usize + index * PHDR_LEN
    }

    /// Writes the file header of an x86_64 ELF64 file with these fields
    /// over the first [`EHDR_LEN`] bytes of `file`, with everything else
    /// [`parse`] checks (magic, class, data encoding, machine, program
    /// header size): for the tools and tests that make files.
    pub fn write(&self, file: &mut [u8]) {
        put(file, 0, MAGIC);
        file[EI_CLASS] = CLASS64;
        file[EI_DATA] = DATA_LSB;
        file[EI_VERSION] = 1;
        put(file, E_TYPE, &self.kind.to_le_bytes());
        put(file, E_MACHINE, &EM_X86_64.to_le_bytes());
        put(file, E_ENTRY, &self.entry.to_le_bytes());
        put(file, E_PHOFF, &self.phoff.to_le_bytes());
        put(file, E_EHSIZE, &(EHDR_LEN as u16).to_le_bytes());
        put(file, E_PHENTSIZE, &(PHDR_LEN as u16).to_le_bytes());
        put(file, E_PHNUM, &self.phnum.to_le_bytes());
    }
}

impl ProgramHeader {
    /// Writes these fields into the program header at byte `at` of `file`
    /// (`p_align`, which they lack, is left as it is): what
    /// [`program_headers`] reads back, for the tools and tests that make or
    /// edit files.
    pub fn write(&self, file: &mut [u8], at: usize) {
        put(file, at + P_TYPE, &self.kind.to_le_bytes());
        put(file, at + P_FLAGS, &self.flags.to_le_bytes());
        put(file, at + P_OFFSET, &self.offset.to_le_bytes());
        put(file, at + P_VADDR, &self.vaddr.to_le_bytes());
        put(file, at + P_PADDR, &self.paddr.to_le_bytes());
        put(file, at + P_FILESZ, &self.filesz.to_le_bytes());
        put(file, at + P_MEMSZ, &self.memsz.to_le_bytes());
    }

    /// The segment's bytes in the file, if they lie inside it.
    pub fn data<'a>(&self, file: &'a [u8]) -> Option<&'a [u8]> {
        let end = self.offset.checked_add(self.filesz)?;
        file.get(usize::try_from(self.offset).ok()?..usize::try_from(end).ok()?)
    }
}

/// The physical address of a PVH entry point in a PT_NOTE segment's bytes
/// (a note named "Xen" of type [`crate::pvh::XEN_ELFNOTE_PHYS32_ENTRY`]).
pub fn find_pvh_entry(mut notes: &[u8]) -> Option<u64> {
    let align4 = |n: usize| n.checked_add(3).map(|n| n & !3);
    while notes.len() >= 12 {
        let namesz = u32_at(notes, 0) as usize;
        let descsz = u32_at(notes, 4) as usize;
        let kind = u32_at(notes, 8);
        let name_end = 12usize.checked_add(align4(namesz)?)?;
        let desc_end = name_end.checked_add(align4(descsz)?)?;
        let name = notes.get(12..12usize.checked_add(namesz)?)?;
        let desc = notes.get(name_end..name_end.checked_add(descsz)?)?;
        if name == b"Xen\0" && kind == crate::pvh::XEN_ELFNOTE_PHYS32_ENTRY {
            return match descsz {
                4 => Some(u64::from(u32_at(desc, 0))),
                8 => Some(u64_at(desc, 0)),
                _ => None,
            };
        }
        notes = notes.get(desc_end..)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_garbage_without_panicking() {
        assert_eq!(parse(b""), Err(Error::Empty));
        assert_eq!(parse(b"\x7fELF"), Err(Error::TooShort(4)));
        assert_eq!(parse(&[0u8; 64]), Err(Error::NotElf));
        let mut h = [0u8; 64];
        h[..4].copy_from_slice(MAGIC);
        h[EI_CLASS] = CLASS64;
        h[EI_DATA] = DATA_LSB;
        h[E_MACHINE] = EM_X86_64 as u8;
        h[E_PHENTSIZE] = PHDR_LEN as u8;
        h[E_PHNUM] = 1;
        h[E_PHOFF] = 64;
        assert!(matches!(
            parse(&h),
            Err(Error::TruncatedProgramHeaders { count: 1, .. })
        ));
        // A table that would overlap the file header is not a table.
        h[E_PHOFF] = 8;
        assert_eq!(parse(&h), Err(Error::PhoffInHeader(8)));
        h[E_PHOFF] = 64;
        h[EI_DATA] = DATA_MSB;
        assert_eq!(parse(&h), Err(Error::BigEndian));
        h[EI_DATA] = 0;
        assert_eq!(parse(&h), Err(Error::BadEncoding(0)));
        h[EI_DATA] = DATA_LSB;
        // Offsets near u64::MAX must not overflow.
        h[E_PHOFF..E_PHOFF + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(parse(&h).is_err());
        assert_eq!(find_pvh_entry(&[0xFF; 40]), None);
        assert_eq!(find_pvh_entry(&[]), None);
    }

    #[test]
    fn segment_data_is_bounds_checked() {
        let p = ProgramHeader {
            kind: PT_LOAD,
            flags: PF_R,
            offset: 10,
            vaddr: 0,
            paddr: 0,
            filesz: u64::MAX,
            memsz: 0,
        };
        assert_eq!(p.data(&[0; 20]), None);
        let p = ProgramHeader { filesz: 5, ..p };
        assert_eq!(p.data(&[7; 20]), Some(&[7u8; 5][..]));
    }
}

#[cfg(test)]
mod mutation_tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    /// A small valid executable: two PT_LOAD segments and a PVH note.
    fn sample() -> Vec<u8> {
        let mut f = std::vec![0u8; EHDR_LEN + 3 * PHDR_LEN + 0x40];
        let header = Header {
            kind: ET_EXEC,
            entry: 0x40_0000,
            phoff: EHDR_LEN as u64,
            phnum: 3,
        };
        header.write(&mut f);
        let data = (EHDR_LEN + 3 * PHDR_LEN) as u64;
        let phdrs = [
            (PT_LOAD, PF_R | PF_X, data, 0x40_0000u64, 0x20u64, 0x20u64),
            (PT_LOAD, PF_R | PF_W, data + 0x20, 0x40_1000, 0x8, 0x1000),
            (PT_NOTE, PF_R, data + 0x28, 0, 0x18, 0),
        ];
        for (i, &(kind, flags, offset, vaddr, filesz, memsz)) in phdrs.iter().enumerate() {
            let p = ProgramHeader {
                kind,
                flags,
                offset,
                vaddr,
                paddr: vaddr,
                filesz,
                memsz,
            };
            p.write(&mut f, header.phdr_offset(i));
        }
        let note = data as usize + 0x28;
        f[note..note + 4].copy_from_slice(&4u32.to_le_bytes());
        f[note + 4..note + 8].copy_from_slice(&4u32.to_le_bytes());
        f[note + 8..note + 12].copy_from_slice(&crate::pvh::XEN_ELFNOTE_PHYS32_ENTRY.to_le_bytes());
        f[note + 12..note + 16].copy_from_slice(b"Xen\0");
        f[note + 16..note + 20].copy_from_slice(&0x10_0000u32.to_le_bytes());
        f
    }

    /// Thousands of corrupted executables: parsing never panics, and every
    /// segment's data, when returned, lies inside the file.
    #[test]
    fn corrupted_executables_never_panic() {
        let good = sample();
        let h = parse(&good).unwrap();
        let notes: Vec<_> = program_headers(&good, &h)
            .filter(|p| p.kind == PT_NOTE)
            .collect();
        assert_eq!(
            find_pvh_entry(notes[0].data(&good).unwrap()),
            Some(0x10_0000)
        );
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20_000 {
            let mut f = good.clone();
            for _ in 0..1 + next() % 4 {
                let i = (next() % f.len() as u64) as usize;
                f[i] = next() as u8;
            }
            if next() % 4 == 0 {
                f.truncate((next() % (f.len() as u64 + 1)) as usize);
            }
            let Ok(h) = parse(&f) else { continue };
            let range = f.as_ptr_range();
            for p in program_headers(&f, &h) {
                if let Some(d) = p.data(&f) {
                    let r = d.as_ptr_range();
                    assert!(range.start <= r.start && r.end <= range.end);
                    let _ = find_pvh_entry(d);
                }
            }
        }
    }
}
