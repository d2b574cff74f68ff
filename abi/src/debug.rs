//! The debug port: the paravirtual channel through which the VMM sees the
//! guest kernel's process table and scheduler events.
//!
//! At boot the kernel fills a [`Registration`] block in its own memory and
//! writes the block's guest-physical address to [`PORT`] with one 32-bit
//! `out` (the block lies below 4 GiB and is 8-aligned, so the value is never
//! [`DOORBELL`]). The VMM validates the block (magic, [`VERSION`], every
//! address and size inside guest RAM) and, when it accepts it, sets
//! [`Registration::host_ack`]; a kernel that finds no acknowledgement (no
//! such VMM, e.g. QEMU) does not trace.
//!
//! From then on the VMM reads guest memory directly:
//! - the PCB table: `capacity` records `stride` bytes apart from `table`,
//!   each holding a [`crate::proc::ProcInfo`] at `info_offset`. The kernel
//!   makes [`Registration::generation`] odd before it changes a PCB's state
//!   and even after, so a reader that sees the same even value before and
//!   after its copy knows the copy is consistent (a seqlock);
//! - the event ring: `ring_capacity` (a power of two) [`Event`] records at
//!   `ring`; the kernel writes record `head % capacity` then increments
//!   [`Registration::head`]; the VMM consumes up to `head` and stores its
//!   position in [`Registration::tail`]. The kernel writes [`DOORBELL`] to
//!   the port only when more than half the ring is unread (the VMM drains it
//!   on every VM exit anyway), and overwrites the oldest records when the
//!   VMM does not keep up (the VMM sees `head - tail > capacity` and counts
//!   the loss);
//! - the mailbox, one command at a time: the VMM posts only while
//!   `mail_done == mail_seq` (so it never overwrites a command the kernel
//!   has not carried out): it writes a [`Command`], its pid and (for
//!   [`Command::Signal`]) its signal, then bumps
//!   [`Registration::mail_seq`]; the kernel compares `mail_seq`
//!   with `mail_done` at the end of its traps (timer tick, device
//!   interrupt), carries the command out, stores the result in
//!   `mail_result` and sets `mail_done = mail_seq`;
//! - the panic record: on a panic or kernel exception the kernel fills
//!   [`PanicRecord`] first thing, so the VMM can print the registers even
//!   after a triple fault reset the vCPU.

/// The I/O port (unassigned on a PC). A 32-bit write of a block's address
/// registers; a write of [`DOORBELL`] asks the VMM to drain the ring.
pub const PORT: u16 = 0x0DB0;

/// Value written to [`PORT`] to ring the doorbell (never an 8-aligned
/// address).
pub const DOORBELL: u32 = 1;

/// [`Registration::magic`]: "PCBTABLE" in little-endian bytes.
pub const MAGIC: u64 = u64::from_le_bytes(*b"PCBTABLE");

/// Version of the debug-port layout ([`Registration`], [`Event`],
/// [`PanicRecord`]); part of [`crate::ABI_VERSION`].
pub const VERSION: u32 = 4;

/// Records in the kernel's event ring (a power of two).
pub const RING_CAPACITY: u32 = 1024;

wire_enum! {
    /// What the VMM asks the kernel to do to a process, through the mailbox.
    pub enum Command: u32 {
        /// Nothing.
        None = 0,
        /// Kill the process (as `kill`).
        Kill = 1,
        /// Suspend it (as `stop`).
        Stop = 2,
        /// Resume it (as `cont`).
        Cont = 3,
        /// Send it the signal in [`Registration::mail_sig`] (as `kill`).
        Signal = 4,
    }
}

wire_enum! {
    /// What the panic record describes ([`PanicRecord::kind`]).
    pub enum CrashKind: u32 {
        /// No crash.
        None = 0,
        /// A Rust panic; `message` holds its text.
        Panic = 1,
        /// A CPU exception in the kernel; `vector` says which.
        Exception = 2,
        /// The kernel is about to fault with no IDT (a deliberate triple fault):
        /// the registers are those just before.
        TripleFault = 3,
    }
}

/// Length of [`PanicRecord::message`].
pub const PANIC_MESSAGE_LEN: usize = 96;

/// The registers and the cause of a kernel crash, filled by the kernel
/// before it reports anything else.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PanicRecord {
    /// A [`CrashKind`].
    pub kind: u32,
    /// Exception vector (for [`CrashKind::Exception`]).
    pub vector: u32,
    /// Exception error code.
    pub error: u64,
    /// TSC at the crash.
    pub tsc: u64,
    /// Pid of the process that was current (0: none).
    pub pid: u64,
    /// rip, rsp, rflags, cr2, cr3.
    pub rip: u64,
    /// Stack pointer.
    pub rsp: u64,
    /// Flags.
    pub rflags: u64,
    /// Page-fault address register.
    pub cr2: u64,
    /// Page-table base.
    pub cr3: u64,
    /// rax, rbx, rcx, rdx, rsi, rdi, rbp, r8 .. r15, in that order.
    pub gprs: [u64; 15],
    /// The panic message, NUL-padded, truncated.
    pub message: [u8; PANIC_MESSAGE_LEN],
}

/// Names of [`PanicRecord::gprs`], in order.
pub const GPR_NAMES: [&str; 15] = [
    "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10", "r11", "r12", "r13", "r14",
    "r15",
];

const _: () = assert!(core::mem::size_of::<PanicRecord>() == 72 + 120 + PANIC_MESSAGE_LEN);

impl PanicRecord {
    /// No crash.
    pub const EMPTY: PanicRecord = PanicRecord {
        kind: 0,
        vector: 0,
        error: 0,
        tsc: 0,
        pid: 0,
        rip: 0,
        rsp: 0,
        rflags: 0,
        cr2: 0,
        cr3: 0,
        gprs: [0; 15],
        message: [0; PANIC_MESSAGE_LEN],
    };

    /// The message as text (up to the first NUL, lossy).
    pub fn message(&self) -> &str {
        let end = self
            .message
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(PANIC_MESSAGE_LEN);
        match core::str::from_utf8(&self.message[..end]) {
            Ok(s) => s,
            Err(e) => core::str::from_utf8(&self.message[..e.valid_up_to()]).unwrap_or(""),
        }
    }
}

/// The block the kernel registers. All addresses are guest-physical.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Registration {
    /// [`MAGIC`].
    pub magic: u64,
    /// [`VERSION`].
    pub version: u32,
    /// `size_of::<Registration>()`.
    pub size: u32,
    /// Set to 1 by the VMM when it accepts the block.
    pub host_ack: u32,
    /// Timer rate of the kernel.
    pub hz: u32,
    /// TSC rate the kernel calibrated.
    pub tsc_khz: u64,
    /// TSC at kernel entry.
    pub boot_tsc: u64,
    /// TSC when the scheduler started (0: not yet).
    pub sched_tsc: u64,
    /// TSC when init first ran (0: not yet).
    pub init_tsc: u64,
    /// TSC just before the kernel last wrote the block's address to the
    /// port: the VMM pairs it with its own clock at that exit, to place the
    /// other stamps on the host's timeline.
    pub announce_tsc: u64,
    /// Address of the PCB table.
    pub table: u64,
    /// Bytes from one PCB to the next.
    pub stride: u32,
    /// Number of PCBs.
    pub capacity: u32,
    /// Offset of the `ProcInfo` in a PCB.
    pub info_offset: u32,
    /// Records in the ring ([`RING_CAPACITY`]).
    pub ring_capacity: u32,
    /// Table generation counter: odd while a PCB changes.
    pub generation: u64,
    /// Address of the event ring.
    pub ring: u64,
    /// Records the kernel has written (ever).
    pub head: u64,
    /// Records the VMM has consumed (ever).
    pub tail: u64,
    /// Mailbox: a [`Command`] from the VMM.
    pub mail_cmd: u32,
    /// Mailbox: its pid.
    pub mail_pid: u32,
    /// Mailbox: bumped by the VMM when it posts.
    pub mail_seq: u64,
    /// Mailbox: `mail_seq` of the last command carried out.
    pub mail_done: u64,
    /// Mailbox: the result (0 or a negative errno).
    pub mail_result: i64,
    /// The crash record.
    pub panic: PanicRecord,
    /// Mailbox: the signal of a [`Command::Signal`].
    pub mail_sig: u32,
    /// The console's foreground process group (init's, 1, at boot), kept
    /// current by the kernel: `ps` marks its members.
    pub fg_pgid: u32,
    /// Offset of the [`crate::fs::FilesInfo`] in a PCB.
    pub files_offset: u32,
    /// Unused (zero).
    pub _pad: u32,
}

/// Offset of [`Registration::generation`].
pub const GENERATION_OFFSET: u64 = core::mem::offset_of!(Registration, generation) as u64;
/// Offset of [`Registration::head`].
pub const HEAD_OFFSET: u64 = core::mem::offset_of!(Registration, head) as u64;
/// Offset of [`Registration::tail`].
pub const TAIL_OFFSET: u64 = core::mem::offset_of!(Registration, tail) as u64;
/// Offset of [`Registration::host_ack`].
pub const ACK_OFFSET: u64 = core::mem::offset_of!(Registration, host_ack) as u64;
/// Offset of [`Registration::mail_cmd`] (then `mail_pid`).
pub const MAIL_CMD_OFFSET: u64 = core::mem::offset_of!(Registration, mail_cmd) as u64;
/// Offset of [`Registration::mail_seq`].
pub const MAIL_SEQ_OFFSET: u64 = core::mem::offset_of!(Registration, mail_seq) as u64;
/// Offset of [`Registration::mail_done`].
pub const MAIL_DONE_OFFSET: u64 = core::mem::offset_of!(Registration, mail_done) as u64;

const _: () = assert!(core::mem::size_of::<Registration>() == 152 + 288 + 16);

wire_enum! {
    /// What an [`Event`] records.
    pub enum EventKind: u8 {
        /// A state transition: `old` -> `new` with `reason` (a sleep reason).
        State = 0,
        /// A process was created; `arg` is the parent's pid. It starts as
        /// a copy of the parent (its name); a spawned one is followed by
        /// an `Exec` event with the program's name.
        Create = 1,
        /// A process replaced its program (`exec`); `arg` holds the first 8
        /// bytes of the new name (little-endian, NUL-padded): the full name is
        /// in the PCB, at slot `(pid - 1) % capacity` of the table.
        Exec = 2,
        /// A process exited; `arg` is its wait status.
        Exit = 3,
        /// A process was killed; `arg` is the pid of the killer (0: the host or
        /// the kernel).
        Kill = 4,
        /// A process was suspended.
        Suspend = 5,
        /// A process was resumed.
        Resume = 6,
        /// A fault ended a process; `arg` is the faulting address, `reason` the
        /// [`crate::proc::Cause`].
        Fault = 7,
        /// The kernel crashed (panic, exception or a deliberate triple
        /// fault): `reason` is the [`CrashKind`], `arg` the rip; `pid` the
        /// process that was current (0: none).
        Panic = 8,
        /// A context switch, one record for two state transitions: `pid`
        /// left the CPU (`old` Running -> `new`, with `reason`) and process
        /// `arg` went from Runnable to Running (`arg` 0: the idle loop ran;
        /// `arg == pid`: it kept the CPU). Readers see it as the two
        /// [`EventKind::State`] events of [`Event::expand`].
        Switch = 9,
        /// A signal was sent: `reason` is the signal, `arg` the sender's pid
        /// (0: the kernel, the console or the host). One its target ignores
        /// (`SIGCHLD` to most parents) is not recorded.
        Signal = 10,
        /// A signal was delivered to a handler: `reason` is the signal,
        /// `arg` the handler's address.
        Handle = 11,
        /// A process moved to another process group: `arg` is the group.
        Group = 12,
        /// The console's foreground group changed: `arg` is the group
        /// (`pid` the process that changed it).
        Foreground = 13,
    }
}

impl EventKind {
    /// Its name in the events file.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::State => "state",
            EventKind::Create => "create",
            EventKind::Exec => "exec",
            EventKind::Exit => "exit",
            EventKind::Kill => "kill",
            EventKind::Suspend => "suspend",
            EventKind::Resume => "resume",
            EventKind::Fault => "fault",
            EventKind::Panic => "panic",
            EventKind::Switch => "switch",
            EventKind::Signal => "signal",
            EventKind::Handle => "handle",
            EventKind::Group => "group",
            EventKind::Foreground => "foreground",
        }
    }
}

/// One ring record, 32 bytes.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Event {
    /// TSC when it happened.
    pub tsc: u64,
    /// Timer tick when it happened.
    pub tick: u64,
    /// The process.
    pub pid: u32,
    /// An [`EventKind`].
    pub kind: u8,
    /// Previous [`crate::proc::ProcState`] (for state events).
    pub old: u8,
    /// New state.
    pub new: u8,
    /// A [`crate::proc::SleepReason`], or a [`crate::proc::Cause`].
    pub reason: u8,
    /// Kind-specific argument.
    pub arg: u64,
}

/// Size of an [`Event`] record.
pub const EVENT_SIZE: usize = 32;
const _: () = assert!(core::mem::size_of::<Event>() == EVENT_SIZE);

impl Event {
    /// The third 8-byte word of a record (bytes 16..24): pid, kind, old,
    /// new and reason, packed as the layout places them, so a writer can
    /// store a record as four words.
    pub const fn id_word(pid: u32, kind: u8, old: u8, new: u8, reason: u8) -> u64 {
        pid as u64 | (Event::id_high(kind, old, new, reason) as u64) << 32
    }

    /// The upper half of [`Event::id_word`] (bytes 20..24): kind, old, new,
    /// reason; the lower half is the pid.
    pub const fn id_high(kind: u8, old: u8, new: u8, reason: u8) -> u32 {
        kind as u32 | (old as u32) << 8 | (new as u32) << 16 | (reason as u32) << 24
    }

    /// The record as the state events it stands for: a [`EventKind::Switch`]
    /// is the outgoing process's transition, then (unless the idle loop
    /// took the CPU) the incoming one's, Runnable to Running; any other
    /// record is itself.
    pub fn expand(self) -> impl Iterator<Item = Event> {
        let (first, second) = if self.kind == EventKind::Switch as u8 {
            let out = Event {
                kind: EventKind::State as u8,
                arg: 0,
                ..self
            };
            let next = (self.arg != 0).then_some(Event {
                pid: self.arg as u32,
                kind: EventKind::State as u8,
                old: crate::proc::ProcState::Runnable as u8,
                new: crate::proc::ProcState::Running as u8,
                reason: 0,
                arg: 0,
                ..self
            });
            (out, next)
        } else {
            (self, None)
        };
        core::iter::once(first).chain(second)
    }

    /// Decodes a record from its little-endian bytes.
    pub fn from_bytes(b: &[u8; EVENT_SIZE]) -> Event {
        let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
        Event {
            tsc: u64_at(0),
            tick: u64_at(8),
            pid: u32::from_le_bytes([b[16], b[17], b[18], b[19]]),
            kind: b[20],
            old: b[21],
            new: b[22],
            reason: b[23],
            arg: u64_at(24),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doorbell_is_not_an_address() {
        assert_ne!(DOORBELL % 8, 0);
        assert!(RING_CAPACITY.is_power_of_two());
    }

    #[test]
    fn event_bytes_decode() {
        let mut b = [0u8; EVENT_SIZE];
        b[0] = 5;
        b[8] = 7;
        b[16] = 3;
        b[20] = EventKind::State as u8;
        b[21] = 3;
        b[22] = 4;
        b[24] = 9;
        let e = Event::from_bytes(&b);
        assert_eq!(
            (e.tsc, e.tick, e.pid, e.old, e.new, e.arg),
            (5, 7, 3, 3, 4, 9)
        );
        assert_eq!(EventKind::from_raw(e.kind), Some(EventKind::State));
        assert_eq!(EventKind::from_raw(200), None);
    }

    #[test]
    fn the_id_word_is_the_layout() {
        let mut b = [0u8; EVENT_SIZE];
        b[16..24].copy_from_slice(&Event::id_word(0x0102_0304, 5, 6, 7, 8).to_le_bytes());
        let e = Event::from_bytes(&b);
        assert_eq!(
            (e.pid, e.kind, e.old, e.new, e.reason),
            (0x0102_0304, 5, 6, 7, 8)
        );
    }

    #[test]
    fn a_switch_is_two_state_events() {
        use crate::proc::{ProcState, SleepReason};
        let (running, sleeping) = (ProcState::Running as u8, ProcState::Sleeping as u8);
        let s = Event {
            tsc: 10,
            tick: 2,
            pid: 3,
            kind: EventKind::Switch as u8,
            old: running,
            new: sleeping,
            reason: SleepReason::Io as u8,
            arg: 5,
        };
        let v: [Event; 2] = [s.expand().next().unwrap(), s.expand().nth(1).unwrap()];
        assert_eq!(s.expand().count(), 2);
        assert_eq!(
            (
                v[0].pid,
                v[0].kind,
                v[0].old,
                v[0].new,
                v[0].reason,
                v[0].arg
            ),
            (
                3,
                EventKind::State as u8,
                running,
                sleeping,
                SleepReason::Io as u8,
                0
            )
        );
        assert_eq!(
            (
                v[1].pid,
                v[1].old,
                v[1].new,
                v[1].reason,
                v[1].tsc,
                v[1].tick
            ),
            (5, ProcState::Runnable as u8, running, 0, 10, 2)
        );
        // To the idle loop: only the outgoing transition.
        assert_eq!(Event { arg: 0, ..s }.expand().count(), 1);
        // Any other record is itself.
        let st = Event {
            kind: EventKind::State as u8,
            ..s
        };
        let mut it = st.expand();
        assert_eq!((it.next(), it.next()), (Some(st), None));
    }

    #[test]
    fn panic_message_reads() {
        let mut p = PanicRecord::EMPTY;
        p.message[..3].copy_from_slice(b"boo");
        assert_eq!(p.message(), "boo");
        p.message[1] = 0xFF;
        assert_eq!(p.message(), "b");
    }
}
