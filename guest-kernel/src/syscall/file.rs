//! The file-descriptor calls: read, write, close, dup, pipe, and the
//! console's foreground group and mode.

use super::{check, io_slice};
use crate::arch::x86_64::frame::TrapFrame;
use crate::console;
use crate::fs::file::{File, Kind};
use crate::proc::Kernel;
use crate::proc::sched::Sched;
use crate::proc::signal::{self, ERESTART};
use abi::proc::Pid;
use abi::signal::SIGPIPE;
use abi::sys::MAX_FDS;
use abi::sys::errno::*;

fn fd_slot(k: &mut Kernel, fd: u64) -> Result<usize, i64> {
    let fd = fd as i64;
    if !(0..MAX_FDS as i64).contains(&fd) {
        return Err(-EBADF);
    }
    let me = k.current();
    if k.pcb(me).fds[fd as usize].kind() == Kind::Closed {
        return Err(-EBADF);
    }
    Ok(fd as usize)
}

fn free_fd(k: &mut Kernel) -> Option<usize> {
    k.me().fds.iter().position(|f| f.kind() == Kind::Closed)
}

pub(super) fn sys_read(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    let fd = match fd_slot(k, tf.rdi) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let file = k.me().fds[fd];
    if file.kind() == Kind::Writer {
        return -EBADF;
    }
    let buf = match io_slice(k, tf.rsi, tf.rdx, true) {
        Ok(b) => b,
        Err(e) => return e,
    };
    match file.kind() {
        Kind::Console => console::read(k, buf),
        _ => match file.read_pipe(buf, &mut Sched(k)) {
            Some(n) => n as i64,
            None => -ERESTART,
        },
    }
}

pub(super) fn sys_write(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    let fd = match fd_slot(k, tf.rdi) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let file = k.me().fds[fd];
    if file.kind() == Kind::Reader {
        return -EBADF;
    }
    let buf = match io_slice(k, tf.rsi, tf.rdx, false) {
        Ok(b) => b,
        Err(e) => return e,
    };
    match file.kind() {
        Kind::Console => {
            console::write(buf);
            buf.len() as i64
        }
        _ => match file.write_pipe(buf, &mut Sched(k)) {
            r if r == -EINTR => -ERESTART,
            r if r == -EPIPE => {
                // Writing to a pipe no one reads: SIGPIPE, which ends the
                // writer unless it ignores or handles it.
                let (me, pid) = (k.current(), k.me().info.pid);
                signal::send(k, me, SIGPIPE, pid);
                r
            }
            r => r,
        },
    }
}

pub(super) fn sys_close(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    match fd_slot(k, tf.rdi) {
        Ok(fd) => {
            let f = core::mem::replace(&mut k.me().fds[fd], File::CLOSED);
            f.close(&mut Sched(k));
            0
        }
        Err(e) => e,
    }
}

pub(super) fn sys_dup(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    let fd = match fd_slot(k, tf.rdi) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let Some(new) = free_fd(k) else {
        return -EMFILE;
    };
    let me = k.current();
    k.pcb(me).fds[new] = k.pcb(me).fds[fd].dup();
    new as i64
}

pub(super) fn sys_pipe(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    let ptr = tf.rdi;
    if !check(k, ptr, 8, true) {
        return -EFAULT;
    }
    let me = k.current();
    let Some(r) = free_fd(k) else {
        return -EMFILE;
    };
    let Some(w) = k
        .pcb(me)
        .fds
        .iter()
        .enumerate()
        .position(|(i, f)| i != r && f.kind() == Kind::Closed)
    else {
        return -EMFILE;
    };
    let Some((rf, wf)) = File::new_pipe() else {
        return -ENOMEM;
    };
    k.pcb(me).fds[r] = rf;
    k.pcb(me).fds[w] = wf;
    let fds = [r as i32, w as i32];
    // SAFETY: checked writable, 8 bytes.
    unsafe { (ptr as *mut [i32; 2]).write_unaligned(fds) };
    0
}

/// The console behind `fd`: `-EBADF` for no open file, `-ENOTTY` for a
/// pipe.
fn console_fd(k: &mut Kernel, fd: u64) -> Result<(), i64> {
    let fd = fd_slot(k, fd)?;
    match k.me().fds[fd].kind() {
        Kind::Console => Ok(()),
        _ => Err(-ENOTTY),
    }
}

pub(super) fn sys_tcsetpgrp(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    if let Err(e) = console_fd(k, tf.rdi) {
        return e;
    }
    match Pid::from_arg(tf.rsi as i64) {
        Some(pgid) => console::set_foreground(k, pgid),
        None if (tf.rsi as i64) <= 0 => -EINVAL,
        None => -EPERM,
    }
}

pub(super) fn sys_tcgetpgrp(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    match console_fd(k, tf.rdi) {
        Ok(()) => i64::from(console::foreground().get()),
        Err(e) => e,
    }
}

pub(super) fn sys_ttymode(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    match console_fd(k, tf.rdi) {
        Ok(()) => console::set_mode(k, tf.rsi),
        Err(e) => e,
    }
}
