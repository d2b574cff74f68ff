//! The process calls: create, exec, wait, kill, suspend/resume, status,
//! sleep, memory, and the machine.

use alloc::vec::Vec;

use super::{check, copy_in};
use crate::arch::x86_64::frame::TrapFrame;
use crate::dev::poweroff;
use crate::proc::exec::{self, Args};
use crate::proc::{Kernel, life, sched};
use abi::exit::ExitRequest;
use abi::proc::{Pid, ProcInfo, ProcState, WaitStatus};
use abi::sys::errno::*;
use abi::sys::{MAX_ARG_BYTES, MAX_ARG_LEN, MAX_ARGS, MAX_PATH, Str, SysInfo};

/// Copies in a path and argument vector (exec, spawn), with the limits:
/// path longer than `MAX_PATH` -> ENAMETOOLONG, more than `MAX_ARGS`
/// arguments, one longer than `MAX_ARG_LEN` or more than `MAX_ARG_BYTES`
/// in all -> E2BIG, bad memory ->
/// EFAULT.
fn copy_args(k: &mut Kernel, path: u64, path_len: u64, argv: u64, argc: u64) -> Result<Args, i64> {
    if path_len > MAX_PATH as u64 {
        return Err(-ENAMETOOLONG);
    }
    let path = copy_in(k, path, path_len)?;
    if argc > MAX_ARGS as u64 {
        return Err(-E2BIG);
    }
    let size = core::mem::size_of::<Str>() as u64;
    let raw = copy_in(k, argv, argc * size)?;
    let mut args = Vec::with_capacity(argc as usize);
    let mut total = 0;
    for rec in raw.chunks_exact(size as usize) {
        let s = Str {
            ptr: u64::from_le_bytes(rec[..8].try_into().unwrap_or_default()),
            len: u64::from_le_bytes(rec[8..].try_into().unwrap_or_default()),
        };
        total += s.len.min(MAX_ARG_BYTES as u64 + 1);
        if s.len > MAX_ARG_LEN as u64 || total > MAX_ARG_BYTES as u64 {
            return Err(-E2BIG);
        }
        args.push(copy_in(k, s.ptr, s.len)?);
    }
    Ok(Args { path, argv: args })
}

/// The process a system call's argument names: `-EINVAL` for zero or a
/// negative number, `-ESRCH` for one no process can have.
fn pid_arg(raw: u64) -> Result<Pid, i64> {
    match raw as i64 {
        n if n <= 0 => Err(-EINVAL),
        n => Pid::from_arg(n).ok_or(-ESRCH),
    }
}

pub(super) fn sys_exit(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    life::exit(k, WaitStatus::exited(tf.rdi as u8))
}

pub(super) fn sys_fork(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    life::fork(k, tf)
}

pub(super) fn sys_exec(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    match copy_args(k, tf.rdi, tf.rsi, tf.rdx, tf.r10) {
        Ok(args) => exec::exec(k, &args, tf),
        Err(e) => e,
    }
}

pub(super) fn sys_spawn(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    match copy_args(k, tf.rdi, tf.rsi, tf.rdx, tf.r10) {
        Ok(args) => exec::spawn(k, &args),
        Err(e) => e,
    }
}

pub(super) fn sys_waitpid(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    let status_ptr = tf.rsi;
    if status_ptr != 0 && !check(k, status_ptr, 4, true) {
        return -EFAULT;
    }
    // -1: any child; 0 and other negatives name process groups, which
    // there are none of; a number no pid can have names no child.
    let who = match tf.rdi as i64 {
        -1 => None,
        raw if raw <= 0 => return -EINVAL,
        raw => match Pid::from_arg(raw) {
            Some(pid) => Some(pid),
            None => return -ECHILD,
        },
    };
    life::waitpid(k, who, tf.rdx, |status| {
        if status_ptr != 0 {
            // SAFETY: checked writable user memory of this process, which
            // only this process changes.
            unsafe { (status_ptr as *mut i32).write_unaligned(status) };
        }
    })
}

pub(super) fn sys_kill(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    match pid_arg(tf.rdi) {
        Ok(pid) => life::kill(k, pid),
        Err(e) => e,
    }
}

pub(super) fn sys_getpid(k: &mut Kernel, _: &mut TrapFrame) -> i64 {
    i64::from(k.me().info.pid.get())
}

pub(super) fn sys_getppid(k: &mut Kernel, _: &mut TrapFrame) -> i64 {
    i64::from(k.me().info.ppid.get())
}

pub(super) fn sys_sleep(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    let ms = tf.rdi;
    if ms == 0 {
        sched::yield_now(k);
        return 0;
    }
    let ticks = logic::time::units::ticks_for_ms(ms, k.procs().hz).max(1);
    sched::sleep_until(k, crate::time::ticks().saturating_add(ticks));
    0
}

pub(super) fn sys_yield(k: &mut Kernel, _: &mut TrapFrame) -> i64 {
    sched::yield_now(k);
    0
}

pub(super) fn sys_sbrk(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    let me = k.current();
    let Some(s) = k.pcb(me).space.as_mut() else {
        return -ENOMEM;
    };
    let r = s.sbrk(tf.rdi as i64);
    let (brk, mem) = (s.brk, s.mem_bytes());
    k.pcb(me).info.brk = brk;
    k.pcb(me).info.mem_bytes = mem;
    match r {
        Ok(old) => old as i64,
        Err(e) => -e,
    }
}

pub(super) fn sys_suspend(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    match pid_arg(tf.rdi) {
        Ok(pid) => life::suspend(k, pid),
        Err(e) => e,
    }
}

pub(super) fn sys_resume(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    match pid_arg(tf.rdi) {
        Ok(pid) => life::resume(k, pid),
        Err(e) => e,
    }
}

pub(super) fn sys_procinfo(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    const SIZE: u64 = core::mem::size_of::<ProcInfo>() as u64;
    let (pid, buf, max) = (tf.rdi as i64, tf.rsi, tf.rdx);
    if pid == -1 {
        let hwm = k.procs().hwm;
        let n = max.min(hwm as u64);
        if !check(k, buf, n * SIZE, true) {
            return -EFAULT;
        }
        let mut written = 0;
        for slot in 0..hwm {
            if written == n {
                break;
            }
            if k.state(slot) == ProcState::Unused {
                continue;
            }
            // SAFETY: checked writable, n records.
            unsafe { ((buf + written * SIZE) as *mut ProcInfo).write_unaligned(k.pcb(slot).info) };
            written += 1;
        }
        return written as i64;
    }
    let pid = match pid_arg(pid as u64) {
        Ok(pid) => pid,
        Err(e) => return e,
    };
    if max == 0 {
        return 0;
    }
    if !check(k, buf, SIZE, true) {
        return -EFAULT;
    }
    match k.lookup(pid) {
        Some(slot) => {
            // SAFETY: checked writable, one record.
            unsafe { (buf as *mut ProcInfo).write_unaligned(k.pcb(slot).info) };
            1
        }
        None => -ESRCH,
    }
}

pub(super) fn sys_uptime(_: &mut Kernel, _: &mut TrapFrame) -> i64 {
    logic::time::units::tsc_to_ms(crate::time::tsc_since_start(), crate::time::tsc_khz()) as i64
}

pub(super) fn sys_poweroff(_: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    poweroff::exit(ExitRequest::PowerOff(tf.rdi as u8))
}

pub(super) fn sys_sysinfo(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    use crate::mm::{frame, heap, kstack, uvm};
    let ptr = tf.rdi;
    if !check(k, ptr, core::mem::size_of::<SysInfo>() as u64, true) {
        return -EFAULT;
    }
    let (cap, hwm) = (k.procs().cap, k.procs().hwm);
    let (free_frames, total_frames) = frame::stats();
    let space = k.me().space.as_ref().map_or(0, |s| s.frames());
    // Slots at or above the high-water mark were never used: free too.
    let used = (0..hwm)
        .filter(|&s| k.state(s) != ProcState::Unused)
        .count();
    let info = SysInfo {
        total_frames,
        free_frames,
        kernel_frames: heap::frames() + uvm::text_cache_frames() + kstack::table_frames(),
        self_frames: space + kstack::FRAMES,
        total_procs: cap as u64,
        free_procs: (cap - used) as u64,
        heap_bytes: heap::stats().0 as u64,
        reserved: 0,
    };
    // SAFETY: checked writable, one record.
    unsafe { (ptr as *mut SysInfo).write_unaligned(info) };
    0
}
