//! Trap entry: the assembly stubs the IDT points at, the timer's fast path,
//! and `trap_return`.
//!
//! On an interrupt or exception the CPU pushes SS, RSP, RFLAGS, CS, RIP and,
//! for some exceptions, an error code, after aligning RSP to 16 (SDM Vol.
//! 3A, 6.14.2 "64-Bit Mode Stack Frame"). Each stub pushes a zero error code
//! when the CPU does not, then its vector, and jumps to `trap_common`, which
//! pushes every general-purpose register so the stack holds a [`TrapFrame`]
//! and calls `trap_dispatch(frame)`, then restores and `iretq`s.
//! `trap_dispatch` is the kernel's, not the architecture's: it is defined
//! with that symbol name at the top of the kernel (`crate::trap`), which
//! decides what each trap means; nothing here calls up into the kernel.
//!
//! The timer interrupt has its own fast path instead (`timer_entry`: count
//! the tick, charge it to the running process, count down its quantum, EOI,
//! return), since ring 0 may be emulated instruction by instruction and at
//! 1000 Hz the full path would eat a share of the CPU. It takes the full
//! path only when the earliest sleeper's deadline ([`NEXT_DEADLINE`]) has
//! come, or when the quantum is used up and the CPU was in ring 3 (the
//! kernel itself is never preempted). The scheduler keeps the three
//! statics the fast path reads.
//!
//! `trap_return` (the second half of `trap_common`) is also where a new
//! process starts: its first context switch returns there with the stack
//! pointer at the trap frame its creator built.
//!
//! The stubs sit at [`vectors::STUBS_VMA`], [`vectors::STUB_STRIDE`] bytes
//! apart, in slot order, so [`super::idt`] is a static table.

use core::arch::global_asm;
use core::sync::atomic::{AtomicI64, AtomicPtr, AtomicU64, Ordering};

use super::frame::TrapFrame;
use super::{lapic, vectors};

/// Ticks charged while no process runs (idle).
static mut IDLE_TICKS: u64 = 0;
/// Where the timer fast path charges a tick: the running process's
/// `ProcInfo::ticks`, or an idle counter.
pub static CUR_TICKS: AtomicPtr<u64> = AtomicPtr::new(&raw mut IDLE_TICKS);
/// Ticks left in the running process's quantum (counted down by the fast
/// path; at or below 0 a tick from ring 3 takes the full path).
pub static QUANTUM_LEFT: AtomicI64 = AtomicI64::new(i64::MAX);
/// Tick count at which the earliest sleeper wakes (`u64::MAX`: none).
pub static NEXT_DEADLINE: AtomicU64 = AtomicU64::new(u64::MAX);

/// Points the tick accounting at `counter` (or the idle counter).
pub fn charge_ticks_to(counter: Option<*mut u64>) {
    CUR_TICKS.store(counter.unwrap_or(&raw mut IDLE_TICKS), Ordering::Relaxed);
}

// 22 words: with the CPU's 16-byte alignment of the frame, RSP is 16-byte
// aligned at the `call` in trap_common, as the SysV ABI wants.
const _: () = assert!(core::mem::size_of::<TrapFrame>() == 22 * 8);

unsafe extern "C" {
    /// The kernel's trap handler (`crate::trap`), called by `trap_common`
    /// with the saved registers, interrupts off.
    fn trap_dispatch(frame: &mut TrapFrame);
}

global_asm!(
    r#"
    .pushsection .text.trapstubs, "ax"
    .macro TRAP_NOERR vector
    .p2align 5
    pushq $0
    pushq $\vector
    jmp trap_common
    .endm
    .macro TRAP_ERR vector
    .p2align 5
    pushq $\vector
    jmp trap_common
    .endm

    .p2align 5
    .global trap_stubs
trap_stubs:
    /* Slots 0..31, the exceptions: a zero error code where the CPU
       pushes none (logic::arch::x86_64::exception::has_error_code). */
    .set trap_v, 0
    .rept 32
    .if ({error_mask} >> trap_v) & 1
    TRAP_ERR trap_v
    .else
    TRAP_NOERR trap_v
    .endif
    .set trap_v, trap_v + 1
    .endr

    /* Slot 32. Timer: the fast path, below. */
    .p2align 5
    jmp timer_entry

    /* Slot 33. */
    .p2align 5
    pushq $0
    pushq ${serial_vector}
    jmp trap_common

    /* Slot 34. Spurious LAPIC interrupts need no EOI (SDM Vol. 3A, 11.9). */
    .p2align 5
    iretq

    .global trap_common
trap_common:
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %rdi
    cld
    call {dispatch}
    .global trap_return
trap_return:
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    addq $16, %rsp
    iretq

    /* The timer fast path. CPU frame: 8(%rsp) = RIP, 16(%rsp) = CS after
       the push of rax. */
timer_entry:
    pushq %rax
    incq {ticks}(%rip)
    movq {cur_ticks}(%rip), %rax
    incq (%rax)
    decq {quantum}(%rip)
    jle 1f
2:  movq {ticks}(%rip), %rax
    cmpq {deadline}(%rip), %rax
    jae 3f
    movq {eoi}(%rip), %rax
    movl $0, (%rax)
    popq %rax
    iretq
1:  testb $3, 16(%rsp)              /* quantum used up: preempt ring 3 only */
    jz 2b
3:  popq %rax
    pushq $0
    pushq ${timer_vector}
    jmp trap_common
    .popsection
"#,
    timer_vector = const vectors::TIMER_VECTOR,
    error_mask = const logic::arch::x86_64::exception::ERROR_CODE_MASK,
    cur_ticks = sym CUR_TICKS,
    quantum = sym QUANTUM_LEFT,
    deadline = sym NEXT_DEADLINE,
    serial_vector = const vectors::SERIAL_VECTOR,
    ticks = sym lapic::TICKS,
    eoi = sym lapic::EOI_ADDRESS,
    dispatch = sym trap_dispatch,
    options(att_syntax)
);

unsafe extern "C" {
    /// The second half of `trap_common`: pops a [`TrapFrame`] and `iretq`s.
    pub fn trap_return();
}
