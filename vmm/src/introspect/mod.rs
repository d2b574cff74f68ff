//! The host's view of the guest's processes, through the debug port
//! ([`abi::debug`]): the registration the kernel announces, the PCB table
//! read straight from guest memory (each process's record and its files),
//! the event ring drained into `--events`/`--trace` and a buffer of recent
//! events, host commands through the mailbox, and the post-mortem after a
//! crash.
//!
//! One [`Introspect`] is shared (behind a mutex) by the vCPU thread, which
//! sees the port writes and drains the ring after exits, and the threads
//! that show the table (console escape, control socket, post-mortem).

pub mod files;
pub mod reader;
pub mod record;

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use abi::debug::{self, CrashKind, DOORBELL, Event, EventKind, GPR_NAMES, PanicRecord};
use abi::proc::{PS_HEADER, PsRow};

use reader::{GuestRam, Layout, Table};
use record::{Timebase, TraceWriter};

/// The hub, shared between threads.
pub type Shared = Arc<Mutex<Introspect>>;

/// Events kept for `ctl events` and the post-mortem.
pub const RECENT: usize = 256;

/// Warnings about what the guest registered, at most (then silence).
const MAX_WARNINGS: u32 = 4;

/// Prints one line for the person at the host on stderr, mid-run: with a
/// carriage return when stderr is a terminal (which may be in raw mode).
pub fn host_line(text: &str) {
    let mut err = std::io::stderr().lock();
    let eol = if err.is_terminal() { "\r\n" } else { "\n" };
    for line in text.lines() {
        let _ = write!(err, "{line}{eol}");
    }
}

/// Why the table cannot be shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unavailable {
    /// No registration on the debug port yet.
    #[error("the guest kernel has not registered on the debug port")]
    NotRegistered,
    /// The registration was refused; why.
    #[error("the guest's debug-port registration was refused: {0}")]
    Refused(String),
    /// Registered, but without a process table yet.
    #[error("the guest kernel has not registered its process table yet")]
    NoTable,
    /// The table lies outside guest RAM.
    #[error("the process table is not readable in guest memory")]
    Unreadable,
    /// The command mailbox cannot be used.
    #[error("the guest's mailbox is unusable (unreadable, or its sequence counters are exhausted)")]
    Mailbox,
    /// The mailbox still holds the previous command.
    #[error("the guest kernel has not yet carried out the command posted before")]
    MailboxBusy,
}

/// The host side of the debug port.
pub struct Introspect {
    ram: Arc<dyn GuestRam>,
    layout: Option<Layout>,
    refused: Option<String>,
    warnings: u32,
    tail: u64,
    recent: VecDeque<(Event, String)>,
    names: HashMap<u32, String>,
    events_out: Option<BufWriter<File>>,
    trace: Option<TraceWriter<BufWriter<File>>>,
    /// Events read from the ring.
    pub total: u64,
    /// Events the kernel overwrote before the VMM read them.
    pub lost: u64,
    /// Host time of the last accepted registration.
    announced_at: Option<Instant>,
}

impl Introspect {
    /// A hub over guest RAM, writing events to `events` (JSON lines) and
    /// `trace` (Chrome trace) when given.
    pub fn new(
        ram: Arc<dyn GuestRam>,
        events: Option<File>,
        trace: Option<File>,
    ) -> std::io::Result<Self> {
        let trace = trace
            .map(|f| TraceWriter::new(BufWriter::new(f)))
            .transpose()?;
        Ok(Introspect {
            ram,
            layout: None,
            refused: None,
            warnings: 0,
            tail: 0,
            recent: VecDeque::with_capacity(RECENT),
            names: HashMap::new(),
            events_out: events.map(BufWriter::new),
            trace,
            total: 0,
            lost: 0,
            announced_at: None,
        })
    }

    fn warn(&mut self, what: &str) {
        self.warnings += 1;
        if self.warnings <= MAX_WARNINGS {
            host_line(&format!(
                "vmm: debug port: {what}; host-side process view disabled"
            ));
        }
    }

    /// A guest write to the debug port: a registration or the doorbell.
    pub fn port_write(&mut self, value: u32) {
        if value == DOORBELL {
            self.drain();
            return;
        }
        match reader::validate(&*self.ram, u64::from(value)) {
            Ok(layout) => {
                if self.layout.is_some_and(|old| old.ring != layout.ring) {
                    self.tail = 0;
                }
                if !reader::acknowledge(&*self.ram, &layout) {
                    self.warn("cannot acknowledge the registration");
                    return;
                }
                self.layout = Some(layout);
                self.refused = None;
                self.announced_at = Some(Instant::now());
            }
            Err(why) => {
                self.layout = None;
                self.refused = Some(why.clone());
                self.warn(&why);
            }
        }
    }

    /// How to turn the guest's event stamps into time, once registered.
    pub fn timebase(&self) -> Option<Timebase> {
        self.layout.map(|l| Timebase {
            boot_tsc: l.boot_tsc,
            tsc_khz: l.tsc_khz,
            hz: l.hz,
        })
    }

    fn name_for(&mut self, e: &Event) -> String {
        if e.pid == 0 {
            // No process: the kernel itself (a crash outside any process).
            return "kernel".into();
        }
        let l = self.layout;
        let fresh =
            |pid: u32| l.and_then(|l| reader::read_proc(&*self.ram, &l, abi::proc::Pid(pid)));
        let name = match EventKind::from_raw(e.kind) {
            // A new process is a copy of its parent (a spawned one's Exec
            // event follows with the program's name).
            Some(EventKind::Create) => self
                .names
                .get(&(e.arg as u32))
                .cloned()
                .or_else(|| fresh(e.pid).map(|p| p.name().to_string()))
                .unwrap_or_default(),
            // The event has 8 bytes of the name; the PCB has all of it while
            // the process lives and has not moved on to another program.
            Some(EventKind::Exec) => {
                let short = record::exec_name(e);
                match fresh(e.pid) {
                    Some(p) if p.name().starts_with(&short) => p.name().to_string(),
                    _ => short,
                }
            }
            _ => match self.names.get(&e.pid) {
                Some(n) => return n.clone(),
                None => fresh(e.pid)
                    .map(|p| p.name().to_string())
                    .unwrap_or_default(),
            },
        };
        self.names.insert(e.pid, name.clone());
        name
    }

    /// Reads what the kernel added to the ring and passes it on.
    pub fn drain(&mut self) {
        let Some(layout) = self.layout else { return };
        let d = reader::drain_ring(&*self.ram, &layout, &mut self.tail);
        if d.bogus_head {
            self.warn("the event ring's head went backwards");
        }
        self.lost += d.lost;
        let tb = self.timebase().expect("registered");
        // A switch record stands for two state events.
        for e in d.events.into_iter().flat_map(Event::expand) {
            self.total += 1;
            let name = self.name_for(&e);
            if let Some(out) = &mut self.events_out {
                let line = record::to_json(&e, &name, &tb);
                if serde_json::to_writer(&mut *out, &line).is_err() || out.write_all(b"\n").is_err()
                {
                    host_line("vmm: --events: write failed; no more events are written");
                    self.events_out = None;
                }
            }
            if let Some(t) = &mut self.trace
                && t.event(&e, &name, &tb).is_err()
            {
                host_line("vmm: --trace: write failed; the trace is incomplete");
                self.trace = None;
            }
            if e.new == abi::proc::ProcState::Unused as u8 && e.kind == EventKind::State as u8 {
                self.names.remove(&e.pid);
            }
            if self.recent.len() == RECENT {
                self.recent.pop_front();
            }
            self.recent.push_back((e, name));
        }
    }

    /// Drains when the kernel wrote something (cheap when it did not: one
    /// 8-byte read); called after every vCPU exit.
    pub fn drain_if_new(&mut self) {
        if let Some(l) = self.layout {
            let mut head = [0u8; 8];
            if self.ram.read(l.block + debug::HEAD_OFFSET, &mut head)
                && u64::from_le_bytes(head) != self.tail
            {
                self.drain();
            }
        }
    }

    /// The process table, read now from guest memory.
    pub fn table(&self) -> Result<Table, Unavailable> {
        let Some(l) = &self.layout else {
            return Err(match &self.refused {
                Some(why) => Unavailable::Refused(why.clone()),
                None => Unavailable::NotRegistered,
            });
        };
        if l.capacity == 0 {
            return Err(Unavailable::NoTable);
        }
        reader::read_table(&*self.ram, l).ok_or(Unavailable::Unreadable)
    }

    /// The table as `ps` prints it (header, rows), or why not.
    pub fn table_text(&self) -> String {
        match self.table() {
            Ok(t) => format_table(&t),
            Err(e) => format!("({e})\n"),
        }
    }

    /// The most recent `n` events, oldest first, with the process names.
    pub fn recent(&self, n: usize) -> Vec<(Event, String)> {
        let skip = self.recent.len().saturating_sub(n);
        self.recent.iter().skip(skip).cloned().collect()
    }

    /// Microseconds since kernel entry of `e`.
    pub fn event_us(&self, e: &Event) -> f64 {
        self.timebase().map_or(0.0, |tb| tb.us(e))
    }

    /// The table as `ps` prints it, then under `open files:` a line per
    /// process that has files (from the same copy), or why not.
    pub fn table_and_files_text(&self) -> String {
        match self.table() {
            Ok(t) => format!("{}open files:\n{}", format_table(&t), format_files(&t)),
            Err(e) => format!("({e})\n"),
        }
    }

    /// Recent events as lines: `+12.345 ms  pid 3 (sh): running -> ...`.
    pub fn recent_text(&self, n: usize) -> String {
        let mut s = String::new();
        for (e, name) in self.recent(n) {
            s.push_str(&format!(
                "{:>12.3} ms  {}\n",
                self.event_us(&e) / 1000.0,
                record::describe(&e, &name)
            ));
        }
        s
    }

    /// Whether the mailbox is free for a command (the kernel has carried
    /// out the last one posted).
    pub fn mailbox_idle(&self) -> Result<bool, Unavailable> {
        let l = self.layout.as_ref().ok_or(Unavailable::NotRegistered)?;
        reader::mailbox_idle(&*self.ram, l).ok_or(Unavailable::Mailbox)
    }

    /// Posts a host command for `pid` (with `sig`, the signal of a
    /// [`debug::Command::Signal`]; the kernel reads it for no other
    /// command); its sequence number. Refused while the mailbox holds a
    /// command the kernel has not carried out: it has one slot.
    pub fn post(&self, cmd: debug::Command, pid: u32, sig: u32) -> Result<u64, Unavailable> {
        if !self.mailbox_idle()? {
            return Err(Unavailable::MailboxBusy);
        }
        let l = self.layout.as_ref().ok_or(Unavailable::NotRegistered)?;
        reader::post_command(&*self.ram, l, cmd, pid, sig).ok_or(Unavailable::Mailbox)
    }

    /// The result of command `seq`, once carried out.
    pub fn result(&self, seq: u64) -> Option<i64> {
        reader::command_result(&*self.ram, self.layout.as_ref()?, seq)
    }

    /// The kernel's crash record, when it filled one.
    pub fn crash_record(&self) -> Option<PanicRecord> {
        let r = reader::read_panic(&*self.ram, self.layout.as_ref()?)?;
        (r.kind != CrashKind::None as u32).then_some(r)
    }

    /// The boot stamps as host times: (kernel entry, scheduler start, init
    /// first running), each `None` when unknown or not reached.
    pub fn boot_stamps(&self) -> [Option<Instant>; 3] {
        let (Some(l), Some(at)) = (self.layout, self.announced_at) else {
            return [None; 3];
        };
        if l.tsc_khz == 0 {
            return [None; 3];
        }
        let (sched, init) = reader::read_stamps(&*self.ram, &l).unwrap_or((0, 0));
        // Host time of a guest TSC value, from the pair (announce_tsc, at).
        let host = |tsc: u64| -> Option<Instant> {
            if tsc == 0 {
                return None;
            }
            let us =
                |d: u64| std::time::Duration::from_nanos(d.saturating_mul(1_000_000) / l.tsc_khz);
            if tsc <= l.announce_tsc {
                at.checked_sub(us(l.announce_tsc - tsc))
            } else {
                at.checked_add(us(tsc - l.announce_tsc))
            }
        };
        [host(l.boot_tsc), host(sched), host(init)]
    }

    /// Drains the ring a last time and completes the output files.
    pub fn finish(&mut self) {
        self.drain();
        let end = self.recent.back().map(|(e, _)| self.event_us(e));
        if let Some(t) = self.trace.take()
            && t.finish(end).is_err()
        {
            host_line("vmm: --trace: write failed; the trace is incomplete");
        }
        if let Some(mut out) = self.events_out.take()
            && out.flush().is_err()
        {
            host_line("vmm: --events: write failed; the file is incomplete");
        }
    }

    /// The post-mortem: the crash record's registers, the table and each
    /// live process's files, the last events. Drains first. `timed_out`: the run ended at `--timeout` with
    /// the guest still running, rather than in a crash.
    pub fn post_mortem(&mut self, timed_out: bool) -> String {
        self.drain();
        let mut s = String::new();
        match self.crash_record() {
            Some(r) => s.push_str(&format_crash(&r)),
            None if timed_out => s.push_str(
                "no crash: the guest was still running when the timeout expired \
                 (the kernel left no crash record)\n",
            ),
            None if self.layout.is_some() => {
                s.push_str("the kernel left no crash record (it did not see the end coming)\n")
            }
            None => {}
        }
        s.push_str("process table (read from guest memory):\n");
        s.push_str(&self.table_and_files_text());
        if self.layout.is_some() {
            let n = self.recent.len().min(16);
            s.push_str(&format!("last {n} events:\n"));
            s.push_str(&self.recent_text(16));
            if self.lost > 0 {
                s.push_str(&format!("({} events were lost)\n", self.lost));
            }
        }
        s
    }
}

/// A table as `ps` prints it (the foreground group's members marked), with
/// a note when the copy may be torn.
pub fn format_table(t: &Table) -> String {
    let mut s = format!("{PS_HEADER}\n");
    for p in &t.procs {
        s.push_str(&format!("{}\n", PsRow(p, t.foreground)));
    }
    if !t.consistent {
        s.push_str("(the kernel was changing the table: rows may mix two moments)\n");
    }
    s
}

/// The files of each process in `t` that has some (not a zombie or an
/// embryo), a line each, indented (see [`files::compact_line`]).
pub fn format_files(t: &Table) -> String {
    t.procs
        .iter()
        .zip(&t.files)
        .filter(|(p, _)| files::has_files(p))
        .map(|(p, f)| format!("  {}\n", files::compact_line(p, f)))
        .collect()
}

/// The crash record as a few lines.
pub fn format_crash(r: &PanicRecord) -> String {
    let what = match CrashKind::from_raw(r.kind) {
        Some(CrashKind::Panic) => format!("kernel panic: {}", r.message()),
        Some(CrashKind::Exception) => {
            let (m, name) = abi::exit::exception_name(r.vector as u8);
            format!(
                "kernel {name} ({m}, vector {}), error code {:#x}",
                r.vector, r.error
            )
        }
        Some(CrashKind::TripleFault) => "triple fault (registers from just before)".into(),
        _ => format!("crash of unknown kind {}", r.kind),
    };
    let mut s = format!("crash record: {what}; current pid {}\n", r.pid);
    s.push_str(&format!(
        "  rip={:#018x} rsp={:#018x} rflags={:#x} cr2={:#x} cr3={:#x}\n",
        r.rip, r.rsp, r.rflags, r.cr2, r.cr3
    ));
    for chunk in GPR_NAMES
        .iter()
        .zip(r.gprs.iter())
        .collect::<Vec<_>>()
        .chunks(5)
    {
        let line: Vec<String> = chunk
            .iter()
            .map(|(n, v)| format!("{n:>3}={v:#018x}"))
            .collect();
        s.push_str(&format!("  {}\n", line.join(" ")));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::reader::tests::{BLOCK, guest, push_event, set_proc};
    use super::*;
    use abi::proc::ProcState;

    fn hub(cap: u32) -> (Arc<reader::VecRam>, Introspect) {
        let ram = Arc::new(guest(cap));
        let i = Introspect::new(ram.clone(), None, None).unwrap();
        (ram, i)
    }

    #[test]
    fn registration_then_table_and_events() {
        let (ram, mut i) = hub(8);
        assert_eq!(i.table().unwrap_err(), Unavailable::NotRegistered);
        i.port_write(BLOCK as u32);
        set_proc(&ram, 0, 1, ProcState::Sleeping, "init");
        set_proc(&ram, 1, 2, ProcState::Running, "usertests");
        let text = i.table_text();
        assert!(text.starts_with(PS_HEADER), "{text}");
        assert!(text.contains("usertests"), "{text}");
        // Init's group is the console's foreground at boot; the kernel
        // keeps the registration current.
        let state = |text: &str, pid: &str| -> String {
            let row = text
                .lines()
                .find(|l| l.split_whitespace().next() == Some(pid));
            row.unwrap().split_whitespace().nth(3).unwrap().to_string()
        };
        assert_eq!(state(&text, "1"), "sleeping+", "{text}");
        assert_eq!(state(&text, "2"), "running", "{text}");
        reader::tests::patch(&ram, |r| r.fg_pgid = 2);
        let text = i.table_text();
        assert_eq!(state(&text, "1"), "sleeping", "{text}");
        assert_eq!(state(&text, "2"), "running+", "{text}");
        push_event(
            &ram,
            Event {
                tsc: 0,
                tick: 1,
                pid: 2,
                kind: EventKind::Exec as u8,
                old: 0,
                new: 0,
                reason: 0,
                arg: u64::from_le_bytes(*b"usertest"),
            },
        );
        i.drain_if_new();
        let r = i.recent(10);
        // The ring had 8 bytes of the name; the PCB had all of it.
        assert_eq!(r[0].1, "usertests");
        assert!(i.recent_text(1).contains("exec usertest"));
    }

    #[test]
    fn a_refused_registration_says_why() {
        let (_ram, mut i) = hub(8);
        i.port_write(3 << 3 | 0x100_0000);
        assert!(matches!(i.table().unwrap_err(), Unavailable::Refused(_)));
        assert!(i.table_text().contains("refused"));
        // The doorbell with no registration does nothing.
        i.port_write(DOORBELL);
        assert_eq!(i.total, 0);
    }

    #[test]
    fn a_timeout_without_a_crash_record_is_not_called_a_crash() {
        let (ram, mut i) = hub(8);
        i.port_write(BLOCK as u32);
        set_proc(&ram, 0, 1, ProcState::Sleeping, "init");
        let timeout = i.post_mortem(true);
        assert!(
            timeout.starts_with("no crash: the guest was still running when the timeout expired"),
            "{timeout}"
        );
        assert!(!timeout.contains("did not see the end coming"), "{timeout}");
        let crash = i.post_mortem(false);
        assert!(crash.contains("did not see the end coming"), "{crash}");
    }

    #[test]
    fn the_post_mortem_shows_the_files_of_each_live_process_after_the_table() {
        let (ram, mut i) = hub(8);
        i.port_write(BLOCK as u32);
        set_proc(&ram, 0, 1, ProcState::Sleeping, "init");
        set_proc(&ram, 1, 2, ProcState::Zombie, "true");
        set_proc(&ram, 2, 3, ProcState::Embryo, "sh");
        set_proc(&ram, 3, 4, ProcState::Stopped, "wc");
        let (_, wc) = files::tests::example();
        reader::tests::set_files(&ram, 3, &wc);
        let pm = i.post_mortem(true);
        let table = pm.find(PS_HEADER).expect("the table");
        let files = pm.find("open files:\n").expect("the files");
        assert!(
            table < files && files < pm.find("last 0 events").unwrap(),
            "{pm}"
        );
        let lines: Vec<&str> = pm[files..].lines().skip(1).take(3).collect();
        assert_eq!(
            lines,
            [
                "  pid 1 (init): cwd /; 0-2 console",
                "  pid 4 (wc): cwd /tmp; 0 console, 1 /tmp/out (w,append, offset 120), 2 console, \
                 3 pipe 0x1a2b (r,cloexec), 5 directory /tmp (r, offset 2)",
                "last 0 events:",
            ],
            "{pm}"
        );
        // Ctrl-A p shows the same.
        assert!(
            i.table_and_files_text()
                .ends_with(&format!("{}\n", lines[1]))
        );
    }

    #[test]
    fn a_files_record_outside_the_pcb_is_refused_with_one_warning() {
        let (ram, mut i) = hub(8);
        reader::tests::patch(&ram, |r| r.files_offset = reader::tests::STRIDE);
        i.port_write(BLOCK as u32);
        let Err(Unavailable::Refused(why)) = i.table() else {
            panic!("accepted");
        };
        assert!(why.contains("does not fit in the PCB stride"), "{why}");
        assert_eq!(i.warnings, 1);
        assert!(i.table_and_files_text().contains("refused"));
    }

    #[test]
    fn the_crash_record_reads_as_lines() {
        let mut r = PanicRecord::EMPTY;
        r.kind = CrashKind::Panic as u32;
        r.message[..4].copy_from_slice(b"oops");
        r.rip = 0x1234;
        r.gprs[14] = 0xAB;
        let s = format_crash(&r);
        assert!(s.contains("kernel panic: oops"), "{s}");
        assert!(s.contains("rip=0x0000000000001234"), "{s}");
        assert!(s.contains("r15=0x00000000000000ab"), "{s}");
    }
}
