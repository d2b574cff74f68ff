//! The initrd: a cpio newc archive the loader placed in RAM as PVH module 0,
//! read in place through the direct map (the frame allocator leaves its
//! frames alone), and the index of its files that programs are loaded from.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::arch::x86_64::layout::{self, PhysAddr};
use crate::sync::KCell;
use abi::cpio::Archive;
use logic::mm::memmap::Range;

static START: AtomicU64 = AtomicU64::new(0);
static LEN: AtomicU64 = AtomicU64::new(0);

/// Records where the initrd is. Returns false when the direct map does not
/// reach it (it is then ignored).
pub fn init(range: Range) -> bool {
    match layout::phys_to_virt(PhysAddr(range.start), range.len()) {
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

/// Program files in the initrd, indexed as lookups need them: each archive
/// header costs ring-0 time to parse (hundreds of instructions), so the
/// boot's lookup of init parses the headers up to init's, not the whole
/// archive, and a later lookup goes on from there.
struct Files {
    /// The files indexed so far.
    list: Vec<(&'static str, &'static [u8])>,
    /// The headers not yet parsed (None: not started).
    rest: Option<abi::cpio::Entries<'static>>,
}

static FILES: KCell<Files> = KCell::new(Files {
    list: Vec::new(),
    rest: None,
});

/// The data of the file at `path` (a file, not a directory).
pub fn find_file(path: &str) -> Option<&'static [u8]> {
    // SAFETY: FILES is reached only here, and nothing below reaches it.
    let files = unsafe { FILES.get() };
    let path = abi::cpio::normalize(path);
    if let Some((_, d)) = files.list.iter().find(|(n, _)| *n == path) {
        return Some(*d);
    }
    let rest = files.rest.get_or_insert_with(|| archive().entries());
    for e in rest.by_ref().map_while(Result::ok) {
        if e.is_file() {
            files.list.push((e.name, e.data));
            if e.name == path {
                return Some(e.data);
            }
        }
    }
    None
}

/// The file of the program `path` names: a name without a `/` is a
/// program in [`abi::sys::BIN_DIR`], as a shell's PATH would find it.
pub fn program_file(path: &str) -> Option<&'static [u8]> {
    if path.contains('/') {
        find_file(path)
    } else {
        find_file(&alloc::format!("{}/{path}", abi::sys::BIN_DIR))
    }
}
