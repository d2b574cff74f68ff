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
use std::path::{Path, PathBuf};
use std::process::Command;

const GUEST_TARGET: &str = "x86_64-unknown-none";

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest.parent().unwrap().to_path_buf();
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let target_dir = root.join("target").join("guest");

    for dir in ["abi", "guest-kernel", "guest-user"] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }

    ensure_target();

    let kernel_dir = root.join("guest-kernel");
    cargo_build(&kernel_dir, &target_dir);
    let bin_dir = target_dir.join(GUEST_TARGET).join("release");
    fs::copy(bin_dir.join("kernel"), out.join("kernel.elf")).expect("copy the guest kernel");

    let user_dir = root.join("guest-user");
    let programs = user_programs(&user_dir);
    if !programs.is_empty() {
        cargo_build(&user_dir, &target_dir);
    }

    let mut files: Vec<(String, u32, Vec<u8>)> = Vec::new();
    for name in &programs {
        let data = fs::read(bin_dir.join(name)).expect("read a built user program");
        files.push((format!("bin/{name}"), abi::cpio::MODE_FILE | 0o755, data));
    }
    collect_rootfs(&user_dir.join("rootfs"), "", &mut files);
    // The boot path first, the rest by name: the kernel parses headers only
    // as far as the file it looks for (a header costs hundreds of ring-0
    // instructions), so init and the shell it starts are found at once.
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
}

/// Installs the guest's Rust target when the toolchain lacks it: a fresh
/// machine (with `RUSTUP_AUTO_INSTALL=0`) has only the host target.
fn ensure_target() {
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
    let status = Command::new("rustup")
        .args(["target", "add", GUEST_TARGET])
        .status();
    match status {
        Ok(s) if s.success() => {}
        _ => panic!(
            "the guest needs the {GUEST_TARGET} Rust target and `rustup target add \
             {GUEST_TARGET}` failed; install it and build again"
        ),
    }
}

/// Runs `cargo build --release` in a guest workspace, with the outer build's
/// flags and wrappers removed (they are for the host target).
///
/// The guest holds the paths of the sources outside its workspace (abi's, in
/// panic locations); they are written from the repository's root, so the
/// guest's sizes and layout, and with them its ring-0 instruction counts
/// (which scripts/bench checks exactly), do not depend on where the
/// repository is checked out. (This adds to the target's rustflags in the
/// workspace's .cargo/config.toml.)
fn cargo_build(dir: &Path, target_dir: &Path) {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = dir
        .parent()
        .expect("a guest workspace is in the repository");
    let root = root
        .display()
        .to_string()
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    let status = Command::new(cargo)
        .current_dir(dir)
        .args(["build", "--release", "--quiet", "--target-dir"])
        .arg(target_dir)
        .arg("--config")
        .arg(format!(
            "target.{GUEST_TARGET}.rustflags=[\"--remap-path-prefix={root}/=\"]"
        ))
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_PROFILE_RELEASE_DEBUG")
        .status()
        .expect("run cargo for the guest");
    assert!(status.success(), "building {} failed", dir.display());
}

/// Names of the user programs: one per `programs/src/bin/NAME.rs`.
fn user_programs(user_dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(user_dir.join("programs/src/bin")) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let path = e.path();
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
