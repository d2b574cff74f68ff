//! `cont PID...`: let each stopped process run again.
#![no_std]
#![no_main]

ulib::entry!(main);

fn main(args: &[&str]) -> i32 {
    programs::pidcmd::run(args, ulib::resume)
}
