//! The shell's line editor, for a console in raw mode: the keys a person
//! expects at a prompt, with the screen kept in step by ANSI escape
//! sequences.
//!
//! | key                          | does                                  |
//! |------------------------------|---------------------------------------|
//! | Left, Right (Ctrl-B, Ctrl-F) | move one character                    |
//! | Home, End (Ctrl-E)           | move to the start or the end          |
//! | Backspace, Delete            | erase before or under the cursor      |
//! | Ctrl-U, Ctrl-K               | erase to the start, to the end        |
//! | Ctrl-W                       | erase the word before the cursor      |
//! | Up, Down (Ctrl-N)            | walk the history                      |
//! | Tab                          | complete the word before the cursor   |
//! | Ctrl-L                       | clear the screen, redraw the line     |
//! | Ctrl-C                       | drop the line (`^C`)                  |
//! | Ctrl-D                       | end of input on an empty line, else Delete |
//! | Enter (`\r` or `\n`)         | submit the line                       |
//!
//! Ctrl-A (Home) is the VMM's escape prefix on a terminal, and Ctrl-P
//! prints the process table in the kernel: neither is needed here. Every
//! other control byte and unknown escape sequence is ignored. Text is
//! UTF-8; each character takes one column.
//!
//! Tab asks the [`Completer`] for the ways the word before the cursor can
//! go on: one is taken whole; several are cut to what they share, and
//! when that adds nothing they are listed below the line.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

/// History entries kept (older ones are dropped).
pub const HISTORY: usize = 500;

/// What a fed byte finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    /// Enter: the line (without its end).
    Line(String),
    /// Ctrl-D on an empty line.
    Eof,
    /// Ctrl-C: the line was dropped.
    Interrupt,
}

/// Where the editor is in an escape sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Esc {
    None,
    /// After ESC.
    Start,
    /// After `ESC [`, with the parameter bytes so far.
    Csi,
    /// After `ESC O`.
    Ss3,
}

/// What Tab offers: for the word before the cursor (`first`: it is the
/// line's first word, a command), each whole word it could become
/// (ending in a blank, or in `/` for a directory).
pub type Completer = Box<dyn Fn(&str, bool) -> Vec<String>>;

/// The line being edited, its cursor, and the history.
pub struct Editor {
    prompt: String,
    line: String,
    /// Byte offset of the cursor in `line` (on a character boundary).
    cursor: usize,
    history: Vec<String>,
    /// The history entry shown (`None`: the line being typed).
    shown: Option<usize>,
    /// The line being typed while the history is shown.
    typed: String,
    esc: Esc,
    /// Parameter bytes of a CSI sequence.
    params: Vec<u8>,
    /// A UTF-8 sequence still incomplete.
    partial: Vec<u8>,
    /// The last byte was `\r`: a `\n` right after is the same Enter.
    after_cr: bool,
    completer: Option<Completer>,
}

impl Editor {
    /// An editor that shows `prompt`.
    pub fn new(prompt: &str) -> Editor {
        Editor {
            prompt: prompt.into(),
            line: String::new(),
            cursor: 0,
            history: Vec::new(),
            shown: None,
            typed: String::new(),
            esc: Esc::None,
            params: Vec::new(),
            partial: Vec::new(),
            after_cr: false,
            completer: None,
        }
    }

    /// What Tab completes with.
    pub fn set_completer(&mut self, c: Completer) {
        self.completer = Some(c);
    }

    /// Starts a new line: writes the prompt to `out`.
    pub fn start(&mut self, out: &mut Vec<u8>) {
        self.line.clear();
        self.cursor = 0;
        self.shown = None;
        self.esc = Esc::None;
        self.partial.clear();
        out.extend_from_slice(self.prompt.as_bytes());
    }

    /// The history, oldest first.
    pub fn history(&self) -> &[String] {
        &self.history
    }

    /// Adds a line to the history (not a blank one, nor a repeat of the
    /// last).
    pub fn remember(&mut self, line: &str) {
        let line = line.trim_end();
        if line.trim().is_empty() || self.history.last().map(String::as_str) == Some(line) {
            return;
        }
        if self.history.len() == HISTORY {
            self.history.remove(0);
        }
        self.history.push(line.into());
    }

    /// Feeds one input byte; what to show goes to `out`.
    pub fn feed(&mut self, byte: u8, out: &mut Vec<u8>) -> Option<Done> {
        let after_cr = core::mem::replace(&mut self.after_cr, byte == b'\r');
        match self.esc {
            Esc::None => {}
            Esc::Start => {
                self.esc = match byte {
                    b'[' => Esc::Csi,
                    b'O' => Esc::Ss3,
                    _ => Esc::None,
                };
                self.params.clear();
                return None;
            }
            Esc::Csi => {
                if (0x20..=0x3f).contains(&byte) {
                    self.params.push(byte);
                } else {
                    self.esc = Esc::None;
                    self.csi(byte, out);
                }
                return None;
            }
            Esc::Ss3 => {
                self.esc = Esc::None;
                self.csi(byte, out);
                return None;
            }
        }
        match byte {
            b'\n' if after_cr => None,
            b'\r' | b'\n' => {
                self.cursor = 0;
                self.shown = None;
                out.extend_from_slice(b"\r\n");
                Some(Done::Line(core::mem::take(&mut self.line)))
            }
            0x03 => {
                out.extend_from_slice(b"^C\r\n");
                self.line.clear();
                self.cursor = 0;
                self.shown = None;
                Some(Done::Interrupt)
            }
            0x04 if self.line.is_empty() => Some(Done::Eof),
            0x04 => {
                self.delete(out);
                None
            }
            0x01 => self.moved(0, out),
            0x05 => self.moved(self.line.len(), out),
            0x02 => self.moved(self.prev(self.cursor), out),
            0x06 => self.moved(self.next(self.cursor), out),
            0x08 | 0x7f => {
                if self.cursor > 0 {
                    let at = self.prev(self.cursor);
                    self.line.replace_range(at..self.cursor, "");
                    self.cursor = at;
                    self.redraw(out);
                }
                None
            }
            0x0b => {
                self.line.truncate(self.cursor);
                self.redraw(out);
                None
            }
            0x15 => {
                self.line.replace_range(..self.cursor, "");
                self.cursor = 0;
                self.redraw(out);
                None
            }
            0x17 => {
                let before = &self.line[..self.cursor];
                let kept = before.trim_end_matches(' ');
                let at = kept.rfind(' ').map_or(0, |i| i + 1);
                self.line.replace_range(at..self.cursor, "");
                self.cursor = at;
                self.redraw(out);
                None
            }
            0x0c => {
                out.extend_from_slice(b"\x1b[H\x1b[2J");
                self.redraw(out);
                None
            }
            0x0e => {
                self.history_step(false, out);
                None
            }
            0x1b => {
                self.esc = Esc::Start;
                None
            }
            b'\t' => {
                self.complete(out);
                None
            }
            b' '..=b'~' => {
                let mut c = [0u8; 4];
                self.insert(char::from(byte).encode_utf8(&mut c), out);
                None
            }
            0x80..=0xff => {
                self.partial.push(byte);
                match core::str::from_utf8(&self.partial) {
                    Ok(s) => {
                        let s = String::from(s);
                        self.partial.clear();
                        self.insert(&s, out);
                    }
                    Err(e) if e.error_len().is_some() || self.partial.len() >= 4 => {
                        self.partial.clear();
                    }
                    Err(_) => {}
                }
                None
            }
            _ => None,
        }
    }

    /// The end of an escape sequence: `final` after the parameters.
    fn csi(&mut self, fin: u8, out: &mut Vec<u8>) {
        let p = core::mem::take(&mut self.params);
        match (fin, p.as_slice()) {
            (b'A', _) => self.history_step(true, out),
            (b'B', _) => self.history_step(false, out),
            (b'C', _) => {
                self.moved(self.next(self.cursor), out);
            }
            (b'D', _) => {
                self.moved(self.prev(self.cursor), out);
            }
            (b'H', _) | (b'~', b"1") | (b'~', b"7") => {
                self.moved(0, out);
            }
            (b'F', _) | (b'~', b"4") | (b'~', b"8") => {
                self.moved(self.line.len(), out);
            }
            (b'~', b"3") => self.delete(out),
            _ => {}
        }
    }

    /// Tab: completes the word before the cursor (see [`Completer`]).
    fn complete(&mut self, out: &mut Vec<u8>) {
        let Some(c) = self.completer.as_ref() else {
            return;
        };
        let before = &self.line[..self.cursor];
        let start = before.rfind(' ').map_or(0, |i| i + 1);
        let first = before[..start].trim().is_empty();
        let word = &before[start..];
        let options = c(word, first);
        let shared = match options.split_first() {
            None => return,
            Some((one, rest)) => rest.iter().fold(one.as_str(), |acc, o| {
                let n = acc
                    .char_indices()
                    .zip(o.chars())
                    .find(|((_, a), b)| a != b)
                    .map_or(acc.len().min(o.len()), |((i, _), _)| i);
                &acc[..n]
            }),
        };
        if shared.len() > word.len() && shared.starts_with(word) {
            let add = String::from(&shared[word.len()..]);
            self.insert(&add, out);
        } else if options.len() > 1 {
            out.extend_from_slice(b"\r\n");
            let names: Vec<&str> = options.iter().map(|o| o.trim_end()).collect();
            out.extend_from_slice(names.join("  ").as_bytes());
            out.extend_from_slice(b"\r\n");
            self.redraw(out);
        }
    }

    fn prev(&self, at: usize) -> usize {
        self.line[..at]
            .char_indices()
            .next_back()
            .map_or(0, |(i, _)| i)
    }

    fn next(&self, at: usize) -> usize {
        self.line[at..]
            .chars()
            .next()
            .map_or(at, |c| at + c.len_utf8())
    }

    fn moved(&mut self, to: usize, out: &mut Vec<u8>) -> Option<Done> {
        let (from, to) = (self.cursor, to);
        if to < from {
            let n = self.line[to..from].chars().count();
            out.extend_from_slice(alloc::format!("\x1b[{n}D").as_bytes());
        } else if to > from {
            out.extend_from_slice(&self.line.as_bytes()[from..to]);
        }
        self.cursor = to;
        None
    }

    fn insert(&mut self, s: &str, out: &mut Vec<u8>) {
        let at_end = self.cursor == self.line.len();
        self.line.insert_str(self.cursor, s);
        self.cursor += s.len();
        if at_end {
            out.extend_from_slice(s.as_bytes());
        } else {
            self.redraw(out);
        }
    }

    fn delete(&mut self, out: &mut Vec<u8>) {
        let end = self.next(self.cursor);
        if end > self.cursor {
            self.line.replace_range(self.cursor..end, "");
            self.redraw(out);
        }
    }

    /// Rewrites the prompt and the line, clears what is left of the old one,
    /// and puts the cursor back.
    fn redraw(&self, out: &mut Vec<u8>) {
        out.push(b'\r');
        out.extend_from_slice(self.prompt.as_bytes());
        out.extend_from_slice(self.line.as_bytes());
        out.extend_from_slice(b"\x1b[K");
        let back = self.line[self.cursor..].chars().count();
        if back > 0 {
            out.extend_from_slice(alloc::format!("\x1b[{back}D").as_bytes());
        }
    }

    /// Up (`older`) or Down through the history.
    fn history_step(&mut self, older: bool, out: &mut Vec<u8>) {
        let n = self.history.len();
        let next = match (self.shown, older) {
            (None, true) if n > 0 => Some(n - 1),
            (Some(i), true) => Some(i.saturating_sub(1)),
            (Some(i), false) if i + 1 < n => Some(i + 1),
            (Some(_), false) => None,
            (None, _) => return,
        };
        if self.shown.is_none() {
            self.typed = core::mem::take(&mut self.line);
        }
        self.shown = next;
        self.line = match next {
            Some(i) => self.history[i].clone(),
            None => core::mem::take(&mut self.typed),
        };
        self.cursor = self.line.len();
        self.redraw(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `keys`; returns what finished and the screen output.
    fn type_keys(e: &mut Editor, keys: &[u8]) -> (Option<Done>, Vec<u8>) {
        let mut out = Vec::new();
        for &k in keys {
            if let Some(d) = e.feed(k, &mut out) {
                return (Some(d), out);
            }
        }
        (None, out)
    }

    fn line(e: &mut Editor, keys: &[u8]) -> String {
        let mut out = Vec::new();
        e.start(&mut out);
        match type_keys(e, keys).0 {
            Some(Done::Line(l)) => l,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn typing_and_enter() {
        let mut e = Editor::new("$ ");
        let mut out = Vec::new();
        e.start(&mut out);
        assert_eq!(out, b"$ ");
        let (d, out) = type_keys(&mut e, b"echo hi\r\n");
        assert_eq!(d, Some(Done::Line("echo hi".into())));
        assert_eq!(out, b"echo hi\r\n");
        // The \n of \r\n is the same Enter, not an empty line.
        assert_eq!(line(&mut e, b"x\n"), "x");
    }

    #[test]
    fn cursor_keys_edit_in_the_middle() {
        let mut e = Editor::new("$ ");
        // "ech" Left Left, insert "X" -> "eXch"; End, "o" -> "eXcho".
        assert_eq!(line(&mut e, b"ech\x1b[D\x1b[DX\x1b[Fo\r"), "eXcho");
        // Home, Delete -> "cho"; Ctrl-E appends.
        assert_eq!(line(&mut e, b"echo\x1b[H\x1b[3~\x05!\r"), "cho!");
        // SS3 arrows (application mode) work too.
        assert_eq!(line(&mut e, b"ab\x1bODc\r"), "acb");
        // Backspace at the start does nothing; Right past the end neither.
        assert_eq!(line(&mut e, b"\x7f\x1b[Cok\r"), "ok");
    }

    #[test]
    fn erasing_keys() {
        let mut e = Editor::new("$ ");
        assert_eq!(line(&mut e, b"one two  \x17three\r"), "one three");
        assert_eq!(line(&mut e, b"abc\x15x\r"), "x");
        assert_eq!(line(&mut e, b"abcd\x1b[D\x1b[D\x0b\r"), "ab");
        assert_eq!(line(&mut e, b"ab\x7f\x08c\r"), "c");
        assert_eq!(
            line(&mut e, b"h\xc3\xa9\x7fa\r"),
            "ha",
            "a UTF-8 character erased whole"
        );
    }

    #[test]
    fn history_walks_and_keeps_the_typed_line() {
        let mut e = Editor::new("$ ");
        for l in ["first", "second", "second", " "] {
            e.remember(l);
        }
        assert_eq!(e.history(), ["first", "second"]);
        assert_eq!(line(&mut e, b"\x1b[A\r"), "second");
        assert_eq!(line(&mut e, b"\x1b[A\x1b[A\x1b[A\r"), "first");
        assert_eq!(line(&mut e, b"new\x1b[A\x1b[B\r"), "new");
        assert_eq!(line(&mut e, b"\x1b[A\x1b[A\x0e!\r"), "second!");
        for i in 0..HISTORY + 5 {
            e.remember(&alloc::format!("{i}"));
        }
        assert_eq!(e.history().len(), HISTORY);
        assert_eq!(e.history()[0], "5");
    }

    #[test]
    fn control_keys() {
        let mut e = Editor::new("$ ");
        let mut out = Vec::new();
        e.start(&mut out);
        let (d, out) = type_keys(&mut e, b"abc\x03");
        assert_eq!(d, Some(Done::Interrupt));
        assert!(out.ends_with(b"^C\r\n"));
        e.start(&mut Vec::new());
        assert_eq!(type_keys(&mut e, b"\x04").0, Some(Done::Eof));
        assert_eq!(
            line(&mut e, b"ab\x1b[D\x04\r"),
            "a",
            "Ctrl-D in a line deletes"
        );
        // Unknown keys and sequences are ignored whole.
        assert_eq!(line(&mut e, b"a\x1b[15~\x1b[1;5Cb\x07\r"), "ab");
        let (_, out) = type_keys(&mut e, b"\x0c");
        assert!(out.starts_with(b"\x1b[H\x1b[2J\r$ "));
    }

    #[test]
    fn tab_completes() {
        let mut e = Editor::new("$ ");
        e.set_completer(Box::new(|word, first| {
            let all: &[&str] = if first {
                &["spin ", "sleep ", "sh "]
            } else {
                &["/etc/", "/etc/motd "]
            };
            all.iter()
                .filter(|o| o.starts_with(word))
                .map(|o| String::from(*o))
                .collect()
        }));
        // One way: taken whole.
        assert_eq!(line(&mut e, b"sp\t1\r"), "spin 1");
        // Several: what they share, then the list.
        e.start(&mut Vec::new());
        let (_, out) = type_keys(&mut e, b"s\t");
        assert!(out.ends_with(b"spin  sleep  sh\r\n\r$ s\x1b[K"), "{out:?}");
        assert_eq!(
            type_keys(&mut e, b"l\t\r").0,
            Some(Done::Line("sleep ".into()))
        );
        // Not the first word: paths.
        assert_eq!(line(&mut e, b"cat /e\t\r"), "cat /etc/");
        assert_eq!(line(&mut e, b"cat /etc/m\t\r"), "cat /etc/motd ");
        // Nothing to offer: nothing happens.
        assert_eq!(line(&mut e, b"x\t\r"), "x");
    }

    #[test]
    fn redraw_puts_the_cursor_back() {
        let mut e = Editor::new("$ ");
        e.start(&mut Vec::new());
        let (_, out) = type_keys(&mut e, b"abc\x1b[D\x1b[DX");
        assert!(out.ends_with(b"\r$ aXbc\x1b[K\x1b[2D"), "{out:?}");
    }
}
