//! The initrd: an uncompressed cpio newc archive, read whole before the
//! guest starts (so the guest never meets a damaged archive) and placed at
//! the top of guest RAM.

/// Why an initrd cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InitrdError {
    /// The file is empty.
    #[error("the file is empty (an initrd is a cpio newc archive)")]
    Empty,
    /// Compressed; with what.
    #[error(
        "compressed with {0}; vmm needs an uncompressed cpio newc archive (decompress it first)"
    )]
    Compressed(&'static str),
    /// Not a cpio newc archive at all.
    #[error("not a cpio newc archive: {0}")]
    NotCpio(abi::cpio::Error),
    /// A cpio newc archive with a fault.
    #[error("a damaged cpio newc archive: {0}")]
    Damaged(abi::cpio::Error),
    /// Larger than the guest RAM above the kernel.
    #[error(
        "{size} bytes do not fit in guest RAM above the kernel (free: {free} bytes); raise --memory"
    )]
    TooLarge {
        /// The initrd's size.
        size: u64,
        /// The bytes free above the kernel.
        free: u64,
    },
}

/// Magic numbers of the compressors Linux accepts for an initramfs, which
/// vmm does not decompress.
const COMPRESSED: &[(&[u8], &str)] = &[
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\0", "xz"),
    (b"\x5d\0\0", "lzma"),
    (b"\x89LZO", "lzop"),
    (b"\x02\x21\x4c\x18", "lz4"),
    (b"\x04\x22\x4d\x18", "lz4"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
];

/// Checks a whole initrd (every member up to the trailer, so the guest
/// never meets a damaged archive) and picks its address: page-aligned, as
/// high in RAM as it fits, above the kernel.
pub fn place_initrd(initrd: &[u8], kernel_end: u64, ram_end: u64) -> Result<u64, InitrdError> {
    if initrd.is_empty() {
        return Err(InitrdError::Empty);
    }
    if let Some(&(_, name)) = COMPRESSED.iter().find(|(m, _)| initrd.starts_with(m)) {
        return Err(InitrdError::Compressed(name));
    }
    abi::cpio::Archive::new(initrd)
        .validate()
        .map_err(|e| match e {
            abi::cpio::Error::BadMagic(0) => InitrdError::NotCpio(e),
            e => InitrdError::Damaged(e),
        })?;
    let size = initrd.len() as u64;
    let free = ram_end.saturating_sub(kernel_end.next_multiple_of(abi::PAGE_SIZE));
    let addr = ram_end
        .checked_sub(size)
        .map(|a| a & !(abi::PAGE_SIZE - 1))
        .filter(|&a| a >= kernel_end)
        .ok_or(InitrdError::TooLarge { size, free })?;
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAM: u64 = 128 << 20;

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

    /// Every kind of malformed initrd: the whole archive is read before
    /// the guest starts, and each fault is one error that names it.
    #[test]
    fn malformed_initrds_table() {
        let mut good = Vec::new();
        let mut out = |b: &[u8]| good.extend_from_slice(b);
        abi::cpio::write_member(&mut out, 1, "bin", abi::cpio::MODE_DIR | 0o755, b"");
        abi::cpio::write_member(&mut out, 2, "bin/init", abi::cpio::MODE_FILE, &[7; 300]);
        abi::cpio::write_trailer(&mut out);
        assert!(place_initrd(&good, 0x20_0000, RAM).is_ok());
        let second = abi::cpio::HEADER_LEN + 4 + 2; // "bin\0", padded
        // The trailer member: a header and "TRAILER!!!\0", padded.
        let trailer = good.len() - (abi::cpio::HEADER_LEN + 11).next_multiple_of(4);
        type Corrupt = fn(&mut Vec<u8>, usize, usize) -> ();
        let cases: &[(&str, Corrupt, &str)] = &[
            ("empty", |a, _, _| a.clear(), "the file is empty"),
            (
                "garbage",
                |a, _, _| *a = b"just some text\n".to_vec(),
                "not a cpio newc archive: bad cpio magic at offset 0",
            ),
            (
                "gzip",
                |a, _, _| a[..4].copy_from_slice(b"\x1f\x8b\x08\x00"),
                "compressed with gzip",
            ),
            (
                "cut in a header",
                |a, second, _| a.truncate(second + 50),
                "cpio header at offset 116 runs past the end",
            ),
            (
                "cut in the data",
                |a, second, _| a.truncate(second + abi::cpio::HEADER_LEN + 12 + 100),
                "its data (300 bytes) runs past the end",
            ),
            (
                "no trailer",
                |a, _, trailer| a.truncate(trailer),
                "has no TRAILER!!! member",
            ),
            (
                "huge namesize",
                |a, second, _| {
                    let at = second + 6 + 8 * 11;
                    a[at..at + 8].copy_from_slice(b"FFFFFFFF");
                },
                "its name (4294967295 bytes) runs past the end",
            ),
            (
                "huge filesize",
                |a, second, _| {
                    let at = second + 6 + 8 * 6;
                    a[at..at + 8].copy_from_slice(b"7FFFFFFF");
                },
                "its data (2147483647 bytes) runs past the end",
            ),
            (
                "bad hex",
                |a, second, _| a[second + 6 + 8 + 3] = b'x',
                "bad cpio header field at offset 116",
            ),
            (
                "name without NUL",
                |a, second, _| a[second + abi::cpio::HEADER_LEN + 8] = b'!',
                "bad cpio member name at offset 116",
            ),
            (
                "bad magic later",
                |a, second, _| a[second + 5] = b'2',
                "a damaged cpio newc archive: bad cpio magic at offset 116",
            ),
        ];
        for (name, corrupt, phrase) in cases {
            let mut a = good.clone();
            corrupt(&mut a, second, trailer);
            match place_initrd(&a, 0x20_0000, RAM) {
                Ok(addr) => panic!("{name}: accepted at {addr:#x}"),
                Err(e) => {
                    let msg = e.to_string();
                    assert!(msg.contains(phrase), "{name}: want {phrase:?} in {msg:?}");
                }
            }
        }
    }
}
