//! What a trap means: the kernel's `trap_dispatch`, which the architecture's
//! entry stubs call with the saved registers (interrupts off). A system call
//! or a fault from ring 3, an exception in the kernel, the timer, the
//! console; then, at the end of every full trap, a command the VMM posted
//! and the death of a killed process on its way back to ring 3.

use crate::arch::x86_64::frame::TrapFrame;
use crate::arch::x86_64::lapic;
use crate::arch::x86_64::vectors::{SERIAL_VECTOR, SYSCALL_VECTOR, TIMER_VECTOR};
use crate::dev::debugport;
use crate::proc::{Kernel, fault, sched, signal};
use abi::debug::Command;
use abi::proc::Pid;
use abi::signal::{SIGCONT, SIGKILL, SIGSTOP};
use abi::sys::errno::EINVAL;
use logic::arch::x86_64::exception;

/// Called by the entry stubs (`arch::x86_64::trap`) by this symbol name.
#[unsafe(no_mangle)]
extern "C" fn trap_dispatch(frame: &mut TrapFrame) {
    // SAFETY: a trap handler, interrupts off (see Kernel::enter).
    let k = &mut unsafe { Kernel::enter() };
    let user = frame.cs & 3 == 3;
    match frame.vector {
        v if v == u64::from(exception::BREAKPOINT) && user => crate::syscall::on_int3(k, frame),
        v if v == u64::from(SYSCALL_VECTOR) && user => crate::syscall::on_syscall(k, frame),
        v if v < exception::EXCEPTIONS as u64 && user => fault::user_fault(k, frame),
        v if v < exception::EXCEPTIONS as u64 => crate::crash::exception(frame),
        v if v == u64::from(TIMER_VECTOR) => {
            lapic::eoi();
            if crate::console::backlog() {
                crate::console::pump_backlog(k);
            }
            sched::timer_tick(k, user);
        }
        v if v == u64::from(SERIAL_VECTOR) => {
            crate::console::handle_interrupt(k);
            lapic::eoi();
        }
        v => {
            log!("kernel: unexpected interrupt, vector {v:#x}");
            lapic::eoi();
        }
    }
    if k.procs().cap != 0 {
        host_command(k);
    }
    if user {
        signal::before_user_return(k, frame);
    }
}

/// Carries out a command the VMM posted in the debug port's mailbox (host
/// `vmm ctl kill/stop/cont`); called at the end of every full trap, after
/// the EOI, so a stop of the interrupted process is an ordinary preemption.
fn host_command(k: &mut Kernel) {
    let Some((cmd, pid, sig, seq)) = debugport::pending_command() else {
        return;
    };
    let Some(pid) = Pid::from_arg(i64::from(pid)) else {
        debugport::complete_command(seq, -EINVAL);
        return;
    };
    let sig = match cmd {
        Command::Kill => SIGKILL,
        Command::Stop => SIGSTOP,
        Command::Cont => SIGCONT,
        Command::Signal if abi::signal::valid(sig) => sig,
        Command::Signal | Command::None => {
            debugport::complete_command(seq, -EINVAL);
            return;
        }
    };
    // A stop of the interrupted process takes effect on its way back to
    // user mode, after this report.
    let result = signal::kill(k, pid, sig, Pid::NONE);
    debugport::complete_command(seq, result);
}
