//! `vmm`: a tiny KVM virtual machine monitor that boots our process kernel.
//!
//! The layout follows Firecracker: `builder` assembles a VM in one ordered
//! function, `vstate` wraps KVM, `arch` holds the x86_64 layout and entry
//! state, `loader` puts the guest in memory, `devices` emulates the ports,
//! `console` and `runner` connect it all to the host. The `vmm` binary
//! (`main.rs`) parses the command line and calls [`run`].
#![deny(missing_docs)]

pub mod api;
pub mod arch;
pub mod builder;
pub mod cli;
pub mod console;
pub mod devices;
pub mod doctor;
pub mod elf_edit;
pub mod exitcode;
pub mod guest;
pub mod introspect;
pub mod loader;
pub mod runner;
pub mod util;
pub mod vstate;

use std::sync::OnceLock;
use std::time::Instant;

/// When the process started (for `--stats`); set by [`init_process`].
pub static START: OnceLock<Instant> = OnceLock::new();

/// What the `vmm` process does first: notes when it started, and makes a
/// bug in the VMM one line and the host-error status rather than a
/// backtrace (the user cannot act on one).
pub fn init_process() {
    START.get_or_init(Instant::now);
    std::panic::set_hook(Box::new(|info| {
        eprintln!("vmm: internal error: {info}");
        std::process::exit(exitcode::HOST_ERROR);
    }));
}

/// Does what the command line asks; returns the process exit status.
pub fn run(cli: cli::Cli) -> i32 {
    match cli.command {
        Some(cli::Command::Doctor { kvm }) => doctor::run(&kvm),
        Some(cli::Command::Ctl {
            api_sock,
            json,
            cmd,
            args,
        }) => {
            let words: Vec<String> = std::iter::once(cmd).chain(args).collect();
            api::client(&api_sock, &words, json)
        }
        Some(cli::Command::ExportGuest { dir }) => match guest::export(&dir) {
            Ok(()) => {
                println!("wrote {0}/kernel.elf and {0}/initrd.cpio", dir.display());
                0
            }
            Err(e) => {
                eprintln!(
                    "vmm: export-guest {}: {}",
                    dir.display(),
                    util::io_reason(&e)
                );
                exitcode::HOST_ERROR
            }
        },
        None => runner::run(&cli.run),
    }
}
