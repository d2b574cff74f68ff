//! The vCPU: its configuration at the PVH entry, the run loop, and the
//! handling of each exit, a pure function over the exit and the port bus so
//! it is tested with made-up exits and no KVM.

use std::sync::atomic::{AtomicBool, Ordering};

use kvm_bindings::{CpuId, KVM_MAX_CPUID_ENTRIES};
use kvm_ioctls::{Kvm, VcpuExit, VcpuFd, VmFd};

use abi::exit::ExitRequest;

use crate::arch::x86_64::{cpuid, regs};
use crate::devices::PortBus;

/// Why the vCPU stopped running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The guest asked to power off with this status.
    PowerOff(u8),
    /// The guest kernel reported its own crash (panic or exception).
    KernelCrash(ExitRequest),
    /// The CPU shut down (triple fault).
    TripleFault,
    /// KVM could not emulate something (KVM_EXIT_INTERNAL_ERROR).
    InternalError(u32),
    /// VM entry failed (KVM_EXIT_FAIL_ENTRY) with this hardware reason.
    FailEntry(u64),
    /// An exit we do not handle.
    Unexpected(String),
    /// KVM_RUN itself failed.
    RunFailed(String),
    /// The VMM stopped it (timeout, quit).
    Kicked,
}

/// The signal that interrupts KVM_RUN so the vCPU thread sees a stop
/// request: the first real-time signal, with a handler that does nothing.
pub fn kick_signal() -> i32 {
    vmm_sys_util::signal::SIGRTMIN()
}

extern "C" fn on_kick(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {}

/// Installs the (empty) handler of [`kick_signal`]; without one the signal
/// would end the process.
pub fn install_kick_handler() -> std::io::Result<()> {
    vmm_sys_util::signal::register_signal_handler(kick_signal(), on_kick)
        .map_err(|e| std::io::Error::from_raw_os_error(e.errno()))
}

/// Handles one exit. `None`: run the vCPU again.
pub fn handle_exit(exit: VcpuExit, bus: &mut PortBus) -> Option<Stop> {
    match exit {
        VcpuExit::IoOut(port, data) => match bus.write(port, data)? {
            ExitRequest::PowerOff(status) => Some(Stop::PowerOff(status)),
            crash => Some(Stop::KernelCrash(crash)),
        },
        VcpuExit::IoIn(port, data) => {
            bus.read(port, data);
            None
        }
        VcpuExit::MmioRead(_, data) => {
            bus.unassigned.mmio_reads += 1;
            data.fill(abi::port::UNASSIGNED_READ);
            None
        }
        VcpuExit::MmioWrite(..) => {
            bus.unassigned.mmio_writes += 1;
            None
        }
        // With the in-kernel LAPIC, KVM handles `hlt` itself; should one
        // reach us, the next KVM_RUN waits for an interrupt again.
        VcpuExit::Hlt | VcpuExit::IrqWindowOpen | VcpuExit::Intr => None,
        VcpuExit::Shutdown => Some(Stop::TripleFault),
        VcpuExit::FailEntry(reason, _) => Some(Stop::FailEntry(reason)),
        VcpuExit::InternalError => Some(Stop::InternalError(0)),
        other => Some(Stop::Unexpected(format!("{other:?}"))),
    }
}

/// Creates vCPU 0 in the state the PVH protocol starts a kernel in.
pub fn create(
    kvm: &Kvm,
    vm: &VmFd,
    entry: u64,
    start_info: u64,
) -> Result<VcpuFd, kvm_ioctls::Error> {
    let vcpu = vm.create_vcpu(0)?;
    let supported = kvm.get_supported_cpuid(KVM_MAX_CPUID_ENTRIES)?;
    let mut entries = supported.as_slice().to_vec();
    // Without KVM_GET_TSC_KHZ the kernel calibrates against the PIT.
    if let Ok(tsc_khz) = vcpu.get_tsc_khz() {
        cpuid::add_timing_leaf(&mut entries, tsc_khz);
    }
    let cpuid = CpuId::from_entries(&entries).map_err(|_| kvm_ioctls::Error::new(libc::E2BIG))?;
    vcpu.set_cpuid2(&cpuid)?;
    let sregs = regs::pvh_sregs(vcpu.get_sregs()?);
    vcpu.set_sregs(&sregs)?;
    vcpu.set_regs(&regs::pvh_regs(entry, start_info))?;
    vcpu.set_fpu(&regs::reset_fpu())?;
    Ok(vcpu)
}

/// Runs the vCPU until it stops, or until `kick` is set and the thread
/// receives [`kick_signal`].
pub fn run(vcpu: &mut VcpuFd, bus: &mut PortBus, kick: &AtomicBool) -> Stop {
    loop {
        if kick.load(Ordering::SeqCst) {
            bus.flush();
            return Stop::Kicked;
        }
        let stop = match vcpu.run() {
            Ok(exit) => handle_exit(exit, bus),
            Err(e) if e.errno() == libc::EINTR || e.errno() == libc::EAGAIN => None,
            Err(e) => Some(Stop::RunFailed(e.to_string())),
        };
        if let Some(stop) = stop {
            if let Stop::InternalError(_) = stop {
                // The suberror says what KVM failed to do.
                let run = vcpu.get_kvm_run();
                // SAFETY: the exit reason was KVM_EXIT_INTERNAL_ERROR, so the
                // `internal` member of the union is the one KVM filled.
                let suberror = unsafe { run.__bindgen_anon_1.internal.suberror };
                bus.flush();
                return Stop::InternalError(suberror);
            }
            bus.flush();
            return stop;
        }
    }
}

/// The registers worth showing after a crash, one line.
pub fn describe_registers(vcpu: &VcpuFd) -> String {
    match (vcpu.get_regs(), vcpu.get_sregs()) {
        (Ok(r), Ok(s)) => format!(
            "rip={:#x} rsp={:#x} rflags={:#x} cr0={:#x} cr2={:#x} cr3={:#x} cr4={:#x} efer={:#x} cs={:#x}",
            r.rip, r.rsp, r.rflags, s.cr0, s.cr2, s.cr3, s.cr4, s.efer, s.cs.selector
        ),
        (Err(e), _) | (_, Err(e)) => format!("registers unavailable: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::tests::bus;

    #[test]
    fn exit_port_stops_with_the_status() {
        let mut b = bus();
        assert_eq!(
            handle_exit(VcpuExit::IoOut(abi::port::EXIT, &[3, 0, 0, 0]), &mut b),
            Some(Stop::PowerOff(3))
        );
        let crash = ExitRequest::Exception(13).encode().to_le_bytes();
        assert_eq!(
            handle_exit(VcpuExit::IoOut(abi::port::EXIT, &crash), &mut b),
            Some(Stop::KernelCrash(ExitRequest::Exception(13)))
        );
    }

    #[test]
    fn device_exits_continue() {
        let mut b = bus();
        assert_eq!(handle_exit(VcpuExit::IoOut(0x3F8, b"hi"), &mut b), None);
        let mut data = [0u8; 2];
        assert_eq!(
            handle_exit(VcpuExit::MmioRead(0xD000_0000, &mut data), &mut b),
            None
        );
        assert_eq!(data, [0xFF, 0xFF]);
        assert_eq!(
            handle_exit(VcpuExit::MmioWrite(0xD000_0000, &[1]), &mut b),
            None
        );
        assert_eq!(b.unassigned.mmio_reads, 1);
        assert_eq!(b.unassigned.mmio_writes, 1);
        assert_eq!(handle_exit(VcpuExit::Hlt, &mut b), None);
    }

    #[test]
    fn faults_stop() {
        let mut b = bus();
        assert_eq!(
            handle_exit(VcpuExit::Shutdown, &mut b),
            Some(Stop::TripleFault)
        );
        assert_eq!(
            handle_exit(VcpuExit::FailEntry(7, 0), &mut b),
            Some(Stop::FailEntry(7))
        );
        assert!(matches!(
            handle_exit(VcpuExit::Unknown, &mut b),
            Some(Stop::Unexpected(_))
        ));
    }
}
