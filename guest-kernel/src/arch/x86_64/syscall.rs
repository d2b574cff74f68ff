//! The `syscall` instruction's entry (SDM Vol. 3A, 5.8.8 "Fast System
//! Calls in 64-Bit Mode"), the two system-call stubs the kernel can map
//! into processes: `int3; ret` (the #BP gate, which works on every
//! hypervisor) or `syscall; ret`, and the signal trampoline mapped beside
//! them.

use core::arch::global_asm;
use core::sync::atomic::AtomicU64;

use super::{cpu, gdt, vectors};

/// The stub's code for the `int3` gate: `int3; ret`.
pub const STUB_INT3: &[u8] = &[0xCC, 0xC3];
/// The stub's code for the `syscall` instruction: `syscall; ret`.
pub const STUB_SYSCALL: &[u8] = &[0x0F, 0x05, 0xC3];

/// The signal trampoline, at [`abi::signal::TRAMPOLINE`] in the stub page:
/// a handler returns here with `rsp` at its [`abi::signal::SigFrame`], and
/// the code makes the `sigreturn` call with that frame through the stub
/// (at the page's start), which never returns; `ud2` is never reached.
///
/// ```text
/// 48 89 e7          mov  rdi, rsp
/// b8 18 00 00 00    mov  eax, 24          ; nr::SIGRETURN
/// e8 xx xx xx xx    call STUB_ADDR        ; rel32 from the next instruction
/// 0f 0b             ud2
/// ```
pub const TRAMPOLINE: [u8; 17] = {
    const AT: u64 = abi::signal::TRAMPOLINE - abi::sys::STUB_ADDR;
    const NR: u32 = abi::sys::nr::SIGRETURN as u32;
    // The call's rel32 counts from the end of the call (AT + 13) back to 0.
    const REL: i32 = -((AT + 13) as i32);
    let nr = NR.to_le_bytes();
    let rel = REL.to_le_bytes();
    [
        0x48, 0x89, 0xE7, 0xB8, nr[0], nr[1], nr[2], nr[3], 0xE8, rel[0], rel[1], rel[2], rel[3],
        0x0F, 0x0B, 0xCC, 0xCC,
    ]
};

/// The user RSP while `syscall_entry` switches stacks.
static SYSCALL_USER_RSP: AtomicU64 = AtomicU64::new(0);

unsafe extern "C" {
    fn syscall_entry();
}

/// Makes the `syscall` instruction enter the kernel at `syscall_entry`
/// (SDM Vol. 3A, 5.8.8): EFER.SCE, STAR with the kernel and user
/// selectors, LSTAR the entry, FMASK clearing IF, DF and TF on entry.
pub fn enable_syscall() {
    const MSR_EFER: u32 = 0xC000_0080;
    const MSR_STAR: u32 = 0xC000_0081;
    const MSR_LSTAR: u32 = 0xC000_0082;
    const MSR_FMASK: u32 = 0xC000_0084;
    const EFER_SCE: u64 = 1;
    const RFLAGS_TF_IF_DF: u64 = 0x100 | 0x200 | 0x400;
    // SYSRET would load CS = STAR[63:48] + 16 and SS = STAR[63:48] + 8 (the
    // GDT is laid out for it); SYSCALL loads CS = STAR[47:32], SS + 8.
    let star = (u64::from(gdt::USER_DS - 8) << 48) | (u64::from(gdt::KERNEL_CS) << 32);
    // SAFETY: architectural MSRs of every x86_64 CPU; the entry point and
    // selectors are the kernel's own, and syscall_entry handles ring 3 only.
    unsafe {
        cpu::wrmsr(MSR_STAR, star);
        cpu::wrmsr(MSR_LSTAR, syscall_entry as *const () as u64);
        cpu::wrmsr(MSR_FMASK, RFLAGS_TF_IF_DF);
        cpu::wrmsr(MSR_EFER, cpu::rdmsr(MSR_EFER) | EFER_SCE);
    }
}

global_asm!(
    r#"
    .pushsection .text, "ax"
    /* The `syscall` instruction (SDM Vol. 2B, SYSCALL): RCX = user RIP,
       R11 = user RFLAGS, RSP still the user's, IF/DF/TF cleared by
       IA32_FMASK. Switch to the process's kernel stack and build the frame
       an interrupt from ring 3 would have pushed, so the rest of the path
       (trap_common, dispatch, trap_return's iretq) is shared. One CPU and
       interrupts off: the two scratch words need no per-CPU area. */
    .global syscall_entry
syscall_entry:
    movq %rsp, {user_rsp}(%rip)
    movq {kernel_rsp}(%rip), %rsp
    pushq ${user_ds}
    pushq {user_rsp}(%rip)
    pushq %r11
    pushq ${user_cs}
    pushq %rcx
    pushq $0
    pushq ${syscall_vector}
    jmp trap_common
    .popsection
"#,
    syscall_vector = const vectors::SYSCALL_VECTOR,
    user_rsp = sym SYSCALL_USER_RSP,
    kernel_rsp = sym gdt::KERNEL_STACK_TOP,
    user_ds = const gdt::USER_DS,
    user_cs = const gdt::USER_CS,
    options(att_syntax)
);
