//! Open files: what an fd slot holds.
//!
//! A [`File`] is closed (all zero), the console, one end of a [`Pipe`], or
//! an [`OpenFile`]: a file or directory of the tree as one `open` made it,
//! with the offset and flags every copy of it shares (dup, fork), as in
//! Unix. Copies are counted, one per fd across processes: a pipe goes
//! when the last of both ends is closed, an open file when its last copy
//! is (and then its node is let go of, which an unlink may have left alive
//! only for it). The fd's own flag, close-on-exec, is in the slot, not
//! shared.

use alloc::boxed::Box;

use super::pipe::Pipe;
use super::tree::Id;
use crate::sync::Sleeper;
use abi::fs::{FD_CLOEXEC, FileKind};

/// What an fd refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Not open.
    Closed,
    /// The serial console.
    Console,
    /// A pipe's read end.
    Reader,
    /// A pipe's write end.
    Writer,
    /// A regular file.
    Regular,
    /// A directory (`getdents`).
    Directory,
}

/// A file or directory as one `open` made it; shared by its copies.
pub struct OpenFile {
    /// Its node in the tree.
    pub node: Id,
    /// Where the next read or write starts (for a directory: the next
    /// entry's index).
    pub offset: u64,
    /// `O_ACCMODE` and `O_APPEND` of the `open`.
    pub flags: u64,
    /// fds that refer to it.
    refs: u32,
}

/// An fd slot; all-zero is closed.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct File {
    /// A [`FileKind`].
    kind: u16,
    /// [`FD_CLOEXEC`] or 0.
    fd_flags: u16,
    ptr: *mut (),
}

impl File {
    /// The console.
    pub const CONSOLE: File = File {
        kind: FileKind::Console as u16,
        fd_flags: 0,
        ptr: core::ptr::null_mut(),
    };
    /// Closed.
    pub const CLOSED: File = File {
        kind: 0,
        fd_flags: 0,
        ptr: core::ptr::null_mut(),
    };

    /// What it refers to.
    #[inline]
    pub fn kind(&self) -> Kind {
        const CONSOLE: u16 = FileKind::Console as u16;
        const READER: u16 = FileKind::PipeRead as u16;
        const WRITER: u16 = FileKind::PipeWrite as u16;
        const REGULAR: u16 = FileKind::Regular as u16;
        const DIRECTORY: u16 = FileKind::Directory as u16;
        match self.kind {
            CONSOLE => Kind::Console,
            READER => Kind::Reader,
            WRITER => Kind::Writer,
            REGULAR => Kind::Regular,
            DIRECTORY => Kind::Directory,
            _ => Kind::Closed,
        }
    }

    /// What it refers to, as the host is shown.
    pub fn file_kind(&self) -> FileKind {
        match self.kind() {
            Kind::Closed => FileKind::None,
            Kind::Console => FileKind::Console,
            Kind::Reader => FileKind::PipeRead,
            Kind::Writer => FileKind::PipeWrite,
            Kind::Regular => FileKind::Regular,
            Kind::Directory => FileKind::Directory,
        }
    }

    /// The fd's flags ([`FD_CLOEXEC`]).
    pub fn fd_flags(&self) -> u64 {
        u64::from(self.fd_flags)
    }

    /// The same file with the fd's flags set to `flags`.
    pub fn with_fd_flags(mut self, flags: u64) -> File {
        self.fd_flags = (flags & FD_CLOEXEC) as u16;
        self
    }

    /// Closed on exec, not given to a spawned child.
    pub fn cloexec(&self) -> bool {
        self.fd_flags & FD_CLOEXEC as u16 != 0
    }

    /// A new pipe: its (read end, write end), or `None` without memory.
    pub fn new_pipe() -> Option<(File, File)> {
        let pipe = Pipe::new()?.cast::<()>();
        let end = |kind: FileKind| File {
            kind: kind as u16,
            fd_flags: 0,
            ptr: pipe,
        };
        Some((end(FileKind::PipeRead), end(FileKind::PipeWrite)))
    }

    /// A new open file of `node` (held by the caller for it) with `flags`
    /// (the `open`'s access mode and `O_APPEND`).
    pub fn new_open(node: Id, kind: FileKind, flags: u64) -> File {
        let of = Box::new(OpenFile {
            node,
            offset: 0,
            flags,
            refs: 1,
        });
        File {
            kind: kind as u16,
            fd_flags: 0,
            ptr: Box::into_raw(of).cast::<()>(),
        }
    }

    /// A pipe's number, the same for both ends (for the host).
    pub fn pipe_id(&self) -> u32 {
        (self.ptr as u64 >> 4) as u32
    }

    fn pipe(&self) -> *mut Pipe {
        self.ptr.cast::<Pipe>()
    }

    /// The open file of a regular file or directory. A `File` is a handle
    /// (copied into fd slots, counted), not the open file's owner, so the
    /// open file is reached through it as through a pointer.
    #[allow(clippy::mut_from_ref)]
    pub fn open_file(&self) -> Option<&mut OpenFile> {
        match self.kind() {
            // SAFETY: an open file lives while an fd refers to it (counted
            // references), and the kernel runs one call at a time with
            // interrupts off: no other reference to it is in use.
            Kind::Regular | Kind::Directory => Some(unsafe { &mut *self.ptr.cast::<OpenFile>() }),
            _ => None,
        }
    }

    /// Reads from a pipe's read end (see [`Pipe::read`]).
    pub fn read_pipe(&self, out: &mut [u8], s: &mut impl Sleeper) -> Option<usize> {
        debug_assert!(self.kind() == Kind::Reader);
        // SAFETY: an open end keeps its pipe alive (reference counts).
        unsafe { Pipe::read(self.pipe(), out, s) }
    }

    /// Writes to a pipe's write end (see [`Pipe::write`]).
    pub fn write_pipe(&self, data: &[u8], s: &mut impl Sleeper) -> i64 {
        debug_assert!(self.kind() == Kind::Writer);
        // SAFETY: as read_pipe.
        unsafe { Pipe::write(self.pipe(), data, s) }
    }

    /// Another reference to the same file (dup, fork): counts it. The copy
    /// has no fd flags.
    pub fn dup(&self) -> File {
        match self.kind() {
            // SAFETY: an open end keeps its pipe alive.
            Kind::Reader => unsafe { Pipe::open_end(self.pipe(), true) },
            // SAFETY: as above.
            Kind::Writer => unsafe { Pipe::open_end(self.pipe(), false) },
            Kind::Regular | Kind::Directory => {
                if let Some(of) = self.open_file() {
                    of.refs += 1;
                }
            }
            _ => {}
        }
        self.with_fd_flags(0)
    }

    /// Drops this reference: wakes the other side when the last reader or
    /// writer goes, frees the pipe when both are gone. The last copy of an
    /// open file returns its node, which the caller lets go of in the tree
    /// ([`super::vfs::release`]).
    #[must_use]
    pub fn close(self, s: &mut impl Sleeper) -> Option<Id> {
        match self.kind() {
            // SAFETY: this open end keeps its pipe alive until now.
            Kind::Reader => unsafe { Pipe::close_end(self.pipe(), true, s) },
            // SAFETY: as above.
            Kind::Writer => unsafe { Pipe::close_end(self.pipe(), false, s) },
            Kind::Regular | Kind::Directory => {
                let of = self.open_file()?;
                of.refs -= 1;
                if of.refs == 0 {
                    let node = of.node;
                    // SAFETY: made by new_open's Box; this was its last
                    // reference, and none is used after this.
                    drop(unsafe { Box::from_raw(self.ptr.cast::<OpenFile>()) });
                    return Some(node);
                }
            }
            _ => {}
        }
        None
    }
}
