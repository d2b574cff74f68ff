//! `pwd`: print the working directory's path.
#![no_std]
#![no_main]

use ulib::{eprintln, println};

ulib::entry!(main);

fn main(args: &[&str]) -> i32 {
    if args.len() > 1 {
        eprintln!("usage: pwd");
        return 2;
    }
    match ulib::getcwd() {
        Ok(path) => {
            println!("{path}");
            0
        }
        Err(e) => {
            eprintln!("pwd: .: {e}");
            1
        }
    }
}
