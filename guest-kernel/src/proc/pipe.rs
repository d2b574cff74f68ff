//! Open files and pipes.
//!
//! A [`File`] is what an fd slot holds: closed (all zero), the console, or
//! one end of a [`Pipe`]. A pipe is a 4 KiB ring (a frame of its own: the
//! heap's multi-frame allocations need contiguous frames, which can run out
//! while single ones are free) with counts of open read and write ends (one
//! per fd, across processes) and two wait queues; it is freed when both
//! counts reach zero. Reading an empty pipe sleeps until
//! data comes or no writer is left (then 0: end of file); writing a full
//! one sleeps until there is room; writing with no reader left is `EPIPE`.

use alloc::boxed::Box;

use super::sched::{self, wake_all};
use super::{current, pcb};
use abi::proc::SleepReason;
use abi::sys::errno::EPIPE;
use kernel::procs::list::List;

/// Bytes a pipe buffers.
pub const PIPE_SIZE: usize = 4096;

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
    pub fn close(self) {
        let kind = self.kind();
        if !matches!(kind, Kind::Reader | Kind::Writer) {
            return;
        }
        let p = self.pipe();
        if kind == Kind::Reader {
            p.readers -= 1;
            wake_all(&raw mut p.wq);
        } else {
            p.writers -= 1;
            wake_all(&raw mut p.rq);
        }
        if p.readers == 0 && p.writers == 0 {
            // SAFETY: new_pipe made both; no references are left.
            unsafe {
                crate::mm::frame::free(crate::mm::paging::direct_to_phys(p.buf as u64));
                drop(Box::from_raw(self.pipe));
            }
        }
    }
}

/// A pipe.
pub struct Pipe {
    /// The ring: one frame, through the direct map.
    buf: *mut [u8; PIPE_SIZE],
    /// Bytes ever written / read (wrapping).
    head: usize,
    tail: usize,
    readers: u32,
    writers: u32,
    /// Readers waiting for data.
    rq: List,
    /// Writers waiting for room.
    wq: List,
}

/// A new pipe: its (read end, write end), or `None` without memory.
pub fn new_pipe() -> Option<(File, File)> {
    const _: () = assert!(PIPE_SIZE as u64 == abi::PAGE_SIZE);
    let frame = crate::mm::frame::alloc_user()?;
    let layout = core::alloc::Layout::new::<Pipe>();
    // SAFETY: a non-zero-sized layout.
    let p = unsafe { alloc::alloc::alloc(layout) } as *mut Pipe;
    if p.is_null() {
        // SAFETY: just allocated, unused.
        unsafe { crate::mm::frame::free(frame) };
        return None;
    }
    // SAFETY: fresh memory for one Pipe. The buffer need not be zeroed:
    // only written bytes are ever read.
    unsafe {
        (&raw mut (*p).buf).write(crate::mm::paging::direct(frame));
        (&raw mut (*p).head).write(0);
        (&raw mut (*p).tail).write(0);
        (&raw mut (*p).readers).write(1);
        (&raw mut (*p).writers).write(1);
        (&raw mut (*p).rq).write(List::new());
        (&raw mut (*p).wq).write(List::new());
    }
    Some((File { kind: 2, pipe: p }, File { kind: 3, pipe: p }))
}

impl Pipe {
    /// Reads into `out` (user memory, checked): sleeps while empty and a
    /// writer exists. Returns the count (0: end of file), or `None` when
    /// the reader was killed while waiting.
    pub fn read(&mut self, out: &mut [u8]) -> Option<usize> {
        loop {
            let avail = self.head.wrapping_sub(self.tail);
            if avail > 0 {
                let n = avail.min(out.len());
                let start = self.tail % PIPE_SIZE;
                let first = n.min(PIPE_SIZE - start);
                // SAFETY: the pipe's own frame, alive while the pipe is.
                let buf = unsafe { &*self.buf };
                copy(&mut out[..first], &buf[start..start + first]);
                copy(&mut out[first..n], &buf[..n - first]);
                self.tail = self.tail.wrapping_add(n);
                wake_all(&raw mut self.wq);
                return Some(n);
            }
            if self.writers == 0 || out.is_empty() {
                return Some(0);
            }
            if pcb(current()).info.killed != 0 {
                return None;
            }
            sched::sleep(SleepReason::Pipe, &raw mut self.rq);
        }
    }

    /// Writes all of `data` (user memory, checked), sleeping while full.
    /// Returns the count, or `-EPIPE` when no reader is left (before any
    /// byte went), or the count so far when killed.
    pub fn write(&mut self, data: &[u8]) -> i64 {
        let mut done = 0;
        while done < data.len() {
            if self.readers == 0 {
                return if done > 0 { done as i64 } else { -EPIPE };
            }
            let room = PIPE_SIZE - self.head.wrapping_sub(self.tail);
            if room == 0 {
                wake_all(&raw mut self.rq);
                if pcb(current()).info.killed != 0 {
                    return done as i64;
                }
                sched::sleep(SleepReason::Pipe, &raw mut self.wq);
                continue;
            }
            let n = room.min(data.len() - done);
            let start = self.head % PIPE_SIZE;
            let first = n.min(PIPE_SIZE - start);
            // SAFETY: the pipe's own frame, alive while the pipe is.
            let buf = unsafe { &mut *self.buf };
            copy(&mut buf[start..start + first], &data[done..done + first]);
            copy(&mut buf[..n - first], &data[done + first..done + n]);
            self.head = self.head.wrapping_add(n);
            done += n;
        }
        wake_all(&raw mut self.rq);
        done as i64
    }
}

/// One `rep movsb` (slices of equal length).
pub fn copy(dst: &mut [u8], src: &[u8]) {
    let n = dst.len().min(src.len());
    // SAFETY: both slices are valid for n bytes and cannot overlap (one is
    // borrowed mutably).
    unsafe { crate::arch::x86_64::cpu::copy_bytes(dst.as_mut_ptr(), src.as_ptr(), n) };
}
