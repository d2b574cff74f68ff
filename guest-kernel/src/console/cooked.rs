//! The console's line discipline, as a Unix terminal's.
//!
//! In canonical mode (the default) bytes typed or piped in are edited into
//! lines ([`super::line::LineEditor`]: backspace, Ctrl-U, Ctrl-W, escape
//! sequences consumed whole) and only whole lines reach readers. Ctrl-D
//! ends the input: at the start of a line a read returns 0; after some text
//! it delivers that text without a newline. A line holds up to
//! [`MAX_LINE`] bytes (as a Linux terminal's 4095); past that the editor
//! reports an overflow once and drops the rest of the line, and the caller
//! says so. In raw mode (canonical off) every byte is input as it comes.
//! Echo can be off in either.
//!
//! With signals on, Ctrl-C, Ctrl-Z and Ctrl-\ are not input: they throw
//! away what is buffered and ask the caller to signal the foreground group
//! (`SIGINT`, `SIGTSTP`, `SIGQUIT`). Ctrl-P, in every mode, asks the
//! caller to print the process table.
//!
//! Input waits in a fixed buffer; [`Cooked::has_room`] says whether the
//! line being typed could still be completed if the next byte were fed, so
//! the caller feeds bytes only then and leaves the rest in the UART (which
//! holds off the sender). A line never exceeds half the buffer, so a full
//! buffer always holds a whole line a reader can take.

use super::line::{Action, LineEditor};
use abi::signal::{SIGINT, SIGQUIT, SIGTSTP};
use abi::sys::{TTY_CANON, TTY_DEFAULT, TTY_ECHO, TTY_SIG};

/// Longest line, in bytes (without its newline).
pub const MAX_LINE: usize = 4095;
/// Bytes of input held for readers.
pub const BUF: usize = 8192;
const _: () = assert!(BUF >= 2 * (MAX_LINE + 1));
/// Ctrl-D: end of input.
pub const EOF: u8 = 0x04;
/// Ctrl-P: print the process table.
pub const PROCDUMP: u8 = 0x10;
/// Ctrl-C: interrupt.
pub const INTR: u8 = 0x03;
/// Ctrl-Z: suspend.
pub const SUSP: u8 = 0x1A;
/// Ctrl-\: quit.
pub const QUIT: u8 = 0x1C;

/// What feeding a byte asks of the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Nothing beyond the echo.
    None,
    /// Echo this.
    Echo(Action),
    /// Input (a line, an end of file, or in raw mode a byte) is ready:
    /// wake readers (after the echo, if the action is not `None`).
    Ready(Action),
    /// Print the process table.
    Procdump,
    /// The line is longer than [`MAX_LINE`]: its rest is dropped (once per
    /// line; the caller says so).
    Overflow,
    /// Send this signal to the foreground group (echo the key as `^C`,
    /// `^Z` or `^\` when echo is on); buffered input is gone.
    Signal(u32, u8),
}

/// The line discipline's state.
pub struct Cooked {
    editor: LineEditor<MAX_LINE>,
    buf: [u8; BUF],
    /// Bytes ever added / taken (wrapping).
    head: usize,
    tail: usize,
    /// `TTY_*` bits.
    mode: u64,
}

impl Default for Cooked {
    fn default() -> Self {
        Self::new()
    }
}

impl Cooked {
    /// Empty, in [`TTY_DEFAULT`] mode.
    pub const fn new() -> Self {
        Cooked {
            editor: LineEditor::new(),
            buf: [0; BUF],
            head: 0,
            tail: 0,
            mode: TTY_DEFAULT,
        }
    }

    fn len(&self) -> usize {
        self.head.wrapping_sub(self.tail)
    }

    /// The mode (`TTY_*` bits).
    pub fn mode(&self) -> u64 {
        self.mode
    }

    /// Sets the mode. Leaving canonical mode makes the line being typed
    /// input as it stands (a raw reader gets the bytes typed ahead).
    pub fn set_mode(&mut self, mode: u64) {
        if self.mode & TTY_CANON != 0 && mode & TTY_CANON == 0 && self.editor.pending() > 0 {
            self.push_line();
            self.editor.clear();
        }
        self.mode = mode & (TTY_CANON | TTY_ECHO | TTY_SIG);
    }

    fn canonical(&self) -> bool {
        self.mode & TTY_CANON != 0
    }

    /// Whether the line being edited, one more byte and a newline would
    /// still fit: only then may the caller feed a byte.
    pub fn has_room(&self) -> bool {
        BUF - self.len() >= self.editor.pending() + 2
    }

    /// Whether a reader would get something (a line, an end of file, or in
    /// raw mode a byte).
    pub fn readable(&self) -> bool {
        self.len() > 0
    }

    fn push(&mut self, b: u8) {
        self.buf[self.head % BUF] = b;
        self.head = self.head.wrapping_add(1);
    }

    /// Appends the edited line (the caller checked the room): at most two
    /// slice copies, not a byte loop.
    fn push_line(&mut self) {
        let line = self.editor.line_bytes();
        let at = self.head % BUF;
        let first = line.len().min(BUF - at);
        self.buf[at..at + first].copy_from_slice(&line[..first]);
        self.buf[..line.len() - first].copy_from_slice(&line[first..]);
        self.head = self.head.wrapping_add(line.len());
    }

    /// Feeds one input byte. Call only when [`Cooked::has_room`].
    pub fn feed(&mut self, byte: u8) -> Event {
        if byte == PROCDUMP {
            return Event::Procdump;
        }
        if self.mode & TTY_SIG != 0 {
            let sig = match byte {
                INTR => Some(SIGINT),
                SUSP => Some(SIGTSTP),
                QUIT => Some(SIGQUIT),
                _ => None,
            };
            if let Some(sig) = sig {
                self.editor.clear();
                self.tail = self.head;
                return Event::Signal(sig, byte);
            }
        }
        let echo = self.mode & TTY_ECHO != 0;
        if !self.canonical() {
            self.push(byte);
            return Event::Ready(if echo {
                Action::Echo(byte)
            } else {
                Action::None
            });
        }
        let quiet = |a: Action| if echo { a } else { Action::None };
        match byte {
            EOF => {
                let pending = self.editor.take_partial();
                if pending {
                    self.push_line();
                    self.editor.clear();
                } else {
                    self.push(EOF);
                }
                Event::Ready(Action::None)
            }
            _ => match self.editor.feed(byte) {
                Action::Submit => {
                    self.push_line();
                    self.push(b'\n');
                    Event::Ready(quiet(Action::Submit))
                }
                Action::None => Event::None,
                Action::Overflow => Event::Overflow,
                a if echo => Event::Echo(a),
                _ => Event::None,
            },
        }
    }

    /// Takes up to `out.len()` bytes: in canonical mode of the first line
    /// (up to and including its newline), returning 0 for an end of file
    /// (consumed); in raw mode the bytes there are, up to and including
    /// the first Enter (`\r` or `\n`), so a program that reads a line in
    /// raw mode leaves the next line to the next reader. Returns 0 for
    /// nothing available too (check [`Cooked::readable`] first).
    pub fn read(&mut self, out: &mut [u8]) -> usize {
        let canonical = self.canonical();
        let mut n = 0;
        while n < out.len() && self.len() > 0 {
            let b = self.buf[self.tail % BUF];
            if b == EOF && canonical {
                if n == 0 {
                    self.tail = self.tail.wrapping_add(1);
                }
                break;
            }
            self.tail = self.tail.wrapping_add(1);
            out[n] = b;
            n += 1;
            if b == b'\n' || (b == b'\r' && !canonical) {
                break;
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(c: &mut Cooked, s: &[u8]) -> Vec<Event> {
        s.iter().map(|&b| c.feed(b)).collect()
    }

    #[test]
    fn lines_eof_and_procdump() {
        let mut c = Cooked::new();
        assert!(!c.readable());
        feed(&mut c, b"ab\x7fc");
        assert!(!c.readable(), "no whole line yet");
        assert_eq!(c.feed(b'\n'), Event::Ready(Action::Submit));
        assert_eq!(c.feed(PROCDUMP), Event::Procdump);
        feed(&mut c, b"xyz\n");
        let mut buf = [0u8; 16];
        let n = c.read(&mut buf);
        assert_eq!(&buf[..n], b"ac\n");
        let n = c.read(&mut buf[..2]);
        assert_eq!(&buf[..n], b"xy");
        let n = c.read(&mut buf);
        assert_eq!(&buf[..n], b"z\n");
        // Ctrl-D at the start of a line: one read returns 0.
        feed(&mut c, b"\x04");
        assert!(c.readable());
        assert_eq!(c.read(&mut buf), 0);
        assert!(!c.readable());
        // Ctrl-D after text delivers the text, no newline.
        feed(&mut c, b"hi\x04");
        let n = c.read(&mut buf);
        assert_eq!(&buf[..n], b"hi");
        assert!(!c.readable());
    }

    /// Feeds `s` while there is room; the bytes fed.
    fn feed_while_room(c: &mut Cooked, s: &[u8]) -> usize {
        let mut n = 0;
        for &b in s {
            if !c.has_room() {
                break;
            }
            c.feed(b);
            n += 1;
        }
        n
    }

    #[test]
    fn room_runs_out_and_comes_back() {
        let mut c = Cooked::new();
        let line = b"0123456789\n";
        let mut fed = 0;
        while c.has_room() {
            fed += feed_while_room(&mut c, line);
        }
        // Every byte up to a full buffer was taken, none lost.
        assert_eq!(
            fed,
            BUF - 1,
            "a byte short: the next could not end its line"
        );
        let mut buf = [0u8; 64];
        assert_eq!(c.read(&mut buf), 11);
        assert!(c.has_room(), "a read makes room");
    }

    #[test]
    fn longest_lines_come_back_whole() {
        let mut c = Cooked::new();
        let long: Vec<u8> = (0..MAX_LINE).map(|i| b'a' + (i % 26) as u8).collect();
        for _ in 0..2 {
            assert_eq!(feed_while_room(&mut c, &long), MAX_LINE);
            assert_eq!(c.feed(b'\n'), Event::Ready(Action::Submit));
        }
        assert!(!c.has_room(), "two longest lines fill the buffer");
        let mut got = Vec::new();
        let mut buf = [0u8; 1000];
        while got.len() < MAX_LINE + 1 {
            let n = c.read(&mut buf);
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(&got[..MAX_LINE], &long[..]);
        assert_eq!(got[MAX_LINE], b'\n');
        assert!(c.has_room());
    }

    #[test]
    fn an_overlong_line_is_reported_once_and_cut() {
        let mut c = Cooked::new();
        let mut events = Vec::new();
        for _ in 0..MAX_LINE + 3 {
            events.push(c.feed(b'x'));
        }
        assert_eq!(
            events.iter().filter(|e| **e == Event::Overflow).count(),
            1,
            "one report"
        );
        assert_eq!(events[MAX_LINE], Event::Overflow);
        c.feed(b'\n');
        let mut buf = vec![0u8; MAX_LINE + 8];
        assert_eq!(c.read(&mut buf), MAX_LINE + 1);
    }

    #[test]
    fn raw_mode_hands_over_each_byte_and_what_was_typed_ahead() {
        let mut c = Cooked::new();
        feed(&mut c, b"ls -");
        c.set_mode(TTY_SIG);
        assert!(c.readable(), "the partial line is input now");
        assert_eq!(c.feed(b'x'), Event::Ready(Action::None), "no echo");
        assert_eq!(
            c.feed(0x1b),
            Event::Ready(Action::None),
            "escapes are bytes"
        );
        let mut buf = [0u8; 16];
        let n = c.read(&mut buf);
        assert_eq!(&buf[..n], b"ls -x\x1b");
        c.set_mode(TTY_ECHO);
        assert_eq!(c.feed(b'y'), Event::Ready(Action::Echo(b'y')));
        assert_eq!(
            c.feed(INTR),
            Event::Ready(Action::Echo(INTR)),
            "no signals: a byte"
        );
    }

    #[test]
    fn raw_reads_end_at_enter() {
        let mut c = Cooked::new();
        c.set_mode(0);
        feed(&mut c, b"ab\rcd\nef");
        let mut buf = [0u8; 16];
        let n = c.read(&mut buf);
        assert_eq!(&buf[..n], b"ab\r");
        let n = c.read(&mut buf);
        assert_eq!(&buf[..n], b"cd\n");
        let n = c.read(&mut buf);
        assert_eq!(&buf[..n], b"ef");
        assert!(!c.readable());
    }

    #[test]
    fn signal_keys_flush_and_ask_for_a_signal() {
        let mut c = Cooked::new();
        feed(&mut c, b"done\nhalf");
        assert_eq!(c.feed(INTR), Event::Signal(SIGINT, INTR));
        assert!(!c.readable(), "typed-ahead input is thrown away");
        assert_eq!(c.feed(SUSP), Event::Signal(SIGTSTP, SUSP));
        assert_eq!(c.feed(QUIT), Event::Signal(SIGQUIT, QUIT));
        feed(&mut c, b"ok\n");
        let mut buf = [0u8; 16];
        let n = c.read(&mut buf);
        assert_eq!(&buf[..n], b"ok\n", "the half line went with the rest");
        c.set_mode(TTY_CANON | TTY_ECHO);
        assert_eq!(
            c.feed(INTR),
            Event::None,
            "without signals, Ctrl-C is ignored in a line"
        );
        assert_eq!(
            c.feed(PROCDUMP),
            Event::Procdump,
            "Ctrl-P works in every mode"
        );
    }

    #[test]
    fn canonical_without_echo_still_edits() {
        let mut c = Cooked::new();
        c.set_mode(TTY_CANON | TTY_SIG);
        assert_eq!(c.feed(b'a'), Event::None);
        assert_eq!(c.feed(0x7f), Event::None);
        assert_eq!(c.feed(b'b'), Event::None);
        assert_eq!(c.feed(b'\n'), Event::Ready(Action::None));
        let mut buf = [0u8; 4];
        let n = c.read(&mut buf);
        assert_eq!(&buf[..n], b"b\n");
    }
}
