//! `catch [N]`: catches `SIGINT` (Ctrl-C) and `SIGTERM` N times (3 unless
//! told), printing `catch: caught SIGINT (1 of 3)` each time, then exits 0.
//! It waits in `sleep`, which a caught signal ends early (`EINTR`). Ctrl-\
//! (`SIGQUIT`) and `kill -9` still end it: a handler changes what a signal
//! does, and `SIGKILL` cannot be caught.
#![no_std]
#![no_main]

use abi::signal::{Name, SIGINT, SIGTERM};
use core::sync::atomic::{AtomicU32, Ordering};
use ulib::{Handler, eprintln, println};

ulib::entry!(main);

/// The last signal caught, 0 once reported.
static CAUGHT: AtomicU32 = AtomicU32::new(0);

/// Runs on the process's stack when a signal comes: notes it (printing is
/// left to the main flow, which the handler interrupted at any point).
extern "C" fn note(sig: u32) {
    CAUGHT.store(sig, Ordering::SeqCst);
}

fn main(args: &[&str]) -> i32 {
    let times = match args {
        [_] => 3,
        [_, n] => match n.parse::<u32>() {
            Ok(n) if n > 0 => n,
            _ => {
                eprintln!("usage: catch [N]  (N: how many signals to catch, at least 1)");
                return 1;
            }
        },
        _ => {
            eprintln!("usage: catch [N]");
            return 1;
        }
    };
    for sig in [SIGINT, SIGTERM] {
        if let Err(e) = ulib::signal(sig, Handler::Catch(note)) {
            eprintln!("catch: signal({}): {e}", Name(sig));
            return 1;
        }
    }
    let plural = if times == 1 { "" } else { "s" };
    println!("catch: waiting for Ctrl-C or SIGTERM ({times} time{plural})");
    let mut seen = 0;
    while seen < times {
        // A caught signal ends the sleep early.
        let _ = ulib::sleep(60_000);
        let sig = CAUGHT.swap(0, Ordering::SeqCst);
        if sig != 0 {
            seen += 1;
            println!("catch: caught {} ({seen} of {times})", Name(sig));
        }
    }
    0
}
