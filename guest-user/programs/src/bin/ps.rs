//! `ps`: the process table, one line per process (see programs::ps).
#![no_std]
#![no_main]

use ulib::prelude::*;
use ulib::{ProcInfo, eprintln, print};

ulib::entry!(main);

fn main(args: &[&str]) -> i32 {
    if args.len() > 1 {
        eprintln!("usage: ps");
        return 1;
    }
    // The table size is a boot option: grow the buffer until it has room.
    let mut buf = vec![ProcInfo::EMPTY; 64];
    let n = loop {
        match ulib::procinfo_all(&mut buf) {
            Ok(n) if n < buf.len() => break n,
            Ok(_) => buf.resize(buf.len() * 2, ProcInfo::EMPTY),
            Err(e) => {
                eprintln!("ps: {e}");
                return 1;
            }
        }
    };
    let mut procs: Vec<&ProcInfo> = buf[..n].iter().filter(|p| !p.pid.is_none()).collect();
    procs.sort_by_key(|p| p.pid);
    // One write for the whole table, so it is not interleaved with others.
    let fg = ulib::tcgetpgrp(0).unwrap_or(ulib::Pid::NONE);
    let mut out = programs::ps::header();
    out.push('\n');
    for p in procs {
        out.push_str(&programs::ps::format_row(p, fg));
        out.push('\n');
    }
    print!("{out}");
    0
}
