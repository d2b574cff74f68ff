//! Runs every command of docs/walkthrough.md and checks its output against
//! what the document shows, so the tour cannot drift from the product.
//!
//! The document marks each checked transcript with a comment before its
//! ```console block:
//! - `<!-- check: vmm ARGS -->` boots a VM (`vmm ARGS`, stdin a pipe) and
//!   plays the block against it; `<!-- check: continue -->` goes on with the
//!   last VM; `<!-- check: host -->` runs host commands only.
//! - In a block, `$ LINE` is typed at the guest shell; `host$ LINE` runs
//!   on the host with bash (`vmm` is the binary under test, the document's
//!   socket path [`DOC_SOCK`] stands for the running VM's control socket,
//!   `$DIR` is a scratch directory; stdout and stderr together), once the
//!   guest's shell waits for input again; other lines are the output of
//!   the command above.
//! - Every `vmm ARGS` a check boots is also written out for the reader,
//!   outside the comments, so the text cannot lose a step the test takes.
//!
//! A command's shown lines must appear, in order, among the lines it
//! printed, after both are normalised: every number (decimal or hex)
//! matches any number, and runs of blanks count as one. Lines may be left
//! out of the document (`...` marks the gap for the reader), not changed.
//! With WALKTHROUGH_PRINT=1 the test prints what each command printed.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use abi::proc::SleepReason;
use common::*;

/// One command of a transcript and the lines shown under it.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Guest(String, Vec<String>),
    Host(String, Vec<String>),
}

/// A checked block: how to run it, and its steps.
#[derive(Debug, Clone, PartialEq)]
struct Block {
    /// `vmm ARGS`, `continue` or `host`.
    how: String,
    steps: Vec<Step>,
    /// Line of the block in the document (1-based), for messages.
    line: usize,
}

fn parse(doc: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut pending: Option<(String, usize)> = None;
    let mut current: Option<Block> = None;
    for (i, line) in doc.lines().enumerate() {
        if let Some(b) = current.as_mut() {
            if line.trim_start().starts_with("```") {
                blocks.push(current.take().unwrap());
                continue;
            }
            if let Some(cmd) = line.strip_prefix("host$ ") {
                b.steps.push(Step::Host(cmd.to_string(), Vec::new()));
            } else if let Some(cmd) = line.strip_prefix("$ ") {
                b.steps.push(Step::Guest(cmd.to_string(), Vec::new()));
            } else if line.trim() != "..." {
                match b.steps.last_mut() {
                    Some(Step::Guest(_, out) | Step::Host(_, out)) => out.push(line.to_string()),
                    None => panic!("walkthrough line {}: output before any command", i + 1),
                }
            }
            continue;
        }
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("<!-- check:") {
            let how = rest.trim_end_matches("-->").trim().to_string();
            pending = Some((how, i + 1));
        } else if t.starts_with("```")
            && let Some((how, _)) = pending.take()
        {
            current = Some(Block {
                how,
                steps: Vec::new(),
                line: i + 1,
            });
        }
    }
    assert!(current.is_none(), "walkthrough: an unclosed ``` block");
    blocks
}

/// The line as compared: numbers become `#`, blanks collapse, a leading
/// shell prompt left by echoed input goes.
fn normalise(line: &str) -> String {
    let line = line.trim_end_matches('\r');
    let mut line = line.trim();
    while let Some(rest) = line.strip_prefix("$ ") {
        line = rest.trim_start();
    }
    if line == "$" {
        return String::new();
    }
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    let mut last_blank = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            // A number: decimal, or 0x and hex digits.
            if c == '0' && chars.peek() == Some(&'x') {
                chars.next();
            }
            while chars
                .peek()
                .is_some_and(|d| d.is_ascii_hexdigit() || *d == '.')
            {
                chars.next();
            }
            out.push('#');
            last_blank = false;
        } else if c.is_whitespace() {
            if !last_blank {
                out.push(' ');
            }
            last_blank = true;
        } else {
            out.push(c);
            last_blank = false;
        }
    }
    out
}

/// Whether `shown` lines appear in order among `printed` (normalised).
fn contains_in_order(printed: &str, shown: &[String]) -> Result<(), String> {
    let got: Vec<String> = printed.lines().map(normalise).collect();
    let mut at = 0;
    for want in shown.iter().map(|l| normalise(l)).filter(|l| !l.is_empty()) {
        match got[at..].iter().position(|g| *g == want) {
            Some(p) => at += p + 1,
            None => return Err(want),
        }
    }
    Ok(())
}

/// A directory whose `vmm` is the binary under test, for host commands.
fn bin_dir(scratch: &Path) -> PathBuf {
    let dir = scratch.join("bin");
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join("vmm");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(vmm_bin(), &link).unwrap();
    dir
}

/// The control socket the document's commands name; the test puts the
/// socket in its scratch directory instead.
const DOC_SOCK: &str = "/tmp/vm.sock";

/// The document without its HTML comments: what a reader sees.
fn visible(doc: &str) -> String {
    let mut out = String::new();
    let mut rest = doc;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        rest = rest[start..]
            .find("-->")
            .map_or("", |end| &rest[start + end + 3..]);
    }
    out.push_str(rest);
    out
}

/// Waits until the guest's shell sleeps reading the console (the state a
/// host command that follows a prompt expects: the prompt is written just
/// before the shell goes to sleep).
fn wait_for_shell_input(sock: &Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let out = Command::new(vmm_bin())
            .args(["ctl", "--api-sock", sock.to_str().unwrap(), "--json", "ps"])
            .output()
            .expect("run vmm ctl");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let waiting = v["procs"].as_array().is_some_and(|procs| {
            procs
                .iter()
                .any(|p| p["name"] == "sh" && p["reason_raw"] == SleepReason::Io as u32)
        });
        if waiting {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the shell never went back to reading the console: {v}"
        );
        std::thread::yield_now();
    }
}

fn host(cmd: &str, scratch: &Path, sock: &Path) -> String {
    let cmd = cmd.replace(DOC_SOCK, sock.to_str().unwrap());
    let path = format!(
        "{}:{}",
        bin_dir(scratch).display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["-c", &format!("{cmd} 2>&1")])
        .env("PATH", path)
        .env("DIR", scratch)
        .current_dir(scratch)
        .output()
        .expect("run bash");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_walkthrough_runs_as_written() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/walkthrough.md");
    let doc = std::fs::read_to_string(&path).expect("docs/walkthrough.md");
    let blocks = parse(&doc);
    assert!(blocks.len() >= 5, "the walkthrough checks its transcripts");
    let shown = visible(&doc);
    for b in blocks.iter().filter(|b| b.how.starts_with("vmm")) {
        assert!(
            shown.lines().any(|l| l.trim() == b.how),
            "line {}: the check boots `{}`, which the text never tells the reader to run",
            b.line,
            b.how
        );
    }
    let print = std::env::var_os("WALKTHROUGH_PRINT").is_some();
    let scratch = scratch_dir("walkthrough");
    let sock = scratch.join("vm.sock");
    let mut vm: Option<Session> = None;
    let mut failures = Vec::new();
    for block in &blocks {
        match block.how.as_str() {
            "continue" => assert!(vm.is_some(), "line {}: no VM to continue", block.line),
            "host" => {}
            how => {
                let args = how
                    .strip_prefix("vmm")
                    .unwrap_or_else(|| panic!("line {}: unknown check '{how}'", block.line));
                if let Some(old) = vm.take() {
                    drop(old.finish());
                }
                let _ = std::fs::remove_file(&sock);
                let args: Vec<String> = args
                    .split_whitespace()
                    .map(|a| {
                        a.replace(DOC_SOCK, sock.to_str().unwrap())
                            .replace("$DIR", scratch.to_str().unwrap())
                    })
                    .collect();
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let mut s = Session::start(&args);
                s.expect("$ ");
                vm = Some(s);
            }
        }
        for step in &block.steps {
            let (cmd, shown, printed) = match step {
                Step::Guest(cmd, shown) => {
                    let s = vm
                        .as_mut()
                        .unwrap_or_else(|| panic!("line {}: `$ {cmd}` with no VM", block.line));
                    let printed = if cmd.starts_with("exit") || cmd == "poweroff" {
                        s.send(&format!("{cmd}\n"));
                        vm.take().unwrap().finish_unread().stdout
                    } else {
                        s.sh(cmd)
                    };
                    (cmd, shown, printed)
                }
                Step::Host(cmd, shown) => {
                    if vm.is_some() {
                        wait_for_shell_input(&sock);
                    }
                    (cmd, shown, host(cmd, &scratch, &sock))
                }
            };
            if print {
                eprintln!("--- {cmd}\n{printed}");
            }
            if let Err(missing) = contains_in_order(&printed, shown) {
                failures.push(format!(
                    "block at line {}: `{cmd}`: no line like {missing:?} in:\n{printed}",
                    block.line
                ));
            }
        }
    }
    if let Some(s) = vm.take() {
        drop(s.finish());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn numbers_and_blanks_do_not_count() {
    assert_eq!(
        normalise("    3     2 running  spin   1386  1/1  0x4005e5"),
        normalise("  104     2 running spin 7 0/12 0xfff")
    );
    assert_ne!(normalise("3 running spin"), normalise("3 stopped spin"));
    assert_eq!(normalise("$ $ hello"), "hello");
    assert!(contains_in_order("a 1\nb\nc 22\n", &["a 9".into(), "c 0".into()]).is_ok());
    assert_eq!(
        contains_in_order("c\na\n", &["a".into(), "c".into()]),
        Err("c".into())
    );
}

#[test]
fn the_transcript_format_parses() {
    let doc = "x\n<!-- check: vmm --init /bin/sh -->\n```console\n$ echo hi\nhi\n...\nhost$ vmm ctl ps\n  PID\n```\n";
    let b = parse(doc);
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].how, "vmm --init /bin/sh");
    assert_eq!(
        b[0].steps,
        vec![
            Step::Guest("echo hi".into(), vec!["hi".into()]),
            Step::Host("vmm ctl ps".into(), vec!["  PID".into()]),
        ]
    );
}
