//! Open files: what an fd slot holds.
//!
//! A [`File`] is closed (all zero), the console, or one end of a [`Pipe`].
//! Copies of a pipe end (dup, fork) are counted, one per fd across
//! processes; the pipe goes when the last of both ends is closed.

use alloc::boxed::Box;

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

    /// The pipe of a pipe end.
    pub fn pipe(&self) -> &'static mut Pipe {
        // SAFETY: an open pipe end keeps its pipe alive (reference counts).
        unsafe { &mut *self.pipe }
    }

    /// Another reference to the same file (dup, fork): counts it.
    pub fn dup(&self) -> File {
        match self.kind() {
            Kind::Reader => self.pipe().readers += 1,
            Kind::Writer => self.pipe().writers += 1,
            _ => {}
        }
        *self
    }

    /// Drops this reference: wakes the other side when the last reader or
    /// writer goes, frees the pipe when both are gone.
    pub fn close(self, s: &mut impl Sleeper) {
        let kind = self.kind();
        if !matches!(kind, Kind::Reader | Kind::Writer) {
            return;
        }
        let p = self.pipe();
        if kind == Kind::Reader {
            p.readers -= 1;
            s.wake_all(&raw mut p.wq);
        } else {
            p.writers -= 1;
            s.wake_all(&raw mut p.rq);
        }
        if p.readers == 0 && p.writers == 0 {
            // SAFETY: Pipe::new made both; no references are left.
            unsafe {
                crate::mm::frame::free(crate::arch::x86_64::layout::direct_to_phys(p.buf as u64));
                drop(Box::from_raw(self.pipe));
            }
        }
    }
}
