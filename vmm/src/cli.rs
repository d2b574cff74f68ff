//! The command line of `vmm`, and the parsers of its option values.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::arch::x86_64::layout;
use crate::exitcode;
use crate::util::human_size;

/// What `--help` prints after the options.
const AFTER_HELP: &str = "\
Exit status:
  0-255  the guest's own status on a clean power-off (init's exit status or
         `poweroff N`); a guest should not use 124-126 or 130
  124    --timeout expired (the guest was still running)
  125    host error: bad option, no usable /dev/kvm, unusable kernel or initrd
  126    guest crash: kernel panic or exception, triple fault, KVM error
  130    quit from the console (Ctrl-A x)

Console: when stdin is a terminal it is put in raw mode; Ctrl-A x quits,
Ctrl-A p prints the process table and each process's open files (read
from guest memory, so it works even when the guest is stuck), Ctrl-A h lists the escapes, Ctrl-A Ctrl-A
sends a Ctrl-A to the guest. Stdin is read only as fast as the guest takes
its input (at most 64 KiB waits in between), so piped input is never lost;
output the host's stdout cannot take never stalls the guest: up to 1 MiB
waits, beyond that it is dropped and the count is printed at exit.

Process view: the guest kernel registers its process table and an event
ring on a paravirtual debug port. After a guest crash or --timeout the VMM
prints a post-mortem: the kernel's last registers, the process table, each
live process's working directory and open fds, and the last events. --events, --trace, --api-sock and --stats use it too.

Examples:
  vmm                                   boot the embedded guest interactively
  printf 'ps\\nexit 3\\n' | vmm           feed the shell a script; exits 3
  vmm --memory 256M --cmdline hz=100    more RAM, a 100 Hz timer
  vmm --init /bin/echo hi               run one program as init, print hi, exit 0
  vmm --init /bin/usertests             the kernel's hostile-input battery
  vmm export-guest out/                 write out/kernel.elf, out/initrd.cpio
  vmm doctor                            can this host boot guests? what to fix
  vmm --trace run.json --stats          record a timeline, print boot phases
  vmm --api-sock /tmp/vm.sock           in a second terminal: vmm ctl --api-sock /tmp/vm.sock ps
  vmm --kernel out/kernel.elf --initrd out/initrd.cpio";

/// What `vmm ctl --help` prints after the options.
const CTL_HELP: &str = r#"Commands:
  ps          the process table, read by the VMM from guest memory (a
              STATE ending in + marks the console's foreground group)
  files PID   a process's working directory and open fds, read the same
              way: a line per fd with its number, kind (console, pipe
              (read), pipe (write), file, directory), flags (r, w or rw,
              and append, cloexec) and what it refers to (a pipe's
              number, the same at both ends; a file's path and offset)
  events [N]  the N most recent process events (default 20)
  stop PID    suspend a process (carried out by the guest kernel)
  cont PID    resume it
  kill PID    kill it (SIGKILL)
  kill -SIGNAL PID
              send it SIGNAL: a name with or without SIG (-INT, -SIGTERM,
              -USR1) or a number (-2); it does what the process makes of
              that signal (its handler, or the default: -INT ends it)
  pause       stop the vCPU (the guest's clock stands still)
  resume      run it again
  regs        the vCPU's registers
  quit        end the VM (exit status 130, as Ctrl-A x)
stop, cont and kill are answered once the guest kernel has carried them
out (for a signal: once it is sent; the process acts on it when it next
runs); the commands of clients that come at once take turns.

Exit status: 0 on success; 1 when the VM refused the command (e.g. no such
pid); 125 when the socket cannot be reached or the command line is wrong
(e.g. no such signal).

Protocol (what --json prints, for programs that talk to the socket
themselves): one JSON object per line each way; each request gets one
answer line, in order, and a connection may carry many requests.
Requests:
  {"cmd": "ps"}
  {"cmd": "files", "pid": 3}
  {"cmd": "events", "n": 20}
  {"cmd": "stop", "pid": 3}
  {"cmd": "cont", "pid": 3}
  {"cmd": "signal", "pid": 3, "sig": "INT"}
  {"cmd": "kill", "pid": 3}
  {"cmd": "pause"}
  {"cmd": "resume"}
  {"cmd": "regs"}
  {"cmd": "quit"}
signal's sig is a name (INT or SIGINT) or a number (2); kill is signal
with SIGKILL. Every answer has "ok": true and the fields below, or "ok":
false and "error", a sentence saying why.
  ps      "procs": a row per process: pid, ppid, pgid (its process group),
          name, state (its name), state_raw, reason_raw, ticks,
          voluntary_switches, involuntary_switches, page_faults,
          mem_bytes, brk, start_tick, exit_status, killed (the signal
          that is ending it, e.g. "SIGKILL", or null), sig_pending,
          sig_blocked, sig_caught (lists of signal names: sent and not
          yet delivered, blocked, with a handler); "foreground": the
          console's foreground process group; "consistent": false when
          the kernel was changing the table while the VMM copied it
  files   "pid", "name", "state" (as in ps); "cwd": the working
          directory's path; "fds": a row per open fd, lowest first: fd
          (its number), kind ("console", "pipe (read)", "pipe (write)",
          "file", "directory"; "kind N" for one this VMM does not know),
          flags ("r", "w" or "rw", then ",append", ",cloexec"), path (the
          path a file or directory was opened by, "" for the others; a
          long one keeps its end, after "..."), offset (a file's or
          directory's, after the last call through it), id (a pipe's
          number, the same at both ends; a file's or directory's node
          number; 0 for the console); "consistent" as in ps
  events  "events": the last n (at most 256), oldest first: t_us (since
          kernel entry), tsc, tick, pid, name, event, text, and as the
          event has them from, to, reason, ppid, status, how, cause,
          addr, signal (its name, e.g. "SIGINT"), sender (the pid that
          sent it; 0: the kernel, the console or the host), handler,
          pgid; "lost": events the kernel overwrote before the VMM read
          them; "total": events read
  stop, cont, kill  "pid"
  signal  "pid", "signal": the signal's name
  pause, resume     "paused"
  regs    "regs": register names to hexadecimal strings; "paused"
  quit    nothing more; the VM ends once the answer is sent

Examples:
  The VM in one terminal, with its console there:
    vmm --api-sock /tmp/vm.sock
  and in another terminal:
    vmm ctl --api-sock /tmp/vm.sock ps
    vmm ctl --api-sock /tmp/vm.sock files 2
    vmm ctl --api-sock /tmp/vm.sock stop 3
    vmm ctl --api-sock /tmp/vm.sock kill -INT 3
    vmm ctl --api-sock /tmp/vm.sock --json events 5
  Or the VM in the background of the same terminal, which it must then
  leave alone (the shell stops a background job that uses its terminal):
  a script as its input and its console in a file (killing spin, pid 3,
  ends the script's wait, and with it the VM),
    printf 'spin &\nwait\n' | vmm --api-sock /tmp/vm.sock >console.log &
    vmm ctl --api-sock /tmp/vm.sock kill 3
  or no console at all:
    vmm --api-sock /tmp/vm.sock --serial none &
    vmm ctl --api-sock /tmp/vm.sock quit"#;

/// A tiny KVM virtual machine monitor that boots a process-running kernel.
#[derive(Debug, Parser)]
#[command(name = "vmm", version, about, after_help = AFTER_HELP)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// The subcommand, if any.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The options of a boot (without a subcommand).
    #[command(flatten)]
    pub run: RunArgs,
}

/// Subcommands; without one, `vmm` boots a guest.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check that this host can boot guests (/dev/kvm, permissions, KVM
    /// version and capabilities, a test VM) and say how to fix what is not.
    #[command(
        after_help = "Exit status: 0 when a boot will work, 125 otherwise.\n\n\
        Examples:\n  vmm doctor\n  vmm doctor --kvm /dev/kvm"
    )]
    Doctor {
        /// KVM device node.
        #[arg(long, value_name = "PATH", default_value = "/dev/kvm")]
        kvm: PathBuf,
    },
    /// Talk to a running VM started with --api-sock: show its processes
    /// and their open files, control them, pause it.
    #[command(after_help = CTL_HELP)]
    Ctl {
        /// The VM's control socket.
        #[arg(long, value_name = "PATH")]
        api_sock: PathBuf,
        /// Print the VM's JSON answer instead of a table.
        #[arg(long)]
        json: bool,
        /// The command.
        #[arg(value_name = "CMD")]
        cmd: String,
        /// Its arguments (a pid, a count, `-SIGNAL`).
        #[arg(value_name = "ARGS", allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Write the embedded guest as DIR/kernel.elf and DIR/initrd.cpio.
    #[command(after_help = "Example:\n  vmm export-guest out/ && \
        qemu-system-x86_64 -M microvm -kernel out/kernel.elf -initrd out/initrd.cpio ...")]
    ExportGuest {
        /// Directory to write into (created if missing).
        dir: PathBuf,
    },
}

/// Options for booting a guest.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Kernel ELF with a PVH entry note [default: the embedded kernel].
    #[arg(long, value_name = "PATH")]
    pub kernel: Option<PathBuf>,

    /// Initrd, a cpio newc archive [default: the embedded initrd].
    #[arg(long, value_name = "PATH")]
    pub initrd: Option<PathBuf>,

    /// Guest RAM: a number with an optional K, M or G suffix (MiB if none).
    #[arg(long, value_name = "SIZE", default_value = "128M", value_parser = parse_memory)]
    pub memory: u64,

    /// Kernel command line, e.g. "hz=100 verbose".
    #[arg(long, value_name = "STR", default_value = "")]
    pub cmdline: String,

    /// Where the serial console goes: stdio (output to stdout, input from
    /// stdin), none, or file:PATH (output only; the console gets no input).
    #[arg(long, value_name = "SPEC", default_value = "stdio", value_parser = parse_serial)]
    pub serial: Output,

    /// Where the kernel's debug console (port 0xE9) goes: none, stderr or
    /// file:PATH. With none the port is absent and the kernel writes no
    /// log at all (it costs boot time).
    #[arg(long, value_name = "SPEC", default_value = "none", value_parser = parse_debugcon)]
    pub debugcon: Output,

    /// Run PROGRAM (from the initrd; a bare name is looked up in /bin) as
    /// the first process instead of /bin/init, with ARGS; the VM powers off
    /// with its exit status. Put it after the other options: it takes every
    /// word that follows, `--flags` included.
    #[arg(
        long,
        value_name = "PROGRAM [ARGS]",
        num_args = 1..,
        allow_hyphen_values = true,
        trailing_var_arg = true
    )]
    pub init: Option<Vec<String>>,

    /// Stop the guest after SECS seconds (exit status 124).
    #[arg(long, value_name = "SECS", value_parser = parse_timeout)]
    pub timeout: Option<f64>,

    /// Write every process event the guest kernel reports (create, exec,
    /// state changes with reasons, exit, kill, suspend, resume, fault,
    /// signals sent and handled, process groups and the console's
    /// foreground) to FILE, one JSON object per line.
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,

    /// Write the run as a Chrome trace (JSON) to FILE: one track per
    /// process, a slice per state, instants for faults and signals. Open it
    /// in https://ui.perfetto.dev or chrome://tracing.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,

    /// Serve the control API on a Unix socket at PATH (see `vmm ctl`). A
    /// stale socket at PATH is replaced; anything else there (a file, a
    /// directory, a socket another VM serves) is an error and left alone.
    #[arg(long, value_name = "PATH")]
    pub api_sock: Option<PathBuf>,

    /// At exit, print the boot phases, the VM exits by reason and the guest's
    /// accesses to ports and MMIO nothing claims, on stderr.
    #[arg(long)]
    pub stats: bool,

    /// KVM device node.
    #[arg(long, value_name = "PATH", default_value = "/dev/kvm")]
    pub kvm: PathBuf,
}

/// An output destination: [`parse_serial`] gives `None`, `Stdout` or
/// `File`, [`parse_debugcon`] `None`, `Stderr` or `File`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Discard.
    None,
    /// The VMM's standard output.
    Stdout,
    /// The VMM's standard error.
    Stderr,
    /// A file, created or truncated.
    File(PathBuf),
}

/// `file:PATH` as an output; `None` when `s` is not of that form.
fn parse_file_output(s: &str) -> Option<Result<Output, String>> {
    s.strip_prefix("file:").map(|path| match path {
        "" => Err("file: needs a path, e.g. file:console.log".into()),
        path => Ok(Output::File(PathBuf::from(path))),
    })
}

/// Parses `--serial`: `stdio`, `none` or `file:PATH`.
pub fn parse_serial(s: &str) -> Result<Output, String> {
    match s {
        "stdio" => Ok(Output::Stdout),
        "none" => Ok(Output::None),
        _ => parse_file_output(s).unwrap_or_else(|| {
            Err(format!(
                "'{s}' is not a console destination; --serial takes stdio, none or file:PATH"
            ))
        }),
    }
}

/// Parses `--debugcon`: `none`, `stderr` or `file:PATH`.
pub fn parse_debugcon(s: &str) -> Result<Output, String> {
    match s {
        "none" => Ok(Output::None),
        "stderr" => Ok(Output::Stderr),
        _ => parse_file_output(s).unwrap_or_else(|| {
            Err(format!(
                "'{s}' is not a debug console destination; --debugcon takes none, stderr or file:PATH"
            ))
        }),
    }
}

/// Parses a memory size: `128M`, `1G`, `1.5G`, `65536K`, `256` (MiB),
/// optionally followed by `B` or `iB`. The result is in bytes, a whole
/// number of 4 KiB pages, within the layout's bounds.
pub fn parse_memory(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let (number, shift) = match t.chars().last() {
        Some('K' | 'k') => (&t[..t.len() - 1], 10),
        Some('M' | 'm') => (&t[..t.len() - 1], 20),
        Some('G' | 'g') => (&t[..t.len() - 1], 30),
        _ => (t, 20),
    };
    let value: f64 = number
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| format!("'{s}' is not a size; use e.g. 128M or 1G"))?;
    let bytes = value * (1u64 << shift) as f64;
    if bytes == 0.0 {
        return Err("guest memory cannot be zero".into());
    }
    if bytes > u64::MAX as f64 / 2.0 {
        return Err(format!("'{s}' is far too large"));
    }
    let bytes = bytes as u64;
    if !bytes.is_multiple_of(abi::PAGE_SIZE) {
        return Err(format!("'{s}' is not a multiple of 4 KiB"));
    }
    if bytes < layout::MIN_RAM {
        return Err(format!(
            "{} is too small; the guest needs at least {} MiB",
            human_size(bytes),
            layout::MIN_RAM >> 20
        ));
    }
    if let Some(host) = host_memory()
        && bytes > host
    {
        return Err(format!(
            "{} is more than this host has ({})",
            human_size(bytes),
            human_size(host)
        ));
    }
    if bytes > layout::MAX_RAM {
        return Err(format!(
            "{} is more than the guest layout supports ({} MiB)",
            human_size(bytes),
            layout::MAX_RAM >> 20
        ));
    }
    Ok(bytes)
}

/// The host's total RAM, from /proc/meminfo.
fn host_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The kernel command line: `--cmdline`, then `init=PROGRAM -- ARGS` for
/// `--init` (the kernel takes the words after `--` as init's arguments).
pub fn kernel_cmdline(args: &RunArgs) -> Result<String, String> {
    let Some(init) = &args.init else {
        return Ok(args.cmdline.clone());
    };
    let cmdline = abi::cmdline::Cmdline::new(&args.cmdline);
    if cmdline.has(abi::cmdline::INIT) || cmdline.has(abi::cmdline::ARGS) {
        return Err("--init and an init= or -- in --cmdline cannot be combined".into());
    }
    let program = &init[0];
    if program.is_empty() || program.chars().any(|c| c.is_whitespace() || c == '"') {
        return Err(format!(
            "--init program {program:?} is empty or contains white space or quotes, \
             which a kernel command-line word cannot carry"
        ));
    }
    let mut line = args.cmdline.trim().to_string();
    if !line.is_empty() {
        line.push(' ');
    }
    line.push_str(&format!("{}={program}", abi::cmdline::INIT));
    if init.len() > 1 {
        line.push(' ');
        line.push_str(abi::cmdline::ARGS);
        for a in &init[1..] {
            line.push(' ');
            abi::cmdline::quote(a, &mut line).expect("writing to a String");
        }
    }
    Ok(line)
}

/// Parses a timeout in seconds (fractions allowed, must be positive).
pub fn parse_timeout(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v < 1e9 => Ok(v),
        _ => Err(format!("'{s}' is not a positive number of seconds")),
    }
}

/// Parses the command line; prints help, version or a usage error and exits
/// as documented (0 for help and version, the host-error code otherwise).
pub fn parse() -> Cli {
    match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            if !e.use_stderr() {
                // --help and --version.
                let _ = e.print();
                std::process::exit(0);
            }
            let args: Vec<String> = std::env::args().collect();
            eprint!("{}", usage_error(&e, &args));
            std::process::exit(exitcode::HOST_ERROR);
        }
    }
}

/// A usage error as clap words it (what is wrong, the usage line of the
/// command it is about), starting `vmm: ` like every host error, and
/// pointing at the help of that command (`vmm ctl --help` for an error in
/// `vmm ctl ...`).
pub fn usage_error(e: &clap::Error, args: &[String]) -> String {
    use clap::CommandFactory;
    let text = e.render().to_string();
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    // A subcommand is the first argument (options conflict with them).
    let help = match args.get(1) {
        Some(sub) if Cli::command().find_subcommand(sub).is_some() => format!("vmm {sub} --help"),
        _ => "vmm --help".into(),
    };
    let text = text.replace("try '--help'", &format!("try '{help}'"));
    format!("vmm: {text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_memory("128M"), Ok(128 << 20));
        assert_eq!(parse_memory("128"), Ok(128 << 20));
        assert_eq!(parse_memory("1G"), Ok(1 << 30));
        assert_eq!(parse_memory("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_memory("65536K"), Ok(64 << 20));
        assert!(parse_memory("0").unwrap_err().contains("zero"));
        assert!(parse_memory("lots").unwrap_err().contains("not a size"));
        assert!(parse_memory("-5M").unwrap_err().contains("not a size"));
        assert!(parse_memory("1M").unwrap_err().contains("too small"));
        assert!(parse_memory("100000G").unwrap_err().contains("host"));
        assert!(parse_memory("1000001K").unwrap_err().contains("4 KiB"));
    }

    #[test]
    fn outputs() {
        assert_eq!(parse_serial("none"), Ok(Output::None));
        assert_eq!(parse_serial("stdio"), Ok(Output::Stdout));
        assert_eq!(
            parse_serial("file:/tmp/x"),
            Ok(Output::File("/tmp/x".into()))
        );
        assert!(parse_serial("file:").unwrap_err().contains("needs a path"));
        assert_eq!(parse_debugcon("none"), Ok(Output::None));
        assert_eq!(parse_debugcon("stderr"), Ok(Output::Stderr));
        assert_eq!(
            parse_debugcon("file:/tmp/x"),
            Ok(Output::File("/tmp/x".into()))
        );
        // Each takes only what its help lists, and its error says so.
        for bad in ["stderr", "stdout", "null", "tcp:1"] {
            assert!(
                parse_serial(bad)
                    .unwrap_err()
                    .ends_with("--serial takes stdio, none or file:PATH"),
                "{bad}"
            );
        }
        for bad in ["stdio", "stdout", "null", "tcp:1"] {
            assert!(
                parse_debugcon(bad)
                    .unwrap_err()
                    .ends_with("--debugcon takes none, stderr or file:PATH"),
                "{bad}"
            );
        }
    }

    #[test]
    fn timeouts() {
        assert_eq!(parse_timeout("2.5"), Ok(2.5));
        assert!(parse_timeout("0").is_err());
        assert!(parse_timeout("-1").is_err());
        assert!(parse_timeout("NaN").is_err());
    }

    fn run_args(argv: &[&str]) -> RunArgs {
        let mut all = vec!["vmm"];
        all.extend_from_slice(argv);
        Cli::try_parse_from(all).unwrap().run
    }

    #[test]
    fn init_becomes_kernel_arguments() {
        let a = run_args(&["--cmdline", "hz=100", "--init", "/bin/echo", "hi", "there"]);
        assert_eq!(
            kernel_cmdline(&a).unwrap(),
            "hz=100 init=/bin/echo -- hi there"
        );
        let a = run_args(&["--init", "/bin/usertests"]);
        assert_eq!(kernel_cmdline(&a).unwrap(), "init=/bin/usertests");
        let a = run_args(&["--cmdline", "init=/bin/sh", "--init", "/bin/echo"]);
        assert!(kernel_cmdline(&a).is_err());
        let a = run_args(&["--init", "/bin/echo", "two words", "", "a\"b"]);
        assert_eq!(
            kernel_cmdline(&a).unwrap(),
            r#"init=/bin/echo -- "two words" "" "a\"b""#
        );
        let a = run_args(&["--init", "/bin/my prog"]);
        assert!(kernel_cmdline(&a).unwrap_err().contains("white space"));
        let a = run_args(&["--init", "usertests", "--list", "-x", "--timeout", "3"]);
        assert_eq!(
            kernel_cmdline(&a).unwrap(),
            "init=usertests -- --list -x --timeout 3"
        );
        let a = run_args(&["--timeout", "3"]);
        assert_eq!(kernel_cmdline(&a).unwrap(), "");
    }

    fn usage_error_of(argv: &[&str]) -> String {
        let e = Cli::try_parse_from(argv).unwrap_err();
        let args: Vec<String> = argv.iter().map(|a| a.to_string()).collect();
        usage_error(&e, &args)
    }

    #[test]
    fn usage_errors_keep_clap_s_message_and_the_subcommand_s_usage() {
        let t = usage_error_of(&["vmm", "ctl", "ps"]);
        assert!(
            t.starts_with(
                "vmm: the following required arguments were not provided:\n  --api-sock <PATH>\n"
            ),
            "{t}"
        );
        assert!(
            t.contains("\nUsage: vmm ctl --api-sock <PATH> <CMD>"),
            "{t}"
        );
        assert!(t.contains("try 'vmm ctl --help'"), "{t}");
        let t = usage_error_of(&["vmm", "--memory", "lots"]);
        assert!(
            t.starts_with("vmm: invalid value 'lots' for '--memory <SIZE>'"),
            "{t}"
        );
        assert!(t.contains("try 'vmm --help'"), "{t}");
        let t = usage_error_of(&["vmm", "export-guest"]);
        assert!(t.contains("<DIR>"), "{t}");
        assert!(t.contains("Usage: vmm export-guest <DIR>"), "{t}");
        assert!(t.contains("try 'vmm export-guest --help'"), "{t}");
    }

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
