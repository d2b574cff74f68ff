//! Shows a zombie: a child that has exited but whose parent has not yet
//! waited for it. The child exits at once; the parent lets it die, runs
//! `ps` (where the child shows as `zombie`: its PCB is kept only to hold
//! the exit status), then collects the status with `waitpid`, which frees
//! the PCB.
#![no_std]
#![no_main]

use ulib::{Pid, eprintln, println};

ulib::entry!(main);

fn main(_args: &[&str]) -> i32 {
    let child = match ulib::fork() {
        Ok(Pid::NONE) => ulib::exit(7),
        Ok(pid) => pid,
        Err(e) => {
            eprintln!("zombie: fork: {e}");
            return 1;
        }
    };
    // Give the child time to run and exit.
    let _ = ulib::sleep(100);
    println!("zombie: pid {child} has exited; nobody has waited for it yet:");
    match ulib::spawn("/bin/ps", &["ps"]) {
        Ok(ps) => {
            let _ = ulib::waitpid(ps, 0);
        }
        Err(e) => eprintln!("zombie: ps: {e}"),
    }
    match ulib::waitpid(child, 0) {
        Ok((pid, status)) => {
            println!(
                "zombie: waited for pid {pid}: exit {}; its PCB is free again",
                status.code().unwrap_or(0)
            );
            0
        }
        Err(e) => {
            eprintln!("zombie: waitpid: {e}");
            1
        }
    }
}
