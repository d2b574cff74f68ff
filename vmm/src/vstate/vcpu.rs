//! The vCPU: its configuration at the PVH entry, the run loop, and the
//! handling of each exit, a pure function over the exit and the port bus so
//! it is tested with made-up exits and no KVM.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

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
            bus.exits.unassigned.mmio_reads += 1;
            data.fill(abi::port::UNASSIGNED_READ);
            None
        }
        VcpuExit::MmioWrite(..) => {
            bus.exits.unassigned.mmio_writes += 1;
            None
        }
        // With the in-kernel LAPIC, KVM handles `hlt` itself; should one
        // reach us, the next KVM_RUN waits for an interrupt again.
        VcpuExit::Hlt => {
            bus.exits.hlt += 1;
            None
        }
        VcpuExit::IrqWindowOpen | VcpuExit::Intr => {
            bus.exits.other += 1;
            None
        }
        VcpuExit::Shutdown => {
            bus.exits.other += 1;
            Some(Stop::TripleFault)
        }
        VcpuExit::FailEntry(reason, _) => {
            bus.exits.other += 1;
            Some(Stop::FailEntry(reason))
        }
        VcpuExit::InternalError => {
            bus.exits.other += 1;
            Some(Stop::InternalError(0))
        }
        other => {
            bus.exits.other += 1;
            Some(Stop::Unexpected(format!("{other:?}")))
        }
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

/// What the VMM asks of the vCPU thread from other threads: stop, pause,
/// resume, show the registers. A request is posted here, then the thread
/// is kicked out of KVM_RUN with [`kick_signal`] (repeatedly: a signal
/// that lands just before KVM_RUN is absorbed), and it serves the request
/// between two runs.
#[derive(Default)]
pub struct VcpuControl {
    stop: AtomicBool,
    pending: AtomicBool,
    state: Mutex<ControlState>,
    changed: Condvar,
    thread: Mutex<Option<libc::pthread_t>>,
    /// When the thread first entered KVM_RUN.
    pub first_run: OnceLock<Instant>,
}

#[derive(Default)]
struct ControlState {
    pause: bool,
    paused: bool,
    regs_wanted: bool,
    regs: Option<serde_json::Value>,
}

/// How often a waiting request kicks the vCPU again.
const KICK_EVERY: Duration = Duration::from_millis(5);

impl VcpuControl {
    fn kick(&self) {
        if let Some(t) = *self.thread.lock().unwrap() {
            // SAFETY: `t` is the vCPU thread, registered by itself in
            // `run` and removed before it returns, so it is alive; the
            // signal has a do-nothing handler.
            unsafe { libc::pthread_kill(t, kick_signal()) };
        }
    }

    /// Waits up to `timeout` for `done`, kicking the vCPU meanwhile.
    fn wait_for(&self, timeout: Duration, mut done: impl FnMut(&mut ControlState) -> bool) -> bool {
        let start = Instant::now();
        let mut st = self.state.lock().unwrap();
        while !done(&mut st) {
            if start.elapsed() >= timeout || self.thread.lock().unwrap().is_none() {
                return false;
            }
            drop(st);
            self.kick();
            st = self.state.lock().unwrap();
            st = self.changed.wait_timeout(st, KICK_EVERY).unwrap().0;
        }
        true
    }

    /// Asks the vCPU to stop for good and waits up to `timeout` for the
    /// thread to leave KVM_RUN; whether it did.
    pub fn stop(&self, timeout: Duration) -> bool {
        self.stop.store(true, Ordering::SeqCst);
        self.pending.store(true, Ordering::SeqCst);
        self.changed.notify_all();
        self.wait_for(timeout, |_| false) || self.thread.lock().unwrap().is_none()
    }

    /// Whether a stop was asked for.
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Pauses the vCPU; whether it is paused within `timeout`.
    pub fn pause(&self, timeout: Duration) -> bool {
        self.state.lock().unwrap().pause = true;
        self.pending.store(true, Ordering::SeqCst);
        self.wait_for(timeout, |st| st.paused)
    }

    /// Lets a paused vCPU run again.
    pub fn resume(&self) {
        self.state.lock().unwrap().pause = false;
        self.changed.notify_all();
    }

    /// Whether the vCPU is paused.
    pub fn is_paused(&self) -> bool {
        self.state.lock().unwrap().paused
    }

    /// The vCPU's registers, read by its thread between two runs.
    pub fn registers(&self, timeout: Duration) -> Option<serde_json::Value> {
        {
            let mut st = self.state.lock().unwrap();
            st.regs = None;
            st.regs_wanted = true;
        }
        self.pending.store(true, Ordering::SeqCst);
        self.changed.notify_all();
        let mut regs = None;
        self.wait_for(timeout, |st| {
            regs = st.regs.take();
            regs.is_some()
        });
        regs
    }

    /// Serves pause and register requests (on the vCPU thread).
    fn serve(&self, vcpu: &VcpuFd) {
        let mut st = self.state.lock().unwrap();
        self.pending.store(false, Ordering::SeqCst);
        loop {
            if st.regs_wanted {
                st.regs_wanted = false;
                st.regs = Some(registers_json(vcpu));
                self.changed.notify_all();
            }
            if st.pause && !self.stopping() {
                if !st.paused {
                    st.paused = true;
                    self.changed.notify_all();
                }
                st = self.changed.wait(st).unwrap();
                continue;
            }
            break;
        }
        if st.paused {
            st.paused = false;
            self.changed.notify_all();
        }
    }
}

/// Runs the vCPU until it stops, or until `control` asks it to. The ring
/// of the debug port is drained after every exit.
pub fn run(vcpu: &mut VcpuFd, bus: &mut PortBus, control: &VcpuControl) -> Stop {
    // SAFETY: pthread_self has no preconditions.
    *control.thread.lock().unwrap() = Some(unsafe { libc::pthread_self() });
    let stop = run_loop(vcpu, bus, control);
    *control.thread.lock().unwrap() = None;
    control.changed.notify_all();
    bus.flush();
    stop
}

fn run_loop(vcpu: &mut VcpuFd, bus: &mut PortBus, control: &VcpuControl) -> Stop {
    loop {
        if control.pending.load(Ordering::SeqCst) {
            control.serve(vcpu);
        }
        if control.stopping() {
            return Stop::Kicked;
        }
        control.first_run.get_or_init(Instant::now);
        let stop = match vcpu.run() {
            Ok(exit) => handle_exit(exit, bus),
            Err(e) if e.errno() == libc::EINTR || e.errno() == libc::EAGAIN => {
                bus.exits.interrupted += 1;
                None
            }
            Err(e) => Some(Stop::RunFailed(e.to_string())),
        };
        bus.introspect.lock().unwrap().drain_if_new();
        if let Some(stop) = stop {
            if let Stop::InternalError(_) = stop {
                // The suberror says what KVM failed to do.
                let run = vcpu.get_kvm_run();
                // SAFETY: the exit reason was KVM_EXIT_INTERNAL_ERROR, so the
                // `internal` member of the union is the one KVM filled.
                let suberror = unsafe { run.__bindgen_anon_1.internal.suberror };
                return Stop::InternalError(suberror);
            }
            return stop;
        }
    }
}

/// Every register `ctl regs` shows, as JSON (hex strings).
pub fn registers_json(vcpu: &VcpuFd) -> serde_json::Value {
    let hex = |v: u64| serde_json::Value::from(format!("{v:#x}"));
    match (vcpu.get_regs(), vcpu.get_sregs()) {
        (Ok(r), Ok(s)) => serde_json::json!({
            "rip": hex(r.rip), "rsp": hex(r.rsp), "rflags": hex(r.rflags),
            "rax": hex(r.rax), "rbx": hex(r.rbx), "rcx": hex(r.rcx), "rdx": hex(r.rdx),
            "rsi": hex(r.rsi), "rdi": hex(r.rdi), "rbp": hex(r.rbp),
            "r8": hex(r.r8), "r9": hex(r.r9), "r10": hex(r.r10), "r11": hex(r.r11),
            "r12": hex(r.r12), "r13": hex(r.r13), "r14": hex(r.r14), "r15": hex(r.r15),
            "cr0": hex(s.cr0), "cr2": hex(s.cr2), "cr3": hex(s.cr3), "cr4": hex(s.cr4),
            "efer": hex(s.efer), "cs": hex(u64::from(s.cs.selector)),
            "cpl": u64::from(s.cs.dpl),
        }),
        (Err(e), _) | (_, Err(e)) => serde_json::json!({ "error": e.to_string() }),
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
        assert_eq!(b.exits.unassigned.mmio_reads, 1);
        assert_eq!(b.exits.unassigned.mmio_writes, 1);
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
