//! The console as a person at a terminal meets it: `vmm` runs under
//! script(1), so its input is a pseudo-terminal, keys arrive byte by byte
//! as a terminal sends them (Enter is `\r`, arrows are escape sequences),
//! and the guest's shell edits its own line. Waits are on what the guest
//! printed or on process states read through the control socket; the
//! assertions are on the guest's output, never on the echo of what was
//! typed. A piped script meets the same shell language at the end.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// A VM on a pseudo-terminal with a control socket, at its first prompt.
fn terminal_vm(name: &str) -> (Session, PathBuf) {
    require_kvm();
    if Command::new("script").arg("--version").output().is_err() {
        panic!("this test needs script(1), from util-linux");
    }
    let sock = scratch_dir(name).join("vm.sock");
    let vmm = format!(
        "{} --timeout 60 --api-sock {}",
        vmm_bin(),
        sock.to_str().unwrap()
    );
    let mut s = Session::spawn_program("script", &["-qec", &vmm, "/dev/null"]);
    s.expect("$ ");
    (s, sock)
}

/// Waits (polling the host's view of the table) until a process named
/// `name` satisfies `want`; returns its row.
fn await_row(sock: &Path, name: &str, what: &str, want: impl Fn(&PsRow) -> bool) -> PsRow {
    let deadline = Instant::now() + EXPECT_LIMIT;
    loop {
        let ps = ctl(sock, &["ps"]);
        assert_eq!(ps.code, 0, "{}", ps.dump());
        if let Some(r) = parse_ps(&ps.stdout)
            .into_iter()
            .find(|r| r.name == name && want(r))
        {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "no {name} {what} within {EXPECT_LIMIT:?}:\n{}",
            ps.stdout
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until no live process is named `name`.
fn await_gone(sock: &Path, name: &str) {
    let deadline = Instant::now() + EXPECT_LIMIT;
    loop {
        let ps = ctl(sock, &["ps"]);
        let rows = parse_ps(&ps.stdout);
        if !rows.iter().any(|r| r.name == name && r.state != "zombie") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name} still there:\n{}",
            ps.stdout
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A foreground job running (or waiting for the CPU).
fn on_cpu_in_front(r: &PsRow) -> bool {
    r.fg && (r.state == "running" || r.state == "runnable")
}

/// Waits for `want` as a whole line of output (a terminal ends lines with
/// `\r\n`; the echo of a typed line starts with the prompt, so it never
/// matches), consuming the output up to it.
fn line(s: &mut Session, want: &str) -> String {
    s.expect(&format!("\n{want}\r\n"))
}

/// Runs `echo  "status $?"` at the prompt: the status it printed. Leaves
/// the next prompt unread.
fn status(s: &mut Session) -> String {
    s.send("echo  \"status $?\"\r");
    s.expect("\nstatus ");
    s.expect("\r\n").trim_end().to_string()
}

fn quit(mut s: Session) {
    s.send("exit 0\r");
    let r = s.finish();
    assert_eq!(r.code, 0, "{}", r.dump());
}

#[test]
fn ctrl_c_ends_the_foreground_job_and_the_status_says_so() {
    let (mut s, sock) = terminal_vm("tty-intr");
    s.send("spin 100000\r");
    let spin = await_row(&sock, "spin", "in the foreground", on_cpu_in_front);
    s.send("\x03");
    s.expect("^C");
    s.expect("$ ");
    await_gone(&sock, "spin");
    assert_eq!(status(&mut s), "130", "128 + SIGINT");
    // The host saw the console's signal and the death it caused.
    let ev = ctl(&sock, &["events", "256"]).stdout;
    for want in [
        format!(
            "pid {} (spin): got SIGINT from the console or host",
            spin.pid
        ),
        format!("pid {} (spin): ended, interrupt", spin.pid),
    ] {
        assert!(ev.contains(&want), "no {want:?} in:\n{ev}");
    }
    // The shell has the console again.
    let sh = await_row(&sock, "sh", "back in the foreground", |r| r.fg);
    assert_eq!(sh.pgid, sh.pid);
    quit(s);
}

#[test]
fn ctrl_c_at_the_prompt_drops_the_line() {
    let (mut s, _sock) = terminal_vm("tty-prompt");
    s.send("echo  dropped");
    s.send("\x03");
    s.expect("$ ");
    assert_eq!(status(&mut s), "130");
    let out = s.take();
    assert!(!has_line(&out, "dropped"), "the dropped line ran:\n{out}");
    quit(s);
}

#[test]
fn ctrl_z_stops_the_job_and_jobs_fg_bg_kill_control_it() {
    let (mut s, sock) = terminal_vm("tty-jobs");
    s.send("spin 100000\r");
    let spin = await_row(&sock, "spin", "in the foreground", on_cpu_in_front);
    s.send("\x1a");
    s.expect("[1]+ Stopped  spin 100000");
    s.expect("$ ");
    await_row(&sock, "spin", "stopped", |r| r.state == "stopped" && !r.fg);
    assert_eq!(status(&mut s), "148", "128 + SIGTSTP");

    s.send("jobs\r");
    s.expect("[1]+ Stopped  spin 100000");
    s.send("bg\r");
    s.expect("[1]+ spin 100000 &");
    await_row(&sock, "spin", "running in the background", |r| {
        r.state != "stopped" && !r.fg
    });
    s.send("jobs -l\r");
    s.expect(&format!("[1]+ {} Running  spin 100000 &", spin.pid));

    s.send("fg %1\r");
    await_row(&sock, "spin", "in the foreground again", on_cpu_in_front);
    s.send("\x1a");
    s.expect("[1]+ Stopped  spin 100000");
    s.expect("$ ");
    s.send("kill %1; wait %1\r");
    s.expect("[1]+ Terminated  spin 100000");
    await_gone(&sock, "spin");
    assert_eq!(status(&mut s), "143", "128 + SIGTERM");
    quit(s);
}

#[test]
fn exit_with_a_stopped_job_warns_once() {
    let (mut s, sock) = terminal_vm("tty-exit");
    s.send("sleep 30\r");
    await_row(&sock, "sleep", "in the foreground", |r| r.fg);
    s.send("\x1a");
    s.expect("[1]+ Stopped  sleep 30");
    s.expect("$ ");
    s.send("exit 3\r");
    s.expect("sh: there are stopped jobs");
    s.expect("$ ");
    s.send("exit 3\r");
    let r = s.finish();
    assert_eq!(r.code, 3, "{}", r.dump());
}

#[test]
fn the_status_and_the_operators() {
    let (mut s, _sock) = terminal_vm("tty-status");
    s.send("false; echo  \"after $?\"\r");
    line(&mut s, "after 1");
    s.send("false && echo  no || echo  \"or $?\"\r");
    line(&mut s, "or 1");
    s.send("true && echo  \"and $?\"\r");
    line(&mut s, "and 0");
    s.send("nosuchprogram\r");
    s.expect("sh: nosuchprogram: command not found");
    assert_eq!(status(&mut s), "127");
    quit(s);
}

#[test]
fn up_arrow_recalls_and_left_arrow_edits() {
    let (mut s, _sock) = terminal_vm("tty-edit");
    // Each line is typed at a prompt: keys typed while a command runs go
    // through the kernel's line discipline, as on any terminal, and an
    // arrow there is dropped.
    let mut at_prompt = |keys: &str, want: &str| {
        s.send(keys);
        line(&mut s, want);
        s.expect("$ ");
    };
    at_prompt("echo  first\r", "first");
    // Up, Enter: the same line runs again.
    at_prompt("\x1b[A\r", "first");
    // Three to the left, insert, Enter: the line as edited runs.
    at_prompt("echo  hllo\x1b[D\x1b[D\x1b[De\r", "hello");
    // Home, Delete, End: the first character goes, more goes at the end.
    at_prompt("xecho  ab\x1b[H\x1b[3~\x1b[Fc\r", "abc");
    // Ctrl-W erases a word, Ctrl-U the line, Ctrl-B and Ctrl-F move.
    at_prompt("echo  gone\x17kept\r", "kept");
    at_prompt("garbage\x15echo  clean\r", "clean");
    at_prompt("echo  ac\x02b\x06d\r", "abcd");
    s.send("history\r");
    let h = s.expect("$ ");
    for typed in [
        "echo  first",
        "echo  hello",
        "echo  abc",
        "echo  kept",
        "echo  clean",
    ] {
        assert!(h.contains(typed), "no {typed:?} in the history:\n{h}");
    }
    s.send("exit 0\r");
    assert_eq!(s.finish().code, 0);
}

#[test]
fn tab_completes_programs_and_paths() {
    let (mut s, _sock) = terminal_vm("tty-tab");
    // One program starts with "ech": Tab writes the rest and a blank.
    s.send("ech\t tabbed\r");
    line(&mut s, "tabbed");
    s.expect("$ ");
    // A path: /etc/m is /etc/motd.
    s.send("cat /etc/m\t\r");
    line(
        &mut s,
        "Welcome. This file lives in the initrd (a cpio newc archive) that vmm embeds.",
    );
    s.expect("$ ");
    // Several programs start with "s" and share nothing more, so Tab
    // lists them below the line.
    s.send("s\t");
    s.expect("\nsh  sigpipe  sleep  spin  stop");
    s.send("\x15exit 0\r");
    assert_eq!(s.finish().code, 0);
}

#[test]
fn pasted_lines_run_in_order() {
    let (mut s, _sock) = terminal_vm("tty-paste");
    let long = "x".repeat(300);
    s.send(&format!(
        "echo  one\recho  two\recho  {long}\recho  three\r"
    ));
    let out = line(&mut s, "three");
    let pos = |w: &str| {
        out.lines()
            .position(|l| l.trim_end_matches('\r').trim_start_matches("$ ") == w)
            .unwrap_or_else(|| panic!("no {w} in:\n{out}"))
    };
    assert!(pos("one") < pos("two") && pos("two") < pos(&long) && pos(&long) < pos("three"));
    quit(s);
}

#[test]
fn a_program_can_catch_ctrl_c() {
    let (mut s, sock) = terminal_vm("tty-catch");
    s.send("catch 2\r");
    s.expect("catch: waiting for Ctrl-C or SIGTERM (2 times)");
    await_row(&sock, "catch", "asleep in the foreground", |r| {
        r.fg && r.state == "sleeping(sleep)"
    });
    s.send("\x03");
    s.expect("catch: caught SIGINT (1 of 2)");
    await_row(&sock, "catch", "asleep again", |r| {
        r.state == "sleeping(sleep)"
    });
    s.send("\x03");
    s.expect("catch: caught SIGINT (2 of 2)");
    s.expect("$ ");
    assert_eq!(status(&mut s), "0", "it caught both and exited 0");
    quit(s);
}

#[test]
fn a_pipe_writer_without_a_reader_gets_sigpipe() {
    let (mut s, _sock) = terminal_vm("tty-pipe");
    s.send("sigpipe\r");
    s.expect("sigpipe: the reader took 16 bytes and leaves");
    s.expect(") ended: broken pipe");
    s.expect("$ ");
    assert_eq!(status(&mut s), "141", "128 + SIGPIPE");
    s.send("sigpipe -i\r");
    s.expect("then: broken pipe (SIGPIPE ignored)");
    quit(s);
}

#[test]
fn a_background_reader_stops_until_brought_to_the_foreground() {
    let (mut s, sock) = terminal_vm("tty-ttin");
    s.send("cat &\r");
    await_row(&sock, "cat", "stopped", |r| r.state == "stopped");
    // The shell reported the stop at a prompt; `jobs` says it again.
    s.send("jobs\r");
    line(&mut s, "[1]+ Stopped (tty input)  cat");
    s.expect("$ ");
    s.send("fg\r");
    await_row(&sock, "cat", "reading in the foreground", |r| {
        r.fg && r.state == "sleeping(io)"
    });
    s.send("meow\r");
    // The console echoes the typed line, and cat writes it back.
    s.expect("\nmeow\r\nmeow\r\n");
    s.send("\x04");
    s.expect("$ ");
    assert_eq!(status(&mut s), "0");
    quit(s);
}

#[test]
fn a_piped_script_uses_the_same_language_and_job_control() {
    let r = boot(
        &[],
        "false; echo  \"st $?\"\n\
         sleep 0.2 &\n\
         jobs\n\
         wait %1\n\
         true && echo  \"and $?\" || echo  never\n\
         echo 'quoted;  text' \"st $?\"\n\
         kill -l\n\
         exit 4\n",
    );
    assert_eq!(r.code, 4, "{}", r.dump());
    for want in [
        "st 1",
        "[1]+ Running  sleep 0.2 &",
        "[1]+ Done  sleep 0.2",
        "and 0",
        "quoted;  text st 0",
        " 2 INT",
        "15 TERM",
    ] {
        assert!(has_line(&r.stdout, want), "no {want:?}:\n{}", r.dump());
    }
    assert!(!has_line(&r.stdout, "never"), "{}", r.dump());
}
