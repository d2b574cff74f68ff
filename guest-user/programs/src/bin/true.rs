//! `true`: exit with status 0.
#![no_std]
#![no_main]

ulib::entry!(main);

fn main(_args: &[&str]) -> i32 {
    0
}
