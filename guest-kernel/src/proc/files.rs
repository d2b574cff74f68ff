//! A process's files: its fd table and working directory, and the view of
//! both the host reads in its PCB ([`abi::fs::FilesInfo`]), kept in step
//! by going through here. Each change of the view is bracketed by the
//! debug port's generation counter, as a change of the process record is,
//! so the host never takes a half-written record for a whole one (an
//! offset, one aligned word, needs no bracket).

use super::sched::Sched;
use super::{Kernel, Pcb};
use crate::dev::debugport::{begin_change, end_change};
use crate::fs::file::{File, Kind};
use crate::fs::vfs;
use abi::fs::{FdInfo, FileKind, O_ACCMODE, O_APPEND, O_RDWR, keep_path};

/// The host's view of `file`, opened by `path` (a file or directory).
fn fd_info(file: &File, path: &str) -> FdInfo {
    let kind = file.file_kind();
    let mut info = FdInfo::CLOSED;
    info.kind = kind as u8;
    info.flags = match kind {
        FileKind::PipeRead => 0,
        FileKind::PipeWrite => 1,
        FileKind::Console => O_RDWR as u8,
        _ => file.open_file().map_or(0, |of| {
            (of.flags & O_ACCMODE) as u8
                | if of.flags & O_APPEND != 0 {
                    FdInfo::APPEND
                } else {
                    0
                }
        }),
    };
    if file.cloexec() {
        info.flags |= FdInfo::CLOEXEC;
    }
    info.id = match kind {
        FileKind::PipeRead | FileKind::PipeWrite => file.pipe_id(),
        FileKind::Regular | FileKind::Directory => file.open_file().map_or(0, |of| of.node),
        _ => 0,
    };
    if matches!(kind, FileKind::Regular | FileKind::Directory) {
        keep_path(path, &mut info.path);
    }
    info
}

/// Puts `file` in fd `fd` of `pc`, with the open and close-on-exec bits.
fn set(pc: &mut Pcb, fd: usize, file: File) {
    let bit = 1u16 << fd;
    pc.fds[fd] = file;
    if file.kind() == Kind::Closed {
        pc.fd_open &= !bit;
    } else {
        pc.fd_open |= bit;
    }
    if file.cloexec() {
        pc.fd_cloexec |= bit;
    } else {
        pc.fd_cloexec &= !bit;
    }
}

/// The fds set in `mask`, lowest first.
fn each(mut mask: u16) -> impl Iterator<Item = usize> {
    core::iter::from_fn(move || {
        if mask == 0 {
            return None;
        }
        let fd = mask.trailing_zeros() as usize;
        mask &= mask - 1;
        Some(fd)
    })
}

impl Kernel {
    /// Puts `file` in the free fd `fd` of `slot`, opened by `path` (for a
    /// file or directory; the host is shown it).
    pub fn install_fd(&mut self, slot: usize, fd: usize, file: File, path: &str) {
        let info = fd_info(&file, path);
        let pc = self.pcb(slot);
        set(pc, fd, file);
        begin_change();
        pc.files.fds[fd] = info;
        end_change();
    }

    /// Makes fd `to` of `slot` a copy of its fd `from` (`to` is free).
    pub fn copy_fd(&mut self, slot: usize, from: usize, to: usize) {
        let pc = self.pcb(slot);
        let copy = pc.fds[from].dup();
        set(pc, to, copy);
        begin_change();
        pc.files.fds[to] = pc.files.fds[from];
        pc.files.fds[to].flags &= !FdInfo::CLOEXEC;
        end_change();
    }

    /// Takes fd `fd` of `slot` out of its table (the caller closes it).
    pub fn take_fd(&mut self, slot: usize, fd: usize) -> File {
        let pc = self.pcb(slot);
        // A closed fd's record is its kind alone (one byte): the rest is
        // not read.
        pc.files.fds[fd].kind = FileKind::None as u8;
        let f = pc.fds[fd];
        set(pc, fd, File::CLOSED);
        f
    }

    /// Closes fd `fd` of `slot`.
    pub fn close_fd(&mut self, slot: usize, fd: usize) {
        let f = self.take_fd(slot, fd);
        if let Some(node) = f.close(&mut Sched(self)) {
            vfs::release(node);
        }
    }

    /// Sets fd `fd`'s own flags (`FD_CLOEXEC`).
    pub fn set_fd_flags(&mut self, slot: usize, fd: usize, flags: u64) {
        let pc = self.pcb(slot);
        set(pc, fd, pc.fds[fd].with_fd_flags(flags));
        let info = &mut pc.files.fds[fd];
        // One byte: no bracket needed.
        info.flags &= !FdInfo::CLOEXEC;
        if pc.fds[fd].cloexec() {
            info.flags |= FdInfo::CLOEXEC;
        }
    }

    /// Shows the host fd `fd`'s offset after a call through it.
    pub fn note_offset(&mut self, slot: usize, fd: usize, offset: u64) {
        self.pcb(slot).files.fds[fd].offset = offset;
    }

    /// Closes every fd of `slot` (`only_cloexec`: those marked
    /// close-on-exec).
    pub fn close_fds(&mut self, slot: usize, only_cloexec: bool) {
        let pc = self.pcb(slot);
        let mask = if only_cloexec {
            pc.fd_cloexec
        } else {
            pc.fd_open
        };
        for fd in each(mask) {
            self.close_fd(slot, fd);
        }
    }

    /// Gives `child` copies of `parent`'s fds (`spawn`: not those marked
    /// close-on-exec) and its working directory.
    pub fn inherit_files(&mut self, parent: usize, child: usize, spawn: bool) {
        let p = self.pcb(parent);
        let mask = if spawn {
            p.fd_open & !p.fd_cloexec
        } else {
            p.fd_open
        };
        // The child is not running yet: one bracket for all its records.
        begin_change();
        for fd in each(mask) {
            let f = self.pcb(parent).fds[fd];
            let info = &self.pcb(parent).files.fds[fd];
            // Only a file's record has a path to copy; the child's records
            // start zeroed.
            let whole = matches!(f.kind(), Kind::Regular | Kind::Directory);
            let (kind, flags, id, copy) = (info.kind, info.flags, info.id, whole.then_some(*info));
            let c = self.pcb(child);
            set(c, fd, f.dup().with_fd_flags(f.fd_flags()));
            match copy {
                Some(info) => c.files.fds[fd] = info,
                None => {
                    let r = &mut c.files.fds[fd];
                    (r.kind, r.flags, r.id) = (kind, flags, id);
                }
            }
        }
        let (cwd, cwd_path) = (self.pcb(parent).cwd, self.pcb(parent).files.cwd);
        let c = self.pcb(child);
        c.cwd = cwd;
        c.files.cwd = cwd_path;
        end_change();
        vfs::hold(cwd);
    }

    /// Moves `slot` to working directory `cwd` (held by the caller for it)
    /// at `path`, letting go of the old one.
    pub fn set_cwd(&mut self, slot: usize, cwd: crate::fs::tree::Id, path: &str) {
        let pc = self.pcb(slot);
        let old = core::mem::replace(&mut pc.cwd, cwd);
        begin_change();
        keep_path(path, &mut pc.files.cwd);
        end_change();
        vfs::release(old);
    }

    /// At exit: every fd closed, the working directory let go of.
    pub fn drop_files(&mut self, slot: usize) {
        self.close_fds(slot, false);
        let pc = self.pcb(slot);
        let cwd = core::mem::replace(&mut pc.cwd, crate::fs::tree::ROOT);
        // No working directory either (one byte).
        pc.files.cwd[0] = 0;
        vfs::release(cwd);
    }

    /// fds 0, 1 and 2 on the console, `/` the working directory: the
    /// first process's files.
    pub fn console_files(&mut self, slot: usize) {
        for fd in 0..3 {
            self.install_fd(slot, fd, File::CONSOLE, "");
        }
        let pc: &mut Pcb = self.pcb(slot);
        begin_change();
        pc.files.cwd = abi::fs::FilesInfo::EMPTY.cwd;
        end_change();
    }

    /// The lowest free fd of the running process at or above `from`.
    pub fn free_fd_from(&mut self, from: usize) -> Option<usize> {
        let free = !self.me().fd_open;
        each(free).find(|&fd| fd >= from)
    }
}
