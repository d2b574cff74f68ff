//! `forkbomb`: fork until the process table is full, then reap everything.
//! Shows that a full table makes fork fail cleanly and that the system
//! recovers. Children sleep briefly, then exit.
#![no_std]
#![no_main]

use ulib::{Errno, Pid, eprintln, println};

use ulib::WaitFor;

ulib::entry!(main);

/// How long each child lives.
const CHILD_MS: u64 = 200;

fn main(_args: &[&str]) -> i32 {
    let mut forks = 0u64;
    let err = loop {
        match ulib::fork() {
            Ok(Pid::NONE) => {
                let _ = ulib::sleep(CHILD_MS);
                ulib::exit(0);
            }
            Ok(_) => forks += 1,
            Err(e) => break e,
        }
    };
    if err == Errno::EAGAIN {
        println!("forkbomb: table full after {forks} forks ({})", err.name());
    } else {
        eprintln!(
            "forkbomb: fork failed after {forks} forks: {err} ({})",
            err.name()
        );
    }
    let mut reaped = 0u64;
    while ulib::waitpid(WaitFor::Any, 0).is_ok() {
        reaped += 1;
    }
    println!("forkbomb: reaped {reaped}");
    0
}
