//! A list of `(address, entry)` pairs in 2 KiB chunks: what an address
//! space keeps of its mapped pages and page-table frames.
//!
//! A `Vec` would do, but a big one is a heap allocation of several
//! contiguous frames, and contiguous frames run out long before single
//! ones do (the frame allocator hands them out only from its bump pointer),
//! so a growing process would need memory that may not exist even while
//! single frames are free. Chunks are the heap's largest
//! size class, never more, and every allocation is fallible: [`reserve`]
//! says `false` instead of panicking, so a page fault can fail cleanly.
//!
//! The order of entries is unspecified. Pushes go to the first chunk;
//! [`retain`] compacts in place, front to back.
//!
//! [`reserve`]: PageList::reserve
//! [`retain`]: PageList::retain

use alloc::alloc::{Layout, alloc, dealloc};
use core::marker::PhantomData;
use core::ptr;

/// Entries per chunk: with the link and the count, a chunk is 2 KiB.
pub const CHUNK: usize = 127;

#[repr(C)]
struct Chunk {
    next: *mut Chunk,
    len: usize,
    entries: [(u64, u64); CHUNK],
}

const _: () = assert!(core::mem::size_of::<Chunk>() == 2048);

/// The list. Owns its chunks; not `Sync` (the kernel keeps it in a PCB).
pub struct PageList {
    /// The first chunk (where pushes go), null when empty.
    head: *mut Chunk,
    len: usize,
}

impl Default for PageList {
    fn default() -> Self {
        Self::new()
    }
}

impl PageList {
    /// An empty list (allocates nothing).
    pub const fn new() -> Self {
        PageList {
            head: ptr::null_mut(),
            len: 0,
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Makes sure the next [`push`](Self::push) needs no memory: `false`
    /// when a chunk was needed and there was no memory for it.
    #[inline]
    pub fn reserve(&mut self) -> bool {
        // SAFETY: head is null or a live chunk of this list.
        if !self.head.is_null() && unsafe { (*self.head).len } < CHUNK {
            return true;
        }
        self.grow()
    }

    /// Puts a new, empty chunk in front: `false` without memory for it.
    #[cold]
    #[inline(never)]
    fn grow(&mut self) -> bool {
        let layout = Layout::new::<Chunk>();
        // SAFETY: a non-zero-sized layout.
        let c = unsafe { alloc(layout) } as *mut Chunk;
        if c.is_null() {
            return false;
        }
        // SAFETY: fresh memory for one Chunk; the entries need no
        // initialization (only the first `len` are ever read).
        unsafe {
            (&raw mut (*c).next).write(self.head);
            (&raw mut (*c).len).write(0);
        }
        self.head = c;
        true
    }

    /// Adds an entry: `false` (and nothing added) without memory for it.
    #[inline]
    pub fn push(&mut self, addr: u64, entry: u64) -> bool {
        if !self.reserve() {
            return false;
        }
        // SAFETY: reserve left a live head chunk with room.
        unsafe {
            let h = &mut *self.head;
            h.entries[h.len] = (addr, entry);
            h.len += 1;
        }
        self.len += 1;
        true
    }

    /// The entries.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            chunk: self.head,
            i: 0,
            _list: PhantomData,
        }
    }

    /// Keeps the entries `keep` says yes to, in one pass, moving kept ones
    /// forward over the dropped ones and freeing the chunks left empty.
    pub fn retain(&mut self, mut keep: impl FnMut(u64, u64) -> bool) {
        // The write position never passes the read position: every chunk
        // before the writer's is full, and a chunk holds at most CHUNK.
        let (mut w, mut wi) = (self.head, 0usize);
        let mut r = self.head;
        let mut kept = 0;
        while !r.is_null() {
            // SAFETY: r and w are live chunks of this list; an entry is
            // read before anything can be written over it (see above).
            unsafe {
                for i in 0..(*r).len {
                    let e = (*r).entries[i];
                    if !keep(e.0, e.1) {
                        continue;
                    }
                    if wi == CHUNK {
                        w = (*w).next;
                        wi = 0;
                    }
                    (*w).entries[wi] = e;
                    wi += 1;
                    kept += 1;
                }
                r = (*r).next;
            }
        }
        self.len = kept;
        if kept == 0 {
            self.free_from(self.head);
            self.head = ptr::null_mut();
            return;
        }
        // Chunks before the writer's are full; the writer's holds wi; the
        // rest go.
        let mut c = self.head;
        // SAFETY: walking this list's live chunks up to w.
        unsafe {
            while c != w {
                (*c).len = CHUNK;
                c = (*c).next;
            }
            (*w).len = wi;
            let rest = (*w).next;
            (*w).next = ptr::null_mut();
            self.free_from(rest);
        }
    }

    /// Frees `c` and every chunk after it.
    fn free_from(&mut self, mut c: *mut Chunk) {
        while !c.is_null() {
            // SAFETY: c is a chunk this list allocated and no longer links.
            unsafe {
                let next = (*c).next;
                dealloc(c as *mut u8, Layout::new::<Chunk>());
                c = next;
            }
        }
    }
}

impl Drop for PageList {
    fn drop(&mut self) {
        self.free_from(self.head);
    }
}

/// An iterator over a [`PageList`]'s entries.
pub struct Iter<'a> {
    chunk: *const Chunk,
    i: usize,
    _list: PhantomData<&'a PageList>,
}

impl Iterator for Iter<'_> {
    type Item = (u64, u64);

    fn next(&mut self) -> Option<(u64, u64)> {
        while !self.chunk.is_null() {
            // SAFETY: a live chunk of the borrowed list.
            let c = unsafe { &*self.chunk };
            if self.i < c.len {
                self.i += 1;
                return Some(c.entries[self.i - 1]);
            }
            self.chunk = c.next;
            self.i = 0;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(l: &PageList) -> Vec<(u64, u64)> {
        let mut v: Vec<_> = l.iter().collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn push_iterate_and_retain_across_chunks() {
        let mut l = PageList::new();
        assert!(l.is_empty() && l.iter().next().is_none());
        let n = 3 * CHUNK as u64 + 5;
        for i in 0..n {
            assert!(l.push(i, i * 10));
        }
        assert_eq!(l.len(), n as usize);
        assert_eq!(sorted(&l), (0..n).map(|i| (i, i * 10)).collect::<Vec<_>>());
        // Drop every third, then push more: nothing lost or doubled.
        l.retain(|a, _| a % 3 != 0);
        let want: Vec<_> = (0..n).filter(|a| a % 3 != 0).map(|i| (i, i * 10)).collect();
        assert_eq!(l.len(), want.len());
        assert_eq!(sorted(&l), want);
        for i in n..n + 200 {
            assert!(l.push(i, 0));
        }
        let mut want2 = want.clone();
        want2.extend((n..n + 200).map(|i| (i, 0)));
        assert_eq!(sorted(&l), want2);
        // Repeated shrink and grow keeps it exact.
        for round in 0..5u64 {
            l.retain(|a, _| (a + round) % 2 == 0);
            let left = l.len();
            assert_eq!(l.iter().count(), left);
            for i in 0..(CHUNK as u64 + round) {
                assert!(l.push(10_000 * (round + 1) + i, 1));
            }
            assert_eq!(l.iter().count(), left + CHUNK + round as usize);
        }
        l.retain(|_, _| false);
        assert!(l.is_empty() && l.iter().next().is_none());
        assert!(l.push(1, 2));
        assert_eq!(sorted(&l), [(1, 2)]);
    }

    #[test]
    fn reserve_then_push() {
        let mut l = PageList::new();
        assert!(l.reserve());
        assert!(l.reserve());
        assert!(l.is_empty());
        for i in 0..CHUNK as u64 {
            assert!(l.push(i, 0));
        }
        assert!(l.reserve());
        assert!(l.push(999, 0));
        assert_eq!(l.len(), CHUNK + 1);
    }
}
