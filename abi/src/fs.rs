//! Files: the flags and records of the file calls (`open`, `lseek`,
//! `stat`, `getdents`, `fcntl`: numbers in [`crate::sys::nr`]), with
//! Linux's values where Linux has them, and the view of a process's files
//! the kernel keeps in its PCB for the host ([`FilesInfo`]).
//!
//! Paths are UTF-8, absolute (from `/`) or relative to the process's
//! working directory; `.` and `..` work as in Unix (`..` of `/` is `/`),
//! repeated slashes count as one, and a trailing slash asks for a
//! directory. A path is at most [`crate::sys::MAX_PATH`] bytes and a name
//! in it at most [`NAME_MAX`].

use core::fmt;

/// `open`: read only.
pub const O_RDONLY: u64 = 0;
/// `open`: write only.
pub const O_WRONLY: u64 = 1;
/// `open`: read and write.
pub const O_RDWR: u64 = 2;
/// `open`: the access-mode bits.
pub const O_ACCMODE: u64 = 3;
/// `open`: create the file if it does not exist.
pub const O_CREAT: u64 = 0o100;
/// `open`, with [`O_CREAT`]: fail with `EEXIST` if it exists.
pub const O_EXCL: u64 = 0o200;
/// `open`: empty a regular file opened for writing.
pub const O_TRUNC: u64 = 0o1000;
/// `open`: every write goes to the end.
pub const O_APPEND: u64 = 0o2000;
/// `open`: fail with `ENOTDIR` unless it is a directory.
pub const O_DIRECTORY: u64 = 0o200000;
/// `open`: close the new fd on `exec` (and do not give it to a `spawn`ed
/// child).
pub const O_CLOEXEC: u64 = 0o2000000;
/// Every flag `open` knows.
pub const O_ALL: u64 = O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_DIRECTORY | O_CLOEXEC;

/// `lseek`: from the start.
pub const SEEK_SET: u64 = 0;
/// `lseek`: from the current offset.
pub const SEEK_CUR: u64 = 1;
/// `lseek`: from the end.
pub const SEEK_END: u64 = 2;

/// `fcntl`: the fd's flags ([`FD_CLOEXEC`]).
pub const F_GETFD: u64 = 1;
/// `fcntl`: set the fd's flags.
pub const F_SETFD: u64 = 2;
/// The fd flag: closed on `exec`, not given to a `spawn`ed child.
pub const FD_CLOEXEC: u64 = 1;

/// Longest name in a path (bytes).
pub const NAME_MAX: usize = 255;

wire_enum! {
    /// What an fd or a path refers to.
    pub enum FileKind: u8 {
        /// Nothing (a closed fd).
        None = 0,
        /// The serial console.
        Console = 1,
        /// A pipe's read end.
        PipeRead = 2,
        /// A pipe's write end.
        PipeWrite = 3,
        /// A regular file.
        Regular = 4,
        /// A directory.
        Directory = 5,
    }
}

impl FileKind {
    /// A word for it: `console`, `pipe (read)`, `file`, `directory`.
    pub fn name(self) -> &'static str {
        match self {
            FileKind::None => "closed",
            FileKind::Console => "console",
            FileKind::PipeRead => "pipe (read)",
            FileKind::PipeWrite => "pipe (write)",
            FileKind::Regular => "file",
            FileKind::Directory => "directory",
        }
    }
}

/// What `stat` and `fstat` write.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stat {
    /// A [`FileKind`].
    pub kind: u8,
    /// Unused (zero).
    pub _pad: [u8; 3],
    /// Names it has in the tree (0: unlinked, still open).
    pub nlink: u32,
    /// Bytes (a file); entries (a directory, `.` and `..` included).
    pub size: u64,
    /// Its number, unique among the files that exist.
    pub ino: u64,
}

const _: () = assert!(core::mem::size_of::<Stat>() == 24);

/// The head of one directory entry as `getdents` writes it: the name's
/// bytes follow it, then zeros up to `reclen` (a multiple of 8). The
/// first entries of every directory are `.` and `..`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DirentHead {
    /// The entry's file number.
    pub ino: u64,
    /// Bytes of this record, head, name and padding.
    pub reclen: u16,
    /// A [`FileKind`].
    pub kind: u8,
    /// Bytes of the name.
    pub name_len: u8,
    /// Unused (zero).
    pub _pad: u32,
}

/// Bytes of a [`DirentHead`].
pub const DIRENT_HEAD: usize = core::mem::size_of::<DirentHead>();
const _: () = assert!(DIRENT_HEAD == 16);

/// Bytes of the record for a name of `name_len` bytes.
pub const fn dirent_len(name_len: usize) -> usize {
    (DIRENT_HEAD + name_len).next_multiple_of(8)
}

/// One entry read from a `getdents` buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dirent<'a> {
    /// Its file number.
    pub ino: u64,
    /// What it is.
    pub kind: FileKind,
    /// Its name.
    pub name: &'a str,
}

/// The entries in the first `len` bytes a `getdents` call filled (a
/// record that does not parse ends the walk).
pub fn dirents(buf: &[u8]) -> impl Iterator<Item = Dirent<'_>> {
    let mut at = 0;
    core::iter::from_fn(move || {
        let head = buf.get(at..at + DIRENT_HEAD)?;
        let word = |i: usize| u64::from_le_bytes(head[i..i + 8].try_into().unwrap_or_default());
        let ino = word(0);
        let reclen = u16::from_le_bytes([head[8], head[9]]) as usize;
        let kind = FileKind::from_raw(head[10])?;
        let name_len = head[11] as usize;
        if reclen < dirent_len(name_len) || at + reclen > buf.len() {
            return None;
        }
        let name = buf.get(at + DIRENT_HEAD..at + DIRENT_HEAD + name_len)?;
        let name = core::str::from_utf8(name).ok()?;
        at += reclen;
        Some(Dirent { ino, kind, name })
    })
}

/// Bytes of a path kept for the host ([`FdInfo::path`], [`FilesInfo::cwd`]);
/// a longer one keeps its end, after `...`.
pub const PATH_KEPT: usize = 48;

/// One fd of a process as the host sees it.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdInfo {
    /// A [`FileKind`] ([`FileKind::None`]: the fd is closed).
    pub kind: u8,
    /// The open flags the host shows: the access mode (bits 0-1, as
    /// [`O_ACCMODE`]), [`FdInfo::APPEND`], [`FdInfo::CLOEXEC`].
    pub flags: u8,
    /// Unused (zero).
    pub _pad: [u8; 2],
    /// A pipe's number (both ends have it), or a file's number (`ino`).
    pub id: u32,
    /// The offset of a file or directory (shared by the fds of one `open`,
    /// across `dup` and `fork`; as of the last change the host can see).
    pub offset: u64,
    /// The path it was opened by, NUL-padded (a file or directory).
    pub path: [u8; PATH_KEPT],
}

impl FdInfo {
    /// [`FdInfo::flags`]: writes go to the end.
    pub const APPEND: u8 = 4;
    /// [`FdInfo::flags`]: closed on `exec`.
    pub const CLOEXEC: u8 = 8;

    /// A closed fd.
    pub const CLOSED: FdInfo = FdInfo {
        kind: 0,
        flags: 0,
        _pad: [0; 2],
        id: 0,
        offset: 0,
        path: [0; PATH_KEPT],
    };

    /// The path, up to its first NUL.
    pub fn path(&self) -> &str {
        kept_str(&self.path)
    }
}

/// A process's files as the host sees them: the working directory and one
/// [`FdInfo`] per fd. The kernel keeps it in every PCB, at
/// [`crate::debug::Registration::files_offset`], current at each change.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilesInfo {
    /// The working directory's path, NUL-padded.
    pub cwd: [u8; PATH_KEPT],
    /// The fds, by number.
    pub fds: [FdInfo; crate::sys::MAX_FDS],
}

const _: () = assert!(core::mem::size_of::<FdInfo>() == 64);
const _: () = assert!(core::mem::size_of::<FilesInfo>() == PATH_KEPT + 64 * crate::sys::MAX_FDS);

impl FilesInfo {
    /// No fd open, `/` the working directory.
    pub const EMPTY: FilesInfo = FilesInfo {
        cwd: {
            let mut c = [0; PATH_KEPT];
            c[0] = b'/';
            c
        },
        fds: [FdInfo::CLOSED; crate::sys::MAX_FDS],
    };

    /// The working directory's path.
    pub fn cwd(&self) -> &str {
        kept_str(&self.cwd)
    }
}

/// Writes `path` into a kept-path field: whole if it fits (with a NUL
/// after it), else `...` and its end.
pub fn keep_path(path: &str, out: &mut [u8; PATH_KEPT]) {
    *out = [0; PATH_KEPT];
    let b = path.as_bytes();
    if b.len() < PATH_KEPT {
        out[..b.len()].copy_from_slice(b);
        return;
    }
    let room = PATH_KEPT - 1 - 3;
    let mut start = b.len() - room;
    // Do not cut a UTF-8 character.
    while start < b.len() && b[start] & 0xC0 == 0x80 {
        start += 1;
    }
    out[..3].copy_from_slice(b"...");
    out[3..3 + b.len() - start].copy_from_slice(&b[start..]);
}

fn kept_str(b: &[u8; PATH_KEPT]) -> &str {
    let end = b.iter().position(|&c| c == 0).unwrap_or(PATH_KEPT);
    core::str::from_utf8(&b[..end]).unwrap_or("?")
}

/// The flags of an [`FdInfo`] as a person reads them: `r`, `w`, `rw`, and
/// `append`, `cloexec`.
pub struct FlagsText(pub u8);

impl fmt::Display for FlagsText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match u64::from(self.0) & O_ACCMODE {
            O_RDONLY => "r",
            O_WRONLY => "w",
            _ => "rw",
        };
        f.write_str(mode)?;
        if self.0 & FdInfo::APPEND != 0 {
            f.write_str(",append")?;
        }
        if self.0 & FdInfo::CLOEXEC != 0 {
            f.write_str(",cloexec")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::format;
    use std::vec::Vec;

    #[test]
    fn dirents_walk_what_getdents_wrote() {
        let mut buf = [0u8; 64];
        let mut at = 0;
        for (ino, kind, name) in [
            (1u64, FileKind::Directory, "."),
            (7, FileKind::Regular, "motd"),
        ] {
            let len = dirent_len(name.len());
            buf[at..at + 8].copy_from_slice(&ino.to_le_bytes());
            buf[at + 8..at + 10].copy_from_slice(&(len as u16).to_le_bytes());
            buf[at + 10] = kind as u8;
            buf[at + 11] = name.len() as u8;
            buf[at + 16..at + 16 + name.len()].copy_from_slice(name.as_bytes());
            at += len;
        }
        let got: Vec<_> = dirents(&buf[..at])
            .map(|d| (d.ino, d.kind, d.name))
            .collect();
        assert_eq!(
            got,
            [
                (1, FileKind::Directory, "."),
                (7, FileKind::Regular, "motd")
            ]
        );
        assert_eq!(
            dirents(&buf[..at - 1]).count(),
            1,
            "a cut record ends the walk"
        );
    }

    #[test]
    fn kept_paths_keep_their_end() {
        let mut out = [0u8; PATH_KEPT];
        keep_path("/etc/motd", &mut out);
        assert_eq!(kept_str(&out), "/etc/motd");
        let long = "/a/very/long/path/that/goes/on/and/on/to/its/file.txt";
        keep_path(long, &mut out);
        let kept = kept_str(&out);
        assert!(
            kept.starts_with("...") && long.ends_with(&kept[3..]),
            "{kept}"
        );
        assert_eq!(kept.len(), PATH_KEPT - 1);
        assert_eq!(FilesInfo::EMPTY.cwd(), "/");
        assert_eq!(format!("{}", FlagsText(1 | FdInfo::APPEND)), "w,append");
    }
}
