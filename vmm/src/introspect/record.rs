//! What the VMM makes of the guest's events: a one-line description, a JSON
//! object per event (`--events`, JSON lines), and a Chrome trace
//! (`--trace`) with one track per process and a slice per state. Pure
//! writers over `io::Write`, tested without a VM.

use std::collections::HashMap;
use std::io::{self, Write};

use abi::debug::{Event, EventKind};
use abi::proc::{Cause, ProcState, SleepReason, WaitStatus};
use abi::signal::Name;
use serde_json::{Map, Value, json};

/// Turns guest TSC stamps into microseconds since kernel entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timebase {
    /// TSC at kernel entry.
    pub boot_tsc: u64,
    /// TSC rate (0: unknown, then ticks are used).
    pub tsc_khz: u64,
    /// Timer rate.
    pub hz: u32,
}

impl Timebase {
    /// Microseconds since kernel entry of `e`.
    pub fn us(&self, e: &Event) -> f64 {
        if self.tsc_khz > 0 && e.tsc >= self.boot_tsc {
            (e.tsc - self.boot_tsc) as f64 * 1000.0 / self.tsc_khz as f64
        } else {
            e.tick as f64 * 1e6 / f64::from(self.hz.max(1))
        }
    }
}

fn state_name(raw: u8) -> String {
    match ProcState::from_raw(u32::from(raw)) {
        Some(s) => s.name().to_string(),
        None => format!("?{raw}"),
    }
}

fn reason_name(raw: u8) -> &'static str {
    SleepReason::from_raw(u32::from(raw)).map_or("?", |r| r.name())
}

fn cause_name(raw: u8) -> &'static str {
    Cause::from_raw(u32::from(raw)).map_or("?", |c| c.describe())
}

/// How a wait status reads: `exited 3`, `page fault`, or how the signal
/// that ended it is said (`interrupt`, `terminated`, `killed`; `signal 40`
/// for a number without a name).
pub fn status_text(raw: u64) -> String {
    let s = WaitStatus(raw as u32 as i32);
    match (s.code(), s.signal()) {
        (Some(code), _) => format!("exited {code}"),
        (None, Some(sig)) if abi::signal::name(sig).is_none() => format!("{}", Name(sig)),
        _ => s.describe().to_string(),
    }
}

/// The stop signal of a `Suspend` event (its `reason`), if it names one.
fn stop_signal(e: &Event) -> Option<u32> {
    (e.reason != 0).then_some(u32::from(e.reason))
}

/// The name an exec event carries (first 8 bytes).
pub fn exec_name(e: &Event) -> String {
    let b = e.arg.to_le_bytes();
    let end = b.iter().position(|&c| c == 0).unwrap_or(8);
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// One line for a person: `pid 3 (sh): running -> sleeping(io)`.
pub fn describe(e: &Event, name: &str) -> String {
    let who = format!("pid {} ({name})", e.pid);
    match EventKind::from_raw(e.kind) {
        Some(EventKind::State) => {
            let mut to = state_name(e.new);
            if e.new == ProcState::Sleeping as u8 && e.reason != 0 {
                to = format!("{to}({})", reason_name(e.reason));
            }
            format!("{who}: {} -> {to}", state_name(e.old))
        }
        Some(EventKind::Create) => format!("{who}: created by pid {}", e.arg),
        Some(EventKind::Exec) => format!("{who}: exec {}", exec_name(e)),
        Some(EventKind::Exit) => format!("{who}: ended, {}", status_text(e.arg)),
        Some(EventKind::Kill) => format!("{who}: killed"),
        Some(EventKind::Suspend) => match stop_signal(e) {
            Some(sig) => format!("{who}: suspended ({})", Name(sig)),
            None => format!("{who}: suspended"),
        },
        Some(EventKind::Resume) => format!("{who}: resumed"),
        Some(EventKind::Fault) => {
            format!("{who}: {} at {:#x}", cause_name(e.reason), e.arg)
        }
        Some(EventKind::Panic) => {
            let what = match abi::debug::CrashKind::from_raw(u32::from(e.reason)) {
                Some(abi::debug::CrashKind::Panic) => "kernel panic",
                Some(abi::debug::CrashKind::Exception) => "kernel exception",
                Some(abi::debug::CrashKind::TripleFault) => "kernel triple fault",
                _ => "kernel crash",
            };
            format!("{who}: {what} at rip {:#x}", e.arg)
        }
        // Readers expand it into two state events (Event::expand).
        Some(EventKind::Switch) => format!("{who}: switched to pid {}", e.arg),
        Some(EventKind::Signal) => {
            let sig = Name(u32::from(e.reason));
            match e.arg {
                0 => format!("{who}: got {sig} from the console or host"),
                sender => format!("{who}: got {sig} from pid {sender}"),
            }
        }
        Some(EventKind::Handle) => format!(
            "{who}: runs its {} handler at {:#x}",
            Name(u32::from(e.reason)),
            e.arg
        ),
        Some(EventKind::Group) => format!("{who}: moved to process group {}", e.arg),
        Some(EventKind::Foreground) => {
            format!(
                "{who}: made process group {} the console's foreground",
                e.arg
            )
        }
        None => format!("{who}: unknown event kind {}", e.kind),
    }
}

/// The event as one JSON object (a line of `--events`).
pub fn to_json(e: &Event, name: &str, tb: &Timebase) -> Value {
    let kind = EventKind::from_raw(e.kind);
    let mut v = json!({
        "t_us": (tb.us(e) * 1000.0).round() / 1000.0,
        "tsc": e.tsc,
        "tick": e.tick,
        "pid": e.pid,
        "name": name,
        "event": kind.map_or("unknown", |k| k.name()),
    });
    let o = v.as_object_mut().expect("object");
    match kind {
        Some(EventKind::State) => {
            o.insert("from".into(), state_name(e.old).into());
            o.insert("to".into(), state_name(e.new).into());
            if e.new == ProcState::Sleeping as u8 {
                o.insert("reason".into(), reason_name(e.reason).into());
            }
        }
        None => {
            o.insert("raw_kind".into(), e.kind.into());
        }
        _ => o.extend(details(e)),
    }
    v
}

/// What an event other than a state change says beyond its kind, as JSON
/// fields: the lines of `--events`, and the arguments of the trace's
/// instants.
fn details(e: &Event) -> Map<String, Value> {
    let mut o = Map::new();
    let signal = |o: &mut Map<String, Value>, sig: u32| {
        o.insert("signal".into(), Name(sig).to_string().into());
    };
    match EventKind::from_raw(e.kind) {
        Some(EventKind::Create) => {
            o.insert("ppid".into(), e.arg.into());
        }
        Some(EventKind::Exit) => {
            let status = WaitStatus(e.arg as u32 as i32);
            o.insert("status".into(), status.0.into());
            o.insert("how".into(), status_text(e.arg).into());
            if let Some(sig) = status.signal() {
                signal(&mut o, sig);
            }
        }
        Some(EventKind::Fault) => {
            o.insert("cause".into(), cause_name(e.reason).into());
            o.insert("addr".into(), format!("{:#x}", e.arg).into());
        }
        Some(EventKind::Suspend) => {
            if let Some(sig) = stop_signal(e) {
                signal(&mut o, sig);
            }
        }
        Some(EventKind::Signal) => {
            signal(&mut o, u32::from(e.reason));
            o.insert("sender".into(), e.arg.into());
        }
        Some(EventKind::Handle) => {
            signal(&mut o, u32::from(e.reason));
            o.insert("handler".into(), format!("{:#x}", e.arg).into());
        }
        Some(EventKind::Group | EventKind::Foreground) => {
            o.insert("pgid".into(), e.arg.into());
        }
        _ => {}
    }
    o
}

/// The label of a state slice in the trace.
fn slice_label(state: u8, reason: u8) -> String {
    match ProcState::from_raw(u32::from(state)) {
        Some(ProcState::Sleeping) if reason != 0 => {
            format!("Sleeping ({})", reason_name(reason))
        }
        Some(s) => {
            let n = s.name();
            let mut c = n.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        }
        None => format!("?{state}"),
    }
}

/// A colour chrome://tracing knows for the state (Perfetto picks its own).
fn slice_colour(state: u8, reason: u8) -> &'static str {
    match ProcState::from_raw(u32::from(state)) {
        Some(ProcState::Running) => "thread_state_running",
        Some(ProcState::Runnable) => "thread_state_runnable",
        Some(ProcState::Sleeping) if reason == SleepReason::Io as u8 => "thread_state_iowait",
        Some(ProcState::Sleeping) => "thread_state_sleeping",
        Some(ProcState::Stopped) => "grey",
        _ => "thread_state_unknown",
    }
}

struct Open {
    state: u8,
    reason: u8,
    since_us: f64,
}

/// Streams a Chrome trace (JSON array format, which Perfetto and
/// chrome://tracing open): each guest process is a trace process with one
/// thread track; each stay in a state is a complete (`X`) slice; creation,
/// exec, exit, kill, suspend, resume, faults, panics, signals sent and
/// handled, and changes of process group and of the console's foreground
/// are instants, named as [`describe`] says them (without the process) and
/// with the fields [`to_json`] gives them as arguments.
/// Slices are written when they end, so the file grows with the run.
pub struct TraceWriter<W: Write> {
    out: W,
    open: HashMap<u32, Open>,
    named: HashMap<u32, String>,
    first: bool,
    last_us: f64,
}

impl<W: Write> TraceWriter<W> {
    /// Starts the trace.
    pub fn new(mut out: W) -> io::Result<Self> {
        out.write_all(b"[\n")?;
        Ok(TraceWriter {
            out,
            open: HashMap::new(),
            named: HashMap::new(),
            first: true,
            last_us: 0.0,
        })
    }

    fn emit(&mut self, v: &Value) -> io::Result<()> {
        if !self.first {
            self.out.write_all(b",\n")?;
        }
        self.first = false;
        serde_json::to_writer(&mut self.out, v)?;
        Ok(())
    }

    fn name_track(&mut self, pid: u32, name: &str) -> io::Result<()> {
        if self.named.get(&pid).is_some_and(|n| n == name) {
            return Ok(());
        }
        self.named.insert(pid, name.to_string());
        for (meta, args) in [
            ("process_name", json!({ "name": name })),
            ("process_sort_index", json!({ "sort_index": pid })),
            ("thread_name", json!({ "name": name })),
        ] {
            self.emit(&json!({"ph": "M", "name": meta, "pid": pid, "tid": pid, "args": args}))?;
        }
        Ok(())
    }

    fn close_slice(&mut self, pid: u32, at_us: f64) -> io::Result<()> {
        if let Some(o) = self.open.remove(&pid) {
            self.emit(&json!({
                "ph": "X",
                "cat": "state",
                "name": slice_label(o.state, o.reason),
                "cname": slice_colour(o.state, o.reason),
                "pid": pid,
                "tid": pid,
                "ts": o.since_us,
                "dur": (at_us - o.since_us).max(0.0),
            }))?;
        }
        Ok(())
    }

    /// Adds one event of process `name`.
    pub fn event(&mut self, e: &Event, name: &str, tb: &Timebase) -> io::Result<()> {
        let ts = tb.us(e);
        self.last_us = self.last_us.max(ts);
        self.name_track(e.pid, name)?;
        match EventKind::from_raw(e.kind) {
            Some(EventKind::State) => {
                self.close_slice(e.pid, ts)?;
                if e.new != ProcState::Unused as u8 {
                    self.open.insert(
                        e.pid,
                        Open {
                            state: e.new,
                            reason: e.reason,
                            since_us: ts,
                        },
                    );
                }
                Ok(())
            }
            _ => {
                let text = describe(e, name);
                let label = text.split_once(": ").map_or(text.as_str(), |(_, w)| w);
                let mut v = json!({
                    "ph": "i",
                    "s": "t",
                    "cat": "event",
                    "name": label,
                    "pid": e.pid,
                    "tid": e.pid,
                    "ts": ts,
                });
                let args = details(e);
                if !args.is_empty() {
                    v["args"] = args.into();
                }
                self.emit(&v)
            }
        }
    }

    /// Ends every open slice at `end_us` (or the last event) and closes the
    /// array.
    pub fn finish(mut self, end_us: Option<f64>) -> io::Result<W> {
        let end = end_us.unwrap_or(self.last_us).max(self.last_us);
        let mut pids: Vec<u32> = self.open.keys().copied().collect();
        pids.sort_unstable();
        for pid in pids {
            self.close_slice(pid, end)?;
        }
        self.out.write_all(b"\n]\n")?;
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TB: Timebase = Timebase {
        boot_tsc: 1000,
        tsc_khz: 1000,
        hz: 100,
    };

    fn state(pid: u32, us: u64, old: ProcState, new: ProcState, reason: SleepReason) -> Event {
        Event {
            tsc: 1000 + us,
            tick: 0,
            pid,
            kind: EventKind::State as u8,
            old: old as u8,
            new: new as u8,
            reason: reason as u8,
            arg: 0,
        }
    }

    #[test]
    fn time_is_microseconds_since_boot_or_ticks() {
        let e = state(
            1,
            2500,
            ProcState::Embryo,
            ProcState::Runnable,
            SleepReason::None,
        );
        assert_eq!(TB.us(&e), 2500.0);
        let tb = Timebase { tsc_khz: 0, ..TB };
        let e = Event { tick: 3, ..e };
        assert_eq!(tb.us(&e), 30_000.0);
    }

    #[test]
    fn descriptions_read_well() {
        let e = state(
            3,
            0,
            ProcState::Running,
            ProcState::Sleeping,
            SleepReason::Io,
        );
        assert_eq!(describe(&e, "sh"), "pid 3 (sh): running -> sleeping(io)");
        let f = Event {
            kind: EventKind::Fault as u8,
            reason: Cause::PageFault as u8,
            arg: 0x10,
            ..e
        };
        assert_eq!(
            describe(&f, "crashme"),
            "pid 3 (crashme): page fault at 0x10"
        );
        let x = Event {
            kind: EventKind::Exit as u8,
            arg: WaitStatus::exited(3).0 as u64,
            ..e
        };
        assert_eq!(describe(&x, "false"), "pid 3 (false): ended, exited 3");
        let n = Event {
            kind: EventKind::Exec as u8,
            arg: u64::from_le_bytes(*b"usertest"),
            ..e
        };
        assert_eq!(exec_name(&n), "usertest");
        let j = to_json(&e, "sh", &TB);
        assert_eq!(j["event"], "state");
        assert_eq!(j["to"], "sleeping");
        assert_eq!(j["reason"], "io");
        assert_eq!(to_json(&Event { kind: 99, ..e }, "sh", &TB)["raw_kind"], 99);
    }

    fn event(kind: EventKind, reason: u32, arg: u64) -> Event {
        Event {
            tsc: 1000,
            tick: 0,
            pid: 3,
            kind: kind as u8,
            old: 0,
            new: 0,
            reason: reason as u8,
            arg,
        }
    }

    #[test]
    fn signals_groups_and_the_foreground_read_well() {
        use abi::signal::{SIGINT, SIGKILL, SIGTERM, SIGTSTP};
        let sent = event(EventKind::Signal, SIGINT, 2);
        assert_eq!(
            describe(&sent, "spin"),
            "pid 3 (spin): got SIGINT from pid 2"
        );
        let j = to_json(&sent, "spin", &TB);
        assert_eq!(
            (&j["event"], &j["signal"], &j["sender"]),
            (&"signal".into(), &"SIGINT".into(), &2.into())
        );
        let host = event(EventKind::Signal, SIGTERM, 0);
        assert_eq!(
            describe(&host, "spin"),
            "pid 3 (spin): got SIGTERM from the console or host"
        );
        assert_eq!(to_json(&host, "spin", &TB)["sender"], 0);
        let odd = event(EventKind::Signal, 40, 0);
        assert_eq!(
            describe(&odd, "spin"),
            "pid 3 (spin): got signal 40 from the console or host"
        );

        let handled = event(EventKind::Handle, SIGINT, 0x40_1234);
        assert_eq!(
            describe(&handled, "catch"),
            "pid 3 (catch): runs its SIGINT handler at 0x401234"
        );
        let j = to_json(&handled, "catch", &TB);
        assert_eq!(
            (&j["signal"], &j["handler"]),
            (&"SIGINT".into(), &"0x401234".into())
        );

        let group = event(EventKind::Group, 0, 3);
        assert_eq!(
            describe(&group, "spin"),
            "pid 3 (spin): moved to process group 3"
        );
        assert_eq!(to_json(&group, "spin", &TB)["pgid"], 3);
        let fg = Event {
            pid: 2,
            ..event(EventKind::Foreground, 0, 3)
        };
        assert_eq!(
            describe(&fg, "sh"),
            "pid 2 (sh): made process group 3 the console's foreground"
        );
        assert_eq!(to_json(&fg, "sh", &TB)["pgid"], 3);

        let stop = event(EventKind::Suspend, SIGTSTP, 0);
        assert_eq!(describe(&stop, "spin"), "pid 3 (spin): suspended (SIGTSTP)");
        assert_eq!(to_json(&stop, "spin", &TB)["signal"], "SIGTSTP");
        let plain = event(EventKind::Suspend, 0, 0);
        assert_eq!(describe(&plain, "spin"), "pid 3 (spin): suspended");
        assert!(to_json(&plain, "spin", &TB).get("signal").is_none());

        // An exit says how the shell would, and which signal ended it.
        for (status, how, sig) in [
            (WaitStatus::exited(3), "exited 3", None),
            (WaitStatus::signaled(SIGINT), "interrupt", Some("SIGINT")),
            (WaitStatus::signaled(SIGTERM), "terminated", Some("SIGTERM")),
            (WaitStatus::signaled(SIGKILL), "killed", Some("SIGKILL")),
            (
                WaitStatus::ended_by(Cause::PageFault),
                "page fault",
                Some("SIGSEGV"),
            ),
            (WaitStatus::signaled(40), "signal 40", Some("signal 40")),
        ] {
            let x = event(EventKind::Exit, 0, status.0 as u32 as u64);
            assert_eq!(describe(&x, "spin"), format!("pid 3 (spin): ended, {how}"));
            let j = to_json(&x, "spin", &TB);
            assert_eq!(j["how"], how);
            assert_eq!(j["status"], status.0);
            assert_eq!(j.get("signal").and_then(Value::as_str), sig, "{how}");
        }
    }

    #[test]
    fn the_trace_marks_signals_as_instants_with_their_fields() {
        let mut w = TraceWriter::new(Vec::new()).unwrap();
        let sent = event(EventKind::Signal, abi::signal::SIGINT, 0);
        let group = event(EventKind::Group, 0, 3);
        let killed = event(EventKind::Kill, 0, 0);
        for e in [sent, group, killed] {
            w.event(&e, "spin", &TB).unwrap();
        }
        let out = w.finish(None).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        let instants: Vec<&Value> = v
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["ph"] == "i")
            .collect();
        let names: Vec<&str> = instants
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "got SIGINT from the console or host",
                "moved to process group 3",
                "killed"
            ]
        );
        assert_eq!(
            instants[0]["args"],
            json!({"signal": "SIGINT", "sender": 0})
        );
        assert_eq!(instants[1]["args"], json!({"pgid": 3}));
        assert!(instants[2].get("args").is_none());
    }

    #[test]
    fn the_trace_has_a_track_per_process_and_ordered_slices() {
        let mut w = TraceWriter::new(Vec::new()).unwrap();
        use ProcState::*;
        let none = SleepReason::None;
        for e in [
            state(1, 0, Embryo, Runnable, none),
            state(1, 10, Runnable, Running, none),
            state(2, 15, Embryo, Runnable, none),
            state(1, 20, Running, Sleeping, SleepReason::Wait),
            state(2, 20, Runnable, Running, none),
            state(2, 40, Running, Zombie, none),
            state(2, 45, Zombie, Unused, none),
            state(1, 45, Sleeping, Runnable, none),
        ] {
            let name = if e.pid == 1 { "init" } else { "true" };
            w.event(&e, name, &TB).unwrap();
        }
        let out = w.finish(Some(100.0)).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        let all = v.as_array().unwrap();
        let slices = |pid: u32| -> Vec<(String, f64, f64)> {
            all.iter()
                .filter(|e| e["ph"] == "X" && e["pid"] == pid)
                .map(|e| {
                    (
                        e["name"].as_str().unwrap().to_string(),
                        e["ts"].as_f64().unwrap(),
                        e["dur"].as_f64().unwrap(),
                    )
                })
                .collect()
        };
        let s1: Vec<_> = slices(1).into_iter().map(|s| s.0).collect();
        assert_eq!(s1, ["Runnable", "Running", "Sleeping (wait)", "Runnable"]);
        assert_eq!(
            slices(2),
            [
                ("Runnable".into(), 15.0, 5.0),
                ("Running".into(), 20.0, 20.0),
                ("Zombie".into(), 40.0, 5.0)
            ]
        );
        let names: Vec<_> = all
            .iter()
            .filter(|e| e["name"] == "process_name")
            .map(|e| e["args"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["init", "true"]);
    }
}
