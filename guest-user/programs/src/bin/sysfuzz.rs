//! `sysfuzz SEED COUNT [LINGER_MS]`: throws random system calls at the
//! kernel. COUNT is a number of calls, or a time with `s` (`30s`).
//!
//! A supervisor (this process) runs workers one after another, each a
//! forked child that makes up to [`BATCH`] calls from a xorshift stream
//! seeded by SEED and its number: random call numbers (invalid ones too)
//! with random and edge-case arguments: pointers into its own scratch
//! memory, to its edges, null, the kernel's half, non-canonical, read-only
//! pages, the stack guard; lengths of 0, a page, `u64::MAX`; bad fds; pids
//! of its own children and impossible ones. Workers fork (children fuzz
//! on from a stream of their own), spawn, exec, kill, stop and resume
//! each other and themselves. They never call `poweroff`, never target a
//! process outside their own tree, never touch the console (they close it
//! first) and sleep at most 20 ms (but for rare huge sleeps).
//!
//! Workers use files too: worker N works in `/tmp/fuzz-N` (made for it,
//! its working directory), from a pool of real and bogus paths (relative,
//! absolute, through `.` and `..`, too long) and random pointers. Any call
//! that can change what a path names (open for writing or creating,
//! unlink, mkdir, rmdir, rename, chdir) gets only paths inside its
//! directory, or pointers the kernel cannot read: nothing outside `/tmp`
//! changes. Directories are made one level down only, a worker never
//! leaves or removes its directory, and file offsets stay small (see
//! [`PLACES`] and `lseek` in [`Worker::one`] for why).
//!
//! The supervisor is the watchdog: when every process of a worker's tree
//! is blocked (on a pipe, in waitpid, stopped) for three looks in a row,
//! or after [`WORKER_MS`], it kills the tree. It reaps orphans (when it is
//! init) and counts the calls workers report through a pipe.
//!
//! On every look it also checks the table itself (one `procinfo` copy,
//! taken atomically): pids unique, no Embryo (never visible between
//! system calls), every parent alive, and no process asleep in `waitpid`
//! with no child to wait for or only zombies (it should have been woken),
//! no killed process kept stopped (it could never die).
//! A breach is a finding: printed as `sysfuzz: FINDING: ...`.
//!
//! After each worker's tree has ended it removes the worker's directory
//! (a removal that fails is a finding), and at the end whatever else is
//! left under `/tmp/fuzz-*`. Then every process it made must be gone,
//! and the kernel's counts (`sysinfo`: free process slots; free, kernel
//! and own frames) back where they were. It prints `sysfuzz: done`, a
//! summary and, when LINGER_MS is given, sleeps that long (so the host can read the process table), then
//! exits 0, or 1 when something was left behind. A kernel panic is the
//! other possible finding: the VM ends with the kernel's report.
#![no_std]
#![no_main]

use abi::PAGE_SIZE;
use abi::fs::{
    F_GETFD, F_SETFD, FD_CLOEXEC, O_ALL, O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_EXCL,
    O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, SEEK_CUR, SEEK_END, SEEK_SET,
};
use abi::proc::MAX_PID;
use abi::sys::{MAX_ARGS, MAX_FDS, STUB_ADDR, Str, USER_END, USER_STACK_MAX, USER_STACK_TOP, nr};
use core::hint::black_box;
use ulib::prelude::*;
use ulib::{Cause, Fd, Pid, ProcInfo, ProcState, SleepReason, WaitStatus, println};

use ulib::WaitFor;

ulib::entry!(main);

/// Calls a worker makes (its children make up to as many more each).
const BATCH: u64 = 48;
/// Longest a worker's tree may live.
const WORKER_MS: u64 = 1500;
/// Bytes of scratch memory each worker fuzzes with (at its break).
const SCRATCH: u64 = 64 * 1024;
/// Children a process keeps track of (and at most makes).
const MAX_KIDS: usize = 6;
/// How deep workers fork.
const MAX_DEPTH: u32 = 2;

fn main(args: &[&str]) -> i32 {
    let usage = || {
        println!("usage: sysfuzz SEED COUNT|SECONDSs [LINGER_MS]");
        2
    };
    let (Some(seed), Some(count)) = (args.get(1), args.get(2)) else {
        return usage();
    };
    let Ok(seed) = seed.parse::<u64>() else {
        return usage();
    };
    let budget = match count.strip_suffix('s') {
        Some(secs) => match secs.parse::<u64>() {
            Ok(s) => Budget::Millis(s * 1000),
            Err(_) => return usage(),
        },
        None => match count.parse::<u64>() {
            Ok(n) => Budget::Calls(n),
            Err(_) => return usage(),
        },
    };
    let linger = args.get(3).and_then(|a| a.parse::<u64>().ok());
    let code = Supervisor::new(seed).run(budget);
    if let Some(ms) = linger {
        let _ = ulib::sleep(ms);
    }
    code
}

/// When to stop.
#[derive(Clone, Copy)]
enum Budget {
    Calls(u64),
    Millis(u64),
}

// ------------------------------------------------------------ the stream

/// xorshift64*: small, fast, good enough to pick arguments.
#[derive(Clone, Copy)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        // splitmix64 of the seed, so nearby seeds differ at once.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// True `n` times in `out_of`.
    fn odds(&mut self, n: u64, out_of: u64) -> bool {
        self.below(out_of) < n
    }

    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
}

// ------------------------------------------------------------ a worker

/// Paths exec and spawn are given: only programs that end by themselves
/// (never `poweroff`, `sh`, `init`, `spin`), and ones that do not exist.
const PATHS: &[&str] = &[
    "/bin/true",
    "/bin/false",
    "/bin/echo",
    "/bin/no-such-program",
    "/etc/motd",
    "/bin",
    "",
    "bin/true",
    "/bin/../bin/true",
];

/// The directory under which workers' directories are made
/// (`/tmp/fuzz-N`).
const DIR_PREFIX: &str = "/tmp/fuzz-";

/// A path of 300 bytes under `/tmp` (`ENAMETOOLONG`).
const LONG_PATH: &str = {
    const B: [u8; 300] = {
        let mut b = [b'x'; 300];
        let head = b"/tmp/";
        let mut i = 0;
        while i < head.len() {
            b[i] = head[i];
            i += 1;
        }
        b
    };
    match core::str::from_utf8(&B) {
        Ok(s) => s,
        Err(_) => panic!("ASCII"),
    }
};

/// A name of 256 bytes, one more than a name may have (`ENAMETOOLONG`).
const LONG_NAME: &str = match core::str::from_utf8(&[b'y'; 256]) {
    Ok(s) => s,
    Err(_) => panic!("ASCII"),
};

/// Paths where a call may make or move a directory: relative ones (from
/// the worker's directory, its working directory) and ones starting with
/// `~`, which stands for that directory (`~/a`: a name in it). Each
/// names something right in it (or leads nowhere), so directories stay
/// one level down, in a directory that lives until the worker's tree
/// ends (it is their working directory, and no path removes it): the
/// `..` of a removed directory whose parent was freed leads to a freed
/// node, a kernel bug that panics it.
const PLACES: &[&str] = &[
    "a", "b", "d", "e", "./d", "d/../e", "~/a", "~/d", "~/e", ".", "", "nope/x", "~/nope/x",
    LONG_PATH, LONG_NAME,
];

/// Paths a call may change or remove (files among them one level deeper,
/// never made into directories): [`PLACES`] and these.
const FILES: &[&str] = &["d/f", "e/f", "a/x", "~/d/f", "d/f/", "~/e/f"];

/// Paths a call only reads: [`FILES`], [`PLACES`] and these, outside the
/// worker's directory.
const READS: &[&str] = &[
    "~",
    "/",
    "/tmp",
    "/bin",
    "/bin/true",
    "/etc/motd",
    "..",
    "./..",
    "/tmp/..",
    "/etc/motd/x",
    "/bin/../etc",
];

/// Paths `chdir` gets: the worker's directory or nowhere (a worker never
/// leaves it: relative paths must name what is in it).
const CHDIRS: &[&str] = &[
    "~",
    "~/.",
    ".",
    "d/..",
    "nope",
    "~/nope",
    "/etc/motd",
    "",
    LONG_PATH,
];

/// What a path argument may name.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// Anything: the call only reads.
    Read,
    /// Something under the worker's directory: the call may change it.
    Change,
    /// A name right in the worker's directory: the call may make a
    /// directory there.
    Place,
    /// The worker's directory or nowhere (`chdir`).
    Home,
}

/// One fuzzing process. Lives on its stack: it never allocates (its heap
/// is part of what it fuzzes with).
struct Worker {
    rng: Rng,
    /// Start of its scratch memory (at its break when it started).
    scratch: u64,
    /// The report pipe's write end (never fuzzed with).
    report: Fd,
    kids: [Pid; MAX_KIDS],
    nkids: usize,
    depth: u32,
    /// Calls made and not yet reported.
    calls: u64,
    /// Calls left.
    left: u64,
    me: Pid,
    parent: Pid,
    /// A worker of the process API (one in three).
    processes: bool,
    /// A worker of the file calls (one in three).
    files: bool,
    /// Its directory, `/tmp/fuzz-N` (the first `home_len` bytes).
    home: [u8; 32],
    home_len: usize,
}

/// A signal handler workers install: it returns at once.
extern "C" fn fuzz_handler(_: u32) {}

impl Worker {
    /// Starts worker `n` in a forked child.
    fn start(seed: u64, n: u64, report: Fd, report_read: Fd) -> ! {
        // No console (reads of it would block; writes are slow), no read
        // end of the report pipe.
        for fd in [0, 1, 2, report_read] {
            let _ = ulib::close(fd);
        }
        let scratch = ulib::sbrk(0).unwrap_or(0);
        let _ = ulib::sbrk(SCRATCH as i64);
        // Two pipes to play with, one holding some data.
        if let Ok((_, w)) = ulib::pipe() {
            let _ = ulib::write(w, b"fuzz data in a pipe");
        }
        let _ = ulib::pipe();
        // A process group of its own: a signal to "my group" (kill 0) or a
        // group its tree makes never reaches the supervisor.
        let _ = ulib::setpgid(Pid::NONE, Pid::NONE);
        // The signals workers throw at each other run a handler rather than
        // end the worker (a fuzzed `signal` call may set them back), so
        // deliveries, EINTR and restarts get exercised and workers live.
        {
            use ulib::signal::*;
            for sig in [SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM] {
                let _ = ulib::signal(sig, ulib::Handler::Catch(fuzz_handler));
            }
        }
        // Its directory (the supervisor made it): its working directory,
        // with a file holding some bytes open, and a directory.
        let (home, home_len) = home_of(n);
        let home_str = core::str::from_utf8(&home[..home_len]).unwrap_or("/tmp");
        let _ = ulib::chdir(home_str);
        if let Ok(fd) = ulib::open("a", O_CREAT | O_RDWR) {
            let _ = ulib::write(fd, b"bytes in a file under /tmp");
        }
        let _ = ulib::mkdir("d");
        let mut rng = Rng::new(seed ^ n.wrapping_mul(0xA076_1D64_78BD_642F));
        let processes = rng.odds(1, 3);
        let files = !processes && rng.odds(1, 2);
        let mut w = Worker {
            processes,
            files,
            rng,
            scratch,
            report,
            kids: [Pid::NONE; MAX_KIDS],
            nkids: 0,
            depth: 0,
            calls: 0,
            left: BATCH,
            me: ulib::getpid(),
            parent: Pid::NONE,
            home,
            home_len,
        };
        w.run()
    }

    fn run(&mut self) -> ! {
        while self.left > 0 {
            self.left -= 1;
            self.one();
        }
        self.finish(0)
    }

    /// Kills and reaps its children, reports, exits.
    fn finish(&mut self, status: i32) -> ! {
        for &k in &self.kids[..self.nkids] {
            let _ = ulib::kill(k, ulib::signal::SIGKILL);
        }
        while ulib::waitpid(WaitFor::Any, 0).is_ok() {}
        self.flush();
        ulib::exit(status)
    }

    /// Reports the calls made so far.
    fn flush(&mut self) {
        let _ = ulib::write(self.report, &self.calls.to_le_bytes());
        self.calls = 0;
    }

    /// A pointer argument.
    fn ptr(&mut self) -> u64 {
        let s = self.scratch;
        match self.rng.below(20) {
            0..=8 => s + self.rng.below(SCRATCH),
            9 => s + SCRATCH - self.rng.below(16),
            10 => 0,
            11 => self.rng.pick(&[
                0xFFFF_8000_0000_0000,
                0xFFFF_FFFF_8000_0000,
                0xFFFF_FF00_0000_1000,
                0xFFFF_FFFF_FFFF_F000,
            ]),
            12 => self.rng.pick(&[
                0x8000_0000_0000_0000,
                USER_END - 1,
                USER_END - 8,
                USER_END,
                u64::MAX - 7,
            ]),
            13 => {
                let brk = ulib::sbrk(0).unwrap_or(0);
                brk.next_multiple_of(PAGE_SIZE) - self.rng.below(32)
            }
            14 => STUB_ADDR + self.rng.below(PAGE_SIZE),
            15 => Worker::run as *const () as u64 + self.rng.below(64),
            16 => USER_STACK_TOP - USER_STACK_MAX - 1 - self.rng.below(PAGE_SIZE),
            17 => self.rng.below(0x40_0000),
            _ => self.rng.next(),
        }
    }

    /// A length argument.
    fn len(&mut self) -> u64 {
        match self.rng.below(20) {
            0..=2 => 0,
            3 => 1,
            4 => 8,
            5 => 16,
            6 => self.rng.pick(&[4095, 4096, 4097]),
            7..=12 => self.rng.below(512),
            13 => self.rng.below(SCRATCH),
            14 => self.rng.pick(&[
                u64::MAX,
                1 << 47,
                1 << 63,
                u64::MAX - 4095,
                1 << 32,
                i64::MAX as u64,
            ]),
            15 => self.rng.next(),
            _ => self.rng.below(64),
        }
    }

    /// An fd argument: never the report pipe.
    fn fd(&mut self) -> u64 {
        let fd = match self.rng.below(10) {
            0..=7 => self.rng.below(MAX_FDS as u64 + 2),
            8 => self.rng.pick(&[u64::MAX, 1 << 32, i32::MAX as u64, 99]),
            _ => self.rng.next(),
        };
        if fd == self.report as u64 {
            u64::MAX
        } else {
            fd
        }
    }

    /// A signal number: the interesting ones, 0, and bad ones.
    fn signal(&mut self) -> u64 {
        use ulib::signal::*;
        match self.rng.below(4) {
            0 => self.rng.pick(&[0, 32, 64, u64::MAX, 1 << 32 | 9]),
            _ => u64::from(self.rng.pick(&[
                SIGKILL, SIGTERM, SIGINT, SIGSTOP, SIGCONT, SIGTSTP, SIGCHLD, SIGUSR1, SIGUSR2,
                SIGPIPE, SIGTTIN, SIGHUP,
            ])),
        }
    }

    /// This process's group (its own tree's).
    fn pgid(&mut self) -> u64 {
        ulib::getpgid(Pid::NONE).map_or(0, |p| p.arg())
    }

    /// A pid argument: its own tree, or one that cannot be anyone's.
    fn pid(&mut self) -> u64 {
        match self.rng.below(12) {
            0..=4 if self.nkids > 0 => self.kids[self.rng.below(self.nkids as u64) as usize].arg(),
            5 => self.me.arg(),
            6 if !self.parent.is_none() => self.parent.arg(),
            7 => self
                .rng
                .pick(&[0, 1, u64::MAX, (-2i64) as u64, i64::MIN as u64]),
            8 => MAX_PID + self.rng.below(1 << 20),
            9 => self
                .rng
                .pick(&[u64::from(u32::MAX), 1 << 32 | 1, i64::MAX as u64]),
            _ => (1 << 31) + self.rng.below(1 << 30),
        }
    }

    /// A path for exec or spawn: (pointer, length).
    fn path(&mut self) -> (u64, u64) {
        match self.rng.below(10) {
            0..=6 => {
                let p = self.rng.pick(PATHS);
                (p.as_ptr() as u64, p.len() as u64)
            }
            7 => (self.ptr(), self.rng.below(300)),
            _ => (self.ptr(), self.len()),
        }
    }

    /// A pointer the kernel cannot read from: null, the kernel's half,
    /// non-canonical, past the end of user space, the stack guard.
    fn bad_ptr(&mut self) -> u64 {
        self.rng.pick(&[
            0,
            0xFFFF_8000_0000_0000,
            0xFFFF_FFFF_8000_0000,
            0x8000_0000_0000_0000,
            u64::MAX - 7,
            USER_END - 4,
            USER_STACK_TOP - USER_STACK_MAX - PAGE_SIZE,
        ])
    }

    /// A path argument that names only what `reach` allows: (pointer,
    /// length). A path of the pools that needs the worker's directory
    /// (`~`, or a relative one made absolute) is built in `buf`.
    fn path_arg(&mut self, reach: Reach, buf: &mut [u8; 96]) -> (u64, u64) {
        if self.rng.odds(1, 5) {
            // Memory the kernel may read holds anything: only calls that
            // just read get it.
            let p = if reach == Reach::Read {
                self.ptr()
            } else {
                self.bad_ptr()
            };
            return (p, self.len());
        }
        let p = match reach {
            Reach::Home => self.rng.pick(CHDIRS),
            Reach::Place => self.rng.pick(PLACES),
            Reach::Change if self.rng.odds(1, 2) => self.rng.pick(FILES),
            Reach::Change => self.rng.pick(PLACES),
            Reach::Read => match self.rng.below(3) {
                0 => self.rng.pick(READS),
                1 => self.rng.pick(FILES),
                _ => self.rng.pick(PLACES),
            },
        };
        if let Some(rest) = p.strip_prefix('~') {
            return self.at_home(buf, &[rest]);
        }
        let relative = !p.is_empty() && !p.starts_with('/') && p.len() < 64;
        if relative && self.rng.odds(1, 4) {
            return self.at_home(buf, &["/", p]);
        }
        (p.as_ptr() as u64, p.len() as u64)
    }

    /// The worker's directory followed by `parts`, in `buf`: (pointer,
    /// length).
    fn at_home(&self, buf: &mut [u8; 96], parts: &[&str]) -> (u64, u64) {
        let mut n = 0;
        let home = &self.home[..self.home_len];
        for part in core::iter::once(home).chain(parts.iter().map(|p| p.as_bytes())) {
            let m = part.len().min(buf.len() - n);
            buf[n..n + m].copy_from_slice(&part[..m]);
            n += m;
        }
        (buf.as_ptr() as u64, n as u64)
    }

    /// `open`'s flags: the usual combinations, any of the known flags, or
    /// any bits at all.
    fn open_flags(&mut self) -> u64 {
        let flags = match self.rng.below(8) {
            0 | 1 => O_RDONLY,
            2 => O_RDONLY | O_DIRECTORY,
            3 => O_WRONLY | O_CREAT | O_TRUNC,
            4 => O_RDWR | O_CREAT | if self.rng.odds(1, 2) { O_EXCL } else { 0 },
            5 => O_WRONLY | O_APPEND | O_CREAT,
            6 => self.rng.next() & O_ALL,
            _ => self.rng.next(),
        };
        if self.rng.odds(1, 4) {
            flags | O_CLOEXEC
        } else {
            flags
        }
    }

    /// Makes one random call.
    fn one(&mut self) {
        let call = self.pick_call();
        let mut a = [0u64; 6];
        // An argument vector for exec and spawn, on our stack.
        let words = ["fuzz", "-x", "", "a longer argument"];
        let mut argv = [Str::default(); 4];
        // Paths built for this call (rename takes two).
        let mut paths = [[0u8; 96]; 2];
        match call {
            nr::EXIT => {
                // Ends this process: report first.
                self.flush();
                a[0] = self.rng.next();
            }
            nr::EXEC | nr::SPAWN => {
                (a[0], a[1]) = self.path();
                for (i, s) in argv.iter_mut().enumerate() {
                    *s = if self.rng.odds(7, 8) {
                        Str {
                            ptr: words[i].as_ptr() as u64,
                            len: words[i].len() as u64,
                        }
                    } else {
                        Str {
                            ptr: self.ptr(),
                            len: self.len(),
                        }
                    };
                }
                a[2] = if self.rng.odds(7, 8) {
                    argv.as_ptr() as u64
                } else {
                    self.ptr()
                };
                a[3] = match self.rng.below(8) {
                    0..=4 => self.rng.below(5),
                    5 => MAX_ARGS as u64 + self.rng.below(2),
                    6 => u64::MAX,
                    _ => self.rng.next(),
                };
                // spawn's group: ours, a new one, a child's, or nonsense.
                a[4] = match self.rng.below(6) {
                    0..=2 => 0,
                    3 => abi::sys::SPAWN_NEW_GROUP,
                    4 => self.pgid(),
                    _ => self.rng.next(),
                };
                if call == nr::EXEC {
                    self.flush();
                }
            }
            nr::WAITPID => {
                a[0] = if self.rng.odds(1, 2) {
                    u64::MAX
                } else {
                    self.pid()
                };
                a[1] = if self.rng.odds(1, 3) { 0 } else { self.ptr() };
                let block = if self.processes { 4 } else { 1 };
                // Blocking one time in ten (four for processes workers).
                a[2] = match self.rng.below(10) {
                    9 => self.rng.next(),
                    x if x < block => 0,
                    _ => abi::sys::WNOHANG,
                };
            }
            nr::KILL => {
                a[0] = self.pid();
                a[1] = self.signal();
                // Groups: its own (0, or its pgid negated) and impossible
                // ones; a negative pid that could name another tree's
                // group (the shell's, the supervisor's) only checks.
                match self.rng.below(8) {
                    0 => a[0] = 0,
                    1 => a[0] = self.pgid().wrapping_neg(),
                    _ => {}
                }
                let p = a[0] as i64;
                let mine = self.pgid();
                if p < -1 && p != i64::MIN && p.unsigned_abs() != mine {
                    a[1] = 0;
                }
            }
            nr::SUSPEND | nr::RESUME => a[0] = self.pid(),
            nr::SIGNAL => {
                a[0] = self.signal();
                a[1] = match self.rng.below(6) {
                    0 => abi::signal::SIG_DFL,
                    1 => abi::signal::SIG_IGN,
                    2 | 3 => fuzz_handler as *const () as u64,
                    4 => self.ptr(),
                    _ => self.rng.next(),
                };
            }
            nr::SIGPROCMASK => {
                a[0] = self.rng.pick(&[0, 1, 2, 3, u64::MAX]);
                a[1] = if self.rng.odds(1, 2) {
                    1 << self.rng.below(32)
                } else {
                    self.rng.next()
                };
            }
            nr::SETPGID => {
                a[0] = if self.rng.odds(1, 3) { 0 } else { self.pid() };
                // Its own tree's groups only (else it could join another
                // tree's and be signalled with it), or impossible ones.
                a[1] = match self.rng.below(5) {
                    0 => 0,
                    1 => self.me.arg(),
                    2 if self.nkids > 0 => {
                        self.kids[self.rng.below(self.nkids as u64) as usize].arg()
                    }
                    3 => self.pgid(),
                    _ => self
                        .rng
                        .pick(&[u64::MAX, MAX_PID + 1, (-3i64) as u64, 1 << 40]),
                };
            }
            nr::GETPGID => a[0] = if self.rng.odds(1, 4) { 0 } else { self.pid() },
            nr::TCSETPGRP | nr::TCGETPGRP | nr::TTYMODE => {
                // The console is closed: fd 0 is a pipe or nothing.
                a[0] = self.fd();
                a[1] = self
                    .rng
                    .pick(&[0, 1, self.me.arg(), abi::sys::TTY_QUERY, 7]);
            }
            nr::SLEEP => {
                a[0] = if self.rng.odds(1, 2000) {
                    self.rng.pick(&[u64::MAX, 1 << 40, 5000])
                } else {
                    self.rng.pick(&[0, 0, 1, 2, 5, 20])
                };
            }
            nr::SBRK => {
                a[0] = match self.rng.below(10) {
                    0 => 0,
                    1 => PAGE_SIZE,
                    2 => PAGE_SIZE.wrapping_neg(),
                    3 => self.rng.below(1 << 20),
                    4 => self.rng.below(1 << 20).wrapping_neg(),
                    5 => i64::MAX as u64,
                    6 => i64::MIN as u64,
                    7 => self.scratch.wrapping_neg(),
                    8 => 1 << 46,
                    _ => self.rng.next(),
                };
            }
            nr::READ | nr::WRITE => {
                a[0] = self.fd();
                a[1] = self.ptr();
                a[2] = self.len();
            }
            nr::CLOSE | nr::DUP => a[0] = self.fd(),
            nr::OPEN => {
                a[2] = self.open_flags();
                // Any flag but these may write, make or empty a file (or
                // is not a flag at all).
                let reach = if a[2] & !(O_DIRECTORY | O_CLOEXEC) == O_RDONLY {
                    Reach::Read
                } else {
                    Reach::Change
                };
                (a[0], a[1]) = self.path_arg(reach, &mut paths[0]);
                a[3] = self.rng.pick(&[0, 0o644, 0o777, u64::MAX]);
            }
            nr::LSEEK => {
                a[0] = self.fd();
                // Small offsets only: a write far past a file's end grows
                // the kernel's table of the file's pages to the offset,
                // outside the files' budget (at 2^40 its allocation fails
                // and the kernel panics, a known bug), and a table of more
                // than a frame needs never-used frames, which run out.
                a[1] = match self.rng.below(6) {
                    0 => 0,
                    1 => self.rng.below(16 << 10),
                    2 => self.rng.below(16 << 10).wrapping_neg(),
                    3 => self.rng.pick(&[4095, 4096, 4097]),
                    4 => self.rng.pick(&[u64::MAX, i64::MIN as u64]),
                    _ => self.rng.below(64),
                };
                a[2] = self.rng.pick(&[
                    SEEK_SET,
                    SEEK_CUR,
                    SEEK_END,
                    SEEK_SET,
                    SEEK_CUR,
                    3,
                    u64::MAX,
                ]);
            }
            nr::DUP2 => {
                a[0] = self.fd();
                a[1] = self.fd();
            }
            nr::STAT => {
                (a[0], a[1]) = self.path_arg(Reach::Read, &mut paths[0]);
                a[2] = self.ptr();
            }
            nr::FSTAT => {
                a[0] = self.fd();
                a[1] = self.ptr();
            }
            nr::UNLINK | nr::RMDIR => (a[0], a[1]) = self.path_arg(Reach::Change, &mut paths[0]),
            nr::MKDIR => {
                (a[0], a[1]) = self.path_arg(Reach::Place, &mut paths[0]);
                a[2] = self.rng.pick(&[0o755, 0, u64::MAX]);
            }
            nr::RENAME => {
                let [old, new] = &mut paths;
                (a[0], a[1]) = self.path_arg(Reach::Change, old);
                (a[2], a[3]) = self.path_arg(Reach::Place, new);
            }
            nr::CHDIR => (a[0], a[1]) = self.path_arg(Reach::Home, &mut paths[0]),
            nr::GETCWD => {
                a[0] = self.ptr();
                a[1] = self
                    .rng
                    .pick(&[0, 1, 10, 11, 12, 13, 14, 64, 256, 4096, u64::MAX]);
            }
            nr::GETDENTS => {
                a[0] = self.fd();
                a[1] = self.ptr();
                a[2] = self.len();
            }
            nr::FCNTL => {
                a[0] = self.fd();
                a[1] = self
                    .rng
                    .pick(&[F_GETFD, F_SETFD, F_SETFD, 0, 3, 99, u64::MAX]);
                a[2] = self.rng.pick(&[0, FD_CLOEXEC, 2, u64::MAX]);
            }
            nr::PIPE | nr::SYSINFO => a[0] = self.ptr(),
            nr::PROCINFO => {
                a[0] = if self.rng.odds(1, 3) {
                    u64::MAX
                } else {
                    self.pid()
                };
                a[1] = self.ptr();
                a[2] = match self.rng.below(6) {
                    0 => 0,
                    1 => 1,
                    2 => 2,
                    3 => 64,
                    4 => u64::MAX,
                    _ => self.rng.below(100),
                };
            }
            _ => {
                for x in &mut a {
                    *x = match self.rng.below(3) {
                        0 => self.ptr(),
                        1 => self.len(),
                        _ => self.rng.next(),
                    };
                }
            }
        }
        // SAFETY: the kernel may write where these point: our scratch
        // memory, memory that is not ours (refused) or read-only pages
        // (refused). Nothing this process relies on is reachable from
        // them (its stack and data are not in the pointer pool; the paths
        // on its stack and in the pools are arguments the kernel only
        // reads).
        let r = unsafe { ulib::syscall6(call, a[0], a[1], a[2], a[3], a[4], a[5]) };
        black_box(&argv);
        black_box(&paths);
        self.calls += 1;
        match call {
            nr::FORK if r == 0 => self.become_child(),
            nr::FORK | nr::SPAWN if r > 0 => self.adopt(Pid(r as u32)),
            _ => {}
        }
    }

    /// Picks a call number: mostly real ones, sometimes invalid ones.
    fn pick_call(&mut self) -> u64 {
        loop {
            let n = match self.rng.below(20) {
                // Processes workers: half their calls are the process API,
                // so sequences like wait, stop, child exits, resume occur.
                1..=10 if self.processes => self.rng.pick(&[
                    nr::FORK,
                    nr::WAITPID,
                    nr::WAITPID,
                    nr::KILL,
                    nr::SUSPEND,
                    nr::SUSPEND,
                    nr::RESUME,
                    nr::RESUME,
                    nr::EXIT,
                    nr::SLEEP,
                    nr::YIELD,
                ]),
                // Files workers: half their calls are the file calls, so
                // what one call makes, others find, change and remove.
                1..=10 if self.files => self.rng.pick(&[
                    nr::OPEN,
                    nr::OPEN,
                    nr::READ,
                    nr::WRITE,
                    nr::WRITE,
                    nr::LSEEK,
                    nr::CLOSE,
                    nr::DUP,
                    nr::DUP2,
                    nr::STAT,
                    nr::FSTAT,
                    nr::UNLINK,
                    nr::MKDIR,
                    nr::RMDIR,
                    nr::RENAME,
                    nr::RENAME,
                    nr::CHDIR,
                    nr::GETCWD,
                    nr::GETDENTS,
                    nr::FCNTL,
                ]),
                0 => match self.rng.below(4) {
                    0 => nr::COUNT + self.rng.below(8),
                    1 => (1 << 32) | self.rng.below(nr::COUNT),
                    2 => u64::MAX - self.rng.below(4),
                    _ => self.rng.next(),
                },
                _ => self.rng.below(nr::COUNT),
            };
            let ok = match n {
                nr::POWEROFF => false,
                nr::EXIT => self.rng.odds(1, 10),
                nr::EXEC => self.rng.odds(1, 3),
                // A random frame mostly ends the caller: now and then.
                nr::SIGRETURN => self.rng.odds(1, 8),
                nr::FORK => self.depth < MAX_DEPTH && self.nkids < MAX_KIDS,
                nr::SPAWN => self.nkids < MAX_KIDS,
                _ => true,
            };
            if ok {
                return n;
            }
        }
    }

    /// In a child fork made: fuzz on with a stream of its own.
    fn become_child(&mut self) {
        self.parent = self.me;
        self.me = ulib::getpid();
        self.rng = Rng::new(self.rng.next() ^ self.me.arg());
        self.nkids = 0;
        self.depth += 1;
        // Calls before the fork were the parent's to report.
        self.calls = 0;
    }

    fn adopt(&mut self, pid: Pid) {
        if self.nkids < MAX_KIDS {
            self.kids[self.nkids] = pid;
            self.nkids += 1;
        }
    }
}

/// Worker `n`'s directory, `/tmp/fuzz-N`: its bytes and their length.
fn home_of(n: u64) -> ([u8; 32], usize) {
    let mut b = [0u8; 32];
    let prefix = DIR_PREFIX.as_bytes();
    b[..prefix.len()].copy_from_slice(prefix);
    let mut digits = [0u8; 20];
    let (mut k, mut v) = (0, n);
    loop {
        digits[k] = b'0' + (v % 10) as u8;
        k += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for i in 0..k {
        b[prefix.len() + i] = digits[k - 1 - i];
    }
    (b, prefix.len() + k)
}

/// Removes `path` and everything under it: how many files and
/// directories, or the path that could not be removed and why (`ENOENT`
/// for `path` itself: nothing was there).
fn remove_tree(path: &str) -> Result<u64, (String, ulib::Errno)> {
    let fail = |e| (String::from(path), e);
    match ulib::unlink(path) {
        Ok(()) => return Ok(1),
        Err(ulib::Errno::EISDIR) => {}
        Err(e) => return Err(fail(e)),
    }
    let mut n = 0;
    for e in ulib::read_dir(path).map_err(fail)? {
        if e.name != "." && e.name != ".." {
            n += remove_tree(&format!("{path}/{}", e.name))?;
        }
    }
    ulib::rmdir(path).map_err(fail)?;
    Ok(n + 1)
}

// ------------------------------------------------------------ the supervisor

/// Tallies of how processes ended.
#[derive(Default)]
struct Tally {
    workers: u64,
    reaped: u64,
    exited: u64,
    killed: u64,
    /// Died of a CPU exception (a fuzzed signal handler or `sigreturn`
    /// frame sends a worker anywhere), by cause.
    faults: [u64; 16],
    /// Ended by another signal than `SIGKILL` (or by a signal frame it
    /// could not use), by signal.
    signaled: [u64; 32],
    /// Trees the watchdog killed (all blocked, or too long).
    stuck: u64,
    slow: u64,
    calls: u64,
    /// Breaches of the table's invariants seen, and removals that failed.
    findings: u64,
    /// Files and directories removed from the workers' directories.
    removed: u64,
}

struct Supervisor {
    seed: u64,
    me: Pid,
    tally: Tally,
    report_r: Fd,
    report_w: Fd,
    /// Partial report bytes.
    pending: Vec<u8>,
    all: Vec<ProcInfo>,
    /// Records of the last look at the table.
    nall: usize,
    /// Findings reported so far.
    seen: Vec<String>,
}

impl Supervisor {
    fn new(seed: u64) -> Supervisor {
        Supervisor {
            seed,
            me: ulib::getpid(),
            tally: Tally::default(),
            report_r: -1,
            report_w: -1,
            pending: Vec::new(),
            nall: 0,
            seen: Vec::new(),
            all: vec![ProcInfo::EMPTY; ulib::sysinfo().map_or(4096, |s| s.total_procs as usize)],
        }
    }

    fn run(&mut self, budget: Budget) -> i32 {
        let before = match ulib::sysinfo() {
            Ok(s) => s,
            Err(e) => {
                println!("sysfuzz: sysinfo: {e}");
                return 1;
            }
        };
        let Ok((r, w)) = ulib::pipe() else {
            println!("sysfuzz: no pipe");
            return 1;
        };
        (self.report_r, self.report_w) = (r, w);
        let t0 = ulib::uptime_ms();
        let mut n = 0;
        loop {
            let done = match budget {
                Budget::Calls(c) => n * BATCH >= c,
                Budget::Millis(ms) => ulib::uptime_ms() - t0 >= ms,
            };
            if done {
                break;
            }
            self.one_worker(n);
            n += 1;
        }
        let ms = (ulib::uptime_ms() - t0).max(1);
        self.drain();
        self.sweep_tmp();
        let _ = ulib::close(self.report_r);
        let _ = ulib::close(self.report_w);
        let t = &self.tally;
        println!(
            "sysfuzz: seed {}: {} calls by {} workers and {} processes they made in {} ms ({} calls/s)",
            self.seed,
            t.calls,
            t.workers,
            t.reaped.saturating_sub(t.workers),
            ms,
            t.calls * 1000 / ms
        );
        let faults: u64 = t.faults.iter().sum();
        let signaled: u64 = t.signaled.iter().sum();
        println!(
            "sysfuzz: {} exited, {} killed, {} ended by other signals, {} died of faults; the watchdog ended {} blocked trees and {} slow ones; {} findings",
            t.exited, t.killed, signaled, faults, t.stuck, t.slow, t.findings
        );
        for (cause, &k) in t.faults.iter().enumerate() {
            if k > 0 {
                let c = Cause::from_raw(cause as u32).unwrap_or(Cause::OtherFault);
                println!("sysfuzz:   {k} by {}", c.describe());
            }
        }
        for (sig, &k) in t.signaled.iter().enumerate() {
            if k > 0 {
                println!("sysfuzz:   {k} by {}", ulib::signal::Name(sig as u32));
            }
        }
        println!(
            "sysfuzz: removed {} files and directories the workers left in {DIR_PREFIX}*",
            t.removed
        );
        let mut bad = u64::from(t.findings > 0);
        let left: Vec<ProcInfo> = self.tree(true);
        if !left.is_empty() {
            bad += 1;
            for p in &left {
                println!(
                    "sysfuzz: LEFT: pid {} ({}) ppid {} {}",
                    p.pid,
                    p.name(),
                    p.ppid,
                    programs::ps::state_name(p)
                );
            }
        }
        // Orphans may still be on their way to init (when it is not us).
        let deadline = ulib::uptime_ms() + 2000;
        let after = loop {
            let s = ulib::sysinfo().unwrap_or_default();
            let same = s.free_procs == before.free_procs
                && s.free_frames + s.kernel_frames + s.self_frames
                    == before.free_frames + before.kernel_frames + before.self_frames;
            if same || ulib::uptime_ms() > deadline {
                break s;
            }
            self.reap();
            let _ = ulib::sleep(5);
        };
        let frames =
            |s: &abi::sys::SysInfo| (s.free_frames + s.kernel_frames + s.self_frames) as i64;
        let (dp, df) = (
            before.free_procs as i64 - after.free_procs as i64,
            frames(&before) - frames(&after),
        );
        if dp != 0 || df != 0 {
            bad += 1;
            println!("sysfuzz: LEAK: {dp} process slots and {df} frames not given back");
        } else {
            println!(
                "sysfuzz: table clean: {} of {} slots free, every frame back ({} free, {} kept by the kernel)",
                after.free_procs, after.total_procs, after.free_frames, after.kernel_frames
            );
        }
        println!("sysfuzz: done");
        i32::from(bad > 0)
    }

    /// Runs worker `n` to its end (or the watchdog's), in a directory of
    /// its own, removed afterwards.
    fn one_worker(&mut self, n: u64) {
        let home = format!("{DIR_PREFIX}{n}");
        self.remove(&home);
        let _ = ulib::mkdir(&home);
        let pid = match ulib::fork() {
            Ok(Pid::NONE) => Worker::start(self.seed, n, self.report_w, self.report_r),
            Ok(pid) => pid,
            Err(_) => {
                // The table or memory is full of leftovers: clear them.
                self.kill_tree();
                let _ = ulib::sleep(5);
                self.reap();
                self.remove(&home);
                return;
            }
        };
        self.tally.workers += 1;
        let deadline = ulib::uptime_ms() + WORKER_MS;
        let mut stuck = 0;
        loop {
            self.reap();
            self.drain();
            let tree = self.tree(false);
            self.check_table();
            if tree.is_empty() {
                break;
            }
            let blocked = tree.iter().all(|p| match p.state() {
                Some(ProcState::Sleeping) => p.reason != SleepReason::Sleep as u32,
                Some(ProcState::Stopped | ProcState::Zombie) => true,
                _ => false,
            });
            stuck = if blocked { stuck + 1 } else { 0 };
            let late = ulib::uptime_ms() > deadline;
            if stuck >= 3 || late {
                if late {
                    self.tally.slow += 1;
                } else {
                    self.tally.stuck += 1;
                }
                self.kill_tree();
                stuck = 0;
            }
            let _ = ulib::sleep(1);
        }
        let _ = pid;
        self.remove(&home);
    }

    /// Removes what is at `path` (a worker's directory): a failure is a
    /// finding (nothing there is none).
    fn remove(&mut self, path: &str) {
        match remove_tree(path) {
            Ok(n) => self.tally.removed += n,
            Err((p, ulib::Errno::ENOENT)) if p == path => {}
            Err((p, e)) => self.finding(format!("{p} could not be removed: {}", e.name())),
        }
    }

    /// Removes every worker's directory still in `/tmp`.
    fn sweep_tmp(&mut self) {
        let name = DIR_PREFIX.trim_start_matches("/tmp/");
        for e in ulib::read_dir("/tmp").unwrap_or_default() {
            if e.name.starts_with(name) {
                self.remove(&format!("/tmp/{}", e.name));
            }
        }
    }

    /// Reports finding `f` (each once: it may stay true on every look).
    fn finding(&mut self, f: String) {
        if self.seen.contains(&f) {
            return;
        }
        self.tally.findings += 1;
        if self.tally.findings <= 20 {
            println!("sysfuzz: FINDING: {f}");
        }
        self.seen.push(f);
    }

    /// The processes that are the fuzz's: our descendants (orphans are
    /// ours when we are init; otherwise those init adopted that still run
    /// this program). `zombies`: include zombies (final check).
    fn tree(&mut self, zombies: bool) -> Vec<ProcInfo> {
        let n = ulib::procinfo_all(&mut self.all).unwrap_or(0);
        self.nall = n;
        let mut mine: Vec<Pid> = vec![self.me];
        let mut out = Vec::new();
        let mut grew = true;
        while grew {
            grew = false;
            for p in &self.all[..n] {
                let adopted = self.me != Pid::INIT && p.ppid == Pid::INIT && p.name() == "sysfuzz";
                if (mine.contains(&p.ppid) || adopted) && !mine.contains(&p.pid) {
                    mine.push(p.pid);
                    if zombies || p.state() != Some(ProcState::Zombie) || p.ppid != self.me {
                        out.push(*p);
                    }
                    grew = true;
                }
            }
        }
        out
    }

    /// Checks the invariants of the last look at the table.
    fn check_table(&mut self) {
        let all = &self.all[..self.nall];
        let mut findings = Vec::new();
        for (i, p) in all.iter().enumerate() {
            let state = p.state();
            if all[..i].iter().any(|q| q.pid == p.pid) {
                findings.push(format!("pid {} twice in the table", p.pid));
            }
            if state.is_none() || state == Some(ProcState::Embryo) {
                findings.push(format!("pid {} in state {}", p.pid, p.state));
            }
            if p.pid != Pid::INIT
                && !all
                    .iter()
                    .any(|q| q.pid == p.ppid && q.state() != Some(ProcState::Zombie))
            {
                findings.push(format!(
                    "pid {} ({}) has no live parent (ppid {})",
                    p.pid,
                    programs::ps::state_name(p),
                    p.ppid
                ));
            }
            if p.killed != 0 && state == Some(ProcState::Stopped) {
                findings.push(format!("pid {} was killed but is stopped", p.pid));
            }
            if state == Some(ProcState::Sleeping) && p.reason == SleepReason::Wait as u32 {
                let mut kids = all.iter().filter(|q| q.ppid == p.pid);
                let live = kids.clone().any(|q| q.state() != Some(ProcState::Zombie));
                if !live {
                    findings.push(format!(
                        "pid {} sleeps in waitpid with {} children, none of them alive",
                        p.pid,
                        kids.by_ref().count()
                    ));
                }
            }
        }
        for f in findings {
            self.finding(f);
        }
    }

    fn kill_tree(&mut self) {
        for p in self.tree(false) {
            let _ = ulib::kill(p.pid, ulib::signal::SIGKILL);
        }
    }

    /// Reaps every child that has ended (workers, and orphans when init).
    fn reap(&mut self) {
        while let Ok((pid, status)) = ulib::waitpid(WaitFor::Any, abi::sys::WNOHANG) {
            if pid.is_none() {
                break;
            }
            self.count(status);
        }
    }

    fn count(&mut self, s: WaitStatus) {
        let t = &mut self.tally;
        t.reaped += 1;
        match s.cause() {
            Cause::Exited => t.exited += 1,
            Cause::Killed => t.killed += 1,
            Cause::Signal => t.signaled[s.signal().unwrap_or(0) as usize % 32] += 1,
            c => t.faults[c as usize % 16] += 1,
        }
    }

    /// Reads the reports waiting in the pipe, without blocking: our own
    /// marker goes in first, so there is always something to read.
    fn drain(&mut self) {
        let marker = u64::MAX.to_le_bytes();
        if ulib::write(self.report_w, &marker).is_err() {
            return;
        }
        let mut buf = [0u8; 512];
        loop {
            let Ok(got) = ulib::read(self.report_r, &mut buf) else {
                return;
            };
            self.pending.extend_from_slice(&buf[..got]);
            let mut seen_marker = false;
            let whole = self.pending.len() / 8 * 8;
            for rec in self.pending[..whole].chunks_exact(8) {
                let v = u64::from_le_bytes(rec.try_into().unwrap_or_default());
                if v == u64::MAX {
                    seen_marker = true;
                } else {
                    self.tally.calls += v.min(BATCH);
                }
            }
            self.pending.drain(..whole);
            if seen_marker || got == 0 {
                return;
            }
        }
    }
}
