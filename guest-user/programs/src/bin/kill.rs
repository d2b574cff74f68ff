//! `kill PID...`: kill each process (it ends with status killed).
#![no_std]
#![no_main]

ulib::entry!(main);

fn main(args: &[&str]) -> i32 {
    programs::pidcmd::run(args, ulib::kill)
}
