//! Shared helpers of the integration tests: run `vmm` with input and a hard
//! time limit, get at the embedded guest, and edit ELF files.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Exit statuses of `vmm` (see `vmm --help`).
pub const TIMEOUT: i32 = 124;
pub const HOST_ERROR: i32 = 125;
pub const GUEST_CRASH: i32 = 126;
pub const USER_QUIT: i32 = 130;

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

/// Runs `vmm ARGS` with `input` on stdin (then end of file), killing it if
/// it outlives `limit` (a test never hangs).
pub fn run_vmm(args: &[&str], input: &[u8], limit: Duration) -> Run {
    let start = Instant::now();
    let mut child = Command::new(vmm_bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start vmm");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for vmm") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("vmm {args:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = start.elapsed();
    let _ = writer.join();
    let stdout = String::from_utf8_lossy(&out_t.join().unwrap()).into_owned();
    let stderr = String::from_utf8_lossy(&err_t.join().unwrap()).into_owned();
    Run {
        code: status.code().unwrap_or(-1),
        stdout,
        stderr,
        elapsed,
    }
}

/// Boots the embedded guest with `args` and console `input`, with a
/// `--timeout` so a stuck guest ends.
pub fn boot(args: &[&str], input: &str) -> Run {
    require_kvm();
    let mut all = vec!["--timeout", "20"];
    all.extend_from_slice(args);
    run_vmm(&all, input.as_bytes(), Duration::from_secs(40))
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

/// The program headers of an ELF64 file: (offset of the header, p_type).
pub fn program_headers(elf: &[u8]) -> Vec<(usize, u32)> {
    let phoff = u64::from_le_bytes(elf[32..40].try_into().unwrap()) as usize;
    let phnum = u16::from_le_bytes(elf[56..58].try_into().unwrap()) as usize;
    (0..phnum)
        .map(|i| {
            let at = phoff + i * 56;
            (at, u32::from_le_bytes(elf[at..at + 4].try_into().unwrap()))
        })
        .collect()
}

/// Sets a program header's physical address.
pub fn set_paddr(elf: &mut [u8], header: usize, paddr: u64) {
    elf[header + 24..header + 32].copy_from_slice(&paddr.to_le_bytes());
}

/// Finds the lines of `text` that start with `prefix`.
pub fn lines_starting<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| l.starts_with(prefix))
        .collect()
}
