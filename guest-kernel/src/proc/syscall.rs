//! System calls: the entry, the dispatch table, and the calls that are
//! not part of the lifecycle ([`super::life`]).
//!
//! # Entry
//! Programs `call` the stub page the kernel maps at [`STUB_ADDR`] in every
//! process (one shared frame, read/execute, user). The stub is chosen at
//! boot (`syscall=` on the command line):
//! - `int3; ret` (the default): `int3` traps through the IDT's vector-3
//!   gate, which has DPL 3 so ring 3 may use it. That works everywhere: on
//!   PVM KVM (where `syscall` and `int 0x80` do not), on VMX/SVM KVM and
//!   under QEMU. The #BP handler tells a system call from a stray
//!   breakpoint by the saved RIP: only `STUB_ADDR + 1` (just after the
//!   stub's `int3`) is a system call; a user `int3` anywhere else kills the
//!   process (Cause::Breakpoint).
//! - `syscall; ret` (`syscall=insn`): the `syscall` instruction enters at
//!   `syscall_entry` (arch/x86_64/trap.rs), which builds the same trap
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

use alloc::vec::Vec;

use super::life;
use super::pipe::{self, File, Kind};
use super::{current, lookup, pcb, procs, sched, state};
use crate::arch::x86_64::trap::TrapFrame;
use crate::dev::{poweroff, serial};
use abi::exit::ExitRequest;
use abi::proc::{ProcInfo, ProcState, WaitStatus};
use abi::sys::errno::*;
use abi::sys::{MAX_FDS, STUB_ADDR, SysInfo, nr};

/// The stub's code for the `int3` gate: `int3; ret`.
pub const STUB_INT3: &[u8] = &[0xCC, 0xC3];
/// The stub's code for the `syscall` instruction: `syscall; ret`.
pub const STUB_SYSCALL: &[u8] = &[0x0F, 0x05, 0xC3];

type Handler = fn(&mut TrapFrame) -> i64;

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
];

/// #BP from ring 3: a system call if it came from the stub, else a stray
/// breakpoint that kills the process.
pub fn on_int3(tf: &mut TrapFrame) {
    if tf.rip != STUB_ADDR + 1 {
        life::die(abi::proc::Cause::Breakpoint, None, tf.rip.wrapping_sub(1));
    }
    dispatch(tf);
}

/// A `syscall` instruction from ring 3 (only the stub's, when it uses one).
pub fn on_syscall(tf: &mut TrapFrame) {
    dispatch(tf);
}

/// Runs system call `rax` on the trap frame's arguments; the result goes
/// to `rax`.
fn dispatch(tf: &mut TrapFrame) {
    let n = tf.rax;
    tf.rax = match TABLE.get(n as usize) {
        Some(h) if n < nr::COUNT => h(tf),
        _ => -ENOSYS,
    } as u64;
}

/// Whether the current process may access `[ptr, ptr + len)` (`write`:
/// for writing), mapping lazily mappable pages.
pub fn check(ptr: u64, len: u64, write: bool) -> bool {
    match pcb(current()).space.as_mut() {
        Some(s) => {
            let ok = s.check(ptr, len, write);
            pcb(current()).info.mem_bytes = s.mem_bytes();
            ok
        }
        None => false,
    }
}

/// Copies `len` bytes in from user memory.
pub fn copy_in(ptr: u64, len: u64) -> Result<Vec<u8>, i64> {
    if !check(ptr, len, false) {
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
fn io_slice(ptr: u64, len: u64, write: bool) -> Result<&'static mut [u8], i64> {
    // The common, short buffer costs one compare more than user_slice.
    if len > abi::sys::MAX_IO
        && ptr
            .checked_add(len)
            .is_none_or(|end| end > abi::sys::USER_END)
    {
        return Err(-EFAULT);
    }
    user_slice(ptr, len.min(abi::sys::MAX_IO), write)
}

/// A checked user buffer as a slice.
fn user_slice(ptr: u64, len: u64, write: bool) -> Result<&'static mut [u8], i64> {
    if !check(ptr, len, write) {
        return Err(-EFAULT);
    }
    if len == 0 {
        return Ok(&mut []);
    }
    // SAFETY: checked: mapped user memory of this process, which only this
    // process (running now, single-threaded) can change.
    Ok(unsafe { core::slice::from_raw_parts_mut(ptr as *mut u8, len as usize) })
}

fn fd_slot(fd: u64) -> Result<usize, i64> {
    let fd = fd as i64;
    if !(0..MAX_FDS as i64).contains(&fd) {
        return Err(-EBADF);
    }
    let me = current();
    if pcb(me).fds[fd as usize].kind() == Kind::Closed {
        return Err(-EBADF);
    }
    Ok(fd as usize)
}

fn free_fd() -> Option<usize> {
    pcb(current())
        .fds
        .iter()
        .position(|f| f.kind() == Kind::Closed)
}

fn sys_exit(tf: &mut TrapFrame) -> i64 {
    life::exit(WaitStatus::exited(tf.rdi as u8))
}

fn sys_fork(tf: &mut TrapFrame) -> i64 {
    life::fork(tf)
}

fn sys_exec(tf: &mut TrapFrame) -> i64 {
    match life::copy_args(tf.rdi, tf.rsi, tf.rdx, tf.r10) {
        Ok(args) => life::exec(&args, tf),
        Err(e) => e,
    }
}

fn sys_spawn(tf: &mut TrapFrame) -> i64 {
    match life::copy_args(tf.rdi, tf.rsi, tf.rdx, tf.r10) {
        Ok(args) => life::spawn(&args),
        Err(e) => e,
    }
}

fn sys_waitpid(tf: &mut TrapFrame) -> i64 {
    life::waitpid(tf.rdi as i64, tf.rsi, tf.rdx)
}

fn sys_kill(tf: &mut TrapFrame) -> i64 {
    life::kill(tf.rdi as i64)
}

fn sys_getpid(_: &mut TrapFrame) -> i64 {
    i64::from(pcb(current()).info.pid)
}

fn sys_getppid(_: &mut TrapFrame) -> i64 {
    i64::from(pcb(current()).info.ppid)
}

fn sys_sleep(tf: &mut TrapFrame) -> i64 {
    let ms = tf.rdi;
    if ms == 0 {
        sched::yield_now();
        return 0;
    }
    let ticks = kernel::time::ticks_for_ms(ms, procs().hz).max(1);
    sched::sleep_until(crate::clock::ticks().saturating_add(ticks));
    0
}

fn sys_yield(_: &mut TrapFrame) -> i64 {
    sched::yield_now();
    0
}

fn sys_sbrk(tf: &mut TrapFrame) -> i64 {
    let me = current();
    let Some(s) = pcb(me).space.as_mut() else {
        return -ENOMEM;
    };
    let r = s.sbrk(tf.rdi as i64);
    let (brk, mem) = (s.brk, s.mem_bytes());
    pcb(me).info.brk = brk;
    pcb(me).info.mem_bytes = mem;
    match r {
        Ok(old) => old as i64,
        Err(e) => -e,
    }
}

fn sys_read(tf: &mut TrapFrame) -> i64 {
    let fd = match fd_slot(tf.rdi) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let file = pcb(current()).fds[fd];
    if file.kind() == Kind::Writer {
        return -EBADF;
    }
    let buf = match io_slice(tf.rsi, tf.rdx, true) {
        Ok(b) => b,
        Err(e) => return e,
    };
    match file.kind() {
        Kind::Console => read_console(buf),
        _ => match file.pipe().read(buf) {
            Some(n) => n as i64,
            None => -EPIPE,
        },
    }
}

/// Reads a line (or what fits) from the console, sleeping until one is
/// typed.
fn read_console(buf: &mut [u8]) -> i64 {
    if buf.is_empty() {
        return 0;
    }
    loop {
        if let Some(n) = serial::read_cooked(buf) {
            return n as i64;
        }
        if pcb(current()).info.killed != 0 {
            return -EPIPE;
        }
        sched::sleep(abi::proc::SleepReason::Io, &raw mut procs().console);
    }
}

fn sys_write(tf: &mut TrapFrame) -> i64 {
    let fd = match fd_slot(tf.rdi) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let file = pcb(current()).fds[fd];
    if file.kind() == Kind::Reader {
        return -EBADF;
    }
    let buf = match io_slice(tf.rsi, tf.rdx, false) {
        Ok(b) => b,
        Err(e) => return e,
    };
    match file.kind() {
        Kind::Console => {
            serial::write(buf);
            buf.len() as i64
        }
        _ => file.pipe().write(buf),
    }
}

fn sys_close(tf: &mut TrapFrame) -> i64 {
    match fd_slot(tf.rdi) {
        Ok(fd) => {
            let f = core::mem::replace(&mut pcb(current()).fds[fd], File::CLOSED);
            f.close();
            0
        }
        Err(e) => e,
    }
}

fn sys_dup(tf: &mut TrapFrame) -> i64 {
    let fd = match fd_slot(tf.rdi) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let Some(new) = free_fd() else {
        return -EMFILE;
    };
    let me = current();
    pcb(me).fds[new] = pcb(me).fds[fd].dup();
    new as i64
}

fn sys_pipe(tf: &mut TrapFrame) -> i64 {
    let ptr = tf.rdi;
    if !check(ptr, 8, true) {
        return -EFAULT;
    }
    let me = current();
    let Some(r) = free_fd() else {
        return -EMFILE;
    };
    let Some(w) = pcb(me)
        .fds
        .iter()
        .enumerate()
        .position(|(i, f)| i != r && f.kind() == Kind::Closed)
    else {
        return -EMFILE;
    };
    let Some((rf, wf)) = pipe::new_pipe() else {
        return -ENOMEM;
    };
    pcb(me).fds[r] = rf;
    pcb(me).fds[w] = wf;
    let fds = [r as i32, w as i32];
    // SAFETY: checked writable, 8 bytes.
    unsafe { (ptr as *mut [i32; 2]).write_unaligned(fds) };
    0
}

fn sys_suspend(tf: &mut TrapFrame) -> i64 {
    life::suspend(tf.rdi as i64)
}

fn sys_resume(tf: &mut TrapFrame) -> i64 {
    life::resume(tf.rdi as i64)
}

fn sys_procinfo(tf: &mut TrapFrame) -> i64 {
    const SIZE: u64 = core::mem::size_of::<ProcInfo>() as u64;
    let (pid, buf, max) = (tf.rdi as i64, tf.rsi, tf.rdx);
    let p = procs();
    if pid == -1 {
        let n = max.min(p.hwm as u64);
        if !check(buf, n * SIZE, true) {
            return -EFAULT;
        }
        let mut written = 0;
        for slot in 0..p.hwm {
            if written == n {
                break;
            }
            if state(slot) == ProcState::Unused {
                continue;
            }
            // SAFETY: checked writable, n records.
            unsafe { ((buf + written * SIZE) as *mut ProcInfo).write_unaligned(pcb(slot).info) };
            written += 1;
        }
        return written as i64;
    }
    if pid <= 0 {
        return -EINVAL;
    }
    if max == 0 {
        return 0;
    }
    if !check(buf, SIZE, true) {
        return -EFAULT;
    }
    match lookup(pid) {
        Some(slot) => {
            // SAFETY: checked writable, one record.
            unsafe { (buf as *mut ProcInfo).write_unaligned(pcb(slot).info) };
            1
        }
        None => -ESRCH,
    }
}

fn sys_uptime(_: &mut TrapFrame) -> i64 {
    kernel::time::tsc_to_ms(crate::clock::tsc_since_start(), crate::clock::tsc_khz()) as i64
}

fn sys_poweroff(tf: &mut TrapFrame) -> i64 {
    poweroff::exit(ExitRequest::PowerOff(tf.rdi as u8))
}

fn sys_sysinfo(tf: &mut TrapFrame) -> i64 {
    use crate::mm::{frame, heap, kstack, uvm};
    let ptr = tf.rdi;
    if !check(ptr, core::mem::size_of::<SysInfo>() as u64, true) {
        return -EFAULT;
    }
    let p = procs();
    let (free_frames, total_frames) = frame::stats();
    let space = pcb(current()).space.as_ref().map_or(0, |s| s.frames());
    // Slots at or above the high-water mark were never used: free too.
    let used = (0..p.hwm)
        .filter(|&s| state(s) != ProcState::Unused)
        .count();
    let info = SysInfo {
        total_frames,
        free_frames,
        kernel_frames: heap::frames() + uvm::text_cache_frames() + kstack::table_frames(),
        self_frames: space + kstack::FRAMES,
        total_procs: p.cap as u64,
        free_procs: (p.cap - used) as u64,
        heap_bytes: heap::stats().0 as u64,
        reserved: 0,
    };
    // SAFETY: checked writable, one record.
    unsafe { (ptr as *mut SysInfo).write_unaligned(info) };
    0
}
