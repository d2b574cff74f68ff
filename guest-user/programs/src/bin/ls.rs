//! `ls [-l] [-a] [PATH...]`: the entries of each directory (a file: its
//! own name), sorted by name, one per line; without `-a`, names starting
//! with `.` are left out. Paths that do not exist are reported first (the
//! status is then 1), then the files named, then each directory, under a
//! `PATH:` line when there are several paths. `-l` shows each entry's kind (`d` a directory,
//! `-` a file), its size in bytes (a directory's: its entries) and name.
#![no_std]
#![no_main]

use abi::fs::FileKind;
use ulib::prelude::*;
use ulib::{eprintln, print};

ulib::entry!(main);

fn main(args: &[&str]) -> i32 {
    let (mut long, mut all) = (false, false);
    let mut paths = Vec::new();
    for &a in args.get(1..).unwrap_or_default() {
        match a.strip_prefix('-').filter(|o| !o.is_empty()) {
            Some(opts) if opts.chars().all(|c| c == 'l' || c == 'a') => {
                long |= opts.contains('l');
                all |= opts.contains('a');
            }
            Some(_) => {
                eprintln!("ls: {a}: unknown option\nusage: ls [-l] [-a] [PATH...]");
                return 2;
            }
            None => paths.push(a),
        }
    }
    if paths.is_empty() {
        paths.push(".");
    }
    let mut status = 0;
    // Errors first, then the files named, then each directory's listing
    // (after a blank line and `PATH:` when there are several paths).
    let (mut files, mut dirs) = (Vec::new(), Vec::new());
    for path in &paths {
        match ulib::stat(path) {
            Ok(st) if FileKind::from_raw(st.kind) == Some(FileKind::Directory) => dirs.push(*path),
            Ok(st) => files.push((*path, st.size)),
            Err(e) => {
                eprintln!("ls: {path}: {e}");
                status = 1;
            }
        }
    }
    let mut out = String::new();
    for (path, size) in &files {
        line(&mut out, long, FileKind::Regular, *size, path);
    }
    let many = paths.len() > 1;
    // Something was listed: the next directory's starts with a blank line.
    let mut listed = !files.is_empty();
    for path in dirs {
        let mut entries = match ulib::read_dir(path) {
            Ok(e) => e,
            Err(e) => {
                // What came before goes out first, so the error shows in
                // its place.
                print!("{out}");
                out.clear();
                eprintln!("ls: {path}: {e}");
                status = 1;
                continue;
            }
        };
        entries.retain(|e| all || !e.name.starts_with('.'));
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        if many {
            if listed {
                out.push('\n');
            }
            out.push_str(&format!("{path}:\n"));
            listed = true;
        }
        for e in entries {
            let size = if long {
                let full = format!("{}/{}", path.trim_end_matches('/'), e.name);
                ulib::stat(&full).map_or(0, |s| s.size)
            } else {
                0
            };
            line(&mut out, long, e.kind, size, &e.name);
        }
    }
    print!("{out}");
    status
}

fn line(out: &mut String, long: bool, kind: FileKind, size: u64, name: &str) {
    if long {
        let k = if kind == FileKind::Directory {
            'd'
        } else {
            '-'
        };
        out.push_str(&format!("{k} {size:>8} {name}\n"));
    } else {
        out.push_str(name);
        out.push('\n');
    }
}
