//! `kill`, `stop` and `cont`: one action applied to each PID argument.

use alloc::string::{String, ToString};
use ulib::{Errno, Pid, eprintln};

/// Runs `action` on every pid in `args[1..]`, reporting failures as
/// `NAME: PID: reason`; exit status 1 if any failed (or on a usage error).
pub fn run(args: &[&str], action: fn(Pid) -> Result<(), Errno>) -> i32 {
    let name = args.first().copied().unwrap_or("?");
    if args.len() < 2 {
        eprintln!("usage: {name} PID...");
        return 1;
    }
    run_each(name, &args[1..], |arg| match arg.parse::<Pid>() {
        Ok(pid) => action(pid).map_err(|e| e.to_string()),
        Err(_) => Err("not a process id".into()),
    })
}

/// Runs `action` on each of `args`, reporting failures as
/// `NAME: ARG: reason`; exit status 1 if any failed.
pub fn run_each(name: &str, args: &[&str], action: impl Fn(&str) -> Result<(), String>) -> i32 {
    let mut failed = false;
    for arg in args {
        let result = action(arg);
        if let Err(msg) = result {
            eprintln!("{name}: {arg}: {msg}");
            failed = true;
        }
    }
    i32::from(failed)
}
