//! The control socket (`--api-sock PATH`) and its client (`vmm ctl`).
//!
//! The protocol is one JSON object per line each way. A request is
//! `{"cmd": "ps"}`, `{"cmd": "events", "n": 20}`, `{"cmd": "stop", "pid":
//! 3}` (also `cont`, `kill`), `{"cmd": "pause"}`, `{"cmd": "resume"}`,
//! `{"cmd": "regs"}` or `{"cmd": "quit"}`; the answer has `"ok": true` and
//! the data, or `"ok": false` and an `"error"` sentence. Each connection
//! gets its own thread, so a slow client never holds up the VM.
//!
//! `stop`, `cont` and `kill` go to the guest kernel through the debug
//! port's mailbox, which holds one command: concurrent clients' commands
//! take turns, each posted only once the one before was carried out, and
//! each answered with its own result or an error that says why not.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use abi::debug::Command;
use abi::proc::{PS_HEADER, Pid, ProcInfo, PsRow};
use serde_json::{Value, json};
use vmm_sys_util::eventfd::EventFd;

use crate::devices::serial::ConsoleSerial;
use crate::exitcode;
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

/// A PCB as JSON (the `ps` answer's rows).
pub fn proc_to_json(p: &ProcInfo) -> Value {
    json!({
        "pid": p.pid.get(), "ppid": p.ppid.get(), "name": p.name(),
        "state": p.state().map_or("?", |s| s.name()),
        "state_raw": p.state, "reason_raw": p.reason,
        "ticks": p.ticks,
        "voluntary_switches": p.voluntary_switches,
        "involuntary_switches": p.involuntary_switches,
        "page_faults": p.page_faults, "mem_bytes": p.mem_bytes,
        "brk": p.brk, "start_tick": p.start_tick,
        "exit_status": p.exit_status, "killed": p.killed != 0,
    })
}

/// The inverse of [`proc_to_json`], for printing a row.
pub fn proc_from_json(v: &Value) -> ProcInfo {
    let n = |k: &str| v[k].as_u64().unwrap_or(0);
    let mut p = ProcInfo::EMPTY;
    p.pid = Pid(n("pid") as u32);
    p.ppid = Pid(n("ppid") as u32);
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
    p.killed = u32::from(v["killed"].as_bool().unwrap_or(false));
    p
}

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
                    "procs": t.procs.iter().map(proc_to_json).collect::<Vec<_>>(),
                }),
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
        "stop" | "cont" | "kill" => {
            let Some(pid) = pid.filter(|p| *p > 0 && *p <= u64::from(u32::MAX)) else {
                return fail(format!("{cmd} needs a pid, a positive number"));
            };
            let command = match cmd {
                "stop" => Command::Stop,
                "cont" => Command::Cont,
                _ => Command::Kill,
            };
            host_command(served, command, pid as u32)
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

/// Waits for this command's turn at the mailbox, posts it once the mailbox
/// is free, and waits for the kernel to carry it out.
fn host_command(served: &Served, command: Command, pid: u32) -> Value {
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
    let seq = match ctx.introspect.lock().unwrap().post(command, pid) {
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
pub fn client(sock: &Path, words: &[String], raw_json: bool) -> i32 {
    let req = match request_for(words) {
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

/// The request a `ctl` command line makes.
pub fn request_for(words: &[String]) -> Result<Value, String> {
    let cmd = words.first().map(String::as_str).unwrap_or("");
    let arg = words.get(1);
    let number = |what: &str| -> Result<u64, String> {
        let a = arg.ok_or_else(|| format!("{cmd} needs {what}"))?;
        a.parse::<u64>().map_err(|_| format!("'{a}' is not {what}"))
    };
    match cmd {
        "ps" | "pause" | "resume" | "regs" | "quit" if arg.is_none() => Ok(json!({ "cmd": cmd })),
        "ps" | "pause" | "resume" | "regs" | "quit" => Err(format!("{cmd} takes no argument")),
        "events" => {
            let n = if arg.is_some() {
                number("a count")?
            } else {
                20
            };
            Ok(json!({ "cmd": "events", "n": n }))
        }
        "stop" | "cont" | "kill" => Ok(json!({ "cmd": cmd, "pid": number("a pid")? })),
        _ => Err(format!(
            "unknown command '{cmd}'; use ps, events, stop, cont, kill, pause, resume, regs or quit"
        )),
    }
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
            for p in answer["procs"].as_array().into_iter().flatten() {
                s.push_str(&format!("{}\n", PsRow(&proc_from_json(p))));
            }
            if answer["consistent"] == false {
                s.push_str("(the kernel was changing the table: rows may mix two moments)\n");
            }
            s
        }
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
        assert_eq!(proc_from_json(&proc_to_json(&p)), p);
        let answer = json!({"ok": true, "consistent": true, "procs": [proc_to_json(&p)]});
        let text = render(&json!({"cmd": "ps"}), &answer);
        assert_eq!(text, format!("{PS_HEADER}\n{}\n", PsRow(&p)));
    }
}
