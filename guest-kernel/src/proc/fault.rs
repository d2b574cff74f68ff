//! Death by CPU exception: a fault from ring 3 that the address space
//! cannot serve (a lazily loaded page, heap, stack) ends the process that
//! made it, with one line saying why, and nothing else.

use super::Kernel;
use super::life::exit;
use crate::arch::x86_64::cpu;
use crate::arch::x86_64::frame::TrapFrame;
use abi::PAGE_SIZE;
use abi::debug::EventKind;
use abi::proc::{Cause, WaitStatus};
use logic::arch::x86_64::exception::{
    BREAKPOINT, DIVIDE_ERROR, GENERAL_PROTECTION, INVALID_OPCODE, PAGE_FAULT, PageFaultError,
    STACK_SEGMENT_FAULT,
};

/// Ends the current process for a fault: records it, prints one line.
pub fn die(k: &mut Kernel, cause: Cause, addr: Option<u64>, rip: u64) -> ! {
    let me = k.current();
    let info = &mut k.pcb(me).info;
    info.fault_addr = addr.unwrap_or(0);
    info.fault_rip = rip;
    k.trace(me, EventKind::Fault, cause as u32, addr.unwrap_or(rip));
    let info = &mut k.pcb(me).info;
    match addr {
        Some(a) => println!(
            "pid {} ({}): {} at {a:#x}, rip {rip:#x}: killed",
            info.pid,
            info.name(),
            cause.describe()
        ),
        None => println!(
            "pid {} ({}): {}, rip {rip:#x}: killed",
            info.pid,
            info.name(),
            cause.describe()
        ),
    }
    exit(k, WaitStatus::ended_by(cause))
}

/// An exception from ring 3: a page fault the address space can satisfy
/// (lazy loading, heap, stack) is served; anything else kills the process.
pub fn user_fault(k: &mut Kernel, tf: &mut TrapFrame) {
    let me = k.current();
    let cause = match tf.vector as u8 {
        PAGE_FAULT => {
            let addr = cpu::read_cr2();
            let write = tf.error & PageFaultError::WRITE != 0;
            let fetch = tf.error & PageFaultError::FETCH != 0;
            let r = match k.pcb(me).space.as_mut() {
                Some(s) if tf.error & PageFaultError::PRESENT == 0 => {
                    s.fault_in(addr, write, fetch)
                }
                _ => Err(Cause::PageFault),
            };
            match r {
                Ok(()) => {
                    let pc = k.pcb(me);
                    pc.info.page_faults += 1;
                    pc.info.mem_bytes += PAGE_SIZE;
                    return;
                }
                Err(cause) => die(k, cause, Some(addr), tf.rip),
            }
        }
        DIVIDE_ERROR => Cause::DivideError,
        INVALID_OPCODE => Cause::InvalidOpcode,
        GENERAL_PROTECTION | STACK_SEGMENT_FAULT => Cause::GeneralProtection,
        BREAKPOINT => Cause::Breakpoint,
        _ => Cause::OtherFault,
    };
    die(k, cause, None, tf.rip)
}
