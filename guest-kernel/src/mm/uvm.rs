//! User address spaces: one PML4 per process (the kernel half copied from
//! the kernel's PML4 with one `rep movsq`), the program's segments as lazily
//! filled regions, a heap grown by `sbrk` and a stack grown on demand, both
//! zero-filled on first touch, and checked access to user memory.
//!
//! Every mapped user page and every user page-table frame is listed (in
//! [`PageList`]s: 2 KiB chunks, never a big contiguous allocation), so
//! copying (fork) and freeing (exit) cost O(mapped pages): no table scans.
//! Frames come from [`frame::alloc_user`], which leaves the kernel a
//! reserve: a process that takes all memory gets failures (ENOMEM, a page
//! fault that kills it), never a kernel out of memory.
//!
//! ```text
//! 0x1000                      system-call stub (shared frame, R-X, user)
//! 0x400000 ..                 program segments (from the ELF, lazily)
//! page-aligned end .. brk     heap (sbrk), zero-filled on demand
//! GUARD_BOTTOM .. STACK_BOTTOM  unmapped: a fault there is a stack overflow
//! STACK_BOTTOM .. USER_STACK_TOP  stack, 1 MiB at most, on demand
//! ```

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::frame;
use super::paging::{PTE_ADDR, PTE_NX, PTE_P, PTE_SHARED, PTE_U, PTE_W};
use crate::arch::x86_64::cpu;
use crate::arch::x86_64::layout::{self, PhysAddr};
use crate::arch::x86_64::switch::invlpg;
use crate::sync::IrqLock;
use abi::PAGE_SIZE;
use abi::proc::Cause;
use abi::sys::{STUB_ADDR, USER_END, USER_STACK_TOP};
use logic::mm::image::{GUARD_BOTTOM, Image, MAX_SEGMENTS, STACK_BOTTOM, Segment};
use logic::mm::pagelist::PageList;

/// Whether the CPU has NX (EFER.NXE was turned on at boot).
static NX: AtomicBool = AtomicBool::new(false);
/// Physical frame of the system-call stub page.
static STUB: AtomicU64 = AtomicU64::new(0);

/// Read-only program pages (text, rodata), filled once and then shared by
/// every process that runs the program: (program file address, page) ->
/// frame. Bounded by the initrd's read-only segments; never shrinks.
/// A page is filled once (`rep movsq` of 4 KiB), so the second `sh` or a
/// fork maps it rather than copying.
static TEXT_CACHE: IrqLock<BTreeMap<(usize, u64), u64>> = IrqLock::new(BTreeMap::new());
/// Physical address of the kernel PML4 (the boot tables).
static KERNEL_PML4: AtomicU64 = AtomicU64::new(0);

/// Records the kernel PML4 and NX support, and fills the stub page with
/// `code` (the rest is `int3`). Boot only.
pub fn init(kernel_pml4: PhysAddr, code: &[u8], trampoline: &[u8]) {
    KERNEL_PML4.store(kernel_pml4.0, Ordering::Relaxed);
    NX.store(
        core::arch::x86_64::__cpuid(0x8000_0001).edx & (1 << 20) != 0,
        Ordering::Relaxed,
    );
    let f = frame::alloc().expect("no memory for the stub page");
    let page: *mut u8 = layout::direct(f);
    // SAFETY: a fresh frame, mapped by the direct map, 4 KiB.
    unsafe {
        // int3 everywhere else, by words (fewer string steps than bytes).
        core::arch::asm!("rep stosq", inout("rdi") page => _, inout("rcx") PAGE_SIZE / 8 => _, in("rax") 0xCCCC_CCCC_CCCC_CCCCu64, options(nostack));
        core::ptr::copy_nonoverlapping(code.as_ptr(), page, code.len());
        let at = (abi::signal::TRAMPOLINE - STUB_ADDR) as usize;
        core::ptr::copy_nonoverlapping(trampoline.as_ptr(), page.add(at), trampoline.len());
    }
    STUB.store(f.0, Ordering::Relaxed);
}

/// Frames of the shared text cache (it never shrinks).
pub fn text_cache_frames() -> u64 {
    TEXT_CACHE.lock().len() as u64
}

/// The kernel PML4.
pub fn kernel_pml4() -> PhysAddr {
    PhysAddr(KERNEL_PML4.load(Ordering::Relaxed))
}

/// Walks the tables from `root` to the PTE of `va`. With `create`, missing
/// tables are allocated with the given function and linked with the given
/// flags; without, a missing table gives `None`. Never follows huge pages
/// (the user half and the stack region have none).
pub fn walk(
    root: PhysAddr,
    va: u64,
    mut create: Option<(&mut dyn FnMut() -> Option<PhysAddr>, u64)>,
) -> Option<*mut u64> {
    let mut table = root.0;
    for shift in [39u32, 30, 21] {
        let entry: *mut u64 = layout::direct(PhysAddr(table + ((va >> shift) & 0x1FF) * 8));
        // SAFETY: page tables are frames under 4 GiB, in the direct map.
        let e = unsafe { entry.read() };
        table = if e & PTE_P != 0 {
            e & PTE_ADDR
        } else {
            let (alloc, flags) = create.as_mut()?;
            let t = alloc()?;
            // SAFETY: as above; the new table is zeroed.
            unsafe { entry.write(t.0 | *flags) };
            t.0
        };
    }
    Some(layout::direct(PhysAddr(table + ((va >> 12) & 0x1FF) * 8)))
}

/// How a page may be used, from its region.
#[derive(Clone, Copy)]
struct Perm {
    write: bool,
    exec: bool,
}

/// A process's address space.
pub struct Space {
    /// Physical address of the PML4.
    pub pml4: PhysAddr,
    /// Mapped user pages: (virtual address, PTE).
    pages: PageList,
    /// User page-table frames (below the PML4): (frame, 0).
    tables: PageList,
    segments: [Segment; MAX_SEGMENTS],
    nsegments: usize,
    /// The program file (in the initrd).
    file: &'static [u8],
    /// Start of the heap (page aligned).
    pub heap_start: u64,
    /// The program break.
    pub brk: u64,
}

impl Space {
    /// A new address space for `image` (nothing mapped but the stub).
    pub fn new(image: &Image, file: &'static [u8]) -> Option<Box<Space>> {
        let pml4 = frame::alloc_zeroed_user()?;
        let src: *const u64 = layout::direct(PhysAddr(kernel_pml4().0 + 2048));
        let dst: *mut u64 = layout::direct(PhysAddr(pml4.0 + 2048));
        // SAFETY: both are PML4 frames in the direct map; one rep movsq
        // copies the 256 kernel-half entries.
        unsafe { cpu::copy_qwords(dst, src, 256) };
        let mut s = Box::new(Space {
            pml4,
            pages: PageList::new(),
            tables: PageList::new(),
            segments: image.segments,
            nsegments: image.count,
            file,
            heap_start: image.heap_start(),
            brk: image.heap_start(),
        });
        let stub = STUB.load(Ordering::Relaxed);
        let pte = s.pte(STUB_ADDR, true)?;
        // SAFETY: the stub's PTE slot in our own tables.
        unsafe { pte.write(stub | PTE_P | PTE_U) };
        Some(s)
    }

    /// The no-execute bit for a page with `perm`, where the CPU has NX.
    fn nx(&self, perm: Perm) -> u64 {
        if !perm.exec && NX.load(Ordering::Relaxed) {
            PTE_NX
        } else {
            0
        }
    }

    /// Bytes of user memory mapped.
    pub fn mem_bytes(&self) -> u64 {
        self.pages.len() as u64 * PAGE_SIZE
    }

    /// Frames this space owns: its private pages (not the shared text
    /// cache's), its page tables and its PML4.
    pub fn frames(&self) -> u64 {
        let private = self
            .pages
            .iter()
            .filter(|&(_, pte)| pte & PTE_SHARED == 0)
            .count();
        (private + self.tables.len() + 1) as u64
    }

    fn pte(&mut self, va: u64, create: bool) -> Option<*mut u64> {
        let tables = &mut self.tables;
        let mut alloc = || {
            if !tables.reserve() {
                return None;
            }
            let t = frame::alloc_zeroed_user()?;
            tables.push(t.0, 0);
            Some(t)
        };
        walk(
            self.pml4,
            va,
            create.then_some((
                &mut alloc as &mut dyn FnMut() -> Option<PhysAddr>,
                PTE_P | PTE_W | PTE_U,
            )),
        )
    }

    /// The region `page` belongs to: its permissions and segment.
    fn region(&self, page: u64) -> Result<(Perm, Option<usize>), Cause> {
        let segs = &self.segments[..self.nsegments];
        if let Some(i) = segs
            .iter()
            .position(|s| (s.start()..s.end()).contains(&page))
        {
            let s = &segs[i];
            return Ok((
                Perm {
                    write: s.write,
                    exec: s.exec,
                },
                Some(i),
            ));
        }
        let rw = Perm {
            write: true,
            exec: false,
        };
        if (self.heap_start..self.brk.next_multiple_of(PAGE_SIZE)).contains(&page)
            || (STACK_BOTTOM..USER_STACK_TOP).contains(&page)
        {
            return Ok((rw, None));
        }
        if (GUARD_BOTTOM..STACK_BOTTOM).contains(&page) {
            return Err(Cause::StackOverflow);
        }
        Err(Cause::PageFault)
    }

    /// Maps the page holding `va` on first touch: allocates a frame,
    /// zeroes it, copies the file part, maps it with the region's
    /// permissions. Fails (with the cause to report) when `va` is in no
    /// region, the access is not allowed, the page is already mapped (a
    /// protection fault), or memory ran out.
    pub fn fault_in(&mut self, va: u64, write: bool, exec: bool) -> Result<(), Cause> {
        if va >= USER_END {
            return Err(Cause::PageFault);
        }
        let page = va & !(PAGE_SIZE - 1);
        let (perm, seg) = self.region(page)?;
        if (write && !perm.write) || (exec && !perm.exec) {
            return Err(Cause::PageFault);
        }
        let pte = self.pte(page, true).ok_or(Cause::PageFault)?;
        // SAFETY: a PTE slot in our tables.
        if unsafe { pte.read() } & PTE_P != 0 {
            return Err(Cause::PageFault);
        }
        // Room in the page list first: after this, mapping cannot fail
        // half-way.
        if !self.pages.reserve() {
            return Err(Cause::PageFault);
        }
        let key = (self.file.as_ptr() as usize, page);
        let cached = if perm.write {
            None
        } else {
            TEXT_CACHE.lock().get(&key).copied()
        };
        if let Some(frame) = cached {
            let flags = frame | PTE_P | PTE_U | PTE_SHARED | self.nx(perm);
            // SAFETY: our PTE slot; the frame is a filled, never-freed page.
            unsafe { pte.write(flags) };
            self.pages.push(page, flags);
            return Ok(());
        }
        let fill = seg.and_then(|i| self.segments[i].fill(page));
        // A page with no file bytes is all zero: take a zeroed frame (often
        // free, see frame::alloc_zeroed) instead of zeroing one here.
        if fill.is_none() {
            let f = frame::alloc_zeroed_user().ok_or(Cause::PageFault)?;
            self.map_new(pte, page, f, perm, key);
            return Ok(());
        }
        let f = frame::alloc_user().ok_or(Cause::PageFault)?;
        let dst: *mut u8 = layout::direct(f);
        // SAFETY: a fresh frame in the direct map; the copy stays inside
        // the page and the file (Segment::fill, checked by Image::parse).
        // Only what the file does not cover is zeroed: each element of a
        // string instruction costs ring-0 time.
        if let Some((at, from, len)) = fill {
            // SAFETY: as above.
            unsafe {
                cpu::zero_bytes(dst, at);
                cpu::copy_bytes(dst.add(at), self.file.as_ptr().add(from), len);
                let end = at + len;
                cpu::zero_bytes(dst.add(end), PAGE_SIZE as usize - end);
            }
        }
        self.map_new(pte, page, f, perm, key);
        Ok(())
    }

    /// Maps a filled frame at `page` through its empty PTE slot `pte`:
    /// writable, or read-only and entered in the text cache under `key`.
    fn map_new(&mut self, pte: *mut u64, page: u64, f: PhysAddr, perm: Perm, key: (usize, u64)) {
        let mut flags = f.0 | PTE_P | PTE_U | self.nx(perm);
        if perm.write {
            flags |= PTE_W;
        } else {
            flags |= PTE_SHARED;
            TEXT_CACHE.lock().insert(key, f.0);
        }
        // SAFETY: our own PTE slot, empty (checked by fault_in).
        unsafe { pte.write(flags) };
        // Cannot fail: fault_in reserved the room.
        self.pages.push(page, flags);
    }

    /// Whether `[ptr, ptr + len)` is user memory this process may read (or
    /// write, with `write`), mapping lazily mappable pages on the way. A
    /// zero length is always fine.
    pub fn check(&mut self, ptr: u64, len: u64, write: bool) -> bool {
        if len == 0 {
            return true;
        }
        let Some(end) = ptr.checked_add(len) else {
            return false;
        };
        if end > USER_END {
            return false;
        }
        let mut page = ptr & !(PAGE_SIZE - 1);
        while page < end {
            // SAFETY: a PTE slot in our tables, if any.
            let e = self.pte(page, false).map_or(0, |p| unsafe { p.read() });
            let ok = if e & PTE_P != 0 {
                e & PTE_U != 0 && (!write || e & PTE_W != 0)
            } else {
                self.fault_in(page, write, false).is_ok()
            };
            if !ok {
                return false;
            }
            page += PAGE_SIZE;
        }
        true
    }

    /// Moves the break by `delta`: the old break, or an errno.
    pub fn sbrk(&mut self, delta: i64) -> Result<u64, i64> {
        use abi::sys::errno::{EINVAL, ENOMEM};
        let old = self.brk;
        let new = i128::from(old) + i128::from(delta);
        if new < i128::from(self.heap_start) {
            return Err(EINVAL);
        }
        if new > i128::from(GUARD_BOTTOM) {
            return Err(ENOMEM);
        }
        let new = new as u64;
        let (old_end, new_end) = (
            old.next_multiple_of(PAGE_SIZE),
            new.next_multiple_of(PAGE_SIZE),
        );
        if new_end > old_end && (new_end - old_end) / PAGE_SIZE > frame::user_available() {
            return Err(ENOMEM);
        }
        if new_end < old_end {
            let pml4 = self.pml4;
            self.pages.retain(|va, pte| {
                if va < new_end || va >= old_end {
                    return true;
                }
                if let Some(p) = walk(pml4, va, None) {
                    // SAFETY: the page's PTE slot; the frame was ours.
                    unsafe {
                        p.write(0);
                        frame::free(PhysAddr(pte & PTE_ADDR));
                    }
                    invlpg(va);
                }
                false
            });
        }
        self.brk = new;
        Ok(old)
    }

    /// A copy (fork): same regions, every mapped page copied.
    pub fn duplicate(&self) -> Option<Box<Space>> {
        let mut s = Box::new(Space {
            pml4: PhysAddr(0),
            pages: PageList::new(),
            tables: PageList::new(),
            segments: self.segments,
            nsegments: self.nsegments,
            file: self.file,
            heap_start: self.heap_start,
            brk: self.brk,
        });
        let pml4 = frame::alloc_zeroed_user()?;
        s.pml4 = pml4;
        let src: *const u64 = layout::direct(PhysAddr(self.pml4.0 + 2048));
        let dst: *mut u64 = layout::direct(PhysAddr(pml4.0 + 2048));
        // SAFETY: PML4 frames in the direct map.
        unsafe { cpu::copy_qwords(dst, src, 256) };
        let pte = s.pte(STUB_ADDR, true)?;
        // SAFETY: our own PTE slot.
        unsafe { pte.write(STUB.load(Ordering::Relaxed) | PTE_P | PTE_U) };
        for (va, old) in self.pages.iter() {
            if !s.pages.reserve() {
                return None;
            }
            if old & PTE_SHARED != 0 {
                // Text-cache pages are shared, not copied.
                let pte = s.pte(va, true)?;
                // SAFETY: our own PTE slot; the frame is never freed.
                unsafe { pte.write(old) };
                s.pages.push(va, old);
                continue;
            }
            let f = frame::alloc_user()?;
            let pte = match s.pte(va, true) {
                Some(p) => p,
                None => {
                    // SAFETY: just allocated, unused.
                    unsafe { frame::free(f) };
                    return None;
                }
            };
            let new = (old & !PTE_ADDR) | f.0;
            // SAFETY: both frames are whole pages in the direct map.
            unsafe {
                cpu::copy_qwords(
                    layout::direct(f),
                    layout::direct(PhysAddr(old & PTE_ADDR)),
                    512,
                );
                pte.write(new);
            }
            s.pages.push(va, new);
        }
        Some(s)
    }

    /// Writes `bytes` at `va` in this (not necessarily current) address
    /// space, mapping pages as needed. False if a page cannot be mapped.
    pub fn write(&mut self, va: u64, bytes: &[u8]) -> bool {
        let mut done = 0usize;
        while done < bytes.len() {
            let at = va + done as u64;
            let page = at & !(PAGE_SIZE - 1);
            // SAFETY: our PTE slot, if any.
            let mut e = self.pte(page, false).map_or(0, |p| unsafe { p.read() });
            if e & PTE_P == 0 {
                if self.fault_in(page, true, false).is_err() {
                    return false;
                }
                // SAFETY: just mapped.
                e = self.pte(page, false).map_or(0, |p| unsafe { p.read() });
            }
            if e & PTE_SHARED != 0 {
                return false; // never write into the shared text cache
            }
            let off = (at - page) as usize;
            let n = (PAGE_SIZE as usize - off).min(bytes.len() - done);
            let dst: *mut u8 = layout::direct(PhysAddr(e & PTE_ADDR));
            // SAFETY: inside one mapped frame; the source is a slice.
            unsafe { cpu::copy_bytes(dst.add(off), bytes.as_ptr().add(done), n) };
            done += n;
        }
        true
    }
}

impl Drop for Space {
    fn drop(&mut self) {
        // SAFETY: the space is not current (callers switch CR3 first), so
        // nothing uses its frames any more.
        unsafe {
            for (_, pte) in self.pages.iter() {
                if pte & PTE_SHARED == 0 {
                    frame::free(PhysAddr(pte & PTE_ADDR));
                }
            }
            for (t, _) in self.tables.iter() {
                frame::free(PhysAddr(t));
            }
            if self.pml4.0 != 0 {
                frame::free(self.pml4);
            }
        }
    }
}
