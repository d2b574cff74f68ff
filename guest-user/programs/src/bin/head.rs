//! `head [-n N | -N] [FILE...]`: print the first N lines (10 unless told)
//! of each file (`-`, or none at all: standard input); with several files
//! each starts with a `==> NAME <==` line, and a blank line separates
//! them. It reads no further than it needs. A file that cannot be read is
//! reported and skipped; the status is then 1.
#![no_std]
#![no_main]

use programs::files::{Input, Output, parse_head, take_lines};
use ulib::eprintln;

ulib::entry!(main);

fn main(args: &[&str]) -> i32 {
    let (n, files) = match parse_head(args.get(1..).unwrap_or_default()) {
        Ok(p) => p,
        Err(why) => {
            eprintln!("head: {why}\nusage: head [-n N | -N] [FILE...]");
            return 2;
        }
    };
    let files = if files.is_empty() {
        ["-"].to_vec()
    } else {
        files
    };
    let mut out = Output::stdout();
    let mut status = 0;
    for (i, &name) in files.iter().enumerate() {
        let input = match Input::open(name) {
            Ok(input) => input,
            Err(e) => {
                let _ = out.flush();
                eprintln!("head: {name}: {e}");
                status = 1;
                continue;
            }
        };
        if files.len() > 1 {
            if i > 0 {
                out.put(b"\n");
            }
            out.put(b"==> ");
            out.put(name.as_bytes());
            out.put(b" <==\n");
        }
        let mut left = n;
        let r = if left == 0 {
            Ok(())
        } else {
            input.each_chunk(|chunk| {
                out.put(&chunk[..take_lines(chunk, &mut left)]);
                left > 0
            })
        };
        if let Err(e) = r {
            let _ = out.flush();
            eprintln!("head: {name}: {e}");
            status = 1;
        }
    }
    if let Err(e) = out.flush() {
        eprintln!("head: standard output: {e}");
        return 1;
    }
    status
}
