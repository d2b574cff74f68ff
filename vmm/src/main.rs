//! The `vmm` command: parses the command line and runs the library.

fn main() {
    vmm::init_process();
    let cli = vmm::cli::parse();
    std::process::exit(vmm::run(cli));
}
