//! The console's line discipline (xv6's console, cooked mode): bytes typed
//! or piped in are edited into lines ([`crate::line::LineEditor`]: echo,
//! backspace, Ctrl-U) and only whole lines reach readers. Ctrl-D ends the
//! input: at the start of a line a read returns 0; after some text it
//! delivers that text without a newline. Ctrl-P is reported to the caller
//! (the kernel prints the process table).
//!
//! Completed lines wait in a fixed buffer; [`Cooked::has_room`] says whether
//! a whole further line would fit, so the caller feeds bytes only then and
//! leaves the rest in the UART (which holds off the sender).

use crate::line::{Action, LineEditor, MAX_LINE};

/// Bytes of completed input held for readers.
pub const BUF: usize = 4096;
/// Ctrl-D: end of input.
pub const EOF: u8 = 0x04;
/// Ctrl-P: print the process table.
pub const PROCDUMP: u8 = 0x10;

/// What feeding a byte asks of the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Nothing beyond the echo.
    None,
    /// Echo this.
    Echo(Action),
    /// A line (or an end of file) is ready: wake readers (after echoing
    /// the newline, if the action is not `None`).
    Ready(Action),
    /// Print the process table.
    Procdump,
}

/// The line discipline's state.
pub struct Cooked {
    editor: LineEditor,
    buf: [u8; BUF],
    /// Bytes ever added / taken (wrapping).
    head: usize,
    tail: usize,
}

impl Default for Cooked {
    fn default() -> Self {
        Self::new()
    }
}

impl Cooked {
    /// Empty.
    pub const fn new() -> Self {
        Cooked {
            editor: LineEditor::new(),
            buf: [0; BUF],
            head: 0,
            tail: 0,
        }
    }

    fn len(&self) -> usize {
        self.head.wrapping_sub(self.tail)
    }

    /// Whether a whole line (plus its newline) still fits.
    pub fn has_room(&self) -> bool {
        BUF - self.len() > MAX_LINE + 1
    }

    /// Whether a reader would get something (a line or an end of file).
    pub fn readable(&self) -> bool {
        self.len() > 0
    }

    fn push(&mut self, b: u8) {
        self.buf[self.head % BUF] = b;
        self.head = self.head.wrapping_add(1);
    }

    fn push_line(&mut self) {
        let n = self.editor.line_bytes().len();
        for i in 0..n {
            let b = self.editor.line_bytes()[i];
            self.push(b);
        }
    }

    /// Feeds one input byte. Call only when [`Cooked::has_room`].
    pub fn feed(&mut self, byte: u8) -> Event {
        match byte {
            PROCDUMP => Event::Procdump,
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
                    Event::Ready(Action::Submit)
                }
                Action::None => Event::None,
                a => Event::Echo(a),
            },
        }
    }

    /// Takes up to `out.len()` bytes of the first line (up to and including
    /// its newline). Returns 0 for an end of file (consumed) and for
    /// nothing available (check [`Cooked::readable`] first).
    pub fn read(&mut self, out: &mut [u8]) -> usize {
        let mut n = 0;
        while n < out.len() && self.len() > 0 {
            let b = self.buf[self.tail % BUF];
            if b == EOF {
                if n == 0 {
                    self.tail = self.tail.wrapping_add(1);
                }
                break;
            }
            self.tail = self.tail.wrapping_add(1);
            out[n] = b;
            n += 1;
            if b == b'\n' {
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

    #[test]
    fn room_runs_out() {
        let mut c = Cooked::new();
        let mut lines = 0;
        while c.has_room() {
            feed(&mut c, b"0123456789\n");
            lines += 1;
        }
        assert!(lines > 300);
        let mut buf = [0u8; 64];
        assert_eq!(c.read(&mut buf), 11);
        assert!(c.has_room() || lines * 11 > BUF - MAX_LINE);
    }
}
