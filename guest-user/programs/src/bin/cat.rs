//! `cat`: copy standard input to standard output until end of input
//! (Ctrl-D on the console). There is no `open` system call yet, so file
//! arguments are refused rather than silently ignored.
#![no_std]
#![no_main]

use ulib::eprintln;
use ulib::io::{STDIN, STDOUT, write_all};

ulib::entry!(main);

fn main(args: &[&str]) -> i32 {
    if let Some(file) = args.get(1) {
        eprintln!("cat: {file}: file arguments are not supported yet");
        return 1;
    }
    let mut buf = [0u8; 512];
    loop {
        match ulib::read(STDIN, &mut buf) {
            Ok(0) => return 0,
            Ok(n) => {
                if let Err(e) = write_all(STDOUT, &buf[..n]) {
                    eprintln!("cat: write: {e}");
                    return 1;
                }
            }
            Err(e) => {
                eprintln!("cat: read: {e}");
                return 1;
            }
        }
    }
}
