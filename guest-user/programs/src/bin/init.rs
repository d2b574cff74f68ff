//! `init`, process 1: starts the shell and reaps every child, including the
//! orphans the kernel hands over. When the shell exits, init exits with the
//! shell's status and the kernel powers the machine off with it.
#![no_std]
#![no_main]

use ulib::eprintln;

ulib::entry!(main);

const SHELL: &str = "/bin/sh";

fn main(_args: &[&str]) -> i32 {
    let sh = match ulib::spawn(SHELL, &["sh"]) {
        Ok(pid) => pid,
        Err(e) => {
            eprintln!("init: cannot start {SHELL}: {e}");
            return 1;
        }
    };
    loop {
        match ulib::waitpid(-1, 0) {
            Ok((pid, status)) if pid == sh => return programs::status_code(status),
            Ok(_) => {} // an orphan, now reaped
            Err(e) => {
                eprintln!("init: waitpid: {e}");
                return 1;
            }
        }
    }
}
