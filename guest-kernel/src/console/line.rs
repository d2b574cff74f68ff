//! The console's line editor: turns the bytes a terminal (or a pipe) sends
//! into lines, and says what to echo.
//!
//! Enter arrives as `\r` from a terminal in raw mode and as `\n` from a pipe;
//! `\r\n` counts once. Backspace is DEL (0x7f) or BS (0x08) and erases one
//! character (a whole UTF-8 sequence); Ctrl-W erases the word before the
//! cursor (and the blanks after it); Ctrl-U erases the line. A tab is
//! text. Escape sequences (the arrow and function keys: `ESC [ ... final`,
//! `ESC O x`, or `ESC x`) are consumed whole and do nothing. Other control
//! bytes are ignored. A line holds at most `N` bytes: the first byte past
//! that is reported once ([`Action::Overflow`]) and the rest of the line's
//! bytes are dropped; Enter still ends the line.

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
    /// The line is full: this byte and the rest of the line are dropped
    /// (reported once per line, so the caller can say so).
    Overflow,
}

/// Where the editor is in an escape sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escape {
    /// Not in one.
    None,
    /// After ESC.
    Start,
    /// After `ESC [`: parameter and intermediate bytes until a final byte
    /// (0x40..=0x7e), ECMA-48 5.4.
    Csi,
    /// After `ESC O`: one more byte (SS3, the keypad and F1-F4).
    Ss3,
}

/// Line editor state for lines of up to `N` bytes.
#[derive(Debug)]
pub struct LineEditor<const N: usize> {
    buf: [u8; N],
    len: usize,
    /// The previous byte was `\r`, so a following `\n` is the same Enter.
    after_cr: bool,
    /// The last action was [`Action::Submit`]: the next byte starts a new line.
    submitted: bool,
    /// This line overflowed (already reported).
    overflowed: bool,
    escape: Escape,
}

impl<const N: usize> Default for LineEditor<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> LineEditor<N> {
    /// An empty editor.
    pub const fn new() -> Self {
        LineEditor {
            buf: [0; N],
            len: 0,
            after_cr: false,
            submitted: false,
            overflowed: false,
            escape: Escape::None,
        }
    }

    /// Feeds one input byte.
    pub fn feed(&mut self, byte: u8) -> Action {
        if self.submitted {
            self.submitted = false;
            self.len = 0;
            self.overflowed = false;
        }
        let after_cr = core::mem::replace(&mut self.after_cr, byte == b'\r');
        if self.escape != Escape::None {
            self.escape = match (self.escape, byte) {
                (Escape::Start, b'[') => Escape::Csi,
                (Escape::Start, b'O') => Escape::Ss3,
                (Escape::Csi, 0x20..=0x3f) => Escape::Csi,
                _ => Escape::None,
            };
            return Action::None;
        }
        match byte {
            b'\n' if after_cr => Action::None,
            b'\r' | b'\n' => {
                self.submitted = true;
                Action::Submit
            }
            0x08 | 0x7f => match self.erase_char() {
                true => Action::Erase(1),
                false => Action::None,
            },
            0x15 => {
                let chars = self.chars();
                self.len = 0;
                Action::Erase(chars)
            }
            0x17 => {
                let blank = |b: u8| b == b' ' || b == b'\t';
                let mut n = 0;
                while self.len > 0 && blank(self.buf[self.len - 1]) {
                    self.erase_char();
                    n += 1;
                }
                while self.len > 0 && !blank(self.buf[self.len - 1]) {
                    self.erase_char();
                    n += 1;
                }
                if n == 0 {
                    Action::None
                } else {
                    Action::Erase(n)
                }
            }
            0x1b => {
                self.escape = Escape::Start;
                Action::None
            }
            b'\t' | b' '..=b'~' | 0x80..=0xff if self.len < N => {
                self.buf[self.len] = byte;
                self.len += 1;
                Action::Echo(byte)
            }
            b'\t' | b' '..=b'~' | 0x80..=0xff if !self.overflowed => {
                self.overflowed = true;
                Action::Overflow
            }
            _ => Action::None,
        }
    }

    /// Takes the last character (a UTF-8 lead byte and its continuation
    /// bytes) off the line; false if the line is empty.
    fn erase_char(&mut self) -> bool {
        if self.len == 0 {
            return false;
        }
        self.len -= 1;
        while self.len > 0 && is_continuation(self.buf[self.len]) {
            self.len -= 1;
        }
        true
    }

    /// Characters on the line, as the screen shows them: bytes that are
    /// not UTF-8 continuation bytes.
    fn chars(&self) -> usize {
        self.line_bytes()
            .iter()
            .filter(|&&b| !is_continuation(b))
            .count()
    }

    /// Bytes of the line being typed (0 right after a submit: the next byte
    /// starts a new line).
    pub fn pending(&self) -> usize {
        if self.submitted { 0 } else { self.len }
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
            self.overflowed = false;
        }
        self.len > 0
    }

    /// Forgets the line.
    pub fn clear(&mut self) {
        self.len = 0;
        self.submitted = false;
        self.overflowed = false;
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

/// A UTF-8 continuation byte (`10xxxxxx`).
fn is_continuation(b: u8) -> bool {
    b & 0xC0 == 0x80
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_all<const N: usize>(ed: &mut LineEditor<N>, input: &[u8]) -> Vec<String> {
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
        let mut ed = LineEditor::<64>::new();
        assert_eq!(
            feed_all(&mut ed, b"uptime\nsleep 5\r\nls\rcat x\n"),
            ["uptime", "sleep 5", "ls", "cat x"]
        );
    }

    #[test]
    fn empty_lines_still_submit() {
        let mut ed = LineEditor::<64>::new();
        assert_eq!(feed_all(&mut ed, b"\n\n"), ["", ""]);
    }

    #[test]
    fn backspace_and_kill() {
        let mut ed = LineEditor::<64>::new();
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
        feed_all(&mut ed, "one twö  ".as_bytes());
        assert_eq!(
            ed.feed(0x17),
            Action::Erase(5),
            "the word and the blanks after it"
        );
        assert_eq!(ed.feed(0x17), Action::Erase(4));
        assert_eq!(ed.feed(0x17), Action::None);
        assert_eq!(feed_all(&mut ed, b"x\n"), ["x"]);
    }

    #[test]
    fn backspace_erases_a_whole_utf8_character() {
        let mut ed = LineEditor::<64>::new();
        feed_all(&mut ed, "aé€".as_bytes());
        assert_eq!(ed.feed(0x7f), Action::Erase(1));
        assert_eq!(ed.line(), "aé");
        assert_eq!(
            ed.feed(0x15),
            Action::Erase(2),
            "two characters, three bytes"
        );
    }

    #[test]
    fn escape_sequences_are_consumed_whole() {
        let mut ed = LineEditor::<64>::new();
        // Up arrow, right arrow, Delete (ESC [ 3 ~), F1 (ESC O P), Alt-x,
        // a modified arrow (ESC [ 1 ; 5 C).
        let keys = b"a\x1b[A\x1b[Cb\x1b[3~\x1bOPc\x1bxd\x1b[1;5Ce\n";
        assert_eq!(feed_all(&mut ed, keys), ["abcde"]);
        for &b in b"\x1b[A" {
            assert_eq!(ed.feed(b), Action::None);
        }
    }

    #[test]
    fn control_bytes_ignored_tab_kept() {
        let mut ed = LineEditor::<64>::new();
        assert_eq!(ed.feed(0x01), Action::None);
        assert_eq!(ed.feed(0x00), Action::None);
        assert_eq!(feed_all(&mut ed, b"a\tb\n"), ["a\tb"]);
    }

    #[test]
    fn overflow_is_reported_once_per_line() {
        let mut ed = LineEditor::<8>::new();
        for b in b"01234567" {
            assert_eq!(ed.feed(*b), Action::Echo(*b));
        }
        assert_eq!(ed.feed(b'8'), Action::Overflow);
        assert_eq!(ed.feed(b'9'), Action::None);
        assert_eq!(ed.feed(b'\n'), Action::Submit);
        assert_eq!(ed.line(), "01234567");
        // The next line starts afresh.
        for b in b"abcdefgh" {
            ed.feed(*b);
        }
        assert_eq!(ed.feed(b'i'), Action::Overflow);
        // Erasing makes room again on the same line.
        assert_eq!(ed.feed(0x7f), Action::Erase(1));
        assert_eq!(ed.feed(b'z'), Action::Echo(b'z'));
        assert_eq!(feed_all(&mut ed, b"\n"), ["abcdefgz"]);
    }
}
