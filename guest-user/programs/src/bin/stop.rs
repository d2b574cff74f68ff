//! `stop PID...`: stop (suspend) each process until `cont`. It refuses to
//! stop the shell it was started from: stopped, that shell would leave the
//! console with no reader and nothing to type `cont` into.
#![no_std]
#![no_main]

use ulib::eprintln;

ulib::entry!(main);

fn main(args: &[&str]) -> i32 {
    let shell = ulib::getppid();
    if let Some(arg) = args
        .iter()
        .skip(1)
        .find(|a| a.parse::<ulib::Pid>() == Ok(shell))
    {
        eprintln!(
            "stop: {arg} is the shell you are typing into; stopped, it would leave the \
             console with no reader (stop it from the host: vmm ctl --api-sock PATH stop {arg})"
        );
        return 1;
    }
    programs::pidcmd::run(args, ulib::suspend)
}
