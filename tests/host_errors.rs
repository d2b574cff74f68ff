//! Every host error is one clear line on stderr and the host-error status,
//! never a panic, a backtrace or a half-started guest.

mod common;

use std::path::Path;
use std::time::Duration;

use abi::elf::{self, PT_LOAD, PT_NOTE};
use common::*;
use vmm::elf_edit::{
    data_segment, edit_program_header, headers_of, program_headers, put_u16, put_u64,
};
use vmm::exitcode::{HOST_ERROR, USER_QUIT};

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

/// Runs `vmm ARGS` and checks it failed as a usage error: the host-error
/// status, clap's message starting `vmm: ` and containing `phrase`, the
/// `usage` line when given, and a pointer to `help` (the help of the
/// command the error is about).
fn expect_usage_error(args: &[&str], phrase: &str, usage: Option<&str>, help: &str) {
    let r = run_vmm(args, b"", Duration::from_secs(20));
    assert_eq!(r.code, HOST_ERROR, "vmm {args:?}: {}", r.dump());
    assert!(r.stderr.starts_with("vmm: "), "{}", r.dump());
    assert!(
        r.stderr.contains(phrase),
        "vmm {args:?}: want {phrase:?} in the error: {}",
        r.dump()
    );
    if let Some(usage) = usage {
        assert!(
            r.stderr.contains(&format!("\nUsage: {usage}\n")),
            "vmm {args:?}: want the usage line {usage:?}: {}",
            r.dump()
        );
    }
    assert_eq!(
        r.stderr.lines().last(),
        Some(format!("For more information, try '{help}'.").as_str()),
        "{}",
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
    k[elf::EI_CLASS] = elf::CLASS32;
    kernel_error("elf32", &k, "32-bit");
}

#[test]
fn kernel_not_x86_64() {
    let mut k = embedded_kernel();
    put_u16(&mut k, elf::E_MACHINE, 183); // EM_AARCH64
    kernel_error("aarch64", &k, "AArch64, not x86_64");
}

#[test]
fn kernel_without_pvh_note() {
    let mut k = embedded_kernel();
    for i in headers_of(&k, PT_NOTE) {
        // PT_NOTE -> PT_NULL: the note is gone.
        edit_program_header(&mut k, i, |p| p.kind = 0);
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
    let last = *headers_of(&k, PT_LOAD).last().unwrap();
    edit_program_header(&mut k, last, |p| p.paddr = 0x4000_0000);
    kernel_error("outside", &k, "outside guest RAM");
}

#[test]
fn kernel_segment_over_boot_structures() {
    let mut k = embedded_kernel();
    let first = headers_of(&k, PT_LOAD)[0];
    edit_program_header(&mut k, first, |p| p.paddr = 0x7000);
    kernel_error("bootstructs", &k, "boot structures");
}

#[test]
fn initrd_not_cpio() {
    let dir = scratch_dir("badinitrd");
    let path = write(&dir, "initrd", b"this is not an archive");
    expect_host_error(&["--initrd", &path], "not a cpio newc archive");
}

// Malformed kernels. Each is the embedded kernel with one fault;
// every one is refused before KVM or guest memory is set up.

#[test]
fn kernel_bad_class() {
    let mut k = embedded_kernel();
    k[elf::EI_CLASS] = 3; // neither ELFCLASS32 nor ELFCLASS64
    kernel_error("class", &k, "bad ELF class 3");
}

#[test]
fn kernel_big_endian() {
    let mut k = embedded_kernel();
    k[elf::EI_DATA] = elf::DATA_MSB;
    kernel_error("bigendian", &k, "big-endian");
}

#[test]
fn kernel_bad_data_encoding() {
    let mut k = embedded_kernel();
    k[elf::EI_DATA] = 0; // ELFDATANONE
    kernel_error("encoding", &k, "bad ELF data encoding 0");
}

#[test]
fn kernel_bad_program_header_size() {
    let mut k = embedded_kernel();
    put_u16(&mut k, elf::E_PHENTSIZE, 32);
    kernel_error("phentsize", &k, "bad program header size 32");
}

#[test]
fn kernel_program_headers_inside_the_elf_header() {
    let mut k = embedded_kernel();
    put_u64(&mut k, elf::E_PHOFF, 0);
    kernel_error(
        "phoff",
        &k,
        "program header table offset 0 (inside the 64-byte ELF header)",
    );
}

#[test]
fn kernel_program_header_offset_past_the_end() {
    let mut k = embedded_kernel();
    let (phoff, phnum) = (k.len() as u64 + 4096, program_headers(&k).len());
    put_u64(&mut k, elf::E_PHOFF, phoff);
    kernel_error(
        "phoffend",
        &k,
        &format!(
            "the program header table (offset {phoff}, {phnum} entries) runs past the end of the file"
        ),
    );
}

#[test]
fn kernel_without_program_headers() {
    let mut k = embedded_kernel();
    put_u16(&mut k, elf::E_PHNUM, 0);
    kernel_error("nophdrs", &k, "no program headers");
}

#[test]
fn kernel_segment_data_past_the_end_of_the_file() {
    let mut k = embedded_kernel();
    let i = headers_of(&k, PT_LOAD)[0];
    let (offset, filesz) = (k.len() as u64 - 16, program_headers(&k)[i].filesz);
    edit_program_header(&mut k, i, |p| p.offset = offset);
    kernel_error(
        "datapastend",
        &k,
        &format!(
            "segment {i}: its data (offset {offset:#x}, {filesz} bytes) runs past the end of the file"
        ),
    );
}

#[test]
fn kernel_segment_file_size_over_memory_size() {
    let mut k = embedded_kernel();
    let i = data_segment(&k);
    edit_program_header(&mut k, i, |p| p.memsz = p.filesz - 1);
    kernel_error("fileszmemsz", &k, "is larger than its memory size");
}

#[test]
fn kernel_segment_address_overflow() {
    let mut k = embedded_kernel();
    let i = data_segment(&k);
    edit_program_header(&mut k, i, |p| p.paddr = u64::MAX - 0x1000);
    kernel_error("overflow", &k, "overflows");
}

#[test]
fn kernel_overlapping_segments() {
    let mut k = embedded_kernel();
    let l = headers_of(&k, PT_LOAD);
    let range = |k: &[u8], i: usize| {
        let p = program_headers(k)[i];
        (p.paddr, p.paddr + p.memsz)
    };
    let (start1, end1) = range(&k, l[1]);
    edit_program_header(&mut k, l[2], |p| p.paddr = start1 + 0x10);
    let (start2, end2) = range(&k, l[2]);
    let (i1, i2) = (l[1], l[2]);
    kernel_error(
        "overlap",
        &k,
        &format!("segments {i1} ({start1:#x}-{end1:#x}) and {i2} ({start2:#x}-{end2:#x}) overlap"),
    );
}

#[test]
fn kernel_segment_below_1_mib() {
    let mut k = embedded_kernel();
    let first = headers_of(&k, PT_LOAD)[0];
    edit_program_header(&mut k, first, |p| p.paddr = 0x8_0000);
    kernel_error("below1m", &k, "is below 1 MiB");
}

#[test]
fn kernel_huge_bss() {
    let mut k = embedded_kernel();
    let i = data_segment(&k);
    edit_program_header(&mut k, i, |p| p.memsz = 1 << 30); // 1 GiB of BSS, 128 MiB of RAM
    kernel_error("hugebss", &k, "runs past the end of guest RAM");
}

#[test]
fn kernel_entry_outside_every_executable_segment() {
    let mut k = embedded_kernel();
    // Point the PVH note at the read-only data: it has no PF_X.
    let phdrs = program_headers(&k);
    let rodata = headers_of(&k, PT_LOAD)
        .into_iter()
        .find(|&i| phdrs[i].flags & elf::PF_X == 0)
        .unwrap();
    let target = phdrs[rodata].paddr;
    let note = headers_of(&k, PT_NOTE)[0];
    let n = phdrs[note].offset as usize;
    // One note: namesz 4, descsz 4, type 18, "Xen\0", the 32-bit entry.
    assert_eq!(&k[n + 12..n + 16], b"Xen\0", "the kernel's first note");
    k[n + 16..n + 20].copy_from_slice(&(target as u32).to_le_bytes());
    kernel_error(
        "entry",
        &k,
        &format!("the PVH entry point {target:#x} is not inside an executable segment"),
    );
}

#[test]
fn kernel_without_loadable_segments() {
    let mut k = embedded_kernel();
    for i in headers_of(&k, PT_LOAD) {
        edit_program_header(&mut k, i, |p| p.kind = 0); // PT_NULL
    }
    kernel_error("noload", &k, "no loadable segment");
}

/// The guest files are checked before KVM is opened: a bad kernel is
/// reported even when there is no KVM to boot it.
#[test]
fn kernel_checked_before_kvm_is_opened() {
    let dir = scratch_dir("beforekvm");
    let path = write(&dir, "kernel", b"");
    expect_host_error(
        &["--kernel", &path, "--kvm", "/nonexistent/kvm"],
        "the file is empty",
    );
}

// Malformed initrds: the VMM reads the whole archive before the
// guest starts, rather than leave a damaged one to the kernel.

fn embedded_initrd() -> Vec<u8> {
    std::fs::read(guest_dir().join("initrd.cpio")).unwrap()
}

fn initrd_error(name: &str, bytes: &[u8], phrase: &str) {
    let dir = scratch_dir(name);
    let path = write(&dir, "initrd", bytes);
    expect_host_error(&["--initrd", &path], phrase);
}

/// A small archive: `bin/` and `bin/init` (300 bytes), then the trailer.
/// The second member's header is at offset 116.
fn small_initrd() -> Vec<u8> {
    let mut a = Vec::new();
    let mut out = |b: &[u8]| a.extend_from_slice(b);
    abi::cpio::write_member(&mut out, 1, "bin", abi::cpio::MODE_DIR | 0o755, b"");
    abi::cpio::write_member(
        &mut out,
        2,
        "bin/init",
        abi::cpio::MODE_FILE | 0o755,
        &[7; 300],
    );
    abi::cpio::write_trailer(&mut out);
    a
}
const SECOND: usize = 116;

/// Offset of header field `i` (after the magic) of the member at `at`.
fn cpio_field(at: usize, i: usize) -> usize {
    at + 6 + 8 * i
}

#[test]
fn initrd_empty() {
    initrd_error(
        "initrdempty",
        b"",
        "the file is empty (an initrd is a cpio newc archive)",
    );
}

#[test]
fn initrd_compressed() {
    let mut gz = vec![0x1f, 0x8b, 0x08, 0x00];
    gz.extend_from_slice(&[0u8; 200]);
    initrd_error("initrdgz", &gz, "compressed with gzip");
}

#[test]
fn initrd_truncated() {
    let a = embedded_initrd();
    initrd_error(
        "initrdtrunc",
        &a[..a.len() / 2],
        "runs past the end of the archive",
    );
}

#[test]
fn initrd_cut_inside_a_header() {
    let a = small_initrd();
    initrd_error(
        "initrdhdr",
        &a[..SECOND + 50],
        "a damaged cpio newc archive: cpio header at offset 116 runs past the end of the archive",
    );
}

#[test]
fn initrd_member_runs_past_the_end() {
    let mut a = small_initrd();
    let at = cpio_field(SECOND, 6); // c_filesize
    a[at..at + 8].copy_from_slice(b"00010000");
    initrd_error(
        "initrddata",
        &a,
        "cpio member at offset 116: its data (65536 bytes) runs past the end of the archive",
    );
}

#[test]
fn initrd_without_trailer() {
    let a = embedded_initrd();
    // The trailer member is the last: a header, "TRAILER!!!\0", padding.
    let trailer = a.len() - (110 + 11usize).next_multiple_of(4);
    assert_eq!(&a[trailer + 110..trailer + 120], b"TRAILER!!!");
    initrd_error("initrdnotrailer", &a[..trailer], "has no TRAILER!!! member");
}

#[test]
fn initrd_huge_namesize() {
    let mut a = small_initrd();
    let at = cpio_field(SECOND, 11); // c_namesize
    a[at..at + 8].copy_from_slice(b"FFFFFFFF");
    initrd_error(
        "initrdname",
        &a,
        "its name (4294967295 bytes) runs past the end of the archive",
    );
}

#[test]
fn initrd_bad_header_field() {
    let mut a = small_initrd();
    a[cpio_field(SECOND, 1) + 2] = b'z'; // c_mode
    initrd_error("initrdhex", &a, "bad cpio header field at offset 116");
}

#[test]
fn initrd_name_not_terminated() {
    let mut a = small_initrd();
    a[SECOND + 110 + 8] = b'!'; // the NUL after "bin/init"
    initrd_error("initrdnul", &a, "bad cpio member name at offset 116");
}

#[test]
fn initrd_bad_magic_after_the_first_member() {
    let mut a = small_initrd();
    a[SECOND + 5] = b'7'; // 070707: the old portable format
    initrd_error(
        "initrdmagic",
        &a,
        "a damaged cpio newc archive: bad cpio magic at offset 116",
    );
}

/// The initrd, too, is read and checked whole before KVM is opened.
#[test]
fn initrd_checked_before_kvm_is_opened() {
    let mut a = small_initrd();
    a.truncate(SECOND + 200);
    let dir = scratch_dir("initrdbeforekvm");
    let path = write(&dir, "initrd", &a);
    expect_host_error(
        &["--initrd", &path, "--kvm", "/nonexistent/kvm"],
        "a damaged cpio newc archive",
    );
}

#[test]
fn initrd_too_large_for_memory() {
    let mut a = Vec::new();
    let mut out = |b: &[u8]| a.extend_from_slice(b);
    abi::cpio::write_member(&mut out, 1, "big", abi::cpio::MODE_FILE, &vec![0; 7 << 20]);
    abi::cpio::write_trailer(&mut out);
    let dir = scratch_dir("initrdbig");
    let path = write(&dir, "initrd", &a);
    expect_host_error(
        &["--initrd", &path, "--memory", "8M"],
        "do not fit in guest RAM above the kernel",
    );
}

#[test]
fn memory_zero() {
    expect_usage_error(&["--memory", "0"], "cannot be zero", None, "vmm --help");
}

#[test]
fn memory_not_parseable() {
    expect_usage_error(&["--memory", "lots"], "not a size", None, "vmm --help");
}

#[test]
fn memory_more_than_the_host_has() {
    expect_usage_error(
        &["--memory", "100000G"],
        "more than this host has",
        None,
        "vmm --help",
    );
}

#[test]
fn memory_more_than_the_layout_supports() {
    expect_usage_error(
        &["--memory", "3073M"],
        "more than the guest layout supports",
        None,
        "vmm --help",
    );
}

#[test]
fn bad_flag() {
    expect_usage_error(
        &["--no-such-flag"],
        "vmm: unexpected argument '--no-such-flag' found",
        Some("vmm [OPTIONS]"),
        "vmm --help",
    );
}

#[test]
fn a_usage_error_in_ctl_names_what_is_missing_and_shows_ctl_s_usage() {
    expect_usage_error(
        &["ctl", "ps"],
        "vmm: the following required arguments were not provided:\n  --api-sock <PATH>\n",
        Some("vmm ctl --api-sock <PATH> <CMD> [ARGS]..."),
        "vmm ctl --help",
    );
    expect_usage_error(
        &["ctl", "--api-sock", "/tmp/x.sock"],
        "  <CMD>\n",
        Some("vmm ctl --api-sock <PATH> <CMD> [ARGS]..."),
        "vmm ctl --help",
    );
    expect_usage_error(
        &["export-guest"],
        "  <DIR>",
        Some("vmm export-guest <DIR>"),
        "vmm export-guest --help",
    );
}

#[test]
fn serial_and_debugcon_each_name_what_they_accept() {
    // Each option's error lists exactly what that option takes, as its
    // --help line and README do.
    expect_usage_error(
        &["--timeout", "5", "--serial", "stderr"],
        "'stderr' is not a console destination; --serial takes stdio, none or file:PATH",
        None,
        "vmm --help",
    );
    expect_usage_error(
        &["--timeout", "5", "--debugcon", "stdio"],
        "'stdio' is not a debug console destination; --debugcon takes none, stderr or file:PATH",
        None,
        "vmm --help",
    );
    expect_usage_error(
        &["--serial", "file:"],
        "file: needs a path",
        None,
        "vmm --help",
    );
    let help = run_vmm(&["--help"], b"", Duration::from_secs(10));
    assert_eq!(help.code, 0, "{}", help.dump());
    let flat = help.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("--serial <SPEC> Where the serial console goes: stdio"),
        "{flat}"
    );
    assert!(flat.contains("none, or file:PATH"), "{flat}");
    assert!(
        flat.contains("--debugcon <SPEC> Where the kernel's debug console (port 0xE9) goes: none, stderr or file:PATH"),
        "{flat}"
    );
}

#[test]
fn api_sock_leaves_a_regular_file_alone() {
    require_kvm();
    let dir = scratch_dir("apifile");
    let path = write(&dir, "notes.txt", b"precious data\n");
    expect_host_error(
        &["--timeout", "5", "--api-sock", &path],
        &format!("--api-sock {path}: a regular file is there, not a socket"),
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"precious data\n");
}

#[test]
fn api_sock_leaves_a_directory_alone() {
    require_kvm();
    let dir = scratch_dir("apidir");
    let sub = dir.join("vm.sock");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("inside"), b"x").unwrap();
    let path = sub.to_str().unwrap();
    expect_host_error(
        &["--timeout", "5", "--api-sock", path],
        &format!("--api-sock {path}: a directory is there, not a socket"),
    );
    assert_eq!(std::fs::read(sub.join("inside")).unwrap(), b"x");
}

#[test]
fn api_sock_refuses_a_socket_another_process_serves() {
    require_kvm();
    let dir = scratch_dir("apilive");
    let sock = dir.join("vm.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let path = sock.to_str().unwrap();
    expect_host_error(
        &["--timeout", "5", "--api-sock", path],
        &format!("--api-sock {path}: another VM is serving it"),
    );
    // Still there and still served by its owner.
    let _client = std::os::unix::net::UnixStream::connect(&sock).expect("still served");
    assert!(listener.accept().is_ok());
}

#[test]
fn api_sock_replaces_a_stale_socket() {
    use std::os::unix::fs::FileTypeExt;
    require_kvm();
    let dir = scratch_dir("apistale");
    let sock = dir.join("vm.sock");
    // A socket file nobody listens on (its listener is gone).
    drop(std::os::unix::net::UnixListener::bind(&sock).unwrap());
    assert!(
        std::fs::symlink_metadata(&sock)
            .unwrap()
            .file_type()
            .is_socket()
    );
    let path = sock.to_str().unwrap();
    let mut s = Session::start(&["--api-sock", path]);
    s.expect("$ ");
    let ps = run_vmm(
        &["ctl", "--api-sock", path, "ps"],
        b"",
        Duration::from_secs(20),
    );
    assert_eq!(ps.code, 0, "{}", ps.dump());
    assert!(
        parse_ps(&ps.stdout).iter().any(|r| r.name == "sh"),
        "{}",
        ps.dump()
    );
    let quit = run_vmm(
        &["ctl", "--api-sock", path, "quit"],
        b"",
        Duration::from_secs(20),
    );
    assert_eq!(quit.code, 0, "{}", quit.dump());
    let r = s.finish();
    assert_eq!(r.code, USER_QUIT, "{}", r.dump());
    assert!(!sock.exists(), "the socket is removed at exit");
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
    // as "not a device" first). CI runs as root with such a /dev/kvm, and
    // allows no skips.
    if !is_root() {
        skip("needs root to run vmm doctor as another user");
        return;
    }
    use std::os::unix::fs::MetadataExt;
    let kvm = std::fs::metadata("/dev/kvm").expect("/dev/kvm");
    if kvm.mode() & 0o006 != 0 {
        skip("/dev/kvm is open to everyone here; nothing to refuse");
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
