//! The kernel command line: space-separated `key=value` words (a bare `key`
//! is a flag). The VMM builds it from `--cmdline` and its own options; the
//! kernel parses it with [`Cmdline`]. Unknown keys are reported by the kernel
//! and otherwise ignored.
//!
//! After a standalone [`ARGS`] come init's arguments, which may hold any
//! character: an argument with blanks, quotes or backslashes (or an empty
//! one) is written in double quotes with `"` and `\` escaped by a
//! backslash ([`quote`]); [`args`] splits them and [`unquote`] gives each
//! back as it was.

/// Timer interrupts per second (LAPIC periodic timer). Default [`DEFAULT_HZ`].
pub const HZ: &str = "hz";
/// Program the kernel runs as the first process (pid 1), default
/// [`DEFAULT_INIT`]; [`INIT_KMON`] runs the kernel monitor instead of any
/// process. The words after a standalone [`ARGS`] are its arguments.
pub const INIT: &str = "init";
/// The first process when [`INIT`] is absent.
pub const DEFAULT_INIT: &str = "/bin/init";
/// `init=kmon`: no processes; the kernel's debug monitor owns the console.
pub const INIT_KMON: &str = "kmon";
/// A standalone `--`: every later word is an argument of init.
pub const ARGS: &str = "--";
/// Process-table capacity. Default [`DEFAULT_NPROC`], at most [`MAX_NPROC`].
pub const NPROC: &str = "nproc";
/// Round-robin quantum in timer ticks. Default [`DEFAULT_QUANTUM`].
pub const QUANTUM: &str = "quantum";

/// Process-table capacity when [`NPROC`] is absent.
pub const DEFAULT_NPROC: u32 = 64;
/// Largest process table.
pub const MAX_NPROC: u32 = 4096;
/// Quantum when [`QUANTUM`] is absent.
pub const DEFAULT_QUANTUM: u32 = 10;
/// Deliberately crash the kernel right after boot, to exercise crash
/// reporting: one of [`CRASH_KINDS`].
pub const CRASH: &str = "crash";
/// How programs enter the kernel: `int3` (default: an `int3` trap gate) or
/// `insn` (the `syscall` instruction). README's "System calls on this
/// platform" says where each works.
pub const SYSCALL: &str = "syscall";
/// Value of [`SYSCALL`] for the `int3` gate.
pub const SYSCALL_INT3: &str = "int3";
/// Value of [`SYSCALL`] for the `syscall` instruction.
pub const SYSCALL_INSN: &str = "insn";
/// Flag: zero every frame the kernel hands out as zeroed, even RAM never
/// used before. Without it the kernel trusts the loader to hand over zeroed
/// RAM (ours, QEMU, Firecracker and Cloud Hypervisor do).
pub const SCRUB: &str = "scrub";
/// Scheduler tracing through the debug port's event ring: `trace=off`
/// turns it off (the PCB table stays visible to the VMM).
pub const TRACE: &str = "trace";
/// Test hook: `debugport=garbage` registers a corrupt block on the debug
/// port, so the VMM's validation can be exercised.
pub const DEBUGPORT: &str = "debugport";
/// Flag: log more of the boot to the debug console.
pub const VERBOSE: &str = "verbose";
/// Option: a person types at the console (the VMM adds it when its input
/// is a terminal). Programs see it as [`crate::sys::TTY_TERMINAL`]; the
/// shell then edits its own line (history, arrows), and otherwise reads
/// what is piped in a line at a time.
pub const TTY: &str = "tty";

/// Timer rate used when [`HZ`] is absent.
pub const DEFAULT_HZ: u32 = 1000;
/// Lowest timer rate the kernel accepts.
pub const MIN_HZ: u32 = 10;
/// Highest timer rate the kernel accepts.
pub const MAX_HZ: u32 = 10_000;

/// Values of [`CRASH`]: `pagefault` (write through a null pointer), `gpf`
/// (non-canonical address), `divide` (divide by zero), `ud` (`ud2`),
/// `breakpoint` (`int3` in the kernel), `doublefault` (kernel stack
/// overflow onto its guard page), `panic` (a Rust panic), `triple` (load an
/// empty IDT and fault: the CPU shuts down), `hang` (interrupts off, halt
/// for ever: a wedged kernel, for `--timeout` and Ctrl-A p), `kstack`
/// (unbounded recursion on a process's kernel stack, onto its guard page:
/// a double fault that names the process), `mmio` (jump to an address
/// where no RAM is: the hypervisor cannot fetch the instruction; KVM ends
/// the run with an internal error), `spin` (interrupts off, a busy loop: a
/// wedged kernel that never halts).
pub const CRASH_KINDS: [&str; 12] = [
    "pagefault",
    "gpf",
    "divide",
    "ud",
    "breakpoint",
    "doublefault",
    "panic",
    "triple",
    "hang",
    "kstack",
    "mmio",
    "spin",
];

/// Longest command line the VMM passes (bytes, without the NUL).
pub const MAX_LEN: usize = 4095;

/// A parsed view of a command line; borrows the text.
#[derive(Debug, Clone, Copy)]
pub struct Cmdline<'a> {
    text: &'a str,
}

impl<'a> Cmdline<'a> {
    /// Wraps a command line.
    pub fn new(text: &'a str) -> Self {
        Cmdline { text }
    }

    /// Every word as `(key, value)`; a bare word has the value `None`.
    pub fn words(&self) -> impl Iterator<Item = (&'a str, Option<&'a str>)> {
        self.text
            .split_ascii_whitespace()
            .map(|word| match word.split_once('=') {
                Some((key, value)) => (key, Some(value)),
                None => (word, None),
            })
    }

    /// The value of the last `key=value` word for `key`.
    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.words()
            .filter(|(k, _)| *k == key)
            .filter_map(|(_, v)| v)
            .last()
    }

    /// Whether `key` appears, bare or with a value.
    pub fn has(&self, key: &str) -> bool {
        self.words().any(|(k, _)| k == key)
    }

    /// The value of `key` as a number, `Ok(None)` when absent, `Err(value)`
    /// when present but not a decimal `u32`.
    pub fn get_u32(&self, key: &str) -> Result<Option<u32>, &'a str> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| v),
        }
    }
}

/// Writes `arg` as one word of init's arguments: as it is when that is
/// unambiguous, else in double quotes with `"` and `\` escaped.
pub fn quote(arg: &str, out: &mut impl core::fmt::Write) -> core::fmt::Result {
    let plain = !arg.is_empty()
        && !arg
            .chars()
            .any(|c| c.is_ascii_whitespace() || c == '"' || c == '\\');
    if plain {
        return out.write_str(arg);
    }
    out.write_char('"')?;
    for c in arg.chars() {
        if c == '"' || c == '\\' {
            out.write_char('\\')?;
        }
        out.write_char(c)?;
    }
    out.write_char('"')
}

/// The words of `line` as written (quotes and escapes included): blanks
/// separate words except inside double quotes or after a backslash.
pub fn args(line: &str) -> impl Iterator<Item = &str> {
    let mut rest = line;
    core::iter::from_fn(move || {
        rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace());
        if rest.is_empty() {
            return None;
        }
        let (mut quoted, mut escaped) = (false, false);
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                let ends = !quoted && !escaped && c.is_ascii_whitespace();
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    quoted = !quoted;
                }
                ends
            })
            .map_or(rest.len(), |(i, _)| i);
        let (word, tail) = rest.split_at(end);
        rest = tail;
        Some(word)
    })
}

/// A word of [`args`] as the argument it stands for: quotes removed,
/// escapes undone.
pub fn unquote(word: &str) -> impl Iterator<Item = char> + '_ {
    let mut chars = word.chars();
    core::iter::from_fn(move || {
        loop {
            match chars.next()? {
                '"' => continue,
                '\\' => return chars.next(),
                c => return Some(c),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::string::String;
    use std::vec::Vec;

    fn round_trip(argv: &[&str]) -> Vec<String> {
        let mut line = String::from("hz=100 -- ");
        for a in argv {
            quote(a, &mut line).unwrap();
            line.push(' ');
        }
        let (_, tail) = line.split_once(" -- ").unwrap();
        args(tail).map(|w| unquote(w).collect()).collect()
    }

    #[test]
    fn init_arguments_survive_quoting() {
        let hard = [
            "hi there",
            "",
            "plain",
            "say \"hi\"",
            "back\\slash",
            "tab\there",
            "  lead and trail  ",
            "--",
            "é ünï",
        ];
        assert_eq!(round_trip(&hard), hard);
        let mut q = String::new();
        quote("a b", &mut q).unwrap();
        assert_eq!(q, "\"a b\"");
        assert_eq!(
            args(" a  \"b c\" d\\ e ").collect::<Vec<_>>(),
            ["a", "\"b c\"", "d\\ e"]
        );
    }

    #[test]
    fn parses_words() {
        let c = Cmdline::new("  hz=100 verbose init=/bin/sh hz=250 bad=x ");
        assert_eq!(c.get_u32(HZ), Ok(Some(250)));
        assert!(c.has(VERBOSE));
        assert_eq!(c.get(VERBOSE), None);
        assert_eq!(c.get(INIT), Some("/bin/sh"));
        assert_eq!(c.get_u32("bad"), Err("x"));
        assert_eq!(c.get_u32("absent"), Ok(None));
        assert!(!c.has("hz100"));
    }
}
