//! `kill [-SIGNAL | -s SIGNAL] PID...`: send a signal to each process
//! (`SIGTERM` unless told; `-9` or `-KILL` ends it whatever it does);
//! after `--`, `-PGID` names a whole process group. `kill -l` lists the
//! signals. The shell's own `kill` also takes job numbers (`%1`).
#![no_std]
#![no_main]

use abi::signal::{self, SIGTERM};
use ulib::prelude::*;
use ulib::{Pid, eprintln, print};

ulib::entry!(main);

const USAGE: &str = "usage: kill [-SIGNAL | -s SIGNAL] PID... (or -- -PGID), kill -l";

fn main(args: &[&str]) -> i32 {
    let mut rest = &args[1.min(args.len())..];
    let mut sig = SIGTERM;
    match rest.first().copied() {
        Some("-l") => {
            let mut out = String::new();
            for n in 1..signal::NSIG {
                if let Some(name) = signal::name(n) {
                    out.push_str(&format!("{n:>2} {name:<8} {}\n", signal::describe(n)));
                }
            }
            print!("{out}");
            return 0;
        }
        Some("-s") => {
            let Some(s) = rest.get(1).and_then(|s| signal::parse(s)) else {
                eprintln!("kill: -s needs a signal name or number (kill -l lists them)");
                return 1;
            };
            sig = s;
            rest = &rest[2..];
        }
        Some(opt) if opt.starts_with('-') && opt != "--" => match signal::parse(&opt[1..]) {
            Some(s) => {
                sig = s;
                rest = &rest[1..];
            }
            None => {
                eprintln!("kill: {opt}: no such signal (kill -l lists them)");
                return 1;
            }
        },
        _ => {}
    }
    let groups = rest.first() == Some(&"--");
    if groups {
        rest = &rest[1..];
    }
    if rest.is_empty() {
        eprintln!("{USAGE}");
        return 1;
    }
    programs::pidcmd::run_each("kill", rest, |arg| {
        let (group, num) = match arg.strip_prefix('-') {
            Some(n) if groups => (true, n),
            _ => (false, arg),
        };
        let pid: Pid = num.parse().map_err(|_| {
            if group {
                String::from("not a process group id")
            } else {
                String::from("not a process id")
            }
        })?;
        let r = if group {
            ulib::kill_group(pid, sig)
        } else {
            ulib::kill(pid, sig)
        };
        r.map_err(|e| e.to_string())
    })
}
