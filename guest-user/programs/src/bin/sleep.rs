//! `sleep SECONDS`: sleep that long; fractions allowed (`sleep 0.2`).
#![no_std]
#![no_main]

use ulib::eprintln;

ulib::entry!(main);

fn main(args: &[&str]) -> i32 {
    let [_, secs] = args else {
        eprintln!("usage: sleep SECONDS");
        return 1;
    };
    let Some(ms) = programs::parse_seconds(secs) else {
        eprintln!("sleep: {secs}: not a number of seconds");
        eprintln!("usage: sleep SECONDS");
        return 1;
    };
    match ulib::sleep(ms) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("sleep: {e}");
            1
        }
    }
}
