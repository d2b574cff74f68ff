//! Physical memory map arithmetic: from the loader's E820 map to the
//! page-aligned ranges the frame allocator may hand out.

use abi::PAGE_SIZE;

/// A half-open range of physical addresses, `[start, end)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Range {
    /// First address in the range.
    pub start: u64,
    /// First address past the range.
    pub end: u64,
}

impl Range {
    /// `[start, start + len)`, saturating at the top of the address space.
    pub const fn from_len(start: u64, len: u64) -> Self {
        Range {
            start,
            end: start.saturating_add(len),
        }
    }

    /// Bytes in the range.
    pub const fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// Whether the range holds no byte.
    pub const fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// The largest page-aligned range inside this one.
    pub const fn pages_inside(&self) -> Self {
        Range {
            start: align_up(self.start),
            end: self.end & !(PAGE_SIZE - 1),
        }
    }

    /// The smallest page-aligned range covering this one.
    pub const fn pages_covering(&self) -> Self {
        Range {
            start: self.start & !(PAGE_SIZE - 1),
            end: align_up(self.end),
        }
    }

    /// Whether `addr` is in the range.
    pub const fn contains(&self, addr: u64) -> bool {
        self.start <= addr && addr < self.end
    }
}

/// `addr` rounded up to a page boundary (saturating below the top page).
pub const fn align_up(addr: u64) -> u64 {
    match addr.checked_add(PAGE_SIZE - 1) {
        Some(a) => a & !(PAGE_SIZE - 1),
        None => !(PAGE_SIZE - 1),
    }
}

/// Computes the usable RAM: each range of `ram`, cut at `limit` (memory
/// above it cannot be reached), shrunk to whole pages, minus every range of
/// `exclude` (rounded out to whole pages). Writes the pieces to `out` in
/// order and returns how many there are; pieces that do not fit in `out`
/// are dropped, and the second value counts their bytes.
pub fn usable(
    ram: impl IntoIterator<Item = Range>,
    exclude: &[Range],
    limit: u64,
    out: &mut [Range],
) -> (usize, u64) {
    let mut n = 0;
    let mut dropped = 0;
    for r in ram {
        let r = Range {
            start: r.start,
            end: r.end.min(limit),
        }
        .pages_inside();
        carve(r, exclude, out, &mut n, &mut dropped);
    }
    (n, dropped)
}

fn carve(r: Range, exclude: &[Range], out: &mut [Range], n: &mut usize, dropped: &mut u64) {
    if r.is_empty() {
        return;
    }
    match exclude.split_first() {
        None => match out.get_mut(*n) {
            Some(slot) => {
                *slot = r;
                *n += 1;
            }
            None => *dropped += r.len(),
        },
        Some((ex, rest)) => {
            let ex = ex.pages_covering();
            if ex.is_empty() || ex.end <= r.start || ex.start >= r.end {
                carve(r, rest, out, n, dropped);
            } else {
                let below = Range {
                    start: r.start,
                    end: ex.start,
                };
                let above = Range {
                    start: ex.end,
                    end: r.end,
                };
                carve(below, rest, out, n, dropped);
                carve(above, rest, out, n, dropped);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn run(ram: &[Range], exclude: &[Range], limit: u64) -> Vec<Range> {
        let mut out = [Range::default(); 8];
        let (n, dropped) = usable(ram.iter().copied(), exclude, limit, &mut out);
        assert_eq!(dropped, 0);
        out[..n].to_vec()
    }

    #[test]
    fn excludes_kernel_and_initrd() {
        let ram = [
            Range::from_len(0, 640 << 10),
            Range::from_len(MIB, 127 * MIB),
        ];
        let kernel = Range {
            start: 0,
            end: 0x180_000,
        };
        let initrd = Range::from_len(100 * MIB + 10, 5000);
        let got = run(&ram, &[kernel, initrd], 4 << 30);
        assert_eq!(
            got,
            [
                Range {
                    start: 0x180_000,
                    end: 100 * MIB
                },
                Range {
                    start: 100 * MIB + 8192,
                    end: 128 * MIB
                },
            ]
        );
    }

    #[test]
    fn limit_and_alignment() {
        let ram = [
            Range {
                start: 0x1001,
                end: 0x5fff,
            },
            Range::from_len(3 << 30, 2 << 30),
        ];
        let got = run(&ram, &[], 4 << 30);
        assert_eq!(
            got,
            [
                Range {
                    start: 0x2000,
                    end: 0x5000
                },
                Range {
                    start: 3 << 30,
                    end: 4 << 30
                },
            ]
        );
    }

    #[test]
    fn exclusion_covering_everything() {
        let ram = [Range::from_len(MIB, MIB)];
        assert!(run(&ram, &[Range::from_len(0, 8 * MIB)], u64::MAX).is_empty());
    }

    #[test]
    fn overflowing_out_counts_dropped_bytes() {
        let ram = [Range::from_len(0, 0x1000), Range::from_len(0x10000, 0x3000)];
        let mut out = [Range::default(); 1];
        assert_eq!(usable(ram, &[], u64::MAX, &mut out), (1, 0x3000));
    }

    #[test]
    fn helpers() {
        assert_eq!(align_up(0), 0);
        assert_eq!(align_up(1), 4096);
        assert_eq!(align_up(u64::MAX), !4095);
        assert!(Range::from_len(10, 5).contains(14));
        assert!(!Range::from_len(10, 5).contains(15));
        assert_eq!(Range::from_len(u64::MAX - 1, 10).end, u64::MAX);
    }
}
