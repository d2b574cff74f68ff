//! Per-process kernel stacks, in a region of their own (PML4[510]):
//!
//! ```text
//! 0xffff_ff00_0000_0000 + slot * 32 KiB:  guard page (never mapped)
//!                       + 4 KiB .. +20 KiB: the 16 KiB stack
//! ```
//!
//! The region's PDPT is installed in the kernel PML4 at boot, before any
//! process PML4 copies the kernel half, so stacks mapped later are visible
//! in every address space. Running off the bottom of a stack hits the
//! unmapped guard: the #PF cannot be delivered on that stack, so the CPU
//! raises #DF, which runs on IST1 and reports it.

use core::sync::atomic::{AtomicU64, Ordering};

use super::frame;
use super::paging::{PTE_ADDR, PTE_P, PTE_W};
use super::uvm;
use crate::arch::x86_64::layout::{self, PhysAddr};
use crate::arch::x86_64::switch::invlpg;
use abi::PAGE_SIZE;

/// Start of the region.
pub const BASE: u64 = 0xFFFF_FF00_0000_0000;
/// Virtual space per slot: guard + stack, rounded up.
pub const STRIDE: u64 = 32 * 1024;
/// Stack size.
pub const SIZE: u64 = 16 * 1024;
const PML4_INDEX: usize = 510;
/// Frames of the stack region's page directories and tables (made as
/// stacks of new slots are first mapped, kept for good).
static TABLE_FRAMES: AtomicU64 = AtomicU64::new(0);

/// Frames of one stack.
pub const FRAMES: u64 = SIZE / PAGE_SIZE;

/// Frames the region's page tables hold (they are never freed).
pub fn table_frames() -> u64 {
    TABLE_FRAMES.load(Ordering::Relaxed)
}

/// Installs the region's PDPT in the kernel PML4 (`kernel_pml4`). Boot only.
pub fn init(kernel_pml4: PhysAddr) {
    let pdpt = frame::alloc_zeroed().expect("no memory for the kernel stack region");
    let entry: *mut u64 = layout::direct(PhysAddr(kernel_pml4.0 + PML4_INDEX as u64 * 8));
    // SAFETY: the kernel PML4 is mapped by the direct map; entry 510 is
    // unused (the image is in 511, the direct map in 256).
    unsafe { entry.write(pdpt.0 | PTE_P | PTE_W) };
}

/// The guard page's range for `slot`.
fn bottom(slot: usize) -> u64 {
    BASE + slot as u64 * STRIDE + PAGE_SIZE
}

/// The slot whose stack's guard page holds `va`, if one does.
pub fn guard_slot(va: u64) -> Option<usize> {
    (va >= BASE && (va - BASE) % STRIDE < PAGE_SIZE && va - BASE < STRIDE * 4096)
        .then(|| ((va - BASE) / STRIDE) as usize)
}

/// Maps a stack for `slot`; returns its top (16-byte aligned), or `None`
/// when memory ran out.
pub fn alloc(kernel_pml4: PhysAddr, slot: usize) -> Option<u64> {
    let base = bottom(slot);
    for i in 0..SIZE / PAGE_SIZE {
        let va = base + i * PAGE_SIZE;
        let pte = uvm::walk(
            kernel_pml4,
            va,
            Some((
                &mut || {
                    let t = frame::alloc_zeroed_user()?;
                    TABLE_FRAMES.fetch_add(1, Ordering::Relaxed);
                    Some(t)
                },
                PTE_P | PTE_W,
            )),
        );
        let f = frame::alloc_user();
        match (pte, f) {
            (Some(pte), Some(f)) => {
                // SAFETY: walk returned the PTE slot of va in a live table.
                unsafe { pte.write(f.0 | PTE_P | PTE_W) };
            }
            (_, f) => {
                if let Some(f) = f {
                    // SAFETY: just allocated, unused.
                    unsafe { frame::free(f) };
                }
                free_pages(kernel_pml4, base, i);
                return None;
            }
        }
    }
    Some(base + SIZE)
}

/// Unmaps and frees `slot`'s stack (not the one in use).
pub fn free(kernel_pml4: PhysAddr, slot: usize) {
    free_pages(kernel_pml4, bottom(slot), SIZE / PAGE_SIZE);
}

fn free_pages(kernel_pml4: PhysAddr, base: u64, n: u64) {
    for i in 0..n {
        let va = base + i * PAGE_SIZE;
        if let Some(pte) = uvm::walk(kernel_pml4, va, None) {
            // SAFETY: a live PTE of the stack region; its frame was ours.
            unsafe {
                let old = pte.read();
                if old & PTE_P != 0 {
                    pte.write(0);
                    invlpg(va);
                    frame::free(PhysAddr(old & PTE_ADDR));
                }
            }
        }
    }
}
