//! The file tree of the running system ([`super::tree`]) and what the file
//! calls do with it.
//!
//! The tree is built from the initrd the first time a call needs it: every
//! archive header costs ring-0 time to parse, so the boot (which only runs
//! `/bin/init` and `/bin/sh`) finds its programs through the initrd's own
//! lazy index, and nothing can have changed in the tree before it exists.
//! `/tmp` is made empty. The files' budget is a quarter of RAM.
//!
//! Errors are negative errnos, as system calls return them.

use alloc::string::String;

use super::file::{File, OpenFile};
use super::initrd;
use super::path::{self, parse};
use super::tree::{Id, Kind, ROOT, Tree};
use crate::sync::KCell;
use abi::fs::{
    DIRENT_HEAD, FileKind, O_ACCMODE, O_ALL, O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_EXCL,
    O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, SEEK_CUR, SEEK_END, SEEK_SET, Stat, dirent_len,
};
use abi::sys::errno::*;

/// The tree, once built.
static TREE: KCell<Option<Tree>> = KCell::new(None);

/// The tree, built from the initrd on first use. Each function here takes
/// it once: two references to it are never alive together.
fn tree() -> &'static mut Tree {
    // SAFETY: TREE is reached only through this function, by system calls
    // (interrupts off, one at a time); no reference to it outlives the
    // call that took it.
    let t = unsafe { TREE.get() };
    t.get_or_insert_with(build)
}

fn build() -> Tree {
    let (_, total) = crate::mm::frame::stats();
    let mut t = Tree::new(total * abi::PAGE_SIZE / 4);
    // A file page is one a process could have had: never the reserve the
    // kernel keeps for itself.
    t.set_room(|| crate::mm::frame::user_available() > 0);
    for e in initrd::archive().entries().map_while(Result::ok) {
        // A file the tree cannot take (a name too long, a file where a
        // directory must be) is left out.
        let _ = if e.is_file() {
            t.add_initrd_file(e.name, e.data)
        } else {
            t.add_dir(e.name)
        };
    }
    let _ = t.add_dir("tmp");
    t
}

/// Whether the tree exists yet.
fn built() -> bool {
    // SAFETY: as in tree(); a read of the option's state.
    unsafe { TREE.get() }.is_some()
}

/// The bytes of the program `path` names from directory `cwd`: a name
/// without a `/` is looked up in [`abi::sys::BIN_DIR`], as a shell's PATH
/// would. `ENOENT`, `ENOTDIR`, `EISDIR`; `ENOEXEC` for a file written at
/// run time (it cannot be run).
pub fn program(cwd: Id, path: &str) -> Result<&'static [u8], i64> {
    if path.is_empty() {
        return Err(-ENOENT);
    }
    let full;
    let path = if path.contains('/') {
        path
    } else {
        full = alloc::format!("{}/{path}", abi::sys::BIN_DIR);
        &full
    };
    // The boot's programs come from the initrd's index; anything else
    // (and every error, so its errno does not depend on whether the tree
    // exists yet) from the tree.
    if !built()
        && cwd == ROOT
        && let Some(file) = initrd::program_file(path)
    {
        return Ok(file);
    }
    let t = tree();
    let id = t
        .lookup(cwd, &parse(path).map_err(|e| -e)?)
        .map_err(|e| -e)?;
    if t.kind(id) == Kind::Dir {
        return Err(-EISDIR);
    }
    t.program(id).ok_or(-ENOEXEC)
}

/// Keeps node `id` alive (a working directory).
pub fn hold(id: Id) {
    if id != ROOT {
        tree().hold(id);
    }
}

/// Lets go of node `id` (an open file's last close, a working directory
/// left).
pub fn release(id: Id) {
    if id != ROOT {
        tree().release(id);
    }
}

/// The absolute path of directory `cwd` (`ENOENT` once it was removed).
pub fn cwd_path(cwd: Id) -> Result<String, i64> {
    if cwd == ROOT {
        return Ok(String::from("/"));
    }
    tree().path_of(cwd).map_err(|e| -e)
}

/// `open(path, flags)` from directory `cwd`: the new file (its fd flag
/// from `O_CLOEXEC`) and the absolute path it was opened by.
pub fn open(cwd: Id, path: &str, flags: u64) -> Result<(File, String), i64> {
    // O_CREAT makes files, never directories: with O_DIRECTORY it is
    // refused (as Linux does now).
    if flags & !O_ALL != 0
        || flags & O_ACCMODE == O_ACCMODE
        || flags & (O_CREAT | O_DIRECTORY) == O_CREAT | O_DIRECTORY
    {
        return Err(-EINVAL);
    }
    let p = parse(path).map_err(|e| -e)?;
    let t = tree();
    let id = if flags & O_CREAT != 0 {
        let (dir, name) = t.lookup_parent(cwd, &p).map_err(|e| -e)?;
        match name {
            "." | ".." => t.lookup(cwd, &p).map_err(|e| -e)?,
            _ => match t.child(dir, name) {
                Some(_) if flags & O_EXCL != 0 => return Err(-EEXIST),
                Some(id) => id,
                None if p.dir => return Err(-EISDIR),
                None => t.create(dir, name, Kind::File).map_err(|e| -e)?,
            },
        }
    } else {
        t.lookup(cwd, &p).map_err(|e| -e)?
    };
    let kind = t.kind(id);
    // A name ending in `/` is a directory's.
    if p.dir && kind != Kind::Dir {
        return Err(if flags & O_CREAT != 0 {
            -EISDIR
        } else {
            -ENOTDIR
        });
    }
    let writes = flags & O_ACCMODE != O_RDONLY;
    match kind {
        Kind::Dir if writes || flags & O_TRUNC != 0 => return Err(-EISDIR),
        Kind::File if flags & O_DIRECTORY != 0 => return Err(-ENOTDIR),
        Kind::File if writes && flags & O_TRUNC != 0 => t.truncate(id, 0).map_err(|e| -e)?,
        _ => {}
    }
    t.hold(id);
    let cwd_abs = t.path_of(cwd).unwrap_or_else(|_| String::from("/"));
    let file = File::new_open(id, kind.file_kind(), flags & (O_ACCMODE | O_APPEND));
    let fd_flags = if flags & O_CLOEXEC != 0 {
        abi::fs::FD_CLOEXEC
    } else {
        0
    };
    Ok((file.with_fd_flags(fd_flags), path::absolute(&cwd_abs, path)))
}

/// `read` of an open regular file: the count, 0 at the end; `EBADF` if
/// it was opened write-only.
pub fn read(of: &mut OpenFile, out: &mut [u8]) -> i64 {
    if of.flags & O_ACCMODE == O_WRONLY {
        return -EBADF;
    }
    let n = tree().read(of.node, of.offset, out);
    of.offset += n as u64;
    n as i64
}

/// `write` to an open regular file: the count; `EBADF` if it was opened
/// read-only, `ENOSPC` past the budget.
pub fn write(of: &mut OpenFile, data: &[u8]) -> i64 {
    let mode = of.flags & O_ACCMODE;
    if mode != O_WRONLY && mode != O_RDWR {
        return -EBADF;
    }
    let t = tree();
    if of.flags & O_APPEND != 0 {
        of.offset = t.size(of.node);
    }
    match t.write(of.node, of.offset, data) {
        Ok(n) => {
            of.offset += n as u64;
            n as i64
        }
        Err(e) => -e,
    }
}

/// `lseek`: the new offset (`EINVAL` for a negative one or a bad
/// `whence`).
pub fn lseek(of: &mut OpenFile, offset: i64, whence: u64) -> i64 {
    let t = tree();
    let base = match whence {
        SEEK_SET => 0,
        SEEK_CUR => of.offset,
        SEEK_END if t.kind(of.node) == Kind::File => t.size(of.node),
        _ => return -EINVAL,
    };
    match (base as i64).checked_add(offset) {
        Some(n) if n >= 0 => {
            of.offset = n as u64;
            n
        }
        _ => -EINVAL,
    }
}

/// `getdents`: writes the directory's next entries into `buf` as
/// [`abi::fs::DirentHead`] records; the bytes written, 0 at the end,
/// `EINVAL` when `buf` cannot take the next one.
pub fn getdents(of: &mut OpenFile, buf: &mut [u8]) -> i64 {
    let t = tree();
    let mut at = 0;
    while let Some((name, id, kind)) = t.entry(of.node, of.offset as usize) {
        let len = dirent_len(name.len());
        if at + len > buf.len() {
            if at == 0 {
                return -EINVAL;
            }
            break;
        }
        let rec = &mut buf[at..at + len];
        rec[..8].copy_from_slice(&t.ino(id).to_le_bytes());
        rec[8..10].copy_from_slice(&(len as u16).to_le_bytes());
        rec[10] = kind.file_kind() as u8;
        rec[11] = name.len() as u8;
        rec[12..DIRENT_HEAD].fill(0);
        rec[DIRENT_HEAD..DIRENT_HEAD + name.len()].copy_from_slice(name.as_bytes());
        rec[DIRENT_HEAD + name.len()..].fill(0);
        at += len;
        of.offset += 1;
    }
    at as i64
}

/// `stat(path)` from `cwd`.
pub fn stat(cwd: Id, path: &str) -> Result<Stat, i64> {
    let t = tree();
    let id = t
        .lookup(cwd, &parse(path).map_err(|e| -e)?)
        .map_err(|e| -e)?;
    Ok(t.stat(id))
}

/// `fstat` of an open file or directory.
pub fn fstat(of: &OpenFile) -> Stat {
    tree().stat(of.node)
}

/// What `fstat` says of the console or a pipe.
pub fn stat_of_kind(kind: FileKind) -> Stat {
    Stat {
        kind: kind as u8,
        nlink: 1,
        ..Stat::default()
    }
}

/// `unlink(path)`.
pub fn unlink(cwd: Id, path: &str) -> Result<(), i64> {
    let t = tree();
    let p = parse(path).map_err(|e| -e)?;
    let (dir, name) = t.lookup_parent(cwd, &p).map_err(|e| -e)?;
    match name {
        "." | ".." => Err(-EISDIR),
        // A name ending in `/` is a directory's: not a file to unlink.
        _ if p.dir => match t.child(dir, name).map(|id| t.kind(id)) {
            None => Err(-ENOENT),
            Some(Kind::File) => Err(-ENOTDIR),
            Some(Kind::Dir) => Err(-EISDIR),
        },
        _ => t.unlink(dir, name).map_err(|e| -e),
    }
}

/// `mkdir(path)`.
pub fn mkdir(cwd: Id, path: &str) -> Result<(), i64> {
    let t = tree();
    let (dir, name) = t
        .lookup_parent(cwd, &parse(path).map_err(|e| -e)?)
        .map_err(|e| -e)?;
    t.create(dir, name, Kind::Dir).map(drop).map_err(|e| -e)
}

/// `rmdir(path)`: `EINVAL` for `.`, `ENOTEMPTY` for `..`, `EBUSY` for `/`.
pub fn rmdir(cwd: Id, path: &str) -> Result<(), i64> {
    let t = tree();
    let p = parse(path).map_err(|e| -e)?;
    let (dir, name) = t.lookup_parent(cwd, &p).map_err(|e| -e)?;
    match name {
        _ if p.names.is_empty() => Err(-EBUSY),
        "." => Err(-EINVAL),
        ".." => Err(-ENOTEMPTY),
        _ => t.rmdir(dir, name).map_err(|e| -e),
    }
}

/// `rename(old, new)`.
pub fn rename(cwd: Id, old: &str, new: &str) -> Result<(), i64> {
    let t = tree();
    let (op, np) = (parse(old).map_err(|e| -e)?, parse(new).map_err(|e| -e)?);
    let (odir, oname) = t.lookup_parent(cwd, &op).map_err(|e| -e)?;
    let (ndir, nname) = t.lookup_parent(cwd, &np).map_err(|e| -e)?;
    if matches!(oname, "." | "..")
        || matches!(nname, "." | "..")
        || op.names.is_empty()
        || np.names.is_empty()
    {
        return Err(-EBUSY);
    }
    // A name ending in `/` is a directory's: a file cannot take it.
    let src = t.child(odir, oname).ok_or(-ENOENT)?;
    if (op.dir || np.dir) && t.kind(src) != Kind::Dir {
        return Err(-ENOTDIR);
    }
    t.rename(odir, oname, ndir, nname).map_err(|e| -e)
}

/// `chdir(path)` from `cwd`: the new working directory (held) and its
/// absolute path.
pub fn chdir(cwd: Id, path: &str) -> Result<(Id, String), i64> {
    let t = tree();
    let id = t
        .lookup(cwd, &parse(path).map_err(|e| -e)?)
        .map_err(|e| -e)?;
    if t.kind(id) != Kind::Dir {
        return Err(-ENOTDIR);
    }
    let abs = t.path_of(id).map_err(|e| -e)?;
    if id != ROOT {
        t.hold(id);
    }
    Ok((id, abs))
}
