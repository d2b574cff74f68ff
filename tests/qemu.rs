//! Cross-check against a VMM we did not write: the very same kernel.elf and
//! initrd.cpio boot under QEMU's microvm machine through PVH, with KVM and
//! with TCG (software emulation).

mod common;

use std::process::{Command, Stdio};

use common::*;

const QEMU: &str = "qemu-system-x86_64";
/// The CPU QEMU models: its default, qemu64, less SSE3 (`pni`). KVM does
/// not offer SSE3 on every host (a PVM-based KVM lacks it), and QEMU warns
/// when KVM cannot give a feature the model has; the guest, built for
/// x86_64-unknown-none, uses no SSE at all. scripts/qemu-boot and
/// scripts/bench use the same model.
const CPU: &str = "qemu64,-pni";

/// Whether QEMU is installed; when it is not, the calling test is skipped
/// (see `common::skip`: CI installs QEMU and allows no skips).
fn have_qemu() -> bool {
    let found = Command::new(QEMU)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        skip(&format!(
            "{QEMU} is not installed (apt-get install qemu-system-x86)"
        ));
    }
    found
}

/// Boots the exported guest under QEMU with `accel`, kernel command line
/// `append` and console `input` (a printf format). QEMU itself must print
/// nothing on stderr (no warning about the CPU it was asked to model).
fn qemu_boot(accel: &str, append: &str, input: &str) -> (i32, String) {
    let dir = guest_dir();
    let script = format!(
        "printf '{input}' | timeout 60 {QEMU} -M microvm,x-option-roms=off,rtc=off \
         -accel {accel} -cpu {CPU} -m 128M -nodefaults -no-user-config -nographic -no-reboot \
         -kernel {k} -initrd {i} -append '{append}' -serial stdio \
         -device isa-debug-exit,iobase=0xf4,iosize=4 -monitor none",
        k = dir.join("kernel.elf").display(),
        i = dir.join("initrd.cpio").display(),
    );
    let out = Command::new("sh")
        .args(["-c", &script])
        .output()
        .expect("run qemu");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.is_empty(),
        "qemu -accel {accel} wrote to stderr:\n{stderr}\n--- stdout ---\n{stdout}"
    );
    (out.status.code().unwrap_or(-1), stdout)
}

fn cross_boot(accel: &str) {
    if !have_qemu() {
        return;
    }
    // The kernel monitor: the timer ticks.
    let (code, stdout) = qemu_boot(
        accel,
        "hz=100 init=kmon",
        "uptime\\nsleep 200\\nuptime\\npoweroff 3\\n",
    );
    // isa-debug-exit exits with (value << 1) | 1.
    assert_eq!(
        code,
        (3 << 1) | 1,
        "qemu -accel {accel}: exit {code}\n{stdout}"
    );
    assert!(
        stdout.contains("kernel: "),
        "banner under {accel}:\n{stdout}"
    );
    let last = lines_starting(&stdout, "uptime: ");
    assert_eq!(last.len(), 2, "two uptime lines under {accel}:\n{stdout}");
    let ticks: u64 = last[1].split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(
        ticks >= 15,
        "the timer ticks under {accel} (100 Hz, 200 ms): {stdout}"
    );

    // User space: init, the shell, a program, ps.
    let (code, stdout) = qemu_boot(accel, "", "echo hi from qemu\\nps\\nexit 4\\n");
    assert_eq!(
        code,
        (4 << 1) | 1,
        "qemu -accel {accel}: exit {code}\n{stdout}"
    );
    assert!(has_line(&stdout, "hi from qemu"), "{stdout}");
    let names: Vec<String> = parse_ps(&stdout).into_iter().map(|r| r.name).collect();
    for name in ["init", "sh", "ps"] {
        assert!(
            names.iter().any(|n| n == name),
            "{name} in ps under {accel}:\n{stdout}"
        );
    }
}

#[test]
fn boots_under_qemu_kvm() {
    require_kvm();
    cross_boot("kvm");
}

#[test]
fn boots_under_qemu_tcg() {
    cross_boot("tcg");
}

#[test]
fn qemu_sees_the_same_crash_report() {
    if !have_qemu() {
        return;
    }
    let (_, stdout) = qemu_boot("tcg", "crash=ud init=kmon", "");
    assert!(
        stdout.contains("KERNEL CRASH: invalid opcode (#UD, vector 6)"),
        "{stdout}"
    );
}

#[test]
fn syscall_instruction_entry_under_qemu() {
    // `syscall=insn` makes the stub use the `syscall` instruction, which
    // the PVM KVM of our CI cannot run but QEMU's TCG (and VMX/SVM KVM)
    // can: the whole hostile battery must pass through it.
    if !have_qemu() {
        return;
    }
    let (_, listed) = qemu_boot("tcg", "init=/bin/usertests -- --list", "");
    let (code, stdout) = qemu_boot("tcg", "syscall=insn init=/bin/usertests", "");
    // With 128 MiB, sbrk_exhaustion skips (as under vmm).
    check_usertests(&stdout, &usertests_listed(&listed), &["sbrk_exhaustion"]);
    assert_eq!(code, 1, "usertests exits 0: {stdout}");
}

#[test]
fn without_qemu_a_test_is_a_recorded_skip_and_under_vmm_no_skip_a_failure() {
    // Runs one QEMU test of this very binary again with a PATH where no
    // QEMU is.
    let dir = scratch_dir("noqemu");
    let log = dir.join("skips.txt");
    let rerun = |no_skip: bool| {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args(["boots_under_qemu_tcg", "--exact"])
            .env("PATH", &dir)
            .env(SKIP_LOG, &log)
            .env_remove(NO_SKIP);
        if no_skip {
            cmd.env(NO_SKIP, "1");
        }
        let out = cmd.output().expect("run this test binary");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    let (ok, text) = rerun(false);
    assert!(ok, "{text}");
    let skips = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(
        skips,
        format!(
            "qemu::boots_under_qemu_tcg: {QEMU} is not installed (apt-get install qemu-system-x86)\n"
        ),
        "{text}"
    );
    std::fs::remove_file(&log).unwrap();
    let (ok, text) = rerun(true);
    assert!(!ok, "{text}");
    assert!(text.contains("VMM_NO_SKIP is set"), "{text}");
    assert!(!log.exists(), "a failure is not a skip: {text}");
}
