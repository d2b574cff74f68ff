//! A process's files as people read them: one row per open fd, for the
//! listing of `vmm ctl files` and the one line per process of the
//! post-mortem and Ctrl-A p. The rows show what the guest wrote without
//! trusting it: a kind this VMM does not know is shown by its number, and
//! control characters in names are escaped (a name cannot break a line or
//! drive the terminal).

use std::borrow::Cow;
use std::fmt::Write;

use abi::fs::{FdInfo, FileKind, FilesInfo, FlagsText};
use abi::proc::{ProcInfo, ProcState};

/// One open fd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FdRow {
    /// Its number.
    pub fd: u64,
    /// What it refers to: a [`FileKind::name`], or `kind N` for a value
    /// this VMM does not know.
    pub kind: String,
    /// Its flags as [`FlagsText`] writes them (`r`, `w,append`, ...).
    pub flags: String,
    /// A pipe's number (both ends have it), a file's or directory's node
    /// number; 0 for the console.
    pub id: u64,
    /// A file's or directory's offset, as of the last call through it.
    pub offset: u64,
    /// The path a file or directory was opened by ("" for the others).
    pub path: String,
}

impl FdRow {
    /// The row of fd `fd`, whose record is `info`.
    pub fn new(fd: usize, info: &FdInfo) -> FdRow {
        FdRow {
            fd: fd as u64,
            kind: kind_text(info.kind),
            flags: FlagsText(info.flags).to_string(),
            id: u64::from(info.id),
            offset: info.offset,
            path: info.path().to_string(),
        }
    }

    /// Its kind, when it is one this VMM knows.
    fn file_kind(&self) -> Option<FileKind> {
        FileKind::ALL
            .iter()
            .copied()
            .find(|k| k.name() == self.kind)
    }

    /// What it refers to, for the listing: nothing more for the console,
    /// `pipe 0x1a2b`, `/tmp/out  offset 120`.
    pub fn target(&self) -> String {
        match self.file_kind() {
            Some(FileKind::Console) => String::new(),
            Some(FileKind::PipeRead | FileKind::PipeWrite) => format!("pipe {:#x}", self.id),
            Some(FileKind::Regular | FileKind::Directory) => {
                format!("{}  offset {}", shown_path(&self.path), self.offset)
            }
            _ => {
                let mut s = format!("id {}  offset {}", self.id, self.offset);
                if !self.path.is_empty() {
                    let _ = write!(s, "  {}", shown_path(&self.path));
                }
                s
            }
        }
    }

    /// The short form, after its number: `console`, `pipe 0x1a2b (r)`,
    /// `/tmp/out (w,append, offset 120)`, `directory /tmp (r, offset 2)`.
    pub fn compact(&self) -> String {
        match self.file_kind() {
            Some(FileKind::Console) if self.flags == "rw" => "console".into(),
            Some(FileKind::Console) => format!("console ({})", self.flags),
            Some(FileKind::PipeRead | FileKind::PipeWrite) => {
                format!("pipe {:#x} ({})", self.id, self.flags)
            }
            Some(FileKind::Regular) => format!(
                "{} ({}, offset {})",
                shown_path(&self.path),
                self.flags,
                self.offset
            ),
            Some(FileKind::Directory) => format!(
                "directory {} ({}, offset {})",
                shown_path(&self.path),
                self.flags,
                self.offset
            ),
            _ => format!(
                "{} ({}, id {}, offset {})",
                self.kind, self.flags, self.id, self.offset
            ),
        }
    }
}

/// The word for a raw [`FdInfo::kind`]: [`FileKind::name`], or `kind N`.
pub fn kind_text(raw: u8) -> String {
    match FileKind::from_raw(raw) {
        Some(k) => k.name().into(),
        None => format!("kind {raw}"),
    }
}

/// The open fds of `files`, in order (closed ones are left out).
pub fn open_fds(files: &FilesInfo) -> Vec<FdRow> {
    files
        .fds
        .iter()
        .enumerate()
        .filter(|(_, info)| info.kind != FileKind::None as u8)
        .map(|(fd, info)| FdRow::new(fd, info))
        .collect()
}

/// `text` with its control characters escaped (`\n`, `\u{1b}`).
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_debug().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// A path as shown: [`printable`], `?` when empty (the kernel did not
/// say).
pub fn shown_path(path: &str) -> Cow<'_, str> {
    if path.is_empty() {
        Cow::Borrowed("?")
    } else {
        printable(path)
    }
}

/// Whether the post-mortem and Ctrl-A p show `p`'s files: a zombie has
/// closed them, an embryo has not got them yet.
pub fn has_files(p: &ProcInfo) -> bool {
    !matches!(p.state(), Some(ProcState::Zombie | ProcState::Embryo))
}

/// The short form of a process's files, one line: `pid 7 (wc): cwd /tmp;
/// 0-2 console, 3 /tmp/out (w, offset 120)`. Neighbouring fds that read
/// the same share a range.
pub fn compact_line(p: &ProcInfo, files: &FilesInfo) -> String {
    let mut s = format!(
        "pid {} ({}): cwd {}",
        p.pid.get(),
        printable(p.name()),
        shown_path(files.cwd())
    );
    let rows = open_fds(files);
    if rows.is_empty() {
        s.push_str("; no open fds");
        return s;
    }
    let mut groups: Vec<(u64, u64, String)> = Vec::new();
    for r in &rows {
        let text = r.compact();
        match groups.last_mut() {
            Some((_, last, t)) if *last + 1 == r.fd && *t == text => *last = r.fd,
            _ => groups.push((r.fd, r.fd, text)),
        }
    }
    for (i, (first, last, text)) in groups.iter().enumerate() {
        s.push_str(if i == 0 { "; " } else { ", " });
        if first == last {
            let _ = write!(s, "{first} {text}");
        } else {
            let _ = write!(s, "{first}-{last} {text}");
        }
    }
    s
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use abi::fs::{FdInfo, O_RDONLY, O_RDWR, O_WRONLY, keep_path};
    use abi::proc::Pid;

    /// The files of the brief's example: console, a file opened for
    /// appending, the console, a pipe's read end, a directory.
    pub(crate) fn example() -> (ProcInfo, FilesInfo) {
        let mut p = ProcInfo::EMPTY;
        p.pid = Pid(7);
        p.state = ProcState::Sleeping as u32;
        p.set_name("wc");
        let mut f = FilesInfo::EMPTY;
        keep_path("/tmp", &mut f.cwd);
        let console = FdInfo {
            kind: FileKind::Console as u8,
            flags: O_RDWR as u8,
            ..FdInfo::CLOSED
        };
        f.fds[0] = console;
        f.fds[1] = FdInfo {
            kind: FileKind::Regular as u8,
            flags: O_WRONLY as u8 | FdInfo::APPEND,
            id: 12,
            offset: 120,
            ..FdInfo::CLOSED
        };
        keep_path("/tmp/out", &mut f.fds[1].path);
        f.fds[2] = console;
        f.fds[3] = FdInfo {
            kind: FileKind::PipeRead as u8,
            flags: O_RDONLY as u8 | FdInfo::CLOEXEC,
            id: 0x1a2b,
            ..FdInfo::CLOSED
        };
        f.fds[5] = FdInfo {
            kind: FileKind::Directory as u8,
            flags: O_RDONLY as u8,
            id: 1,
            offset: 2,
            ..FdInfo::CLOSED
        };
        keep_path("/tmp", &mut f.fds[5].path);
        (p, f)
    }

    #[test]
    fn the_compact_line_says_each_fd_in_a_few_words() {
        let (p, f) = example();
        assert_eq!(
            compact_line(&p, &f),
            "pid 7 (wc): cwd /tmp; 0 console, 1 /tmp/out (w,append, offset 120), 2 console, \
             3 pipe 0x1a2b (r,cloexec), 5 directory /tmp (r, offset 2)"
        );
        // Neighbours that read the same share a range; no fds at all is
        // said.
        let mut g = f;
        g.fds[1] = g.fds[0];
        assert!(
            compact_line(&p, &g).starts_with("pid 7 (wc): cwd /tmp; 0-2 console, 3 pipe"),
            "{}",
            compact_line(&p, &g)
        );
        assert_eq!(
            compact_line(&p, &FilesInfo::EMPTY),
            "pid 7 (wc): cwd /; no open fds"
        );
    }

    #[test]
    fn what_the_guest_wrote_is_shown_not_trusted() {
        let (p, mut f) = example();
        // A kind this VMM does not know, a name with control characters,
        // a path that is not UTF-8, a working directory the kernel left
        // empty.
        f.fds[0].kind = 200;
        keep_path("/tmp/a\nb\x1b[2J", &mut f.fds[1].path);
        f.fds[5].path[1] = 0xFF;
        f.cwd = [0; abi::fs::PATH_KEPT];
        let line = compact_line(&p, &f);
        assert_eq!(
            line,
            "pid 7 (wc): cwd ?; 0 kind 200 (rw, id 0, offset 0), \
             1 /tmp/a\\nb\\u{1b}[2J (w,append, offset 120), 2 console, \
             3 pipe 0x1a2b (r,cloexec), 5 directory ? (r, offset 2)"
        );
        assert!(!line.chars().any(char::is_control));
        let rows = open_fds(&f);
        assert_eq!(rows[0].target(), "id 0  offset 0");
        assert_eq!(rows[1].target(), "/tmp/a\\nb\\u{1b}[2J  offset 120");
    }
}
