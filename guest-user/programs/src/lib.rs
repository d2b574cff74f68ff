//! Logic the programs share, kept apart from their `main`s so it can be
//! unit-tested on the host (`cargo test --lib --target x86_64-unknown-linux-gnu`).
#![cfg_attr(not(test), no_std)]
#![deny(missing_docs)]

extern crate alloc;

pub mod crash;
pub mod edit;
pub mod files;
pub mod pidcmd;
pub mod ps;
pub mod shell;

use ulib::WaitStatus;

/// How a finished child is reported: `done` (exit 0, when `zero_as_done`),
/// `exit N`, the fault (`page fault`) or the signal (`interrupt`, `killed`)
/// that ended it.
pub fn describe_status(status: WaitStatus, zero_as_done: bool) -> alloc::string::String {
    use alloc::format;
    match status.code() {
        Some(0) if zero_as_done => "done".into(),
        Some(code) => format!("exit {code}"),
        None => status.describe().into(),
    }
}

/// The status a shell keeps as `$?` after a child ended this way: its exit
/// code, or 128 + the signal that ended it.
pub fn status_code(status: WaitStatus) -> i32 {
    i32::from(status.shell_code())
}

/// Parses a duration in seconds, fractions allowed (`2`, `0.2`, `.5`),
/// into milliseconds (digits past the third decimal are dropped).
pub fn parse_seconds(s: &str) -> Option<u64> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(frac) {
        return None;
    }
    let secs: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut ms = 0;
    for (i, b) in frac.bytes().take(3).enumerate() {
        ms += u64::from(b - b'0') * [100, 10, 1][i];
    }
    secs.checked_mul(1000)?.checked_add(ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ulib::Cause;

    #[test]
    fn seconds() {
        assert_eq!(parse_seconds("2"), Some(2000));
        assert_eq!(parse_seconds("0.2"), Some(200));
        assert_eq!(parse_seconds(".05"), Some(50));
        assert_eq!(parse_seconds("1.2345"), Some(1234));
        assert_eq!(parse_seconds("3."), Some(3000));
        for bad in ["", ".", "-1", "1e3", "abc", "1.2.3"] {
            assert_eq!(parse_seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn statuses() {
        assert_eq!(describe_status(WaitStatus::exited(0), true), "done");
        assert_eq!(describe_status(WaitStatus::exited(0), false), "exit 0");
        assert_eq!(describe_status(WaitStatus::exited(3), true), "exit 3");
        assert_eq!(
            describe_status(WaitStatus::ended_by(Cause::Killed), true),
            "killed"
        );
        assert_eq!(
            describe_status(WaitStatus::ended_by(Cause::PageFault), true),
            "page fault"
        );
        assert_eq!(
            describe_status(WaitStatus::signaled(ulib::signal::SIGINT), true),
            "interrupt"
        );
        assert_eq!(status_code(WaitStatus::exited(42)), 42);
        assert_eq!(status_code(WaitStatus::ended_by(Cause::Killed)), 137);
        assert_eq!(status_code(WaitStatus::ended_by(Cause::PageFault)), 139);
    }
}
