//! `cat [FILE...]`: copy each file (`-`, or none at all: standard input,
//! until end of input, Ctrl-D on the console) to standard output. A file
//! that cannot be read is reported and skipped; the status is then 1.
#![no_std]
#![no_main]

use ulib::io::{STDIN, STDOUT, write_all};
use ulib::{Errno, Fd, eprintln};

ulib::entry!(main);

fn main(args: &[&str]) -> i32 {
    let files = if args.len() > 1 {
        &args[1..]
    } else {
        &["-"][..]
    };
    let mut status = 0;
    for &name in files {
        let fd = if name == "-" {
            STDIN
        } else {
            match ulib::open(name, abi::fs::O_RDONLY) {
                Ok(fd) => fd,
                Err(e) => {
                    eprintln!("cat: {name}: {e}");
                    status = 1;
                    continue;
                }
            }
        };
        let r = copy(fd);
        if fd != STDIN {
            let _ = ulib::close(fd);
        }
        match r {
            Ok(()) => {}
            Err((what, e)) => {
                eprintln!("cat: {}: {e}", if what == "read" { name } else { "write" });
                // Output that cannot be written ends the copy altogether.
                if what == "write" {
                    return 1;
                }
                status = 1;
            }
        }
    }
    status
}

/// Copies `fd` to standard output until its end.
fn copy(fd: Fd) -> Result<(), (&'static str, Errno)> {
    let mut buf = [0u8; 4096];
    loop {
        match ulib::read(fd, &mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => write_all(STDOUT, &buf[..n]).map_err(|e| ("write", e))?,
            Err(e) => return Err(("read", e)),
        }
    }
}
