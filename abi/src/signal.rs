//! Signals: their numbers (Linux's, so C programs' `SIGINT` means the same
//! here), default actions, the mask type, and the frame the kernel builds
//! on a process's stack to run a handler.
//!
//! A signal sent to a process is pending until the process next returns to
//! user mode, where the kernel delivers the lowest pending one it does not
//! block: its default action, or its handler. Three defaults act at once,
//! when the signal is sent, as the process API's calls always did: a stop
//! signal with the default action stops the process where it is (that is
//! `suspend`), `SIGCONT` continues it (`resume`), and `SIGKILL` marks it
//! killed and wakes it to die (`kill`). `SIGKILL` and `SIGSTOP` cannot be
//! caught, blocked or ignored.
//!
//! # Handlers
//! A handler is `extern "C" fn(sig: u64)`. To run it the kernel pushes a
//! [`SigFrame`] (the interrupted registers, FPU state and signal mask) on
//! the user stack below a 128-byte red zone, blocks the signal (and keeps
//! what was blocked), and enters the handler with its return address set to
//! [`TRAMPOLINE`], code the kernel maps in every process that calls
//! `sigreturn` with the frame. `sigreturn` restores what the frame holds,
//! but only what user code may hold: the code and stack segments, the
//! interrupt flag and the I/O privilege level are the kernel's, and an
//! instruction or stack pointer outside user space, or FPU state the CPU
//! would refuse, ends the process.

use core::fmt;

/// Signal numbers run from 1 to `NSIG - 1`.
pub const NSIG: u32 = 32;

/// Hangup.
pub const SIGHUP: u32 = 1;
/// Interrupt from the keyboard (Ctrl-C).
pub const SIGINT: u32 = 2;
/// Quit from the keyboard (Ctrl-\).
pub const SIGQUIT: u32 = 3;
/// Illegal instruction (a fault: invalid opcode).
pub const SIGILL: u32 = 4;
/// Trace or breakpoint trap (a fault: a stray `int3`).
pub const SIGTRAP: u32 = 5;
/// Abort.
pub const SIGABRT: u32 = 6;
/// Bus error (a fault of another kind).
pub const SIGBUS: u32 = 7;
/// Arithmetic error (a fault: divide by zero).
pub const SIGFPE: u32 = 8;
/// Kill: cannot be caught, blocked or ignored.
pub const SIGKILL: u32 = 9;
/// User-defined signal 1.
pub const SIGUSR1: u32 = 10;
/// Invalid memory reference (a fault: page fault, protection, stack).
pub const SIGSEGV: u32 = 11;
/// User-defined signal 2.
pub const SIGUSR2: u32 = 12;
/// Write to a pipe with no reader.
pub const SIGPIPE: u32 = 13;
/// Timer.
pub const SIGALRM: u32 = 14;
/// Termination request (`kill`'s default).
pub const SIGTERM: u32 = 15;
/// A child stopped, continued or ended.
pub const SIGCHLD: u32 = 17;
/// Continue if stopped.
pub const SIGCONT: u32 = 18;
/// Stop: cannot be caught, blocked or ignored.
pub const SIGSTOP: u32 = 19;
/// Stop from the keyboard (Ctrl-Z).
pub const SIGTSTP: u32 = 20;
/// A background process read from the terminal.
pub const SIGTTIN: u32 = 21;
/// A background process wrote to the terminal (not sent: writes pass).
pub const SIGTTOU: u32 = 22;
/// The terminal's window size changed.
pub const SIGWINCH: u32 = 28;

/// `signal`'s handler value for the default action.
pub const SIG_DFL: u64 = 0;
/// `signal`'s handler value to ignore the signal.
pub const SIG_IGN: u64 = 1;

/// `sigprocmask`'s how: block the signals in the set too.
pub const SIG_BLOCK: u64 = 0;
/// `sigprocmask`'s how: unblock the signals in the set.
pub const SIG_UNBLOCK: u64 = 1;
/// `sigprocmask`'s how: block exactly the set.
pub const SIG_SETMASK: u64 = 2;

/// User address of the code a handler returns to: `sigreturn` with the
/// frame (in the system-call stub page, [`crate::sys::STUB_ADDR`]).
pub const TRAMPOLINE: u64 = crate::sys::STUB_ADDR + 0x40;

/// What a signal does when its handler is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Default {
    /// End the process (its wait status says which signal).
    Terminate,
    /// Stop it until `SIGCONT`.
    Stop,
    /// Continue it if stopped (at once, whatever its handler).
    Continue,
    /// Nothing.
    Ignore,
}

/// The default action of `sig` (a valid number).
pub const fn default_action(sig: u32) -> Default {
    match sig {
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => Default::Stop,
        SIGCONT => Default::Continue,
        SIGCHLD | SIGWINCH => Default::Ignore,
        _ => Default::Terminate,
    }
}

/// Whether `sig` is a signal number (1..NSIG).
pub const fn valid(sig: u32) -> bool {
    sig >= 1 && sig < NSIG
}

/// Whether `sig` may be caught, blocked or ignored (not `SIGKILL` or
/// `SIGSTOP`).
pub const fn catchable(sig: u32) -> bool {
    valid(sig) && sig != SIGKILL && sig != SIGSTOP
}

/// A set of signals: bit `sig` for signal `sig` (bit 0 unused).
#[repr(transparent)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SigSet(pub u32);

impl SigSet {
    /// No signal.
    pub const EMPTY: SigSet = SigSet(0);
    /// The signals no mask may hold.
    pub const UNBLOCKABLE: SigSet = SigSet(1 << SIGKILL | 1 << SIGSTOP);

    /// The set of one signal.
    pub const fn of(sig: u32) -> SigSet {
        SigSet(1 << sig)
    }

    /// Whether `sig` is in the set.
    pub const fn has(self, sig: u32) -> bool {
        sig < NSIG && self.0 & (1 << sig) != 0
    }

    /// The lowest signal in the set.
    pub const fn lowest(self) -> Option<u32> {
        if self.0 == 0 {
            None
        } else {
            Some(self.0.trailing_zeros())
        }
    }

    /// Only what a mask may hold: valid numbers, without the unblockable.
    pub const fn maskable(self) -> SigSet {
        SigSet(self.0 & !1 & !Self::UNBLOCKABLE.0)
    }
}

/// A signal number's name without `SIG` (`INT`), or `None`.
pub fn name(sig: u32) -> Option<&'static str> {
    NAMES.iter().find(|(n, _)| *n == sig).map(|(_, s)| *s)
}

/// The number of a signal name, with or without `SIG` (`INT`, `SIGINT`),
/// or a number (`2`).
pub fn parse(text: &str) -> Option<u32> {
    if let Ok(n) = text.parse::<u32>() {
        return valid(n).then_some(n);
    }
    let bare = text.strip_prefix("SIG").unwrap_or(text);
    NAMES
        .iter()
        .find(|(_, s)| s.eq_ignore_ascii_case(bare))
        .map(|(n, _)| *n)
}

/// How a process ended by `sig` is described (`interrupt`, `killed`).
pub fn describe(sig: u32) -> &'static str {
    match sig {
        SIGHUP => "hangup",
        SIGINT => "interrupt",
        SIGQUIT => "quit",
        SIGILL => "illegal instruction",
        SIGTRAP => "trace trap",
        SIGABRT => "aborted",
        SIGBUS => "bus error",
        SIGFPE => "arithmetic error",
        SIGKILL => "killed",
        SIGUSR1 => "user signal 1",
        SIGSEGV => "segmentation fault",
        SIGUSR2 => "user signal 2",
        SIGPIPE => "broken pipe",
        SIGALRM => "alarm",
        SIGTERM => "terminated",
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => "stopped",
        SIGCHLD => "child stopped or ended",
        SIGCONT => "continued",
        SIGWINCH => "window size changed",
        _ => "signal",
    }
}

const NAMES: &[(u32, &str)] = &[
    (SIGHUP, "HUP"),
    (SIGINT, "INT"),
    (SIGQUIT, "QUIT"),
    (SIGILL, "ILL"),
    (SIGTRAP, "TRAP"),
    (SIGABRT, "ABRT"),
    (SIGBUS, "BUS"),
    (SIGFPE, "FPE"),
    (SIGKILL, "KILL"),
    (SIGUSR1, "USR1"),
    (SIGSEGV, "SEGV"),
    (SIGUSR2, "USR2"),
    (SIGPIPE, "PIPE"),
    (SIGALRM, "ALRM"),
    (SIGTERM, "TERM"),
    (SIGCHLD, "CHLD"),
    (SIGCONT, "CONT"),
    (SIGSTOP, "STOP"),
    (SIGTSTP, "TSTP"),
    (SIGTTIN, "TTIN"),
    (SIGTTOU, "TTOU"),
    (SIGWINCH, "WINCH"),
];

/// A signal shown by name (`SIGINT`), or by number when it has none.
pub struct Name(pub u32);

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match name(self.0) {
            Some(n) => write!(f, "SIG{n}"),
            None => write!(f, "signal {}", self.0),
        }
    }
}

/// The registers a [`SigFrame`] keeps, in the order the kernel's trap frame
/// names them.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[allow(missing_docs)]
pub struct SigRegs {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    pub rip: u64,
    pub rflags: u64,
    pub rsp: u64,
}

/// What the kernel pushes on the user stack to run a handler; the handler's
/// return address ([`TRAMPOLINE`]) sits just below it, so at the handler's
/// entry `rsp` points at that address and `rsp + 8` at the frame (16-byte
/// aligned). `sigreturn` takes the frame's address.
#[repr(C, align(16))]
#[derive(Clone, Copy)]
pub struct SigFrame {
    /// The FPU/SSE state (`fxsave` format).
    pub fx: [u8; 512],
    /// The interrupted registers.
    pub regs: SigRegs,
    /// The signal being handled.
    pub sig: u32,
    /// The mask to restore.
    pub mask: SigSet,
}

const _: () = assert!(core::mem::size_of::<SigFrame>() == 512 + 18 * 8 + 16);

/// Bytes below the interrupted `rsp` a handler's frame leaves alone (the
/// System V ABI's red zone, which leaf functions use without moving `rsp`).
pub const RED_ZONE: u64 = 128;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_round_trip() {
        for &(n, s) in NAMES {
            assert_eq!(parse(s), Some(n));
            assert_eq!(name(n), Some(s));
        }
        assert_eq!(parse("SIGINT"), Some(SIGINT));
        assert_eq!(parse("int"), Some(SIGINT));
        assert_eq!(parse("9"), Some(SIGKILL));
        for bad in ["0", "32", "FOO", "", "-1"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn sets_and_defaults() {
        let s = SigSet::of(SIGINT).0 | SigSet::of(SIGTERM).0;
        assert_eq!(SigSet(s).lowest(), Some(SIGINT));
        assert!(SigSet(u32::MAX).maskable().has(SIGINT));
        assert!(!SigSet(u32::MAX).maskable().has(SIGKILL));
        assert!(!SigSet(u32::MAX).maskable().has(SIGSTOP));
        assert!(!SigSet(u32::MAX).maskable().has(0));
        assert_eq!(default_action(SIGTSTP), Default::Stop);
        assert_eq!(default_action(SIGCHLD), Default::Ignore);
        assert_eq!(default_action(SIGPIPE), Default::Terminate);
        assert!(!catchable(SIGKILL) && !catchable(SIGSTOP) && catchable(SIGINT));
        assert!(!valid(0) && !valid(NSIG));
    }
}
