//! `mv SRC DST`, `mv SRC... DIR`: rename SRC to DST (a file there is
//! replaced, or an empty directory by a directory); when the last operand
//! is a directory, each SRC moves into it under its own name. One that
//! cannot be moved is reported; the status is then 1.
#![no_std]
#![no_main]

use abi::fs::FileKind;
use programs::files::{basename, join, parse_flags};
use ulib::eprintln;
use ulib::prelude::*;

ulib::entry!(main);

const USAGE: &str = "usage: mv SRC DST, mv SRC... DIR";

fn main(args: &[&str]) -> i32 {
    let ops = match parse_flags(args.get(1..).unwrap_or_default(), "") {
        Ok(f) => f.operands,
        Err(bad) => {
            eprintln!("mv: {bad}: unknown option\n{USAGE}");
            return 2;
        }
    };
    let Some((&dst, srcs)) = ops.split_last().filter(|(_, s)| !s.is_empty()) else {
        eprintln!("{USAGE}");
        return 2;
    };
    let into =
        ulib::stat(dst).is_ok_and(|st| FileKind::from_raw(st.kind) == Some(FileKind::Directory));
    if srcs.len() > 1 && !into {
        eprintln!("mv: {dst}: {}", ulib::Errno::ENOTDIR);
        return 1;
    }
    programs::pidcmd::run_each("mv", srcs, |src| {
        let target = if into {
            join(dst, basename(src))
        } else {
            dst.to_string()
        };
        ulib::rename(src, &target).map_err(|e| e.to_string())
    })
}
