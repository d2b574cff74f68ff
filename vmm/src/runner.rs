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

use crate::api;
use crate::builder::{self, Machine};
use crate::cli::{Output, RunArgs};
use crate::console::{self, ConsoleInput, RawMode};
use crate::devices::ExitCounts;
use crate::devices::serial::NUDGE_AFTER;
use crate::exitcode;
use crate::introspect::Introspect;
use crate::vstate::vcpu::{self, Stop, VcpuControl};

/// How the run ended.
#[derive(Debug)]
pub enum Outcome {
    /// The vCPU stopped; for crashes, the registers at that moment.
    Stopped(Stop, Option<String>),
    /// `--timeout` expired; the registers when the vCPU was stopped.
    Timeout(f64, Option<String>),
    /// Ctrl-A x, or `ctl quit`.
    Quit,
}

impl Outcome {
    /// Whether the post-mortem is worth printing: the guest crashed or
    /// stopped responding.
    fn wants_post_mortem(&self) -> bool {
        match self {
            Outcome::Stopped(Stop::PowerOff(_) | Stop::Kicked | Stop::RunFailed(_), _) => false,
            Outcome::Stopped(..) | Outcome::Timeout(..) => true,
            Outcome::Quit => false,
        }
    }
}

type Subscriber = Arc<Mutex<dyn MutEventSubscriber + Send>>;

/// What the vCPU thread leaves: how it ended, the registers then (for
/// crashes), and its exit counts.
type VcpuResult = Arc<Mutex<Option<(Stop, Option<String>, ExitCounts)>>>;

/// Wakes the event loop: the vCPU thread ended, or the control socket
/// asked to quit. The loop looks at its flags after every wake-up.
struct Wake {
    evt: EventFd,
}

impl MutEventSubscriber for Wake {
    fn process(&mut self, _events: Events, _ops: &mut EventOps) {
        let _ = self.evt.read();
    }

    fn init(&mut self, ops: &mut EventOps) {
        ops.add(Events::new(&self.evt, EventSet::IN))
            .expect("register the wake eventfd");
    }
}

/// How often the event loop drains the debug port's ring itself (the vCPU
/// thread drains it after its exits; a guest whose processes only compute
/// makes few).
const DRAIN_EVERY: Duration = Duration::from_millis(100);

/// Boots and runs a guest; returns the process exit status.
pub fn run(args: &RunArgs) -> i32 {
    let machine = match builder::build(args) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("vmm: {e}");
            return exitcode::HOST_ERROR;
        }
    };
    let introspect = machine.introspect.clone();
    let control = Arc::new(VcpuControl::default());
    match run_machine(machine, args, &control) {
        Ok((outcome, exits)) => {
            let code = report(&outcome);
            let mut i = introspect.lock().unwrap();
            if outcome.wants_post_mortem() {
                let timed_out = matches!(outcome, Outcome::Timeout(..));
                eprint!(
                    "{}",
                    indent_block("vmm: post-mortem", &i.post_mortem(timed_out))
                );
            }
            i.finish();
            if args.stats {
                eprint!("{}", stats_text(&i, &control, exits.as_ref()));
            }
            code
        }
        Err(e) => {
            eprintln!("vmm: {e}");
            exitcode::HOST_ERROR
        }
    }
}

/// What a KVM_EXIT_INTERNAL_ERROR suberror means (linux/kvm.h).
fn internal_error_meaning(suberror: u32) -> &'static str {
    match suberror {
        kvm_bindings::KVM_INTERNAL_ERROR_EMULATION => {
            "KVM could not emulate an instruction (code run from where no RAM is, \
             or an instruction it does not emulate)"
        }
        kvm_bindings::KVM_INTERNAL_ERROR_SIMUL_EX => {
            "an exception while another was being delivered"
        }
        kvm_bindings::KVM_INTERNAL_ERROR_DELIVERY_EV => {
            "an exit while an event was being delivered (often a broken IDT or stack)"
        }
        kvm_bindings::KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON => {
            "the hardware exited for a reason KVM does not handle"
        }
        _ => "unknown to this vmm",
    }
}

/// `title:` then `text` indented under it.
fn indent_block(title: &str, text: &str) -> String {
    let mut s = format!("{title}:\n");
    for line in text.lines() {
        s.push_str("  ");
        s.push_str(line);
        s.push('\n');
    }
    s
}

/// The `--stats` report: boot phases and exits by reason.
fn stats_text(i: &Introspect, control: &VcpuControl, exits: Option<&ExitCounts>) -> String {
    let start = crate::START.get().copied().unwrap_or_else(Instant::now);
    let ms = |t: Option<Instant>| match t {
        Some(t) if t >= start => format!("{:>10.3} ms", (t - start).as_secs_f64() * 1000.0),
        Some(_) => "    (before vmm start?)".into(),
        None => "         (not reached)".into(),
    };
    let [entry, sched, init] = i.boot_stamps();
    let mut s = String::from("vmm: stats\n  boot phases (since vmm start):\n");
    for (name, t) in [
        ("vmm start", Some(start)),
        ("first KVM_RUN", control.first_run.get().copied()),
        ("kernel entry", entry),
        ("scheduler start", sched),
        ("init running", init),
        ("exit", Some(Instant::now())),
    ] {
        s.push_str(&format!("    {name:<18}{}\n", ms(t)));
    }
    if let Some(x) = exits {
        s.push_str(&format!("  VM exits: {} in all\n", x.total()));
        for (name, n) in x.rows() {
            if n > 0 {
                s.push_str(&format!("    {name:<22}{n:>10}\n"));
            }
        }
        let u = &x.unassigned;
        if u.any() {
            s.push_str(&format!(
                "  accesses to nothing (reads got all ones, writes ignored): \
                 {} port reads, {} port writes, {} MMIO reads, {} MMIO writes\n",
                u.port_reads, u.port_writes, u.mmio_reads, u.mmio_writes
            ));
        }
    }
    s.push_str(&format!(
        "  process events: {} read from the ring, {} lost\n",
        i.total, i.lost
    ));
    s
}

fn run_machine(
    machine: Machine,
    args: &RunArgs,
    control: &Arc<VcpuControl>,
) -> std::io::Result<(Outcome, Option<ExitCounts>)> {
    let Machine {
        mut vcpu,
        mut bus,
        serial,
        introspect,
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
    let wake = EventFd::new(libc::EFD_NONBLOCK)?;
    em.add_subscriber(Arc::new(Mutex::new(Wake {
        evt: wake.try_clone()?,
    })));

    // Console input: only when the console is on our stdio.
    let raw = (args.serial == Output::Stdout)
        .then(RawMode::stdin)
        .flatten();
    if args.serial == Output::Stdout {
        let wake = EventFd::new(libc::EFD_NONBLOCK)?;
        let budget = serial.lock().unwrap().input_budget();
        let rx = console::spawn_stdin_reader(raw.is_some(), wake.try_clone()?, budget);
        em.add_subscriber(Arc::new(Mutex::new(ConsoleInput {
            rx,
            wake,
            serial: serial.clone(),
            quit: quit.clone(),
            introspect: introspect.clone(),
        })));
    }

    // The control socket.
    let _api = match &args.api_sock {
        Some(path) => Some(api::Server::start(
            path,
            api::Context {
                introspect: introspect.clone(),
                control: control.clone(),
                serial: serial.clone(),
                quit: quit.clone(),
                wake: wake.try_clone()?,
            },
        )?),
        None => None,
    };

    // The vCPU thread.
    let done = Arc::new(AtomicBool::new(false));
    let result: VcpuResult = Arc::new(Mutex::new(None));
    let (result_in, done_in, wake_in, control_in) = (
        result.clone(),
        done.clone(),
        wake.try_clone()?,
        control.clone(),
    );
    vcpu::install_kick_handler()?;
    std::thread::Builder::new()
        .name("vcpu0".into())
        .spawn(move || {
            let stop = vcpu::run(&mut vcpu, &mut bus, &control_in);
            let regs = match stop {
                Stop::PowerOff(_) => None,
                _ => Some(vcpu::describe_registers(&vcpu)),
            };
            *result_in.lock().unwrap() = Some((stop, regs, bus.exits));
            done_in.store(true, Ordering::SeqCst);
            let _ = wake_in.write(1);
            // Keep the VM and its memory alive as long as the vCPU.
            drop((vm, mem));
        })?;

    let deadline = args
        .timeout
        .map(|t| Instant::now() + Duration::from_secs_f64(t));
    let mut next_drain = Instant::now() + DRAIN_EVERY;
    // After a stop request: what the vCPU thread left, once it has.
    let stop_and_take = |result: &VcpuResult| {
        control.stop(Duration::from_secs(1));
        let start = Instant::now();
        while !done.load(Ordering::SeqCst) && start.elapsed() < Duration::from_secs(1) {
            std::thread::sleep(Duration::from_millis(1));
        }
        result.lock().unwrap().take()
    };
    let take = |result: &VcpuResult| result.lock().unwrap().take();
    let outcome = loop {
        if done.load(Ordering::SeqCst) {
            let (stop, regs, exits) = take(&result).expect("vCPU result");
            break (Outcome::Stopped(stop, regs), Some(exits));
        }
        if quit.load(Ordering::SeqCst) {
            break (Outcome::Quit, stop_and_take(&result).map(|r| r.2));
        }
        let now = Instant::now();
        if now >= next_drain {
            introspect.lock().unwrap().drain();
            next_drain = now + DRAIN_EVERY;
        }
        let mut wait = next_drain - now;
        if let Some(d) = deadline {
            let left = d.saturating_duration_since(now);
            if left.is_zero() {
                let r = stop_and_take(&result);
                break (
                    Outcome::Timeout(
                        args.timeout.unwrap_or_default(),
                        r.as_ref().and_then(|r| r.1.clone()),
                    ),
                    r.map(|r| r.2),
                );
            }
            wait = wait.min(left);
        }
        // While received data waits unread, look again soon (see
        // ConsoleSerial::nudge).
        {
            let mut uart = uart.lock().unwrap();
            uart.nudge();
            if uart.has_unread() {
                wait = wait.min(NUDGE_AFTER);
            }
        }
        // Round up so the loop does not spin on a sub-millisecond rest.
        let wait_ms = wait.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
        em.run_with_timeout(wait_ms)
            .map_err(|e| std::io::Error::other(format!("event loop: {e:?}")))?;
    };
    drop(raw);
    // Nothing the guest wrote is lost at exit, unless the destination is
    // stalled for good; then say how much.
    for (name, drain) in drains {
        let d = drain.wait(Duration::from_secs(2));
        if d.lost > 0 {
            eprintln!(
                "vmm: {} of the {} bytes of {name} output could not be written \
                 (the destination stalled or failed)",
                d.lost, d.total
            );
        }
    }
    Ok(outcome)
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
                "vmm: guest crashed: KVM internal error, suberror {sub}: {}{}",
                internal_error_meaning(*sub),
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
            eprintln!("vmm: quit (Ctrl-A x or ctl quit)");
            exitcode::USER_QUIT
        }
    }
}
