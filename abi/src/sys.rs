//! System calls: numbers, calling convention, error numbers, and the user
//! address-space layout programs are linked against.
//!
//! # Calling convention
//! A program calls the kernel-provided stub at [`STUB_ADDR`] (`call`), with
//! the number in `rax` and up to six arguments in `rdi`, `rsi`, `rdx`, `r10`,
//! `r8`, `r9` (Linux's registers). The result comes back in `rax`: a value
//! `>= 0` on success, `-errno` on failure. Every other register except
//! `rcx` and `r11` is preserved. The stub's instruction is chosen by the
//! kernel at boot (the [`crate::cmdline::SYSCALL`] key), so programs never
//! depend on it.
//!
//! Strings and buffers are passed as a pointer and a length; an argument
//! vector is a pointer to an array of [`Str`].

/// User virtual address of the system-call stub page (read/execute, user).
pub const STUB_ADDR: u64 = 0x1000;
/// Where user programs are linked (their lowest segment).
pub const USER_BASE: u64 = 0x40_0000;
/// Top of the user stack (exclusive); the stack grows down from here.
pub const USER_STACK_TOP: u64 = 0x7FFF_FFFF_F000;
/// Largest user stack; below it lies an unmapped guard region.
pub const USER_STACK_MAX: u64 = 1 << 20;
/// Exclusive end of the user half of the address space.
pub const USER_END: u64 = 0x8000_0000_0000;

/// A string or buffer in user memory (an element of an argument vector).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Str {
    /// User virtual address of the first byte.
    pub ptr: u64,
    /// Length in bytes.
    pub len: u64,
}

/// Most arguments `exec`/`spawn` accept.
pub const MAX_ARGS: usize = 128;
/// Longest single argument (bytes): a whole console line fits.
pub const MAX_ARG_LEN: usize = 4096;
/// Most bytes all of `exec`/`spawn`'s argument strings may take together
/// (Linux's `ARG_MAX`, smaller).
pub const MAX_ARG_BYTES: usize = 64 * 1024;
/// Longest path (bytes).
pub const MAX_PATH: usize = 256;
/// Open files per process.
pub const MAX_FDS: usize = 16;
/// Most bytes one `read` or `write` moves; a larger request moves at most
/// this much and returns the count (loop, as `ulib::io::write_all` does).
/// The kernel runs a call to its end with interrupts off: the bound keeps
/// one call from holding the CPU (or mapping pages of a huge buffer) for
/// long. A buffer must still lie wholly in user space (else `EFAULT`).
pub const MAX_IO: u64 = 4096;
/// Where `exec`, `spawn` and the kernel's `init=` look up a program named
/// without a `/` (`sh` is `/bin/sh`).
pub const BIN_DIR: &str = "/bin";
/// Length of a process name, as in [`crate::proc::ProcInfo::name`].
pub const NAME_LEN: usize = 16;

/// `waitpid` flag: return 0 at once if no child has exited.
pub const WNOHANG: u64 = 1;
/// `waitpid` flag: also report a child that was stopped (suspended), once
/// per stop, with [`crate::proc::WaitStatus::stopped`]; it is not reaped.
pub const WUNTRACED: u64 = 2;
/// `waitpid` flag: also report a stopped child that was continued, once,
/// with [`crate::proc::WaitStatus::continued`].
pub const WCONTINUED: u64 = 8;

/// `spawn`'s group argument: the child leads a new process group (as a
/// shell starts a background job).
pub const SPAWN_NEW_GROUP: u64 = u64::MAX;
/// `spawn`'s group argument: the child leads a new process group, which
/// is the console's foreground group from the start (as a shell starts a
/// foreground job; the caller must be allowed `tcsetpgrp`).
pub const SPAWN_NEW_FOREGROUND: u64 = u64::MAX - 1;

/// Console mode bit: canonical input, a line at a time with editing (else
/// each byte as it comes).
pub const TTY_CANON: u64 = 1;
/// Console mode bit: echo what is typed.
pub const TTY_ECHO: u64 = 2;
/// Console mode bit: Ctrl-C and Ctrl-Z send `SIGINT` and `SIGTSTP` to the
/// foreground group (else they are input bytes).
pub const TTY_SIG: u64 = 4;
/// The console's mode at boot.
pub const TTY_DEFAULT: u64 = TTY_CANON | TTY_ECHO | TTY_SIG;
/// Console mode bit, read-only (`ttymode` reports it and ignores it when
/// set): a person types at the console (kernel option
/// [`crate::cmdline::TTY`]), rather than a script being piped in.
pub const TTY_TERMINAL: u64 = 8;
/// `ttymode`'s argument that changes nothing (it only answers).
pub const TTY_QUERY: u64 = u64::MAX;

/// What `sysinfo` reports: the kernel's resource counts, so a program can
/// check that what it used came back (frames and process slots). Frames
/// are 4 KiB. Fixed layout, 64 bytes.
///
/// Every frame is free, held by the kernel (`kernel_frames`: its heap, the
/// shared program-text cache, the kernel-stack page tables; these only
/// grow) or owned by a process. So while nothing else runs, a process that
/// created and reaped children finds `free_frames + kernel_frames +
/// self_frames` where it was before: a change is a leak.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SysInfo {
    /// Usable RAM frames.
    pub total_frames: u64,
    /// Frames free now.
    pub free_frames: u64,
    /// Frames the kernel keeps for itself: its heap (the process table
    /// too), the shared program-text cache, the kernel-stack page tables.
    pub kernel_frames: u64,
    /// Frames the caller owns: its private user pages, its page tables and
    /// PML4, its kernel stack.
    pub self_frames: u64,
    /// Process-table slots.
    pub total_procs: u64,
    /// Unused slots (free for `fork`/`spawn`).
    pub free_procs: u64,
    /// Bytes of kernel heap in use.
    pub heap_bytes: u64,
    /// Frames kept for the kernel's own small allocations: what a process
    /// asks for (pages, page tables, pipes) fails while no more than this
    /// many are free.
    pub reserve_frames: u64,
}

const _: () = assert!(core::mem::size_of::<SysInfo>() == 64);

/// The system call numbers.
pub mod nr {
    /// `exit(status) -> !`
    pub const EXIT: u64 = 0;
    /// `fork() -> pid in the parent, 0 in the child`
    pub const FORK: u64 = 1;
    /// `exec(path, path_len, argv: *const Str, argc) -> only on error`
    pub const EXEC: u64 = 2;
    /// `spawn(path, path_len, argv: *const Str, argc, pgid) -> pid`: a
    /// child running the program, with the caller's files, every signal
    /// at its default and none blocked, in process group `pgid` (0: the
    /// caller's; [`crate::sys::SPAWN_NEW_GROUP`]: a new one it leads;
    /// [`crate::sys::SPAWN_NEW_FOREGROUND`]: that, and the console's
    /// foreground; else a group with a live member)
    pub const SPAWN: u64 = 3;
    /// `waitpid(pid, status: *mut i32 or 0, flags) -> pid`: `pid` a child,
    /// -1 any child, 0 any child in the caller's process group, below -1
    /// any child in group `-pid`
    pub const WAITPID: u64 = 4;
    /// `kill(pid, sig) -> 0`: `pid > 0` a process, `0` the caller's
    /// process group, `< -1` the group `-pid`; `sig` 0 only checks that the
    /// target exists
    pub const KILL: u64 = 5;
    /// `getpid() -> pid`
    pub const GETPID: u64 = 6;
    /// `getppid() -> pid`
    pub const GETPPID: u64 = 7;
    /// `sleep(ms) -> 0`
    pub const SLEEP: u64 = 8;
    /// `yield() -> 0`
    pub const YIELD: u64 = 9;
    /// `sbrk(delta: i64) -> old break`
    pub const SBRK: u64 = 10;
    /// `read(fd, buf, len) -> bytes read (0 at end of file)`
    pub const READ: u64 = 11;
    /// `write(fd, buf, len) -> bytes written`
    pub const WRITE: u64 = 12;
    /// `close(fd) -> 0`
    pub const CLOSE: u64 = 13;
    /// `dup(fd) -> new fd`
    pub const DUP: u64 = 14;
    /// `pipe(fds: *mut [i32; 2]) -> 0`
    pub const PIPE: u64 = 15;
    /// `suspend(pid) -> 0` (the process is Stopped until resumed)
    pub const SUSPEND: u64 = 16;
    /// `resume(pid) -> 0`
    pub const RESUME: u64 = 17;
    /// `procinfo(pid or -1, buf: *mut ProcInfo, max) -> records written`
    pub const PROCINFO: u64 = 18;
    /// `uptime() -> milliseconds since boot`
    pub const UPTIME: u64 = 19;
    /// `poweroff(status) -> !` (init only, or any process: see the kernel)
    pub const POWEROFF: u64 = 20;
    /// `sysinfo(buf: *mut SysInfo) -> 0`: the kernel's resource counts
    pub const SYSINFO: u64 = 21;
    /// `signal(sig, handler) -> old handler`: `SIG_DFL`, `SIG_IGN` or a
    /// user address (see [`crate::signal`])
    pub const SIGNAL: u64 = 22;
    /// `sigprocmask(how, set) -> old set`
    pub const SIGPROCMASK: u64 = 23;
    /// `sigreturn(frame: *const SigFrame) -> !` (the trampoline calls it)
    pub const SIGRETURN: u64 = 24;
    /// `setpgid(pid or 0, pgid or 0) -> 0`
    pub const SETPGID: u64 = 25;
    /// `getpgid(pid or 0) -> pgid`
    pub const GETPGID: u64 = 26;
    /// `tcsetpgrp(fd, pgid) -> 0`: the console's foreground group
    pub const TCSETPGRP: u64 = 27;
    /// `tcgetpgrp(fd) -> pgid`
    pub const TCGETPGRP: u64 = 28;
    /// `ttymode(fd, mode or TTY_QUERY) -> old mode`: the console's
    /// [`crate::sys::TTY_CANON`], [`crate::sys::TTY_ECHO`],
    /// [`crate::sys::TTY_SIG`] bits
    pub const TTYMODE: u64 = 29;
    /// `open(path, path_len, flags, mode) -> fd`: the flags are
    /// [`crate::fs`]'s `O_*`; the mode is ignored (no permissions)
    pub const OPEN: u64 = 30;
    /// `lseek(fd, offset: i64, whence) -> new offset` (`SEEK_SET`,
    /// `SEEK_CUR`, `SEEK_END`); `ESPIPE` for a pipe or the console
    pub const LSEEK: u64 = 31;
    /// `dup2(fd, new) -> new`: `new` refers to what `fd` does (closed
    /// first if open; its close-on-exec flag is cleared)
    pub const DUP2: u64 = 32;
    /// `stat(path, path_len, buf: *mut Stat) -> 0`
    pub const STAT: u64 = 33;
    /// `fstat(fd, buf: *mut Stat) -> 0`
    pub const FSTAT: u64 = 34;
    /// `unlink(path, path_len) -> 0`: a file (an open one stays readable
    /// until its last close)
    pub const UNLINK: u64 = 35;
    /// `mkdir(path, path_len, mode) -> 0` (the mode is ignored)
    pub const MKDIR: u64 = 36;
    /// `rmdir(path, path_len) -> 0`: an empty directory
    pub const RMDIR: u64 = 37;
    /// `chdir(path, path_len) -> 0`
    pub const CHDIR: u64 = 38;
    /// `getcwd(buf, len) -> length`: the working directory's path (no NUL)
    pub const GETCWD: u64 = 39;
    /// `getdents(fd, buf, len) -> bytes`: a directory's next entries as
    /// [`crate::fs::DirentHead`] records, 0 at its end
    pub const GETDENTS: u64 = 40;
    /// `rename(old, old_len, new, new_len) -> 0`
    pub const RENAME: u64 = 41;
    /// `fcntl(fd, cmd, arg) -> value`: `F_GETFD`, `F_SETFD`
    pub const FCNTL: u64 = 42;
    /// Number of system calls; numbers at or above it give `ENOSYS`.
    pub const COUNT: u64 = 43;
}

/// Error numbers, returned negated (Linux's values).
pub mod errno {
    /// Operation not permitted.
    pub const EPERM: i64 = 1;
    /// No such file.
    pub const ENOENT: i64 = 2;
    /// No such process.
    pub const ESRCH: i64 = 3;
    /// Interrupted by a signal (a handler is to run).
    pub const EINTR: i64 = 4;
    /// Input/output error (a background process read the console and
    /// cannot be stopped for it).
    pub const EIO: i64 = 5;
    /// Argument list too long.
    pub const E2BIG: i64 = 7;
    /// Not an executable.
    pub const ENOEXEC: i64 = 8;
    /// Bad file descriptor.
    pub const EBADF: i64 = 9;
    /// No child processes.
    pub const ECHILD: i64 = 10;
    /// Resource temporarily unavailable (process table full).
    pub const EAGAIN: i64 = 11;
    /// Out of memory.
    pub const ENOMEM: i64 = 12;
    /// Bad address.
    pub const EFAULT: i64 = 14;
    /// File exists.
    pub const EEXIST: i64 = 17;
    /// Not a directory (a path's middle name, or `O_DIRECTORY`).
    pub const ENOTDIR: i64 = 20;
    /// Is a directory (opened for writing, unlinked).
    pub const EISDIR: i64 = 21;
    /// Invalid argument.
    pub const EINVAL: i64 = 22;
    /// Too many open files.
    pub const EMFILE: i64 = 24;
    /// Not a terminal.
    pub const ENOTTY: i64 = 25;
    /// File too large (past `1 << 40` bytes).
    pub const EFBIG: i64 = 27;
    /// No space left (the files' memory budget is used up).
    pub const ENOSPC: i64 = 28;
    /// Illegal seek (a pipe or the console).
    pub const ESPIPE: i64 = 29;
    /// Broken pipe.
    pub const EPIPE: i64 = 32;
    /// Result too large (a `getcwd` buffer too small for the path).
    pub const ERANGE: i64 = 34;
    /// Name too long.
    pub const ENAMETOOLONG: i64 = 36;
    /// No such system call.
    pub const ENOSYS: i64 = 38;
    /// Directory not empty.
    pub const ENOTEMPTY: i64 = 39;
    /// Device or resource busy (renaming or removing `/`, or a directory
    /// into itself).
    pub const EBUSY: i64 = 16;

    /// A short description of an error number.
    pub fn describe(errno: i64) -> &'static str {
        match errno {
            EPERM => "operation not permitted",
            ENOENT => "no such file or directory",
            ESRCH => "no such process",
            EINTR => "interrupted",
            EIO => "input/output error",
            E2BIG => "argument list too long",
            ENOEXEC => "not an executable",
            EBADF => "bad file descriptor",
            ECHILD => "no child processes",
            EAGAIN => "resource temporarily unavailable",
            ENOMEM => "out of memory",
            EFAULT => "bad address",
            EBUSY => "resource busy",
            EEXIST => "file exists",
            ENOTDIR => "not a directory",
            EISDIR => "is a directory",
            EINVAL => "invalid argument",
            EMFILE => "too many open files",
            ENOTTY => "not a terminal",
            EFBIG => "file too large",
            ENOSPC => "no space left",
            ESPIPE => "illegal seek",
            EPIPE => "broken pipe",
            ERANGE => "result too large",
            ENAMETOOLONG => "name too long",
            ENOSYS => "no such system call",
            ENOTEMPTY => "directory not empty",
            _ => "unknown error",
        }
    }
}
