//! The physical frame allocator: 4 KiB frames of RAM.
//!
//! Usable RAM is the loader's E820 RAM minus the kernel image (and all below
//! it) and the initrd, up to the end of the direct map
//! ([`logic::mm::memmap::usable`]). Frames are handed out by a bump pointer
//! that walks those ranges once; a freed frame goes on a free list threaded
//! through the frames themselves (the first 8 bytes of a free frame hold the
//! physical address of the next, through the direct map). Allocation and
//! freeing are O(1) and nothing loops over frames at boot.

use core::sync::atomic::{AtomicBool, Ordering};

use logic::mm::memmap::{self, Range};

use crate::arch::x86_64::cpu;
use crate::arch::x86_64::layout::{self, PhysAddr};
use crate::sync::IrqLock;
use abi::PAGE_SIZE;

/// Most usable ranges kept; more are dropped (and logged).
const MAX_RANGES: usize = 32;

/// Frames only the kernel heap may take: what processes ask for (their
/// pages, page tables, kernel stacks, pipe buffers: [`alloc_user`]) fails
/// while no more than this many are free, so the kernel's own small
/// allocations (a PCB's address-space record, a page-list chunk, a copied
/// argument) still succeed when a process has taken all the memory there
/// is. 256 KiB.
pub const RESERVE: u64 = 64;

struct Frames {
    ranges: [Range; MAX_RANGES],
    nranges: usize,
    /// Index in `ranges` of the bump pointer.
    bump_range: usize,
    /// Next never-allocated frame in `ranges[bump_range]`.
    bump_next: u64,
    /// Physical address of the first free frame, 0 for none (frame 0 is
    /// never usable: it is below the kernel).
    free_head: u64,
    free_frames: u64,
    total_frames: u64,
}

static FRAMES: IrqLock<Frames> = IrqLock::new(Frames {
    ranges: [Range { start: 0, end: 0 }; MAX_RANGES],
    nranges: 0,
    bump_range: 0,
    bump_next: 0,
    free_head: 0,
    free_frames: 0,
    total_frames: 0,
});

/// Sets up the allocator over `ram` minus `exclude`. Returns the bytes of
/// RAM dropped because there were too many ranges.
pub fn init(ram: impl IntoIterator<Item = Range>, exclude: &[Range]) -> u64 {
    let mut f = FRAMES.lock();
    let mut ranges = [Range::default(); MAX_RANGES];
    let (n, dropped) = memmap::usable(ram, exclude, layout::DIRECT_MAP_SIZE, &mut ranges);
    f.ranges = ranges;
    f.nranges = n;
    f.bump_range = 0;
    f.bump_next = ranges[0].start;
    f.total_frames = ranges[..n].iter().map(|r| r.len() / PAGE_SIZE).sum();
    f.free_frames = f.total_frames;
    dropped
}

/// The usable ranges (for the boot log).
pub fn ranges() -> ([Range; MAX_RANGES], usize) {
    let f = FRAMES.lock();
    (f.ranges, f.nranges)
}

impl Frames {
    /// Takes `n` contiguous never-used frames from the bump pointer, moving
    /// to the next range when this one is too short (its rest goes on the
    /// free list, one frame at a time: rare and short).
    fn bump(&mut self, n: u64) -> Option<PhysAddr> {
        let bytes = n.checked_mul(PAGE_SIZE)?;
        while self.bump_range < self.nranges {
            let range = self.ranges[self.bump_range];
            if range.end - self.bump_next >= bytes {
                let frame = self.bump_next;
                self.bump_next += bytes;
                self.free_frames -= n;
                return Some(PhysAddr(frame));
            }
            if n == 1 {
                // Exhausted (a single frame always fits a non-empty rest).
                self.bump_range += 1;
            } else {
                let mut rest = self.bump_next;
                while rest < range.end {
                    self.push_free(rest);
                    rest += PAGE_SIZE;
                }
                self.bump_range += 1;
            }
            if let Some(next) = self.ranges.get(self.bump_range) {
                self.bump_next = next.start;
            }
        }
        None
    }

    /// Puts a frame on the free list (does not count it).
    fn push_free(&mut self, frame: u64) {
        let link: *mut u64 = layout::direct(PhysAddr(frame));
        // SAFETY: `frame` is a usable RAM frame (below the direct map's
        // end) that no one else uses any more; its first word becomes the
        // list link.
        unsafe { link.write(self.free_head) };
        self.free_head = frame;
    }

    fn pop_free(&mut self) -> Option<PhysAddr> {
        if self.free_head == 0 {
            return None;
        }
        let frame = self.free_head;
        let link: *const u64 = layout::direct(PhysAddr(frame));
        // SAFETY: a frame on the free list holds the next link in its first
        // word (push_free) and belongs to no one else.
        self.free_head = unsafe { link.read() };
        self.free_frames -= 1;
        Some(PhysAddr(frame))
    }
}

/// Allocates one frame (contents undefined).
pub fn alloc() -> Option<PhysAddr> {
    take(0)
}

/// One frame, if more than `keep` are free.
fn take(keep: u64) -> Option<PhysAddr> {
    let mut f = FRAMES.lock();
    if f.free_frames <= keep {
        return None;
    }
    f.pop_free().or_else(|| f.bump(1))
}

/// Whether frames the bump pointer hands out for the first time are known
/// to be zero. Loaders hand over zeroed RAM (our VMM, QEMU, Firecracker and
/// Cloud Hypervisor back guest RAM with fresh anonymous memory), and a
/// process needs a dozen zeroed frames, each a `rep stosq` of 4 KiB
/// otherwise. The `scrub` command-line flag turns this off for loaders that
/// leave RAM dirty.
static FRESH_IS_ZERO: AtomicBool = AtomicBool::new(true);

/// Zero every frame handed out as zeroed, fresh ones too (`scrub`).
pub fn set_scrub(scrub: bool) {
    FRESH_IS_ZERO.store(!scrub, Ordering::Relaxed);
}

/// Whether never-used frames are zero (no `scrub`): see [`FRESH_IS_ZERO`].
pub fn fresh_is_zero() -> bool {
    FRESH_IS_ZERO.load(Ordering::Relaxed)
}

/// Allocates one zeroed frame: a never-used one when there is one (already
/// zero, see [`FRESH_IS_ZERO`]), else a recycled one, zeroed here.
pub fn alloc_zeroed() -> Option<PhysAddr> {
    take_zeroed(0)
}

/// One zeroed frame, if more than `keep` are free.
fn take_zeroed(keep: u64) -> Option<PhysAddr> {
    let (frame, fresh) = {
        let mut f = FRAMES.lock();
        if f.free_frames <= keep {
            return None;
        }
        match f.bump(1) {
            Some(frame) => (frame, true),
            None => (f.pop_free()?, false),
        }
    };
    if !(fresh && FRESH_IS_ZERO.load(Ordering::Relaxed)) {
        // SAFETY: the frame is ours, mapped by the direct map, 4 KiB long.
        unsafe { cpu::zero_bytes(layout::direct(frame), PAGE_SIZE as usize) };
    }
    Some(frame)
}

/// Allocates `n` physically contiguous frames: from the bump pointer,
/// so it can fail for `n > 1` while single frames are still free (one
/// frame may also come from the free list).
pub fn alloc_contiguous(n: u64) -> Option<PhysAddr> {
    let mut f = FRAMES.lock();
    if n == 1 {
        return f.pop_free().or_else(|| f.bump(1));
    }
    f.bump(n)
}

/// [`alloc`] for what a process asks for: `None` once only the reserve
/// is left.
pub fn alloc_user() -> Option<PhysAddr> {
    take(RESERVE)
}

/// [`alloc_zeroed`] for what a process asks for: `None` once only the
/// reserve is left.
pub fn alloc_zeroed_user() -> Option<PhysAddr> {
    take_zeroed(RESERVE)
}

/// Frames a process may still take (free ones beyond the reserve).
pub fn user_available() -> u64 {
    FRAMES.lock().free_frames.saturating_sub(RESERVE)
}

/// Returns a frame.
///
/// # Safety
///
/// `frame` came from this allocator and nothing uses it any more.
pub unsafe fn free(frame: PhysAddr) {
    let mut f = FRAMES.lock();
    f.push_free(frame.0);
    f.free_frames += 1;
}

/// `(free, total)` frames.
pub fn stats() -> (u64, u64) {
    let f = FRAMES.lock();
    (f.free_frames, f.total_frames)
}
