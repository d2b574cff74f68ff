//! A template for your own program: copy this file to `NAME.rs` in this
//! directory, rebuild (`cargo build` at the top of the repository), boot and
//! run `NAME` in the shell. Every file here becomes `/bin/NAME` in the initrd.
#![no_std]
#![no_main]

use ulib::prelude::*; // Vec, String, format!, ...
use ulib::println;

// Tells ulib's `_start` which function is the program's main.
ulib::entry!(main);

/// `args[0]` is the program's name; the return value is the exit status.
fn main(args: &[&str]) -> i32 {
    let who: Vec<&str> = args.iter().skip(1).copied().collect();
    let who = if who.is_empty() {
        String::from("world")
    } else {
        who.join(" ")
    };
    println!(
        "hello, {who}! I am pid {} (parent {})",
        ulib::getpid(),
        ulib::getppid()
    );
    0
}
