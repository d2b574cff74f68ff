//! The process calls: create, exec, wait, kill, suspend/resume, status,
//! sleep, memory, and the machine.

use alloc::vec::Vec;

use super::{check, copy_in};
use crate::arch::x86_64::frame::TrapFrame;
use crate::dev::poweroff;
use crate::proc::exec::{self, Args};
use crate::proc::life::Who;
use crate::proc::{Kernel, life, sched, signal as proc_signal};
use abi::exit::ExitRequest;
use abi::proc::{Pid, ProcInfo, ProcState, WaitStatus};
use abi::signal::{self, SigFrame, SigSet};
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
    let foreground = tf.r8 == abi::sys::SPAWN_NEW_FOREGROUND;
    // Checked before the child exists: a call that must wait for SIGTTOU
    // to be handled runs again from the start.
    if foreground && let Some(r) = crate::console::background_change(k) {
        return r;
    }
    let group = match tf.r8 {
        0 => Some(k.me().info.pgid),
        abi::sys::SPAWN_NEW_GROUP | abi::sys::SPAWN_NEW_FOREGROUND => None,
        raw => match Pid::from_arg(raw as i64) {
            Some(pgid) if k.group_exists(pgid) => Some(pgid),
            Some(_) => return -EPERM,
            None => return -EINVAL,
        },
    };
    let pid = match copy_args(k, tf.rdi, tf.rsi, tf.rdx, tf.r10) {
        Ok(args) => exec::spawn(k, &args, group),
        Err(e) => e,
    };
    if foreground && pid > 0 {
        crate::console::make_foreground(k, Pid(pid as u32));
    }
    pid
}

pub(super) fn sys_waitpid(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    let status_ptr = tf.rsi;
    if status_ptr != 0 && !check(k, status_ptr, 4, true) {
        return -EFAULT;
    }
    // -1: any child; 0: any child in the caller's group; below -1: any
    // child in group -pid; a number no pid (or group) can have names no
    // child.
    let who = match tf.rdi as i64 {
        -1 => Who::Any,
        0 => Who::Group(k.me().info.pgid),
        raw if raw < 0 => match raw.checked_neg().and_then(Pid::from_arg) {
            Some(pgid) => Who::Group(pgid),
            None => return -ECHILD,
        },
        raw => match Pid::from_arg(raw) {
            Some(pid) => Who::Child(pid),
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
    let sig = match u32::try_from(tf.rsi) {
        Ok(sig) if sig == 0 || signal::valid(sig) => sig,
        _ => return -EINVAL,
    };
    let me = k.me().info.pid;
    match tf.rdi as i64 {
        // The caller's own group.
        0 => {
            let group = k.me().info.pgid;
            proc_signal::send_group(k, group, sig, me)
        }
        // Every process: not offered.
        -1 => -EINVAL,
        group if group < 0 => match group.checked_neg().and_then(Pid::from_arg) {
            Some(pgid) => proc_signal::send_group(k, pgid, sig, me),
            None => -ESRCH,
        },
        _ => match pid_arg(tf.rdi) {
            Ok(pid) => proc_signal::kill(k, pid, sig, me),
            Err(e) => e,
        },
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
    if k.interrupted() {
        return -EINTR;
    }
    let ticks = logic::time::units::ticks_for_ms(ms, k.procs().hz).max(1);
    let deadline = crate::time::ticks().saturating_add(ticks);
    sched::sleep_until(k, deadline);
    // Woken before the deadline: by a signal.
    if crate::time::ticks() < deadline {
        -EINTR
    } else {
        0
    }
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

/// `suspend(pid)`: `SIGSTOP`.
pub(super) fn sys_suspend(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    let me = k.me().info.pid;
    match pid_arg(tf.rdi) {
        Ok(pid) => proc_signal::kill(k, pid, signal::SIGSTOP, me),
        Err(e) => e,
    }
}

/// `resume(pid)`: `SIGCONT`.
pub(super) fn sys_resume(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    let me = k.me().info.pid;
    match pid_arg(tf.rdi) {
        Ok(pid) => proc_signal::kill(k, pid, signal::SIGCONT, me),
        Err(e) => e,
    }
}

pub(super) fn sys_signal(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    match u32::try_from(tf.rdi) {
        Ok(sig) => proc_signal::set_handler(k, sig, tf.rsi),
        Err(_) => -EINVAL,
    }
}

pub(super) fn sys_sigprocmask(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    let Ok(set) = u32::try_from(tf.rsi) else {
        return -EINVAL;
    };
    let set = SigSet(set).maskable();
    let pc = k.me();
    let old = pc.info.sig_blocked;
    pc.info.sig_blocked = match tf.rdi {
        signal::SIG_BLOCK => SigSet(old.0 | set.0),
        signal::SIG_UNBLOCK => SigSet(old.0 & !set.0),
        signal::SIG_SETMASK => set,
        _ => return -EINVAL,
    };
    i64::from(old.0)
}

pub(super) fn sys_sigreturn(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    let size = core::mem::size_of::<SigFrame>() as u64;
    let frame = match copy_in(k, tf.rdi, size) {
        // SAFETY: SigFrame is plain data, any bytes are a value; read
        // unaligned from the copy.
        Ok(bytes) => unsafe { (bytes.as_ptr() as *const SigFrame).read_unaligned() },
        // A frame the process cannot read: it cannot go back.
        Err(_) => proc_signal::bad_frame(
            k,
            format_args!("sigreturn with a frame it cannot read at {:#x}", tf.rdi),
        ),
    };
    proc_signal::sigreturn(k, tf, frame)
}

/// The process group a `setpgid`/`getpgid` argument names: 0 is the
/// caller.
fn pid_or_self(k: &mut Kernel, raw: u64) -> Result<Pid, i64> {
    match raw {
        0 => Ok(k.me().info.pid),
        raw => pid_arg(raw),
    }
}

/// `setpgid(pid, pgid)`: the caller may move itself or a child of its own
/// (0: itself) into an existing group (a zombie's counts) or a new one
/// named after it (0: its pid). `-ESRCH` for anyone else, `-EPERM` for a
/// group that does not exist and is not its own.
pub(super) fn sys_setpgid(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    let pid = match pid_or_self(k, tf.rdi) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let pgid = match tf.rsi as i64 {
        0 => pid,
        raw if raw < 0 => return -EINVAL,
        raw => match Pid::from_arg(raw) {
            Some(p) => p,
            None => return -EPERM,
        },
    };
    let me = k.current();
    let my_pid = k.pcb(me).info.pid;
    let Some(slot) = k.lookup(pid) else {
        return -ESRCH;
    };
    if slot != me && k.pcb(slot).info.ppid != my_pid || k.state(slot) == ProcState::Zombie {
        return -ESRCH;
    }
    if pgid != pid && !k.group_exists(pgid) {
        return -EPERM;
    }
    k.pcb(slot).info.pgid = pgid;
    k.trace(slot, abi::debug::EventKind::Group, 0, pgid.arg());
    0
}

pub(super) fn sys_getpgid(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    let pid = match pid_or_self(k, tf.rdi) {
        Ok(p) => p,
        Err(e) => return e,
    };
    match k.lookup(pid) {
        Some(slot) => i64::from(k.pcb(slot).info.pgid.get()),
        None => -ESRCH,
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
        reserve_frames: crate::mm::frame::RESERVE,
    };
    // SAFETY: checked writable, one record.
    unsafe { (ptr as *mut SysInfo).write_unaligned(info) };
    0
}
