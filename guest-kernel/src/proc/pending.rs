//! Pending signals: what "sent" leaves in a PCB, below both the lifecycle
//! ([`super::life`], which tells a parent of its child's end) and signals
//! proper ([`super::signal`], which sends, stops, continues and delivers).
//! Nothing here acts on a signal: it is marked pending, and a sleeper
//! that will take it is woken.

use super::sched::wake;
use super::{Kernel, Pcb};
use abi::debug::EventKind;
use abi::proc::{Pid, ProcState};
use abi::signal::{self, Default, SIG_DFL, SIG_IGN, SigSet};

/// What the handler of `sig` in `pcb` is: `SIG_DFL`, `SIG_IGN` or an
/// address.
pub fn handler(pcb: &Pcb, sig: u32) -> u64 {
    pcb.sig_handlers[sig as usize]
}

/// Whether `sig` sent to `pcb` would do nothing at all (ignored, or a
/// default of ignoring; init's default for everything).
pub fn discarded(pcb: &Pcb, sig: u32) -> bool {
    match handler(pcb, sig) {
        SIG_IGN => true,
        // SIGCONT's default action is taken when it is sent; it is not
        // left pending to interrupt a call.
        SIG_DFL => {
            pcb.info.pid == Pid::INIT
                || matches!(
                    signal::default_action(sig),
                    Default::Ignore | Default::Continue
                )
        }
        _ => false,
    }
}

/// What a call returns (negated, as an errno) when a signal interrupted it
/// before it did anything: the dispatcher runs it again once the signal is
/// handled (after a handler returns, or when a stopped process continues).
/// Never seen by user code. Calls that wait for input, output or a child
/// restart so (as `read`, `write` and `waitpid` do under a Linux `signal()`
/// handler); `sleep` ends with `EINTR` instead.
pub const ERESTART: i64 = 512;

/// Whether `pcb` ignores or blocks `sig`: a job-control signal it would
/// not take (then the call that raised it fails with `EIO` instead).
pub fn refuses(pcb: &Pcb, sig: u32) -> bool {
    handler(pcb, sig) == SIG_IGN || pcb.info.sig_blocked.has(sig)
}

/// Marks `sig` pending in `slot` (the caller checked that it is not
/// discarded and is not a stop, a continue or a kill, which act at once):
/// a sleeper that does not block it is woken, its call ends (`EINTR` or a
/// restart), and the signal is delivered on the way out.
pub fn make_pending(k: &mut Kernel, slot: usize, sig: u32) {
    let pc = k.pcb(slot);
    pc.info.sig_pending.0 |= SigSet::of(sig).0;
    if !pc.info.sig_blocked.has(sig) && k.state(slot) == ProcState::Sleeping {
        wake(k, slot);
    }
}

/// Sends `SIGCHLD` to `parent` from `child` (its default is to be
/// ignored: then nothing happens, and nothing is recorded).
pub fn child_changed(k: &mut Kernel, parent: usize, child: Pid) {
    if discarded(k.pcb(parent), signal::SIGCHLD) {
        return;
    }
    k.trace(parent, EventKind::Signal, signal::SIGCHLD, child.arg());
    make_pending(k, parent, signal::SIGCHLD);
}

/// The signals `slot` has pending that it does not block.
pub fn deliverable(pcb: &Pcb) -> SigSet {
    SigSet(pcb.info.sig_pending.0 & !pcb.info.sig_blocked.0)
}

impl Kernel {
    /// Whether the running process must not sleep (longer): it was killed,
    /// or has a signal to take. A call it sleeps in then ends, with `EINTR`
    /// where it has nothing else to say.
    pub fn interrupted(&mut self) -> bool {
        // A killed process has SIGKILL pending (and never blocked).
        deliverable(self.me()).0 != 0
    }
}
