//! The initrd format: a cpio archive in the "newc" format (the one Linux's
//! initramfs uses, `cpio -H newc`).
//!
//! Each member is a 110-byte ASCII header (magic `070701`, then thirteen
//! 8-digit hexadecimal fields), the NUL-terminated name, padding to a multiple
//! of 4, the data, padding to a multiple of 4. The member named
//! `TRAILER!!!` ends the archive. Reference: the `cpio(5)` manual page.
//!
//! [`Archive`] reads an archive without allocating and never panics on
//! malformed input; [`write_member`] and [`write_trailer`] produce one.

/// Magic of a newc header.
pub const MAGIC: &[u8; 6] = b"070701";
/// Size of a newc header.
pub const HEADER_LEN: usize = 110;
/// Name of the member that ends an archive.
pub const TRAILER: &str = "TRAILER!!!";
/// `c_mode` file type bits of a regular file.
pub const MODE_FILE: u32 = 0o100000;
/// `c_mode` file type bits of a directory.
pub const MODE_DIR: u32 = 0o040000;
/// Mask of the file type bits in `c_mode`.
pub const MODE_TYPE_MASK: u32 = 0o170000;

/// Why an archive could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// A header does not start with [`MAGIC`]; the offset of the header.
    BadMagic(usize),
    /// A header field is not hexadecimal; the offset of the header.
    BadField(usize),
    /// A header runs past the end; the offset of the header.
    Truncated(usize),
    /// A member's name runs past the end.
    NamePastEnd {
        /// Offset of the member's header.
        at: usize,
        /// Its `c_namesize`.
        namesize: u32,
    },
    /// A member's data runs past the end.
    DataPastEnd {
        /// Offset of the member's header.
        at: usize,
        /// Its `c_filesize`.
        filesize: u32,
    },
    /// A name is not NUL-terminated UTF-8; the offset of the header.
    BadName(usize),
    /// The archive ends without a [`TRAILER`] member.
    NoTrailer,
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::BadMagic(at) => write!(f, "bad cpio magic at offset {at} (want newc, 070701)"),
            Error::BadField(at) => write!(f, "bad cpio header field at offset {at}"),
            Error::Truncated(at) => write!(
                f,
                "cpio header at offset {at} runs past the end of the archive"
            ),
            Error::NamePastEnd { at, namesize } => write!(
                f,
                "cpio member at offset {at}: its name ({namesize} bytes) runs past the end of the archive"
            ),
            Error::DataPastEnd { at, filesize } => write!(
                f,
                "cpio member at offset {at}: its data ({filesize} bytes) runs past the end of the archive"
            ),
            Error::BadName(at) => write!(f, "bad cpio member name at offset {at}"),
            Error::NoTrailer => write!(f, "cpio archive has no {TRAILER} member"),
        }
    }
}

/// One member of an archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Path as stored, without a leading `/` or `./`.
    pub name: &'a str,
    /// `c_mode`: file type and permission bits.
    pub mode: u32,
    /// Contents.
    pub data: &'a [u8],
}

impl Entry<'_> {
    /// Whether the member is a regular file.
    pub fn is_file(&self) -> bool {
        self.mode & MODE_TYPE_MASK == MODE_FILE
    }
}

/// A cpio newc archive in memory.
#[derive(Debug, Clone, Copy)]
pub struct Archive<'a> {
    bytes: &'a [u8],
}

impl<'a> Archive<'a> {
    /// Wraps the bytes of an archive. Nothing is checked until iteration.
    pub fn new(bytes: &'a [u8]) -> Self {
        Archive { bytes }
    }

    /// The members in order, up to the trailer. Iteration stops after the
    /// first error, which it yields.
    pub fn entries(&self) -> Entries<'a> {
        Entries {
            bytes: self.bytes,
            offset: 0,
            done: false,
        }
    }

    /// Checks the whole archive; returns the number of members.
    pub fn validate(&self) -> Result<usize, Error> {
        let mut n = 0;
        for e in self.entries() {
            e?;
            n += 1;
        }
        Ok(n)
    }

    /// The regular file at `path` (a leading `/` is ignored).
    pub fn find(&self, path: &str) -> Option<Entry<'a>> {
        let path = normalize(path);
        self.entries()
            .map_while(Result::ok)
            .find(|e| e.is_file() && normalize(e.name) == path)
    }
}

/// Strips every leading `/` and `./` from a path, so `normalize` of its
/// own result changes nothing (`././x`, `/./x` and `x` are one name).
pub fn normalize(mut path: &str) -> &str {
    loop {
        let rest = path
            .strip_prefix("./")
            .or_else(|| path.strip_prefix('/'))
            .unwrap_or(path);
        if rest.len() == path.len() {
            return path;
        }
        path = rest;
    }
}

/// Iterator over the members of an [`Archive`].
#[derive(Debug, Clone)]
pub struct Entries<'a> {
    bytes: &'a [u8],
    offset: usize,
    done: bool,
}

fn align4(n: usize) -> Option<usize> {
    n.checked_add(3).map(|n| n & !3)
}

/// The value of each ASCII hexadecimal digit; [`NOT_HEX`] for the rest.
const HEX_DIGITS: [u8; 256] = {
    let mut t = [NOT_HEX; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'A' as usize + i] = 10 + i as u8;
        t[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};
const NOT_HEX: u8 = 0x10;

/// Header field `index` (after the magic), eight hexadecimal digits. A table
/// lookup per digit and one validity check at the end keep this short: the
/// guest kernel parses every header in ring 0, where each instruction counts
/// (README, Figures).
fn hex_field(header: &[u8], index: usize) -> Option<u32> {
    let start = 6 + index * 8;
    let field = header.get(start..start + 8)?;
    let mut value: u32 = 0;
    let mut bad: u8 = 0;
    for &c in field {
        let digit = HEX_DIGITS[c as usize];
        bad |= digit;
        value = (value << 4) | u32::from(digit & 0xF);
    }
    (bad & NOT_HEX == 0).then_some(value)
}

// Header field indices (after the magic).
const F_MODE: usize = 1;
const F_FILESIZE: usize = 6;
const F_NAMESIZE: usize = 11;

impl<'a> Entries<'a> {
    fn parse(&mut self) -> Result<Option<Entry<'a>>, Error> {
        let at = self.offset;
        let rest = match self.bytes.get(at..) {
            Some(rest) if !rest.is_empty() => rest,
            _ => return Err(Error::NoTrailer),
        };
        // The magic first, so a short file of garbage is "not cpio" rather
        // than "cut short".
        let magic = &rest[..rest.len().min(MAGIC.len())];
        if magic != &MAGIC[..magic.len()] {
            return Err(Error::BadMagic(at));
        }
        let header = rest.get(..HEADER_LEN).ok_or(Error::Truncated(at))?;
        let field = |i| hex_field(header, i).ok_or(Error::BadField(at));
        let mode = field(F_MODE)?;
        let filesize = field(F_FILESIZE)?;
        let namesize = field(F_NAMESIZE)?;
        if namesize == 0 {
            return Err(Error::BadName(at));
        }
        let name_past_end = Error::NamePastEnd { at, namesize };
        let name_start = at + HEADER_LEN;
        let name_end = name_start
            .checked_add(namesize as usize)
            .ok_or(name_past_end)?;
        let name_bytes = self.bytes.get(name_start..name_end).ok_or(name_past_end)?;
        let (last, name_bytes) = name_bytes.split_last().ok_or(Error::BadName(at))?;
        if *last != 0 {
            return Err(Error::BadName(at));
        }
        let name = core::str::from_utf8(name_bytes).map_err(|_| Error::BadName(at))?;
        let data_past_end = Error::DataPastEnd { at, filesize };
        let data_start = align4(name_end).ok_or(data_past_end)?;
        let data_end = data_start
            .checked_add(filesize as usize)
            .ok_or(data_past_end)?;
        let data = self.bytes.get(data_start..data_end).ok_or(data_past_end)?;
        if name == TRAILER {
            return Ok(None);
        }
        // The next header may be absent only if this was the trailer, which
        // the next call reports; clamp so the offset never wraps.
        self.offset = align4(data_end).unwrap_or(usize::MAX);
        Ok(Some(Entry {
            name: normalize(name),
            mode,
            data,
        }))
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<Entry<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.parse() {
            Ok(Some(entry)) => Some(Ok(entry)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Writes one member through `out`. `ino` should differ between members.
pub fn write_member(out: &mut impl FnMut(&[u8]), ino: u32, name: &str, mode: u32, data: &[u8]) {
    let namesize = name.len() + 1;
    let fields: [u32; 13] = [
        ino,
        mode,
        0, // uid
        0, // gid
        1, // nlink
        0, // mtime: fixed, so archives are reproducible
        data.len() as u32,
        0, // devmajor
        0, // devminor
        0, // rdevmajor
        0, // rdevminor
        namesize as u32,
        0, // check
    ];
    out(MAGIC);
    for f in fields {
        let mut hex = [0u8; 8];
        for (i, b) in hex.iter_mut().enumerate() {
            let nibble = (f >> (28 - 4 * i)) & 0xF;
            *b = b"0123456789ABCDEF"[nibble as usize];
        }
        out(&hex);
    }
    out(name.as_bytes());
    out(&[0]);
    let pad = |n: usize| &[0u8; 3][..(4 - n % 4) % 4];
    out(pad(HEADER_LEN + namesize));
    out(data);
    out(pad(data.len()));
}

/// Writes the [`TRAILER`] member that ends an archive.
pub fn write_trailer(out: &mut impl FnMut(&[u8])) {
    write_member(out, 0, TRAILER, 0, &[]);
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    fn archive(members: &[(&str, u32, &[u8])]) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut out = |b: &[u8]| bytes.extend_from_slice(b);
        for (i, (name, mode, data)) in members.iter().enumerate() {
            write_member(&mut out, i as u32 + 1, name, *mode, data);
        }
        write_trailer(&mut out);
        bytes
    }

    #[test]
    fn round_trip() {
        let bytes = archive(&[
            ("bin", MODE_DIR | 0o755, b""),
            ("bin/hello", MODE_FILE | 0o755, b"\x7fELF..."),
            ("./etc/motd", MODE_FILE | 0o644, b"hi\n"),
        ]);
        assert_eq!(bytes.len() % 4, 0);
        let a = Archive::new(&bytes);
        assert_eq!(a.validate(), Ok(3));
        assert_eq!(a.find("/bin/hello").unwrap().data, b"\x7fELF...");
        assert_eq!(a.find("etc/motd").unwrap().data, b"hi\n");
        assert!(a.find("bin").is_none(), "directories are not files");
        assert!(a.find("nope").is_none());
    }

    #[test]
    fn hex_fields_decode_and_reject() {
        let mut h = [b'0'; HEADER_LEN];
        h[6..14].copy_from_slice(b"00C0ffEE");
        assert_eq!(hex_field(&h, 0), Some(0x00C0_FFEE));
        for bad in [b'g', b'G', b' ', b'/', b':', b'@', 0, 0xFF] {
            h[9] = bad;
            assert_eq!(hex_field(&h, 0), None, "{bad:#x}");
        }
        assert_eq!(hex_field(&h[..10], 0), None);
    }

    #[test]
    fn malformed_archives_are_errors() {
        let good = archive(&[("a", MODE_FILE, b"12345")]);
        assert_eq!(Archive::new(b"").validate(), Err(Error::NoTrailer));
        assert_eq!(Archive::new(b"junk").validate(), Err(Error::BadMagic(0)));
        assert_eq!(Archive::new(b"0707").validate(), Err(Error::Truncated(0)));
        assert_eq!(
            Archive::new(&good[..50]).validate(),
            Err(Error::Truncated(0))
        );
        let mut bad_magic = good.clone();
        bad_magic[0] = b'1';
        assert_eq!(Archive::new(&bad_magic).validate(), Err(Error::BadMagic(0)));
        let mut bad_hex = good.clone();
        bad_hex[6 + F_MODE * 8] = b'z';
        assert_eq!(Archive::new(&bad_hex).validate(), Err(Error::BadField(0)));
        // Without the trailer the archive is incomplete.
        let first_len = align4(align4(HEADER_LEN + 2).unwrap() + 5).unwrap();
        assert_eq!(
            Archive::new(&good[..first_len]).validate(),
            Err(Error::NoTrailer)
        );
        // A huge file or name size must not overflow or panic.
        let mut huge = good.clone();
        huge[6 + F_FILESIZE * 8..6 + F_FILESIZE * 8 + 8].copy_from_slice(b"FFFFFFFF");
        assert_eq!(
            Archive::new(&huge).validate(),
            Err(Error::DataPastEnd {
                at: 0,
                filesize: u32::MAX
            })
        );
        let mut huge = good.clone();
        huge[6 + F_NAMESIZE * 8..6 + F_NAMESIZE * 8 + 8].copy_from_slice(b"FFFFFFFF");
        assert_eq!(
            Archive::new(&huge).validate(),
            Err(Error::NamePastEnd {
                at: 0,
                namesize: u32::MAX
            })
        );
        // The data cut short.
        assert_eq!(
            Archive::new(&good[..HEADER_LEN + 4 + 2]).validate(),
            Err(Error::DataPastEnd { at: 0, filesize: 5 })
        );
        // Every prefix of a good archive is an error, never a panic.
        for n in 0..good.len() {
            assert!(Archive::new(&good[..n]).validate().is_err());
        }
    }
}

#[cfg(test)]
mod mutation_tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    /// xorshift64*: a tiny deterministic generator, so failures reproduce.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// Thousands of corrupted archives (bytes flipped, cut, duplicated):
    /// the reader never panics, never yields data outside the input, and
    /// `find` agrees with iteration.
    #[test]
    fn corrupted_archives_never_panic() {
        let mut good = Vec::new();
        let mut out = |b: &[u8]| good.extend_from_slice(b);
        for (i, name) in ["bin/sh", "bin/init", "etc/motd", "a/very/long/path/name"]
            .iter()
            .enumerate()
        {
            write_member(
                &mut out,
                i as u32 + 1,
                name,
                MODE_FILE | 0o755,
                &[i as u8; 300],
            );
        }
        write_trailer(&mut out);
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..20_000 {
            let mut a = good.clone();
            for _ in 0..1 + rng.below(4) {
                match rng.below(4) {
                    0 => {
                        let i = rng.below(a.len());
                        a[i] = rng.next() as u8;
                    }
                    1 => a.truncate(rng.below(a.len() + 1)),
                    2 => {
                        // An ASCII hex digit, so header fields stay plausible.
                        let i = rng.below(a.len().max(1));
                        if i < a.len() {
                            a[i] = b"0123456789ABCDEFf"[rng.below(17)];
                        }
                    }
                    _ => {
                        let i = rng.below(a.len() + 1);
                        let n = rng.below(16);
                        let chunk: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                        a.splice(i..i, chunk);
                    }
                }
                if a.is_empty() {
                    break;
                }
            }
            let archive = Archive::new(&a);
            let _ = archive.validate();
            let range = a.as_ptr_range();
            for e in archive.entries().map_while(Result::ok) {
                let d = e.data.as_ptr_range();
                assert!(range.start <= d.start && d.end <= range.end);
                if e.is_file() {
                    assert_eq!(archive.find(e.name).map(|f| f.name), Some(e.name));
                }
            }
        }
    }

    #[test]
    fn normalize_is_idempotent_and_find_uses_it() {
        for (raw, want) in [
            ("././x", "x"),
            ("/./x", "x"),
            ("//x/y", "x/y"),
            ("x", "x"),
            (".x", ".x"),
        ] {
            assert_eq!(normalize(raw), want);
            assert_eq!(normalize(normalize(raw)), normalize(raw));
        }
    }
}
