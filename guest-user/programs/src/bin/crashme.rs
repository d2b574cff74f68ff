//! `crashme KIND`: die by a CPU exception, to watch the kernel kill only
//! this process and say why.
#![no_std]
#![no_main]

use programs::crash::{KINDS, find};
use ulib::{eprintln, println};

ulib::entry!(main);

fn main(args: &[&str]) -> i32 {
    let Some(kind) = args
        .get(1)
        .and_then(|k| find(k))
        .filter(|_| args.len() == 2)
    else {
        eprintln!("usage: crashme KIND");
        for k in KINDS {
            eprintln!("  {:<13} {}", k.name, k.help);
        }
        return 1;
    };
    println!("crashme: {} (expect: {})", kind.help, kind.cause.describe());
    (kind.run)();
    eprintln!("crashme: {}: still alive?", kind.name);
    2
}
