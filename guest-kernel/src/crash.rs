//! Crash reports: a CPU exception in the kernel ends the VM with the
//! registers, the faulting address explained, a kernel-stack overflow
//! traced to its process, and a backtrace; first of all the record the
//! VMM's post-mortem prints.

use core::sync::atomic::{AtomicBool, Ordering};

use crate::arch::x86_64::boot;
use crate::arch::x86_64::cpu;
use crate::arch::x86_64::frame::TrapFrame;
use crate::dev::poweroff;
use abi::exit::ExitRequest;
use abi::proc::Pid;
use logic::arch::x86_64::exception::{self, PageFaultError};
use logic::log::hex::Hex;

/// Set once a crash report starts: a fault while reporting just exits.
static CRASHING: AtomicBool = AtomicBool::new(false);

/// Reports an exception and ends the VM: one `KERNEL CRASH:` line, the
/// registers, then [`ExitRequest::Exception`] on the exit port.
pub fn exception(f: &TrapFrame) -> ! {
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
            // SAFETY: the kernel ends with this report; the code the
            // exception interrupted never runs again.
            let k = &mut unsafe { crate::proc::Kernel::enter() };
            let cap = k.procs().cap;
            let info = (slot < cap).then(|| &k.pcb(slot).info);
            let (pid, name) = info.map_or((Pid::NONE, "no process"), |i| (i.pid, i.name()));
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
