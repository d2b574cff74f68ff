//! `flood BYTES`: write BYTES bytes to the console as fast as the system
//! allows (64-byte numbered lines, in 4 KiB writes), then exit 0. A load
//! for the console path: a VMM whose stdout stalls must neither stop the
//! guest nor let its own memory grow, and must count what it dropped.
#![no_std]
#![no_main]

use ulib::eprintln;
use ulib::io::{STDOUT, write_all};

ulib::entry!(main);

/// One line: a 10-digit line number, 52 filler bytes, `\n`.
const LINE: usize = 64;

fn main(args: &[&str]) -> i32 {
    let Some(total) = args.get(1).and_then(|s| s.parse::<u64>().ok()) else {
        eprintln!("usage: flood BYTES");
        return 1;
    };
    if args.len() > 2 {
        eprintln!("usage: flood BYTES");
        return 1;
    }
    let mut buf = [0u8; 4096];
    let mut line_no = 0u64;
    let mut left = total;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        for (i, b) in buf[..n].iter_mut().enumerate() {
            let col = i % LINE;
            if col == 0 {
                line_no += 1;
            }
            *b = match col {
                0..10 => b'0' + (line_no / 10u64.pow(9 - col as u32) % 10) as u8,
                c if c == LINE - 1 => b'\n',
                _ => b'.',
            };
        }
        if let Err(e) = write_all(STDOUT, &buf[..n]) {
            eprintln!("flood: write: {e}");
            return 1;
        }
        left -= n as u64;
    }
    0
}
