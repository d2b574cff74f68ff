//! Every host error is one clear line on stderr and the host-error status,
//! never a panic, a backtrace or a half-started guest.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;

/// Runs `vmm ARGS` and checks it failed as a host error with exactly one
/// line on stderr mentioning `phrase`.
fn expect_host_error(args: &[&str], phrase: &str) {
    let r = run_vmm(args, b"", Duration::from_secs(20));
    assert_eq!(r.code, HOST_ERROR, "vmm {args:?}: {}", r.dump());
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "vmm {args:?}: want one line: {}", r.dump());
    assert!(lines[0].starts_with("vmm: "), "{}", r.dump());
    assert!(
        lines[0].contains(phrase),
        "vmm {args:?}: want {phrase:?} in the error: {}",
        r.dump()
    );
    assert!(!r.stderr.contains("panicked"), "{}", r.dump());
    assert!(r.stdout.is_empty(), "nothing may boot: {}", r.dump());
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_str().unwrap().to_string()
}

fn kernel_error(name: &str, bytes: &[u8], phrase: &str) {
    let dir = scratch_dir(name);
    let path = write(&dir, "kernel", bytes);
    expect_host_error(&["--kernel", &path], phrase);
}

fn embedded_kernel() -> Vec<u8> {
    std::fs::read(guest_dir().join("kernel.elf")).unwrap()
}

#[test]
fn kernel_path_missing() {
    expect_host_error(&["--kernel", "/nonexistent/kernel.elf"], "no such file");
}

#[test]
fn kernel_is_a_directory() {
    let dir = scratch_dir("dir");
    expect_host_error(&["--kernel", dir.to_str().unwrap()], "is a directory");
}

#[test]
fn kernel_empty() {
    kernel_error("empty", b"", "empty");
}

#[test]
fn kernel_shorter_than_a_header() {
    kernel_error("short", b"\x7fELF\x02\x01", "too short");
}

#[test]
fn kernel_not_elf() {
    kernel_error("notelf", &[b'#'; 4096], "not an ELF");
}

#[test]
fn kernel_32_bit() {
    let mut k = embedded_kernel();
    k[4] = 1; // ELFCLASS32
    kernel_error("elf32", &k, "32-bit");
}

#[test]
fn kernel_not_x86_64() {
    let mut k = embedded_kernel();
    k[18..20].copy_from_slice(&183u16.to_le_bytes()); // EM_AARCH64
    kernel_error("aarch64", &k, "AArch64, not x86_64");
}

#[test]
fn kernel_without_pvh_note() {
    let mut k = embedded_kernel();
    for (at, kind) in program_headers(&k) {
        if kind == 4 {
            // PT_NOTE -> PT_NULL: the note is gone.
            k[at..at + 4].copy_from_slice(&0u32.to_le_bytes());
        }
    }
    kernel_error("nopvh", &k, "no PVH entry point");
}

#[test]
fn kernel_with_truncated_program_headers() {
    let k = embedded_kernel();
    kernel_error("trunc", &k[..100], "program header table");
}

#[test]
fn kernel_segment_outside_ram() {
    let mut k = embedded_kernel();
    let (at, _) = program_headers(&k)
        .into_iter()
        .rfind(|&(_, kind)| kind == 1)
        .unwrap();
    set_paddr(&mut k, at, 0x4000_0000);
    kernel_error("outside", &k, "outside guest RAM");
}

#[test]
fn kernel_segment_over_boot_structures() {
    let mut k = embedded_kernel();
    let (at, _) = program_headers(&k)
        .into_iter()
        .find(|&(_, kind)| kind == 1)
        .unwrap();
    set_paddr(&mut k, at, 0x7000);
    kernel_error("bootstructs", &k, "boot structures");
}

#[test]
fn initrd_not_cpio() {
    let dir = scratch_dir("badinitrd");
    let path = write(&dir, "initrd", b"this is not an archive");
    expect_host_error(&["--initrd", &path], "not a cpio newc archive");
}

#[test]
fn memory_zero() {
    expect_host_error(&["--memory", "0"], "cannot be zero");
}

#[test]
fn memory_not_parseable() {
    expect_host_error(&["--memory", "lots"], "not a size");
}

#[test]
fn memory_more_than_the_host_has() {
    expect_host_error(&["--memory", "100000G"], "more than this host has");
}

#[test]
fn memory_more_than_the_layout_supports() {
    expect_host_error(
        &["--memory", "3073M"],
        "more than the guest layout supports",
    );
}

#[test]
fn bad_flag() {
    expect_host_error(&["--no-such-flag"], "unexpected argument");
}

#[test]
fn no_kvm_device() {
    expect_host_error(&["--kvm", "/nonexistent/kvm"], "KVM is not available");
}

#[test]
fn kvm_path_is_not_kvm() {
    expect_host_error(&["--kvm", "/dev/null"], "not a KVM device");
}

/// Runs `vmm ARGS` as the unprivileged user `nobody` (root may open any
/// device), with the binary copied where that user can run it.
fn run_as_nobody(args: &[&str]) -> std::process::Output {
    use std::os::unix::fs::PermissionsExt;
    let copy = std::env::temp_dir().join(format!(
        "vmm-nobody-{}-{}",
        std::process::id(),
        std::thread::current()
            .name()
            .unwrap_or("t")
            .replace("::", "-")
    ));
    std::fs::copy(vmm_bin(), &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&copy)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("setpriv (util-linux) is needed to test as an unprivileged user");
    let _ = std::fs::remove_file(&copy);
    out
}

/// A device file only root may open, in a directory anyone may enter.
fn root_only_device(name: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch_dir(name);
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let dev = dir.join("kvm");
    std::fs::write(&dev, b"").unwrap();
    std::fs::set_permissions(&dev, std::fs::Permissions::from_mode(0o600)).unwrap();
    dev.to_str().unwrap().to_string()
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn no_permission_on_kvm() {
    let dev = root_only_device("kvmperm");
    if !is_root() {
        expect_host_error(&["--kvm", &dev], "permission denied");
        return;
    }
    let out = run_as_nobody(&["--kvm", &dev]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(HOST_ERROR), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("permission denied"), "{stderr}");
}

#[test]
fn doctor_passes_on_a_host_that_boots() {
    require_kvm();
    let r = run_vmm(&["doctor"], b"", Duration::from_secs(20));
    assert_eq!(r.code, 0, "{}", r.dump());
    assert!(r.stdout.contains("ok    created a test VM"), "{}", r.dump());
    assert!(!r.stdout.contains("FAIL"), "{}", r.dump());
}

#[test]
fn doctor_explains_a_missing_device() {
    let r = run_vmm(
        &["doctor", "--kvm", "/nonexistent/kvm"],
        b"",
        Duration::from_secs(20),
    );
    assert_eq!(r.code, HOST_ERROR, "{}", r.dump());
    assert!(
        r.stdout.contains("FAIL  /nonexistent/kvm: no such file"),
        "{}",
        r.dump()
    );
    assert!(r.stdout.contains("fix: enable KVM"), "{}", r.dump());
}

#[test]
fn doctor_explains_a_device_it_may_not_open() {
    // Needs a character device this user may not open: the real /dev/kvm
    // seen by `nobody` when it is root-only (a plain file would be refused
    // as "not a device" first). CI runs as root with such a /dev/kvm.
    if !is_root() {
        eprintln!("*** SKIPPED: needs root to run vmm doctor as another user ***");
        return;
    }
    use std::os::unix::fs::MetadataExt;
    let kvm = std::fs::metadata("/dev/kvm").expect("/dev/kvm");
    if kvm.mode() & 0o006 != 0 {
        eprintln!("*** SKIPPED: /dev/kvm is open to everyone here; nothing to refuse ***");
        return;
    }
    let out = run_as_nobody(&["doctor"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(HOST_ERROR), "{stdout}");
    assert!(stdout.contains("permission denied"), "{stdout}");
    assert!(stdout.contains("usermod -aG kvm"), "{stdout}");
    assert!(stdout.contains("udev"), "{stdout}");
}

#[test]
fn export_guest_into_a_file_path_fails_cleanly() {
    let dir = scratch_dir("exportfile");
    let file = write(&dir, "plainfile", b"x");
    expect_host_error(&["export-guest", &file], "export-guest");
}

#[test]
fn help_examples_are_runnable_lines() {
    // Every example is one line (an escaped \n once printed a newline in
    // the middle of the printf example).
    let r = run_vmm(&["--help"], b"", std::time::Duration::from_secs(10));
    assert_eq!(r.code, 0, "{}", r.dump());
    let examples = r.stdout.split("Examples:\n").nth(1).expect("examples");
    for line in examples.lines() {
        assert!(
            line.starts_with("  vmm ") || line.starts_with("  printf "),
            "{line:?}"
        );
    }
    assert!(
        examples.contains(r"printf 'ps\nexit 3\n' | vmm"),
        "{examples}"
    );
}
