//! The context switch and the per-process CPU state it moves: callee-saved
//! registers and the stack pointer ([`Context`]), the user FPU/SSE state
//! ([`FxArea`], `fxsave`/`fxrstor`), and the address space (CR3).
//!
//! Everything else a process owns in registers is in its trap frame, on its
//! kernel stack, which the switch changes along with `rsp`.

use core::arch::{asm, naked_asm};

/// Registers a kernel context keeps across [`switch`]: the System V
/// callee-saved ones and the stack pointer (the return address is on the
/// stack).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
#[allow(missing_docs)]
pub struct Context {
    pub rsp: u64,
    pub rbx: u64,
    pub rbp: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
}

/// `switch(old: *mut Context, new: *const Context)`: saves the callee-saved
/// registers and `rsp` into `old`, loads them from `new`, and returns on the
/// new stack, into whatever called `switch` there (or, for a new process,
/// into the address its creator left at `new.rsp`). 16 instructions.
///
/// # Safety
/// `new` must hold a context saved by `switch` or built to look like one,
/// whose stack is mapped; interrupts must be off.
#[unsafe(naked)]
pub unsafe extern "C" fn switch(old: *mut Context, new: *const Context) {
    naked_asm!(
        "mov [rdi], rsp",
        "mov [rdi + 8], rbx",
        "mov [rdi + 16], rbp",
        "mov [rdi + 24], r12",
        "mov [rdi + 32], r13",
        "mov [rdi + 40], r14",
        "mov [rdi + 48], r15",
        "mov rsp, [rsi]",
        "mov rbx, [rsi + 8]",
        "mov rbp, [rsi + 16]",
        "mov r12, [rsi + 24]",
        "mov r13, [rsi + 32]",
        "mov r14, [rsi + 40]",
        "mov r15, [rsi + 48]",
        "ret",
    )
}

/// The 512-byte `fxsave` image of a process's x87/SSE state.
#[repr(C, align(16))]
#[derive(Clone, Copy)]
pub struct FxArea(pub [u8; 512]);

impl FxArea {
    /// Sets the state a fresh process starts with (`fninit` defaults: all
    /// exceptions masked), over an all-zero area.
    pub fn set_default(&mut self) {
        self.0 = [0; 512];
        self.0[0..2].copy_from_slice(&0x037Fu16.to_le_bytes()); // FCW
        self.0[24..28].copy_from_slice(&0x1F80u32.to_le_bytes()); // MXCSR
    }
}

/// Saves the FPU/SSE state into `area`.
pub fn fxsave(area: &mut FxArea) {
    // SAFETY: fxsave writes 512 bytes at a 16-aligned address (FxArea).
    unsafe { asm!("fxsave64 [{}]", in(reg) area.0.as_mut_ptr(), options(nostack, preserves_flags)) }
}

/// Loads the FPU/SSE state from `area`.
pub fn fxrstor(area: &FxArea) {
    // SAFETY: area is 16-aligned and holds a valid image (from fxsave or
    // set_default: reserved MXCSR bits clear).
    unsafe {
        asm!("fxrstor64 [{}]", in(reg) area.0.as_ptr(), options(nostack, preserves_flags, readonly))
    }
}

/// Loads CR3 (flushes the non-global TLB entries).
///
/// # Safety
/// `pml4` must be a PML4 that maps the kernel half like the boot tables.
pub unsafe fn write_cr3(pml4: u64) {
    // SAFETY: per the contract the kernel stays mapped.
    unsafe { asm!("mov cr3, {}", in(reg) pml4, options(nostack, preserves_flags)) }
}

/// Flushes one page's TLB entry.
pub fn invlpg(va: u64) {
    // SAFETY: invlpg only drops a cached translation.
    unsafe { asm!("invlpg [{}]", in(reg) va, options(nostack, preserves_flags)) }
}
