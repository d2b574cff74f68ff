//! The host side of the serial console: standard input, the terminal's raw
//! mode, and the Ctrl-A escapes.
//!
//! A thread reads stdin (a terminal, pipe, file or /dev/null alike), runs
//! the bytes through the [`Escape`] state machine when stdin is a terminal,
//! and hands the result to the event loop through a channel and an eventfd.

use std::io::{IsTerminal, Read};
use std::os::fd::AsRawFd;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use event_manager::{EventOps, Events, MutEventSubscriber};
use vmm_sys_util::epoll::EventSet;
use vmm_sys_util::eventfd::EventFd;

use crate::devices::serial::{ConsoleSerial, InputBudget};

/// The escape key: Ctrl-A, as in QEMU and screen.
pub const ESCAPE: u8 = 0x01;

/// Ctrl-D (EOT): what a terminal sends for end of file. When stdin ends,
/// the guest gets one, so a shell fed a script sees the end of its input.
pub const END_OF_INPUT: u8 = 0x04;

/// What the escape help says (Ctrl-A h).
pub const ESCAPE_HELP: &str = "\r\nvmm escapes: Ctrl-A x quit, Ctrl-A p process table \
and open files (from guest memory), Ctrl-A h this help, Ctrl-A Ctrl-A send Ctrl-A\r\n";

/// What the host user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsoleEvent {
    /// Bytes for the guest.
    Input(Vec<u8>),
    /// Ctrl-A x: end the VM.
    Quit,
    /// Ctrl-A h: show the escapes.
    Help,
    /// Ctrl-A p: show the process table and each process's files, read
    /// from guest memory.
    ProcessTable,
    /// Standard input is at its end (or failed).
    Eof,
}

/// The Ctrl-A escape state machine.
#[derive(Debug, Default)]
pub struct Escape {
    armed: bool,
}

impl Escape {
    /// Feeds bytes read from the terminal; returns the events they make.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<ConsoleEvent> {
        let mut events = Vec::new();
        let mut input = Vec::new();
        for &b in bytes {
            if self.armed {
                self.armed = false;
                match b {
                    b'x' | b'X' => {
                        flush_input(&mut input, &mut events);
                        events.push(ConsoleEvent::Quit);
                    }
                    b'h' | b'H' | b'?' => {
                        flush_input(&mut input, &mut events);
                        events.push(ConsoleEvent::Help);
                    }
                    b'p' | b'P' => {
                        flush_input(&mut input, &mut events);
                        events.push(ConsoleEvent::ProcessTable);
                    }
                    ESCAPE => input.push(ESCAPE),
                    // An unknown escape is dropped, as QEMU does.
                    _ => {}
                }
            } else if b == ESCAPE {
                self.armed = true;
            } else {
                input.push(b);
            }
        }
        flush_input(&mut input, &mut events);
        events
    }
}

fn flush_input(input: &mut Vec<u8>, events: &mut Vec<ConsoleEvent>) {
    if !input.is_empty() {
        events.push(ConsoleEvent::Input(std::mem::take(input)));
    }
}

/// Puts a terminal in raw mode and restores its exact settings on drop.
pub struct RawMode {
    fd: i32,
    saved: libc::termios,
}

impl RawMode {
    /// Raw mode on stdin when it is a terminal; `None` otherwise.
    pub fn stdin() -> Option<RawMode> {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return None;
        }
        let fd = stdin.as_raw_fd();
        // SAFETY: termios is plain data; tcgetattr fills it for a valid fd.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: `fd` is stdin, open for the life of the process; `saved`
        // is a valid termios to write into.
        if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
            return None;
        }
        let mut raw = saved;
        // SAFETY: cfmakeraw only edits the struct it is given.
        unsafe { libc::cfmakeraw(&mut raw) };
        // SAFETY: as for tcgetattr; `raw` is a valid termios.
        if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &raw) } != 0 {
            return None;
        }
        Some(RawMode { fd, saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: restores the settings read from the same fd in `stdin()`.
        unsafe { libc::tcsetattr(self.fd, libc::TCSANOW, &self.saved) };
    }
}

/// Starts the thread that reads stdin. Events arrive on the receiver and
/// `wake` is written after each batch. Input bytes are reserved in
/// `budget` before they are sent, so the thread stops reading while the
/// guest leaves its console unread.
pub fn spawn_stdin_reader(
    escapes: bool,
    wake: EventFd,
    budget: Arc<InputBudget>,
) -> Receiver<ConsoleEvent> {
    let (tx, rx) = channel();
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || read_stdin(escapes, &tx, &wake, &budget))
        .expect("spawn the stdin thread");
    rx
}

fn read_stdin(escapes: bool, tx: &Sender<ConsoleEvent>, wake: &EventFd, budget: &InputBudget) {
    let mut stdin = std::io::stdin().lock();
    let mut escape = Escape::default();
    let mut buf = [0u8; 4096];
    loop {
        let events = match stdin.read(&mut buf) {
            Ok(0) => vec![ConsoleEvent::Eof],
            Ok(n) if escapes => escape.feed(&buf[..n]),
            Ok(n) => vec![ConsoleEvent::Input(buf[..n].to_vec())],
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => vec![ConsoleEvent::Eof],
        };
        let end = events.contains(&ConsoleEvent::Eof);
        for event in events {
            match &event {
                ConsoleEvent::Input(bytes) => budget.reserve(bytes.len()),
                ConsoleEvent::Eof => budget.reserve(1),
                _ => {}
            }
            if tx.send(event).is_err() {
                return;
            }
        }
        let _ = wake.write(1);
        if end {
            return;
        }
    }
}

/// The event-loop side: moves console events into the UART and records a
/// quit request.
pub struct ConsoleInput {
    /// Console events from the stdin reader thread.
    pub rx: Receiver<ConsoleEvent>,
    /// Signalled when `rx` has events.
    pub wake: EventFd,
    /// The UART that takes the guest's input.
    pub serial: Arc<Mutex<ConsoleSerial>>,
    /// Set on Ctrl-A x.
    pub quit: Arc<std::sync::atomic::AtomicBool>,
    /// Where Ctrl-A p reads the process table and the files.
    pub introspect: crate::introspect::Shared,
}

impl MutEventSubscriber for ConsoleInput {
    fn process(&mut self, _events: Events, _ops: &mut EventOps) {
        let _ = self.wake.read();
        while let Ok(event) = self.rx.try_recv() {
            match event {
                ConsoleEvent::Input(bytes) => self.serial.lock().unwrap().push_input(&bytes),
                ConsoleEvent::Quit => self.quit.store(true, std::sync::atomic::Ordering::SeqCst),
                ConsoleEvent::Help => eprint!("{ESCAPE_HELP}"),
                ConsoleEvent::ProcessTable => {
                    let mut i = self.introspect.lock().unwrap();
                    i.drain();
                    let text = i.table_and_files_text();
                    drop(i);
                    crate::introspect::host_line(&format!(
                        "\nvmm: process table (read from guest memory):\n{text}"
                    ));
                }
                ConsoleEvent::Eof => self.serial.lock().unwrap().push_input(&[END_OF_INPUT]),
            }
        }
    }

    fn init(&mut self, ops: &mut EventOps) {
        ops.add(Events::new(&self.wake, EventSet::IN))
            .expect("register the console eventfd");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConsoleEvent::*;

    #[test]
    fn plain_bytes_pass() {
        assert_eq!(
            Escape::default().feed(b"ls\r"),
            vec![Input(b"ls\r".to_vec())]
        );
    }

    #[test]
    fn ctrl_a_x_quits_after_earlier_input() {
        assert_eq!(
            Escape::default().feed(b"ab\x01xcd"),
            vec![Input(b"ab".to_vec()), Quit, Input(b"cd".to_vec())]
        );
    }

    #[test]
    fn escape_split_across_reads() {
        let mut e = Escape::default();
        assert_eq!(e.feed(b"a\x01"), vec![Input(b"a".to_vec())]);
        assert_eq!(e.feed(b"h"), vec![Help]);
        assert_eq!(e.feed(b"\x01\x01"), vec![Input(vec![ESCAPE])]);
        assert_eq!(e.feed(b"\x01z"), vec![]);
        assert_eq!(
            e.feed(b"ps\x01p\r"),
            vec![Input(b"ps".to_vec()), ProcessTable, Input(b"\r".to_vec())]
        );
    }
}
