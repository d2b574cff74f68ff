//! Trap entry: the assembly stubs the IDT points at, the saved-register
//! [`TrapFrame`], the Rust dispatcher, and crash reports.
//!
//! On an interrupt or exception the CPU pushes SS, RSP, RFLAGS, CS, RIP and,
//! for some exceptions, an error code, after aligning RSP to 16 (SDM Vol.
//! 3A, 6.14.2 "64-Bit Mode Stack Frame"). Each stub pushes a zero error code
//! when the CPU does not, then its vector, and jumps to `trap_common`, which
//! pushes every general-purpose register so the stack holds a [`TrapFrame`],
//! calls [`trap_dispatch`], restores and `iretq`s.
//!
//! The timer interrupt has its own fast path instead (`timer_entry`, 14
//! instructions: count the tick, charge it to the running process, count
//! down its quantum, EOI, return): ring 0 can cost a microsecond per
//! instruction, and at 1000 Hz the full path would eat several percent of
//! the CPU. It takes the full path only when the earliest sleeper's
//! deadline ([`NEXT_DEADLINE`]) has come, or when the quantum is used up
//! and the CPU was in ring 3 (the kernel itself is never preempted).
//!
//! `trap_return` (the second half of `trap_common`) is also where a new
//! process starts: its first context switch returns there with the stack
//! pointer at the trap frame its creator built.
//!
//! The stubs sit at a fixed address ([`STUBS_VMA`], which `linker.ld`
//! enforces), 32 bytes apart, in slot order: exceptions 0..31, then the
//! timer, serial and spurious interrupts ([`SLOT_TIMER`] ...). So their
//! addresses are assembler constants and [`super::idt`] is a static table
//! that costs nothing at boot.

use core::arch::global_asm;
use core::sync::atomic::{AtomicBool, AtomicI64, AtomicPtr, AtomicU64, Ordering};

use super::{cpu, lapic};
use crate::boot;
use crate::dev::{poweroff, serial};
use abi::exit::ExitRequest;
use kernel::exception::{self, PageFaultError};
use kernel::hex::Hex;

/// Vector of the LAPIC timer.
pub const TIMER_VECTOR: u8 = 0x20;
/// Vector of COM1's interrupt (ISA IRQ 4 through the IOAPIC).
pub const SERIAL_VECTOR: u8 = 0x24;
/// The trap frame's `vector` for an entry by the `syscall` instruction
/// (no IDT vector is involved; this one is otherwise unused).
pub const SYSCALL_VECTOR: u8 = 0x80;

/// The user RSP while `syscall_entry` switches stacks.
static SYSCALL_USER_RSP: AtomicU64 = AtomicU64::new(0);
/// Top of the running process's kernel stack, as in TSS.RSP0 (kept by
/// `gdt::set_kernel_stack`).
pub static SYSCALL_KERNEL_RSP: AtomicU64 = AtomicU64::new(0);

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
    let star =
        (u64::from(super::gdt::USER_DS - 8) << 48) | (u64::from(super::gdt::KERNEL_CS) << 32);
    // SAFETY: architectural MSRs of every x86_64 CPU; the entry point and
    // selectors are the kernel's own, and syscall_entry handles ring 3 only.
    unsafe {
        cpu::wrmsr(MSR_STAR, star);
        cpu::wrmsr(MSR_LSTAR, syscall_entry as *const () as u64);
        cpu::wrmsr(MSR_FMASK, RFLAGS_TF_IF_DF);
        cpu::wrmsr(MSR_EFER, cpu::rdmsr(MSR_EFER) | EFER_SCE);
    }
}

/// Vector of LAPIC spurious interrupts (low 4 bits must be 1 on old APICs).
pub const SPURIOUS_VECTOR: u8 = 0xFF;

/// Address of the first stub: the start of `.text`, fixed by `linker.ld`
/// (which checks it).
pub const STUBS_VMA: u64 = 0xFFFF_FFFF_8011_0000;
/// Distance between stubs.
pub const STUB_STRIDE: u64 = 32;
/// Stub slot of the timer interrupt.
pub const SLOT_TIMER: u64 = 32;
/// Stub slot of the serial interrupt.
pub const SLOT_SERIAL: u64 = 33;
/// Stub slot of the spurious interrupt.
pub const SLOT_SPURIOUS: u64 = 34;

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

/// The registers saved on a trap, lowest address first: what `trap_common`
/// pushed, then the stub's vector and error code, then the CPU's frame.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(missing_docs)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    /// Pushed by the stub.
    pub vector: u64,
    /// Pushed by the CPU, or 0 by the stub.
    pub error: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

// 22 words: with the CPU's 16-byte alignment of the frame, RSP is 16-byte
// aligned at the `call` in trap_common, as the SysV ABI wants.
const _: () = assert!(core::mem::size_of::<TrapFrame>() == 22 * 8);

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
    TRAP_NOERR 0
    TRAP_NOERR 1
    TRAP_NOERR 2
    TRAP_NOERR 3
    TRAP_NOERR 4
    TRAP_NOERR 5
    TRAP_NOERR 6
    TRAP_NOERR 7
    TRAP_ERR   8
    TRAP_NOERR 9
    TRAP_ERR   10
    TRAP_ERR   11
    TRAP_ERR   12
    TRAP_ERR   13
    TRAP_ERR   14
    TRAP_NOERR 15
    TRAP_NOERR 16
    TRAP_ERR   17
    TRAP_NOERR 18
    TRAP_NOERR 19
    TRAP_NOERR 20
    TRAP_ERR   21
    TRAP_NOERR 22
    TRAP_NOERR 23
    TRAP_NOERR 24
    TRAP_NOERR 25
    TRAP_NOERR 26
    TRAP_NOERR 27
    TRAP_NOERR 28
    TRAP_ERR   29
    TRAP_ERR   30
    TRAP_NOERR 31

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
    timer_vector = const TIMER_VECTOR,
    syscall_vector = const SYSCALL_VECTOR,
    user_rsp = sym SYSCALL_USER_RSP,
    kernel_rsp = sym SYSCALL_KERNEL_RSP,
    user_ds = const super::gdt::USER_DS,
    user_cs = const super::gdt::USER_CS,
    cur_ticks = sym CUR_TICKS,
    quantum = sym QUANTUM_LEFT,
    deadline = sym NEXT_DEADLINE,
    serial_vector = const SERIAL_VECTOR,
    ticks = sym lapic::TICKS,
    eoi = sym lapic::EOI_ADDRESS,
    dispatch = sym trap_dispatch,
    options(att_syntax)
);

unsafe extern "C" {
    /// The second half of `trap_common`: pops a [`TrapFrame`] and `iretq`s.
    pub fn trap_return();
}

/// Called by `trap_common` with the saved registers, interrupts off.
extern "C" fn trap_dispatch(frame: &mut TrapFrame) {
    let user = frame.cs & 3 == 3;
    match frame.vector {
        v if v == u64::from(exception::BREAKPOINT) && user => crate::proc::syscall::on_int3(frame),
        v if v == u64::from(SYSCALL_VECTOR) && user => crate::proc::syscall::on_syscall(frame),
        v if v < exception::EXCEPTIONS as u64 && user => crate::proc::life::user_fault(frame),
        v if v < exception::EXCEPTIONS as u64 => crash(frame),
        v if v == u64::from(TIMER_VECTOR) => {
            lapic::eoi();
            crate::proc::sched::timer_tick(user);
        }
        v if v == u64::from(SERIAL_VECTOR) => {
            serial::handle_interrupt();
            lapic::eoi();
        }
        v => {
            log!("kernel: unexpected interrupt, vector {v:#x}");
            lapic::eoi();
        }
    }
    if crate::proc::procs().cap != 0 {
        crate::proc::life::host_command();
    }
    if user {
        crate::proc::life::before_user_return();
    }
}

/// Set once a crash report starts: a fault while reporting just exits.
static CRASHING: AtomicBool = AtomicBool::new(false);

/// Reports an exception and ends the VM: one `KERNEL CRASH:` line, the
/// registers, then [`ExitRequest::Exception`] on the exit port.
fn crash(f: &TrapFrame) -> ! {
    let vector = f.vector as u8;
    // First, while nothing else can fail: the record the VMM's post-mortem
    // prints.
    crate::dev::debugport::record_crash(
        abi::debug::CrashKind::Exception,
        u32::from(vector),
        f.error,
        f.rip,
        f.rsp,
        f.rflags,
        [
            f.rax, f.rbx, f.rcx, f.rdx, f.rsi, f.rdi, f.rbp, f.r8, f.r9, f.r10, f.r11, f.r12,
            f.r13, f.r14, f.r15,
        ],
        crate::proc::current_pid(),
    );
    if CRASHING.swap(true, Ordering::Relaxed) {
        poweroff::exit(ExitRequest::Exception(vector));
    }
    let (name, mnemonic) = exception::name(f.vector).unwrap_or(("exception", "#??"));
    let cr2 = cpu::read_cr2();
    report!(
        "KERNEL CRASH: {name} ({mnemonic}, vector {vector}) at rip={} cr2={} error={}",
        Hex::min(f.rip),
        Hex::min(cr2),
        Hex::min(f.error)
    );
    if f.cs & 3 == 3 {
        report!("  in user mode");
    }
    if vector == exception::PAGE_FAULT {
        report!(
            "  page fault: {} at {}",
            PageFaultError(f.error),
            Hex::min(cr2)
        );
    }
    if vector == exception::DOUBLE_FAULT {
        let guard = boot::stack_guard();
        if guard.contains(f.rsp) || guard.contains(cr2) {
            report!(
                "  kernel stack overflow: rsp={} reached the guard page {}..{} below the boot stack",
                Hex::min(f.rsp),
                Hex::min(guard.start),
                Hex::min(guard.end)
            );
        } else if let Some(slot) =
            crate::mm::kstack::guard_slot(cr2).or_else(|| crate::mm::kstack::guard_slot(f.rsp))
        {
            let p = crate::proc::procs();
            let info = (slot < p.cap).then(|| &crate::proc::pcb(slot).info);
            let (pid, name) = info.map_or((0, "no process"), |i| (i.pid, i.name()));
            report!(
                "  kernel stack overflow: rsp={} reached the guard page of the kernel stack of slot {slot} (pid {pid}, {name})",
                Hex::min(f.rsp)
            );
        }
    }
    report!(
        "  rax={} rbx={} rcx={} rdx={}",
        Hex::full(f.rax),
        Hex::full(f.rbx),
        Hex::full(f.rcx),
        Hex::full(f.rdx)
    );
    report!(
        "  rsi={} rdi={} rbp={} rsp={}",
        Hex::full(f.rsi),
        Hex::full(f.rdi),
        Hex::full(f.rbp),
        Hex::full(f.rsp)
    );
    report!(
        "  r8 ={} r9 ={} r10={} r11={}",
        Hex::full(f.r8),
        Hex::full(f.r9),
        Hex::full(f.r10),
        Hex::full(f.r11)
    );
    report!(
        "  r12={} r13={} r14={} r15={}",
        Hex::full(f.r12),
        Hex::full(f.r13),
        Hex::full(f.r14),
        Hex::full(f.r15)
    );
    report!(
        "  cs={} ss={} rflags={} cr3={}",
        Hex::min(f.cs),
        Hex::min(f.ss),
        Hex::min(f.rflags),
        Hex::min(cpu::read_cr3())
    );
    backtrace(f.rbp);
    poweroff::exit(ExitRequest::Exception(vector));
}

/// Prints the return addresses on the frame-pointer chain starting at `rbp`
/// (the kernel is built with frame pointers), following it only while it
/// stays inside the boot stack, so a corrupt chain cannot fault.
pub fn backtrace(mut rbp: u64) {
    let stack = boot::boot_stack();
    let mut line = crate::log::Line::new(crate::log::BOTH);
    let _ = core::fmt::Write::write_str(&mut line, "  backtrace:");
    for _ in 0..12 {
        if !rbp.is_multiple_of(8) || !stack.contains(rbp) || !stack.contains(rbp + 8) {
            break;
        }
        let frame = rbp as *const u64;
        // SAFETY: rbp and rbp + 8 are inside the mapped boot stack (checked).
        let (next, ret) = unsafe { (frame.read(), frame.add(1).read()) };
        let _ = core::fmt::Write::write_fmt(&mut line, format_args!(" {}", Hex::min(ret)));
        if next <= rbp {
            break;
        }
        rbp = next;
    }
    let _ = core::fmt::Write::write_str(&mut line, "\n");
    line.flush();
}
