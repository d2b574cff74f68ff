//! `redir [-s] FILE PROGRAM [ARGS...]`: what the shell does for
//! `PROGRAM ARGS > FILE`, spelled out with the process API. It forks; the
//! child closes fd 1 and opens FILE, which takes the lowest free fd, 1, so
//! the program's standard output goes to the file; then it execs the
//! program, which keeps its fds. The parent waits and says how the child
//! ended.
//!
//! With `-s` the child stops itself (`SIGSTOP`) twice, so its fd table can
//! be looked at from the host (`vmm ctl files PID`): once just after the
//! fork (the parent's files) and once with fd 1 on FILE, before the exec.
//! `cont PID` (or `vmm ctl cont PID`) lets it go on each time.
#![no_std]
#![no_main]

use abi::fs::{O_CREAT, O_TRUNC, O_WRONLY};
use abi::signal::SIGSTOP;
use ulib::{Pid, eprintln, println};

ulib::entry!(main);

const USAGE: &str = "usage: redir [-s] FILE PROGRAM [ARGS...]";

fn main(args: &[&str]) -> i32 {
    let (stop, rest) = match args.get(1) {
        Some(&"-s") => (true, &args[2..]),
        _ => (false, &args[1.min(args.len())..]),
    };
    let [file, program, ..] = rest else {
        eprintln!("{USAGE}");
        return 2;
    };
    let argv = &rest[1..];
    let child = match ulib::fork() {
        Ok(Pid::NONE) => {
            let me = ulib::getpid();
            if stop {
                println!("redir: child {me}, just forked: its files are its parent's (cont {me})");
                let _ = ulib::kill(me, SIGSTOP);
            }
            let _ = ulib::close(1);
            match ulib::open(file, O_WRONLY | O_CREAT | O_TRUNC) {
                Ok(1) => {}
                Ok(fd) => {
                    eprintln!("redir: {file} opened as fd {fd}, not 1");
                    ulib::exit(1);
                }
                Err(e) => {
                    eprintln!("redir: {file}: {e}");
                    ulib::exit(1);
                }
            }
            if stop {
                eprintln!(
                    "redir: child {me}: fd 1 is {file} now; next, exec {program} (cont {me})"
                );
                let _ = ulib::kill(me, SIGSTOP);
            }
            let e = ulib::exec(program, argv);
            eprintln!("redir: {program}: {e}");
            ulib::exit(127)
        }
        Ok(pid) => pid,
        Err(e) => {
            eprintln!("redir: fork: {e}");
            return 1;
        }
    };
    match ulib::waitpid(child, 0) {
        Ok((_, status)) => {
            println!(
                "redir: child {child} ({program}) {}",
                programs::describe_status(status, false)
            );
            programs::status_code(status)
        }
        Err(e) => {
            eprintln!("redir: waitpid: {e}");
            1
        }
    }
}
