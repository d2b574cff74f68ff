//! `sh`: the shell. Runs `/bin/NAME` with arguments, one command line at a
//! time (the language is in [`programs::shell`]: quotes, `$?`, `;`, `&&`,
//! `||`, `&`, pipelines with `|`, redirections with `<`, `>`, `>>`, `2>`,
//! `2>&1`), with job control:
//!
//! - a program's files are the shell's, changed as its redirections and
//!   pipes say: before it starts, the shell points its own fds 0, 1, 2 at
//!   the files and pipe ends (keeping copies of its own, marked
//!   close-on-exec), `spawn`s the program, which gets them, and puts its
//!   own back;
//! - each job (a pipeline) is a process group of its own; the one in the foreground
//!   owns the console, so Ctrl-C (`SIGINT`) and Ctrl-Z (`SIGTSTP`) reach
//!   it and not the shell, which ignores both;
//! - `[1] 7` when a background job starts (job number, pid); before each
//!   prompt, what became of background jobs: `[1]  Done  sleep 1`,
//!   `[2]  Killed  spin 2000`, `[1]+ Stopped  cat`;
//! - a foreground job stopped by Ctrl-Z: `[1]+ Stopped  spin 100000`; one
//!   that died of anything but Ctrl-C: `sh: pid 7 (crashme) ended: page
//!   fault`;
//! - builtins: `cd [DIR]`, `pwd`, `jobs [-l]`, `fg [JOB]`, `bg [JOB]`,
//!   `kill [-SIGNAL] JOB|PID...`, `wait [JOB|PID...]`, `history`,
//!   `exit [N]`, `help`; in a pipeline a builtin runs in a copy of the
//!   shell (`fork`); a JOB is `%N`, `%+`
//!   (the current job), `%-` (the previous one); `kill` sends `SIGTERM`
//!   unless told, to a job's whole group, and continues a stopped target
//!   after any signal but a stop (so it acts on it), as bash does;
//! - `sh: NAME: command not found` (status 127), `sh: NAME: <error>` (126),
//!   `sh: FILE: <error>` for a redirection (1; the command does not run).
//!
//! When a person types at the console ([`abi::sys::TTY_TERMINAL`]) the
//! shell edits its line itself in raw mode ([`programs::edit`]: arrows,
//! history); otherwise (a script piped in) it reads a line at a time from
//! the kernel's line discipline.
#![no_std]
#![no_main]

use abi::fs::{F_SETFD, FD_CLOEXEC, O_APPEND, O_CREAT, O_RDONLY, O_TRUNC, O_WRONLY};
use abi::signal::{
    self, SIGCONT, SIGHUP, SIGINT, SIGKILL, SIGQUIT, SIGSTOP, SIGTERM, SIGTSTP, SIGTTIN, SIGTTOU,
};
use abi::sys::{TTY_DEFAULT, TTY_TERMINAL, WCONTINUED, WNOHANG, WUNTRACED};
use programs::edit::{Done, Editor};
use programs::shell::{Chain, Command, Pipeline, Redirect, When, parse};
use programs::{describe_status, status_code};
use ulib::io::{LineReader, STDIN, STDOUT, write_all};
use ulib::prelude::*;
use ulib::{Errno, Fd, Group, Handler, Pid, WaitFor, WaitStatus, eprintln, println};

ulib::entry!(main);

const PROMPT: &str = "$ ";

const HELP: &str = "\
run a program from /bin with arguments: NAME ARGS...  (e.g. `ps`, `echo hi`)
  a ; b     run a, then b          a && b    run b if a succeeded
  a || b    run b if a failed      a &       run a in the background
  a | b     a's output is b's input
  < f  > f  >> f  2> f  2>&1       redirect input, output (>> appends), errors
  $?        the last status        'x y' \"x $?\"  quoting
keys: Ctrl-C interrupts the foreground job, Ctrl-Z stops it, Ctrl-D ends
  input; at the prompt: arrows, Home/End, Delete, Ctrl-U/K/W/L, up/down history
builtins:
  cd [DIR]         change the working directory (default /)
  pwd              print it
  jobs [-l]        list jobs (with -l, their pids)
  fg [JOB]         continue a job in the foreground (JOB: %N, %+, %-)
  bg [JOB]         continue a stopped job in the background
  kill [-SIG] JOB|PID...   send a signal (default TERM; kill -l lists them)
  wait [JOB|PID...]  wait for these jobs, or all of them
  history          the lines typed so far
  exit [N]         leave the shell with status N (default: the last status)
  help             this text";

/// What a job is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Running,
    /// Stopped by this signal.
    Stopped(u32),
}

struct Job {
    id: u32,
    /// Its processes, in pipeline order (a program each, or a copy of the
    /// shell running a builtin or a chain), and which have not ended.
    pids: Vec<Pid>,
    alive: Vec<Pid>,
    /// How the last process ended (the job's status), once it has.
    status: Option<WaitStatus>,
    /// Its group (the job's).
    pgid: Pid,
    text: String,
    state: State,
}

impl Job {
    fn new(pids: Vec<Pid>, pgid: Pid, text: String) -> Job {
        Job {
            id: 0,
            alive: pids.clone(),
            pids,
            status: None,
            pgid,
            text,
            state: State::Running,
        }
    }

    /// The pid shown for it: its first process's.
    fn pid(&self) -> Pid {
        self.pids[0]
    }

    /// Notes that `pid`, one of its processes, ended with `status`;
    /// whether the whole job has.
    fn ended(&mut self, pid: Pid, status: WaitStatus) -> bool {
        self.alive.retain(|&p| p != pid);
        if self.pids.last() == Some(&pid) {
            self.status = Some(status);
        }
        self.alive.is_empty()
    }
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
    /// Jobs `update` saw end during a `wait`, with their statuses.
    done: Vec<(u32, WaitStatus)>,
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
    let mut editor = Editor::new(PROMPT);
    editor.set_completer(Box::new(complete));
    let mut sh = Shell {
        jobs: Vec::new(),
        recent: Vec::new(),
        last: 0,
        pgid,
        terminal,
        editor,
        lines: LineReader::new(),
        typed: Vec::new(),
        warned: false,
        done: Vec::new(),
    };
    loop {
        sh.notify();
        sh.done.clear();
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
        for (when, pipeline) in &chain.commands {
            if self.runs(*when)
                && let Some(code) = self.run_pipeline(pipeline)
            {
                return Some(code);
            }
        }
        None
    }

    /// Whether a pipeline joined by `when` runs after the last status.
    fn runs(&self, when: When) -> bool {
        match when {
            When::Always => true,
            When::Ok => self.last == 0,
            When::Failed => self.last != 0,
        }
    }

    /// Runs a pipeline in the foreground: a builtin alone runs in the
    /// shell (its redirections around it); anything else is a job that
    /// owns the console until it ends or stops. `Some(code)` to exit.
    fn run_pipeline(&mut self, pipeline: &Pipeline) -> Option<i32> {
        if let [cmd] = pipeline.as_slice() {
            let args = self.expand(cmd);
            if is_builtin(&args[0]) {
                let saved = match self.redirect(&cmd.redirects) {
                    Ok(saved) => saved,
                    Err(()) => {
                        self.last = 1;
                        return None;
                    }
                };
                let argv: Vec<&str> = args.iter().map(String::as_str).collect();
                let r = self.builtin(&argv);
                restore(saved);
                return r.flatten();
            }
        }
        self.warned = false;
        let text = pipeline_text(pipeline, self.last);
        if let Some(job) = self.start(pipeline, Start::Foreground, text) {
            self.foreground(job);
        }
        None
    }

    /// A command's words, with `$?` expanded.
    fn expand(&self, cmd: &Command) -> Vec<String> {
        cmd.words.iter().map(|w| w.expand(self.last)).collect()
    }

    /// Points the shell's own fds where `redirects` say (a file opened,
    /// or a copy of another fd), saving what each had first (a copy marked
    /// close-on-exec, so no program gets it); the saved fds for
    /// [`restore`]. On an error it says which file and why, puts back what
    /// it changed and returns `Err`.
    fn redirect(&mut self, redirects: &[(u32, Redirect)]) -> Result<Vec<(Fd, Option<Fd>)>, ()> {
        let mut saved = Vec::new();
        for (fd, r) in redirects {
            let fd = *fd as Fd;
            if !saved.iter().any(|&(f, _)| f == fd) {
                saved.push((fd, save(fd)));
            }
            let (target, opened) = match r {
                Redirect::Dup(m) => (Ok(*m as Fd), false),
                Redirect::Read(w) | Redirect::Write(w) | Redirect::Append(w) => {
                    let path = w.expand(self.last);
                    let flags = match r {
                        Redirect::Read(_) => O_RDONLY,
                        Redirect::Write(_) => O_WRONLY | O_CREAT | O_TRUNC,
                        _ => O_WRONLY | O_CREAT | O_APPEND,
                    };
                    let fd = ulib::open(&path, flags).map_err(|e| eprintln!("sh: {path}: {e}"));
                    (fd, true)
                }
            };
            let done = target.and_then(|t| {
                let r = ulib::dup2(t, fd).map_err(|e| eprintln!("sh: {t}: {e}"));
                if opened && t != fd {
                    let _ = ulib::close(t);
                }
                r.map(drop)
            });
            if done.is_err() {
                restore(saved);
                return Err(());
            }
        }
        Ok(saved)
    }

    /// Starts a pipeline as a job: each program `spawn`ed into the job's
    /// group (a new one, made the console's foreground for
    /// [`Start::Foreground`]; the shell's own for [`Start::Here`]), its
    /// fds 0 and 1 the pipe ends between them, then its redirections; a
    /// builtin runs in a `fork`ed copy of the shell. `None` when nothing
    /// started (the reason said, the status set).
    fn start(&mut self, pipeline: &Pipeline, how: Start, text: String) -> Option<Job> {
        let (in0, out1) = (save(0), save(1));
        let mut pids: Vec<Pid> = Vec::new();
        let mut pgid = Pid::NONE;
        let mut prev: Option<Fd> = None;
        let n = pipeline.len();
        for (i, cmd) in pipeline.iter().enumerate() {
            let pipe = if i + 1 < n {
                match ulib::pipe() {
                    Ok((r, w)) => {
                        let _ = ulib::fcntl(r, F_SETFD, FD_CLOEXEC);
                        let _ = ulib::fcntl(w, F_SETFD, FD_CLOEXEC);
                        Some((r, w))
                    }
                    Err(e) => {
                        eprintln!("sh: pipe: {e}");
                        self.last = 126;
                        break;
                    }
                }
            } else {
                None
            };
            // Standard input: the last pipe's read end (or the shell's);
            // standard output: this pipe's write end (or the shell's).
            let _ = ulib::dup2(prev.or(in0).unwrap_or(0), 0);
            let _ = ulib::dup2(pipe.map(|p| p.1).or(out1).unwrap_or(1), 1);
            let pid = match self.redirect(&cmd.redirects) {
                Ok(saved) => {
                    let group = match (how, pgid) {
                        (Start::Here, _) => Group::Mine,
                        (_, g) if !g.is_none() => Group::Join(g),
                        (Start::Foreground, _) => Group::NewForeground,
                        (Start::Background, _) => Group::New,
                    };
                    let args = self.expand(cmd);
                    let pid = self.launch(&args, group);
                    restore(saved);
                    pid
                }
                Err(()) => {
                    self.last = 1;
                    None
                }
            };
            if let Some(p) = prev.take() {
                let _ = ulib::close(p);
            }
            if let Some((r, w)) = pipe {
                let _ = ulib::close(w);
                prev = Some(r);
            }
            if let Some(pid) = pid {
                if pgid.is_none() {
                    pgid = if how == Start::Here {
                        ulib::getpgid(Pid::NONE).unwrap_or(pid)
                    } else {
                        pid
                    };
                }
                pids.push(pid);
            }
        }
        if let Some(p) = prev {
            let _ = ulib::close(p);
        }
        restore(vec![(0, in0), (1, out1)]);
        if pids.is_empty() {
            return None;
        }
        Some(Job::new(pids, pgid, text))
    }

    /// Starts one program (or, for a builtin, a copy of the shell that runs
    /// it and exits) in `group`, with the shell's fds as they are now: its
    /// pid, or `None` after saying why not.
    fn launch(&mut self, args: &[String], group: Group) -> Option<Pid> {
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        if !is_builtin(argv[0]) {
            return self.spawn(&argv, group);
        }
        match ulib::fork() {
            Ok(Pid::NONE) => {
                // The copy: in the job's group, signals back to their
                // defaults, as a spawned program has them.
                let _ = match group {
                    Group::Join(g) => ulib::setpgid(Pid::NONE, g),
                    Group::New | Group::NewForeground => ulib::setpgid(Pid::NONE, Pid::NONE),
                    Group::Mine => Ok(()),
                };
                if group == Group::NewForeground {
                    let _ = ulib::tcsetpgrp(STDIN, ulib::getpid());
                }
                for sig in [SIGINT, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU] {
                    let _ = ulib::signal(sig, Handler::Default);
                }
                self.jobs.clear();
                let code = match self.builtin(&argv) {
                    Some(Some(code)) => code,
                    _ => self.last,
                };
                ulib::exit(code)
            }
            Ok(pid) => {
                let _ = match group {
                    Group::Join(g) => ulib::setpgid(pid, g),
                    Group::New | Group::NewForeground => ulib::setpgid(pid, pid),
                    Group::Mine => Ok(()),
                };
                if group == Group::NewForeground {
                    let _ = ulib::tcsetpgrp(STDIN, pid);
                }
                Some(pid)
            }
            Err(e) => {
                eprintln!("sh: fork: {e}");
                self.last = 126;
                None
            }
        }
    }

    /// Starts a program: its pid, or `None` after saying why not (and
    /// setting the status).
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

    /// Starts a chain in the background: a pipeline as a job of its own,
    /// or for `a && b &` a copy of the shell that runs the chain.
    fn start_background(&mut self, chain: &Chain) {
        self.warned = false;
        let job = if let [(_, pipeline)] = chain.commands.as_slice() {
            self.start(pipeline, Start::Background, chain.text.clone())
        } else {
            match ulib::fork() {
                Ok(Pid::NONE) => {
                    let _ = ulib::setpgid(Pid::NONE, Pid::NONE);
                    ulib::exit(self.run_detached(chain))
                }
                Ok(pid) => {
                    let _ = ulib::setpgid(pid, pid);
                    Some(Job::new(vec![pid], pid, chain.text.clone()))
                }
                Err(e) => {
                    eprintln!("sh: fork: {e}");
                    self.last = 126;
                    None
                }
            }
        };
        let Some(job) = job else {
            return;
        };
        let pid = job.pid();
        let id = self.add(job);
        println!("[{id}] {pid}");
        self.last = 0;
    }

    /// In a copy of the shell that runs a background chain: each pipeline
    /// in this process's group, waited for in turn; the last status.
    fn run_detached(&mut self, chain: &Chain) -> i32 {
        self.jobs.clear();
        for (when, pipeline) in &chain.commands {
            if !self.runs(*when) {
                continue;
            }
            if let Some(mut job) = self.start(pipeline, Start::Here, String::new()) {
                while !job.alive.is_empty() {
                    match ulib::waitpid(WaitFor::Any, 0) {
                        Ok((pid, status)) => {
                            job.ended(pid, status);
                        }
                        Err(_) => break,
                    }
                }
                self.last = job.status.map_or(126, status_code);
            }
        }
        self.last
    }

    /// Waits until `job` (which has the console: `spawn` gave it, or `fg`)
    /// ends or stops; then takes the console back.
    fn foreground(&mut self, mut job: Job) {
        loop {
            match ulib::waitpid(WaitFor::Group(job.pgid), WUNTRACED) {
                Ok((_, status)) if status.is_stopped() => {
                    let sig = status.stop_signal().unwrap_or(SIGTSTP);
                    job.state = State::Stopped(sig);
                    self.last = 128 + sig as i32;
                    // The kernel echoed ^Z; the report starts a new line.
                    println!();
                    let id = self.add(job);
                    self.report(id);
                    break;
                }
                Ok((pid, status)) => {
                    if !job.ended(pid, status) {
                        continue;
                    }
                    self.forget(job.id);
                    let status = job.status.unwrap_or(status);
                    self.last = status_code(status);
                    match status.signal() {
                        // The kernel echoed ^C: end its line.
                        Some(SIGINT) => println!(),
                        Some(_) => {
                            let last = job.pids.last().copied().unwrap_or(pid);
                            let prog = job.text.rsplit('|').next().unwrap_or("?").trim();
                            let prog = prog.split(' ').next().unwrap_or("?");
                            let prog = prog.rsplit('/').next().unwrap_or(prog);
                            eprintln!("sh: pid {last} ({prog}) ended: {}", status.describe());
                        }
                        None => {}
                    }
                    break;
                }
                Err(e) => {
                    eprintln!("sh: waitpid {}: {e}", job.pid());
                    self.forget(job.id);
                    break;
                }
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
            "cd" => {
                let dir = rest.first().copied().unwrap_or("/");
                match ulib::chdir(dir) {
                    Ok(()) => 0,
                    Err(e) => {
                        eprintln!("sh: cd: {dir}: {e}");
                        1
                    }
                }
            }
            "pwd" => match ulib::getcwd() {
                Ok(p) => {
                    println!("{p}");
                    0
                }
                Err(e) => {
                    eprintln!("sh: pwd: {e}");
                    1
                }
            },
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
                // The programs as /bin has them now.
                let mut out = String::from(HELP);
                out.push_str("\nprograms in /bin:");
                let mut col = 80;
                let mut names: Vec<String> = ulib::read_dir(abi::sys::BIN_DIR)
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|e| !e.name.starts_with('.'))
                    .map(|e| e.name)
                    .collect();
                names.sort();
                for n in names {
                    if col + n.len() + 1 > 78 {
                        out.push_str("\n ");
                        col = 1;
                    }
                    out.push(' ');
                    out.push_str(&n);
                    col += n.len() + 1;
                }
                println!("{out}");
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
                        // A stopped job must run to act on the signal
                        // (SIGKILL needs no help, but ends it all the same).
                        let stopped = matches!(j.state, State::Stopped(_));
                        if r.is_ok() && stopped && wakes(sig) {
                            let _ = ulib::kill_group(j.pgid, SIGCONT);
                        }
                        if r.is_ok() && stopped && (wakes(sig) || sig == SIGKILL) {
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

    /// `wait [JOB|PID...]`: these jobs (every process of each) or
    /// processes in turn, or every job; reports how each ended (or that it
    /// stopped). The last one's status.
    fn wait(&mut self, args: &[&str]) -> i32 {
        if args.is_empty() {
            return self.wait_all();
        }
        let mut targets = Vec::new();
        for a in args {
            let t = if a.starts_with('%') {
                match self.find(Some(a)) {
                    Ok(at) => WaitFor::Group(self.jobs[at].pgid),
                    Err(e) => {
                        eprintln!("sh: wait: {e}");
                        return 127;
                    }
                }
            } else {
                match a.parse::<Pid>() {
                    Ok(pid) => WaitFor::Child(pid),
                    Err(_) => {
                        eprintln!("sh: wait: {a}: not a process id or job (%N)");
                        return 2;
                    }
                }
            };
            targets.push(t);
        }
        let mut last = 0;
        for t in targets {
            let job = self.jobs.iter().find(|j| match t {
                WaitFor::Group(g) => j.pgid == g,
                WaitFor::Child(p) => j.pids.contains(&p),
                WaitFor::Any => false,
            });
            if let Some(j) = job
                && matches!(j.state, State::Stopped(_))
            {
                eprintln!("sh: wait: job {} is stopped (fg or bg continues it)", j.id);
                last = 1;
                continue;
            }
            let id = job.map(|j| j.id);
            // Until the job (or the process) is gone or stopped.
            loop {
                match ulib::waitpid(t, WUNTRACED) {
                    Ok((pid, status)) => {
                        self.update(pid, status);
                        last = status_code(status);
                        let gone = id.is_none_or(|id| !self.jobs.iter().any(|j| j.id == id));
                        let stopped = status.is_stopped();
                        if gone || stopped || matches!(t, WaitFor::Child(_)) {
                            break;
                        }
                    }
                    Err(e) => {
                        eprintln!("sh: wait: {t}: {e}");
                        last = 127;
                        break;
                    }
                }
            }
            if let Some(j) = id.and_then(|id| self.done.iter().find(|(i, _)| *i == id)) {
                last = status_code(j.1);
            }
        }
        self.done.clear();
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

    /// Records what `waitpid` said of `pid` and reports what it means for
    /// its job: stopped, or ended once its last process has.
    fn update(&mut self, pid: Pid, status: WaitStatus) {
        let Some(at) = self.jobs.iter().position(|j| j.pids.contains(&pid)) else {
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
            // A pipeline's other processes stop too: one report.
            if self.jobs[at].state == State::Running {
                self.jobs[at].state = State::Stopped(sig);
                self.touch(id);
                self.report(id);
            }
            return;
        }
        if !self.jobs[at].ended(pid, status) {
            return;
        }
        let mark = self.mark(id);
        let j = &self.jobs[at];
        let status = j.status.unwrap_or(status);
        println!(
            "[{id}]{mark} {}  {}",
            capitalized(&describe_status(status, true)),
            j.text
        );
        self.done.push((id, status));
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
                format!(" {}", j.pid())
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
        "exit" | "cd" | "pwd" | "jobs" | "fg" | "bg" | "kill" | "wait" | "history" | "help"
    )
}

/// Tab's offers for `word`: for a command (the line's first word, with no
/// `/`), the builtins and the programs in `/bin`; else the names in the
/// directory the word is in (a directory's with `/` after it).
fn complete(word: &str, first: bool) -> Vec<String> {
    const BUILTINS: [&str; 10] = [
        "bg", "cd", "exit", "fg", "help", "history", "jobs", "kill", "pwd", "wait",
    ];
    let mut out: Vec<String> = Vec::new();
    if first && !word.contains('/') {
        for b in BUILTINS.iter().filter(|b| b.starts_with(word)) {
            out.push(format!("{b} "));
        }
        for e in ulib::read_dir(abi::sys::BIN_DIR).unwrap_or_default() {
            if e.name.starts_with(word)
                && !e.name.starts_with('.')
                && !out.iter().any(|o| o.trim_end() == e.name)
            {
                out.push(format!("{} ", e.name));
            }
        }
    } else {
        let (dir, prefix) = match word.rfind('/') {
            Some(i) => (&word[..=i], &word[i + 1..]),
            None => ("", word),
        };
        let list = if dir.is_empty() { "." } else { dir };
        for e in ulib::read_dir(list).unwrap_or_default() {
            let dot = e.name.starts_with('.');
            if e.name.starts_with(prefix)
                && (!dot || prefix.starts_with('.'))
                && e.name != "."
                && e.name != ".."
            {
                let end = if e.kind == abi::fs::FileKind::Directory {
                    "/"
                } else {
                    " "
                };
                out.push(format!("{dir}{}{end}", e.name));
            }
        }
    }
    out.sort();
    out
}

/// How [`Shell::start`] places a job's processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    /// A new group, the console's foreground.
    Foreground,
    /// A new group, in the background.
    Background,
    /// The shell's own group (a copy of the shell running a chain).
    Here,
}

/// A copy of fd `fd`, marked close-on-exec (`None` if `fd` is not open).
fn save(fd: Fd) -> Option<Fd> {
    let copy = ulib::dup(fd).ok()?;
    let _ = ulib::fcntl(copy, F_SETFD, FD_CLOEXEC);
    Some(copy)
}

/// Puts back fds [`Shell::redirect`] or [`save`] saved: each from its copy
/// (which is closed), or closed if it was not open.
fn restore(saved: Vec<(Fd, Option<Fd>)>) {
    for (fd, copy) in saved.into_iter().rev() {
        match copy {
            Some(c) => {
                let _ = ulib::dup2(c, fd);
                let _ = ulib::close(c);
            }
            None => {
                let _ = ulib::close(fd);
            }
        }
    }
}

/// A pipeline as `jobs` shows it: its commands' words, `|` between.
fn pipeline_text(p: &Pipeline, status: i32) -> String {
    let cmds: Vec<String> = p
        .iter()
        .map(|c| {
            let w: Vec<String> = c.words.iter().map(|w| w.expand(status)).collect();
            w.join(" ")
        })
        .collect();
    cmds.join(" | ")
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
