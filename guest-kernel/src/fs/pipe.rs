//! Pipes: a 4 KiB ring (a frame of its own: the heap's multi-frame
//! allocations need contiguous frames, which can run out while single ones
//! are free) with counts of open read and write ends and two wait queues.
//! Reading an empty pipe sleeps until data comes or no writer is left
//! (then 0: end of file); writing a full one sleeps until there is room;
//! writing with no reader left is `EPIPE`. Sleeping and waking go through
//! the caller's [`Sleeper`] (the scheduler), so a pipe knows nothing of
//! processes.

use crate::sync::Sleeper;
use abi::proc::SleepReason;
use abi::sys::errno::EPIPE;
use logic::sync::list::List;

/// Bytes a pipe buffers.
pub const PIPE_SIZE: usize = 4096;

/// A pipe.
pub struct Pipe {
    /// The ring: one frame, through the direct map.
    pub(super) buf: *mut [u8; PIPE_SIZE],
    /// Bytes ever written / read (wrapping).
    head: usize,
    tail: usize,
    pub(super) readers: u32,
    pub(super) writers: u32,
    /// Readers waiting for data.
    pub(super) rq: List,
    /// Writers waiting for room.
    pub(super) wq: List,
}

impl Pipe {
    /// A new pipe with one read and one write end counted, or `None`
    /// without memory.
    pub fn new() -> Option<*mut Pipe> {
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
            (&raw mut (*p).buf).write(crate::arch::x86_64::layout::direct(frame));
            (&raw mut (*p).head).write(0);
            (&raw mut (*p).tail).write(0);
            (&raw mut (*p).readers).write(1);
            (&raw mut (*p).writers).write(1);
            (&raw mut (*p).rq).write(List::new());
            (&raw mut (*p).wq).write(List::new());
        }
        Some(p)
    }

    /// Reads into `out` (user memory, checked): sleeps while empty and a
    /// writer exists. Returns the count (0: end of file), or `None` when
    /// the reader was killed while waiting.
    pub fn read(&mut self, out: &mut [u8], s: &mut impl Sleeper) -> Option<usize> {
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
                s.wake_all(&raw mut self.wq);
                return Some(n);
            }
            if self.writers == 0 || out.is_empty() {
                return Some(0);
            }
            if s.killed() {
                return None;
            }
            s.sleep(SleepReason::Pipe, &raw mut self.rq);
        }
    }

    /// Writes all of `data` (user memory, checked), sleeping while full.
    /// Returns the count, or `-EPIPE` when no reader is left (before any
    /// byte went), or the count so far when killed.
    pub fn write(&mut self, data: &[u8], s: &mut impl Sleeper) -> i64 {
        let mut done = 0;
        while done < data.len() {
            if self.readers == 0 {
                return if done > 0 { done as i64 } else { -EPIPE };
            }
            let room = PIPE_SIZE - self.head.wrapping_sub(self.tail);
            if room == 0 {
                s.wake_all(&raw mut self.rq);
                if s.killed() {
                    return done as i64;
                }
                s.sleep(SleepReason::Pipe, &raw mut self.wq);
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
        s.wake_all(&raw mut self.rq);
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
