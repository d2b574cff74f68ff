//! `ls [-l] [-a] [PATH...]`: the entries of each directory (a file: its
//! own name), sorted by name, one per line; without `-a`, names starting
//! with `.` are left out. `-l` shows each entry's kind (`d` a directory,
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
    for &a in &args[1..] {
        match a {
            "-l" => long = true,
            "-a" => all = true,
            "-la" | "-al" => (long, all) = (true, true),
            _ if a.starts_with('-') && a.len() > 1 => {
                eprintln!("ls: {a}: unknown option\nusage: ls [-l] [-a] [PATH...]");
                return 2;
            }
            _ => paths.push(a),
        }
    }
    if paths.is_empty() {
        paths.push(".");
    }
    let mut status = 0;
    let mut out = String::new();
    let many = paths.len() > 1;
    for (i, path) in paths.iter().enumerate() {
        let st = match ulib::stat(path) {
            Ok(st) => st,
            Err(e) => {
                eprintln!("ls: {path}: {e}");
                status = 1;
                continue;
            }
        };
        if FileKind::from_raw(st.kind) != Some(FileKind::Directory) {
            line(&mut out, long, FileKind::Regular, st.size, path);
            continue;
        }
        let mut entries = match ulib::read_dir(path) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("ls: {path}: {e}");
                status = 1;
                continue;
            }
        };
        entries.retain(|e| all || !e.name.starts_with('.'));
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        if many {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&format!("{path}:\n"));
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
