//! The console: what the bytes from COM1 mean, and who waits for them
//! (xv6's console.c, beside the UART driver in [`crate::dev::uart`]).
//!
//! Until processes exist the kernel monitor reads raw bytes from a ring
//! ([`read_byte`]). Then input goes through the line discipline
//! ([`logic::console::cooked`]): bytes typed or piped in are echoed and
//! edited into lines, and a process reading the console sleeps until a
//! whole line is there ([`read`]); a program may switch to raw input, echo
//! off, or keys that are not signals ([`set_mode`]). Ctrl-P prints the
//! process table at once, from the interrupt handler.
//!
//! The console has a foreground process group ([`set_foreground`]; init's
//! group at boot, which every process is in until it moves): Ctrl-C,
//! Ctrl-Z and Ctrl-\ signal it, and a process of another group that reads
//! the console gets `SIGTTIN` (its group stops until a shell continues it
//! in the foreground), or `EIO` if it ignores or blocks that signal. When
//! the foreground group has no process left, anyone may read. Writing is
//! open to every group.
//!
//! The interrupt handler takes bytes from the UART only while there is room
//! for them; the rest stay in the UART, which holds off the sender, and the
//! reader, after taking a line, drains the UART again itself (interrupts
//! off). A pass takes a bounded share of input, so a flood cannot hold the
//! CPU with interrupts off; what is left is taken on the next timer tick.

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use crate::arch::x86_64::cpu;
use crate::dev::uart::{self, data_ready, take, write_raw};
use crate::proc::signal::{self, ERESTART};
use crate::proc::{Kernel, sched};
use crate::sync::KCell;
use abi::debug::EventKind;
use abi::proc::{Pid, SleepReason};
use abi::signal::{SIGTTIN, SIGTTOU};
use abi::sys::errno::{EINVAL, EIO, EPERM};
use abi::sys::{TTY_CANON, TTY_ECHO, TTY_SIG, TTY_TERMINAL};
use logic::console::cooked::{Cooked, Event};
use logic::console::line::Action;
use logic::console::ring::Ring;
use logic::sync::list::List;

/// Raw input taken before the line discipline is on (boot, the monitor).
static RX: Ring<4096> = Ring::new();

/// Programs the UART and takes the input already waiting.
pub fn init() {
    if let Some(byte) = uart::init() {
        RX.push(byte);
    }
    drain();
}

/// Writes bytes to the console, `\n` as `\r\n`.
pub fn write(bytes: &[u8]) {
    uart::write(bytes);
}

/// Raw mode (the kernel monitor): moves received bytes to RX while there is
/// room. What does not fit stays in the UART, which holds off the sender;
/// the consumer calls this again after taking bytes. Interrupts off.
fn drain() {
    while !RX.is_full() && data_ready() {
        RX.push(take());
    }
}

/// Cooked mode is on (processes read the console through the line
/// discipline); off: raw bytes for the kernel monitor.
static COOKED_MODE: AtomicBool = AtomicBool::new(false);
/// The line discipline.
static COOKED: KCell<Cooked> = KCell::new(Cooked::new());
/// Processes sleeping until a line is ready.
static READERS: KCell<List> = KCell::new(List::new());

/// A person types at the console ([`abi::sys::TTY_TERMINAL`]).
static TERMINAL: AtomicBool = AtomicBool::new(false);

/// Records whether a person types at the console (boot).
pub fn set_terminal(on: bool) {
    TERMINAL.store(on, Ordering::Relaxed);
}

/// The foreground process group.
static FOREGROUND: AtomicU32 = AtomicU32::new(Pid::INIT.get());

/// Switches input to the line discipline (processes exist from now on).
pub fn set_cooked() {
    COOKED_MODE.store(true, Ordering::Relaxed);
}

/// The foreground process group.
pub fn foreground() -> Pid {
    Pid(FOREGROUND.load(Ordering::Relaxed))
}

/// Whether the running process is in a background group: another group
/// is in the foreground and has a live member.
fn in_background(k: &mut Kernel) -> bool {
    let fg = foreground();
    k.me().info.pgid != fg && k.group_alive(fg)
}

/// What a background process that changes the console gets: `SIGTTOU` to
/// its group (then the call runs again once the group is continued);
/// `None` when it may go on (in the foreground, or refusing `SIGTTOU`).
pub fn background_change(k: &mut Kernel) -> Option<i64> {
    if !in_background(k) {
        return None;
    }
    if signal::refuses(k.me(), SIGTTOU) {
        // The refusing process may change the console, as on Linux.
        return None;
    }
    let (pgid, me) = (k.me().info.pgid, k.me().info.pid);
    signal::send_group(k, pgid, SIGTTOU, me);
    Some(-ERESTART)
}

/// `tcsetpgrp`: makes `pgid` (a group with a live member, else `-EPERM`)
/// the foreground group.
pub fn set_foreground(k: &mut Kernel, pgid: Pid) -> i64 {
    if pgid.is_none() {
        return -EINVAL;
    }
    if !k.group_alive(pgid) {
        return -EPERM;
    }
    if let Some(r) = background_change(k) {
        return r;
    }
    make_foreground(k, pgid);
    0
}

/// Makes `pgid` the foreground group, with no checks (`tcsetpgrp` and
/// `spawn` made them).
pub fn make_foreground(k: &mut Kernel, pgid: Pid) {
    FOREGROUND.store(pgid.get(), Ordering::Relaxed);
    crate::dev::debugport::set_foreground(pgid);
    let me = k.current();
    k.trace(me, EventKind::Foreground, 0, pgid.arg());
}

/// `ttymode`: the mode before (with [`TTY_TERMINAL`] when a person types
/// at the console); sets `mode` (`TTY_*` bits, else `-EINVAL`; the
/// read-only one is ignored) unless it is [`abi::sys::TTY_QUERY`].
pub fn set_mode(k: &mut Kernel, mode: u64) -> i64 {
    // SAFETY: see read_cooked; interrupts are off in a system call.
    let mut old = unsafe { COOKED.get() }.mode();
    if TERMINAL.load(Ordering::Relaxed) {
        old |= TTY_TERMINAL;
    }
    if mode == abi::sys::TTY_QUERY {
        return old as i64;
    }
    if mode & !(TTY_CANON | TTY_ECHO | TTY_SIG | TTY_TERMINAL) != 0 {
        return -EINVAL;
    }
    if let Some(r) = background_change(k) {
        return r;
    }
    // SAFETY: as above.
    let c = unsafe { COOKED.get() };
    c.set_mode(mode);
    if c.readable() {
        sched::wake_all(k, READERS.as_ptr());
    }
    old as i64
}

/// Console echo, gathered and written in one go (the console line
/// discipline and kmon both echo what is typed).
pub struct Echo {
    buf: [u8; 64],
    len: usize,
}

impl Echo {
    /// Nothing gathered yet.
    pub const fn new() -> Self {
        Echo {
            buf: [0; 64],
            len: 0,
        }
    }

    /// Adds bytes, writing out first what no longer fits.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.len + bytes.len() > self.buf.len() {
            self.flush();
        }
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    /// Writes out what is gathered.
    pub fn flush(&mut self) {
        write_raw(&self.buf[..self.len]);
        self.len = 0;
    }
}

/// Most bytes one pass of the line discipline takes (a FIFO's worth, as
/// our VMM fills it): a pass runs with interrupts off, and each byte is a
/// port read and dozens of ring-0 instructions. What is left waits for the
/// refill interrupt or the next timer tick.
const PUMP_MAX: usize = 64;

/// Most input bytes per timer tick the discipline may throw away (bytes
/// past a line's end, ignored control bytes, NULs from `/dev/zero`) or
/// spend a process table on (Ctrl-P). Useful bytes are held off by the
/// line buffer, which only a reader empties; discarded ones never fill it,
/// so without this a flood of them would take every cycle (where ring 0 is
/// emulated) and no process would run again while the host kept sending.
const DISCARD_PER_TICK: u32 = 4;

/// The tick [`DISCARDED`] counts in.
static DISCARD_TICK: AtomicU64 = AtomicU64::new(0);
/// Bytes discarded during [`DISCARD_TICK`].
static DISCARDED: AtomicU32 = AtomicU32::new(0);

/// A pass stopped early with input still in the UART: the next timer tick
/// takes the next share ([`pump_backlog`]).
static BACKLOG: AtomicBool = AtomicBool::new(false);

/// Whether input waits for the next tick.
pub fn backlog() -> bool {
    BACKLOG.load(Ordering::Relaxed)
}

/// Called on a timer tick when [`backlog`]: the next share of input.
/// Interrupts off.
pub fn pump_backlog(k: &mut Kernel) {
    pump(k);
}

/// Cooked mode: feeds received bytes through the line discipline while a
/// whole line still fits its buffer (else they wait in the UART), echoing,
/// within [`PUMP_MAX`] and [`DISCARD_PER_TICK`]; wakes console readers when
/// a line is complete; Ctrl-P prints the process table at once. Interrupts
/// off.
fn pump(k: &mut Kernel) {
    // SAFETY: see read_cooked; nothing this pass calls reaches COOKED.
    let c = unsafe { COOKED.get() };
    let mut echo = Echo::new();
    let mut ready = false;
    let mut share = PUMP_MAX;
    let now = crate::time::ticks();
    if DISCARD_TICK.swap(now, Ordering::Relaxed) != now {
        DISCARDED.store(0, Ordering::Relaxed);
    }
    let mut discarded = DISCARDED.load(Ordering::Relaxed);
    if BACKLOG.swap(false, Ordering::Relaxed) {
        sched::tick_done();
    }
    while c.has_room() {
        if share == 0 || discarded >= DISCARD_PER_TICK {
            if !RX.is_empty() || data_ready() {
                BACKLOG.store(true, Ordering::Relaxed);
                sched::tick_soon();
            }
            break;
        }
        share -= 1;
        // Bytes the monitor-mode ring took at boot come first.
        let byte = match RX.pop() {
            Some(b) => b,
            None if data_ready() => take(),
            None => break,
        };
        let event = c.feed(byte);
        let action = match event {
            Event::None => {
                discarded += 1;
                continue;
            }
            Event::Procdump => {
                discarded = DISCARD_PER_TICK;
                echo.flush();
                k.procdump(foreground());
                continue;
            }
            Event::Overflow => {
                echo.push(b"\r\n");
                echo.flush();
                println!(
                    "console: this line is longer than {} bytes; the rest of it is dropped",
                    logic::console::cooked::MAX_LINE
                );
                continue;
            }
            Event::Signal(sig, key) => {
                if c.mode() & TTY_ECHO != 0 {
                    echo.push(&[b'^', key ^ 0x40]);
                }
                echo.flush();
                signal::send_group(k, foreground(), sig, Pid::NONE);
                continue;
            }
            Event::Echo(a) => a,
            Event::Ready(a) => {
                ready = true;
                a
            }
        };
        match action {
            Action::Echo(b) => echo.push(&[b]),
            Action::Erase(n) => {
                for _ in 0..n {
                    echo.push(b"\x08 \x08");
                }
            }
            Action::Submit => echo.push(b"\r\n"),
            Action::None | Action::Overflow => {}
        }
    }
    DISCARDED.store(discarded, Ordering::Relaxed);
    echo.flush();
    if ready {
        sched::wake_all(k, READERS.as_ptr());
    }
}

/// Cooked mode: reads the first available line (or part of it) into
/// `buf`: `Some(count)`, `Some(0)` at end of input, `None` when no line is
/// ready (the caller sleeps). Takes more input from the UART afterwards,
/// since the interrupt handler may have left some there. Interrupts off.
fn read_cooked(k: &mut Kernel, buf: &mut [u8]) -> Option<usize> {
    if !cooked_readable() {
        pump(k);
        if !cooked_readable() {
            return None;
        }
    }
    // SAFETY: COOKED is reached only here, in cooked_readable and in pump,
    // and no reference to it outlives the statement that took it.
    let n = unsafe { COOKED.get() }.read(buf);
    pump(k);
    Some(n)
}

/// Whether a reader would get something now.
fn cooked_readable() -> bool {
    // SAFETY: as in read_cooked.
    unsafe { COOKED.get() }.readable()
}

/// Reads a line (or what fits; in raw mode, the bytes there are) for the
/// current process, sleeping until there is one: the count, 0 at end of
/// input. A reader in a background group gets `SIGTTIN` or `-EIO` (see
/// the module); a signal during the wait restarts the call.
pub fn read(k: &mut Kernel, buf: &mut [u8]) -> i64 {
    if buf.is_empty() {
        return 0;
    }
    if in_background(k) {
        if signal::refuses(k.me(), SIGTTIN) {
            return -EIO;
        }
        let (pgid, me) = (k.me().info.pgid, k.me().info.pid);
        signal::send_group(k, pgid, SIGTTIN, me);
        return -ERESTART;
    }
    loop {
        if let Some(n) = read_cooked(k, buf) {
            return n as i64;
        }
        if k.interrupted() {
            return -ERESTART;
        }
        sched::sleep(k, SleepReason::Io, READERS.as_ptr());
    }
}

/// COM1's interrupt handler (interrupts off).
pub fn handle_interrupt(k: &mut Kernel) {
    if COOKED_MODE.load(Ordering::Relaxed) {
        pump(k);
    } else {
        drain();
    }
}

/// Whether a byte is waiting to be read.
pub fn has_input() -> bool {
    !RX.is_empty()
}

/// Raw mode: reads one byte, sleeping until one arrives.
pub fn read_byte() -> u8 {
    loop {
        if let Some(byte) = RX.pop() {
            let was_on = cpu::interrupts_save_disable();
            drain();
            cpu::interrupts_restore(was_on);
            return byte;
        }
        // Drain before halting: input that arrived before the interrupt
        // was routed (at boot) raised no interrupt we could see.
        cpu::wait_until(|| {
            drain();
            !RX.is_empty()
        });
    }
}
