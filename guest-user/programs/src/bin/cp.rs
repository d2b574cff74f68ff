//! `cp SRC DST`, `cp SRC... DIR`: copy file SRC to DST (made, or emptied
//! first if it exists); when the last operand is a directory, each SRC is
//! copied into it under its own name. A file that cannot be copied is
//! reported and skipped; the status is then 1.
#![no_std]
#![no_main]

use abi::fs::{FileKind, O_CLOEXEC, O_CREAT, O_RDONLY, O_TRUNC, O_WRONLY};
use programs::files::{CHUNK, basename, join, parse_flags};
use ulib::io::write_all;
use ulib::prelude::*;
use ulib::{Fd, eprintln};

ulib::entry!(main);

const USAGE: &str = "usage: cp SRC DST, cp SRC... DIR";

fn main(args: &[&str]) -> i32 {
    let ops = match parse_flags(args.get(1..).unwrap_or_default(), "") {
        Ok(f) => f.operands,
        Err(bad) => {
            eprintln!("cp: {bad}: unknown option\n{USAGE}");
            return 2;
        }
    };
    let Some((&dst, srcs)) = ops.split_last().filter(|(_, s)| !s.is_empty()) else {
        eprintln!("{USAGE}");
        return 2;
    };
    let into = is_dir(dst);
    if srcs.len() > 1 && !into {
        eprintln!("cp: {dst}: {}", ulib::Errno::ENOTDIR);
        return 1;
    }
    let mut status = 0;
    for &src in srcs {
        let target = if into {
            join(dst, basename(src))
        } else {
            dst.to_string()
        };
        if let Err(msg) = copy(src, &target) {
            eprintln!("cp: {msg}");
            status = 1;
        }
    }
    status
}

/// Whether `path` is a directory.
fn is_dir(path: &str) -> bool {
    ulib::stat(path).is_ok_and(|st| FileKind::from_raw(st.kind) == Some(FileKind::Directory))
}

/// Closes an fd when dropped.
struct Closing(Fd);

impl Drop for Closing {
    fn drop(&mut self) {
        let _ = ulib::close(self.0);
    }
}

/// Copies file `src` to `dst`; `Err`: `PATH: reason`.
fn copy(src: &str, dst: &str) -> Result<(), String> {
    let fail = |path: &str, e: ulib::Errno| format!("{path}: {e}");
    let from = Closing(ulib::open(src, O_RDONLY | O_CLOEXEC).map_err(|e| fail(src, e))?);
    let st = ulib::fstat(from.0).map_err(|e| fail(src, e))?;
    if FileKind::from_raw(st.kind) == Some(FileKind::Directory) {
        return Err(fail(src, ulib::Errno::EISDIR));
    }
    // Emptying the target first would lose the source.
    if ulib::stat(dst).is_ok_and(|d| d.ino == st.ino) {
        return Err(format!("{src} and {dst} are the same file"));
    }
    let to = Closing(
        ulib::open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC).map_err(|e| fail(dst, e))?,
    );
    let mut buf = [0u8; CHUNK];
    loop {
        match ulib::read(from.0, &mut buf).map_err(|e| fail(src, e))? {
            0 => return Ok(()),
            n => write_all(to.0, &buf[..n]).map_err(|e| fail(dst, e))?,
        }
    }
}
