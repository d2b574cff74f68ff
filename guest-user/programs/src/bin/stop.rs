//! `stop PID...`: stop (suspend) each process until `cont`.
#![no_std]
#![no_main]

ulib::entry!(main);

fn main(args: &[&str]) -> i32 {
    programs::pidcmd::run(args, ulib::suspend)
}
