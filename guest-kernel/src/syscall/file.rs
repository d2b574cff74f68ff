//! The file calls: read, write, close, dup, dup2, pipe, open, lseek,
//! stat, fstat, unlink, mkdir, rmdir, rename, chdir, getcwd, getdents,
//! fcntl, and the console's foreground group and mode.

use alloc::string::String;

use super::{check, copy_in, io_slice};
use crate::arch::x86_64::frame::TrapFrame;
use crate::console;
use crate::fs::file::{File, Kind};
use crate::fs::vfs;
use crate::proc::Kernel;
use crate::proc::sched::Sched;
use crate::proc::signal::{self, ERESTART};
use abi::fs::{F_GETFD, F_SETFD, FD_CLOEXEC, Stat};
use abi::proc::Pid;
use abi::signal::SIGPIPE;
use abi::sys::errno::*;
use abi::sys::{MAX_FDS, MAX_PATH};

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

/// Copies in a path argument: `ENAMETOOLONG` past [`MAX_PATH`], `EFAULT`,
/// `EINVAL` for one that is not UTF-8.
fn user_path(k: &mut Kernel, ptr: u64, len: u64) -> Result<String, i64> {
    if len > MAX_PATH as u64 {
        return Err(-ENAMETOOLONG);
    }
    let bytes = copy_in(k, ptr, len)?;
    String::from_utf8(bytes).map_err(|_| -EINVAL)
}

pub(super) fn sys_read(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    let fd = match fd_slot(k, tf.rdi) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let file = k.me().fds[fd];
    match file.kind() {
        Kind::Writer => return -EBADF,
        Kind::Directory => return -EISDIR,
        _ => {}
    }
    let buf = match io_slice(k, tf.rsi, tf.rdx, true) {
        Ok(b) => b,
        Err(e) => return e,
    };
    match file.kind() {
        Kind::Console => console::read(k, buf),
        Kind::Regular => match file.open_file() {
            Some(of) => {
                let n = vfs::read(of, buf);
                let (me, offset) = (k.current(), of.offset);
                k.note_offset(me, fd, offset);
                n
            }
            None => -EBADF,
        },
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
    if matches!(file.kind(), Kind::Reader | Kind::Directory) {
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
        Kind::Regular => match file.open_file() {
            Some(of) => {
                let n = vfs::write(of, buf);
                let (me, offset) = (k.current(), of.offset);
                k.note_offset(me, fd, offset);
                n
            }
            None => -EBADF,
        },
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
            let me = k.current();
            k.close_fd(me, fd);
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
    let Some(new) = k.free_fd_from(0) else {
        return -EMFILE;
    };
    let me = k.current();
    k.copy_fd(me, fd, new);
    new as i64
}

pub(super) fn sys_dup2(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    let fd = match fd_slot(k, tf.rdi) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let new = tf.rsi as i64;
    if !(0..MAX_FDS as i64).contains(&new) {
        return -EBADF;
    }
    let new = new as usize;
    if new != fd {
        let me = k.current();
        k.close_fd(me, new);
        k.copy_fd(me, fd, new);
    }
    new as i64
}

pub(super) fn sys_pipe(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    let ptr = tf.rdi;
    if !check(k, ptr, 8, true) {
        return -EFAULT;
    }
    let me = k.current();
    let Some(r) = k.free_fd_from(0) else {
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
    k.install_fd(me, r, rf, "");
    k.install_fd(me, w, wf, "");
    let fds = [r as i32, w as i32];
    // SAFETY: checked writable, 8 bytes.
    unsafe { (ptr as *mut [i32; 2]).write_unaligned(fds) };
    0
}

pub(super) fn sys_open(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    let path = match user_path(k, tf.rdi, tf.rsi) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let Some(fd) = k.free_fd_from(0) else {
        return -EMFILE;
    };
    let cwd = k.me().cwd;
    match vfs::open(cwd, &path, tf.rdx) {
        Ok((file, abs)) => {
            let me = k.current();
            k.install_fd(me, fd, file, &abs);
            fd as i64
        }
        Err(e) => e,
    }
}

pub(super) fn sys_lseek(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    let fd = match fd_slot(k, tf.rdi) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let file = k.me().fds[fd];
    let Some(of) = file.open_file() else {
        return -ESPIPE;
    };
    let r = vfs::lseek(of, tf.rsi as i64, tf.rdx);
    let (me, offset) = (k.current(), of.offset);
    k.note_offset(me, fd, offset);
    r
}

/// Writes `st` to user address `ptr`.
fn put_stat(k: &mut Kernel, ptr: u64, st: Stat) -> i64 {
    const SIZE: u64 = core::mem::size_of::<Stat>() as u64;
    if !check(k, ptr, SIZE, true) {
        return -EFAULT;
    }
    // SAFETY: checked writable user memory of this process, SIZE bytes.
    unsafe { (ptr as *mut Stat).write_unaligned(st) };
    0
}

pub(super) fn sys_stat(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    let path = match user_path(k, tf.rdi, tf.rsi) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let cwd = k.me().cwd;
    match vfs::stat(cwd, &path) {
        Ok(st) => put_stat(k, tf.rdx, st),
        Err(e) => e,
    }
}

pub(super) fn sys_fstat(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    let fd = match fd_slot(k, tf.rdi) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let file = k.me().fds[fd];
    let st = match file.open_file() {
        Some(of) => vfs::fstat(of),
        None => vfs::stat_of_kind(file.file_kind()),
    };
    put_stat(k, tf.rsi, st)
}

/// A call on one path: `f(cwd, path)`.
fn path_call(
    k: &mut Kernel,
    tf: &TrapFrame,
    f: fn(crate::fs::tree::Id, &str) -> Result<(), i64>,
) -> i64 {
    match user_path(k, tf.rdi, tf.rsi) {
        Ok(path) => f(k.me().cwd, &path).map_or_else(|e| e, |()| 0),
        Err(e) => e,
    }
}

pub(super) fn sys_unlink(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    path_call(k, tf, vfs::unlink)
}

pub(super) fn sys_mkdir(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    path_call(k, tf, vfs::mkdir)
}

pub(super) fn sys_rmdir(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    path_call(k, tf, vfs::rmdir)
}

pub(super) fn sys_rename(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    let old = match user_path(k, tf.rdi, tf.rsi) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let new = match user_path(k, tf.rdx, tf.r10) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let cwd = k.me().cwd;
    vfs::rename(cwd, &old, &new).map_or_else(|e| e, |()| 0)
}

pub(super) fn sys_chdir(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    let path = match user_path(k, tf.rdi, tf.rsi) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let cwd = k.me().cwd;
    match vfs::chdir(cwd, &path) {
        Ok((id, abs)) => {
            let me = k.current();
            k.set_cwd(me, id, &abs);
            0
        }
        Err(e) => e,
    }
}

pub(super) fn sys_getcwd(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    let cwd = k.me().cwd;
    let path = match vfs::cwd_path(cwd) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let (ptr, len) = (tf.rdi, tf.rsi);
    if (path.len() as u64) > len {
        return -ERANGE;
    }
    if !check(k, ptr, path.len() as u64, true) {
        return -EFAULT;
    }
    // SAFETY: checked writable user memory of this process.
    unsafe {
        crate::arch::x86_64::cpu::copy_bytes(ptr as *mut u8, path.as_ptr(), path.len());
    }
    path.len() as i64
}

pub(super) fn sys_getdents(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    let fd = match fd_slot(k, tf.rdi) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let file = k.me().fds[fd];
    if file.kind() != Kind::Directory {
        return -ENOTDIR;
    }
    let buf = match io_slice(k, tf.rsi, tf.rdx, true) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let Some(of) = file.open_file() else {
        return -EBADF;
    };
    let n = vfs::getdents(of, buf);
    let (me, offset) = (k.current(), of.offset);
    k.note_offset(me, fd, offset);
    n
}

pub(super) fn sys_fcntl(k: &mut Kernel, tf: &mut TrapFrame) -> i64 {
    let fd = match fd_slot(k, tf.rdi) {
        Ok(f) => f,
        Err(e) => return e,
    };
    match tf.rsi {
        F_GETFD => k.me().fds[fd].fd_flags() as i64,
        F_SETFD if tf.rdx & !FD_CLOEXEC == 0 => {
            let me = k.current();
            k.set_fd_flags(me, fd, tf.rdx);
            0
        }
        _ => -EINVAL,
    }
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
