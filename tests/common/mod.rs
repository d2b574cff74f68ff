//! Shared helpers of the integration tests: run `vmm` with input and a hard
//! time limit, get at the embedded guest, drive `vmm ctl`, read `ps` tables.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The `vmm` binary under test.
pub fn vmm_bin() -> &'static str {
    env!("CARGO_BIN_EXE_vmm")
}

/// What a finished `vmm` left behind.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    /// Both streams, for failure messages.
    pub fn dump(&self) -> String {
        format!(
            "exit {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Fails the test unless KVM is usable: these tests boot real VMs.
pub fn require_kvm() {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm");
    if let Err(e) = f {
        panic!(
            "\n\n*** /dev/kvm is not usable ({e}); the integration tests boot real VMs and \
             need it. Run `vmm doctor`-style checks: is KVM enabled and may this user open it? ***\n"
        );
    }
}

/// When set (not empty), nothing may be skipped: a test that cannot run
/// here fails instead (.ci/run sets it).
pub const NO_SKIP: &str = "VMM_NO_SKIP";
/// A file to which every skip appends a line `TEST: WHY` (scripts/test
/// sets it and prints the skips, with their count, at its end).
pub const SKIP_LOG: &str = "VMM_TEST_SKIP_LOG";

/// Records that the calling test cannot run here, because `why`, and
/// returns; the test must then return at once without asserting anything.
/// The test harness counts such a test as passed, so the skip goes to the
/// file named by `VMM_TEST_SKIP_LOG`, and to stderr. With `VMM_NO_SKIP`
/// set it fails the test instead.
pub fn skip(why: &str) {
    let test = format!(
        "{}::{}",
        env!("CARGO_CRATE_NAME"),
        std::thread::current().name().unwrap_or("?")
    );
    if std::env::var_os(NO_SKIP).is_some_and(|v| !v.is_empty()) {
        panic!("{test} cannot run here, and {NO_SKIP} is set, so it may not be skipped: {why}");
    }
    eprintln!("*** SKIPPED {test}: {why} ***");
    if let Some(log) = std::env::var_os(SKIP_LOG) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap_or_else(|e| panic!("{SKIP_LOG}={}: {e}", log.to_string_lossy()));
        f.write_all(format!("{test}: {why}\n").as_bytes())
            .expect("record the skip");
    }
}

/// Runs `vmm ARGS` with `input` on stdin (then end of file), killing it if
/// it outlives `limit` (a test never hangs).
pub fn run_vmm(args: &[&str], input: &[u8], limit: Duration) -> Run {
    let mut s = Session::spawn(args);
    // vmm may end (a host error) before it reads its input.
    if let Some(stdin) = s.stdin.as_mut() {
        let _ = stdin.write_all(input);
    }
    s.finish_within(limit)
}

/// Boots the embedded guest with `args` and console `input`, with a
/// `--timeout` so a stuck guest ends.
pub fn boot(args: &[&str], input: &str) -> Run {
    require_kvm();
    let mut all = vec!["--timeout", "20"];
    all.extend_from_slice(args);
    run_vmm(&all, input.as_bytes(), Duration::from_secs(40))
}

/// Boots the kernel monitor (`init=kmon`, the kernel's own debug console)
/// instead of the user-space init, adding to any `--cmdline` in `args`.
pub fn boot_kmon(args: &[&str], input: &str) -> Run {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    match all.iter().position(|a| a == "--cmdline") {
        Some(i) => all[i + 1] = format!("{} init=kmon", all[i + 1]),
        None => all.extend(["--cmdline".to_string(), "init=kmon".to_string()]),
    }
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    boot(&refs, input)
}

/// The cases that `usertests NAMES...` runs, in order, from the program's
/// own list (`usertests --list NAMES...`).
pub fn usertests_cases(names: &[&str]) -> Vec<String> {
    let mut args = vec!["--init", "/bin/usertests", "--list"];
    args.extend_from_slice(names);
    let r = boot(&args, "");
    assert_eq!(r.code, 0, "usertests --list: {}", r.dump());
    usertests_listed(&r.stdout)
}

/// The case names in the output of `usertests --list`.
pub fn usertests_listed(stdout: &str) -> Vec<String> {
    let cases: Vec<String> = lines_starting(stdout, "usertests: case ")
        .iter()
        .map(|l| l["usertests: case ".len()..].to_string())
        .collect();
    assert!(!cases.is_empty(), "no cases listed:\n{stdout}");
    cases
}

/// Checks a usertests run of exactly `cases` (see `usertests_cases`): one
/// `... ok` line per case except those in `skipped`, which must say
/// `... skipped`; no other case; every resource back; and the summary's
/// exact counts (the resources check counts as a pass).
pub fn check_usertests(stdout: &str, cases: &[String], skipped: &[&str]) {
    for s in skipped {
        assert!(
            cases.iter().any(|c| c == s),
            "{s} is not among the cases {cases:?}"
        );
    }
    let results: Vec<&str> = lines_starting(stdout, "usertests: ")
        .into_iter()
        .filter(|l| l.contains(" ... "))
        .collect();
    let mut names: Vec<&str> = Vec::new();
    for line in &results {
        let name = &line["usertests: ".len()..line.find(" ... ").unwrap()];
        let verdict = &line[line.find(" ... ").unwrap() + 5..];
        let want = if skipped.contains(&name) {
            "skipped"
        } else {
            "ok"
        };
        assert!(
            verdict.starts_with(want),
            "usertests {name}: {want} expected, got {line:?}:\n{stdout}"
        );
        names.push(name);
    }
    let mut want: Vec<&str> = cases.iter().map(String::as_str).collect();
    want.push("resources");
    assert_eq!(names, want, "the cases run, in order:\n{stdout}");
    let summary = format!(
        "usertests: {} passed, 0 failed{}",
        cases.len() - skipped.len() + 1,
        if skipped.is_empty() {
            String::new()
        } else {
            format!(", {} skipped", skipped.len())
        }
    );
    let last = lines_starting(stdout, "usertests: ")
        .into_iter()
        .rfind(|l| l.contains(" passed, "))
        .unwrap_or_else(|| panic!("no usertests summary:\n{stdout}"));
    assert!(
        last == summary || last.starts_with(&format!("{summary} ")),
        "summary {last:?}, expected {summary:?}:\n{stdout}"
    );
}

/// A directory holding the embedded guest (`kernel.elf`, `initrd.cpio`),
/// exported once per test binary.
pub fn guest_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = scratch_dir("guest");
        let r = run_vmm(
            &["export-guest", dir.to_str().unwrap()],
            b"",
            Duration::from_secs(20),
        );
        assert_eq!(r.code, 0, "export-guest failed: {}", r.dump());
        dir
    })
}

/// A fresh directory for a test's files.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "vmm-test-{}-{}-{}",
        std::process::id(),
        name,
        std::thread::current()
            .name()
            .unwrap_or("t")
            .replace("::", "-")
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `vmm ctl --api-sock SOCK ARGS`.
pub fn ctl(sock: &Path, args: &[&str]) -> Run {
    let mut all = vec!["ctl", "--api-sock", sock.to_str().unwrap()];
    all.extend_from_slice(args);
    run_vmm(&all, b"", Duration::from_secs(20))
}

/// Finds the lines of `text` that start with `prefix`.
pub fn lines_starting<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| l.starts_with(prefix))
        .collect()
}

/// How long `Session::expect` waits: for output that follows promptly from
/// what was just typed (a prompt, a short command's output). A wait for a
/// whole run names its own limit (`expect_within`).
pub const EXPECT_LIMIT: Duration = Duration::from_secs(20);
/// How long `Session::finish` waits, from the call, for vmm to end once its
/// input is closed.
pub const FINISH_LIMIT: Duration = Duration::from_secs(30);

/// What a running vmm has written so far.
#[derive(Default)]
struct Output {
    out: String,
    err: String,
    /// Streams not yet at end of file: 0 once vmm closed both (it ended),
    /// and then everything it wrote is in `out` and `err`.
    open: usize,
}

/// An interactive session with a running `vmm`: send console input, wait
/// for output, like expect(1).
pub struct Session {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    /// The output, and a signal at each change of it.
    output: std::sync::Arc<(std::sync::Mutex<Output>, std::sync::Condvar)>,
    readers: Vec<std::thread::JoinHandle<()>>,
    /// How much of the output earlier `expect`s consumed.
    seen: usize,
    start: Instant,
}

impl Session {
    /// Starts `vmm ARGS` (with a `--timeout` of 60 s as a backstop) to boot
    /// a VM.
    pub fn start(args: &[&str]) -> Session {
        require_kvm();
        let mut all = vec!["--timeout", "60"];
        all.extend_from_slice(args);
        Session::spawn(&all)
    }

    /// Starts `vmm ARGS` as given.
    pub fn spawn(args: &[&str]) -> Session {
        Session::spawn_program(vmm_bin(), args)
    }

    /// Starts `PROGRAM ARGS` (e.g. `script`, to give vmm a terminal).
    pub fn spawn_program(program: &str, args: &[&str]) -> Session {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start vmm");
        let output = std::sync::Arc::new((
            std::sync::Mutex::new(Output {
                open: 2,
                ..Output::default()
            }),
            std::sync::Condvar::new(),
        ));
        let collect = |mut src: Box<dyn Read + Send>, is_err: bool| {
            let output = output.clone();
            std::thread::spawn(move || {
                let (lock, changed) = &*output;
                let mut chunk = [0u8; 4096];
                while let Ok(n @ 1..) = src.read(&mut chunk) {
                    let mut o = lock.lock().unwrap();
                    let text = String::from_utf8_lossy(&chunk[..n]);
                    if is_err {
                        o.err.push_str(&text);
                    } else {
                        o.out.push_str(&text);
                    }
                    changed.notify_all();
                }
                lock.lock().unwrap().open -= 1;
                changed.notify_all();
            })
        };
        let readers = vec![
            collect(Box::new(child.stdout.take().unwrap()), false),
            collect(Box::new(child.stderr.take().unwrap()), true),
        ];
        Session {
            stdin: child.stdin.take(),
            child,
            output,
            readers,
            seen: 0,
            start: Instant::now(),
        }
    }

    /// Types `text` on the console.
    pub fn send(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("stdin already closed");
        stdin.write_all(text.as_bytes()).expect("write to vmm");
        stdin.flush().unwrap();
    }

    /// Waits up to `EXPECT_LIMIT` until `pattern` appears in output not yet
    /// consumed; returns the output up to and including it, and consumes it.
    pub fn expect(&mut self, pattern: &str) -> String {
        self.expect_within(pattern, EXPECT_LIMIT)
    }

    /// `expect` with a limit of its own, from the call. Fails the test when
    /// the limit passes, or when vmm has ended (both its streams are at end
    /// of file, so all it wrote is in) without printing `pattern`.
    pub fn expect_within(&mut self, pattern: &str, limit: Duration) -> String {
        self.wait_for(&format!("{pattern:?}"), limit, |text| {
            text.find(pattern).map(|i| i + pattern.len())
        })
    }

    /// Waits up to `EXPECT_LIMIT` until `done` holds for all the output not
    /// yet consumed (`what` names the wait in a failure); returns that
    /// output and consumes it.
    pub fn expect_where(&mut self, what: &str, done: impl Fn(&str) -> bool) -> String {
        self.wait_for(what, EXPECT_LIMIT, |text| done(text).then_some(text.len()))
    }

    /// Waits until `end` finds, in the output not yet consumed, where the
    /// awaited part ends; returns that part and consumes it. Fails as
    /// `expect_within` does.
    fn wait_for(
        &mut self,
        what: &str,
        limit: Duration,
        end: impl Fn(&str) -> Option<usize>,
    ) -> String {
        let deadline = Instant::now() + limit;
        let (lock, changed) = &*self.output;
        let mut o = lock.lock().unwrap();
        loop {
            if let Some(n) = end(&o.out[self.seen..]) {
                let text = o.out[self.seen..self.seen + n].to_string();
                self.seen += n;
                return text;
            }
            let why = if o.open == 0 {
                "vmm ended".to_string()
            } else if Instant::now() >= deadline {
                format!("not within {limit:?}")
            } else {
                o = changed
                    .wait_timeout(o, deadline.saturating_duration_since(Instant::now()))
                    .unwrap()
                    .0;
                continue;
            };
            panic!(
                "no {what} in the output ({why}):\n--- stdout ---\n{}\n--- stderr ---\n{}",
                o.out, o.err
            );
        }
    }

    /// Consumes and returns all output so far.
    pub fn take(&mut self) -> String {
        let o = self.output.0.lock().unwrap();
        let text = o.out[self.seen..].to_string();
        self.seen = o.out.len();
        text
    }

    /// Sends a shell command line and returns its output up to the next
    /// prompt (the echoed command line included).
    pub fn sh(&mut self, line: &str) -> String {
        self.send(&format!("{line}\n"));
        self.expect("$ ")
    }

    /// [`Session::finish`], keeping in `stdout` only the output that no
    /// `expect` or `take` consumed.
    pub fn finish_unread(self) -> Run {
        let seen = self.seen;
        let mut run = self.finish();
        run.stdout = run.stdout[seen..].to_string();
        run
    }

    /// Closes stdin and waits up to `FINISH_LIMIT` for vmm to end.
    pub fn finish(self) -> Run {
        self.finish_within(FINISH_LIMIT)
    }

    /// Closes stdin and waits up to `limit`, from the call, for vmm to end
    /// (to close its output and exit); kills it and fails the test if it
    /// does not.
    pub fn finish_within(mut self, limit: Duration) -> Run {
        drop(self.stdin.take());
        let open = {
            let (lock, changed) = &*self.output;
            let o = lock.lock().unwrap();
            changed
                .wait_timeout_while(o, limit, |o| o.open > 0)
                .unwrap()
                .0
                .open
        };
        if open > 0 {
            let _ = self.child.kill();
            panic!(
                "vmm did not end within {limit:?}:\n{}",
                self.output.0.lock().unwrap().out
            );
        }
        // vmm closed its output: it is exiting.
        let status = self.child.wait().unwrap();
        let elapsed = self.start.elapsed();
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        let o = self.output.0.lock().unwrap();
        Run {
            code: status.code().unwrap_or(-1),
            stdout: o.out.clone(),
            stderr: o.err.clone(),
            elapsed,
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// One row of the guest's `ps` table.
#[derive(Debug, Clone, PartialEq)]
pub struct PsRow {
    pub pid: u32,
    pub ppid: u32,
    pub pgid: u32,
    /// The STATE column without its `+` (see `fg`).
    pub state: String,
    /// Whether it is in the console's foreground group (STATE ended in `+`).
    pub fg: bool,
    pub name: String,
    pub ticks: u64,
    pub voluntary: u64,
    pub involuntary: u64,
    pub faults: u64,
    pub mem_kib: u64,
}

/// Parses the rows of the `ps` tables in `text` (header lines skipped):
/// PID PPID PGID STATE NAME TICKS SWITCHES FAULTS MEM.
pub fn parse_ps(text: &str) -> Vec<PsRow> {
    text.lines()
        .filter_map(|line| {
            let w: Vec<&str> = line.split_whitespace().collect();
            if w.len() != 9 {
                return None;
            }
            let (v, i) = w[6].split_once('/')?;
            let (state, fg) = match w[3].strip_suffix('+') {
                Some(state) => (state, true),
                None => (w[3], false),
            };
            Some(PsRow {
                pid: w[0].parse().ok()?,
                ppid: w[1].parse().ok()?,
                pgid: w[2].parse().ok()?,
                state: state.to_string(),
                fg,
                name: w[4].to_string(),
                ticks: w[5].parse().ok()?,
                voluntary: v.parse().ok()?,
                involuntary: i.parse().ok()?,
                faults: w[7].parse().ok()?,
                mem_kib: w[8].trim_end_matches('K').parse().ok()?,
            })
        })
        .collect()
}

/// The row of `pid` in the `ps` tables in `text`, if there is one.
pub fn find_row(text: &str, pid: u32) -> Option<PsRow> {
    parse_ps(text).into_iter().find(|r| r.pid == pid)
}

/// The row of `pid` in the `ps` tables in `text`; fails the test if there
/// is none.
pub fn row(text: &str, pid: u32) -> PsRow {
    find_row(text, pid).unwrap_or_else(|| panic!("no pid {pid} in:\n{text}"))
}

/// Whether `text` holds a `ps` row for each of `pids`.
pub fn has_rows(text: &str, pids: &[u32]) -> bool {
    let rows = parse_ps(text);
    pids.iter().all(|p| rows.iter().any(|r| r.pid == *p))
}

/// The job number and pid of the shell's `[N] PID` line for a job it
/// started in the background, if `text` has one.
pub fn find_job(text: &str) -> Option<(u32, u32)> {
    text.lines().find_map(|l| {
        let l = l.trim_end_matches('\r').trim_start_matches("$ ");
        let (n, pid) = l.strip_prefix('[')?.split_once("] ")?;
        Some((n.parse().ok()?, pid.parse().ok()?))
    })
}

/// The pid in the shell's `[N] PID` line for a background job.
pub fn job_pid(text: &str) -> u32 {
    find_job(text)
        .unwrap_or_else(|| panic!("no [N] PID line in:\n{text}"))
        .1
}

/// The job number in the shell's `[N] PID` line for a background job.
pub fn job_number(text: &str) -> u32 {
    find_job(text)
        .unwrap_or_else(|| panic!("no [N] PID line in:\n{text}"))
        .0
}

/// Whether `text` has the shell's report that job `n` ended or stopped
/// as `how` (`Done`, `Terminated`, `Killed`, `Stopped`, `Exit 3`): a
/// `[N]+ HOW  COMMAND` line, `+` or `-` or a blank after the number.
pub fn has_job_report(text: &str, n: u32, how: &str) -> bool {
    text.lines().any(|l| {
        let l = l.trim_end_matches('\r').trim_start_matches("$ ");
        l.strip_prefix(&format!("[{n}]"))
            .and_then(|r| r.get(1..))
            .is_some_and(|r| r.starts_with(&format!(" {how}  ")))
    })
}

/// Whether `want` is a line of the console output. The console echoes
/// typed input as it arrives, so a program's output may follow a shell
/// prompt (`$ `) on the same line.
pub fn has_line(text: &str, want: &str) -> bool {
    text.lines()
        .any(|l| l.trim_end_matches('\r').trim_start_matches("$ ") == want)
}
