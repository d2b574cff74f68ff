//! A program image: the loadable segments of an ELF64 executable, checked
//! against the user address-space layout, and which file bytes go into a
//! given page when that page is first touched (lazy loading).

use abi::PAGE_SIZE;
use abi::elf::{self, ET_EXEC, PF_W, PF_X, PT_LOAD};
use abi::sys::{STUB_ADDR, USER_STACK_MAX, USER_STACK_TOP};

/// Most loadable segments a program may have.
pub const MAX_SEGMENTS: usize = 8;
/// Lowest address a segment may use: above the system-call stub page.
pub const LOWEST: u64 = STUB_ADDR + PAGE_SIZE;
/// Size of the unmapped guard region below the largest user stack.
pub const STACK_GUARD: u64 = 1 << 20;
/// Lowest address of the user stack region.
pub const STACK_BOTTOM: u64 = USER_STACK_TOP - USER_STACK_MAX;
/// Lowest address of the stack guard region; the heap stays below it.
pub const GUARD_BOTTOM: u64 = STACK_BOTTOM - STACK_GUARD;

/// One loadable segment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Segment {
    /// `p_vaddr`.
    pub vaddr: u64,
    /// `p_memsz`.
    pub memsz: u64,
    /// `p_offset`.
    pub offset: u64,
    /// `p_filesz`.
    pub filesz: u64,
    /// Writable.
    pub write: bool,
    /// Executable.
    pub exec: bool,
}

impl Segment {
    /// First page (rounded down).
    pub fn start(&self) -> u64 {
        self.vaddr & !(PAGE_SIZE - 1)
    }

    /// End (exclusive, rounded up to a page).
    pub fn end(&self) -> u64 {
        (self.vaddr + self.memsz).next_multiple_of(PAGE_SIZE)
    }

    /// What to copy into the page at `page` (page aligned, inside the
    /// segment): `(offset in the page, offset in the file, length)`, or
    /// `None` when the page holds no file bytes (all zero).
    pub fn fill(&self, page: u64) -> Option<(usize, usize, usize)> {
        let lo = page.max(self.vaddr);
        let hi = (page + PAGE_SIZE).min(self.vaddr + self.filesz);
        (lo < hi).then(|| {
            (
                (lo - page) as usize,
                (self.offset + (lo - self.vaddr)) as usize,
                (hi - lo) as usize,
            )
        })
    }
}

/// Why a file cannot be run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageError {
    /// Not an x86_64 ELF64 file.
    Elf(elf::Error),
    /// Not `ET_EXEC`.
    NotExecutable,
    /// No `PT_LOAD` segment, or more than [`MAX_SEGMENTS`].
    BadSegmentCount,
    /// A segment outside the user program area, overlapping another,
    /// beyond the file, or with file and memory offsets out of step.
    BadSegment,
}

/// The checked loadable segments of a program.
#[derive(Debug, Clone, Copy)]
pub struct Image {
    /// Entry point.
    pub entry: u64,
    /// Segments, sorted by address.
    pub segments: [Segment; MAX_SEGMENTS],
    /// How many of `segments` are used.
    pub count: usize,
}

impl Image {
    /// Checks `file` and collects its segments.
    pub fn parse(file: &[u8]) -> Result<Image, ImageError> {
        let header = elf::parse(file).map_err(ImageError::Elf)?;
        if header.kind != ET_EXEC {
            return Err(ImageError::NotExecutable);
        }
        let mut image = Image {
            entry: header.entry,
            segments: [Segment::default(); MAX_SEGMENTS],
            count: 0,
        };
        for ph in elf::program_headers(file, &header).filter(|p| p.kind == PT_LOAD) {
            if ph.memsz == 0 {
                continue;
            }
            if image.count == MAX_SEGMENTS {
                return Err(ImageError::BadSegmentCount);
            }
            let end = ph.vaddr.checked_add(ph.memsz);
            let ok = ph.filesz <= ph.memsz
                && ph.vaddr >= LOWEST
                && end.is_some_and(|e| e <= GUARD_BOTTOM)
                && ph.data(file).is_some()
                && ph.vaddr % PAGE_SIZE == ph.offset % PAGE_SIZE;
            if !ok {
                return Err(ImageError::BadSegment);
            }
            image.segments[image.count] = Segment {
                vaddr: ph.vaddr,
                memsz: ph.memsz,
                offset: ph.offset,
                filesz: ph.filesz,
                write: ph.flags & PF_W != 0,
                exec: ph.flags & PF_X != 0,
            };
            image.count += 1;
        }
        if image.count == 0 {
            return Err(ImageError::BadSegmentCount);
        }
        let segs = &mut image.segments[..image.count];
        segs.sort_unstable_by_key(|s| s.vaddr);
        if segs.windows(2).any(|w| w[0].end() > w[1].start()) {
            return Err(ImageError::BadSegment);
        }
        let entry_ok = segs
            .iter()
            .any(|s| s.exec && (s.vaddr..s.vaddr + s.memsz).contains(&image.entry));
        if !entry_ok {
            return Err(ImageError::BadSegment);
        }
        Ok(image)
    }

    /// The segments.
    pub fn segments(&self) -> &[Segment] {
        &self.segments[..self.count]
    }

    /// Where the heap starts: the page after the last segment.
    pub fn heap_start(&self) -> u64 {
        self.segments().last().map_or(LOWEST, Segment::end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_covers_file_part() {
        let s = Segment {
            vaddr: 0x40_1010,
            memsz: 0x3000,
            offset: 0x1010,
            filesz: 0x1100,
            write: true,
            exec: false,
        };
        assert_eq!(s.start(), 0x40_1000);
        assert_eq!(s.end(), 0x40_5000);
        assert_eq!(s.fill(0x40_1000), Some((0x10, 0x1010, 0xff0)));
        assert_eq!(s.fill(0x40_2000), Some((0, 0x2000, 0x110)));
        assert_eq!(s.fill(0x40_3000), None);
    }

    fn elf_with(segs: &[(u64, u64, u64, u64, u32)], entry: u64) -> Vec<u8> {
        let mut f = vec![0u8; 0x3000];
        f[..4].copy_from_slice(b"\x7fELF");
        f[4] = 2;
        f[5] = 1;
        f[16..18].copy_from_slice(&ET_EXEC.to_le_bytes());
        f[18..20].copy_from_slice(&62u16.to_le_bytes());
        f[24..32].copy_from_slice(&entry.to_le_bytes());
        f[32..40].copy_from_slice(&64u64.to_le_bytes());
        f[54..56].copy_from_slice(&56u16.to_le_bytes());
        f[56..58].copy_from_slice(&(segs.len() as u16).to_le_bytes());
        for (i, &(vaddr, memsz, offset, filesz, flags)) in segs.iter().enumerate() {
            let at = 64 + i * 56;
            f[at..at + 4].copy_from_slice(&PT_LOAD.to_le_bytes());
            f[at + 4..at + 8].copy_from_slice(&flags.to_le_bytes());
            f[at + 8..at + 16].copy_from_slice(&offset.to_le_bytes());
            f[at + 16..at + 24].copy_from_slice(&vaddr.to_le_bytes());
            f[at + 32..at + 40].copy_from_slice(&filesz.to_le_bytes());
            f[at + 40..at + 48].copy_from_slice(&memsz.to_le_bytes());
        }
        f
    }

    #[test]
    fn parses_and_rejects() {
        let ok = elf_with(
            &[
                (0x40_1000, 0x2000, 0x2000, 0x100, 6),
                (0x40_0000, 0x800, 0x0, 0x800, 5),
            ],
            0x40_0010,
        );
        let img = Image::parse(&ok).unwrap();
        assert_eq!(img.count, 2);
        assert_eq!(img.segments()[0].vaddr, 0x40_0000);
        assert!(img.segments()[0].exec && !img.segments()[0].write);
        assert_eq!(img.heap_start(), 0x40_3000);
        // Overlap, kernel-half address, file too short, entry outside code.
        let bad = [
            elf_with(
                &[
                    (0x40_0000, 0x2000, 0, 0x100, 5),
                    (0x40_1000, 0x10, 0x1000, 0, 6),
                ],
                0x40_0000,
            ),
            elf_with(
                &[(0xFFFF_8000_0000_0000, 0x10, 0, 0x10, 5)],
                0xFFFF_8000_0000_0000,
            ),
            elf_with(&[(0x40_0000, 0x10_000, 0, 0x10_000, 5)], 0x40_0000),
            elf_with(&[(0x40_0000, 0x10, 0, 0x10, 6)], 0x40_0000),
        ];
        for f in &bad {
            assert!(Image::parse(f).is_err());
        }
        assert_eq!(
            Image::parse(b"hello, world: not an executable at all, clearly; long enough to parse")
                .unwrap_err(),
            ImageError::Elf(elf::Error::NotElf)
        );
    }
}
