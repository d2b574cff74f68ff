//! `grep [-v] [-c] PATTERN [FILE...]`: print the lines of each file (`-`,
//! or none at all: standard input) that hold PATTERN, a fixed string
//! (an empty one matches every line); with several files each line starts
//! with its file's name and `:`. `-v` selects the lines that do not hold
//! it; `-c` prints how many lines were selected instead (per file, after
//! its name when there are several). The status is 0 if a line was
//! selected, 1 if none was, 2 if a file could not be read (it is reported
//! and skipped) or on a usage error.
#![no_std]
#![no_main]

use core::convert::Infallible;
use programs::files::{Input, Lines, Output, contains, parse_flags};
use ulib::prelude::*;
use ulib::{Errno, eprintln};

ulib::entry!(main);

const USAGE: &str = "usage: grep [-v] [-c] PATTERN [FILE...]";

fn main(args: &[&str]) -> i32 {
    let flags = match parse_flags(args.get(1..).unwrap_or_default(), "vc") {
        Ok(f) => f,
        Err(bad) => {
            eprintln!("grep: {bad}: unknown option\n{USAGE}");
            return 2;
        }
    };
    let Some((pattern, files)) = flags.operands.split_first() else {
        eprintln!("{USAGE}");
        return 2;
    };
    let files = if files.is_empty() { &["-"][..] } else { files };
    let search = Search {
        pattern: pattern.as_bytes(),
        invert: flags.has('v'),
        count: flags.has('c'),
        named: files.len() > 1,
    };
    let mut out = Output::stdout();
    let (mut selected, mut failed) = (false, false);
    for &name in files {
        match search.file(name, &mut out) {
            Ok(n) => selected |= n > 0,
            Err(e) => {
                // What this file matched so far goes out before the error.
                let _ = out.flush();
                eprintln!("grep: {name}: {e}");
                failed = true;
            }
        }
    }
    if let Err(e) = out.flush() {
        eprintln!("grep: standard output: {e}");
        return 2;
    }
    if failed {
        2
    } else if selected {
        0
    } else {
        1
    }
}

struct Search<'a> {
    pattern: &'a [u8],
    invert: bool,
    count: bool,
    /// Lines start with their file's name.
    named: bool,
}

impl Search<'_> {
    /// Searches file `name` (`-`: standard input), printing to `out`: how
    /// many lines were selected.
    fn file(&self, name: &str, out: &mut Output) -> Result<u64, Errno> {
        let input = Input::open(name)?;
        let mut lines = Lines::default();
        let mut n = 0u64;
        let mut one = |line: &[u8]| -> Result<(), Infallible> {
            let text = line.strip_suffix(b"\n").unwrap_or(line);
            if contains(text, self.pattern) == self.invert {
                return Ok(());
            }
            n += 1;
            if !self.count {
                if self.named {
                    out.put(name.as_bytes());
                    out.put(b":");
                }
                out.put(text);
                out.put(b"\n");
            }
            Ok(())
        };
        input.each_chunk(|chunk| lines.feed(chunk, &mut one).is_ok())?;
        let _ = lines.finish(&mut one);
        if self.count {
            let line = if self.named {
                format!("{name}:{n}\n")
            } else {
                format!("{n}\n")
            };
            out.put(line.as_bytes());
        }
        Ok(n)
    }
}
