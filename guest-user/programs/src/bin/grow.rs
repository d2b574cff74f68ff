//! `grow [KIB]`: watch a process's memory come into being. Prints the
//! program break and page-fault count at start (the program's own pages
//! were loaded lazily, one fault each), then grows the heap by KIB
//! (default 64) with `sbrk`, which maps nothing yet, then touches the new
//! pages one by one: each first touch is a page fault that maps a zeroed
//! page. Shows the counts after each step.
#![no_std]
#![no_main]

use abi::PAGE_SIZE;
use ulib::{eprintln, println};

ulib::entry!(main);

/// One line of counts after `step` (formatted without allocating, so the
/// heap moves only when the program moves it).
fn show(step: core::fmt::Arguments) {
    match ulib::procinfo(ulib::getpid()) {
        Ok(me) => println!(
            "grow: {}: brk {:#x}, page faults {}, memory {}K",
            step,
            me.brk,
            me.page_faults,
            me.mem_bytes.div_ceil(1024)
        ),
        Err(e) => eprintln!("grow: procinfo: {e}"),
    }
}

fn main(args: &[&str]) -> i32 {
    let kib: u64 = match args {
        [_] => 64,
        [_, n] => match n.parse() {
            Ok(n) if n > 0 && n <= 64 * 1024 => n,
            _ => {
                eprintln!("usage: grow [KIB]   (1 to 65536)");
                return 1;
            }
        },
        _ => {
            eprintln!("usage: grow [KIB]");
            return 1;
        }
    };
    show(format_args!("at start"));
    let bytes = kib * 1024;
    let old = match ulib::sbrk(bytes as i64) {
        Ok(old) => old,
        Err(e) => {
            eprintln!("grow: sbrk {kib}K: {e}");
            return 1;
        }
    };
    show(format_args!("after sbrk {kib}K"));
    let pages = bytes.div_ceil(PAGE_SIZE);
    for page in 0..pages {
        let at = (old + page * PAGE_SIZE) as *mut u8;
        // SAFETY: `at` lies in the heap just grown by sbrk, which the kernel
        // maps (zero-filled) on first touch.
        unsafe {
            assert_eq!(at.read_volatile(), 0, "fresh heap is zero");
            at.write_volatile(1);
        }
    }
    show(format_args!("after touching {pages} pages"));
    0
}
