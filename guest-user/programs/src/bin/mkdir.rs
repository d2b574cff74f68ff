//! `mkdir [-p] DIR...`: make each directory. With `-p`, the directories
//! on its path are made first as needed, and one that exists already is
//! no error. One that cannot be made is reported; the status is then 1.
#![no_std]
#![no_main]

use abi::fs::FileKind;
use programs::files::{parse_flags, prefixes};
use ulib::prelude::*;
use ulib::{Errno, eprintln};

ulib::entry!(main);

const USAGE: &str = "usage: mkdir [-p] DIR...";

fn main(args: &[&str]) -> i32 {
    let flags = match parse_flags(args.get(1..).unwrap_or_default(), "p") {
        Ok(f) => f,
        Err(bad) => {
            eprintln!("mkdir: {bad}: unknown option\n{USAGE}");
            return 2;
        }
    };
    if flags.operands.is_empty() {
        eprintln!("{USAGE}");
        return 2;
    }
    let parents = flags.has('p');
    programs::pidcmd::run_each("mkdir", &flags.operands, |dir| {
        let r = if parents {
            prefixes(dir).into_iter().try_for_each(make_or_keep)
        } else {
            ulib::mkdir(dir)
        };
        r.map_err(|e| e.to_string())
    })
}

/// Makes directory `dir`, unless it exists as one.
fn make_or_keep(dir: &str) -> Result<(), Errno> {
    match ulib::mkdir(dir) {
        Err(Errno::EEXIST) => match ulib::stat(dir) {
            Ok(st) if FileKind::from_raw(st.kind) == Some(FileKind::Directory) => Ok(()),
            _ => Err(Errno::EEXIST),
        },
        r => r,
    }
}
