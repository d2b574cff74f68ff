//! Builds a VM ready to run, in one ordered function: the guest files are
//! read and checked first (no KVM needed to reject a bad file), then KVM,
//! memory, the VM, the kernel and initrd, the devices and the vCPU.

use std::borrow::Cow;
use std::fs::File;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use kvm_ioctls::VcpuFd;
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

use crate::arch::x86_64::{layout, pvh};
use crate::cli::{self, Output, RunArgs};
use crate::devices::PortBus;
use crate::devices::output::Sink;
use crate::devices::serial::ConsoleSerial;
use crate::guest;
use crate::introspect::{self, Introspect, reader::GuestRam};
use crate::loader::{self, InitrdError, KernelError};
use crate::util::{human_size, io_reason};
use crate::vstate::{self, kvm::KvmError, vm::VmError};

/// Why a VM could not be built. Each reads as one line after "vmm: ".
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A guest file (`--kernel`, `--initrd`) could not be read.
    #[error("{what} {path}: {reason}")]
    Read {
        /// Which file: "kernel" or "initrd".
        what: &'static str,
        /// Its path.
        path: PathBuf,
        /// Why, as a phrase.
        reason: String,
    },
    /// The kernel (named by its path) cannot boot.
    #[error("kernel {0}: {1}")]
    Kernel(String, KernelError),
    /// The initrd (named by its path) cannot be used.
    #[error("initrd {0}: {1}")]
    Initrd(String, InitrdError),
    /// The kernel command line cannot be passed.
    #[error("kernel command line: {0}")]
    Cmdline(String),
    /// KVM cannot be used.
    #[error("{0}")]
    Kvm(#[from] KvmError),
    /// Guest RAM could not be mapped.
    #[error("cannot map {size} of guest memory: {reason}")]
    Memory {
        /// The size asked for, for people.
        size: String,
        /// Why.
        reason: String,
    },
    /// A KVM call creating the VM failed.
    #[error("creating the VM failed: {0}")]
    Vm(#[from] VmError),
    /// A KVM call setting up the vCPU failed.
    #[error("setting up the vCPU failed: {0}")]
    Vcpu(kvm_ioctls::Error),
    /// The initrd or the boot structures could not be written to guest RAM.
    #[error("writing the boot structures failed: {0}")]
    BootInfo(vm_memory::GuestMemoryError),
    /// An output file named by an option could not be created.
    #[error("{what} {path}: cannot create it: {reason}")]
    Output {
        /// The option or output it is for.
        what: &'static str,
        /// Its path.
        path: String,
        /// Why, as a phrase.
        reason: String,
    },
}

/// A VM ready to run. The fields drop in order: vCPU, VM, memory.
pub struct Machine {
    /// vCPU 0, at the PVH entry point.
    pub vcpu: VcpuFd,
    /// The devices on the I/O port bus.
    pub bus: PortBus,
    /// The console UART (also on `bus`), for console input.
    pub serial: Arc<Mutex<ConsoleSerial>>,
    /// The debug port's host side (also on `bus`).
    pub introspect: introspect::Shared,
    /// The VM.
    pub vm: kvm_ioctls::VmFd,
    /// Guest RAM, the kernel and initrd loaded.
    pub mem: GuestMemoryMmap,
}

/// Reads a guest file, refusing one larger than guest RAM.
fn read_file(what: &'static str, path: &Path, limit: u64) -> Result<Vec<u8>, BuildError> {
    let err = |reason: String| BuildError::Read {
        what,
        path: path.into(),
        reason,
    };
    let meta = std::fs::metadata(path).map_err(|e| err(io_reason(&e)))?;
    if meta.is_dir() {
        return Err(err("is a directory".into()));
    }
    if meta.len() > limit {
        return Err(err(format!(
            "{} bytes, larger than guest RAM ({}); raise --memory",
            meta.len(),
            human_size(limit)
        )));
    }
    std::fs::read(path).map_err(|e| err(io_reason(&e)))
}

/// Creates (or truncates) an output file named by an option.
fn create_file(what: &'static str, path: Option<&Path>) -> Result<Option<File>, BuildError> {
    path.map(|p| {
        File::create(p).map_err(|e| BuildError::Output {
            what,
            path: p.display().to_string(),
            reason: io_reason(&e),
        })
    })
    .transpose()
}

fn open_sink(what: &'static str, output: &Output) -> Result<Sink, BuildError> {
    Sink::open(output).map_err(|e| BuildError::Output {
        what,
        path: match output {
            Output::File(p) => p.display().to_string(),
            other => format!("{other:?}"),
        },
        reason: io_reason(&e),
    })
}

/// Builds the VM `args` describe.
pub fn build(args: &RunArgs) -> Result<Machine, BuildError> {
    let ram = args.memory;

    // 1. The guest files, checked before anything else is set up.
    let (kernel, kernel_name): (Cow<[u8]>, String) = match &args.kernel {
        Some(p) => (read_file("kernel", p, ram)?.into(), p.display().to_string()),
        None => (guest::KERNEL.into(), "(embedded)".into()),
    };
    let (initrd, initrd_name): (Cow<[u8]>, String) = match &args.initrd {
        Some(p) => (read_file("initrd", p, ram)?.into(), p.display().to_string()),
        None => (guest::INITRD.into(), "(embedded)".into()),
    };
    let info = loader::check_kernel(&kernel, ram)
        .map_err(|e| BuildError::Kernel(kernel_name.clone(), e))?;
    let initrd_addr = loader::place_initrd(&initrd, info.end, ram)
        .map_err(|e| BuildError::Initrd(initrd_name, e))?;
    let mut cmdline = cli::kernel_cmdline(args).map_err(BuildError::Cmdline)?;
    // A person types at the console: say so (first, before any `--` and
    // init's arguments), so the guest's shell edits its own lines.
    if args.serial == Output::Stdout
        && std::io::stdin().is_terminal()
        && !abi::cmdline::Cmdline::new(&cmdline).has(abi::cmdline::TTY)
    {
        cmdline = format!("{} {cmdline}", abi::cmdline::TTY)
            .trim_end()
            .to_string();
    }
    if cmdline.len() > abi::cmdline::MAX_LEN {
        return Err(BuildError::Cmdline(format!(
            "{} bytes, longer than the {} the kernel accepts",
            cmdline.len(),
            abi::cmdline::MAX_LEN
        )));
    }
    if cmdline.contains('\0') {
        return Err(BuildError::Cmdline("contains a NUL byte".into()));
    }
    let serial_out = open_sink("serial output", &args.serial)?;
    let debugcon = open_sink("debug console output", &args.debugcon)?;
    let events = create_file("--events", args.events.as_deref())?;
    let trace = create_file("--trace", args.trace.as_deref())?;

    // 2. KVM, memory and the VM.
    let kvm = vstate::kvm::open(&args.kvm)?;
    let mem = vstate::memory::create(ram).map_err(|e| BuildError::Memory {
        size: human_size(ram),
        reason: e.to_string(),
    })?;
    let vm = vstate::vm::create(&kvm, &mem)?;

    // 3. The kernel, the initrd and the boot structures.
    loader::load_kernel(&mem, &kernel).map_err(|e| BuildError::Kernel(kernel_name, e))?;
    mem.write_slice(&initrd, GuestAddress(initrd_addr))
        .map_err(BuildError::BootInfo)?;
    pvh::write_boot_info(
        &mem,
        ram,
        &cmdline,
        Some((initrd_addr, initrd.len() as u64)),
    )
    .map_err(BuildError::BootInfo)?;

    // 4. Devices.
    let irq = vstate::vm::irq_line(&vm, u32::from(abi::port::COM1_IRQ))?;
    let serial = Arc::new(Mutex::new(ConsoleSerial::new(irq, serial_out)));
    let ram_view: Arc<dyn GuestRam> = Arc::new(mem.clone());
    let introspect = Introspect::new(ram_view, events, trace).map_err(|e| BuildError::Output {
        what: "--trace",
        path: args
            .trace
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        reason: io_reason(&e),
    })?;
    let introspect = Arc::new(Mutex::new(introspect));
    let bus = PortBus {
        serial: serial.clone(),
        debugcon,
        introspect: introspect.clone(),
        exits: Default::default(),
    };

    // 5. The vCPU, at the PVH entry point.
    let vcpu = vstate::vcpu::create(&kvm, &vm, info.entry, layout::START_INFO)
        .map_err(BuildError::Vcpu)?;

    Ok(Machine {
        vcpu,
        bus,
        serial,
        introspect,
        vm,
        mem,
    })
}
