//! `rmdir DIR...`: remove each directory, which must be empty. One that
//! cannot be removed is reported; the status is then 1.
#![no_std]
#![no_main]

use ulib::eprintln;
use ulib::prelude::*;

ulib::entry!(main);

fn main(args: &[&str]) -> i32 {
    let dirs = args.get(1..).unwrap_or_default();
    if dirs.is_empty() {
        eprintln!("usage: rmdir DIR...");
        return 2;
    }
    programs::pidcmd::run_each("rmdir", dirs, |d| ulib::rmdir(d).map_err(|e| e.to_string()))
}
