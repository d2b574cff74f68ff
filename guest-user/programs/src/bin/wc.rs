//! `wc [-l] [-w] [-c] [FILE...]`: count the lines, words (runs of bytes
//! other than white space) and bytes of each file (`-`, or none at all:
//! standard input), shown in that order, right-aligned, then the file's
//! name; with several files a `total` line follows. `-l`, `-w` and `-c`
//! show only those counts. A file that cannot be read is reported and
//! skipped; the status is then 1.
#![no_std]
#![no_main]

use programs::files::{Columns, Counter, Counts, Input, format_counts, parse_flags};
use ulib::prelude::*;
use ulib::{eprintln, print};

ulib::entry!(main);

const USAGE: &str = "usage: wc [-l] [-w] [-c] [FILE...]";

fn main(args: &[&str]) -> i32 {
    let flags = match parse_flags(args.get(1..).unwrap_or_default(), "lwc") {
        Ok(f) => f,
        Err(bad) => {
            eprintln!("wc: {bad}: unknown option\n{USAGE}");
            return 2;
        }
    };
    let cols = Columns::from_flags(&flags);
    let mut status = 0;
    let mut rows: Vec<(Counts, Option<&str>)> = Vec::new();
    if flags.operands.is_empty() {
        match count("-") {
            Ok(c) => rows.push((c, None)),
            Err(e) => {
                eprintln!("wc: -: {e}");
                return 1;
            }
        }
    }
    for &name in &flags.operands {
        match count(name) {
            Ok(c) => rows.push((c, Some(name))),
            Err(e) => {
                eprintln!("wc: {name}: {e}");
                status = 1;
            }
        }
    }
    if flags.operands.len() > 1 {
        let total = rows.iter().fold(Counts::default(), |t, (c, _)| t.plus(*c));
        rows.push((total, Some("total")));
    }
    print!("{}", format_counts(&rows, cols));
    status
}

/// The counts of file `name` (`-`: standard input).
fn count(name: &str) -> Result<Counts, ulib::Errno> {
    let input = Input::open(name)?;
    let mut counter = Counter::default();
    input.each_chunk(|chunk| {
        counter.feed(chunk);
        true
    })?;
    Ok(counter.counts())
}
