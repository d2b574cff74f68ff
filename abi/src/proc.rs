//! Processes as the outside sees them: states, why a process sleeps, how it
//! ended, and [`ProcInfo`], the fixed-layout record `procinfo` returns (and
//! that the VMM reads from guest memory).

use core::fmt;

use crate::signal::SigSet;
use crate::sys::NAME_LEN;

wire_enum! {
    /// The state of a process-table slot (xv6's states plus Stopped).
    pub enum ProcState: u32 {
        /// The slot is free.
        Unused = 0,
        /// Being created; not yet runnable.
        Embryo = 1,
        /// Blocked; [`SleepReason`] says on what.
        Sleeping = 2,
        /// Ready to run, waiting for the CPU.
        Runnable = 3,
        /// On the CPU.
        Running = 4,
        /// Exited; waiting for its parent to collect the status.
        Zombie = 5,
        /// Suspended by `suspend` until `resume`.
        Stopped = 6,
    }
}

impl ProcState {
    /// The name `ps` shows.
    pub fn name(self) -> &'static str {
        match self {
            ProcState::Unused => "unused",
            ProcState::Embryo => "embryo",
            ProcState::Sleeping => "sleeping",
            ProcState::Runnable => "runnable",
            ProcState::Running => "running",
            ProcState::Zombie => "zombie",
            ProcState::Stopped => "stopped",
        }
    }
}

wire_enum! {
    /// Why a Sleeping process sleeps.
    pub enum SleepReason: u32 {
        /// Not sleeping.
        None = 0,
        /// Waiting for console input.
        Io = 1,
        /// In `waitpid`, waiting for a child to exit.
        Wait = 2,
        /// In `sleep`, waiting for time to pass.
        Sleep = 3,
        /// Waiting on a pipe (to read data or to write into a full one).
        Pipe = 4,
    }
}

impl SleepReason {
    /// The name `ps` shows.
    pub fn name(self) -> &'static str {
        match self {
            SleepReason::None => "",
            SleepReason::Io => "io",
            SleepReason::Wait => "wait",
            SleepReason::Sleep => "sleep",
            SleepReason::Pipe => "pipe",
        }
    }
}

wire_enum! {
    /// Why a process ended. A fault's cause is kept in its wait status
    /// beside the signal it stands for ([`Cause::signal`]), so the shell can
    /// say `page fault` rather than `segmentation fault`.
    pub enum Cause: u32 {
        /// It called `exit`; the status holds its code.
        Exited = 0,
        /// It was killed with `SIGKILL`.
        Killed = 1,
        /// A page fault it could not survive (bad address, write to read-only).
        PageFault = 2,
        /// A general protection fault (privileged instruction, bad address).
        GeneralProtection = 3,
        /// Divide error.
        DivideError = 4,
        /// Invalid opcode.
        InvalidOpcode = 5,
        /// Its stack ran into the guard region.
        StackOverflow = 6,
        /// A breakpoint (`int3`) with no debugger.
        Breakpoint = 7,
        /// Another CPU exception.
        OtherFault = 8,
        /// A signal other than `SIGKILL` (the status says which).
        Signal = 9,
    }
}

impl Cause {
    /// How the shell and `ps` describe it.
    pub fn describe(self) -> &'static str {
        match self {
            Cause::Exited => "exited",
            Cause::Killed => "killed",
            Cause::PageFault => "page fault",
            Cause::GeneralProtection => "general protection fault",
            Cause::DivideError => "divide error",
            Cause::InvalidOpcode => "invalid opcode",
            Cause::StackOverflow => "stack overflow",
            Cause::Breakpoint => "breakpoint",
            Cause::OtherFault => "fault",
            Cause::Signal => "signal",
        }
    }

    /// The signal a death by this cause is (as Linux maps CPU faults).
    pub fn signal(self) -> u32 {
        use crate::signal::*;
        match self {
            Cause::Exited => 0,
            Cause::Killed => SIGKILL,
            Cause::PageFault | Cause::GeneralProtection | Cause::StackOverflow => SIGSEGV,
            Cause::DivideError => SIGFPE,
            Cause::InvalidOpcode => SIGILL,
            Cause::Breakpoint => SIGTRAP,
            Cause::OtherFault => SIGBUS,
            Cause::Signal => SIGTERM,
        }
    }
}

/// A wait status, as Linux's (so C's `WIFEXITED`, `WTERMSIG`, ... read it):
/// - exited: bits 8-15 the exit code, bits 0-7 zero;
/// - ended by a signal: bits 0-6 the signal; for a CPU fault, bits 16-23
///   the [`Cause`] too;
/// - stopped (`WUNTRACED`): bits 0-7 [`STOPPED`], bits 8-15 the signal;
/// - continued (`WCONTINUED`): [`CONTINUED`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitStatus(pub i32);

/// The low byte of a stopped child's [`WaitStatus`].
pub const STOPPED: i32 = 0x7F;
/// A continued child's [`WaitStatus`].
pub const CONTINUED: i32 = 0xFFFF;

impl WaitStatus {
    /// The status of a process that exited with `code`.
    pub fn exited(code: u8) -> Self {
        WaitStatus(i32::from(code) << 8)
    }

    /// The status of a process ended by signal `sig`.
    pub fn signaled(sig: u32) -> Self {
        WaitStatus((sig & 0x7F) as i32)
    }

    /// The status of a process ended by `cause`: a fault is its signal
    /// with the cause beside it; `Killed` is `SIGKILL`.
    pub fn ended_by(cause: Cause) -> Self {
        match cause {
            Cause::Exited => Self::exited(0),
            Cause::Killed | Cause::Signal => Self::signaled(cause.signal()),
            fault => WaitStatus(fault.signal() as i32 | (fault as i32) << 16),
        }
    }

    /// The status `waitpid` with `WUNTRACED` reports for a child stopped
    /// by `sig`.
    pub fn stopped(sig: u32) -> Self {
        WaitStatus(STOPPED | ((sig & 0xFF) as i32) << 8)
    }

    /// The status `waitpid` with `WCONTINUED` reports for a child that
    /// was continued.
    pub fn continued() -> Self {
        WaitStatus(CONTINUED)
    }

    /// Whether the child was stopped rather than ended.
    pub fn is_stopped(self) -> bool {
        self.0 & 0xFF == STOPPED
    }

    /// Whether the child was continued.
    pub fn is_continued(self) -> bool {
        self.0 == CONTINUED
    }

    /// The exit code, when it exited.
    pub fn code(self) -> Option<u8> {
        (self.0 & 0x7F == 0).then_some(((self.0 >> 8) & 0xFF) as u8)
    }

    /// The signal that ended it, when one did.
    pub fn signal(self) -> Option<u32> {
        let sig = (self.0 & 0x7F) as u32;
        (sig != 0 && !self.is_stopped() && !self.is_continued()).then_some(sig)
    }

    /// The signal that stopped it, when it was stopped.
    pub fn stop_signal(self) -> Option<u32> {
        self.is_stopped().then_some(((self.0 >> 8) & 0xFF) as u32)
    }

    /// How it ended: `Exited`, the fault, `Killed` (SIGKILL), or `Signal`.
    pub fn cause(self) -> Cause {
        match self.signal() {
            None => Cause::Exited,
            Some(sig) => match Cause::from_raw(((self.0 >> 16) & 0xFF) as u32) {
                Some(fault) if fault != Cause::Exited && fault.signal() == sig => fault,
                _ if sig == crate::signal::SIGKILL => Cause::Killed,
                _ => Cause::Signal,
            },
        }
    }

    /// How the shell says it ended: `exited`, the fault (`page fault`), or
    /// the signal (`interrupt`, `killed`).
    pub fn describe(self) -> &'static str {
        match (self.cause(), self.signal()) {
            (Cause::Signal, Some(sig)) => crate::signal::describe(sig),
            (cause, _) => cause.describe(),
        }
    }

    /// The number a shell keeps as `$?`: the exit code, or 128 + the
    /// signal that ended it.
    pub fn shell_code(self) -> u8 {
        match (self.code(), self.signal()) {
            (Some(code), _) => code,
            (None, Some(sig)) => 128 + sig as u8,
            _ => 0,
        }
    }
}

/// One process as `procinfo` reports it. Fixed layout, 128 bytes; the
/// kernel keeps one inside every PCB, so the VMM can read the table.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcInfo {
    /// Process id; none for an unused slot.
    pub pid: Pid,
    /// Parent's pid (0 for init).
    pub ppid: Pid,
    /// A [`ProcState`].
    pub state: u32,
    /// A [`SleepReason`] (when Sleeping).
    pub reason: u32,
    /// Program name, NUL-padded.
    pub name: [u8; NAME_LEN],
    /// Timer ticks spent running.
    pub ticks: u64,
    /// Times it gave up the CPU itself (sleep, wait, yield, I/O).
    pub voluntary_switches: u64,
    /// Times the timer took the CPU from it.
    pub involuntary_switches: u64,
    /// Page faults it took (lazy loading, heap and stack growth).
    pub page_faults: u64,
    /// Tick at which it was created.
    pub start_tick: u64,
    /// Bytes of memory it maps (program, heap, stack).
    pub mem_bytes: u64,
    /// Current program break (end of the heap).
    pub brk: u64,
    /// Wait status once it is a Zombie ([`WaitStatus`]).
    pub exit_status: i32,
    /// The signal that is ending it (it dies on its way back to user
    /// mode), 0 while none is.
    pub killed: u32,
    /// The address of the fault that ended it, if one did.
    pub fault_addr: u64,
    /// The instruction pointer of that fault.
    pub fault_rip: u64,
    /// Its process group.
    pub pgid: Pid,
    /// Signals sent to it and not yet delivered.
    pub sig_pending: SigSet,
    /// Signals it blocks.
    pub sig_blocked: SigSet,
    /// Signals it has a handler for.
    pub sig_caught: SigSet,
}

const _: () = assert!(core::mem::size_of::<ProcInfo>() == 128);

impl ProcInfo {
    /// An unused slot.
    pub const EMPTY: ProcInfo = ProcInfo {
        pid: Pid::NONE,
        ppid: Pid::NONE,
        state: ProcState::Unused as u32,
        reason: SleepReason::None as u32,
        name: [0; NAME_LEN],
        ticks: 0,
        voluntary_switches: 0,
        involuntary_switches: 0,
        page_faults: 0,
        start_tick: 0,
        mem_bytes: 0,
        brk: 0,
        exit_status: 0,
        killed: 0,
        fault_addr: 0,
        fault_rip: 0,
        pgid: Pid::NONE,
        sig_pending: SigSet::EMPTY,
        sig_blocked: SigSet::EMPTY,
        sig_caught: SigSet::EMPTY,
    };

    /// The name as text (up to the first NUL; invalid UTF-8 shows as `?`).
    pub fn name(&self) -> &str {
        let end = self.name.iter().position(|&b| b == 0).unwrap_or(NAME_LEN);
        core::str::from_utf8(&self.name[..end]).unwrap_or("?")
    }

    /// Sets the name, truncated to fit.
    pub fn set_name(&mut self, name: &str) {
        self.name = [0; NAME_LEN];
        let n = name.len().min(NAME_LEN);
        self.name[..n].copy_from_slice(&name.as_bytes()[..n]);
    }

    /// The state, if valid.
    pub fn state(&self) -> Option<ProcState> {
        ProcState::from_raw(self.state)
    }
}

/// A process id: positive and below [`MAX_PID`]; [`Pid::NONE`] (0) is no
/// process (init's parent, `fork`'s result in the child, an unused slot).
/// On the wire (system calls, the PCB snapshot) it is its number.
#[repr(transparent)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pid(pub u32);

impl Pid {
    /// No process.
    pub const NONE: Pid = Pid(0);
    /// The first process, init.
    pub const INIT: Pid = Pid(1);

    /// The number.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// Whether this is no process.
    pub const fn is_none(self) -> bool {
        self.0 == 0
    }

    /// The pid a system call's argument names, if it can be one (positive
    /// and below [`MAX_PID`]).
    pub fn from_arg(arg: i64) -> Option<Pid> {
        (arg > 0 && (arg as u64) < MAX_PID).then_some(Pid(arg as u32))
    }

    /// As a system call argument.
    pub const fn arg(self) -> u64 {
        self.0 as u64
    }
}

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Why text is not a pid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotAPid;

impl core::str::FromStr for Pid {
    type Err = NotAPid;

    /// A decimal pid, as a user types one (`3`).
    fn from_str(s: &str) -> Result<Pid, NotAPid> {
        s.parse::<i64>().ok().and_then(Pid::from_arg).ok_or(NotAPid)
    }
}

/// The PCB table slot pid `pid` lives in, in a table of `capacity` slots:
/// `(pid - 1) % capacity` (the kernel hands out pids so), `None` for a pid
/// that cannot exist (not positive, or at least [`MAX_PID`]).
pub fn slot_of_pid(pid: i64, capacity: usize) -> Option<usize> {
    if pid <= 0 || pid as u64 >= MAX_PID || capacity == 0 {
        return None;
    }
    Some(((pid as u64 - 1) % capacity as u64) as usize)
}

/// Pids stay below this, so they are positive `i32`s.
pub const MAX_PID: u64 = 0x7FFF_0000;

/// A column formatted on the stack before it is padded (no allocator in
/// the guest's users of this module); text past its room is dropped.
struct Cell {
    buf: [u8; 32],
    len: usize,
}

impl Cell {
    fn new() -> Cell {
        Cell {
            buf: [0; 32],
            len: 0,
        }
    }

    fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("?")
    }
}

impl fmt::Write for Cell {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            let mut b = [0u8; 4];
            let b = c.encode_utf8(&mut b).as_bytes();
            if self.len + b.len() > self.buf.len() {
                break;
            }
            self.buf[self.len..self.len + b.len()].copy_from_slice(b);
            self.len += b.len();
        }
        Ok(())
    }
}

/// The header of the process table, as the guest's `ps` and the VMM's
/// `ctl ps` and Ctrl-A p print it (no newline). [`PsRow`]s line up under it.
pub const PS_HEADER: &str =
    "  PID  PPID  PGID STATE            NAME             TICKS  SWITCHES  FAULTS    MEM";

/// The STATE column of a process: `running`, `sleeping(io)`, `stopped`, or
/// `?N` for a value no state has.
pub struct StateName<'a>(pub &'a ProcInfo);

impl fmt::Display for StateName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.0;
        let mut c = Cell::new();
        let _ = match p.state() {
            Some(ProcState::Sleeping) => match SleepReason::from_raw(p.reason) {
                Some(SleepReason::None) | None => fmt::Write::write_str(&mut c, "sleeping"),
                Some(r) => fmt::Write::write_fmt(&mut c, format_args!("sleeping({})", r.name())),
            },
            Some(s) => fmt::Write::write_str(&mut c, s.name()),
            None => fmt::Write::write_fmt(&mut c, format_args!("?{}", p.state)),
        };
        f.pad(c.as_str())
    }
}

/// One row of the process table (no newline), under [`PS_HEADER`], given
/// the console's foreground process group: its members' STATE ends in `+`
/// (as in Linux's `ps`).
pub struct PsRow<'a>(pub &'a ProcInfo, pub Pid);

impl fmt::Display for PsRow<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.0;
        let mut state = Cell::new();
        let _ = fmt::Write::write_fmt(&mut state, format_args!("{}", StateName(p)));
        if p.pgid == self.1 && !p.pgid.is_none() {
            let _ = fmt::Write::write_str(&mut state, "+");
        }
        let mut sw = Cell::new();
        let _ = fmt::Write::write_fmt(
            &mut sw,
            format_args!("{}/{}", p.voluntary_switches, p.involuntary_switches),
        );
        let mut mem = Cell::new();
        let _ = fmt::Write::write_fmt(&mut mem, format_args!("{}K", p.mem_bytes.div_ceil(1024)));
        write!(
            f,
            "{:>5} {:>5} {:>5} {:<16} {:<16} {:>5} {:>9} {:>7} {:>6}",
            p.pid,
            p.ppid,
            p.pgid,
            state.as_str(),
            p.name(),
            p.ticks,
            sw.as_str(),
            p.page_faults,
            mem.as_str()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_status_round_trips() {
        let s = WaitStatus::exited(42);
        assert_eq!(s.cause(), Cause::Exited);
        assert_eq!(s.code(), Some(42));
        assert!(!s.is_stopped());
        assert!(WaitStatus::stopped(20).is_stopped());
        assert_eq!(WaitStatus::stopped(20).code(), None);
        assert_eq!(WaitStatus::stopped(20).stop_signal(), Some(20));
        assert_eq!(WaitStatus::stopped(20).signal(), None);
        assert!(WaitStatus::continued().is_continued());
        assert_eq!(WaitStatus::continued().signal(), None);
        let int = WaitStatus::signaled(crate::signal::SIGINT);
        assert_eq!(
            (int.signal(), int.code(), int.cause()),
            (Some(2), None, Cause::Signal)
        );
        assert_eq!((int.describe(), int.shell_code()), ("interrupt", 130));
        let pf = WaitStatus::ended_by(Cause::PageFault);
        assert_eq!(
            (pf.signal(), pf.cause(), pf.describe()),
            (Some(11), Cause::PageFault, "page fault")
        );
        assert_eq!(pf.shell_code(), 139);
        assert_eq!(WaitStatus::exited(3).shell_code(), 3);
        let k = WaitStatus::ended_by(Cause::Killed);
        assert_eq!(k.cause(), Cause::Killed);
        assert_eq!(k.code(), None);
    }

    #[test]
    fn names_truncate() {
        let mut p = ProcInfo::EMPTY;
        p.set_name("a-very-long-program-name");
        assert_eq!(p.name(), "a-very-long-prog");
        p.set_name("sh");
        assert_eq!(p.name(), "sh");
        assert_eq!(p.state(), Some(ProcState::Unused));
    }

    #[test]
    fn raw_values_decode() {
        for s in 0..7 {
            assert_eq!(ProcState::from_raw(s).unwrap() as u32, s);
        }
        assert_eq!(ProcState::from_raw(7), None);
        assert_eq!(SleepReason::from_raw(4), Some(SleepReason::Pipe));
        assert_eq!(Cause::from_raw(99), None);
    }

    struct Line {
        buf: [u8; 128],
        len: usize,
    }

    impl fmt::Write for Line {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            let end = self.len + s.len();
            self.buf
                .get_mut(self.len..end)
                .ok_or(fmt::Error)?
                .copy_from_slice(s.as_bytes());
            self.len = end;
            Ok(())
        }
    }

    fn line(args: fmt::Arguments) -> Line {
        let mut l = Line {
            buf: [0; 128],
            len: 0,
        };
        fmt::Write::write_fmt(&mut l, args).unwrap();
        l
    }

    impl Line {
        fn as_str(&self) -> &str {
            core::str::from_utf8(&self.buf[..self.len]).unwrap()
        }
    }

    #[test]
    fn ps_rows_line_up_under_the_header() {
        let mut p = ProcInfo::EMPTY;
        p.pid = Pid(7);
        p.ppid = Pid::INIT;
        p.state = ProcState::Sleeping as u32;
        p.reason = SleepReason::Sleep as u32;
        p.set_name("sleep");
        p.ticks = 12;
        p.voluntary_switches = 3;
        p.involuntary_switches = 1;
        p.page_faults = 9;
        p.mem_bytes = 48 * 1024;
        p.pgid = Pid(7);
        let r = line(format_args!("{}", PsRow(&p, Pid::INIT)));
        assert_eq!(
            r.as_str(),
            "    7     1     7 sleeping(sleep)  sleep               12       3/1       9    48K"
        );
        assert_eq!(r.len, PS_HEADER.len());
        let fg = line(format_args!("{}", PsRow(&p, Pid(7))));
        assert!(
            fg.as_str().contains(" sleeping(sleep)+ sleep "),
            "{}",
            fg.as_str()
        );
        assert_eq!(fg.len, PS_HEADER.len());
        p.state = ProcState::Stopped as u32;
        assert_eq!(line(format_args!("{}", StateName(&p))).as_str(), "stopped");
        p.state = 42;
        assert_eq!(line(format_args!("{}", StateName(&p))).as_str(), "?42");
        assert_eq!(
            line(format_args!("[{:<9}]", StateName(&p))).as_str(),
            "[?42      ]"
        );
    }

    #[test]
    fn pids_parse_as_users_type_them() {
        assert_eq!("3".parse::<Pid>(), Ok(Pid(3)));
        for bad in ["0", "-1", "x", "", "2147418112", "99999999999"] {
            assert_eq!(bad.parse::<Pid>(), Err(NotAPid), "{bad}");
        }
        assert_eq!(
            Pid::from_arg(MAX_PID as i64 - 1),
            Some(Pid(MAX_PID as u32 - 1))
        );
        assert_eq!(Pid::from_arg(0), None);
        assert!(Pid::NONE.is_none() && !Pid::INIT.is_none());
    }
}
