//! `rm [-f] FILE...`: remove each file (not directories: `rmdir` does
//! those). With `-f`, a file that does not exist is no error, nor is
//! giving none. A file that cannot be removed is reported; the status is
//! then 1.
#![no_std]
#![no_main]

use programs::files::parse_flags;
use ulib::prelude::*;
use ulib::{Errno, eprintln};

ulib::entry!(main);

const USAGE: &str = "usage: rm [-f] FILE...";

fn main(args: &[&str]) -> i32 {
    let flags = match parse_flags(args.get(1..).unwrap_or_default(), "f") {
        Ok(f) => f,
        Err(bad) => {
            eprintln!("rm: {bad}: unknown option\n{USAGE}");
            return 2;
        }
    };
    let force = flags.has('f');
    if flags.operands.is_empty() && !force {
        eprintln!("{USAGE}");
        return 2;
    }
    programs::pidcmd::run_each("rm", &flags.operands, |path| match ulib::unlink(path) {
        Err(Errno::ENOENT) if force => Ok(()),
        r => r.map_err(|e| e.to_string()),
    })
}
