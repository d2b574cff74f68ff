//! What the file programs (`wc`, `grep`, `head`, `cat`, `cp`, `mv`,
//! `mkdir`, ...) share: their options, counting, lines and path
//! arithmetic, kept apart from the system calls so they can be tested on
//! the host; and the few loops over the calls every one of them runs
//! (an input read a chunk at a time, output gathered into chunks).
//!
//! A `read` or `write` moves at most [`CHUNK`] bytes per call (the
//! kernel's [`abi::sys::MAX_IO`]): everything here loops on the count.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use ulib::io::{STDIN, STDOUT, write_all};
use ulib::{Errno, Fd};

/// Bytes moved per `read` or `write` at most.
pub const CHUNK: usize = abi::sys::MAX_IO as usize;

// ------------------------------------------------------------ options

/// Single-letter options (`-l -w`, or together `-lw`) before the
/// operands: the letters given, and the operands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flags<'a> {
    letters: String,
    /// The operands, in order.
    pub operands: Vec<&'a str>,
}

impl Flags<'_> {
    /// Whether option `-c` was given.
    pub fn has(&self, c: char) -> bool {
        self.letters.contains(c)
    }
}

/// Splits `args` (without the program's name) into options among `known`
/// and operands. Options end at the first operand or at `--`; `-` alone
/// is an operand (standard input). `Err`: the first argument holding an
/// unknown letter.
pub fn parse_flags<'a>(args: &[&'a str], known: &str) -> Result<Flags<'a>, String> {
    let mut letters = String::new();
    let mut i = 0;
    while let Some(&a) = args.get(i) {
        if a == "--" {
            i += 1;
            break;
        }
        let Some(opts) = a.strip_prefix('-').filter(|o| !o.is_empty()) else {
            break;
        };
        if !opts.chars().all(|c| known.contains(c)) {
            return Err(a.to_string());
        }
        letters.push_str(opts);
        i += 1;
    }
    Ok(Flags {
        letters,
        operands: args[i..].to_vec(),
    })
}

/// `head`'s arguments (without its name): `-n N`, `-nN` or `-N`, then the
/// files. The line count (10 if not given) and the files; `Err`: what is
/// wrong, for a usage message.
pub fn parse_head<'a>(args: &[&'a str]) -> Result<(u64, Vec<&'a str>), String> {
    let mut n = 10;
    let mut i = 0;
    let count = |s: &str| {
        s.parse::<u64>()
            .map_err(|_| alloc::format!("{s}: not a number of lines"))
    };
    while let Some(&a) = args.get(i) {
        i += 1;
        match a {
            "--" => break,
            "-n" => {
                let v = args.get(i).ok_or_else(|| "-n needs a number".to_string())?;
                n = count(v)?;
                i += 1;
            }
            _ if a.starts_with("-n") => n = count(&a[2..])?,
            _ if a.len() > 1 && a.starts_with('-') => {
                n = count(&a[1..]).map_err(|_| alloc::format!("{a}: unknown option"))?;
            }
            _ => {
                i -= 1;
                break;
            }
        }
    }
    Ok((n, args[i..].to_vec()))
}

// ------------------------------------------------------------ wc

/// What `wc` counts in a stream.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Newlines.
    pub lines: u64,
    /// Runs of bytes other than ASCII white space.
    pub words: u64,
    /// Bytes.
    pub bytes: u64,
}

impl Counts {
    /// The sum of two counts (a total).
    pub fn plus(self, o: Counts) -> Counts {
        Counts {
            lines: self.lines + o.lines,
            words: self.words + o.words,
            bytes: self.bytes + o.bytes,
        }
    }
}

/// Counts a stream given in chunks: a word split between two chunks
/// counts once.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counter {
    counts: Counts,
    in_word: bool,
}

impl Counter {
    /// Counts `chunk`, the stream's next bytes.
    pub fn feed(&mut self, chunk: &[u8]) {
        let c = &mut self.counts;
        c.bytes += chunk.len() as u64;
        for &b in chunk {
            if b == b'\n' {
                c.lines += 1;
            }
            let space = matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0B | 0x0C);
            if !space && !self.in_word {
                c.words += 1;
            }
            self.in_word = !space;
        }
    }

    /// The counts so far.
    pub fn counts(&self) -> Counts {
        self.counts
    }
}

/// Which of the counts `wc` shows (always in the order lines, words,
/// bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Columns {
    /// `-l`.
    pub lines: bool,
    /// `-w`.
    pub words: bool,
    /// `-c`.
    pub bytes: bool,
}

impl Columns {
    /// The columns options ask for: all three when none does.
    pub fn from_flags(f: &Flags) -> Columns {
        let (lines, words, bytes) = (f.has('l'), f.has('w'), f.has('c'));
        if lines || words || bytes {
            Columns {
                lines,
                words,
                bytes,
            }
        } else {
            Columns {
                lines: true,
                words: true,
                bytes: true,
            }
        }
    }

    fn pick(self, c: Counts) -> impl Iterator<Item = u64> {
        [
            (self.lines, c.lines),
            (self.words, c.words),
            (self.bytes, c.bytes),
        ]
        .into_iter()
        .filter_map(|(on, v)| on.then_some(v))
    }
}

/// `wc`'s report: a line per row, the chosen counts right-aligned to the
/// width of the largest number shown and separated by a space, then the
/// row's name if it has one.
pub fn format_counts(rows: &[(Counts, Option<&str>)], cols: Columns) -> String {
    let digits = |v: u64| v.checked_ilog10().map_or(1, |d| d as usize + 1);
    let width = rows
        .iter()
        .flat_map(|(c, _)| cols.pick(*c))
        .map(digits)
        .max()
        .unwrap_or(1);
    let mut out = String::new();
    for (c, name) in rows {
        let nums: Vec<String> = cols
            .pick(*c)
            .map(|v| alloc::format!("{v:>width$}"))
            .collect();
        out.push_str(&nums.join(" "));
        if let Some(n) = name {
            out.push(' ');
            out.push_str(n);
        }
        out.push('\n');
    }
    out
}

// ------------------------------------------------------------ lines

/// Splits a stream given in chunks into lines, each with its newline (the
/// last may lack one).
#[derive(Debug, Default)]
pub struct Lines {
    partial: Vec<u8>,
}

impl Lines {
    /// Gives `f` every line that `chunk`, the stream's next bytes,
    /// completes; stops at `f`'s first error.
    pub fn feed<E>(
        &mut self,
        chunk: &[u8],
        mut f: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut start = 0;
        while let Some(i) = chunk[start..].iter().position(|&b| b == b'\n') {
            let end = start + i + 1;
            if self.partial.is_empty() {
                f(&chunk[start..end])?;
            } else {
                self.partial.extend_from_slice(&chunk[start..end]);
                let line = core::mem::take(&mut self.partial);
                f(&line)?;
            }
            start = end;
        }
        self.partial.extend_from_slice(&chunk[start..]);
        Ok(())
    }

    /// At the end of the stream: gives `f` the last line if it had no
    /// newline.
    pub fn finish<E>(&mut self, f: impl FnOnce(&[u8]) -> Result<(), E>) -> Result<(), E> {
        if self.partial.is_empty() {
            return Ok(());
        }
        let line = core::mem::take(&mut self.partial);
        f(&line)
    }
}

/// Whether `hay` holds `needle` (an empty needle is everywhere).
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

/// How much of `chunk` to keep while `left` lines are still wanted: up to
/// and including the `left`-th newline (all of it if it holds fewer);
/// `left` goes down by the newlines kept.
pub fn take_lines(chunk: &[u8], left: &mut u64) -> usize {
    let mut kept = 0;
    while *left > 0 && kept < chunk.len() {
        match chunk[kept..].iter().position(|&b| b == b'\n') {
            Some(i) => {
                kept += i + 1;
                *left -= 1;
            }
            None => kept = chunk.len(),
        }
    }
    kept
}

// ------------------------------------------------------------ paths

/// The last name in `path` (trailing slashes ignored; `/` for the root).
pub fn basename(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return if path.is_empty() { "" } else { "/" };
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

/// `name` in directory `dir`.
pub fn join(dir: &str, name: &str) -> String {
    let d = dir.trim_end_matches('/');
    if d.is_empty() && dir.starts_with('/') {
        alloc::format!("/{name}")
    } else {
        alloc::format!("{d}/{name}")
    }
}

/// The directories `mkdir -p path` makes, outermost first: `path` cut
/// after each of its names (`a/b/c`: `a`, `a/b`, `a/b/c`).
pub fn prefixes(path: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let b = path.as_bytes();
    for i in 0..b.len() {
        let ends_name = b[i] != b'/' && b.get(i + 1).is_none_or(|&c| c == b'/');
        if ends_name {
            out.push(&path[..=i]);
        }
    }
    out
}

// ------------------------------------------------------------ the calls

/// A file a program reads: `-` is standard input (not closed), any other
/// name is opened read-only and closed when this is dropped.
pub struct Input {
    /// Its fd.
    pub fd: Fd,
}

impl Input {
    /// Opens `name` for reading.
    pub fn open(name: &str) -> Result<Input, Errno> {
        if name == "-" {
            return Ok(Input { fd: STDIN });
        }
        ulib::open(name, abi::fs::O_RDONLY | abi::fs::O_CLOEXEC).map(|fd| Input { fd })
    }

    /// Reads to the end a chunk at a time, giving each chunk to `f` until
    /// it returns `false`; `Err` on a read error (a directory:
    /// `EISDIR`).
    pub fn each_chunk(&self, mut f: impl FnMut(&[u8]) -> bool) -> Result<(), Errno> {
        let mut buf = [0u8; CHUNK];
        loop {
            match ulib::read(self.fd, &mut buf)? {
                0 => return Ok(()),
                n if !f(&buf[..n]) => return Ok(()),
                _ => {}
            }
        }
    }
}

impl Drop for Input {
    fn drop(&mut self) {
        if self.fd != STDIN {
            let _ = ulib::close(self.fd);
        }
    }
}

/// Output gathered into chunks of [`CHUNK`] bytes before it is written
/// to an fd, so many short lines cost few calls. The first write error
/// is kept, and later output dropped.
pub struct Output {
    fd: Fd,
    buf: Vec<u8>,
    error: Option<Errno>,
}

impl Output {
    /// Output to standard output.
    pub fn stdout() -> Output {
        Output {
            fd: STDOUT,
            buf: Vec::with_capacity(CHUNK),
            error: None,
        }
    }

    /// Adds `bytes`, writing whole chunks as they fill.
    pub fn put(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= CHUNK {
            // A failure is kept for the caller's last flush.
            let _ = self.flush();
        }
    }

    /// Writes what is gathered: `Err` with the first write error so far.
    pub fn flush(&mut self) -> Result<(), Errno> {
        if self.error.is_none() && !self.buf.is_empty() {
            self.error = write_all(self.fd, &self.buf).err();
        }
        self.buf.clear();
        self.error.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn flags_and_operands() {
        let f = parse_flags(&["-l", "-wc", "a", "-l"], "lwc").unwrap();
        assert!(f.has('l') && f.has('w') && f.has('c'));
        assert_eq!(f.operands, ["a", "-l"], "options end at the first operand");
        let f = parse_flags(&["-v", "--", "-x", "f"], "vc").unwrap();
        assert!(f.has('v') && !f.has('c'));
        assert_eq!(f.operands, ["-x", "f"]);
        assert_eq!(parse_flags(&["-"], "v").unwrap().operands, ["-"]);
        assert_eq!(parse_flags(&["-vx"], "vc"), Err("-vx".to_string()));
        assert!(parse_flags(&[], "").unwrap().operands.is_empty());
    }

    #[test]
    fn head_arguments() {
        assert_eq!(parse_head(&[]), Ok((10, vec![])));
        assert_eq!(parse_head(&["-n", "3", "f"]), Ok((3, vec!["f"])));
        assert_eq!(parse_head(&["-n0"]), Ok((0, vec![])));
        assert_eq!(parse_head(&["-5", "a", "b"]), Ok((5, vec!["a", "b"])));
        assert_eq!(parse_head(&["--", "-5"]), Ok((10, vec!["-5"])));
        assert_eq!(parse_head(&["-"]), Ok((10, vec!["-"])));
        assert!(parse_head(&["-n"]).is_err());
        assert!(parse_head(&["-n", "x"]).is_err());
        assert_eq!(parse_head(&["-q"]), Err("-q: unknown option".to_string()));
    }

    #[test]
    fn counts_across_chunks() {
        let mut c = Counter::default();
        for chunk in [&b"one tw"[..], b"o\n", b"", b"  three\tfour\n\nfi", b"ve"] {
            c.feed(chunk);
        }
        assert_eq!(
            c.counts(),
            Counts {
                lines: 3,
                words: 5,
                bytes: 26
            }
        );
        let mut e = Counter::default();
        e.feed(b" \n\t ");
        assert_eq!(e.counts().words, 0);
    }

    #[test]
    fn counts_are_aligned() {
        let all = Columns::from_flags(&parse_flags(&[], "lwc").unwrap());
        let a = Counts {
            lines: 3,
            words: 12,
            bytes: 80,
        };
        let b = Counts {
            lines: 100,
            words: 1000,
            bytes: 5000,
        };
        let rows = [(a, Some("a")), (b, Some("b")), (a.plus(b), Some("total"))];
        assert_eq!(
            format_counts(&rows, all),
            "   3   12   80 a\n 100 1000 5000 b\n 103 1012 5080 total\n"
        );
        let lines = Columns::from_flags(&parse_flags(&["-l"], "lwc").unwrap());
        assert_eq!(format_counts(&[(a, None)], lines), "3\n");
        let lc = Columns::from_flags(&parse_flags(&["-cl"], "lwc").unwrap());
        assert_eq!(format_counts(&[(a, Some("f"))], lc), " 3 80 f\n");
        assert_eq!(format_counts(&[(Counts::default(), None)], all), "0 0 0\n");
    }

    #[test]
    fn lines_across_chunks() {
        let mut l = Lines::default();
        let mut got: Vec<Vec<u8>> = Vec::new();
        for chunk in [&b"ab"[..], b"c\nd\n", b"", b"e", b"\n\nlast"] {
            l.feed(chunk, |line| {
                got.push(line.to_vec());
                Ok::<(), ()>(())
            })
            .unwrap();
        }
        l.finish(|line| {
            got.push(line.to_vec());
            Ok::<(), ()>(())
        })
        .unwrap();
        let want: [&[u8]; 5] = [b"abc\n", b"d\n", b"e\n", b"\n", b"last"];
        assert_eq!(got, want);
        // An error stops the walk.
        let mut n = 0;
        let r = Lines::default().feed(b"1\n2\n3\n", |_| {
            n += 1;
            if n == 2 { Err(()) } else { Ok(()) }
        });
        assert_eq!((r, n), (Err(()), 2));
    }

    #[test]
    fn fixed_strings() {
        assert!(contains(b"hello world", b"o w"));
        assert!(contains(b"x", b""));
        assert!(!contains(b"hel", b"hello"));
        assert!(!contains(b"", b"a"));
    }

    #[test]
    fn heads_cut_after_n_lines() {
        let mut left = 2;
        assert_eq!(take_lines(b"a\nb\nc\n", &mut left), 4);
        assert_eq!(left, 0);
        assert_eq!(take_lines(b"more", &mut left), 0);
        let mut left = 3;
        assert_eq!(take_lines(b"no newline", &mut left), 10);
        assert_eq!(left, 3);
        assert_eq!(take_lines(b"\n\n", &mut left), 2);
        assert_eq!(left, 1);
    }

    #[test]
    fn path_arithmetic() {
        assert_eq!(basename("/tmp/a.txt"), "a.txt");
        assert_eq!(basename("dir/sub/"), "sub");
        assert_eq!(basename("name"), "name");
        assert_eq!(basename("/"), "/");
        assert_eq!(basename("//"), "/");
        assert_eq!(join("/tmp", "a"), "/tmp/a");
        assert_eq!(join("/tmp//", "a"), "/tmp/a");
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("d", "a"), "d/a");
        assert_eq!(prefixes("a/b/c"), ["a", "a/b", "a/b/c"]);
        assert_eq!(prefixes("/x//y/"), ["/x", "/x//y"]);
        assert_eq!(prefixes("/"), Vec::<&str>::new());
        assert_eq!(prefixes("./n"), [".", "./n"]);
    }
}
