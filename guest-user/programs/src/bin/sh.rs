//! `sh`: the shell. Reads a line at a time, runs `/bin/NAME` with its
//! arguments and waits for it, or leaves it in the background with a
//! trailing `&`. Builtins: `wait [PID]`, `jobs`, `exit [N]`, `help`.
//!
//! Messages:
//! - `[PID]` when a background job starts;
//! - before each prompt, for each background job that ended:
//!   `[PID] done`, `[PID] exit N`, `[PID] killed` or `[PID] page fault`...;
//! - a foreground job that died: `sh: pid 7 (crashme) ended: page fault`;
//! - `sh: NAME: command not found`, `sh: NAME: <error>`.
#![no_std]
#![no_main]

use programs::shell::{Command, parse_line};
use programs::{describe_status, status_code};
use ulib::io::{LineReader, STDIN, STDOUT, write_all};
use ulib::prelude::*;
use ulib::{Errno, Pid, ProcState, WaitFor, WaitStatus, eprintln, println};

ulib::entry!(main);

const PROMPT: &[u8] = b"$ ";

const HELP: &str = "\
run a program from /bin with arguments: NAME ARGS...  (e.g. `ps`, `echo hi`)
append & to run it in the background:   spin 2000 &
builtins:
  wait [PID]   wait for one background job, or all of them
  jobs         list background jobs still running
  exit [N]     leave the shell with status N (default: the last status)
  help         this text
programs: cat crashme echo false forkbomb grow hello kill poweroff ps sleep spin stop cont true usertests";

struct Shell {
    /// Background jobs not yet reaped.
    jobs: Vec<Pid>,
    /// Status of the last foreground command or `wait`, for `exit`.
    last: i32,
}

fn main(_args: &[&str]) -> i32 {
    let mut sh = Shell {
        jobs: Vec::new(),
        last: 0,
    };
    let mut input = LineReader::new();
    loop {
        sh.reap_finished();
        let _ = write_all(STDOUT, PROMPT);
        let line = match input.next_line(STDIN) {
            Ok(Some(line)) => line,
            Ok(None) => {
                // End of input (Ctrl-D): end the prompt's line, like other shells.
                println!();
                return 0;
            }
            Err(e) => {
                eprintln!("sh: read: {e}");
                return 1;
            }
        };
        if let Some(cmd) = parse_line(&line)
            && let Some(code) = sh.run(&cmd)
        {
            return code;
        }
    }
}

impl Shell {
    /// Runs one command; `Some(code)` when the shell should exit.
    fn run(&mut self, cmd: &Command) -> Option<i32> {
        let args = &cmd.words[1..];
        match cmd.words[0] {
            "exit" => return Some(self.exit_code(args)),
            "wait" => self.wait(args),
            "jobs" => self.list_jobs(),
            "help" => println!("{HELP}"),
            name => self.spawn(name, cmd),
        }
        None
    }

    fn exit_code(&self, args: &[&str]) -> i32 {
        match args.first().map(|a| a.parse::<i32>()) {
            None => self.last,
            Some(Ok(n)) => n,
            Some(Err(_)) => {
                eprintln!("sh: exit: {}: not a number", args[0]);
                2
            }
        }
    }

    fn spawn(&mut self, name: &str, cmd: &Command) {
        let pid = match ulib::spawn(name, &cmd.words) {
            Ok(pid) => pid,
            Err(Errno::ENOENT) => {
                eprintln!("sh: {name}: command not found");
                self.last = 127;
                return;
            }
            Err(e) => {
                eprintln!("sh: {name}: {e}");
                self.last = 126;
                return;
            }
        };
        if cmd.background {
            self.jobs.push(pid);
            println!("[{pid}]");
            return;
        }
        match ulib::waitpid(pid, 0) {
            Ok((_, status)) => {
                if status.code().is_none() {
                    let prog = name.rsplit('/').next().unwrap_or(name);
                    eprintln!(
                        "sh: pid {pid} ({prog}) ended: {}",
                        status.cause().describe()
                    );
                }
                self.last = status_code(status);
            }
            Err(e) => eprintln!("sh: waitpid {pid}: {e}"),
        }
    }

    /// `wait [PID]`: one job, or every job; prints how each ended.
    fn wait(&mut self, args: &[&str]) {
        let target = match args {
            [] => WaitFor::Any,
            [pid] => match pid.parse::<Pid>() {
                Ok(pid) => WaitFor::Child(pid),
                _ => {
                    eprintln!("sh: wait: {pid}: not a process id");
                    return;
                }
            },
            _ => {
                eprintln!("usage: wait [PID]");
                return;
            }
        };
        loop {
            match ulib::waitpid(target, 0) {
                Ok((pid, status)) => {
                    self.finished(pid, status, false);
                    self.last = status_code(status);
                    if target != WaitFor::Any {
                        return;
                    }
                }
                // Waiting for all: no child left is the normal end.
                Err(Errno::ECHILD) if target == WaitFor::Any => return,
                Err(e) => {
                    eprintln!("sh: wait: {target}: {e}");
                    return;
                }
            }
        }
    }

    /// Reports background jobs that ended, without blocking.
    fn reap_finished(&mut self) {
        while let Ok((pid, status)) = ulib::waitpid(WaitFor::Any, abi::sys::WNOHANG) {
            if pid.is_none() {
                break;
            }
            self.finished(pid, status, true);
        }
    }

    fn finished(&mut self, pid: Pid, status: WaitStatus, zero_as_done: bool) {
        self.jobs.retain(|&j| j != pid);
        println!("[{pid}] {}", describe_status(status, zero_as_done));
    }

    /// `jobs`: `[PID] NAME STATE` for each background job still alive.
    fn list_jobs(&self) {
        for &pid in &self.jobs {
            if let Ok(p) = ulib::procinfo(pid)
                && p.state() != Some(ProcState::Zombie)
            {
                println!("[{pid}] {} {}", p.name(), programs::ps::state_name(&p));
            }
        }
    }
}
