//! Builds the default guest that `vmm` embeds: the kernel and the user
//! programs (for `x86_64-unknown-none`, installing that target with rustup
//! when it is missing) and the initrd, a cpio newc archive of the programs
//! and of `guest-user/rootfs/`.
//!
//! The guest crates are workspaces of their own, built by a nested cargo into
//! `target/guest`, so `cargo build`/`run`/`test` at the root need nothing
//! else.

use std::env;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const GUEST_TARGET: &str = "x86_64-unknown-none";

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest.parent().unwrap().to_path_buf();
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let target_dir = root.join("target").join("guest");
    let mut progress = Progress::open();

    ensure_target(&mut progress);

    let kernel_dir = root.join("guest-kernel");
    let user_dir = root.join("guest-user");
    let programs = user_programs(&user_dir);
    progress.say(&format!(
        "the guest: its kernel and {} programs, for {GUEST_TARGET}",
        programs.len()
    ));
    cargo_build(&root, &kernel_dir, &target_dir, &mut progress);
    let bin_dir = target_dir.join(GUEST_TARGET).join("release");
    fs::copy(bin_dir.join("kernel"), out.join("kernel.elf")).expect("copy the guest kernel");

    if !programs.is_empty() {
        cargo_build(&root, &user_dir, &target_dir, &mut progress);
    }

    let mut files: Vec<(String, u32, Vec<u8>)> = Vec::new();
    for name in &programs {
        let data = fs::read(bin_dir.join(name)).expect("read a built user program");
        files.push((format!("bin/{name}"), abi::cpio::MODE_FILE | 0o755, data));
    }
    collect_rootfs(&user_dir.join("rootfs"), "", &mut files);
    // The boot path first, the rest by name: the kernel parses headers only
    // as far as the file it looks for, so init and the shell it starts are
    // found first.
    let boot_rank = |name: &str| match name {
        "bin/init" => 0,
        "bin/sh" => 1,
        _ => 2,
    };
    files.sort_by(|a, b| (boot_rank(&a.0), &a.0).cmp(&(boot_rank(&b.0), &b.0)));

    let mut initrd = Vec::new();
    let mut sink = |b: &[u8]| initrd.extend_from_slice(b);
    for (ino, (name, mode, data)) in files.iter().enumerate() {
        abi::cpio::write_member(&mut sink, ino as u32 + 1, name, *mode, data);
    }
    abi::cpio::write_trailer(&mut sink);
    fs::write(out.join("initrd.cpio"), &initrd).expect("write the initrd");

    // Only after a successful build: a failed one runs again anyway, and
    // cargo would print these lines under the compiler's messages.
    for dir in ["abi", "guest-kernel", "guest-user"] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
}

/// Where the guest build reports what it does while it runs: the terminal
/// (`/dev/tty`), since cargo shows a build script's own output only when it
/// fails. Each line first clears the line cargo's progress bar is on; cargo
/// draws the bar again below. Without a terminal (CI, a pipe), nothing.
struct Progress {
    tty: Option<fs::File>,
}

impl Progress {
    fn open() -> Progress {
        let tty = fs::OpenOptions::new().write(true).open("/dev/tty").ok();
        Progress { tty }
    }

    fn on_terminal(&self) -> bool {
        self.tty.is_some()
    }

    /// A status line in cargo's style: `   Building WHAT`.
    fn say(&mut self, what: &str) {
        self.line(&format!("{:>12} {what}", "Building"));
    }

    fn line(&mut self, text: &str) {
        if let Some(tty) = self.tty.as_mut() {
            let _ = write!(tty, "\r\x1b[K{text}\n");
        }
    }
}

/// Installs the guest's Rust target when the toolchain lacks it: a fresh
/// machine (with `RUSTUP_AUTO_INSTALL=0`) has only the host target.
fn ensure_target(progress: &mut Progress) {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let libdir = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", GUEST_TARGET])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if libdir.is_some_and(|d| d.is_dir()) {
        return;
    }
    println!("cargo:warning=installing the {GUEST_TARGET} target with rustup");
    progress.line(&format!(
        "{:>12} the {GUEST_TARGET} target with rustup",
        "Installing"
    ));
    let status = Command::new("rustup")
        .args(["target", "add", GUEST_TARGET])
        .status();
    match status {
        Ok(s) if s.success() => {}
        _ => fail(&format!(
            "the guest needs the {GUEST_TARGET} Rust target and `rustup target add \
             {GUEST_TARGET}` failed; install it and build again"
        )),
    }
}

/// Ends the build script with `message`, which cargo prints under its
/// error (without a Rust panic and its backtrace).
fn fail(message: &str) -> ! {
    eprintln!("{message}");
    std::process::exit(1);
}

/// Runs `cargo build --release` in a guest workspace, with the outer build's
/// flags and wrappers removed (they are for the host target). The
/// compiler's messages name files from the repository root (rustc names
/// them from the guest workspace's); they go to the terminal as they come,
/// and on failure into the error cargo prints.
///
/// The guest holds the paths of the sources outside its workspace (abi's, in
/// panic locations); they are written from the repository's root, so the
/// guest's sizes and layout, and with them its ring-0 instruction counts
/// (which scripts/bench checks exactly), do not depend on where the
/// repository is checked out. (This adds to the target's rustflags in the
/// workspace's .cargo/config.toml.)
fn cargo_build(root: &Path, dir: &Path, target_dir: &Path, progress: &mut Progress) {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let color = if progress.on_terminal() {
        "always"
    } else {
        "never"
    };
    let remap = root
        .display()
        .to_string()
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    let mut child = Command::new(cargo)
        .current_dir(dir)
        .args(["build", "--release", "--color", color, "--target-dir"])
        .arg(target_dir)
        .arg("--config")
        .arg(format!(
            "target.{GUEST_TARGET}.rustflags=[\"--remap-path-prefix={remap}/=\"]"
        ))
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_PROFILE_RELEASE_DEBUG")
        .env("CARGO_TERM_PROGRESS_WHEN", "never")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| fail(&format!("cannot run cargo for the guest: {e}")));
    let prefix = dir
        .strip_prefix(root)
        .unwrap_or(dir)
        .to_string_lossy()
        .into_owned();
    let mut messages = String::new();
    let stderr = child.stderr.take().expect("piped stderr");
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        let line = from_root(&line, dir, &prefix);
        // The outer build says when it is finished.
        if strip_ansi(&line).trim_start().starts_with("Finished ") {
            continue;
        }
        progress.line(&line);
        messages.push_str(&line);
        messages.push('\n');
    }
    let status = child.wait().expect("wait for cargo");
    if !status.success() {
        let shown = if progress.on_terminal() {
            String::new()
        } else {
            strip_ansi(&messages)
        };
        fail(&format!(
            "{shown}building the guest in {prefix}/ failed (the compiler's messages are above)"
        ));
    }
}

/// A compiler message line with the file paths that rustc gives relative to
/// the guest workspace `dir` (`  --> programs/src/bin/x.rs:3:5`) made
/// relative to the repository root (`guest-user/programs/...`); paths of
/// files outside the workspace are from the root already.
fn from_root(line: &str, dir: &Path, prefix: &str) -> String {
    let plain = strip_ansi(line);
    let Some(at) = plain.find("--> ") else {
        return line.to_string();
    };
    let path = &plain[at + 4..];
    let file = path.split(':').next().unwrap_or(path);
    if path.starts_with('/') || !dir.join(file).is_file() {
        return line.to_string();
    }
    // Keep the colours before the arrow; the path itself is plain.
    let arrow = line.find("--> ").map_or(0, |i| i + 4);
    format!("{}{prefix}/{path}", &line[..arrow])
}

/// `text` without ANSI colour sequences (`ESC [ ... m`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Names of the user programs, as Cargo finds binaries: one per
/// `programs/src/bin/NAME.rs` or `programs/src/bin/NAME/main.rs`.
fn user_programs(user_dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(user_dir.join("programs/src/bin")) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let path = e.path();
            if path.join("main.rs").is_file() {
                return path.file_name()?.to_str().map(String::from);
            }
            (path.extension()? == "rs").then(|| path.file_stem()?.to_str().map(String::from))?
        })
        .collect();
    names.sort();
    names
}

/// Adds every file under `dir` (as `prefix/...`) with its directories.
fn collect_rootfs(dir: &Path, prefix: &str, files: &mut Vec<(String, u32, Vec<u8>)>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = format!("{prefix}{name}");
        let ty = entry.file_type().expect("file type");
        if ty.is_dir() {
            files.push((path.clone(), abi::cpio::MODE_DIR | 0o755, Vec::new()));
            collect_rootfs(&entry.path(), &format!("{path}/"), files);
        } else if ty.is_file() {
            let data = fs::read(entry.path()).expect("read a rootfs file");
            files.push((path, abi::cpio::MODE_FILE | 0o644, data));
        }
    }
}
