//! `poweroff [N]`: power the machine off with exit status N (default 0).
#![no_std]
#![no_main]

use ulib::eprintln;

ulib::entry!(main);

fn main(args: &[&str]) -> i32 {
    let status = match args {
        [_] => 0,
        [_, n] => match n.parse::<u8>() {
            Ok(n) => i32::from(n),
            Err(_) => {
                eprintln!("usage: poweroff [STATUS 0-255]");
                return 1;
            }
        },
        _ => {
            eprintln!("usage: poweroff [STATUS 0-255]");
            return 1;
        }
    };
    let e = ulib::poweroff(status);
    eprintln!("poweroff: {e}");
    1
}
