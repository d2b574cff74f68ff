//! The initrd: a cpio newc archive the loader placed in RAM as PVH module 0,
//! read in place through the direct map (the frame allocator leaves its
//! frames alone).

use core::sync::atomic::{AtomicU64, Ordering};

use crate::mm::paging::{self, PhysAddr};
use abi::cpio::Archive;
use kernel::memmap::Range;

static START: AtomicU64 = AtomicU64::new(0);
static LEN: AtomicU64 = AtomicU64::new(0);

/// Records where the initrd is. Returns false when the direct map does not
/// reach it (it is then ignored).
pub fn init(range: Range) -> bool {
    match paging::phys_to_virt(PhysAddr(range.start), range.len()) {
        Some(virt) => {
            START.store(virt, Ordering::Relaxed);
            LEN.store(range.len(), Ordering::Relaxed);
            true
        }
        None => false,
    }
}

/// The archive's bytes (empty without an initrd).
pub fn bytes() -> &'static [u8] {
    let (start, len) = (START.load(Ordering::Relaxed), LEN.load(Ordering::Relaxed));
    if len == 0 {
        return &[];
    }
    // SAFETY: init() checked the range is inside the direct map; the loader
    // put the initrd there, the frame allocator excludes it, and nothing
    // writes it.
    unsafe { core::slice::from_raw_parts(start as *const u8, len as usize) }
}

/// The archive.
pub fn archive() -> Archive<'static> {
    Archive::new(bytes())
}
