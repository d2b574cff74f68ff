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
