//! Times process operations from inside the guest with the TSC: a null
//! system call, a context switch (yield ping-pong), fork + exit + wait and
//! spawn + exit + wait. Prints one line per operation: the median of its
//! rounds, in nanoseconds and TSC cycles.
//!
//!     bench [ROUNDS]        (default 200 for the cheap ones)
#![no_std]
#![no_main]

use ulib::prelude::*;
use ulib::{eprintln, println};

ulib::entry!(main);

fn rdtsc() -> u64 {
    // SAFETY: rdtsc reads the time-stamp counter; ring 3 may (CR4.TSD off).
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// TSC ticks per microsecond, measured against the kernel's uptime.
fn tsc_per_us() -> u64 {
    let (t0, m0) = (rdtsc(), ulib::uptime_ms());
    while ulib::uptime_ms() < m0 + 100 {}
    let (t1, m1) = (rdtsc(), ulib::uptime_ms());
    ((t1 - t0) / ((m1 - m0) * 1000)).max(1)
}

/// Median of `rounds` timings of `op` (each returns its own cycle count).
fn median(rounds: usize, mut op: impl FnMut() -> u64) -> u64 {
    let mut v: Vec<u64> = (0..rounds).map(|_| op()).collect();
    v.sort_unstable();
    v[v.len() / 2]
}

fn report(name: &str, cycles: u64, per_us: u64) {
    println!("bench: {name:<24} {:>9} ns {:>10} cycles", cycles * 1000 / per_us, cycles);
}

fn main(args: &[&str]) -> i32 {
    let rounds: usize = match args.get(1).map(|a| a.parse()) {
        None => 200,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("usage: bench [ROUNDS]");
            return 1;
        }
    };
    let per_us = tsc_per_us();
    println!("bench: TSC {per_us} MHz, {rounds} rounds, medians");

    report("getpid", median(rounds, || {
        let t = rdtsc();
        core::hint::black_box(ulib::getpid());
        rdtsc() - t
    }), per_us);

    // Two processes yielding to each other: each yield is one switch.
    let partner = match ulib::fork() {
        Ok(0) => loop {
            ulib::yield_now();
        },
        Ok(pid) => pid,
        Err(e) => {
            eprintln!("bench: fork: {e}");
            return 1;
        }
    };
    let switch = median(rounds, || {
        let t = rdtsc();
        ulib::yield_now(); // to the partner, and back: two switches
        (rdtsc() - t) / 2
    });
    let _ = ulib::kill(i64::from(partner));
    let _ = ulib::waitpid(i64::from(partner), 0);
    report("switch (yield ping-pong)", switch, per_us);

    let heavy = (rounds / 10).max(5);
    report("fork + exit + wait", median(heavy, || {
        let t = rdtsc();
        match ulib::fork() {
            Ok(0) => ulib::exit(0),
            Ok(pid) => {
                let _ = ulib::waitpid(i64::from(pid), 0);
            }
            Err(_) => {}
        }
        rdtsc() - t
    }), per_us);
    report("spawn + exit + wait", median(heavy, || {
        let t = rdtsc();
        if let Ok(pid) = ulib::spawn("/bin/true", &["true"]) {
            let _ = ulib::waitpid(i64::from(pid), 0);
        }
        rdtsc() - t
    }), per_us);
    0
}
