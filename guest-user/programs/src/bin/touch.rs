//! `touch FILE...`: make each file, empty, unless it exists (files have
//! no times here, so an existing one is left as it is). One that cannot
//! be made is reported; the status is then 1.
#![no_std]
#![no_main]

use abi::fs::{O_CLOEXEC, O_CREAT, O_RDONLY};
use ulib::eprintln;
use ulib::prelude::*;

ulib::entry!(main);

fn main(args: &[&str]) -> i32 {
    let files = args.get(1..).unwrap_or_default();
    if files.is_empty() {
        eprintln!("usage: touch FILE...");
        return 2;
    }
    programs::pidcmd::run_each("touch", files, |f| {
        // Read-only: an existing file (or directory) opens unchanged.
        let fd = ulib::open(f, O_CREAT | O_RDONLY | O_CLOEXEC).map_err(|e| e.to_string())?;
        let _ = ulib::close(fd);
        Ok(())
    })
}
