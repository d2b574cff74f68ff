//! Runs a built VM: the vCPU on its own thread, the event loop (console
//! input, vCPU completion) on this one, bounded by `--timeout`, and turns
//! how it ended into a message and an exit status.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use event_manager::{EventManager, EventOps, Events, MutEventSubscriber, SubscriberOps};
use vmm_sys_util::epoll::EventSet;
use vmm_sys_util::eventfd::EventFd;

use abi::exit::{ExitRequest, exception_name};

use crate::builder::{self, Machine};
use crate::cli::{Output, RunArgs};
use crate::console::{self, ConsoleInput, RawMode};
use crate::devices::serial::NUDGE_AFTER;
use crate::exitcode;
use crate::vstate::vcpu::{self, Stop};

/// How the run ended.
#[derive(Debug)]
pub enum Outcome {
    /// The vCPU stopped; for crashes, the registers at that moment.
    Stopped(Stop, Option<String>),
    /// `--timeout` expired; the registers when the vCPU was stopped.
    Timeout(f64, Option<String>),
    /// Ctrl-A x.
    Quit,
}

type Subscriber = Arc<Mutex<dyn MutEventSubscriber + Send>>;

/// How the vCPU thread ended, and the registers then (for crashes).
type VcpuResult = Arc<Mutex<Option<(Stop, Option<String>)>>>;

/// Wakes the event loop when the vCPU thread ends.
struct VcpuDone {
    evt: EventFd,
    done: Arc<AtomicBool>,
}

impl MutEventSubscriber for VcpuDone {
    fn process(&mut self, _events: Events, _ops: &mut EventOps) {
        let _ = self.evt.read();
        self.done.store(true, Ordering::SeqCst);
    }

    fn init(&mut self, ops: &mut EventOps) {
        ops.add(Events::new(&self.evt, EventSet::IN))
            .expect("register the vCPU eventfd");
    }
}

/// Boots and runs a guest; returns the process exit status.
pub fn run(args: &RunArgs) -> i32 {
    let machine = match builder::build(args) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("vmm: {e}");
            return exitcode::HOST_ERROR;
        }
    };
    match run_machine(machine, args) {
        Ok(outcome) => report(&outcome),
        Err(e) => {
            eprintln!("vmm: {e}");
            exitcode::HOST_ERROR
        }
    }
}

fn run_machine(machine: Machine, args: &RunArgs) -> std::io::Result<Outcome> {
    let Machine {
        mut vcpu,
        mut bus,
        serial,
        vm,
        mem,
    } = machine;
    let uart = serial.clone();
    let drains = [
        ("console", serial.lock().unwrap().output_drain()),
        ("debug console", bus.debugcon.drain()),
    ];
    let mut em: EventManager<Subscriber> =
        EventManager::new().map_err(|e| std::io::Error::other(format!("epoll: {e:?}")))?;
    let quit = Arc::new(AtomicBool::new(false));

    // Console input: only when the console is on our stdio.
    let raw = (args.serial == Output::Stdout)
        .then(RawMode::stdin)
        .flatten();
    if args.serial == Output::Stdout {
        let wake = EventFd::new(libc::EFD_NONBLOCK)?;
        let rx = console::spawn_stdin_reader(raw.is_some(), wake.try_clone()?);
        em.add_subscriber(Arc::new(Mutex::new(ConsoleInput {
            rx,
            wake,
            serial,
            quit: quit.clone(),
        })));
    }

    // The vCPU thread.
    let done_evt = EventFd::new(libc::EFD_NONBLOCK)?;
    let done = Arc::new(AtomicBool::new(false));
    em.add_subscriber(Arc::new(Mutex::new(VcpuDone {
        evt: done_evt.try_clone()?,
        done: done.clone(),
    })));
    let result: VcpuResult = Arc::new(Mutex::new(None));
    let result_in = result.clone();
    let kick = Arc::new(AtomicBool::new(false));
    let kick_in = kick.clone();
    vcpu::install_kick_handler()?;
    let thread = std::thread::Builder::new()
        .name("vcpu0".into())
        .spawn(move || {
            let stop = vcpu::run(&mut vcpu, &mut bus, &kick_in);
            let regs = match stop {
                Stop::PowerOff(_) => None,
                _ => Some(vcpu::describe_registers(&vcpu)),
            };
            *result_in.lock().unwrap() = Some((stop, regs));
            let _ = done_evt.write(1);
            // Keep the VM and its memory alive as long as the vCPU.
            drop((vm, mem));
        })?;

    let deadline = args
        .timeout
        .map(|t| Instant::now() + Duration::from_secs_f64(t));
    let outcome = loop {
        if done.load(Ordering::SeqCst) {
            let (stop, regs) = result.lock().unwrap().take().expect("vCPU result");
            break Outcome::Stopped(stop, regs);
        }
        if quit.load(Ordering::SeqCst) {
            break Outcome::Quit;
        }
        let mut wait_ms = match deadline {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    let regs = stop_vcpu(&thread, &kick, &result);
                    break Outcome::Timeout(args.timeout.unwrap_or_default(), regs);
                }
                // Round up so the loop does not spin on a sub-millisecond rest.
                left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
            }
            None => -1,
        };
        // While received data waits unread, look again soon (see
        // ConsoleSerial::nudge).
        {
            let mut uart = uart.lock().unwrap();
            uart.nudge();
            if uart.has_unread() {
                let nudge = NUDGE_AFTER.as_millis() as i32;
                wait_ms = if wait_ms < 0 {
                    nudge
                } else {
                    wait_ms.min(nudge)
                };
            }
        }
        em.run_with_timeout(wait_ms)
            .map_err(|e| std::io::Error::other(format!("event loop: {e:?}")))?;
    };
    drop(raw);
    // Nothing the guest wrote is lost at exit, unless the destination is
    // stalled for good; then say how much.
    for (name, drain) in drains {
        let lost = drain.wait(Duration::from_secs(2));
        if lost > 0 {
            eprintln!("vmm: {lost} bytes of {name} output could not be written");
        }
    }
    Ok(outcome)
}

/// Interrupts the vCPU thread until it stops (a signal can land just before
/// KVM_RUN, so it is repeated) and returns the registers it saw; `None` if
/// it does not stop within a second.
fn stop_vcpu(
    thread: &std::thread::JoinHandle<()>,
    kick: &AtomicBool,
    result: &Mutex<Option<(Stop, Option<String>)>>,
) -> Option<String> {
    use std::os::unix::thread::JoinHandleExt;
    kick.store(true, Ordering::SeqCst);
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(1) {
        if let Some((_, regs)) = result.lock().unwrap().take() {
            return regs;
        }
        if !thread.is_finished() {
            // SAFETY: the thread is alive (not finished, not joined), so its
            // pthread_t is valid; the signal has a do-nothing handler.
            unsafe { libc::pthread_kill(thread.as_pthread_t(), vcpu::kick_signal()) };
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

/// Prints what happened (nothing for a clean power-off) and returns the
/// exit status.
pub fn report(outcome: &Outcome) -> i32 {
    let regs = |r: &Option<String>| {
        r.as_deref()
            .map(|r| format!("\nvmm: vCPU state: {r}"))
            .unwrap_or_default()
    };
    match outcome {
        Outcome::Stopped(Stop::PowerOff(status), _) => i32::from(*status),
        Outcome::Stopped(Stop::KernelCrash(req), r) => {
            let what = match req {
                ExitRequest::Exception(v) => {
                    let (mnemonic, name) = exception_name(*v);
                    format!("kernel {name} ({mnemonic}, vector {v})")
                }
                _ => "kernel panic".into(),
            };
            eprintln!(
                "vmm: guest crashed: {what}; the kernel's report is on the console{}",
                regs(r)
            );
            exitcode::GUEST_CRASH
        }
        Outcome::Stopped(Stop::TripleFault, r) => {
            eprintln!(
                "vmm: guest crashed: triple fault (the vCPU shut down){}",
                regs(r)
            );
            exitcode::GUEST_CRASH
        }
        Outcome::Stopped(Stop::InternalError(sub), r) => {
            eprintln!(
                "vmm: guest crashed: KVM internal error (suberror {sub}){}",
                regs(r)
            );
            exitcode::GUEST_CRASH
        }
        Outcome::Stopped(Stop::FailEntry(reason), r) => {
            eprintln!(
                "vmm: guest crashed: VM entry failed (hardware reason {reason:#x}){}",
                regs(r)
            );
            exitcode::GUEST_CRASH
        }
        Outcome::Stopped(Stop::Unexpected(what), r) => {
            eprintln!("vmm: guest crashed: unexpected vCPU exit {what}{}", regs(r));
            exitcode::GUEST_CRASH
        }
        Outcome::Stopped(Stop::Kicked, _) => {
            eprintln!("vmm: the vCPU was stopped");
            exitcode::HOST_ERROR
        }
        Outcome::Stopped(Stop::RunFailed(e), _) => {
            eprintln!("vmm: KVM_RUN failed: {e}");
            exitcode::HOST_ERROR
        }
        Outcome::Timeout(secs, r) => {
            eprintln!(
                "vmm: timeout: the guest was still running after {secs} s{}",
                regs(r)
            );
            exitcode::TIMEOUT
        }
        Outcome::Quit => {
            eprintln!("vmm: quit from the console");
            exitcode::USER_QUIT
        }
    }
}
