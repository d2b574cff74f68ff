//! The kernel heap: the `#[global_allocator]` behind `alloc::{Box, Vec,
//! String}`.
//!
//! Requests up to 2 KiB are rounded up to a power of two (16 B .. 2 KiB, 8
//! size classes). Each class has a free list threaded through its free
//! blocks and a "carve" window: the unused tail of the last frame it took.
//! Allocation pops the free list, else cuts the next block from the window,
//! else takes a fresh frame; freeing pushes on the free list. All O(1), and a
//! new frame is never split up in a loop. Blocks of a class are aligned to
//! their size because frames are 4 KiB aligned.
//!
//! Larger requests take whole contiguous frames straight from the frame
//! allocator and give them back one by one when freed.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr;

use super::frame;
use crate::arch::x86_64::layout::{self, PhysAddr};
use crate::sync::IrqLock;
use abi::PAGE_SIZE;

/// Smallest block: room for the free-list link and then some.
const MIN_BLOCK: usize = 16;
/// Largest block served from a size class.
const MAX_BLOCK: usize = 2048;
const CLASSES: usize = 8; // 16, 32, ..., 2048

#[derive(Clone, Copy)]
struct Class {
    /// Address of the first free block, 0 for none.
    free: usize,
    /// The carve window `[carve, carve_end)`.
    carve: usize,
    carve_end: usize,
}

struct Heap {
    classes: [Class; CLASSES],
    /// Bytes handed out and not yet freed (block sizes, not request sizes).
    in_use: usize,
    /// Frames the heap holds (class frames are never returned).
    frames: usize,
    /// Frames of whole-frame allocations now in use.
    large: usize,
}

/// The allocator; see the module documentation.
pub struct KernelHeap(IrqLock<Heap>);

#[global_allocator]
static HEAP: KernelHeap = KernelHeap(IrqLock::new(Heap {
    classes: [Class {
        free: 0,
        carve: 0,
        carve_end: 0,
    }; CLASSES],
    in_use: 0,
    frames: 0,
    large: 0,
}));

/// The size class of a layout, or `None` for a whole-frame allocation.
fn class_of(layout: Layout) -> Option<usize> {
    let size = layout.size().max(layout.align()).max(MIN_BLOCK);
    if size > MAX_BLOCK {
        return None;
    }
    let block = size.next_power_of_two();
    Some((block.trailing_zeros() - MIN_BLOCK.trailing_zeros()) as usize)
}

fn pages_of(layout: Layout) -> usize {
    layout.size().div_ceil(PAGE_SIZE as usize)
}

// SAFETY: alloc returns blocks of at least layout.size() bytes aligned to
// layout.align() (class blocks are aligned to their power-of-two size, which
// is at least the alignment; frame allocations are page aligned and larger
// alignments are refused), never hands out a block twice (a block is either
// on one free list, in a carve window, or allocated), and dealloc takes the
// same layout the block was allocated with.
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller keeps alloc's contract.
        let p = unsafe { self.alloc(layout) };
        // A whole-frame block of more than one frame is never-used frames
        // (frame::alloc_contiguous takes those from the bump pointer only),
        // which are zero unless `scrub`: the process table is allocated so
        // at boot, and zeroing it would be a `rep stosq` over every slot.
        let fresh = class_of(layout).is_none() && pages_of(layout) > 1 && frame::fresh_is_zero();
        if !p.is_null() && !fresh {
            // SAFETY: a block of at least layout.size() bytes, now ours.
            unsafe { crate::arch::x86_64::cpu::zero_bytes(p, layout.size()) };
        }
        p
    }

    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let mut heap = self.0.lock();
        match class_of(layout) {
            Some(class) => {
                let block = MIN_BLOCK << class;
                let c = &mut heap.classes[class];
                let addr = if c.free != 0 {
                    let addr = c.free;
                    // SAFETY: a free block's first word is the next link.
                    c.free = unsafe { (addr as *const usize).read() };
                    addr
                } else {
                    if c.carve == c.carve_end {
                        let Some(frame) = frame::alloc() else {
                            return ptr::null_mut();
                        };
                        let start = layout::direct::<u8>(frame) as usize;
                        let c = &mut heap.classes[class];
                        c.carve = start;
                        c.carve_end = start + PAGE_SIZE as usize;
                        heap.frames += 1;
                    }
                    let c = &mut heap.classes[class];
                    let addr = c.carve;
                    c.carve += block;
                    addr
                };
                heap.in_use += block;
                addr as *mut u8
            }
            None => {
                if layout.align() > PAGE_SIZE as usize {
                    return ptr::null_mut();
                }
                let pages = pages_of(layout);
                match frame::alloc_contiguous(pages as u64) {
                    Some(frame) => {
                        heap.in_use += pages * PAGE_SIZE as usize;
                        heap.large += pages;
                        layout::direct(frame)
                    }
                    None => ptr::null_mut(),
                }
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let mut heap = self.0.lock();
        match class_of(layout) {
            Some(class) => {
                let block = MIN_BLOCK << class;
                let c = &mut heap.classes[class];
                // SAFETY: the block is ours again (GlobalAlloc contract) and
                // at least 16 bytes: its first word becomes the link.
                unsafe { (ptr as *mut usize).write(c.free) };
                c.free = ptr as usize;
                heap.in_use -= block;
            }
            None => {
                let pages = pages_of(layout);
                let phys = layout::direct_to_phys(ptr as u64);
                for i in 0..pages as u64 {
                    // SAFETY: these frames came from alloc_contiguous in
                    // alloc() with the same layout and are no longer used.
                    unsafe { frame::free(PhysAddr(phys.0 + i * PAGE_SIZE)) };
                }
                heap.in_use -= pages * PAGE_SIZE as usize;
                heap.large -= pages;
            }
        }
    }
}

/// `(bytes in use, frames held by the size classes)`.
pub fn stats() -> (usize, usize) {
    let heap = HEAP.0.lock();
    (heap.in_use, heap.frames)
}

/// Frames the heap holds now: the size classes' and the whole-frame
/// allocations'.
pub fn frames() -> u64 {
    let heap = HEAP.0.lock();
    (heap.frames + heap.large) as u64
}
