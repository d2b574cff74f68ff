//! The file-descriptor calls: read, write, close, dup, pipe.

use super::{check, io_slice};
use crate::arch::x86_64::frame::TrapFrame;
use crate::console;
use crate::fs::file::{File, Kind};
use crate::proc::sched::Sched;
use crate::proc::{current, pcb};
use abi::sys::MAX_FDS;
use abi::sys::errno::*;

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

pub(super) fn sys_read(tf: &mut TrapFrame) -> i64 {
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
        Kind::Console => console::read(buf),
        _ => match file.pipe().read(buf, &mut Sched) {
            Some(n) => n as i64,
            None => -EPIPE,
        },
    }
}

pub(super) fn sys_write(tf: &mut TrapFrame) -> i64 {
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
            console::write(buf);
            buf.len() as i64
        }
        _ => file.pipe().write(buf, &mut Sched),
    }
}

pub(super) fn sys_close(tf: &mut TrapFrame) -> i64 {
    match fd_slot(tf.rdi) {
        Ok(fd) => {
            let f = core::mem::replace(&mut pcb(current()).fds[fd], File::CLOSED);
            f.close(&mut Sched);
            0
        }
        Err(e) => e,
    }
}

pub(super) fn sys_dup(tf: &mut TrapFrame) -> i64 {
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

pub(super) fn sys_pipe(tf: &mut TrapFrame) -> i64 {
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
    let Some((rf, wf)) = File::new_pipe() else {
        return -ENOMEM;
    };
    pcb(me).fds[r] = rf;
    pcb(me).fds[w] = wf;
    let fds = [r as i32, w as i32];
    // SAFETY: checked writable, 8 bytes.
    unsafe { (ptr as *mut [i32; 2]).write_unaligned(fds) };
    0
}
