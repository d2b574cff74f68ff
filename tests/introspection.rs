//! The host's view of the guest's processes through the debug port: the
//! Chrome trace and the events file of a scripted session, `vmm ctl` on a
//! running VM (its `ps` against the guest's own, process groups and the
//! console's foreground, a process's working directory and open fds, stop/cont/kill and other signals carried out by
//! the guest kernel, also from concurrent clients, pause and registers,
//! the protocol `vmm ctl --help` documents), the post-mortem after a kernel
//! panic, a triple fault and a timeout, `--stats`, and a kernel that
//! registers garbage.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use vmm::exitcode::{GUEST_CRASH, HOST_ERROR, TIMEOUT, USER_QUIT};

/// A session with a control socket, at its first prompt.
fn with_socket(name: &str, extra: &[&str]) -> (Session, std::path::PathBuf) {
    let dir = scratch_dir(name);
    let sock = dir.join("vm.sock");
    let mut args = vec!["--api-sock", sock.to_str().unwrap()];
    args.extend_from_slice(extra);
    let mut s = Session::start(&args);
    s.expect("$ ");
    (s, sock)
}

#[test]
fn the_trace_of_a_session_has_a_track_per_process_and_its_states_in_order() {
    let dir = scratch_dir("trace");
    let (trace, events) = (dir.join("run.json"), dir.join("events.jsonl"));
    let mut s = Session::start(&[
        "--trace",
        trace.to_str().unwrap(),
        "--events",
        events.to_str().unwrap(),
    ]);
    s.expect("$ ");
    let spin = job_pid(&s.sh("spin 10000 &"));
    s.sh("sleep 0.1");
    s.sh(&format!("stop {spin}"));
    s.sh("sleep 0.1");
    s.sh(&format!("cont {spin}"));
    s.sh("sleep 0.1");
    s.sh(&format!("kill {spin}"));
    s.sh("wait");
    s.send("exit 0\n");
    let r = s.finish();
    assert_eq!(r.code, 0, "{}", r.dump());

    let text = std::fs::read_to_string(&trace).unwrap();
    let all: Vec<Value> = serde_json::from_str(&text).expect("the trace is JSON");
    let names: Vec<(u64, &str)> = all
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "process_name")
        .map(|e| {
            (
                e["pid"].as_u64().unwrap(),
                e["args"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    for want in ["init", "sh", "spin", "sleep"] {
        assert!(
            names.iter().any(|n| n.1 == want),
            "no {want} track: {names:?}"
        );
    }
    assert!(names.contains(&(u64::from(spin), "spin")), "{names:?}");

    // spin's slices, in time order, do not overlap and follow the session.
    let slices: Vec<(&str, f64, f64)> = all
        .iter()
        .filter(|e| e["ph"] == "X" && e["pid"] == spin)
        .map(|e| {
            (
                e["name"].as_str().unwrap(),
                e["ts"].as_f64().unwrap(),
                e["dur"].as_f64().unwrap(),
            )
        })
        .collect();
    for w in slices.windows(2) {
        assert!(w[0].1 + w[0].2 <= w[1].1 + 0.001, "overlap: {w:?}");
    }
    let mut states: Vec<&str> = slices.iter().map(|s| s.0).collect();
    states.dedup();
    let pos = |st: &str, from: usize| {
        states[from..]
            .iter()
            .position(|s| *s == st)
            .map(|p| p + from)
            .unwrap_or_else(|| panic!("no {st} after {from} in {states:?}"))
    };
    let running = pos("Running", 0);
    let stopped = pos("Stopped", running);
    let running_again = pos("Running", stopped);
    let zombie = pos("Zombie", running_again);
    assert_eq!(zombie, states.len() - 1, "{states:?}");
    assert!(
        states[..stopped].contains(&"Runnable"),
        "preempted by the shell and the timer: {states:?}"
    );
    let instants: Vec<&str> = all
        .iter()
        .filter(|e| e["ph"] == "i" && e["pid"] == spin)
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    // Named as `ctl events` says them: the signals the programs `stop`,
    // `cont` and `kill` (SIGTERM unless told) sent, and what they did.
    for want in [
        "got SIGSTOP from pid ",
        "suspended (SIGSTOP)",
        "got SIGCONT from pid ",
        "resumed",
        "got SIGTERM from pid ",
        "ended, terminated",
    ] {
        assert!(
            instants.iter().any(|i| i.starts_with(want)),
            "{want}: {instants:?}"
        );
    }
    let term = all
        .iter()
        .find(|e| e["ph"] == "i" && e["pid"] == spin && e["args"]["signal"] == "SIGTERM")
        .unwrap_or_else(|| panic!("no SIGTERM instant with its fields: {instants:?}"));
    let sender = term["args"]["sender"].as_u64().unwrap();
    assert!(sender > 1 && sender != u64::from(spin), "{term}");

    // The events file: the same run as JSON lines.
    let lines = std::fs::read_to_string(&events).unwrap();
    let evs: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let mine: Vec<&Value> = evs.iter().filter(|e| e["pid"] == spin).collect();
    // Created as a copy of the shell, then the program: the shell spawns.
    let kinds: Vec<&str> = mine.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(kinds[..3], ["create", "state", "exec"], "{kinds:?}");
    assert_eq!(mine[0]["name"], "sh");
    assert!(
        mine[0]["ppid"].as_u64().unwrap() > 1,
        "a child of the shell"
    );
    assert_eq!(
        (&mine[1]["from"], &mine[1]["to"]),
        (&"unused".into(), &"embryo".into())
    );
    assert_eq!(mine[2]["name"], "spin");
    assert_eq!(mine.last().unwrap()["to"], "unused", "reaped: {kinds:?}");
    let exit = mine.iter().find(|e| e["event"] == "exit").expect("exit");
    assert_eq!(
        (&exit["how"], &exit["signal"]),
        (&"terminated".into(), &"SIGTERM".into()),
        "{exit}"
    );
    let sent = mine
        .iter()
        .find(|e| e["event"] == "signal")
        .expect("signal");
    assert_eq!(sent["signal"], "SIGSTOP", "{sent}");
    let ts: Vec<f64> = evs.iter().map(|e| e["t_us"].as_f64().unwrap()).collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]), "events in time order");
}

#[test]
fn ctl_ps_matches_the_guests_own_ps() {
    let (mut s, sock) = with_socket("ctl-ps", &[]);
    let sleeper = job_pid(&s.sh("sleep 60 &"));
    // ps in the background, so the shell is back reading the console.
    s.send("ps &\n");
    let guest = s.expect_where("ps's [N] PID line and its whole table", |t| {
        find_job(t).is_some_and(|(_, ps_pid)| has_rows(t, &[1, 2, sleeper, ps_pid]))
    });
    let host = ctl(&sock, &["ps"]);
    assert_eq!(host.code, 0, "{}", host.dump());
    assert!(
        host.stdout.starts_with("  PID  PPID  PGID STATE"),
        "{}",
        host.stdout
    );
    // Sleeping processes do not change between the two looks.
    for pid in [1, sleeper] {
        let g = row(&guest, pid);
        let h = row(&host.stdout, pid);
        assert_eq!(g, h, "guest:\n{guest}\nhost:\n{}", host.stdout);
    }
    let sh = parse_ps(&host.stdout)
        .into_iter()
        .find(|r| r.name == "sh")
        .expect("sh");
    assert_eq!(sh.state, "sleeping(io)", "{}", host.stdout);
    // JSON for programs.
    let j = ctl(&sock, &["--json", "ps"]);
    let v: Value = serde_json::from_str(j.stdout.trim()).expect("JSON");
    assert_eq!(v["ok"], true);
    assert!(
        v["procs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["pid"] == sleeper)
    );
    s.sh(&format!("kill {sleeper}"));
    s.send("exit 0\n");
    assert_eq!(s.finish().code, 0);
}

/// The fds 0, 1 and 2 on the console, as a `files` answer lists them.
fn console_fds() -> Value {
    let fd = |n: u32| {
        serde_json::json!({
            "fd": n, "kind": "console", "flags": "rw", "path": "", "offset": 0, "id": 0
        })
    };
    Value::Array(vec![fd(0), fd(1), fd(2)])
}

#[test]
fn ctl_files_shows_the_working_directory_and_open_fds() {
    let (mut s, sock) = with_socket("ctl-files", &[]);
    // The shell: the console init gave it, the root its directory.
    let sh = shell_pid(&sock);
    let text = ctl(&sock, &["files", &sh.to_string()]);
    assert_eq!(text.code, 0, "{}", text.dump());
    assert_eq!(
        text.stdout,
        format!("pid {sh} (sh): cwd /\n   0  console  rw\n   1  console  rw\n   2  console  rw\n"),
        "{}",
        text.dump()
    );

    // cat reading the console from the background: stopped by SIGTTIN,
    // holding the fds the shell gave it.
    let cat = job_pid(&s.sh("cat &"));
    wait_for_stopped(&sock, &[cat], true, "cat & reading the console");
    let v = ask(&sock, &serde_json::json!({"cmd": "files", "pid": cat}));
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(
        (&v["pid"], &v["name"], &v["state"], &v["cwd"]),
        (&cat.into(), &"cat".into(), &"stopped".into(), &"/".into()),
        "{v}"
    );
    assert_eq!(v["fds"], console_fds(), "{v}");
    assert_eq!(v["consistent"], true, "{v}");
    let j = ctl(&sock, &["--json", "files", &cat.to_string()]);
    let printed: Value = serde_json::from_str(j.stdout.trim()).expect("JSON");
    assert_eq!(printed["fds"], v["fds"], "{}", j.dump());

    // A pid that is not there is one line and status 1; a request
    // without a pid says what it needs.
    let none = ctl(&sock, &["files", "4242"]);
    assert_eq!(none.code, 1, "{}", none.dump());
    assert_eq!(
        none.stderr,
        "vmm ctl: pid 4242: no such process\n",
        "{}",
        none.dump()
    );
    let bad = ask(&sock, &serde_json::json!({"cmd": "files"}));
    assert_eq!(
        (&bad["ok"], &bad["error"]),
        (
            &false.into(),
            &"files needs a pid, a positive number".into()
        ),
        "{bad}"
    );

    assert_eq!(ctl(&sock, &["kill", &cat.to_string()]).code, 0);
    let w = s.sh("wait");
    s.send("exit 0\n");
    let r = s.finish();
    assert_eq!(r.code, 0, "{w}\n{}", r.dump());
}

#[test]
fn ctl_stop_cont_kill_are_carried_out_by_the_guest() {
    let (mut s, sock) = with_socket("ctl-control", &[]);
    let spin = job_pid(&s.sh("spin 20000 &"));
    let pid = spin.to_string();
    let stop = ctl(&sock, &["stop", &pid]);
    assert_eq!(stop.code, 0, "{}", stop.dump());
    let ps = s.sh("ps");
    assert_eq!(row(&ps, spin).state, "stopped", "{ps}");
    let t1 = row(&s.sh("ps"), spin).ticks;
    s.sh("sleep 0.2");
    assert_eq!(row(&s.sh("ps"), spin).ticks, t1, "stopped: no ticks");

    assert_eq!(ctl(&sock, &["cont", &pid]).code, 0);
    s.sh("sleep 0.2");
    let r = row(&s.sh("ps"), spin);
    assert!(r.ticks > t1, "running again: {r:?}");

    let kill = ctl(&sock, &["kill", &pid]);
    assert_eq!(kill.code, 0, "{}", kill.dump());
    let w = s.sh("wait");
    assert!(
        has_job_report(&w, 1, "Killed"),
        "the shell sees it killed: {w}"
    );

    // Refusals are one line and status 1.
    let none = ctl(&sock, &["kill", "4242"]);
    assert_eq!(none.code, 1, "{}", none.dump());
    assert!(none.stderr.contains("no such process"), "{}", none.dump());
    let init = ctl(&sock, &["kill", "1"]);
    assert_eq!(init.code, 1, "{}", init.dump());

    // Pause: the vCPU stands still, its registers are there, commands for
    // the kernel are refused until resume.
    assert_eq!(ctl(&sock, &["pause"]).code, 0);
    let regs = ctl(&sock, &["--json", "regs"]);
    let v: Value = serde_json::from_str(regs.stdout.trim()).expect("JSON");
    assert!(v["regs"]["rip"].as_str().unwrap().starts_with("0x"), "{v}");
    assert_eq!(v["paused"], true);
    let refused = ctl(&sock, &["stop", "1"]);
    assert!(refused.stderr.contains("paused"), "{}", refused.dump());
    assert_eq!(ctl(&sock, &["resume"]).code, 0);
    let ev = ctl(&sock, &["events", "50"]);
    assert!(
        ev.stdout.contains(&format!("pid {spin} (spin): killed")),
        "{}",
        ev.stdout
    );

    assert_eq!(ctl(&sock, &["quit"]).code, 0);
    let r = s.finish();
    assert_eq!(r.code, USER_QUIT, "{}", r.dump());
    assert!(!sock.exists(), "the socket is removed at exit");
}

/// Polls `vmm ctl ps` until every pid in `pids` is (`stopped`: true) or
/// is not (false) in the stopped state; fails with the last table after a
/// deadline.
fn wait_for_stopped(sock: &Path, pids: &[u32], stopped: bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ps = ctl(sock, &["ps"]);
        assert_eq!(ps.code, 0, "{what}: {}", ps.dump());
        let done = pids.iter().all(|&pid| {
            find_row(&ps.stdout, pid).is_some_and(|r| (r.state == "stopped") == stopped)
        });
        if done {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: want {pids:?} {}stopped:\n{}",
            if stopped { "" } else { "not " },
            ps.stdout
        );
        std::thread::yield_now();
    }
}

/// Asks the control socket `req` on a connection of its own; the answer.
fn ask(sock: &Path, req: &Value) -> Value {
    use std::io::{BufRead, BufReader};
    let conn = std::os::unix::net::UnixStream::connect(sock).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    writeln!(&conn, "{req}").unwrap();
    let mut line = String::new();
    BufReader::new(conn).read_line(&mut line).unwrap();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"))
}

/// The lines of `vmm ctl events 256` (as many as the VMM keeps).
fn recent_events(sock: &Path) -> String {
    let ev = ctl(sock, &["events", "256"]);
    assert_eq!(ev.code, 0, "{}", ev.dump());
    ev.stdout
}

#[test]
fn ctl_kill_with_a_signal_has_the_guest_kernel_send_it() {
    let (mut s, sock) = with_socket("ctl-signal", &[]);
    let job = s.sh("spin &");
    let (spin_job, spin) = (job_number(&job), job_pid(&job));
    let pid = spin.to_string();

    // Stopped and continued by signals, as stop and cont do.
    let stop = ctl(&sock, &["kill", "-STOP", &pid]);
    assert_eq!(stop.code, 0, "{}", stop.dump());
    assert_eq!(stop.stdout, format!("sent SIGSTOP to pid {spin}\n"));
    wait_for_stopped(&sock, &[spin], true, "kill -STOP");
    let ev = recent_events(&sock);
    for want in [
        format!("pid {spin} (spin): got SIGSTOP from the console or host"),
        format!("pid {spin} (spin): suspended (SIGSTOP)"),
    ] {
        assert!(ev.contains(&want), "{want}:\n{ev}");
    }
    assert_eq!(ctl(&sock, &["kill", "-SIGCONT", &pid]).code, 0);
    wait_for_stopped(&sock, &[spin], false, "kill -SIGCONT");

    // A signal with no name is refused before anything is sent: by the
    // client, in one line; by the server, with the reason.
    let bad = ctl(&sock, &["kill", "-FOO", &pid]);
    assert_eq!(bad.code, HOST_ERROR, "{}", bad.dump());
    assert_eq!(bad.stderr.lines().count(), 1, "{}", bad.dump());
    assert!(
        bad.stderr
            .starts_with("vmm ctl: kill -FOO: no such signal; give a name such as INT"),
        "{}",
        bad.dump()
    );
    for (sig, why) in [
        (serde_json::json!("FOO"), "\"FOO\" is not a signal"),
        (serde_json::json!(0), "0 is not a signal"),
        (serde_json::json!(32), "32 is not a signal"),
        (Value::Null, "signal needs \"sig\""),
    ] {
        let req = serde_json::json!({"cmd": "signal", "pid": spin, "sig": sig});
        let answer = ask(&sock, &req);
        assert_eq!(answer["ok"], false, "{req} -> {answer}");
        let error = answer["error"].as_str().unwrap();
        assert!(error.starts_with(why), "{req} -> {answer}");
    }
    let none = ctl(&sock, &["kill", "-INT", "4242"]);
    assert_eq!(none.code, 1, "{}", none.dump());
    assert!(none.stderr.contains("no such process"), "{}", none.dump());

    // SIGINT ends it (it has no handler): the shell's wait and the events
    // say so.
    let int = ctl(&sock, &["kill", "-INT", &pid]);
    assert_eq!(int.code, 0, "{}", int.dump());
    assert_eq!(int.stdout, format!("sent SIGINT to pid {spin}\n"));
    let w = s.sh("wait");
    assert!(has_job_report(&w, spin_job, "Interrupt"), "{w}");
    let ev = recent_events(&sock);
    for want in [
        format!("pid {spin} (spin): got SIGINT from the console or host"),
        format!("pid {spin} (spin): ended, interrupt"),
    ] {
        assert!(ev.contains(&want), "{want}:\n{ev}");
    }
    let j = ctl(&sock, &["--json", "events", "256"]);
    let v: Value = serde_json::from_str(j.stdout.trim()).expect("JSON");
    let exit = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["pid"] == spin && e["event"] == "exit")
        .unwrap_or_else(|| panic!("no exit of {spin}: {v}"));
    assert_eq!(exit["how"], "interrupt", "{exit}");
    assert_eq!(exit["signal"], "SIGINT", "{exit}");
    assert_eq!(exit["status"], abi::signal::SIGINT, "{exit}");

    assert_eq!(ctl(&sock, &["quit"]).code, 0);
    assert_eq!(s.finish().code, USER_QUIT);
}

#[test]
fn ctl_ps_shows_process_groups_and_the_consoles_foreground() {
    let (mut s, sock) = with_socket("ctl-groups", &[]);
    let sleeper = job_pid(&s.sh("sleep 60 &"));
    let j = ctl(&sock, &["--json", "ps"]);
    assert_eq!(j.code, 0, "{}", j.dump());
    let v: Value = serde_json::from_str(j.stdout.trim()).expect("JSON");
    let fg = v["foreground"]
        .as_u64()
        .unwrap_or_else(|| panic!("no foreground: {v}"));
    let procs = v["procs"].as_array().unwrap();
    for p in procs {
        assert!(p["pgid"].as_u64().is_some_and(|g| g >= 1), "{p}");
        for set in ["sig_pending", "sig_blocked", "sig_caught"] {
            let names = p[set].as_array().unwrap_or_else(|| panic!("{set}: {p}"));
            assert!(
                names
                    .iter()
                    .all(|n| n.as_str().is_some_and(|n| n.starts_with("SIG")))
            );
        }
        assert_eq!(p["killed"], Value::Null, "{p}");
    }
    let of = |name: &str| -> &Value {
        procs
            .iter()
            .find(|p| p["name"] == name && p["state"] != "zombie")
            .unwrap_or_else(|| panic!("no {name}: {v}"))
    };
    assert_eq!(of("init")["pgid"], 1, "{v}");
    // The shell reads the console, so its group is the foreground.
    assert_eq!(of("sh")["pgid"], fg, "{v}");

    // The table marks the members of that group, and only them.
    let host = ctl(&sock, &["ps"]);
    assert_eq!(host.code, 0, "{}", host.dump());
    let rows = parse_ps(&host.stdout);
    assert!(rows.len() >= 3, "{}", host.stdout);
    for r in &rows {
        assert_eq!(r.fg, u64::from(r.pgid) == fg, "{r:?}\n{}", host.stdout);
    }
    let json_pgid = procs.iter().find(|p| p["pid"] == sleeper).unwrap()["pgid"].clone();
    assert_eq!(
        json_pgid,
        row(&host.stdout, sleeper).pgid,
        "{}",
        host.stdout
    );

    s.sh(&format!("kill {sleeper}"));
    s.send("exit 0\n");
    assert_eq!(s.finish().code, 0);
}

#[test]
fn concurrent_ctl_clients_each_get_their_command_carried_out() {
    let (mut s, sock) = with_socket("ctl-concurrent", &[]);
    let pids = [job_pid(&s.sh("spin &")), job_pid(&s.sh("spin &"))];
    for round in 0..15 {
        for (cmd, stopped) in [("stop", true), ("cont", false)] {
            // Both clients connect at the same moment, each for its pid.
            let start = Arc::new(Barrier::new(pids.len()));
            let clients: Vec<_> = pids
                .iter()
                .map(|pid| {
                    let (start, sock, pid) = (start.clone(), sock.clone(), pid.to_string());
                    std::thread::spawn(move || {
                        start.wait();
                        ctl(&sock, &[cmd, &pid])
                    })
                })
                .collect();
            for (pid, client) in pids.iter().zip(clients) {
                let r = client.join().unwrap();
                assert_eq!(r.code, 0, "round {round}: {cmd} {pid}: {}", r.dump());
            }
            wait_for_stopped(&sock, &pids, stopped, &format!("round {round}: {cmd}"));
        }
    }
    for pid in pids {
        assert_eq!(ctl(&sock, &["kill", &pid.to_string()]).code, 0);
    }
    assert_eq!(ctl(&sock, &["quit"]).code, 0);
    assert_eq!(s.finish().code, USER_QUIT);
}

/// Whether `word` occurs in `text` as a whole word (`_` is part of one).
fn has_word(text: &str, word: &str) -> bool {
    let part = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(word).any(|(i, _)| {
        !text[..i].chars().next_back().is_some_and(part)
            && !text[i + word.len()..].chars().next().is_some_and(part)
    })
}

#[test]
fn ctl_help_documents_the_protocol_the_socket_speaks() {
    use std::io::{BufRead, BufReader};
    let help = run_vmm(&["ctl", "--help"], b"", Duration::from_secs(10));
    assert_eq!(help.code, 0, "{}", help.dump());
    let help = help.stdout;
    let protocol = help
        .split_once("\nProtocol")
        .and_then(|(_, rest)| rest.split_once("\nExamples:"))
        .unwrap_or_else(|| panic!("a Protocol section before the examples:\n{help}"))
        .0;
    assert!(
        protocol.contains("one JSON object per line each way"),
        "{protocol}"
    );
    let requests: Vec<Value> = protocol
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    let cmds: Vec<&str> = requests
        .iter()
        .map(|r| r["cmd"].as_str().unwrap())
        .collect();
    assert_eq!(
        cmds,
        [
            "ps", "files", "events", "stop", "cont", "signal", "kill", "pause", "resume", "regs",
            "quit"
        ],
        "{protocol}"
    );

    // Every documented request, on one connection, with the pid of a
    // process that exists (its own: signal and kill end theirs); then a
    // bad one.
    let (mut s, sock) = with_socket("ctl-protocol", &[]);
    let conn = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut answers = BufReader::new(conn.try_clone().unwrap()).lines();
    let mut ask = |req: &Value| -> Value {
        writeln!(&conn, "{req}").unwrap();
        let line = answers.next().expect("an answer").unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"))
    };
    let refused = ask(&serde_json::json!({"cmd": "stop"}));
    assert_eq!(refused["ok"], false, "{refused}");
    assert!(refused["error"].is_string(), "{refused}");
    let mut keys = vec!["ok".to_string(), "error".to_string()];
    for mut req in requests {
        if req.get("pid").is_some() {
            req["pid"] = job_pid(&s.sh("spin &")).into();
        }
        let answer = ask(&req);
        assert_eq!(answer["ok"], true, "{req} -> {answer}");
        let object_keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        keys.extend(object_keys(&answer));
        for list in ["procs", "fds", "events"] {
            for item in answer[list].as_array().into_iter().flatten() {
                keys.extend(object_keys(item));
            }
        }
    }
    // Every field the answers have is named in the help.
    for key in &keys {
        assert!(
            has_word(protocol, key),
            "{key:?} is not documented:\n{protocol}"
        );
    }
    assert_eq!(s.finish().code, USER_QUIT);

    // A VM sent to the background leaves the terminal alone: no console,
    // or its input and output away from the terminal.
    let examples = help.split_once("\nExamples:").unwrap().1;
    for line in examples.lines().filter(|l| l.trim_end().ends_with('&')) {
        assert!(
            line.contains("--serial none") || (line.contains(" | vmm ") && line.contains('>')),
            "a background VM that would use the terminal: {line}"
        );
    }
}

#[test]
fn ctl_without_a_vm_is_one_clear_error() {
    let r = ctl(Path::new("/nonexistent/vm.sock"), &["ps"]);
    assert_eq!(r.code, HOST_ERROR, "{}", r.dump());
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.dump());
    assert!(
        r.stderr.contains("is a VM running with --api-sock"),
        "{}",
        r.dump()
    );
    let bad = ctl(Path::new("/tmp/x"), &["dance"]);
    assert_eq!(bad.code, HOST_ERROR);
    assert!(bad.stderr.contains("unknown command"), "{}", bad.dump());
}

/// Checks a post-mortem: the table with init, and the last events.
fn assert_post_mortem(r: &Run, record: &str) {
    assert_eq!(r.code, GUEST_CRASH, "{}", r.dump());
    let e = &r.stderr;
    assert!(e.contains("vmm: post-mortem:"), "{}", r.dump());
    assert!(e.contains(record), "{}", r.dump());
    assert!(e.contains("rip=0x"), "{}", r.dump());
    assert!(e.contains("PID  PPID  PGID STATE"), "{}", r.dump());
    assert!(
        e.lines()
            .any(|l| l.contains(" init ") || l.trim_end().ends_with(" init")),
        "{}",
        r.dump()
    );
    assert!(e.contains("pid 1 (init): created by pid 0"), "{}", r.dump());
    assert!(
        e.contains("pid 0 (kernel): kernel "),
        "the crash is the last event: {}",
        r.dump()
    );
}

#[test]
fn a_kernel_panic_gives_the_post_mortem() {
    let r = run_vmm(
        &["--timeout", "20", "--cmdline", "crash=panic"],
        b"",
        Duration::from_secs(30),
    );
    assert_post_mortem(&r, "crash record: kernel panic: crash=panic requested");
}

#[test]
fn a_triple_fault_gives_the_post_mortem_with_the_last_registers() {
    let r = run_vmm(
        &["--timeout", "20", "--cmdline", "crash=triple"],
        b"",
        Duration::from_secs(30),
    );
    assert!(
        r.stderr.contains("triple fault (the vCPU shut down)"),
        "{}",
        r.dump()
    );
    assert_post_mortem(
        &r,
        "crash record: triple fault (registers from just before)",
    );
}

#[test]
fn a_timeout_gives_the_post_mortem() {
    let r = run_vmm(
        &["--timeout", "1", "--init", "/bin/spin"],
        b"",
        Duration::from_secs(20),
    );
    assert_eq!(r.code, TIMEOUT, "{}", r.dump());
    assert!(r.stderr.contains("vmm: post-mortem:"), "{}", r.dump());
    let table: String = r
        .stderr
        .lines()
        .map(|l| format!("{}\n", l.trim_start()))
        .collect();
    let spin = find_row(&table, 1).unwrap_or_else(|| panic!("{}", r.dump()));
    assert_eq!(spin.name, "spin");
    assert!(
        spin.state == "running" || spin.state == "runnable",
        "{spin:?}"
    );
    assert!(spin.ticks > 100, "it ran for most of a second: {spin:?}");
    // Its files after the table: the console the kernel gave init.
    let after_table = table
        .split_once("open files:\n")
        .unwrap_or_else(|| panic!("{}", r.dump()));
    assert_eq!(
        after_table.1.lines().next(),
        Some("pid 1 (spin): cwd /; 0-2 console"),
        "{}",
        r.dump()
    );
}

#[test]
fn a_timeout_on_an_idle_shell_says_the_guest_was_still_running_not_that_it_crashed() {
    require_kvm();
    let mut child = Command::new(vmm_bin())
        .args(["--timeout", "1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start vmm");
    // Held open until vmm has ended, so the shell waits for input.
    let stdin = child.stdin.take();
    let out = child.wait_with_output().expect("wait for vmm");
    drop(stdin);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(TIMEOUT), "{stderr}");
    assert!(stderr.contains("vmm: post-mortem:"), "{stderr}");
    assert!(
        stderr.contains("no crash: the guest was still running when the timeout expired"),
        "{stderr}"
    );
    assert!(!stderr.contains("did not see the end coming"), "{stderr}");
    let table: String = stderr
        .lines()
        .map(|l| format!("{}\n", l.trim_start()))
        .collect();
    let sh = parse_ps(&table)
        .into_iter()
        .find(|r| r.name == "sh")
        .unwrap_or_else(|| panic!("{stderr}"));
    assert_eq!(sh.state, "sleeping(io)", "{stderr}");
}

#[test]
fn a_kernel_that_registers_garbage_leaves_the_vmm_running_with_a_warning() {
    let dir = scratch_dir("garbage");
    let sock = dir.join("vm.sock");
    let mut s = Session::start(&[
        "--cmdline",
        "debugport=garbage",
        "--api-sock",
        sock.to_str().unwrap(),
    ]);
    s.expect("$ ");
    let out = s.sh("echo still here");
    assert!(has_line(&out, "still here"), "{out}");
    let host = ctl(&sock, &["ps"]);
    assert_eq!(host.code, 1, "{}", host.dump());
    assert!(
        host.stderr.contains("refused: bad magic"),
        "{}",
        host.dump()
    );
    s.send("exit 7\n");
    let r = s.finish();
    assert_eq!(r.code, 7, "{}", r.dump());
    let warnings: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("vmm: debug port: "))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", r.dump());
    assert!(
        warnings[0].ends_with("; host-side process view disabled"),
        "{}",
        r.dump()
    );
}

#[test]
fn stats_name_the_boot_phases_and_count_exits() {
    let r = run_vmm(
        &["--timeout", "20", "--stats", "--init", "/bin/true"],
        b"",
        Duration::from_secs(30),
    );
    assert_eq!(r.code, 0, "{}", r.dump());
    let ms = |phase: &str| -> f64 {
        let line = r
            .stderr
            .lines()
            .find(|l| l.trim_start().starts_with(phase))
            .unwrap_or_else(|| panic!("no {phase}: {}", r.dump()));
        line[phase.len() + 4..]
            .trim()
            .trim_end_matches(" ms")
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{line}"))
    };
    let phases = [
        ms("vmm start"),
        ms("first KVM_RUN"),
        ms("kernel entry"),
        ms("scheduler start"),
        ms("init running"),
        ms("exit"),
    ];
    assert!(
        phases.windows(2).all(|w| w[0] <= w[1]),
        "{phases:?}\n{}",
        r.dump()
    );
    assert!(r.stderr.contains("VM exits: "), "{}", r.dump());
    assert!(r.stderr.contains("exit port"), "{}", r.dump());
}

#[test]
fn ctrl_a_p_shows_the_table_of_a_wedged_guest() {
    // `script` gives vmm a terminal, so the Ctrl-A escapes are live; the
    // kernel hangs with interrupts off just after creating init.
    require_kvm();
    if Command::new("script").arg("--version").output().is_err() {
        panic!("this test needs script(1), from util-linux");
    }
    let vmm = format!("{} --timeout 20 --cmdline crash=hang", vmm_bin());
    let mut s = Session::spawn_program("script", &["-qec", &vmm, "/dev/null"]);
    s.expect("crash: triggering hang");
    s.send("\x01p");
    s.expect("vmm: process table (read from guest memory):");
    let table = s.expect_where("init's row and the open files", |t| {
        find_row(t, 1).is_some() && t.contains("open files:")
    });
    s.send("\x01x");
    let r = s.finish();
    assert!(r.stdout.contains("vmm: quit"), "{}", r.dump());
    let text = table.replace('\r', "");
    let init = row(&text, 1);
    assert_eq!(init.name, "init", "{text}");
}

#[test]
fn a_kernel_wedged_with_interrupts_off_ends_at_the_timeout_with_the_post_mortem() {
    // Halted (`cli; hlt`) and spinning (`cli` and a busy loop).
    for kind in ["hang", "spin"] {
        let r = run_vmm(
            &["--timeout", "1", "--cmdline", &format!("crash={kind}")],
            b"",
            Duration::from_secs(20),
        );
        assert_eq!(r.code, TIMEOUT, "{kind}: {}", r.dump());
        assert!(r.stderr.contains("vmm: post-mortem:"), "{}", r.dump());
        assert!(r.stderr.contains("no crash record"), "{}", r.dump());
        assert!(
            r.stderr.contains("pid 1 (init): embryo -> runnable"),
            "{}",
            r.dump()
        );
    }
}

/// The pid of the live shell, from the VMM's view of the table.
fn shell_pid(sock: &Path) -> u32 {
    let j = ctl(sock, &["--json", "ps"]);
    let v: Value = serde_json::from_str(j.stdout.trim()).expect("JSON");
    v["procs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "sh" && p["state"] != "zombie")
        .and_then(|p| p["pid"].as_u64())
        .unwrap_or_else(|| panic!("no shell in {v}")) as u32
}

#[test]
fn init_explains_a_stopped_shell_and_replaces_a_killed_one() {
    let (mut s, sock) = with_socket("ctl-shell", &[]);
    let sh = shell_pid(&sock);
    assert_eq!(ctl(&sock, &["stop", &sh.to_string()]).code, 0);
    s.expect(&format!(
        "init: the shell (pid {sh}) is stopped: nothing reads the console until it is continued"
    ));
    assert_eq!(ctl(&sock, &["cont", &sh.to_string()]).code, 0);
    assert!(has_line(&s.sh("echo  back  again"), "back again"));
    // Killed: a new shell takes the console, three times in a row.
    let mut last = sh;
    for round in 1..=3 {
        assert_eq!(ctl(&sock, &["kill", &last.to_string()]).code, 0);
        let said = s.expect(&format!("init: the shell (pid {last}) ended: killed"));
        if round < 3 {
            s.expect("$ ");
            let next = shell_pid(&sock);
            assert_ne!(next, last, "{said}");
            last = next;
        }
    }
    s.expect("3 times in a row; giving up");
    let r = s.finish();
    assert_eq!(
        r.code,
        128 + abi::signal::SIGKILL as i32,
        "init ends as its shell did: {}",
        r.dump()
    );
}
