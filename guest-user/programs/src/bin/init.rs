//! `init`, process 1: starts the shell and reaps every child, including the
//! orphans the kernel hands over.
//!
//! When the shell exits (`exit N`, or the end of the console's input),
//! init exits with the shell's status and the kernel powers the machine
//! off with it. When the shell is killed or dies of a fault, init says so
//! and starts a new one on the same console, as xv6's init does (three
//! deaths within a second each and it gives up, with the last status).
//! When the shell is stopped, init says that the console has no reader
//! until it is continued.
#![no_std]
#![no_main]

use ulib::{Pid, WaitStatus, eprintln};

use ulib::WaitFor;

ulib::entry!(main);

const SHELL: &str = "/bin/sh";
/// A shell that dies sooner than this after its start counts as a quick
/// death; this many in a row end init.
const QUICK_MS: u64 = 1000;
const QUICK_DEATHS: u32 = 3;

fn main(_args: &[&str]) -> i32 {
    let mut quick = 0;
    loop {
        let started = ulib::uptime_ms();
        let sh = match ulib::spawn(SHELL, &["sh"]) {
            Ok(pid) => pid,
            Err(e) => {
                eprintln!("init: cannot start {SHELL}: {e}");
                return 1;
            }
        };
        let status = match wait_for(sh) {
            Ok(s) => s,
            Err(code) => return code,
        };
        if status.code().is_some() {
            return programs::status_code(status);
        }
        let how = status.describe();
        quick = if ulib::uptime_ms() - started < QUICK_MS {
            quick + 1
        } else {
            1
        };
        if quick >= QUICK_DEATHS {
            eprintln!(
                "init: the shell (pid {sh}) ended: {how}, {QUICK_DEATHS} times in a row; giving up"
            );
            return programs::status_code(status);
        }
        eprintln!("init: the shell (pid {sh}) ended: {how}; starting a new shell");
    }
}

/// Reaps children until the shell `sh` ends: its status, or `Err(code)`
/// when waiting fails. Says so when the shell is stopped.
fn wait_for(sh: Pid) -> Result<WaitStatus, i32> {
    loop {
        match ulib::waitpid(WaitFor::Any, abi::sys::WUNTRACED) {
            Ok((pid, status)) if pid == sh && status.is_stopped() => eprintln!(
                "init: the shell (pid {sh}) is stopped: nothing reads the console until it \
                 is continued (from the host: vmm ctl --api-sock PATH cont {sh})"
            ),
            Ok((pid, status)) if pid == sh => return Ok(status),
            Ok(_) => {} // an orphan, now reaped, or a stopped one
            Err(e) => {
                eprintln!("init: waitpid: {e}");
                return Err(1);
            }
        }
    }
}
