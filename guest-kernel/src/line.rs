//! The console's line editor: turns the bytes a terminal (or a pipe) sends
//! into lines, and says what to echo.
//!
//! Enter arrives as `\r` from a terminal in raw mode and as `\n` from a pipe;
//! `\r\n` counts once. Backspace is DEL (0x7f) or BS (0x08); Ctrl-U erases
//! the line. Other control bytes are ignored, and bytes past the capacity are
//! dropped rather than ending the line early.

/// Longest line kept, in bytes.
pub const MAX_LINE: usize = 256;

/// What the caller should do after feeding a byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Nothing visible.
    None,
    /// Echo this byte.
    Echo(u8),
    /// Erase this many characters on screen (`\b \b` each).
    Erase(usize),
    /// Move to a new line; [`LineEditor::line`] holds the submitted line
    /// until the next [`LineEditor::feed`].
    Submit,
}

/// Line editor state.
#[derive(Debug)]
pub struct LineEditor {
    buf: [u8; MAX_LINE],
    len: usize,
    /// The previous byte was `\r`, so a following `\n` is the same Enter.
    after_cr: bool,
    /// The last action was [`Action::Submit`]: the next byte starts a new line.
    submitted: bool,
}

impl Default for LineEditor {
    fn default() -> Self {
        Self::new()
    }
}

impl LineEditor {
    /// An empty editor.
    pub const fn new() -> Self {
        LineEditor {
            buf: [0; MAX_LINE],
            len: 0,
            after_cr: false,
            submitted: false,
        }
    }

    /// Feeds one input byte.
    pub fn feed(&mut self, byte: u8) -> Action {
        if self.submitted {
            self.submitted = false;
            self.len = 0;
        }
        let after_cr = core::mem::replace(&mut self.after_cr, byte == b'\r');
        match byte {
            b'\n' if after_cr => Action::None,
            b'\r' | b'\n' => {
                self.submitted = true;
                Action::Submit
            }
            0x08 | 0x7f => {
                if self.len > 0 {
                    self.len -= 1;
                    Action::Erase(1)
                } else {
                    Action::None
                }
            }
            0x15 => Action::Erase(core::mem::take(&mut self.len)),
            b' '..=b'~' | 0x80..=0xff if self.len < MAX_LINE => {
                self.buf[self.len] = byte;
                self.len += 1;
                Action::Echo(byte)
            }
            _ => Action::None,
        }
    }

    /// The raw bytes of the line typed so far (or just submitted).
    pub fn line_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Whether a partial (unsubmitted, non-empty) line is pending; for
    /// Ctrl-D, which delivers it.
    pub fn take_partial(&mut self) -> bool {
        if self.submitted {
            self.submitted = false;
            self.len = 0;
        }
        self.len > 0
    }

    /// Forgets the line.
    pub fn clear(&mut self) {
        self.len = 0;
        self.submitted = false;
    }

    /// The line typed so far (after [`Action::Submit`], the submitted line).
    /// If it is not UTF-8, only its longest valid prefix.
    pub fn line(&self) -> &str {
        let bytes = &self.buf[..self.len];
        match core::str::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => core::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or(""),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_all(ed: &mut LineEditor, input: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        for &b in input {
            if ed.feed(b) == Action::Submit {
                lines.push(ed.line().to_string());
            }
        }
        lines
    }

    #[test]
    fn lines_from_pipe_and_terminal() {
        let mut ed = LineEditor::new();
        assert_eq!(
            feed_all(&mut ed, b"uptime\nsleep 5\r\nls\rcat x\n"),
            ["uptime", "sleep 5", "ls", "cat x"]
        );
    }

    #[test]
    fn empty_lines_still_submit() {
        let mut ed = LineEditor::new();
        assert_eq!(feed_all(&mut ed, b"\n\n"), ["", ""]);
    }

    #[test]
    fn backspace_and_kill() {
        let mut ed = LineEditor::new();
        assert_eq!(ed.feed(b'a'), Action::Echo(b'a'));
        assert_eq!(ed.feed(b'b'), Action::Echo(b'b'));
        assert_eq!(ed.feed(0x7f), Action::Erase(1));
        assert_eq!(ed.line(), "a");
        assert_eq!(ed.feed(0x08), Action::Erase(1));
        assert_eq!(ed.feed(0x08), Action::None, "nothing left to erase");
        ed.feed(b'x');
        ed.feed(b'y');
        assert_eq!(ed.feed(0x15), Action::Erase(2));
        assert_eq!(feed_all(&mut ed, b"ok\n"), ["ok"]);
    }

    #[test]
    fn control_bytes_ignored_and_overflow_dropped() {
        let mut ed = LineEditor::new();
        assert_eq!(ed.feed(0x1b), Action::None);
        for _ in 0..MAX_LINE + 10 {
            ed.feed(b'z');
        }
        assert_eq!(ed.feed(b'\n'), Action::Submit);
        assert_eq!(ed.line().len(), MAX_LINE);
    }
}
