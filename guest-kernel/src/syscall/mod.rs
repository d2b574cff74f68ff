//! System calls: the entry, the dispatch table and user memory; the calls
//! themselves are in [`proc`] (processes) and [`file`] (file descriptors).
//!
//! # Entry
//! Programs `call` the stub page the kernel maps at [`STUB_ADDR`] in every
//! process (one shared frame, read/execute, user). The stub is chosen at
//! boot (`syscall=` on the command line):
//! - `int3; ret` (the default): `int3` traps through the IDT's vector-3
//!   gate, which has DPL 3 so ring 3 may use it. That works everywhere: on
//!   the PVM-based KVM of README's "The platform" (where `syscall` and
//!   `int 0x80` do not), on VMX/SVM KVM and under QEMU. The #BP handler tells a system call from a stray
//!   breakpoint by the saved RIP: only `STUB_ADDR + 1` (just after the
//!   stub's `int3`) is a system call; a user `int3` anywhere else kills the
//!   process (Cause::Breakpoint).
//! - `syscall; ret` (`syscall=insn`): the `syscall` instruction enters at
//!   `syscall_entry` (arch/x86_64/syscall.rs), which builds the same trap
//!   frame an interrupt would and returns through the same `iretq`.
//!
//! Either way every register is saved in the trap frame, so `fork` can copy
//! it and the ABI's "all but rax, rcx, r11 preserved" holds trivially.
//!
//! # Convention
//! Number in `rax`, arguments in `rdi rsi rdx r10 r8 r9`, result in `rax`
//! (`>= 0`, or `-errno`); a number at or above `nr::COUNT` (any 64-bit
//! value) gives `-ENOSYS`.
//!
//! # User memory
//! Every pointer + length is checked before use ([`check`]: user half,
//! no overflow, every page mapped or lazily mappable with the access
//! needed), then accessed directly: the kernel never faults on user memory,
//! and a bad range is `-EFAULT` with nothing copied.

mod file;
mod proc;

use alloc::vec::Vec;

use crate::arch::x86_64::frame::TrapFrame;
use crate::proc::signal::ERESTART;
use crate::proc::{Kernel, fault};
use abi::sys::errno::*;
use abi::sys::{STUB_ADDR, nr};
use file::*;
use proc::*;

type Handler = fn(&mut Kernel, &mut TrapFrame) -> i64;

/// The handlers, indexed by number.
const TABLE: [Handler; nr::COUNT as usize] = [
    sys_exit,
    sys_fork,
    sys_exec,
    sys_spawn,
    sys_waitpid,
    sys_kill,
    sys_getpid,
    sys_getppid,
    sys_sleep,
    sys_yield,
    sys_sbrk,
    sys_read,
    sys_write,
    sys_close,
    sys_dup,
    sys_pipe,
    sys_suspend,
    sys_resume,
    sys_procinfo,
    sys_uptime,
    sys_poweroff,
    sys_sysinfo,
    sys_signal,
    sys_sigprocmask,
    sys_sigreturn,
    sys_setpgid,
    sys_getpgid,
    sys_tcsetpgrp,
    sys_tcgetpgrp,
    sys_ttymode,
    sys_open,
    sys_lseek,
    sys_dup2,
    sys_stat,
    sys_fstat,
    sys_unlink,
    sys_mkdir,
    sys_rmdir,
    sys_chdir,
    sys_getcwd,
    sys_getdents,
    sys_rename,
    sys_fcntl,
];

/// #BP from ring 3: a system call if it came from the stub, else a stray
/// breakpoint that kills the process.
pub fn on_int3(k: &mut Kernel, tf: &mut TrapFrame) {
    if tf.rip != STUB_ADDR + 1 {
        fault::die(
            k,
            abi::proc::Cause::Breakpoint,
            None,
            tf.rip.wrapping_sub(1),
        );
    }
    dispatch(k, tf);
}

/// A `syscall` instruction from ring 3 (only the stub's, when it uses one).
pub fn on_syscall(k: &mut Kernel, tf: &mut TrapFrame) {
    dispatch(k, tf);
}

/// Runs system call `rax` on the trap frame's arguments; the result goes
/// to `rax`. A call a signal interrupted before it did anything
/// ([`ERESTART`]) is made again: `rax` keeps its number and the return
/// goes to the stub's start, so the signal is handled first (the handler's
/// frame saves this state) and the call then runs again with the same
/// arguments.
fn dispatch(k: &mut Kernel, tf: &mut TrapFrame) {
    let n = tf.rax;
    let r = match TABLE.get(n as usize) {
        Some(h) if n < nr::COUNT => h(k, tf),
        _ => -ENOSYS,
    };
    if r == -ERESTART {
        restart(tf, n, r);
        return;
    }
    tf.rax = r as u64;
}

/// A call that returned [`ERESTART`]: it runs again (see [`dispatch`]);
/// but `sigreturn`'s result is the interrupted code's `rax`, whatever it
/// is, and goes back as it is.
#[cold]
fn restart(tf: &mut TrapFrame, n: u64, r: i64) {
    if n == nr::SIGRETURN {
        tf.rax = r as u64;
    } else {
        tf.rip = STUB_ADDR;
    }
}

/// Whether the current process may access `[ptr, ptr + len)` (`write`:
/// for writing), mapping lazily mappable pages.
pub fn check(k: &mut Kernel, ptr: u64, len: u64, write: bool) -> bool {
    match k.me().space.as_mut() {
        Some(s) => {
            let ok = s.check(ptr, len, write);
            k.me().info.mem_bytes = s.mem_bytes();
            ok
        }
        None => false,
    }
}

/// Copies `len` bytes in from user memory.
pub fn copy_in(k: &mut Kernel, ptr: u64, len: u64) -> Result<Vec<u8>, i64> {
    if !check(k, ptr, len, false) {
        return Err(-EFAULT);
    }
    let mut v = Vec::with_capacity(len as usize);
    // SAFETY: checked readable; v has the capacity.
    unsafe {
        crate::arch::x86_64::cpu::copy_bytes(v.as_mut_ptr(), ptr as *const u8, len as usize);
        v.set_len(len as usize);
    }
    Ok(v)
}

/// The buffer of a `read` or `write`: `[ptr, ptr + len)` must lie in user
/// space; of it, the first [`abi::sys::MAX_IO`] bytes are checked (and
/// mapped) and moved.
pub(crate) fn io_slice(
    k: &mut Kernel,
    ptr: u64,
    len: u64,
    write: bool,
) -> Result<&'static mut [u8], i64> {
    // The common, short buffer costs one compare more than user_slice.
    if len > abi::sys::MAX_IO
        && ptr
            .checked_add(len)
            .is_none_or(|end| end > abi::sys::USER_END)
    {
        return Err(-EFAULT);
    }
    user_slice(k, ptr, len.min(abi::sys::MAX_IO), write)
}

/// A checked user buffer as a slice.
fn user_slice(k: &mut Kernel, ptr: u64, len: u64, write: bool) -> Result<&'static mut [u8], i64> {
    if !check(k, ptr, len, write) {
        return Err(-EFAULT);
    }
    if len == 0 {
        return Ok(&mut []);
    }
    // SAFETY: checked: mapped user memory of this process, which only this
    // process (running now, single-threaded) can change.
    Ok(unsafe { core::slice::from_raw_parts_mut(ptr as *mut u8, len as usize) })
}
