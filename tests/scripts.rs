//! The helper scripts under `scripts/`: what they do when a tool they use
//! is missing (they install nothing).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// The repository's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The Python interpreter itself (not a shim that needs PATH), so a
/// script can run with a PATH of the test's choosing.
fn python() -> String {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 runs the scripts");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A directory to put first on PATH whose `apt-get` and `sudo` only
/// record that they were run, in the file the second value names.
fn fake_installers(name: &str) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch_dir(name);
    let called = dir.join("installer-called");
    for tool in ["apt-get", "sudo"] {
        let path = dir.join(tool);
        std::fs::write(
            &path,
            format!("#!/bin/sh\necho \"{tool} $*\" >> {}\n", called.display()),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    (dir, called)
}

#[test]
fn timeline_without_rsvg_convert_installs_nothing_and_says_what_to_install() {
    let (bin, called) = fake_installers("timeline-norsvg");
    let trace = bin.join("run.json");
    std::fs::write(
        &trace,
        r#"[{"ph":"M","pid":1,"name":"process_name","args":{"name":"init"}},
{"ph":"X","pid":1,"ts":0,"dur":1000,"name":"Running"}]"#,
    )
    .unwrap();
    let timeline = |out: &Path| {
        Command::new(python())
            .arg(root().join("scripts/timeline"))
            .arg(&trace)
            .arg(out)
            .env("PATH", &bin)
            .output()
            .expect("run scripts/timeline")
    };
    // PNG: rsvg-convert is not on this PATH.
    let png = bin.join("run.png");
    let out = timeline(&png);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        !called.exists(),
        "it ran an installer: {}",
        std::fs::read_to_string(&called).unwrap_or_default()
    );
    assert!(stderr.contains("rsvg-convert"), "{stderr}");
    assert!(stderr.contains("apt-get install librsvg2-bin"), "{stderr}");
    assert!(stderr.contains(".svg"), "{stderr}");
    assert!(!png.exists());
    // SVG needs nothing.
    let svg = bin.join("run.svg");
    let out = timeline(&svg);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.starts_with("<svg ") && text.contains("init (pid 1)"),
        "{text}"
    );
}

/// Runs `scripts/bench ARGS` with the environment changed by `env`.
fn bench(args: &[&str], env: &[(&str, Option<&str>)]) -> (i32, String) {
    let mut cmd = Command::new(python());
    cmd.arg(root().join("scripts/bench")).args(args);
    for (k, v) in env {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let out = cmd.output().expect("run scripts/bench");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn bench_fails_on_a_ring0_path_that_grew_or_shrank_by_more_than_its_slack() {
    if !Command::new("qemu-system-x86_64")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        skip("qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)");
        return;
    }
    let dir = scratch_dir("bench-ring0");
    let base = dir.join("baseline.json");
    let base_s = base.to_str().unwrap();
    let guest = guest_dir().to_str().unwrap();
    // This kernel's own counts: no difference.
    let args = ["--ring0", "--baseline", base_s, "--guest", guest];
    let (code, text) = bench(&[&args[..], &["--update-ring0"]].concat(), &[]);
    assert_eq!(code, 0, "{text}");
    // One path grew by 3 instructions, one shrank by 3 rep elements, and
    // one grew by 2, within the slack.
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&base).unwrap()).unwrap();
    let count = |v: &serde_json::Value, path: &str, field: &str| v[path][field].as_i64().unwrap();
    let getpid = count(&v, "getpid", "insns");
    let fault = count(&v, "fault_data", "rep_elements");
    let switch = count(&v, "switch_yield", "insns");
    v["getpid"]["insns"] = (getpid - 3).into();
    v["fault_data"]["rep_elements"] = (fault + 3).into();
    v["switch_yield"]["insns"] = (switch - 2).into();
    std::fs::write(&base, v.to_string()).unwrap();
    let (code, text) = bench(&args, &[]);
    assert_eq!(code, 1, "{text}");
    let grew = format!("getpid: 3 instructions more ({} -> {getpid})", getpid - 3);
    let shrank = format!(
        "fault_data: 3 rep elements fewer ({} -> {fault})",
        fault + 3
    );
    assert!(text.contains(&grew), "{grew:?} in:\n{text}");
    assert!(text.contains(&shrank), "{shrank:?} in:\n{text}");
    assert!(!text.contains("switch_yield: "), "{text}");
    assert!(
        text.contains(&format!(
            "scripts/bench --ring0 --update-ring0 --baseline {base_s}"
        )),
        "{text}"
    );
}

#[test]
fn bench_without_qemu_says_so_and_fails_under_vmm_no_skip() {
    // A PATH with no QEMU, and no cargo either: under VMM_NO_SKIP it fails
    // before it builds anything.
    let empty = scratch_dir("bench-noqemu");
    let path = ("PATH", Some(empty.to_str().unwrap()));
    let guest = guest_dir().to_str().unwrap();
    let (code, text) = bench(
        &["--ring0", "--guest", guest],
        &[path, ("VMM_NO_SKIP", None)],
    );
    assert_eq!(code, 1, "--ring0 has nothing to do without QEMU:\n{text}");
    assert!(text.contains("NO RING-0 CHECK"), "{text}");
    assert!(text.contains("apt-get install qemu-system-x86"), "{text}");
    let (code, text) = bench(&["--quick"], &[path, ("VMM_NO_SKIP", Some("1"))]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("NO RING-0 CHECK"), "{text}");
    assert!(text.contains("VMM_NO_SKIP is set"), "{text}");
}

#[test]
fn readme_figures_are_what_scripts_figures_writes() {
    // README's figures come from docs/figures.json (a full bench run) and
    // the ring-0 baseline (checked against the kernel by scripts/bench).
    let out = Command::new(python())
        .arg(root().join("scripts/figures"))
        .arg("--check")
        .output()
        .expect("run scripts/figures");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
