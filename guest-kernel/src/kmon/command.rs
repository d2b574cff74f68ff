//! The kernel monitor's commands and the deliberate-crash kinds, parsed from
//! text without touching hardware.

/// A deliberate kernel crash, selected by `crash=KIND` on the command line or
/// `crash KIND` in the monitor. The names are [`abi::cmdline::CRASH_KINDS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashKind {
    /// Write through a null pointer: #PF.
    PageFault,
    /// Load from a non-canonical address: #GP.
    Gpf,
    /// Divide by zero: #DE.
    Divide,
    /// `ud2`: #UD.
    Ud,
    /// `int3` in the kernel: #BP.
    Breakpoint,
    /// Unbounded recursion onto the boot stack's guard page: #PF that cannot
    /// be delivered on the same stack, so #DF on its own stack.
    DoubleFault,
    /// A Rust `panic!`.
    Panic,
    /// Load an empty IDT and fault: the CPU shuts down.
    Triple,
    /// Interrupts off, halt for ever: a wedged kernel.
    Hang,
    /// Unbounded recursion on a process's kernel stack (not the boot
    /// stack) onto its guard page: #DF, reported with the process.
    KernelStack,
    /// Call code at [`abi::port::PROBE_MMIO`], where no RAM is: KVM cannot
    /// fetch the instruction and stops the VM with an internal error.
    Mmio,
    /// Interrupts off, a busy loop for ever: wedged without halting.
    Spin,
}

impl CrashKind {
    /// Every kind, in the order of [`abi::cmdline::CRASH_KINDS`].
    pub const ALL: [CrashKind; 12] = [
        CrashKind::PageFault,
        CrashKind::Gpf,
        CrashKind::Divide,
        CrashKind::Ud,
        CrashKind::Breakpoint,
        CrashKind::DoubleFault,
        CrashKind::Panic,
        CrashKind::Triple,
        CrashKind::Hang,
        CrashKind::KernelStack,
        CrashKind::Mmio,
        CrashKind::Spin,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        let index = Self::ALL.iter().position(|&k| k == self).unwrap_or(0);
        abi::cmdline::CRASH_KINDS[index]
    }

    /// The kind called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        let index = abi::cmdline::CRASH_KINDS.iter().position(|&n| n == name)?;
        Some(Self::ALL[index])
    }
}

/// One monitor command line, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command<'a> {
    /// A blank line.
    Empty,
    /// `help`.
    Help,
    /// `echo WORDS...`: the text after `echo`, words to be joined by one space.
    Echo(&'a str),
    /// `uptime`.
    Uptime,
    /// `sleep MS`.
    Sleep(u64),
    /// `mem`.
    Mem,
    /// `ls`.
    Ls,
    /// `cat PATH`.
    Cat(&'a str),
    /// `crash KIND`.
    Crash(CrashKind),
    /// `poweroff [N]`.
    PowerOff(u8),
    /// `bench`: time a few ring-0 basics.
    Bench,
    /// `probe`: read and write a port and an address nobody claims, at
    /// every width.
    Probe,
    /// A known command used wrongly; the message to print.
    Usage(&'static str),
    /// Not a command; the word typed.
    Unknown(&'a str),
}

/// One line per command, for `help`.
pub const HELP: &str = "\
commands:
  help            this list
  echo WORDS...   print WORDS
  uptime          timer ticks and the measured tick rate
  sleep MS        wait MS milliseconds (of timer ticks)
  mem             free and total physical frames, heap use
  ls              list the initrd
  cat PATH        print an initrd file
  crash KIND      crash the kernel: pagefault gpf divide ud breakpoint
                  doublefault panic triple hang kstack mmio spin
  poweroff [N]    power off with exit status N (default 0)
  bench           time a few ring-0 basics (port I/O, formatting)
  probe           read and write a port and an MMIO address that nothing
                  claims, at every width, and show what reads return
";

impl<'a> Command<'a> {
    /// Parses one line.
    pub fn parse(line: &'a str) -> Self {
        let line = line.trim();
        let (word, rest) = match line.split_once(|c: char| c.is_ascii_whitespace()) {
            Some((w, r)) => (w, r.trim_start()),
            None => (line, ""),
        };
        let mut args = rest.split_ascii_whitespace();
        let (arg, extra) = (args.next(), args.next().is_some());
        match word {
            "" => Command::Empty,
            "help" => Command::Help,
            "echo" => Command::Echo(rest),
            "uptime" => Command::Uptime,
            "mem" => Command::Mem,
            "ls" => Command::Ls,
            "bench" => Command::Bench,
            "probe" => Command::Probe,
            "sleep" => match arg.map(str::parse) {
                Some(Ok(ms)) if !extra => Command::Sleep(ms),
                _ => Command::Usage("usage: sleep MS"),
            },
            "cat" => match arg {
                Some(path) if !extra => Command::Cat(path),
                _ => Command::Usage("usage: cat PATH"),
            },
            "crash" => match arg.and_then(CrashKind::from_name) {
                Some(kind) if !extra => Command::Crash(kind),
                _ => Command::Usage(
                    "usage: crash pagefault|gpf|divide|ud|breakpoint|doublefault|panic|triple|hang|kstack|mmio|spin",
                ),
            },
            "poweroff" => match arg.map(str::parse) {
                None => Command::PowerOff(0),
                Some(Ok(n)) if !extra => Command::PowerOff(n),
                _ => Command::Usage("usage: poweroff [N] (N from 0 to 255)"),
            },
            other => Command::Unknown(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_kinds_match_the_abi() {
        for (kind, name) in CrashKind::ALL.iter().zip(abi::cmdline::CRASH_KINDS) {
            assert_eq!(kind.name(), name);
            assert_eq!(CrashKind::from_name(name), Some(*kind));
        }
        assert_eq!(CrashKind::from_name("nope"), None);
    }

    #[test]
    fn parses_commands() {
        assert_eq!(Command::parse("   "), Command::Empty);
        assert_eq!(Command::parse("help"), Command::Help);
        assert_eq!(Command::parse("echo  a   b "), Command::Echo("a   b"));
        assert_eq!(Command::parse("echo"), Command::Echo(""));
        assert_eq!(Command::parse(" uptime "), Command::Uptime);
        assert_eq!(Command::parse("sleep 500"), Command::Sleep(500));
        assert!(matches!(Command::parse("sleep"), Command::Usage(_)));
        assert!(matches!(Command::parse("sleep x"), Command::Usage(_)));
        assert_eq!(Command::parse("cat /etc/motd"), Command::Cat("/etc/motd"));
        assert_eq!(Command::parse("crash gpf"), Command::Crash(CrashKind::Gpf));
        assert!(matches!(Command::parse("crash bogus"), Command::Usage(_)));
        assert_eq!(Command::parse("poweroff"), Command::PowerOff(0));
        assert_eq!(Command::parse("poweroff 3"), Command::PowerOff(3));
        assert!(matches!(Command::parse("poweroff 256"), Command::Usage(_)));
        assert_eq!(Command::parse("probe"), Command::Probe);
        assert_eq!(Command::parse("frob x"), Command::Unknown("frob"));
    }
}
