//! System calls: the raw entry and one typed wrapper per call.
//!
//! The convention is in [`abi::sys`]: `call` the kernel's stub at
//! [`STUB_ADDR`] with the number in `rax` and arguments in `rdi`, `rsi`,
//! `rdx`, `r10`, `r8`, `r9`; `rax` returns `>= 0` or `-errno`; `rcx` and `r11`
//! are clobbered.

use abi::fs::{FileKind, Stat};
use abi::proc::{Pid, ProcInfo, WaitStatus};
use abi::signal::SigSet;
use abi::sys::{STUB_ADDR, Str, SysInfo, errno, nr};
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::arch::asm;
use core::fmt;

/// Whose end [`waitpid`] waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitFor {
    /// Any child.
    Any,
    /// This child.
    Child(Pid),
    /// Any child in this process group.
    Group(Pid),
}

impl From<Pid> for WaitFor {
    fn from(pid: Pid) -> WaitFor {
        WaitFor::Child(pid)
    }
}

impl fmt::Display for WaitFor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitFor::Any => f.write_str("any child"),
            WaitFor::Child(pid) => write!(f, "{pid}"),
            WaitFor::Group(pgid) => write!(f, "group {pgid}"),
        }
    }
}

impl WaitFor {
    /// As the system call's argument (-1 for any).
    pub fn arg(self) -> u64 {
        match self {
            WaitFor::Any => -1i64 as u64,
            WaitFor::Child(pid) => pid.arg(),
            WaitFor::Group(pgid) => (pgid.get() as i64).wrapping_neg() as u64,
        }
    }
}
/// A file descriptor.
pub type Fd = i32;

/// An error a system call returned: a (positive) [`abi::sys::errno`] value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Errno(pub i64);

impl Errno {
    /// Operation not permitted.
    pub const EPERM: Errno = Errno(errno::EPERM);
    /// No such file.
    pub const ENOENT: Errno = Errno(errno::ENOENT);
    /// No such process.
    pub const ESRCH: Errno = Errno(errno::ESRCH);
    /// Argument list too long.
    pub const E2BIG: Errno = Errno(errno::E2BIG);
    /// Not an executable.
    pub const ENOEXEC: Errno = Errno(errno::ENOEXEC);
    /// Bad file descriptor.
    pub const EBADF: Errno = Errno(errno::EBADF);
    /// No child processes.
    pub const ECHILD: Errno = Errno(errno::ECHILD);
    /// Process table full.
    pub const EAGAIN: Errno = Errno(errno::EAGAIN);
    /// Out of memory.
    pub const ENOMEM: Errno = Errno(errno::ENOMEM);
    /// Bad address.
    pub const EFAULT: Errno = Errno(errno::EFAULT);
    /// Invalid argument.
    pub const EINVAL: Errno = Errno(errno::EINVAL);
    /// Too many open files.
    pub const EMFILE: Errno = Errno(errno::EMFILE);
    /// Broken pipe.
    pub const EPIPE: Errno = Errno(errno::EPIPE);
    /// Name too long.
    pub const ENAMETOOLONG: Errno = Errno(errno::ENAMETOOLONG);
    /// No such system call.
    pub const ENOSYS: Errno = Errno(errno::ENOSYS);
    /// Interrupted by a signal.
    pub const EINTR: Errno = Errno(errno::EINTR);
    /// Input/output error (a background read of the console).
    pub const EIO: Errno = Errno(errno::EIO);
    /// Not a terminal.
    pub const ENOTTY: Errno = Errno(errno::ENOTTY);
    /// File exists.
    pub const EEXIST: Errno = Errno(errno::EEXIST);
    /// Not a directory.
    pub const ENOTDIR: Errno = Errno(errno::ENOTDIR);
    /// Is a directory.
    pub const EISDIR: Errno = Errno(errno::EISDIR);
    /// No space left.
    pub const ENOSPC: Errno = Errno(errno::ENOSPC);
    /// Illegal seek.
    pub const ESPIPE: Errno = Errno(errno::ESPIPE);
    /// Directory not empty.
    pub const ENOTEMPTY: Errno = Errno(errno::ENOTEMPTY);
    /// Resource busy.
    pub const EBUSY: Errno = Errno(errno::EBUSY);
    /// Result too large.
    pub const ERANGE: Errno = Errno(errno::ERANGE);

    /// The symbolic name, like `EAGAIN` (`E?` for an unknown number).
    pub fn name(self) -> &'static str {
        const NAMES: [(Errno, &str); 26] = [
            (Errno::EPERM, "EPERM"),
            (Errno::ENOENT, "ENOENT"),
            (Errno::ESRCH, "ESRCH"),
            (Errno::E2BIG, "E2BIG"),
            (Errno::ENOEXEC, "ENOEXEC"),
            (Errno::EBADF, "EBADF"),
            (Errno::ECHILD, "ECHILD"),
            (Errno::EAGAIN, "EAGAIN"),
            (Errno::ENOMEM, "ENOMEM"),
            (Errno::EFAULT, "EFAULT"),
            (Errno::EINVAL, "EINVAL"),
            (Errno::EMFILE, "EMFILE"),
            (Errno::EPIPE, "EPIPE"),
            (Errno::ENAMETOOLONG, "ENAMETOOLONG"),
            (Errno::ENOSYS, "ENOSYS"),
            (Errno::EINTR, "EINTR"),
            (Errno::EIO, "EIO"),
            (Errno::ENOTTY, "ENOTTY"),
            (Errno::EEXIST, "EEXIST"),
            (Errno::ENOTDIR, "ENOTDIR"),
            (Errno::EISDIR, "EISDIR"),
            (Errno::ENOSPC, "ENOSPC"),
            (Errno::ESPIPE, "ESPIPE"),
            (Errno::ENOTEMPTY, "ENOTEMPTY"),
            (Errno::EBUSY, "EBUSY"),
            (Errno::ERANGE, "ERANGE"),
        ];
        NAMES
            .iter()
            .find(|(e, _)| *e == self)
            .map_or("E?", |(_, n)| n)
    }

    /// Decodes a raw return value: `>= 0` is success, `-errno` an error.
    pub fn result(ret: i64) -> Result<u64, Errno> {
        if ret < 0 {
            Err(Errno(ret.wrapping_neg()))
        } else {
            Ok(ret as u64)
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(errno::describe(self.0))
    }
}

/// Makes system call `nr` with six arguments and returns the raw `rax`.
///
/// # Safety
/// The kernel may write to memory the arguments point at: they must be
/// valid for whatever the call does with them (or deliberately bad, when a
/// test checks that the kernel refuses them).
#[inline(always)]
pub unsafe fn syscall6(nr: u64, a0: u64, a1: u64, a2: u64, a3: u64, a4: u64, a5: u64) -> i64 {
    let ret: i64;
    // SAFETY: the stub keeps every register but rax, rcx and r11 (declared
    // here); the stack is ABI-aligned for the `call` (no `nostack`); memory
    // effects are the caller's contract.
    unsafe {
        asm!(
            "call {stub}",
            stub = in(reg) STUB_ADDR,
            inlateout("rax") nr as i64 => ret,
            in("rdi") a0, in("rsi") a1, in("rdx") a2,
            in("r10") a3, in("r8") a4, in("r9") a5,
            lateout("rcx") _, lateout("r11") _,
        );
    }
    ret
}

/// Makes system call `nr` with up to six arguments (missing ones are 0).
///
/// # Safety
/// As for [`syscall6`].
pub unsafe fn syscall(nr: u64, args: &[u64]) -> i64 {
    let mut a = [0u64; 6];
    for (slot, v) in a.iter_mut().zip(args) {
        *slot = *v;
    }
    // SAFETY: forwarded to the caller.
    unsafe { syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5]) }
}

/// A call whose arguments are plain values or memory the kernel only reads
/// within bounds we pass; safe to wrap.
fn call(nr: u64, a0: u64, a1: u64, a2: u64, a3: u64) -> Result<u64, Errno> {
    // SAFETY: every caller passes pointers to live memory of the given
    // lengths (or none), valid for the access the call makes.
    Errno::result(unsafe { syscall6(nr, a0, a1, a2, a3, 0, 0) })
}

/// An argument vector as the kernel reads it.
fn strs(args: &[&str]) -> Vec<Str> {
    args.iter()
        .map(|a| Str {
            ptr: a.as_ptr() as u64,
            len: a.len() as u64,
        })
        .collect()
}

/// Ends the process with `status` (its low byte is the exit code).
pub fn exit(status: i32) -> ! {
    let _ = call(nr::EXIT, status as i64 as u64, 0, 0, 0);
    // SAFETY: exit does not return; if a broken kernel lets it, crash
    // loudly rather than run on.
    unsafe { asm!("ud2", options(noreturn)) }
}

/// Creates a copy of this process: the child's pid here, [`Pid::NONE`] in
/// the child.
pub fn fork() -> Result<Pid, Errno> {
    call(nr::FORK, 0, 0, 0, 0).map(pid_of)
}

/// A pid a system call returned.
fn pid_of(raw: u64) -> Pid {
    Pid(raw as u32)
}

/// Replaces this program with `path`, arguments `args` (`args[0]` is the
/// name by convention). Returns only on failure.
pub fn exec(path: &str, args: &[&str]) -> Errno {
    let argv = strs(args);
    let r = call(
        nr::EXEC,
        path.as_ptr() as u64,
        path.len() as u64,
        argv.as_ptr() as u64,
        argv.len() as u64,
    );
    r.err().unwrap_or(Errno::EINVAL)
}

/// Starts `path` as a new child process with arguments `args`, in this
/// process's group, with every signal at its default.
pub fn spawn(path: &str, args: &[&str]) -> Result<Pid, Errno> {
    spawn_in(path, args, Group::Mine)
}

/// The process group [`spawn_in`] puts the child in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// This process's group.
    Mine,
    /// A new group the child leads (its pgid is its pid): a shell's
    /// background job.
    New,
    /// A new group the child leads, the console's foreground from the
    /// start: a shell's foreground job.
    NewForeground,
    /// This group (it must have a live member).
    Join(Pid),
}

/// [`spawn`], with the child in `group`.
pub fn spawn_in(path: &str, args: &[&str], group: Group) -> Result<Pid, Errno> {
    let argv = strs(args);
    let pgid = match group {
        Group::Mine => 0,
        Group::New => abi::sys::SPAWN_NEW_GROUP,
        Group::NewForeground => abi::sys::SPAWN_NEW_FOREGROUND,
        Group::Join(p) => p.arg(),
    };
    // SAFETY: path and argv point at live memory of the given lengths,
    // which the kernel only reads.
    let r = unsafe {
        syscall6(
            nr::SPAWN,
            path.as_ptr() as u64,
            path.len() as u64,
            argv.as_ptr() as u64,
            argv.len() as u64,
            pgid,
            0,
        )
    };
    Errno::result(r).map(pid_of)
}

/// Waits for a child (`pid`, or [`WaitFor::Any`]) to end: its pid and
/// status. With [`abi::sys::WNOHANG`] the pid is [`Pid::NONE`] when none
/// has ended yet.
pub fn waitpid(who: impl Into<WaitFor>, flags: u64) -> Result<(Pid, WaitStatus), Errno> {
    let mut status: i32 = 0;
    let p = call(
        nr::WAITPID,
        who.into().arg(),
        &raw mut status as u64,
        flags,
        0,
    )?;
    Ok((pid_of(p), WaitStatus(status)))
}

/// Sends signal `sig` ([`abi::signal`]'s numbers) to process `pid`;
/// `SIGKILL` ends it (the process API's destroy), 0 only checks that it
/// could be sent.
pub fn kill(pid: Pid, sig: u32) -> Result<(), Errno> {
    call(nr::KILL, pid.arg(), u64::from(sig), 0, 0).map(drop)
}

/// Sends signal `sig` to every process in group `pgid` (init excepted).
pub fn kill_group(pgid: Pid, sig: u32) -> Result<(), Errno> {
    call(
        nr::KILL,
        (pgid.get() as i64).wrapping_neg() as u64,
        u64::from(sig),
        0,
        0,
    )
    .map(drop)
}

/// What a signal does to this process: the default, ignoring it, or a
/// function of ours.
#[derive(Debug, Clone, Copy)]
pub enum Handler {
    /// The signal's default action ([`abi::signal::default_action`]).
    Default,
    /// Nothing.
    Ignore,
    /// This function runs, with the signal's number, when the signal comes;
    /// the code it interrupted goes on when it returns. Calls waiting for
    /// input, output or a child are made again afterwards; `sleep` ends
    /// early with `EINTR`.
    Catch(extern "C" fn(u32)),
}

impl Handler {
    fn arg(self) -> u64 {
        match self {
            Handler::Default => abi::signal::SIG_DFL,
            Handler::Ignore => abi::signal::SIG_IGN,
            Handler::Catch(f) => f as usize as u64,
        }
    }

    fn from_arg(raw: u64) -> Handler {
        match raw {
            abi::signal::SIG_DFL => Handler::Default,
            abi::signal::SIG_IGN => Handler::Ignore,
            // SAFETY: the kernel hands back what an earlier `signal` set,
            // which was one of our functions of this type.
            at => Handler::Catch(unsafe {
                core::mem::transmute::<usize, extern "C" fn(u32)>(at as usize)
            }),
        }
    }
}

/// Sets what signal `sig` does to this process; returns what it did.
/// `SIGKILL` and `SIGSTOP` cannot be changed (`EINVAL`).
pub fn signal(sig: u32, handler: Handler) -> Result<Handler, Errno> {
    call(nr::SIGNAL, u64::from(sig), handler.arg(), 0, 0).map(Handler::from_arg)
}

/// Changes the set of blocked signals (`how`: [`abi::signal::SIG_BLOCK`],
/// [`abi::signal::SIG_UNBLOCK`], [`abi::signal::SIG_SETMASK`]); returns
/// the set before. A blocked signal stays pending until unblocked.
pub fn sigprocmask(how: u64, set: SigSet) -> Result<SigSet, Errno> {
    call(nr::SIGPROCMASK, how, u64::from(set.0), 0, 0).map(|m| SigSet(m as u32))
}

/// Moves process `pid` ([`Pid::NONE`]: this one) into group `pgid`
/// ([`Pid::NONE`]: a new group named after `pid`).
pub fn setpgid(pid: Pid, pgid: Pid) -> Result<(), Errno> {
    call(nr::SETPGID, pid.arg(), pgid.arg(), 0, 0).map(drop)
}

/// The process group of `pid` ([`Pid::NONE`]: this process).
pub fn getpgid(pid: Pid) -> Result<Pid, Errno> {
    call(nr::GETPGID, pid.arg(), 0, 0, 0).map(pid_of)
}

/// Makes `pgid` the foreground group of the console `fd`: the group
/// Ctrl-C and Ctrl-Z signal, and the one that may read it.
pub fn tcsetpgrp(fd: Fd, pgid: Pid) -> Result<(), Errno> {
    call(nr::TCSETPGRP, fd as i64 as u64, pgid.arg(), 0, 0).map(drop)
}

/// The foreground group of the console `fd`.
pub fn tcgetpgrp(fd: Fd) -> Result<Pid, Errno> {
    call(nr::TCGETPGRP, fd as i64 as u64, 0, 0, 0).map(pid_of)
}

/// Sets the console's mode ([`abi::sys::TTY_CANON`], [`abi::sys::TTY_ECHO`],
/// [`abi::sys::TTY_SIG`] bits); returns the mode before.
pub fn ttymode(fd: Fd, mode: u64) -> Result<u64, Errno> {
    call(nr::TTYMODE, fd as i64 as u64, mode, 0, 0)
}

/// The console's mode.
pub fn ttymode_get(fd: Fd) -> Result<u64, Errno> {
    call(nr::TTYMODE, fd as i64 as u64, abi::sys::TTY_QUERY, 0, 0)
}

/// This process's pid.
pub fn getpid() -> Pid {
    pid_of(call(nr::GETPID, 0, 0, 0, 0).unwrap_or(0))
}

/// The parent's pid (1 once reparented to init).
pub fn getppid() -> Pid {
    pid_of(call(nr::GETPPID, 0, 0, 0, 0).unwrap_or(0))
}

/// Sleeps for `ms` milliseconds.
pub fn sleep(ms: u64) -> Result<(), Errno> {
    call(nr::SLEEP, ms, 0, 0, 0).map(drop)
}

/// Gives up the CPU to other runnable processes.
pub fn yield_now() {
    let _ = call(nr::YIELD, 0, 0, 0, 0);
}

/// Moves the program break by `delta` bytes; returns the old break.
pub fn sbrk(delta: i64) -> Result<u64, Errno> {
    call(nr::SBRK, delta as u64, 0, 0, 0)
}

/// Reads into `buf`: the byte count, 0 at end of input.
pub fn read(fd: Fd, buf: &mut [u8]) -> Result<usize, Errno> {
    call(
        nr::READ,
        fd as i64 as u64,
        buf.as_mut_ptr() as u64,
        buf.len() as u64,
        0,
    )
    .map(|n| n as usize)
}

/// Writes `buf`: the byte count written.
pub fn write(fd: Fd, buf: &[u8]) -> Result<usize, Errno> {
    call(
        nr::WRITE,
        fd as i64 as u64,
        buf.as_ptr() as u64,
        buf.len() as u64,
        0,
    )
    .map(|n| n as usize)
}

/// Closes `fd`.
pub fn close(fd: Fd) -> Result<(), Errno> {
    call(nr::CLOSE, fd as i64 as u64, 0, 0, 0).map(drop)
}

/// A new descriptor for the same file as `fd`.
pub fn dup(fd: Fd) -> Result<Fd, Errno> {
    call(nr::DUP, fd as i64 as u64, 0, 0, 0).map(|f| f as Fd)
}

/// A new pipe: (read end, write end).
pub fn pipe() -> Result<(Fd, Fd), Errno> {
    let mut fds = [0i32; 2];
    call(nr::PIPE, fds.as_mut_ptr() as u64, 0, 0, 0)?;
    Ok((fds[0], fds[1]))
}

/// Opens `path` with `flags` ([`abi::fs`]'s `O_*`): the new fd (the
/// lowest free one).
pub fn open(path: &str, flags: u64) -> Result<Fd, Errno> {
    call(
        nr::OPEN,
        path.as_ptr() as u64,
        path.len() as u64,
        flags,
        0o644,
    )
    .map(|f| f as Fd)
}

/// Moves `fd`'s offset (`whence`: `SEEK_SET`, `SEEK_CUR`, `SEEK_END`): the
/// new offset.
pub fn lseek(fd: Fd, offset: i64, whence: u64) -> Result<u64, Errno> {
    call(nr::LSEEK, fd as i64 as u64, offset as u64, whence, 0)
}

/// Makes fd `new` refer to what `fd` does (closing `new` first if open).
pub fn dup2(fd: Fd, new: Fd) -> Result<Fd, Errno> {
    call(nr::DUP2, fd as i64 as u64, new as i64 as u64, 0, 0).map(|f| f as Fd)
}

/// What `path` is: kind, size, number.
pub fn stat(path: &str) -> Result<Stat, Errno> {
    let mut st = Stat::default();
    call(
        nr::STAT,
        path.as_ptr() as u64,
        path.len() as u64,
        &raw mut st as u64,
        0,
    )?;
    Ok(st)
}

/// What `fd` refers to.
pub fn fstat(fd: Fd) -> Result<Stat, Errno> {
    let mut st = Stat::default();
    call(nr::FSTAT, fd as i64 as u64, &raw mut st as u64, 0, 0)?;
    Ok(st)
}

/// Removes the file `path` (an open one stays readable until closed).
pub fn unlink(path: &str) -> Result<(), Errno> {
    call(nr::UNLINK, path.as_ptr() as u64, path.len() as u64, 0, 0).map(drop)
}

/// Makes the directory `path`.
pub fn mkdir(path: &str) -> Result<(), Errno> {
    call(nr::MKDIR, path.as_ptr() as u64, path.len() as u64, 0o755, 0).map(drop)
}

/// Removes the empty directory `path`.
pub fn rmdir(path: &str) -> Result<(), Errno> {
    call(nr::RMDIR, path.as_ptr() as u64, path.len() as u64, 0, 0).map(drop)
}

/// Renames (moves) `old` to `new`, replacing a file there.
pub fn rename(old: &str, new: &str) -> Result<(), Errno> {
    call(
        nr::RENAME,
        old.as_ptr() as u64,
        old.len() as u64,
        new.as_ptr() as u64,
        new.len() as u64,
    )
    .map(drop)
}

/// Makes `path` the working directory.
pub fn chdir(path: &str) -> Result<(), Errno> {
    call(nr::CHDIR, path.as_ptr() as u64, path.len() as u64, 0, 0).map(drop)
}

/// The working directory's path (`ENOENT` once it was removed). It may be
/// longer than a path the calls take ([`abi::sys::MAX_PATH`]): one made
/// by `chdir`s into relative paths, one at a time.
pub fn getcwd() -> Result<String, Errno> {
    let mut len = abi::sys::MAX_PATH + 1;
    loop {
        let mut buf = vec![0u8; len];
        match call(nr::GETCWD, buf.as_mut_ptr() as u64, buf.len() as u64, 0, 0) {
            Ok(n) => {
                buf.truncate(n as usize);
                return Ok(String::from_utf8_lossy(&buf).into_owned());
            }
            // A tree's depth is bounded by its budget: this ends.
            Err(Errno::ERANGE) => len *= 2,
            Err(e) => return Err(e),
        }
    }
}

/// Fills `buf` with the next entries of directory `fd` (records
/// [`abi::fs::dirents`] reads): the bytes, 0 at the end.
pub fn getdents(fd: Fd, buf: &mut [u8]) -> Result<usize, Errno> {
    call(
        nr::GETDENTS,
        fd as i64 as u64,
        buf.as_mut_ptr() as u64,
        buf.len() as u64,
        0,
    )
    .map(|n| n as usize)
}

/// `fcntl(fd, cmd, arg)`: `F_GETFD` (the fd's flags), `F_SETFD`.
pub fn fcntl(fd: Fd, cmd: u64, arg: u64) -> Result<u64, Errno> {
    call(nr::FCNTL, fd as i64 as u64, cmd, arg, 0)
}

/// One entry of a directory, as [`read_dir`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// Its name.
    pub name: String,
    /// What it is.
    pub kind: FileKind,
    /// Its file number.
    pub ino: u64,
}

/// The entries of directory `path`, `.` and `..` included, in the order
/// the kernel lists them (by name).
pub fn read_dir(path: &str) -> Result<Vec<DirEntry>, Errno> {
    let fd = open(
        path,
        abi::fs::O_RDONLY | abi::fs::O_DIRECTORY | abi::fs::O_CLOEXEC,
    )?;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 2048];
    let r = loop {
        match getdents(fd, &mut buf) {
            Ok(0) => break Ok(out),
            Ok(n) => out.extend(abi::fs::dirents(&buf[..n]).map(|d| DirEntry {
                name: d.name.into(),
                kind: d.kind,
                ino: d.ino,
            })),
            Err(e) => break Err(e),
        }
    };
    let _ = close(fd);
    r
}

/// Stops process `pid` until [`resume`] (`SIGSTOP`).
pub fn suspend(pid: Pid) -> Result<(), Errno> {
    call(nr::SUSPEND, pid.arg(), 0, 0, 0).map(drop)
}

/// Lets a stopped process run again (`SIGCONT`).
pub fn resume(pid: Pid) -> Result<(), Errno> {
    call(nr::RESUME, pid.arg(), 0, 0, 0).map(drop)
}

/// The record of process `pid`.
pub fn procinfo(pid: Pid) -> Result<ProcInfo, Errno> {
    let mut info = ProcInfo::EMPTY;
    match call(nr::PROCINFO, pid.arg(), &raw mut info as u64, 1, 0)? {
        0 => Err(Errno::ESRCH),
        _ => Ok(info),
    }
}

/// Fills `buf` with the records of live processes: how many it wrote.
pub fn procinfo_all(buf: &mut [ProcInfo]) -> Result<usize, Errno> {
    let max = buf.len() as u64;
    call(nr::PROCINFO, -1i64 as u64, buf.as_mut_ptr() as u64, max, 0).map(|n| n as usize)
}

/// Milliseconds since boot.
pub fn uptime_ms() -> u64 {
    call(nr::UPTIME, 0, 0, 0, 0).unwrap_or(0)
}

/// The kernel's resource counts (free frames, free process slots, ...).
pub fn sysinfo() -> Result<SysInfo, Errno> {
    let mut info = SysInfo::default();
    call(nr::SYSINFO, &raw mut info as u64, 0, 0, 0)?;
    Ok(info)
}

/// Powers the machine off with exit status `status`; returns only on failure.
pub fn poweroff(status: i32) -> Errno {
    call(nr::POWEROFF, status as i64 as u64, 0, 0, 0)
        .err()
        .unwrap_or(Errno::EINVAL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_decode() {
        assert_eq!(Errno::result(5), Ok(5));
        assert_eq!(Errno::result(-errno::ESRCH), Err(Errno::ESRCH));
        assert_eq!(Errno::EAGAIN.name(), "EAGAIN");
        assert_eq!(Errno(999).name(), "E?");
        assert_eq!(Errno::EPIPE.to_string(), "broken pipe");
    }
}
