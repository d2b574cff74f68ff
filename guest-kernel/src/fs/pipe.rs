//! Pipes: a 4 KiB ring (a frame of its own: the heap's multi-frame
//! allocations need contiguous frames, which can run out while single ones
//! are free) with counts of open read and write ends and two wait queues.
//! Reading an empty pipe sleeps until data comes or no writer is left
//! (then 0: end of file); writing a full one sleeps until there is room;
//! writing with no reader left is `EPIPE`. Sleeping and waking go through
//! the caller's [`Sleeper`] (the scheduler), so a pipe knows nothing of
//! processes.

use alloc::boxed::Box;

use crate::sync::Sleeper;
use abi::proc::SleepReason;
use abi::sys::errno::{EINTR, EPIPE};
use logic::sync::list::List;

/// Bytes a pipe buffers.
pub const PIPE_SIZE: usize = 4096;

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

    /// The readers' wait list (an address, valid while the pipe is).
    fn readers_list(pipe: *mut Pipe) -> *mut List {
        // SAFETY: only the field's address is computed.
        unsafe { &raw mut (*pipe).rq }
    }

    /// The writers' wait list (as [`Pipe::readers_list`]).
    fn writers_list(pipe: *mut Pipe) -> *mut List {
        // SAFETY: only the field's address is computed.
        unsafe { &raw mut (*pipe).wq }
    }

    /// Reads from `pipe` into `out` (user memory, checked): sleeps while
    /// empty and a writer exists. Returns the count (0: end of file), or
    /// `None` when the wait was interrupted (a kill, a signal). Other processes
    /// use the pipe while this one sleeps: no reference to it is held
    /// across a sleep or a wake.
    ///
    /// # Safety
    /// `pipe` is a live pipe (an open end keeps it alive).
    pub unsafe fn read(pipe: *mut Pipe, out: &mut [u8], s: &mut impl Sleeper) -> Option<usize> {
        loop {
            // SAFETY: live (the caller's promise); dropped before any call.
            let p = unsafe { &mut *pipe };
            let avail = p.head.wrapping_sub(p.tail);
            if avail > 0 {
                let n = avail.min(out.len());
                let start = p.tail % PIPE_SIZE;
                let first = n.min(PIPE_SIZE - start);
                // SAFETY: the pipe's own frame, alive while the pipe is.
                let buf = unsafe { &*p.buf };
                copy(&mut out[..first], &buf[start..start + first]);
                copy(&mut out[first..n], &buf[..n - first]);
                p.tail = p.tail.wrapping_add(n);
                s.wake_all(Self::writers_list(pipe));
                return Some(n);
            }
            if p.writers == 0 || out.is_empty() {
                return Some(0);
            }
            if s.interrupted() {
                return None;
            }
            s.sleep(SleepReason::Pipe, Self::readers_list(pipe));
        }
    }

    /// Writes all of `data` (user memory, checked) into `pipe`, sleeping
    /// while full. Returns the count, or `-EPIPE` when no reader is left
    /// (before any byte went; the caller raises `SIGPIPE`), or when the
    /// wait is interrupted the count so far (`-EINTR` if none). No
    /// reference to the pipe is held across a sleep or a wake.
    ///
    /// # Safety
    /// `pipe` is a live pipe (an open end keeps it alive).
    pub unsafe fn write(pipe: *mut Pipe, data: &[u8], s: &mut impl Sleeper) -> i64 {
        let mut done = 0;
        while done < data.len() {
            // SAFETY: live (the caller's promise); dropped before any call.
            let p = unsafe { &mut *pipe };
            if p.readers == 0 {
                return if done > 0 { done as i64 } else { -EPIPE };
            }
            let room = PIPE_SIZE - p.head.wrapping_sub(p.tail);
            if room == 0 {
                s.wake_all(Self::readers_list(pipe));
                if s.interrupted() {
                    return if done > 0 { done as i64 } else { -EINTR };
                }
                s.sleep(SleepReason::Pipe, Self::writers_list(pipe));
                continue;
            }
            let n = room.min(data.len() - done);
            let start = p.head % PIPE_SIZE;
            let first = n.min(PIPE_SIZE - start);
            // SAFETY: the pipe's own frame, alive while the pipe is.
            let buf = unsafe { &mut *p.buf };
            copy(&mut buf[start..start + first], &data[done..done + first]);
            copy(&mut buf[..n - first], &data[done + first..done + n]);
            p.head = p.head.wrapping_add(n);
            done += n;
        }
        s.wake_all(Self::readers_list(pipe));
        done as i64
    }

    /// Counts one more reader (`true`) or writer of `pipe`.
    ///
    /// # Safety
    /// `pipe` is a live pipe.
    pub(super) unsafe fn open_end(pipe: *mut Pipe, reader: bool) {
        // SAFETY: live (the caller's promise).
        let p = unsafe { &mut *pipe };
        if reader {
            p.readers += 1;
        } else {
            p.writers += 1;
        }
    }

    /// Counts one reader (`true`) or writer of `pipe` less, waking the
    /// other side, and frees the pipe when no end is left.
    ///
    /// # Safety
    /// `pipe` is a live pipe and the caller held the end it closes; the
    /// pointer is not used again if this was the last end.
    pub(super) unsafe fn close_end(pipe: *mut Pipe, reader: bool, s: &mut impl Sleeper) {
        // SAFETY: live (the caller's promise); dropped before the wake.
        let p = unsafe { &mut *pipe };
        let other = if reader {
            p.readers -= 1;
            Self::writers_list(pipe)
        } else {
            p.writers -= 1;
            Self::readers_list(pipe)
        };
        s.wake_all(other);
        // SAFETY: as above.
        let p = unsafe { &mut *pipe };
        if p.readers == 0 && p.writers == 0 {
            // SAFETY: Pipe::new made the frame and the box; no end, and so
            // no reference or sleeper, is left.
            unsafe {
                crate::mm::frame::free(crate::arch::x86_64::layout::direct_to_phys(p.buf as u64));
                drop(Box::from_raw(pipe));
            }
        }
    }
}

/// One `rep movsb` (slices of equal length).
pub fn copy(dst: &mut [u8], src: &[u8]) {
    let n = dst.len().min(src.len());
    // SAFETY: both slices are valid for n bytes and cannot overlap (one is
    // borrowed mutably).
    unsafe { crate::arch::x86_64::cpu::copy_bytes(dst.as_mut_ptr(), src.as_ptr(), n) };
}
