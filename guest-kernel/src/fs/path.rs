//! Paths as the file calls take them (see [`abi::fs`]): their checks,
//! their names one by one, and the absolute form the host is shown.

use abi::fs::NAME_MAX;
use abi::sys::MAX_PATH;
use abi::sys::errno::{ENAMETOOLONG, ENOENT};
use alloc::string::String;
use alloc::vec::Vec;

/// A path checked and taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path<'a> {
    /// It starts at `/` (else at the working directory).
    pub absolute: bool,
    /// Its names, in order (`.` and `..` included; empty ones dropped).
    pub names: Vec<&'a str>,
    /// It ends in `/` (or is `/`, `.`, `..`): it must name a directory.
    pub dir: bool,
}

/// Checks `path` and splits it: `ENOENT` for an empty one, `ENAMETOOLONG`
/// for one longer than [`MAX_PATH`] or with a name longer than
/// [`NAME_MAX`].
pub fn parse(path: &str) -> Result<Path<'_>, i64> {
    if path.is_empty() {
        return Err(ENOENT);
    }
    if path.len() > MAX_PATH {
        return Err(ENAMETOOLONG);
    }
    let names: Vec<&str> = path.split('/').filter(|n| !n.is_empty()).collect();
    if names.iter().any(|n| n.len() > NAME_MAX) {
        return Err(ENAMETOOLONG);
    }
    let dir = path.ends_with('/') || matches!(names.last(), None | Some(&".") | Some(&".."));
    Ok(Path {
        absolute: path.starts_with('/'),
        names,
        dir,
    })
}

/// `path` from directory `cwd` (absolute), as one absolute path with no
/// `.`, `..` or repeated slash (there are no links, so this is where the
/// path leads).
pub fn absolute(cwd: &str, path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let start = if path.starts_with('/') { "" } else { cwd };
    for name in start.split('/').chain(path.split('/')) {
        match name {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            n => parts.push(n),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    for p in &parts {
        out.push('/');
        out.push_str(p);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn paths_split_into_names() {
        let p = parse("/etc//motd").unwrap();
        assert!(p.absolute && !p.dir);
        assert_eq!(p.names, vec!["etc", "motd"]);
        let p = parse("a/./b/../c/").unwrap();
        assert!(!p.absolute && p.dir);
        assert_eq!(p.names, vec!["a", ".", "b", "..", "c"]);
        for d in ["/", ".", "..", "x/."] {
            assert!(parse(d).unwrap().dir, "{d}");
        }
        assert_eq!(parse(""), Err(ENOENT));
        assert_eq!(parse(&"a/".repeat(200)), Err(ENAMETOOLONG));
        assert_eq!(parse(&"n".repeat(NAME_MAX + 1)), Err(ENAMETOOLONG));
        assert!(parse(&"n".repeat(NAME_MAX)).is_ok());
    }

    #[test]
    fn absolute_paths() {
        assert_eq!(absolute("/", "etc/motd"), "/etc/motd");
        assert_eq!(absolute("/tmp", "../etc/./motd"), "/etc/motd");
        assert_eq!(absolute("/tmp", "/bin//sh"), "/bin/sh");
        assert_eq!(absolute("/", "../.."), "/");
        assert_eq!(absolute("/a/b", ".."), "/a");
        assert_eq!(absolute("/a", "b/"), "/a/b");
    }
}
