//! `sh`: the shell. Runs `/bin/NAME` with arguments, one command line at a
//! time (the language is in [`programs::shell`]: quotes, `$?`, `;`, `&&`,
//! `||`, `&`), with job control:
//!
//! - each job is a process group of its own; the one in the foreground
//!   owns the console, so Ctrl-C (`SIGINT`) and Ctrl-Z (`SIGTSTP`) reach
//!   it and not the shell, which ignores both;
//! - `[1] 7` when a background job starts (job number, pid); before each
//!   prompt, what became of background jobs: `[1]  Done  sleep 1`,
//!   `[2]  Killed  spin 2000`, `[1]+ Stopped  cat`;
//! - a foreground job stopped by Ctrl-Z: `[1]+ Stopped  spin 100000`; one
//!   that died of anything but Ctrl-C: `sh: pid 7 (crashme) ended: page
//!   fault`;
//! - builtins: `jobs [-l]`, `fg [JOB]`, `bg [JOB]`, `kill [-SIGNAL] JOB|PID...`,
//!   `wait [JOB|PID...]`, `history`, `exit [N]`, `help`; a JOB is `%N`, `%+`
//!   (the current job), `%-` (the previous one); `kill` sends `SIGTERM`
//!   unless told, to a job's whole group, and continues a stopped target
//!   after any signal but a stop (so it acts on it), as bash does;
//! - `sh: NAME: command not found` (status 127), `sh: NAME: <error>` (126).
//!
//! When a person types at the console ([`abi::sys::TTY_TERMINAL`]) the
//! shell edits its line itself in raw mode ([`programs::edit`]: arrows,
//! history); otherwise (a script piped in) it reads a line at a time from
//! the kernel's line discipline.
#![no_std]
#![no_main]

use abi::signal::{
    self, SIGCONT, SIGHUP, SIGINT, SIGKILL, SIGQUIT, SIGSTOP, SIGTERM, SIGTSTP, SIGTTIN, SIGTTOU,
};
use abi::sys::{TTY_DEFAULT, TTY_TERMINAL, WCONTINUED, WNOHANG, WUNTRACED};
use programs::edit::{Done, Editor};
use programs::shell::{Chain, When, Word, parse};
use programs::{describe_status, status_code};
use ulib::io::{LineReader, STDIN, STDOUT, write_all};
use ulib::prelude::*;
use ulib::{Errno, Group, Handler, Pid, WaitFor, WaitStatus, eprintln, println};

ulib::entry!(main);

const PROMPT: &str = "$ ";

const HELP: &str = "\
run a program from /bin with arguments: NAME ARGS...  (e.g. `ps`, `echo hi`)
  a ; b     run a, then b          a && b    run b if a succeeded
  a || b    run b if a failed      a &       run a in the background
  $?        the last status        'x y' \"x $?\"  quoting
keys: Ctrl-C interrupts the foreground job, Ctrl-Z stops it, Ctrl-D ends
  input; at the prompt: arrows, Home/End, Delete, Ctrl-U/K/W/L, up/down history
builtins:
  jobs [-l]        list jobs (with -l, their pids)
  fg [JOB]         continue a job in the foreground (JOB: %N, %+, %-)
  bg [JOB]         continue a stopped job in the background
  kill [-SIG] JOB|PID...   send a signal (default TERM; kill -l lists them)
  wait [JOB|PID...]  wait for these jobs, or all of them
  history          the lines typed so far
  exit [N]         leave the shell with status N (default: the last status)
  help             this text
programs: cat catch cont crashme echo false flood forkbomb grow hello kill poweroff ps
  sigpipe sleep spin stop sysfuzz true usertests zombie";

/// What a job is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Running,
    /// Stopped by this signal.
    Stopped(u32),
}

struct Job {
    id: u32,
    /// The process (a program, or a copy of the shell running a chain).
    pid: Pid,
    /// Its group (the job's).
    pgid: Pid,
    text: String,
    state: State,
}

struct Shell {
    jobs: Vec<Job>,
    /// Job ids by recency, the current job (`%+`) last.
    recent: Vec<u32>,
    /// Status of the last command, for `$?` and `exit`.
    last: i32,
    /// The shell's own group, which owns the console between jobs.
    pgid: Pid,
    /// Edit lines in raw mode (a person types).
    terminal: bool,
    editor: Editor,
    lines: LineReader,
    /// Bytes read in raw mode after the end of the last line.
    typed: Vec<u8>,
    /// `exit` or Ctrl-D was refused once because of stopped jobs.
    warned: bool,
}

fn main(_args: &[&str]) -> i32 {
    for sig in [SIGINT, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU] {
        let _ = ulib::signal(sig, Handler::Ignore);
    }
    // Our own group (unless we lead one already, as init does), and the
    // console's foreground.
    let me = ulib::getpid();
    if ulib::getpgid(Pid::NONE) != Ok(me) {
        let _ = ulib::setpgid(Pid::NONE, Pid::NONE);
    }
    let pgid = ulib::getpgid(Pid::NONE).unwrap_or(me);
    let _ = ulib::tcsetpgrp(STDIN, pgid);
    let terminal = ulib::ttymode_get(STDIN).is_ok_and(|m| m & TTY_TERMINAL != 0);
    let mut sh = Shell {
        jobs: Vec::new(),
        recent: Vec::new(),
        last: 0,
        pgid,
        terminal,
        editor: Editor::new(PROMPT),
        lines: LineReader::new(),
        typed: Vec::new(),
        warned: false,
    };
    loop {
        sh.notify();
        let line = match sh.read_line() {
            Input::Line(line) => line,
            Input::Interrupt => {
                sh.last = 128 + SIGINT as i32;
                continue;
            }
            Input::Eof => {
                if sh.refuse_exit() {
                    sh.lines = LineReader::new();
                    continue;
                }
                // End the prompt's line, like other shells.
                println!();
                return sh.leave(sh.last);
            }
            Input::Error(e) => {
                eprintln!("sh: read: {e}");
                return sh.leave(1);
            }
        };
        if sh.terminal {
            sh.editor.remember(&line);
        }
        match parse(&line) {
            Ok(chains) => {
                for chain in chains {
                    if let Some(code) = sh.run_chain(&chain) {
                        return sh.leave(code);
                    }
                }
            }
            Err(e) => {
                eprintln!("sh: {e}");
                sh.last = 2;
            }
        }
    }
}

/// What reading a line gave.
enum Input {
    Line(String),
    Interrupt,
    Eof,
    Error(Errno),
}

impl Shell {
    /// Shows the prompt and reads a line: edited here in raw mode when a
    /// person types, else from the line discipline.
    fn read_line(&mut self) -> Input {
        if !self.terminal {
            let _ = ulib::ttymode(STDIN, TTY_DEFAULT);
            let _ = write_all(STDOUT, PROMPT.as_bytes());
            return match self.lines.next_line(STDIN) {
                Ok(Some(line)) => Input::Line(line),
                Ok(None) => Input::Eof,
                Err(e) => Input::Error(e),
            };
        }
        let _ = ulib::ttymode(STDIN, 0);
        let mut out = Vec::new();
        self.editor.start(&mut out);
        let mut buf = [0u8; 256];
        let input = 'line: loop {
            if self.typed.is_empty() {
                let _ = write_all(STDOUT, &core::mem::take(&mut out));
                match ulib::read(STDIN, &mut buf) {
                    Ok(0) => break Input::Eof,
                    Ok(n) => self.typed.extend_from_slice(&buf[..n]),
                    Err(e) => break Input::Error(e),
                }
            }
            let typed = core::mem::take(&mut self.typed);
            for (i, &b) in typed.iter().enumerate() {
                if let Some(done) = self.editor.feed(b, &mut out) {
                    self.typed = typed[i + 1..].to_vec();
                    break 'line match done {
                        Done::Line(l) => Input::Line(l),
                        Done::Eof => Input::Eof,
                        Done::Interrupt => Input::Interrupt,
                    };
                }
            }
        };
        let _ = write_all(STDOUT, &out);
        let _ = ulib::ttymode(STDIN, TTY_DEFAULT);
        input
    }

    /// Runs a chain; `Some(code)` when the shell should exit.
    fn run_chain(&mut self, chain: &Chain) -> Option<i32> {
        if chain.background {
            self.start_background(chain);
            return None;
        }
        for (when, words) in &chain.commands {
            let run = match when {
                When::Always => true,
                When::Ok => self.last == 0,
                When::Failed => self.last != 0,
            };
            if run && let Some(code) = self.run_command(words) {
                return Some(code);
            }
        }
        None
    }

    /// Runs one command in the foreground: a builtin, or a program as a
    /// job that owns the console until it ends or stops.
    fn run_command(&mut self, words: &[Word]) -> Option<i32> {
        let words: Vec<String> = words.iter().map(|w| w.expand(self.last)).collect();
        let args: Vec<&str> = words.iter().map(String::as_str).collect();
        if let Some(result) = self.builtin(&args) {
            return result;
        }
        self.warned = false;
        let pid = self.spawn(&args, Group::NewForeground)?;
        let job = Job {
            id: 0,
            pid,
            pgid: pid,
            text: args.join(" "),
            state: State::Running,
        };
        self.foreground(job);
        None
    }

    /// Starts a program in a new group: its pid, or `None` after saying
    /// why not (and setting the status).
    fn spawn(&mut self, args: &[&str], group: Group) -> Option<Pid> {
        let name = args[0];
        match ulib::spawn_in(name, args, group) {
            Ok(pid) => Some(pid),
            Err(Errno::ENOENT) => {
                eprintln!("sh: {name}: command not found");
                self.last = 127;
                None
            }
            Err(e) => {
                eprintln!("sh: {name}: {e}");
                self.last = 126;
                None
            }
        }
    }

    /// Starts a chain in the background: a program of its own, or for
    /// `a && b &` a copy of the shell that runs the chain.
    fn start_background(&mut self, chain: &Chain) {
        self.warned = false;
        let pid = if let [(_, words)] = chain.commands.as_slice() {
            let words: Vec<String> = words.iter().map(|w| w.expand(self.last)).collect();
            let args: Vec<&str> = words.iter().map(String::as_str).collect();
            if is_builtin(args[0]) {
                eprintln!("sh: {}: a builtin cannot run in the background", args[0]);
                self.last = 2;
                return;
            }
            match self.spawn(&args, Group::New) {
                Some(pid) => pid,
                None => return,
            }
        } else {
            match ulib::fork() {
                Ok(Pid::NONE) => {
                    let _ = ulib::setpgid(Pid::NONE, Pid::NONE);
                    ulib::exit(self.run_detached(chain))
                }
                Ok(pid) => {
                    let _ = ulib::setpgid(pid, pid);
                    pid
                }
                Err(e) => {
                    eprintln!("sh: fork: {e}");
                    self.last = 126;
                    return;
                }
            }
        };
        let id = self.add(Job {
            id: 0,
            pid,
            pgid: pid,
            text: chain.text.clone(),
            state: State::Running,
        });
        println!("[{id}] {pid}");
        self.last = 0;
    }

    /// In a copy of the shell that runs a background chain: each command
    /// in this process's group, waited for in turn; the last status.
    fn run_detached(&mut self, chain: &Chain) -> i32 {
        for (when, words) in &chain.commands {
            let run = match when {
                When::Always => true,
                When::Ok => self.last == 0,
                When::Failed => self.last != 0,
            };
            if !run {
                continue;
            }
            let words: Vec<String> = words.iter().map(|w| w.expand(self.last)).collect();
            let args: Vec<&str> = words.iter().map(String::as_str).collect();
            if let Some(pid) = self.spawn(&args, Group::Mine) {
                self.last = match ulib::waitpid(pid, 0) {
                    Ok((_, status)) => status_code(status),
                    Err(_) => 126,
                };
            }
        }
        self.last
    }

    /// Waits until `job` (which has the console: `spawn` gave it, or `fg`)
    /// ends or stops; then takes the console back.
    fn foreground(&mut self, mut job: Job) {
        match ulib::waitpid(job.pid, WUNTRACED) {
            Ok((_, status)) if status.is_stopped() => {
                let sig = status.stop_signal().unwrap_or(SIGTSTP);
                job.state = State::Stopped(sig);
                self.last = 128 + sig as i32;
                // The kernel echoed ^Z; the report starts a new line.
                println!();
                let id = self.add(job);
                self.report(id);
            }
            Ok((pid, status)) => {
                self.forget(job.id);
                self.last = status_code(status);
                match status.signal() {
                    // The kernel echoed ^C: end its line.
                    Some(SIGINT) => println!(),
                    Some(_) => {
                        let prog = job.text.split(' ').next().unwrap_or("?");
                        let prog = prog.rsplit('/').next().unwrap_or(prog);
                        eprintln!("sh: pid {pid} ({prog}) ended: {}", status.describe());
                    }
                    None => {}
                }
            }
            Err(e) => {
                eprintln!("sh: waitpid {}: {e}", job.pid);
                self.forget(job.id);
            }
        }
        let _ = ulib::tcsetpgrp(STDIN, self.pgid);
    }

    /// Runs a builtin: `None` if `args` is not one, `Some(Some(code))`
    /// to exit.
    fn builtin(&mut self, args: &[&str]) -> Option<Option<i32>> {
        let rest = &args[1..];
        let code = match args[0] {
            "exit" => {
                let code = match rest.first().map(|a| a.parse::<i32>()) {
                    None => self.last,
                    Some(Ok(n)) => n,
                    Some(Err(_)) => {
                        eprintln!("sh: exit: {}: not a number", rest[0]);
                        2
                    }
                };
                if self.refuse_exit() {
                    self.last = 1;
                    return Some(None);
                }
                return Some(Some(code));
            }
            "jobs" => self.list_jobs(rest),
            "fg" => self.fg(rest),
            "bg" => self.bg(rest),
            "kill" => self.kill(rest),
            "wait" => self.wait(rest),
            "history" => {
                let mut out = String::new();
                for (i, l) in self.editor.history().iter().enumerate() {
                    out.push_str(&format!("{:>5}  {l}\n", i + 1));
                }
                let _ = write_all(STDOUT, out.as_bytes());
                0
            }
            "help" => {
                println!("{HELP}");
                0
            }
            _ => return None,
        };
        self.warned = false;
        self.last = code;
        Some(None)
    }

    /// With stopped jobs, the first `exit` (or Ctrl-D) only warns, as bash
    /// does; true when it did.
    fn refuse_exit(&mut self) -> bool {
        let stopped = self
            .jobs
            .iter()
            .any(|j| matches!(j.state, State::Stopped(_)));
        if stopped && !self.warned {
            self.warned = true;
            eprintln!("sh: there are stopped jobs (exit again to leave them)");
            return true;
        }
        false
    }

    /// Leaving: stopped jobs get `SIGHUP` and `SIGCONT` (so none stays
    /// stopped with no shell to continue it). Returns `code`.
    fn leave(&mut self, code: i32) -> i32 {
        for j in &self.jobs {
            if let State::Stopped(_) = j.state {
                let _ = ulib::kill_group(j.pgid, SIGHUP);
                let _ = ulib::kill_group(j.pgid, SIGCONT);
            }
        }
        code
    }

    /// Adds a job (a new one gets the next number; one that was in the
    /// foreground keeps its own), making it the current one: its id.
    fn add(&mut self, mut job: Job) -> u32 {
        if job.id == 0 {
            job.id = self.jobs.iter().map(|j| j.id).max().unwrap_or(0) + 1;
        }
        let id = job.id;
        match self.jobs.iter_mut().find(|j| j.id == id) {
            Some(j) => *j = job,
            None => {
                self.jobs.push(job);
                self.jobs.sort_by_key(|j| j.id);
            }
        }
        self.touch(id);
        id
    }

    /// Makes job `id` the current one.
    fn touch(&mut self, id: u32) {
        self.recent.retain(|&r| r != id);
        self.recent.push(id);
    }

    fn forget(&mut self, id: u32) {
        self.jobs.retain(|j| j.id != id);
        self.recent.retain(|&r| r != id);
    }

    /// `+` for the current job, `-` for the previous one.
    fn mark(&self, id: u32) -> char {
        let n = self.recent.len();
        if n >= 1 && self.recent[n - 1] == id {
            '+'
        } else if n >= 2 && self.recent[n - 2] == id {
            '-'
        } else {
            ' '
        }
    }

    /// `[1]+ Stopped  spin 100000`.
    fn report(&self, id: u32) {
        if let Some(j) = self.jobs.iter().find(|j| j.id == id) {
            println!(
                "[{id}]{} {}  {}",
                self.mark(id),
                state_text(j.state),
                j.text
            );
        }
    }

    /// The job a JOB or PID argument names (`None`: the current job).
    fn find(&self, arg: Option<&str>) -> Result<usize, String> {
        let id = match arg {
            None | Some("%+") | Some("%%") | Some("%") => self.recent.last().copied(),
            Some("%-") => self.recent.len().checked_sub(2).map(|i| self.recent[i]),
            Some(a) => {
                let n = a.strip_prefix('%').unwrap_or(a);
                match n.parse::<u32>() {
                    Ok(n) => Some(n),
                    Err(_) => return Err(format!("{a}: not a job (%N)")),
                }
            }
        };
        let what = arg.unwrap_or("current");
        let id = id.ok_or_else(|| format!("{what}: no such job"))?;
        self.jobs
            .iter()
            .position(|j| j.id == id)
            .ok_or_else(|| format!("{what}: no such job"))
    }

    fn fg(&mut self, args: &[&str]) -> i32 {
        let at = match self.find(args.first().copied()) {
            Ok(at) => at,
            Err(e) => {
                eprintln!("sh: fg: {e}");
                return 1;
            }
        };
        let mut job = self.jobs.remove(at);
        self.recent.retain(|&r| r != job.id);
        println!("{}", job.text);
        let _ = ulib::tcsetpgrp(STDIN, job.pgid);
        if let State::Stopped(_) = job.state {
            let _ = ulib::kill_group(job.pgid, SIGCONT);
            job.state = State::Running;
        }
        // Stopped again, it is added back under its number.
        self.foreground(job);
        self.last
    }

    fn bg(&mut self, args: &[&str]) -> i32 {
        let at = match self.find(args.first().copied()) {
            Ok(at) => at,
            Err(e) => {
                eprintln!("sh: bg: {e}");
                return 1;
            }
        };
        let j = &mut self.jobs[at];
        if j.state == State::Running {
            eprintln!("sh: bg: job {} is already running", j.id);
            return 0;
        }
        j.state = State::Running;
        let (id, pgid) = (j.id, j.pgid);
        let _ = ulib::kill_group(pgid, SIGCONT);
        self.touch(id);
        if let Some(j) = self.jobs.iter().find(|j| j.id == id) {
            println!("[{id}]{} {} &", self.mark(id), j.text);
        }
        0
    }

    /// `kill [-SIGNAL] JOB|PID...`: a job's whole group, or one process.
    fn kill(&mut self, args: &[&str]) -> i32 {
        let (sig, targets) = match args.first() {
            Some(&"-l") => {
                let mut out = String::new();
                for n in 1..signal::NSIG {
                    if let Some(name) = signal::name(n) {
                        out.push_str(&format!("{n:>2} {name}\n"));
                    }
                }
                let _ = write_all(STDOUT, out.as_bytes());
                return 0;
            }
            Some(opt) if opt.starts_with('-') => match signal::parse(&opt[1..]) {
                Some(sig) => (sig, &args[1..]),
                None => {
                    eprintln!("sh: kill: {opt}: no such signal (kill -l lists them)");
                    return 1;
                }
            },
            _ => (SIGTERM, args),
        };
        if targets.is_empty() {
            eprintln!("usage: kill [-SIGNAL] JOB|PID... (JOB: %N), kill -l");
            return 1;
        }
        let mut failed = false;
        for t in targets {
            let r = if t.starts_with('%') {
                match self.find(Some(t)) {
                    Ok(at) => {
                        let j = &mut self.jobs[at];
                        let r = ulib::kill_group(j.pgid, sig);
                        // A stopped job must run to act on the signal.
                        if r.is_ok() && matches!(j.state, State::Stopped(_)) && wakes(sig) {
                            let _ = ulib::kill_group(j.pgid, SIGCONT);
                            j.state = State::Running;
                        }
                        r.map_err(|e| e.to_string())
                    }
                    Err(e) => Err(e),
                }
            } else {
                match t.parse::<Pid>() {
                    Ok(pid) => {
                        let stopped = ulib::procinfo(pid)
                            .is_ok_and(|p| p.state() == Some(ulib::ProcState::Stopped));
                        let r = ulib::kill(pid, sig).map_err(|e| e.to_string());
                        // A stopped process must run to act on the signal.
                        if r.is_ok() && stopped && wakes(sig) {
                            let _ = ulib::kill(pid, SIGCONT);
                        }
                        r
                    }
                    Err(_) => Err(format!("{t}: not a process id or job (%N)")),
                }
            };
            if let Err(e) = r {
                let e = if e.contains(t) {
                    e
                } else {
                    format!("{t}: {e}")
                };
                eprintln!("sh: kill: {e}");
                failed = true;
            }
        }
        i32::from(failed)
    }

    /// `wait [JOB|PID...]`: these jobs or processes in turn, or every job;
    /// reports how each ended (or that it stopped). The last one's status.
    fn wait(&mut self, args: &[&str]) -> i32 {
        if args.is_empty() {
            return self.wait_all();
        }
        let mut pids = Vec::new();
        for a in args {
            let pid = if a.starts_with('%') {
                match self.find(Some(a)) {
                    Ok(at) => self.jobs[at].pid,
                    Err(e) => {
                        eprintln!("sh: wait: {e}");
                        return 127;
                    }
                }
            } else {
                match a.parse::<Pid>() {
                    Ok(pid) => pid,
                    Err(_) => {
                        eprintln!("sh: wait: {a}: not a process id or job (%N)");
                        return 2;
                    }
                }
            };
            pids.push(pid);
        }
        let mut last = 0;
        for pid in pids {
            if let Some(j) = self.jobs.iter().find(|j| j.pid == pid)
                && matches!(j.state, State::Stopped(_))
            {
                eprintln!("sh: wait: job {} is stopped (fg or bg continues it)", j.id);
                last = 1;
                continue;
            }
            last = match ulib::waitpid(pid, WUNTRACED) {
                Ok((pid, status)) => {
                    self.update(pid, status);
                    status_code(status)
                }
                Err(e) => {
                    eprintln!("sh: wait: {pid}: {e}");
                    127
                }
            };
        }
        last
    }

    /// `wait`: every job that is not stopped, until it ends or stops.
    fn wait_all(&mut self) -> i32 {
        let mut last = 0;
        self.notify();
        loop {
            if self
                .jobs
                .iter()
                .all(|j| matches!(j.state, State::Stopped(_)))
            {
                return last;
            }
            match ulib::waitpid(WaitFor::Any, WUNTRACED) {
                Ok((pid, status)) => {
                    self.update(pid, status);
                    last = status_code(status);
                }
                // No child left is the normal end.
                Err(Errno::ECHILD) => return last,
                Err(e) => {
                    eprintln!("sh: wait: {e}");
                    return 127;
                }
            }
        }
    }

    /// Reports background jobs that ended or stopped, without blocking
    /// (and notes those something else continued).
    fn notify(&mut self) {
        while let Ok((pid, status)) = ulib::waitpid(WaitFor::Any, WNOHANG | WUNTRACED | WCONTINUED)
        {
            if pid.is_none() {
                break;
            }
            self.update(pid, status);
        }
    }

    /// Records what `waitpid` said of `pid` and reports it.
    fn update(&mut self, pid: Pid, status: WaitStatus) {
        let Some(at) = self.jobs.iter().position(|j| j.pid == pid) else {
            // Not a job (already forgotten): say how it ended all the same.
            println!("[{pid}] {}", describe_status(status, true));
            return;
        };
        let id = self.jobs[at].id;
        if status.is_continued() {
            self.jobs[at].state = State::Running;
            return;
        }
        if let Some(sig) = status.stop_signal() {
            self.jobs[at].state = State::Stopped(sig);
            self.touch(id);
            self.report(id);
            return;
        }
        let mark = self.mark(id);
        let j = &self.jobs[at];
        println!(
            "[{id}]{mark} {}  {}",
            capitalized(&describe_status(status, true)),
            j.text
        );
        self.forget(id);
    }

    /// `jobs [-l]`: `[1]+ Stopped  spin 100000` for each job (with `-l`,
    /// the pid after the number).
    fn list_jobs(&mut self, args: &[&str]) -> i32 {
        let long = match args {
            [] => false,
            ["-l"] => true,
            _ => {
                eprintln!("usage: jobs [-l]");
                return 2;
            }
        };
        self.notify();
        let mut out = String::new();
        for j in &self.jobs {
            let pid = if long {
                format!(" {}", j.pid)
            } else {
                String::new()
            };
            let amp = if j.state == State::Running { " &" } else { "" };
            out.push_str(&format!(
                "[{}]{}{pid} {}  {}{amp}\n",
                j.id,
                self.mark(j.id),
                state_text(j.state),
                j.text
            ));
        }
        let _ = write_all(STDOUT, out.as_bytes());
        0
    }
}

/// Whether a stopped target of `kill` is continued after `sig`, as bash
/// does: not after a stop signal (or `SIGCONT` itself; `SIGKILL` and the
/// check-only 0 need no help).
fn wakes(sig: u32) -> bool {
    !matches!(
        sig,
        0 | SIGCONT | SIGKILL | SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU
    )
}

fn is_builtin(name: &str) -> bool {
    matches!(
        name,
        "exit" | "jobs" | "fg" | "bg" | "kill" | "wait" | "history" | "help"
    )
}

/// `Running`, `Stopped`, `Stopped (tty input)`.
fn state_text(s: State) -> &'static str {
    match s {
        State::Running => "Running",
        State::Stopped(SIGTTIN) => "Stopped (tty input)",
        State::Stopped(SIGTTOU) => "Stopped (tty output)",
        State::Stopped(_) => "Stopped",
    }
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
