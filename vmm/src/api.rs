//! The control socket (`--api-sock PATH`) and its client (`vmm ctl`).
//!
//! The protocol is one JSON object per line each way. A request is
//! `{"cmd": "ps"}`, `{"cmd": "files", "pid": 3}`, `{"cmd": "events", "n":
//! 20}`, `{"cmd": "stop", "pid": 3}` (also `cont`, `kill`), `{"cmd":
//! "signal", "pid": 3, "sig": "INT"}` (a name or a number), `{"cmd":
//! "pause"}`, `{"cmd": "resume"}`, `{"cmd": "regs"}` or `{"cmd":
//! "quit"}`; the answer has `"ok": true` and the data, or `"ok": false`
//! and an `"error"` sentence. Each connection gets its own thread, so a
//! slow client never holds up the VM.
//!
//! `stop`, `cont`, `kill` and `signal` go to the guest kernel through the
//! debug port's mailbox, which holds one command: concurrent clients'
//! commands take turns, each posted only once the one before was carried
//! out, and each answered with its own result or an error that says why
//! not.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use abi::debug::Command;
use abi::fs::FilesInfo;
use abi::proc::{PS_HEADER, Pid, ProcInfo, PsRow};
use abi::signal::{Name, SigSet};
use serde_json::{Value, json};
use vmm_sys_util::eventfd::EventFd;

use crate::devices::serial::ConsoleSerial;
use crate::exitcode;
use crate::introspect::files::{FdRow, open_fds, printable, shown_path};
use crate::introspect::{self, record};
use crate::util::io_reason;
use crate::vstate::vcpu::VcpuControl;

/// What the server acts on.
pub struct Context {
    /// The debug port's host side.
    pub introspect: introspect::Shared,
    /// The vCPU thread's controls.
    pub control: Arc<VcpuControl>,
    /// COM1: its interrupt makes the kernel look at the mailbox at once.
    pub serial: Arc<Mutex<ConsoleSerial>>,
    /// Set to end the VM.
    pub quit: Arc<AtomicBool>,
    /// Wakes the event loop.
    pub wake: EventFd,
}

/// How long a host command may take the guest kernel, from its turn at
/// the mailbox to its result.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a host command waits for the commands before it.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long `vmm ctl` waits for an answer: longer than a command can take
/// the server, queue included, so every command gets its own answer.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

const _: () =
    assert!(QUEUE_TIMEOUT.as_secs() + COMMAND_TIMEOUT.as_secs() < CLIENT_TIMEOUT.as_secs());

/// What the connection threads share.
struct Served {
    ctx: Context,
    turns: Turns,
}

/// Turns at the mailbox: one host command at a time, from its post to its
/// result or its timeout.
#[derive(Default)]
struct Turns {
    busy: Mutex<bool>,
    freed: Condvar,
}

/// A turn at the mailbox; ends when dropped.
struct Turn<'a>(&'a Turns);

impl Turns {
    /// Waits for the turn until `deadline`; `None` if it did not come.
    fn take(&self, deadline: Instant) -> Option<Turn<'_>> {
        let mut busy = self.busy.lock().unwrap();
        while *busy {
            let left = deadline.checked_duration_since(Instant::now())?;
            busy = self.freed.wait_timeout(busy, left).unwrap().0;
        }
        *busy = true;
        Some(Turn(self))
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        *self.0.busy.lock().unwrap() = false;
        self.0.freed.notify_one();
    }
}

/// The listening socket; removed when dropped.
pub struct Server {
    path: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Server {
    /// Binds `path` and serves it from a thread. Only a stale socket (one
    /// nobody listens on) is replaced; anything else at `path` (a file, a
    /// directory, a link, a live socket) is left as it is, and the error
    /// says what is there.
    pub fn start(path: &Path, ctx: Context) -> std::io::Result<Server> {
        let err = |what: &str, e: std::io::Error| {
            std::io::Error::other(format!(
                "--api-sock {}: {what}: {}",
                path.display(),
                io_reason(&e)
            ))
        };
        let listener = match UnixListener::bind(path) {
            Ok(l) => l,
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                let kind = std::fs::symlink_metadata(path)
                    .map_err(|e| err("cannot bind", e))?
                    .file_type();
                if !kind.is_socket() {
                    return Err(std::io::Error::other(format!(
                        "--api-sock {}: {} is there, not a socket; vmm replaces only a \
                         stale socket, so remove it or choose another path",
                        path.display(),
                        what_is(kind)
                    )));
                }
                if UnixStream::connect(path).is_ok() {
                    return Err(std::io::Error::other(format!(
                        "--api-sock {}: another VM is serving it",
                        path.display()
                    )));
                }
                std::fs::remove_file(path).map_err(|e| err("cannot replace it", e))?;
                UnixListener::bind(path).map_err(|e| err("cannot bind", e))?
            }
            Err(e) => return Err(err("cannot bind", e)),
        };
        let served = Arc::new(Served {
            ctx,
            turns: Turns::default(),
        });
        std::thread::Builder::new()
            .name("api".into())
            .spawn(move || {
                for stream in listener.incoming().flatten() {
                    let served = served.clone();
                    let _ = std::thread::Builder::new()
                        .name("api-conn".into())
                        .spawn(move || serve(stream, &served));
                }
            })?;
        Ok(Server { path: path.into() })
    }
}

/// What a file of type `t` is, in words.
fn what_is(t: std::fs::FileType) -> &'static str {
    if t.is_file() {
        "a regular file"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_fifo() {
        "a named pipe"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "a file of unknown type"
    }
}

fn serve(stream: UnixStream, served: &Served) {
    let ctx = &served.ctx;
    let Ok(mut out) = stream.try_clone() else {
        return;
    };
    for line in BufReader::new(stream).lines() {
        let Ok(line) = line else { return };
        if line.trim().is_empty() {
            continue;
        }
        let (answer, quit) = match serde_json::from_str::<Value>(&line) {
            Ok(req) => (handle(&req, served), req["cmd"] == "quit"),
            Err(e) => (fail(format!("not a JSON request: {e}")), false),
        };
        let sent = writeln!(out, "{answer}").and_then(|()| out.flush());
        if quit {
            // Only once the answer is out: the VMM may exit at once.
            ctx.quit.store(true, Ordering::SeqCst);
            let _ = ctx.wake.write(1);
        }
        if sent.is_err() {
            return;
        }
    }
}

fn fail(why: impl Into<String>) -> Value {
    json!({ "ok": false, "error": why.into() })
}

/// A signal as JSON: its name (`SIGINT`), or `signal N` for a number
/// without one.
fn signal_to_json(sig: u32) -> Value {
    Name(sig).to_string().into()
}

/// The inverse of [`signal_to_json`]: the signal a name (`SIGINT`, `INT`)
/// or `signal N` stands for; `None` for anything else.
fn signal_from_json(v: &Value) -> Option<u32> {
    let text = v.as_str()?;
    match text.strip_prefix("signal ") {
        Some(n) => n.parse().ok(),
        None => abi::signal::parse(text),
    }
}

/// A signal set as JSON: the names of its members, lowest first.
fn sigset_to_json(set: SigSet) -> Value {
    (0..abi::signal::NSIG)
        .filter(|&sig| set.has(sig))
        .map(signal_to_json)
        .collect()
}

/// The inverse of [`sigset_to_json`]; members it cannot read are left out.
fn sigset_from_json(v: &Value) -> SigSet {
    let bits = v
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(signal_from_json)
        .filter(|&sig| sig < abi::signal::NSIG)
        .fold(0, |bits, sig| bits | 1 << sig);
    SigSet(bits)
}

/// A PCB as JSON (the `ps` answer's rows).
pub fn proc_to_json(p: &ProcInfo) -> Value {
    json!({
        "pid": p.pid.get(), "ppid": p.ppid.get(), "pgid": p.pgid.get(), "name": p.name(),
        "state": p.state().map_or("?", |s| s.name()),
        "state_raw": p.state, "reason_raw": p.reason,
        "ticks": p.ticks,
        "voluntary_switches": p.voluntary_switches,
        "involuntary_switches": p.involuntary_switches,
        "page_faults": p.page_faults, "mem_bytes": p.mem_bytes,
        "brk": p.brk, "start_tick": p.start_tick,
        "exit_status": p.exit_status,
        "killed": if p.killed == 0 { Value::Null } else { signal_to_json(p.killed) },
        "sig_pending": sigset_to_json(p.sig_pending),
        "sig_blocked": sigset_to_json(p.sig_blocked),
        "sig_caught": sigset_to_json(p.sig_caught),
    })
}

/// The inverse of [`proc_to_json`], for printing a row.
pub fn proc_from_json(v: &Value) -> ProcInfo {
    let n = |k: &str| v[k].as_u64().unwrap_or(0);
    let mut p = ProcInfo::EMPTY;
    p.pid = Pid(n("pid") as u32);
    p.ppid = Pid(n("ppid") as u32);
    p.pgid = Pid(n("pgid") as u32);
    p.state = n("state_raw") as u32;
    p.reason = n("reason_raw") as u32;
    p.set_name(v["name"].as_str().unwrap_or("?"));
    p.ticks = n("ticks");
    p.voluntary_switches = n("voluntary_switches");
    p.involuntary_switches = n("involuntary_switches");
    p.page_faults = n("page_faults");
    p.mem_bytes = n("mem_bytes");
    p.brk = n("brk");
    p.start_tick = n("start_tick");
    p.exit_status = v["exit_status"].as_i64().unwrap_or(0) as i32;
    p.killed = signal_from_json(&v["killed"]).unwrap_or(0);
    p.sig_pending = sigset_from_json(&v["sig_pending"]);
    p.sig_blocked = sigset_from_json(&v["sig_blocked"]);
    p.sig_caught = sigset_from_json(&v["sig_caught"]);
    p
}

/// The `files` answer: `p`'s working directory and open fds, from a table
/// copy that was `consistent` (or not).
pub fn files_to_json(p: &ProcInfo, files: &FilesInfo, consistent: bool) -> Value {
    let fds: Vec<Value> = open_fds(files)
        .iter()
        .map(|r| {
            json!({
                "fd": r.fd, "kind": r.kind, "flags": r.flags, "path": r.path,
                "offset": r.offset, "id": r.id,
            })
        })
        .collect();
    json!({
        "ok": true,
        "pid": p.pid.get(), "name": p.name(),
        "state": p.state().map_or("?", |s| s.name()),
        "consistent": consistent,
        "cwd": files.cwd(),
        "fds": fds,
    })
}

/// One fd of a `files` answer, as the listing shows it.
fn fd_from_json(v: &Value) -> FdRow {
    let text = |k: &str| v[k].as_str().unwrap_or("?").to_string();
    FdRow {
        fd: v["fd"].as_u64().unwrap_or(0),
        kind: text("kind"),
        flags: text("flags"),
        id: v["id"].as_u64().unwrap_or(0),
        offset: v["offset"].as_u64().unwrap_or(0),
        path: v["path"].as_str().unwrap_or("").to_string(),
    }
}

/// A `files` answer as a person reads it: a line with the process and its
/// working directory, then a line per open fd, in columns: its number, its
/// kind, its flags, and what it refers to (a pipe's number, shared by its
/// two ends; a file's path and offset).
fn render_files(answer: &Value) -> String {
    let name = answer["name"].as_str().unwrap_or("?");
    let mut s = format!("pid {} ({})", answer["pid"], printable(name));
    let rows: Vec<FdRow> = answer["fds"]
        .as_array()
        .into_iter()
        .flatten()
        .map(fd_from_json)
        .collect();
    if answer["state"] == "zombie" && rows.is_empty() {
        s.push_str(": a zombie; it closed its files when it exited\n");
    } else {
        let cwd = answer["cwd"].as_str().unwrap_or("");
        s.push_str(&format!(": cwd {}\n", shown_path(cwd)));
        if rows.is_empty() {
            s.push_str("  no open fds\n");
        }
    }
    let width = |f: fn(&FdRow) -> usize| rows.iter().map(f).max().unwrap_or(0);
    let (kinds, flags) = (width(|r| r.kind.len()), width(|r| r.flags.len()));
    for r in &rows {
        let line = format!(
            "  {:>2}  {:<kinds$}  {:<flags$}  {}",
            r.fd,
            r.kind,
            r.flags,
            r.target()
        );
        s.push_str(line.trim_end());
        s.push('\n');
    }
    if answer["consistent"] == false {
        s.push_str("(the kernel was changing the table: this may mix two moments)\n");
    }
    s
}

/// The signal a `signal` request names in `sig`: a name (`INT`,
/// `SIGINT`) or a number (`2`), or why not.
fn requested_signal(sig: &Value) -> Result<u32, String> {
    let found = match sig {
        Value::Null => return Err(format!("signal needs \"sig\": {SIGNAL_FORMS}")),
        Value::String(text) => abi::signal::parse(text),
        Value::Number(n) => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|&n| abi::signal::valid(n)),
        _ => None,
    };
    found.ok_or_else(|| format!("{sig} is not a signal: {SIGNAL_FORMS}"))
}

/// How a signal may be named, for the errors that refuse one.
const SIGNAL_FORMS: &str =
    "give a name such as INT, TERM or USR1 (with or without SIG) or a number from 1 to 31";

fn handle(req: &Value, served: &Served) -> Value {
    let ctx = &served.ctx;
    let cmd = req["cmd"].as_str().unwrap_or("");
    let pid = req["pid"].as_u64();
    match cmd {
        "ps" => {
            let mut i = ctx.introspect.lock().unwrap();
            i.drain();
            match i.table() {
                Ok(t) => json!({
                    "ok": true,
                    "consistent": t.consistent,
                    "foreground": t.foreground.get(),
                    "procs": t.procs.iter().map(proc_to_json).collect::<Vec<_>>(),
                }),
                Err(e) => fail(e.to_string()),
            }
        }
        "files" => {
            let Some(pid) = pid.filter(|p| *p > 0 && *p <= u64::from(u32::MAX)) else {
                return fail("files needs a pid, a positive number");
            };
            let table = ctx.introspect.lock().unwrap().table();
            match table {
                Ok(t) => match t.get(Pid(pid as u32)) {
                    Some((p, files)) => files_to_json(p, files, t.consistent),
                    None => fail(format!(
                        "pid {pid}: {}",
                        abi::sys::errno::describe(abi::sys::errno::ESRCH)
                    )),
                },
                Err(e) => fail(e.to_string()),
            }
        }
        "events" => {
            let n = req["n"]
                .as_u64()
                .unwrap_or(20)
                .min(introspect::RECENT as u64) as usize;
            let mut i = ctx.introspect.lock().unwrap();
            i.drain();
            let Some(tb) = i.timebase() else {
                return fail(i.table().err().map(|e| e.to_string()).unwrap_or_default());
            };
            let events: Vec<Value> = i
                .recent(n)
                .iter()
                .map(|(e, name)| {
                    let mut v = record::to_json(e, name, &tb);
                    v["text"] = record::describe(e, name).into();
                    v
                })
                .collect();
            json!({ "ok": true, "events": events, "lost": i.lost, "total": i.total })
        }
        "stop" | "cont" | "kill" | "signal" => {
            let Some(pid) = pid.filter(|p| *p > 0 && *p <= u64::from(u32::MAX)) else {
                return fail(format!("{cmd} needs a pid, a positive number"));
            };
            let (command, sig) = match cmd {
                "stop" => (Command::Stop, 0),
                "cont" => (Command::Cont, 0),
                "kill" => (Command::Kill, 0),
                _ => match requested_signal(&req["sig"]) {
                    Ok(sig) => (Command::Signal, sig),
                    Err(why) => return fail(why),
                },
            };
            let mut answer = host_command(served, command, pid as u32, sig);
            if command == Command::Signal && answer["ok"] == true {
                answer["signal"] = signal_to_json(sig);
            }
            answer
        }
        "pause" => {
            if ctx.control.pause(Duration::from_secs(2)) {
                json!({ "ok": true, "paused": true })
            } else {
                fail("the vCPU did not pause (has the VM ended?)")
            }
        }
        "resume" => {
            ctx.control.resume();
            json!({ "ok": true, "paused": false })
        }
        "regs" => match ctx.control.registers(Duration::from_secs(2)) {
            Some(r) => json!({ "ok": true, "paused": ctx.control.is_paused(), "regs": r }),
            None => fail("the vCPU did not answer (has the VM ended?)"),
        },
        // Carried out by `serve`, after the answer.
        "quit" => json!({ "ok": true }),
        "" => fail("no \"cmd\" in the request"),
        other => fail(format!("unknown command '{other}'; see vmm ctl --help")),
    }
}

/// Waits for this command's turn at the mailbox, posts it (with `sig`, the
/// signal of a [`Command::Signal`]) once the mailbox is free, and waits for
/// the kernel to carry it out.
fn host_command(served: &Served, command: Command, pid: u32, sig: u32) -> Value {
    let ctx = &served.ctx;
    let paused = || fail("the VM is paused: resume it first (the guest kernel carries this out)");
    if ctx.control.is_paused() {
        return paused();
    }
    let Some(_turn) = served.turns.take(Instant::now() + QUEUE_TIMEOUT) else {
        return fail(format!(
            "the guest kernel did not finish the commands of other clients within {} s; \
             this one was not posted",
            QUEUE_TIMEOUT.as_secs()
        ));
    };
    if ctx.control.is_paused() {
        return paused();
    }
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let poll = || std::thread::sleep(Duration::from_millis(1));
    // A command whose client stopped waiting may still be in the mailbox.
    loop {
        match ctx.introspect.lock().unwrap().mailbox_idle() {
            Ok(true) => break,
            Ok(false) if Instant::now() < deadline => poll(),
            Ok(false) => {
                return fail(format!(
                    "the guest kernel has not carried out an earlier command within {} s; \
                     this one was not posted",
                    COMMAND_TIMEOUT.as_secs()
                ));
            }
            Err(e) => return fail(e.to_string()),
        }
    }
    let seq = match ctx.introspect.lock().unwrap().post(command, pid, sig) {
        Ok(seq) => seq,
        Err(e) => return fail(e.to_string()),
    };
    // A device interrupt makes the kernel look at the mailbox now rather
    // than at its next full trap.
    ctx.serial.lock().unwrap().poke();
    loop {
        if let Some(r) = ctx.introspect.lock().unwrap().result(seq) {
            return if r == 0 {
                json!({ "ok": true, "pid": pid })
            } else {
                fail(format!("pid {pid}: {}", abi::sys::errno::describe(-r)))
            };
        }
        if Instant::now() >= deadline {
            return fail(format!(
                "the guest kernel did not carry the command out within {} s; it stays \
                 posted, and the kernel may still carry it out",
                COMMAND_TIMEOUT.as_secs()
            ));
        }
        poll();
    }
}

/// `vmm ctl`: sends one command, prints the answer; the exit status.
/// `--json` among `words` counts as the option: the command line's parser
/// takes every word after a command's first argument as an argument (so
/// that `kill -INT 3` works), the option too.
pub fn client(sock: &Path, words: &[String], raw_json: bool) -> i32 {
    let (json_words, words): (Vec<String>, Vec<String>) =
        words.iter().cloned().partition(|w| w == "--json");
    let raw_json = raw_json || !json_words.is_empty();
    let req = match request_for(&words) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("vmm ctl: {e}");
            return exitcode::HOST_ERROR;
        }
    };
    let answer = match exchange(sock, &req) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("vmm ctl: {e}");
            return exitcode::HOST_ERROR;
        }
    };
    if raw_json {
        println!("{answer}");
    }
    if answer["ok"] != true {
        eprintln!(
            "vmm ctl: {}",
            answer["error"]
                .as_str()
                .unwrap_or("the VM refused the command")
        );
        return 1;
    }
    if !raw_json {
        print!("{}", render(&req, &answer));
    }
    0
}

/// The request a `ctl` command line makes: `kill PID` asks for `kill`
/// (`SIGKILL`), `kill -SIGNAL PID` for `signal`.
pub fn request_for(words: &[String]) -> Result<Value, String> {
    let cmd = words.first().map(String::as_str).unwrap_or("");
    let mut args: Vec<&str> = words.iter().skip(1).map(String::as_str).collect();
    // What the command's one argument is, if it takes one.
    let takes = match cmd {
        "ps" | "pause" | "resume" | "regs" | "quit" => None,
        "events" => Some("a count"),
        "files" | "stop" | "cont" | "kill" => Some("a pid"),
        _ => {
            return Err(format!(
                "unknown command '{cmd}'; use ps, files, events, stop, cont, kill, pause, \
                 resume, regs or quit"
            ));
        }
    };
    let sig = match (cmd, args.first()) {
        ("kill", Some(opt)) if opt.starts_with('-') => {
            let sig = abi::signal::parse(&opt[1..])
                .ok_or_else(|| format!("kill {opt}: no such signal; {SIGNAL_FORMS}"))?;
            args.remove(0);
            Some(sig)
        }
        _ => None,
    };
    match takes {
        None if !args.is_empty() => return Err(format!("{cmd} takes no argument")),
        Some(what) if args.len() > 1 => {
            return Err(format!(
                "{cmd} takes one argument ({what}), not {}",
                args.len()
            ));
        }
        _ => {}
    }
    let number = |what: &str| -> Result<u64, String> {
        let a = args.first().ok_or_else(|| format!("{cmd} needs {what}"))?;
        a.parse::<u64>().map_err(|_| format!("'{a}' is not {what}"))
    };
    Ok(match (cmd, sig) {
        ("events", _) => {
            let n = if args.is_empty() {
                20
            } else {
                number("a count")?
            };
            json!({ "cmd": "events", "n": n })
        }
        ("kill", Some(sig)) => {
            // By name where it has one, as a person would write it.
            let sig: Value = abi::signal::name(sig).map_or(sig.into(), Into::into);
            json!({ "cmd": "signal", "pid": number("a pid")?, "sig": sig })
        }
        ("files" | "stop" | "cont" | "kill", _) => {
            json!({ "cmd": cmd, "pid": number("a pid")? })
        }
        _ => json!({ "cmd": cmd }),
    })
}

fn exchange(sock: &Path, req: &Value) -> Result<Value, String> {
    let stream = UnixStream::connect(sock).map_err(|e| {
        format!(
            "cannot reach {}: {}; is a VM running with --api-sock {0}?",
            sock.display(),
            io_reason(&e)
        )
    })?;
    let _ = stream.set_read_timeout(Some(CLIENT_TIMEOUT));
    let mut w = stream.try_clone().map_err(|e| io_reason(&e))?;
    writeln!(w, "{req}").map_err(|e| format!("sending: {}", io_reason(&e)))?;
    let mut line = String::new();
    BufReader::new(stream)
        .read_line(&mut line)
        .map_err(|e| format!("no answer: {}", io_reason(&e)))?;
    if line.is_empty() {
        return Err("the VM closed the connection without answering".into());
    }
    serde_json::from_str(&line).map_err(|e| format!("bad answer from the VM: {e}"))
}

/// A person's view of an answer.
pub fn render(req: &Value, answer: &Value) -> String {
    match req["cmd"].as_str().unwrap_or("") {
        "ps" => {
            let mut s = format!("{PS_HEADER}\n");
            let foreground = Pid(answer["foreground"].as_u64().unwrap_or(0) as u32);
            for p in answer["procs"].as_array().into_iter().flatten() {
                s.push_str(&format!("{}\n", PsRow(&proc_from_json(p), foreground)));
            }
            if answer["consistent"] == false {
                s.push_str("(the kernel was changing the table: rows may mix two moments)\n");
            }
            s
        }
        "files" => render_files(answer),
        "events" => {
            let mut s = String::new();
            for e in answer["events"].as_array().into_iter().flatten() {
                s.push_str(&format!(
                    "{:>12.3} ms  {}\n",
                    e["t_us"].as_f64().unwrap_or(0.0) / 1000.0,
                    e["text"].as_str().unwrap_or("")
                ));
            }
            if answer["lost"].as_u64().unwrap_or(0) > 0 {
                s.push_str(&format!("({} events were lost)\n", answer["lost"]));
            }
            s
        }
        "regs" => {
            let mut s = String::new();
            if let Some(m) = answer["regs"].as_object() {
                for (k, v) in m {
                    s.push_str(&format!(
                        "{k:>6} {}\n",
                        v.as_str().map_or(v.to_string(), String::from)
                    ));
                }
            }
            s
        }
        "stop" => format!("pid {} stopped\n", answer["pid"]),
        "cont" => format!("pid {} resumed\n", answer["pid"]),
        "kill" => format!("pid {} killed\n", answer["pid"]),
        "signal" => format!(
            "sent {} to pid {}\n",
            answer["signal"].as_str().unwrap_or("the signal"),
            answer["pid"]
        ),
        "pause" => "paused\n".into(),
        "resume" => "running\n".into(),
        "quit" => "the VM is ending\n".into(),
        _ => format!("{answer}\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn mailbox_turns_are_one_at_a_time() {
        let turns = Turns::default();
        let now = Instant::now;
        let first = turns.take(now()).expect("free");
        assert!(turns.take(now() + Duration::from_millis(1)).is_none());
        std::thread::scope(|s| {
            let waiter = s.spawn(|| turns.take(now() + Duration::from_secs(60)).is_some());
            drop(first);
            assert!(waiter.join().unwrap(), "the turn passes on when dropped");
        });
        assert!(turns.take(now()).is_some());
    }

    #[test]
    fn command_lines_become_requests() {
        assert_eq!(request_for(&words("ps")).unwrap(), json!({"cmd": "ps"}));
        assert_eq!(
            request_for(&words("stop 3")).unwrap(),
            json!({"cmd": "stop", "pid": 3})
        );
        assert_eq!(
            request_for(&words("events")).unwrap(),
            json!({"cmd": "events", "n": 20})
        );
        assert!(
            request_for(&words("kill"))
                .unwrap_err()
                .contains("needs a pid")
        );
        assert!(
            request_for(&words("kill x"))
                .unwrap_err()
                .contains("not a pid")
        );
        assert!(
            request_for(&words("ps 3"))
                .unwrap_err()
                .contains("no argument")
        );
        assert!(
            request_for(&words("dance"))
                .unwrap_err()
                .contains("unknown")
        );
        assert!(
            request_for(&words("dance 3"))
                .unwrap_err()
                .contains("unknown")
        );
        assert!(
            request_for(&words("stop 3 4"))
                .unwrap_err()
                .contains("one argument (a pid), not 2")
        );
    }

    #[test]
    fn kill_takes_a_signal_by_name_or_number() {
        assert_eq!(
            request_for(&words("kill 3")).unwrap(),
            json!({"cmd": "kill", "pid": 3})
        );
        for form in ["-INT", "-int", "-SIGINT", "-2"] {
            assert_eq!(
                request_for(&words(&format!("kill {form} 3"))).unwrap(),
                json!({"cmd": "signal", "pid": 3, "sig": "INT"}),
                "{form}"
            );
        }
        // A number without a name goes as the number.
        assert_eq!(
            request_for(&words("kill -16 3")).unwrap(),
            json!({"cmd": "signal", "pid": 3, "sig": 16})
        );
        for bad in ["-FOO", "-0", "-32", "-", "--", "-SIG"] {
            let e = request_for(&words(&format!("kill {bad} 3"))).unwrap_err();
            assert_eq!(
                e,
                format!("kill {bad}: no such signal; {SIGNAL_FORMS}"),
                "{bad}"
            );
        }
        assert!(
            request_for(&words("kill -TERM"))
                .unwrap_err()
                .contains("needs a pid")
        );
        assert!(
            request_for(&words("kill -TERM 3 4"))
                .unwrap_err()
                .contains("one argument")
        );
        // Only kill takes a signal.
        assert!(
            request_for(&words("stop -INT 3"))
                .unwrap_err()
                .contains("one argument")
        );
    }

    #[test]
    fn a_signal_request_names_its_signal_by_name_or_number() {
        assert_eq!(requested_signal(&json!("INT")), Ok(abi::signal::SIGINT));
        assert_eq!(
            requested_signal(&json!("SIGTERM")),
            Ok(abi::signal::SIGTERM)
        );
        assert_eq!(requested_signal(&json!(10)), Ok(abi::signal::SIGUSR1));
        for bad in [
            json!("FOO"),
            json!(0),
            json!(32),
            json!(-2),
            json!(2.5),
            json!([2]),
        ] {
            let e = requested_signal(&bad).unwrap_err();
            assert!(e.ends_with(SIGNAL_FORMS), "{bad}: {e}");
            assert!(e.starts_with(&format!("{bad} is not a signal")), "{e}");
        }
        assert!(
            requested_signal(&Value::Null)
                .unwrap_err()
                .starts_with("signal needs \"sig\"")
        );
    }

    #[test]
    fn a_pcb_survives_the_json_round_trip() {
        let mut p = ProcInfo::EMPTY;
        p.pid = Pid(9);
        p.ppid = Pid::INIT;
        p.state = abi::proc::ProcState::Sleeping as u32;
        p.reason = abi::proc::SleepReason::Pipe as u32;
        p.set_name("cat");
        p.ticks = 5;
        p.voluntary_switches = 2;
        p.page_faults = 11;
        p.mem_bytes = 40960;
        p.exit_status = -1;
        p.pgid = Pid(9);
        assert_eq!(proc_from_json(&proc_to_json(&p)), p);
        let j = proc_to_json(&p);
        assert_eq!((&j["pgid"], &j["killed"]), (&json!(9), &Value::Null));
        assert_eq!(j["sig_pending"], json!([]));
        // Signal sets by name, a number without a name too; the signal
        // that is ending it.
        p.killed = abi::signal::SIGKILL;
        p.sig_pending = SigSet(1 << abi::signal::SIGINT | 1 << abi::signal::SIGTERM);
        p.sig_blocked = SigSet(1 << 16 | 1 << 31);
        p.sig_caught = SigSet(1 << abi::signal::SIGUSR1);
        let j = proc_to_json(&p);
        assert_eq!(j["killed"], "SIGKILL");
        assert_eq!(j["sig_pending"], json!(["SIGINT", "SIGTERM"]));
        assert_eq!(j["sig_blocked"], json!(["signal 16", "signal 31"]));
        assert_eq!(j["sig_caught"], json!(["SIGUSR1"]));
        assert_eq!(proc_from_json(&j), p);
        // A guest's stray bit 0 too.
        p.sig_pending = SigSet(u32::MAX);
        assert_eq!(proc_from_json(&proc_to_json(&p)), p);
        // The foreground group's members are marked, as the table shows.
        for fg in [Pid(9), Pid::INIT] {
            let answer = json!({
                "ok": true, "consistent": true, "foreground": fg.get(),
                "procs": [proc_to_json(&p)],
            });
            let text = render(&json!({"cmd": "ps"}), &answer);
            assert_eq!(text, format!("{PS_HEADER}\n{}\n", PsRow(&p, fg)));
            assert_eq!(text.contains("sleeping(pipe)+"), fg == Pid(9), "{text}");
        }
    }

    #[test]
    fn a_files_answer_is_json_for_programs_and_columns_for_people() {
        let (p, f) = crate::introspect::files::tests::example();
        let answer = files_to_json(&p, &f, true);
        let console = |fd: u32| json!({"fd": fd, "kind": "console", "flags": "rw", "path": "", "offset": 0, "id": 0});
        assert_eq!(
            answer,
            json!({
                "ok": true, "pid": 7, "name": "wc", "state": "sleeping", "consistent": true,
                "cwd": "/tmp",
                "fds": [
                    console(0),
                    {"fd": 1, "kind": "file", "flags": "w,append", "path": "/tmp/out",
                     "offset": 120, "id": 12},
                    console(2),
                    {"fd": 3, "kind": "pipe (read)", "flags": "r,cloexec", "path": "",
                     "offset": 0, "id": 0x1a2b},
                    {"fd": 5, "kind": "directory", "flags": "r", "path": "/tmp",
                     "offset": 2, "id": 1},
                ],
            })
        );
        let req = request_for(&words("files 7")).unwrap();
        assert_eq!(req, json!({"cmd": "files", "pid": 7}));
        assert_eq!(
            render(&req, &answer),
            "pid 7 (wc): cwd /tmp\n\
             \x20  0  console      rw\n\
             \x20  1  file         w,append   /tmp/out  offset 120\n\
             \x20  2  console      rw\n\
             \x20  3  pipe (read)  r,cloexec  pipe 0x1a2b\n\
             \x20  5  directory    r          /tmp  offset 2\n"
        );
        // Nothing open; a zombie; a copy that may mix two moments.
        let mut empty = files_to_json(&p, &abi::fs::FilesInfo::EMPTY, false);
        assert_eq!(
            render(&req, &empty),
            "pid 7 (wc): cwd /\n  no open fds\n\
             (the kernel was changing the table: this may mix two moments)\n"
        );
        empty["state"] = "zombie".into();
        empty["consistent"] = true.into();
        assert_eq!(
            render(&req, &empty),
            "pid 7 (wc): a zombie; it closed its files when it exited\n"
        );
        assert!(
            request_for(&words("files"))
                .unwrap_err()
                .contains("needs a pid")
        );
        assert!(
            request_for(&words("files 1 2"))
                .unwrap_err()
                .contains("one argument (a pid)")
        );
    }

    #[test]
    fn a_signal_answer_reads_as_a_sentence() {
        let answer = json!({"ok": true, "pid": 3, "signal": "SIGINT"});
        assert_eq!(
            render(&json!({"cmd": "signal"}), &answer),
            "sent SIGINT to pid 3\n"
        );
    }
}
