//! `sigpipe`: the writer of a pipe whose reader is gone. A child reads one
//! chunk from the pipe and exits; this process writes until the kernel
//! ends it with `SIGPIPE` (the shell reports `broken pipe`). With `-i` it
//! ignores `SIGPIPE` and sees its write fail with `EPIPE` instead, says so
//! and exits 0.
#![no_std]
#![no_main]

use abi::signal::SIGPIPE;
use ulib::{Handler, Pid, eprintln, println};

ulib::entry!(main);

fn main(args: &[&str]) -> i32 {
    let ignore = match args {
        [_] => false,
        [_, "-i"] => true,
        _ => {
            eprintln!("usage: sigpipe [-i]");
            return 1;
        }
    };
    if ignore {
        let _ = ulib::signal(SIGPIPE, Handler::Ignore);
    }
    let (r, w) = match ulib::pipe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("sigpipe: pipe: {e}");
            return 1;
        }
    };
    match ulib::fork() {
        Ok(Pid::NONE) => {
            let _ = ulib::close(w);
            let mut buf = [0u8; 16];
            let n = ulib::read(r, &mut buf).unwrap_or(0);
            println!("sigpipe: the reader took {n} bytes and leaves");
            ulib::exit(0)
        }
        Ok(reader) => {
            let _ = ulib::close(r);
            let mut total = 0usize;
            let chunk = [b'y'; 512];
            loop {
                match ulib::write(w, &chunk) {
                    Ok(n) => total += n,
                    Err(e) => {
                        let _ = ulib::waitpid(reader, 0);
                        println!("sigpipe: wrote {total} bytes, then: {e} (SIGPIPE ignored)");
                        return 0;
                    }
                }
                // Once the reader is gone, the next write raises SIGPIPE.
                if total >= 64 * 1024 {
                    eprintln!("sigpipe: the reader never left");
                    return 1;
                }
            }
        }
        Err(e) => {
            eprintln!("sigpipe: fork: {e}");
            1
        }
    }
}
