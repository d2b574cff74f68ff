//! `spin [MS]`: burn CPU in ring 3, forever or for MS milliseconds of wall
//! time. The inner loop makes no system call, so only the timer can take
//! the CPU away: this is what preemption is for.
#![no_std]
#![no_main]

use core::hint::black_box;
use ulib::eprintln;

ulib::entry!(main);

/// Iterations between looks at the clock (a few milliseconds of work).
const CHECK_EVERY: u64 = 1 << 22;

fn main(args: &[&str]) -> i32 {
    let limit = match args {
        [_] => None,
        [_, ms] => match ms.parse::<u64>() {
            Ok(ms) => Some(ms),
            Err(_) => {
                eprintln!("spin: {ms}: not a number of milliseconds");
                eprintln!("usage: spin [MS]");
                return 1;
            }
        },
        _ => {
            eprintln!("usage: spin [MS]");
            return 1;
        }
    };
    let deadline = limit.map(|ms| ulib::uptime_ms().saturating_add(ms));
    let mut x: u64 = 0;
    loop {
        for _ in 0..CHECK_EVERY {
            // black_box keeps the work from being optimized away.
            x = black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
        if deadline.is_some_and(|d| ulib::uptime_ms() >= d) {
            return 0;
        }
    }
}
