//! `false`: exit with status 1.
#![no_std]
#![no_main]

ulib::entry!(main);

fn main(_args: &[&str]) -> i32 {
    1
}
