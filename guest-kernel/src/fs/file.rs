//! Open files: what an fd slot holds.
//!
//! A [`File`] is closed (all zero), the console, or one end of a [`Pipe`].
//! Copies of a pipe end (dup, fork) are counted, one per fd across
//! processes; the pipe goes when the last of both ends is closed.

use super::pipe::Pipe;
use crate::sync::Sleeper;

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
}

/// An fd slot; all-zero is closed.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct File {
    kind: u32,
    pipe: *mut Pipe,
}

impl File {
    /// The console.
    pub const CONSOLE: File = File {
        kind: 1,
        pipe: core::ptr::null_mut(),
    };
    /// Closed.
    pub const CLOSED: File = File {
        kind: 0,
        pipe: core::ptr::null_mut(),
    };

    /// What it refers to.
    pub fn kind(&self) -> Kind {
        match self.kind {
            1 => Kind::Console,
            2 => Kind::Reader,
            3 => Kind::Writer,
            _ => Kind::Closed,
        }
    }

    /// A new pipe: its (read end, write end), or `None` without memory.
    pub fn new_pipe() -> Option<(File, File)> {
        let pipe = Pipe::new()?;
        Some((File { kind: 2, pipe }, File { kind: 3, pipe }))
    }

    /// Reads from a pipe's read end (see [`Pipe::read`]).
    pub fn read_pipe(&self, out: &mut [u8], s: &mut impl Sleeper) -> Option<usize> {
        debug_assert!(self.kind() == Kind::Reader);
        // SAFETY: an open end keeps its pipe alive (reference counts).
        unsafe { Pipe::read(self.pipe, out, s) }
    }

    /// Writes to a pipe's write end (see [`Pipe::write`]).
    pub fn write_pipe(&self, data: &[u8], s: &mut impl Sleeper) -> i64 {
        debug_assert!(self.kind() == Kind::Writer);
        // SAFETY: as read_pipe.
        unsafe { Pipe::write(self.pipe, data, s) }
    }

    /// Another reference to the same file (dup, fork): counts it.
    pub fn dup(&self) -> File {
        match self.kind() {
            // SAFETY: an open end keeps its pipe alive.
            Kind::Reader => unsafe { Pipe::open_end(self.pipe, true) },
            // SAFETY: as above.
            Kind::Writer => unsafe { Pipe::open_end(self.pipe, false) },
            _ => {}
        }
        *self
    }

    /// Drops this reference: wakes the other side when the last reader or
    /// writer goes, frees the pipe when both are gone.
    pub fn close(self, s: &mut impl Sleeper) {
        match self.kind() {
            // SAFETY: this open end keeps its pipe alive until now.
            Kind::Reader => unsafe { Pipe::close_end(self.pipe, true, s) },
            // SAFETY: as above.
            Kind::Writer => unsafe { Pipe::close_end(self.pipe, false, s) },
            _ => {}
        }
    }
}
