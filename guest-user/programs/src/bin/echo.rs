//! `echo ARGS...`: print the arguments, separated by spaces, as one line.
#![no_std]
#![no_main]

use ulib::println;

ulib::entry!(main);

fn main(args: &[&str]) -> i32 {
    println!("{}", args.get(1..).unwrap_or_default().join(" "));
    0
}
