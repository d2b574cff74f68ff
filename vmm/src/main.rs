//! `vmm`: a tiny KVM virtual machine monitor that boots our process kernel.
//!
//! The layout follows Firecracker: `builder` assembles a VM in one ordered
//! function, `vstate` wraps KVM, `arch` holds the x86_64 layout and entry
//! state, `loader` puts the guest in memory, `devices` emulates the ports,
//! `console` and `runner` connect it all to the host.

mod api;
mod arch;
mod builder;
mod cli;
mod console;
mod devices;
mod doctor;
mod exitcode;
mod guest;
mod introspect;
mod loader;
mod runner;
mod util;
mod vstate;

/// When the process started (for `--stats`).
pub static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

fn main() {
    START.get_or_init(std::time::Instant::now);
    // A bug in the VMM is one line and the host-error status, not a
    // backtrace: the user cannot act on one.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("vmm: internal error: {info}");
        std::process::exit(exitcode::HOST_ERROR);
    }));
    let cli = cli::parse();
    let code = match cli.command {
        Some(cli::Command::Doctor { kvm }) => doctor::run(&kvm),
        Some(cli::Command::Ctl {
            api_sock,
            json,
            cmd,
        }) => api::client(&api_sock, &cmd, json),
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
    };
    std::process::exit(code);
}
