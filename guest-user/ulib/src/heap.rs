//! The heap: power-of-two size classes with a free list each, carved from a
//! bump region that grows with `sbrk` in steps of at least [`GROW_STEP`].
//!
//! Simple on purpose: a freed block goes back to its class's list and is
//! never merged or returned to the kernel. A block of class `c` is `2^c`
//! bytes aligned to `min(2^c, 4096)`, so any request with an alignment up to
//! a page fits a block of its class. Processes are single-threaded and
//! `fork` copies the whole heap, so no lock is needed.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::ptr::null_mut;

/// Smallest block: 16 bytes (room for the free-list link).
const MIN_CLASS: usize = 4;
/// Number of classes (blocks up to 2^47, the whole user half).
const CLASSES: usize = 48;
/// Largest alignment a block guarantees.
const MAX_ALIGN: usize = 4096;
/// Least the heap grows by at once, to keep `sbrk` calls rare.
pub const GROW_STEP: usize = 16 * 1024;

const fn align_up(x: usize, a: usize) -> usize {
    (x + a - 1) & !(a - 1)
}

/// The size class serving `layout`, `None` if no block can.
fn class_of(layout: Layout) -> Option<usize> {
    if layout.align() > MAX_ALIGN {
        return None;
    }
    let size = layout.size().max(layout.align()).max(1 << MIN_CLASS);
    let class = size.checked_next_power_of_two()?.trailing_zeros() as usize;
    (class < CLASSES).then_some(class)
}

/// The allocator's state, independent of where memory comes from.
pub struct Heap {
    /// Head of each class's free list (0 = empty); a free block's first
    /// word links to the next.
    free: [usize; CLASSES],
    /// Bump region `[next, end)`; `end` is the program break we set last.
    next: usize,
    end: usize,
}

impl Heap {
    /// An empty heap; it grows on the first allocation.
    pub const fn new() -> Self {
        Heap {
            free: [0; CLASSES],
            next: 0,
            end: 0,
        }
    }

    /// Allocates a block for `layout`; `grow(n)` must extend the break by `n`
    /// bytes and return the old break. Null when out of memory.
    ///
    /// # Safety
    /// Every block on the free lists came from this heap and is unused.
    pub unsafe fn alloc(
        &mut self,
        layout: Layout,
        mut grow: impl FnMut(usize) -> Option<usize>,
    ) -> *mut u8 {
        let Some(class) = class_of(layout) else {
            return null_mut();
        };
        let head = self.free[class];
        if head != 0 {
            // SAFETY: a free block of ours; its first word is the link.
            self.free[class] = unsafe { *(head as *const usize) };
            return head as *mut u8;
        }
        let size = 1usize << class;
        let align = size.min(MAX_ALIGN);
        let fits = |next: usize, end: usize| {
            align_up(next, align)
                .checked_add(size)
                .is_some_and(|e| e <= end)
        };
        if !fits(self.next, self.end) {
            let Some(want) = size.checked_add(align).map(|n| align_up(n, GROW_STEP)) else {
                return null_mut();
            };
            let Some(old) = grow(want) else {
                return null_mut();
            };
            // Someone else moved the break (a test calling sbrk): the tail
            // of our old region is abandoned and we start at the new break.
            if old != self.end {
                self.next = old;
            }
            self.end = old + want;
        }
        let start = align_up(self.next, align);
        self.next = start + size;
        start as *mut u8
    }

    /// Returns a block to its class's free list.
    ///
    /// # Safety
    /// `ptr` came from [`alloc`](Self::alloc) with this `layout` and is no
    /// longer used.
    pub unsafe fn dealloc(&mut self, ptr: *mut u8, layout: Layout) {
        let Some(class) = class_of(layout) else {
            return;
        };
        // SAFETY: the block is ours, at least 16 bytes and 8-aligned.
        unsafe { *(ptr as *mut usize) = self.free[class] };
        self.free[class] = ptr as usize;
    }
}

impl Default for Heap {
    fn default() -> Self {
        Self::new()
    }
}

/// The global allocator: a [`Heap`] growing with `sbrk`.
pub struct SbrkAlloc(UnsafeCell<Heap>);

// SAFETY: user processes have a single thread; nothing else touches the heap.
unsafe impl Sync for SbrkAlloc {}

impl SbrkAlloc {
    /// An empty heap.
    pub const fn new() -> Self {
        SbrkAlloc(UnsafeCell::new(Heap::new()))
    }
}

impl Default for SbrkAlloc {
    fn default() -> Self {
        Self::new()
    }
}

fn sbrk_grow(n: usize) -> Option<usize> {
    crate::sys::sbrk(i64::try_from(n).ok()?)
        .ok()
        .map(|b| b as usize)
}

// SAFETY: blocks are distinct, sized and aligned for their layout (see Heap).
unsafe impl GlobalAlloc for SbrkAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: single-threaded, and the heap never calls back into us.
        unsafe { (*self.0.get()).alloc(layout, sbrk_grow) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above; the caller gives back a block of ours.
        unsafe { (*self.0.get()).dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // A block already big enough (same class) is kept: Vec growth by
        // doubling then costs one copy per class, not per push.
        if let Ok(new) = Layout::from_size_align(new_size, layout.align())
            && class_of(new) == class_of(layout)
        {
            return ptr;
        }
        // SAFETY: GlobalAlloc::realloc's default, with the caller's contract.
        unsafe {
            let new = Layout::from_size_align_unchecked(new_size, layout.align());
            let p = self.alloc(new);
            if !p.is_null() {
                core::ptr::copy_nonoverlapping(ptr, p, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            p
        }
    }
}

#[cfg(target_os = "none")]
#[global_allocator]
static ALLOCATOR: SbrkAlloc = SbrkAlloc::new();

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake program break over a host buffer.
    struct Arena {
        mem: Vec<u8>,
        brk: usize,
        calls: usize,
    }

    impl Arena {
        fn new() -> Self {
            let mem = vec![0u8; 1 << 20];
            let brk = mem.as_ptr() as usize + 100; // deliberately unaligned
            Arena { mem, brk, calls: 0 }
        }
        fn grow(&mut self, n: usize) -> Option<usize> {
            let top = self.mem.as_ptr() as usize + self.mem.len();
            (self.brk + n <= top).then(|| {
                self.calls += 1;
                let old = self.brk;
                self.brk += n;
                old
            })
        }
    }

    #[test]
    fn classes() {
        let l = |s, a| Layout::from_size_align(s, a).unwrap();
        assert_eq!(class_of(l(1, 1)), Some(4));
        assert_eq!(class_of(l(17, 8)), Some(5));
        assert_eq!(class_of(l(8, 64)), Some(6));
        assert_eq!(class_of(l(4096, 4096)), Some(12));
        assert_eq!(class_of(l(8, 8192)), None);
    }

    #[test]
    fn blocks_are_aligned_disjoint_and_reused() {
        let mut a = Arena::new();
        let mut h = Heap::new();
        let mut blocks = Vec::new();
        for (i, size) in [1usize, 24, 100, 5000, 16, 300, 64 * 1024]
            .into_iter()
            .enumerate()
        {
            let layout = Layout::from_size_align(size, 8 << (i % 3)).unwrap();
            // SAFETY: the heap's free lists are empty or its own.
            let p = unsafe { h.alloc(layout, |n| a.grow(n)) } as usize;
            assert_ne!(p, 0);
            assert_eq!(p % layout.align(), 0);
            assert!(p + size <= a.brk);
            for &(q, qs) in &blocks {
                assert!(p + size <= q || q + qs <= p, "overlap");
            }
            blocks.push((p, size));
        }
        assert!(a.calls <= 3, "grew {} times", a.calls);
        let layout = Layout::from_size_align(100, 8).unwrap();
        let (p, _) = blocks[2];
        // SAFETY: p came from h with a layout of the same class.
        unsafe { h.dealloc(p as *mut u8, layout) };
        // SAFETY: as above.
        assert_eq!(unsafe { h.alloc(layout, |n| a.grow(n)) } as usize, p);
    }

    #[test]
    fn out_of_memory_is_null() {
        let mut a = Arena::new();
        let mut h = Heap::new();
        let layout = Layout::from_size_align(4 << 20, 8).unwrap();
        // SAFETY: empty heap.
        assert!(unsafe { h.alloc(layout, |n| a.grow(n)) }.is_null());
    }
}
