//! Cases for files: the tree (`/bin`, `/etc`, `/tmp`) and the file calls
//! (open, read, write, lseek, close, dup, dup2, stat, fstat, unlink,
//! mkdir, rmdir, rename, chdir, getcwd, getdents, fcntl).
//!
//! Each case that makes files works in a directory of its own,
//! `/tmp/NAME` ([`in_dir`]), and must leave it empty. The harness's frame
//! count cannot see a file left behind (a file's pages are kernel heap,
//! which the count includes): the directory is checked instead, and
//! cases that free a file's pages check the free frames themselves.
//!
//! The last cases pin down kernel bugs they found (now fixed).

use super::*;
use abi::fs::{
    DIRENT_HEAD, F_GETFD, F_SETFD, FD_CLOEXEC, FileKind, NAME_MAX, O_ACCMODE, O_APPEND, O_CLOEXEC,
    O_CREAT, O_DIRECTORY, O_EXCL, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, SEEK_CUR, SEEK_END,
    SEEK_SET, Stat, dirent_len,
};

/// The cases, in order.
pub const CASES: &[(&str, CaseFn)] = &[
    ("fs_roundtrip", fs_roundtrip),
    ("fs_open_flags", fs_open_flags),
    ("fs_dir_not_writable", fs_dir_not_writable),
    ("fs_efault", fs_efault),
    ("fs_ebadf", fs_ebadf),
    ("fs_name_too_long", fs_name_too_long),
    ("fs_enotdir", fs_enotdir),
    ("fs_root_dotdot", fs_root_dotdot),
    ("fs_deep_tree", fs_deep_tree),
    ("fs_getdents", fs_getdents),
    ("fs_stat", fs_stat),
    ("fs_unlink_open", fs_unlink_open),
    ("fs_rmdir", fs_rmdir),
    ("fs_rename", fs_rename),
    ("fs_offset_dup", fs_offset_dup),
    ("fs_offset_fork", fs_offset_fork),
    ("fs_cloexec", fs_cloexec),
    ("fs_chdir_getcwd", fs_chdir_getcwd),
    ("fs_unseekable", fs_unseekable),
    ("fs_enospc", fs_enospc),
    // Bugs these cases found.
    ("fs_trailing_slash", fs_trailing_slash),
    ("fs_removed_parent", fs_removed_parent),
    ("fs_far_offset", fs_far_offset),
];

/// Frames the kernel's own small allocations may take while a case
/// counts the frames a file gave back (its heap takes a frame for a size
/// class that runs out, and keeps it).
const SLACK: u64 = 4;
/// Most pages of files `fs_enospc` writes to fill the budget (32 MiB:
/// the budget of the default 128 MiB).
const MAX_FILL_PAGES: u64 = 8192;
/// Pages of one file `fs_enospc` writes: a file's table of pages then
/// fits a kernel allocation smaller than a frame (a larger one needs
/// never-used frames, which a small machine may have spent: see the
/// order of the cases in main.rs).
const FILL_FILE_PAGES: u64 = 256;

/// The hidden mode `fs_cloexec` runs after an exec or spawn: each
/// argument is `-FD` (must be closed) or `+FD` (must be open); exit 0 iff
/// all hold, else 3.
pub fn check_fds(args: &[&str]) -> i32 {
    let holds = |a: &&str| {
        let (want_open, n) = match a.split_at_checked(1) {
            Some(("+", n)) => (true, n),
            Some(("-", n)) => (false, n),
            _ => return false,
        };
        let Ok(fd) = n.parse::<Fd>() else {
            return false;
        };
        match ulib::fcntl(fd, F_GETFD, 0) {
            Ok(_) => want_open,
            Err(e) => !want_open && e == Errno::EBADF,
        }
    };
    if !args.is_empty() && args.iter().all(holds) {
        0
    } else {
        3
    }
}

// ---------------------------------------------------------------- helpers

/// Runs `body` with an empty directory `/tmp/NAME` (its absolute path);
/// afterwards the directory must be empty again, and is removed (with
/// whatever a failed body left in it). The working directory ends at `/`.
fn in_dir(name: &str, body: impl FnOnce(&str) -> Res) -> Res {
    let dir = format!("/tmp/{name}");
    // What a run that was killed half way left.
    let _ = remove_tree(&dir);
    ok(&format!("mkdir {dir}"), ulib::mkdir(&dir))?;
    let r = body(&dir);
    let _ = ulib::chdir("/");
    let left: Vec<String> = ulib::read_dir(&dir)
        .unwrap_or_default()
        .into_iter()
        .map(|e| e.name)
        .filter(|n| n != "." && n != "..")
        .collect();
    let removed = remove_tree(&dir);
    r?;
    ensure!(left.is_empty(), "left {left:?} behind in {dir}");
    ok(&format!("remove {dir}"), removed)
}

/// Removes the file or tree at absolute `path`, however deep (it walks
/// with `chdir`, so no path it uses is long); the working directory ends
/// at `/`.
fn remove_tree(path: &str) -> Result<(), Errno> {
    match ulib::unlink(path) {
        Err(Errno::EISDIR) => {}
        r => return r,
    }
    ulib::chdir(path)?;
    let r = clear_cwd();
    ulib::chdir("/")?;
    r?;
    ulib::rmdir(path)
}

/// Removes everything in the working directory.
fn clear_cwd() -> Result<(), Errno> {
    for e in ulib::read_dir(".")? {
        match e.name.as_str() {
            "." | ".." => {}
            name if e.kind == FileKind::Directory => {
                ulib::chdir(name)?;
                let r = clear_cwd();
                ulib::chdir("..")?;
                r?;
                ulib::rmdir(name)?;
            }
            name => ulib::unlink(name)?,
        }
    }
    Ok(())
}

/// Makes (or empties) file `path` holding `data`.
fn create(path: &str, data: &[u8]) -> Res {
    let fd = ok(
        &format!("open {path}"),
        ulib::open(path, O_CREAT | O_WRONLY | O_TRUNC),
    )?;
    let r = ok(&format!("write {path}"), write_all(fd, data));
    close_all(&[fd]);
    r
}

/// Reads `fd` from its offset to the end.
fn read_rest(fd: Fd) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut buf = [0u8; MAX_IO as usize];
    loop {
        match ok("read", ulib::read(fd, &mut buf))? {
            0 => return Ok(out),
            n => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// The bytes of file `path`.
fn contents(path: &str) -> Result<Vec<u8>, String> {
    let fd = ok(&format!("open {path}"), ulib::open(path, O_RDONLY))?;
    let r = read_rest(fd);
    close_all(&[fd]);
    r
}

/// Checks that file `path` holds `want`.
fn expect_contents(path: &str, want: &[u8]) -> Res {
    let got = contents(path)?;
    ensure!(
        got == want,
        "{path} holds {:?}, want {:?}",
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(want)
    );
    Ok(())
}

fn stat_of(path: &str) -> Result<Stat, String> {
    ok(&format!("stat {path}"), ulib::stat(path))
}

fn kind(st: &Stat) -> Option<FileKind> {
    FileKind::from_raw(st.kind)
}

/// The offset of `fd`.
fn offset(fd: Fd) -> Result<u64, String> {
    ok("lseek(0, SEEK_CUR)", ulib::lseek(fd, 0, SEEK_CUR))
}

/// The fd the next open would get.
fn next_fd() -> Result<Fd, String> {
    let fd = ok("dup", ulib::dup(1))?;
    ok("close", ulib::close(fd))?;
    Ok(fd)
}

/// The (pointer, length) arguments of path `p`.
fn pa(p: &str) -> [u64; 2] {
    [p.as_ptr() as u64, p.len() as u64]
}

fn free_frames() -> Result<u64, String> {
    ok("sysinfo", ulib::sysinfo()).map(|s| s.free_frames)
}

/// The names in directory `path`, `.` and `..` left out.
fn names(path: &str) -> Result<Vec<String>, String> {
    Ok(ok(&format!("read_dir {path}"), ulib::read_dir(path))?
        .into_iter()
        .map(|e| e.name)
        .filter(|n| n != "." && n != "..")
        .collect())
}

// ---------------------------------------------------------------- cases

/// Bytes written come back, at the offsets lseek reports; a write past
/// the end leaves zeros between; a call moves at most MAX_IO bytes; the
/// access mode is enforced.
fn fs_roundtrip() -> Res {
    in_dir("fs_roundtrip", |dir| {
        let f = format!("{dir}/f");
        let fd = ok("open O_CREAT|O_RDWR", ulib::open(&f, O_CREAT | O_RDWR))?;
        ensure!(
            ok("write", ulib::write(fd, b"hello, world"))? == 12,
            "short write"
        );
        ensure!(offset(fd)? == 12, "offset {} after 12 bytes", offset(fd)?);
        ensure!(
            ok("lseek SET", ulib::lseek(fd, 0, SEEK_SET))? == 0,
            "lseek 0"
        );
        let mut buf = [0u8; 64];
        let n = ok("read", ulib::read(fd, &mut buf[..5]))?;
        ensure!(&buf[..n] == b"hello", "read {:?}", &buf[..n]);
        ensure!(
            ok("lseek END", ulib::lseek(fd, -5, SEEK_END))? == 7,
            "lseek(-5, SEEK_END)"
        );
        let n = ok("read", ulib::read(fd, &mut buf))?;
        ensure!(&buf[..n] == b"world", "read at the end {:?}", &buf[..n]);
        ensure!(ok("read", ulib::read(fd, &mut buf))? == 0, "no end of file");
        ensure!(
            ok("lseek CUR", ulib::lseek(fd, -3, SEEK_CUR))? == 9,
            "lseek(-3, SEEK_CUR)"
        );
        // Past the end, across a page boundary: zeros between.
        ok("lseek", ulib::lseek(fd, 8190, SEEK_SET))?;
        ensure!(ok("write", ulib::write(fd, b"abcd"))? == 4, "short write");
        let st = ok("fstat", ulib::fstat(fd))?;
        ensure!(st.size == 8194, "size {} after writing to 8194", st.size);
        ok("lseek", ulib::lseek(fd, 0, SEEK_SET))?;
        let all = read_rest(fd)?;
        ensure!(all.len() == 8194, "read back {} bytes", all.len());
        ensure!(
            &all[..12] == b"hello, world" && all[12..8190].iter().all(|&b| b == 0),
            "the hole is not zeros"
        );
        ensure!(&all[8190..] == b"abcd", "tail {:?}", &all[8190..]);
        // A buffer of three MAX_IO: one MAX_IO per call.
        let big = vec![0x5Au8; 3 * MAX_IO as usize];
        ok("lseek", ulib::lseek(fd, 100, SEEK_SET))?;
        let n = ok("write 3 * MAX_IO", ulib::write(fd, &big))?;
        ensure!(n as u64 == MAX_IO, "a write moved {n} bytes");
        ok("lseek", ulib::lseek(fd, 0, SEEK_SET))?;
        let mut back = vec![0u8; 3 * MAX_IO as usize];
        let n = ok("read 3 * MAX_IO", ulib::read(fd, &mut back))?;
        ensure!(n as u64 == MAX_IO, "a read moved {n} bytes");
        ensure!(
            back[100..MAX_IO as usize].iter().all(|&b| b == 0x5A),
            "read back other bytes"
        );
        // Bad offsets and whences change nothing.
        let at = offset(fd)?;
        let einval = &[Errno::EINVAL];
        expect_err("lseek(-1, SET)", ulib::lseek(fd, -1, SEEK_SET), einval)?;
        expect_err(
            "lseek(-at-1, CUR)",
            ulib::lseek(fd, -(at as i64) - 1, SEEK_CUR),
            einval,
        )?;
        expect_err(
            "lseek(MAX, CUR)",
            ulib::lseek(fd, i64::MAX, SEEK_CUR),
            einval,
        )?;
        expect_err(
            "lseek(MIN, END)",
            ulib::lseek(fd, i64::MIN, SEEK_END),
            einval,
        )?;
        for whence in [3, 4, u64::MAX, 1 << 32] {
            expect_err(
                &format!("lseek whence {whence:#x}"),
                ulib::lseek(fd, 0, whence),
                einval,
            )?;
        }
        ensure!(offset(fd)? == at, "a refused lseek moved the offset");
        ok("close", ulib::close(fd))?;
        expect_err("close twice", ulib::close(fd), &[Errno::EBADF])?;
        // Access modes.
        let ebadf = &[Errno::EBADF];
        let r = ok("open O_RDONLY", ulib::open(&f, O_RDONLY))?;
        let w = ok("open O_WRONLY", ulib::open(&f, O_WRONLY))?;
        let res = expect_err("write to O_RDONLY", ulib::write(r, b"x"), ebadf)
            .and_then(|()| expect_err("read O_WRONLY", ulib::read(w, &mut buf), ebadf));
        close_all(&[r, w]);
        res?;
        ensure!(
            stat_of(&f)?.size == 8194,
            "a refused write changed the size"
        );
        ok("unlink", ulib::unlink(&f))
    })
}

/// O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_DIRECTORY, and flags that are
/// not flags.
fn fs_open_flags() -> Res {
    in_dir("fs_open_flags", |dir| {
        let first = next_fd()?;
        let f = format!("{dir}/f");
        let enoent = &[Errno::ENOENT];
        expect_err("open missing", ulib::open(&f, O_RDONLY), enoent)?;
        expect_err("open missing O_WRONLY", ulib::open(&f, O_WRONLY), enoent)?;
        let fd = ok("O_CREAT", ulib::open(&f, O_CREAT | O_WRONLY))?;
        ensure!(
            fd == first,
            "open returned fd {fd}, not the lowest ({first})"
        );
        let st = ok("fstat", ulib::fstat(fd))?;
        ensure!(
            kind(&st) == Some(FileKind::Regular) && st.size == 0 && st.nlink == 1,
            "a new file: {st:?}"
        );
        ok("write", write_all(fd, b"12345"))?;
        ok("close", ulib::close(fd))?;
        // O_CREAT of an existing file opens it as it is.
        let fd = ok("O_CREAT existing", ulib::open(&f, O_CREAT | O_RDONLY))?;
        close_all(&[fd]);
        expect_contents(&f, b"12345")?;
        let eexist = &[Errno::EEXIST];
        expect_err(
            "O_EXCL existing",
            ulib::open(&f, O_CREAT | O_EXCL | O_WRONLY),
            eexist,
        )?;
        expect_err(
            "O_EXCL a directory",
            ulib::open(dir, O_CREAT | O_EXCL),
            eexist,
        )?;
        let g = format!("{dir}/g");
        let fd = ok("O_EXCL new", ulib::open(&g, O_CREAT | O_EXCL | O_RDWR))?;
        close_all(&[fd]);
        ok("unlink g", ulib::unlink(&g))?;
        // O_TRUNC empties a file opened for writing only.
        let fd = ok("O_RDONLY|O_TRUNC", ulib::open(&f, O_RDONLY | O_TRUNC))?;
        close_all(&[fd]);
        expect_contents(&f, b"12345")?;
        let fd = ok("O_WRONLY|O_TRUNC", ulib::open(&f, O_WRONLY | O_TRUNC))?;
        close_all(&[fd]);
        ensure!(stat_of(&f)?.size == 0, "O_TRUNC left bytes");
        // O_APPEND: every write at the end, whatever the offset.
        create(&f, b"ab")?;
        let fd = ok("O_APPEND", ulib::open(&f, O_RDWR | O_APPEND))?;
        let r = (|| {
            ok("lseek", ulib::lseek(fd, 0, SEEK_SET))?;
            ok("write", write_all(fd, b"cd"))?;
            ensure!(offset(fd)? == 4, "offset {} after an append", offset(fd)?);
            ok("lseek", ulib::lseek(fd, 1, SEEK_SET))?;
            let mut b = [0u8; 2];
            ok("read", ulib::read(fd, &mut b))?;
            ensure!(&b == b"bc", "O_APPEND reads from the offset: {b:?}");
            ok("write", write_all(fd, b"e"))
        })();
        close_all(&[fd]);
        r?;
        expect_contents(&f, b"abcde")?;
        // O_DIRECTORY.
        let enotdir = &[Errno::ENOTDIR];
        expect_err(
            "O_DIRECTORY a file",
            ulib::open(&f, O_RDONLY | O_DIRECTORY),
            enotdir,
        )?;
        let fd = ok("O_DIRECTORY", ulib::open(dir, O_RDONLY | O_DIRECTORY))?;
        let st = ulib::fstat(fd);
        close_all(&[fd]);
        ensure!(
            ok("fstat", st).map(|s| kind(&s))? == Some(FileKind::Directory),
            "O_DIRECTORY opened something else"
        );
        // A name ending in `/` is a directory's: O_CREAT makes no file.
        let h = format!("{dir}/h/");
        expect_err(
            "O_CREAT h/",
            ulib::open(&h, O_CREAT | O_WRONLY),
            &[Errno::EISDIR],
        )?;
        // Flags that are not flags: refused, nothing made.
        let n = format!("{dir}/n");
        for bad in [O_ACCMODE, 0o4, 0o10, 0o40000, 1 << 31, 1 << 40, u64::MAX] {
            expect_err(
                &format!("open flags {bad:#o}"),
                ulib::open(&n, O_CREAT | bad),
                &[Errno::EINVAL],
            )?;
        }
        ensure!(names(dir)? == ["f"], "entries {:?}", names(dir)?);
        ensure!(next_fd()? == first, "an fd stayed open");
        ok("unlink", ulib::unlink(&f))
    })
}

/// A directory opens only for reading: for writing it is EISDIR, and its
/// fd neither reads nor writes.
fn fs_dir_not_writable() -> Res {
    in_dir("fs_dir_not_writable", |dir| {
        let d = format!("{dir}/d");
        ok("mkdir", ulib::mkdir(&d))?;
        for flags in [
            O_WRONLY,
            O_RDWR,
            O_RDONLY | O_TRUNC,
            O_WRONLY | O_CREAT,
            O_RDWR | O_APPEND,
        ] {
            expect_err(
                &format!("open a directory with {flags:#o}"),
                ulib::open(&d, flags),
                &[Errno::EISDIR],
            )?;
        }
        expect_err(
            "open / O_WRONLY",
            ulib::open("/", O_WRONLY),
            &[Errno::EISDIR],
        )?;
        let fd = ok("open O_RDONLY", ulib::open(&d, O_RDONLY))?;
        let r = expect_err(
            "write to a directory",
            ulib::write(fd, b"x"),
            &[Errno::EBADF],
        )
        .and_then(|()| {
            expect_err(
                "read a directory",
                ulib::read(fd, &mut [0u8; 8]),
                &[Errno::EISDIR],
            )
        })
        .and_then(|()| {
            expect_err(
                "lseek SEEK_END in a directory",
                ulib::lseek(fd, 0, SEEK_END),
                &[Errno::EINVAL],
            )
        });
        close_all(&[fd]);
        r?;
        ensure!(stat_of(&d)?.size == 2, "the directory changed");
        ok("rmdir", ulib::rmdir(&d))
    })
}

/// Checks that `r` is EFAULT (formatting the message only on failure:
/// formatting may move the program break, which some addresses follow).
fn efault<T: core::fmt::Debug>(what: &str, label: &str, r: Result<T, Errno>) -> Res {
    match r {
        Err(Errno::EFAULT) => Ok(()),
        other => Err(format!("{what} {label}: {other:?}, want EFAULT")),
    }
}

/// Every file call that takes a pointer, with every bad address: EFAULT,
/// and nothing done (no file made or changed, no byte read, no fd taken,
/// no offset moved). A path that is not UTF-8 is EINVAL.
fn fs_efault() -> Res {
    in_dir("fs_efault", |dir| {
        let f = format!("{dir}/f");
        create(&f, b"data")?;
        let newp = format!("{dir}/new");
        let (fp, np) = (pa(&f), pa(&newp));
        // The working directory's path is longer than the 8 bytes the
        // straddling addresses leave.
        ok("chdir", ulib::chdir(dir))?;
        let first = next_fd()?;
        let fd = ok("open", ulib::open(&f, O_RDWR))?;
        let dfd = ok("open dir", ulib::open(dir, O_RDONLY))?;
        let r = (|| {
            let (fd64, dfd64) = (fd as u64, dfd as u64);
            for bad in BAD_ADDRS {
                let (label, a) = (bad.label, (bad.addr)());
                // Calls that store through the pointer.
                efault("stat into", label, raw(nr::STAT, &[fp[0], fp[1], a]))?;
                efault("fstat into", label, raw(nr::FSTAT, &[fd64, a]))?;
                efault("getdents into", label, raw(nr::GETDENTS, &[dfd64, a, 64]))?;
                efault("getcwd into", label, raw(nr::GETCWD, &[a, 256]))?;
                efault("read into", label, raw(nr::READ, &[fd64, a, 8]))?;
                if bad.readable {
                    continue;
                }
                // Calls that read through it.
                let p = [a, 8];
                efault("open path at", label, raw(nr::OPEN, &[a, 8, O_RDONLY]))?;
                let creat = O_CREAT | O_WRONLY;
                efault("open O_CREAT path at", label, raw(nr::OPEN, &[a, 8, creat]))?;
                efault("stat path at", label, raw(nr::STAT, &[a, 8, fp[0]]))?;
                for (name, call) in [
                    ("unlink", nr::UNLINK),
                    ("mkdir", nr::MKDIR),
                    ("rmdir", nr::RMDIR),
                    ("chdir", nr::CHDIR),
                ] {
                    efault(name, label, raw(call, &p))?;
                }
                let old_at = raw(nr::RENAME, &[a, 8, np[0], np[1]]);
                efault("rename from", label, old_at)?;
                let new_at = raw(nr::RENAME, &[fp[0], fp[1], a, 8]);
                efault("rename to", label, new_at)?;
                efault("write from", label, raw(nr::WRITE, &[fd64, a, 8]))?;
            }
            // Nothing happened.
            ensure!(offset(fd)? == 0, "a refused read moved the offset");
            let mut buf = [0u8; 256];
            let n = ok("getdents", ulib::getdents(dfd, &mut buf))?;
            let first_entry = abi::fs::dirents(&buf[..n]).next().map(|d| d.name);
            ensure!(
                first_entry == Some("."),
                "a refused getdents moved on: {first_entry:?}"
            );
            Ok(())
        })();
        close_all(&[fd, dfd]);
        r?;
        ensure!(next_fd()? == first, "refused opens took fds");
        ensure!(
            ok("getcwd", ulib::getcwd())? == dir,
            "the working directory moved"
        );
        expect_contents(&f, b"data")?;
        ensure!(names(dir)? == ["f"], "entries {:?}", names(dir)?);
        // Paths that are not UTF-8.
        let bad = [b'/', 0xFF, 0xFE, b'x'];
        let p = [bad.as_ptr() as u64, bad.len() as u64];
        let einval = &[Errno::EINVAL];
        expect_err(
            "open non-UTF-8",
            raw(nr::OPEN, &[p[0], p[1], O_CREAT | O_WRONLY]),
            einval,
        )?;
        expect_err("mkdir non-UTF-8", raw(nr::MKDIR, &p), einval)?;
        expect_err(
            "stat non-UTF-8",
            raw(nr::STAT, &[p[0], p[1], fp[0]]),
            einval,
        )?;
        ok("unlink", ulib::unlink(&f))
    })
}

/// Bad fds to every call that takes one: EBADF (and what an fd of the
/// wrong kind gets).
fn fs_ebadf() -> Res {
    in_dir("fs_ebadf", |dir| {
        let ebadf = &[Errno::EBADF];
        let mut st = Stat::default();
        let stp = &raw mut st as u64;
        let mut buf = [0u8; 64];
        let bp = buf.as_mut_ptr() as u64;
        let f = format!("{dir}/f");
        create(&f, b"x")?;
        let closed = ok("open", ulib::open(&f, O_RDONLY))?;
        ok("close", ulib::close(closed))?;
        let fds: [u64; 8] = [
            u64::MAX,
            99,
            MAX_FDS as u64,
            i32::MAX as u64,
            i32::MIN as i64 as u64,
            1 << 32,
            (1 << 32) | 1,
            closed as u64,
        ];
        for fd in fds {
            let e = |what: &str, r| expect_err(&format!("{what}({fd:#x})"), r, ebadf);
            e("lseek", raw(nr::LSEEK, &[fd, 0, SEEK_SET]))?;
            e("fstat", raw(nr::FSTAT, &[fd, stp]))?;
            e("getdents", raw(nr::GETDENTS, &[fd, bp, 64]))?;
            e("fcntl", raw(nr::FCNTL, &[fd, F_GETFD, 0]))?;
            e("dup2 from", raw(nr::DUP2, &[fd, 5]))?;
            if fd != closed as u64 {
                e("dup2 to", raw(nr::DUP2, &[1, fd]))?;
            }
        }
        // The fd is checked before the pointer.
        expect_err("fstat(99, null)", raw(nr::FSTAT, &[99, 0]), ebadf)?;
        expect_err("getdents(99, null)", raw(nr::GETDENTS, &[99, 0, 64]), ebadf)?;
        // An fd of the wrong kind.
        let fd = ok("open", ulib::open(&f, O_RDWR))?;
        let (r, w) = ok("pipe", ulib::pipe())?;
        let res = (|| {
            let enotdir = &[Errno::ENOTDIR];
            expect_err("getdents a file", ulib::getdents(fd, &mut buf), enotdir)?;
            expect_err("getdents a pipe", ulib::getdents(r, &mut buf), enotdir)?;
            let einval = &[Errno::EINVAL];
            expect_err("fcntl cmd 99", ulib::fcntl(fd, 99, 0), einval)?;
            expect_err("fcntl F_SETFD 2", ulib::fcntl(fd, F_SETFD, 2), einval)?;
            // dup2 onto itself changes nothing; onto an open fd, closes it
            // first.
            ensure!(ok("dup2 self", ulib::dup2(fd, fd))? == fd, "dup2(fd, fd)");
            ok("fstat after dup2 self", ulib::fstat(fd))?;
            ensure!(
                ok("dup2", ulib::dup2(fd, w))? == w,
                "dup2 returned another fd"
            );
            let (a, b) = (ok("fstat", ulib::fstat(fd))?, ok("fstat", ulib::fstat(w))?);
            ensure!(a == b, "dup2 onto a pipe's end: {b:?}, want {a:?}");
            // The pipe's write end was closed: its reader sees the end.
            ensure!(
                ok("read", ulib::read(r, &mut buf))? == 0,
                "the pipe's writer lives on"
            );
            Ok(())
        })();
        close_all(&[fd, r, w]);
        res?;
        ok("unlink", ulib::unlink(&f))
    })
}

/// Paths longer than MAX_PATH and names longer than NAME_MAX:
/// ENAMETOOLONG, before the pointer is read; the longest that are allowed
/// work.
fn fs_name_too_long() -> Res {
    in_dir("fs_name_too_long", |dir| {
        let long = format!("/{}", "a".repeat(MAX_PATH));
        let (l, d) = (pa(&long), pa(dir));
        let e = &[Errno::ENAMETOOLONG];
        let mut st = Stat::default();
        let stp = &raw mut st as u64;
        expect_err("open", raw(nr::OPEN, &[l[0], l[1], O_CREAT | O_WRONLY]), e)?;
        expect_err("stat", raw(nr::STAT, &[l[0], l[1], stp]), e)?;
        for (name, call) in [
            ("unlink", nr::UNLINK),
            ("mkdir", nr::MKDIR),
            ("rmdir", nr::RMDIR),
            ("chdir", nr::CHDIR),
        ] {
            expect_err(name, raw(call, &l), e)?;
            // The length is checked first: a null pointer is not read.
            expect_err(&format!("{name}(null, MAX)"), raw(call, &[0, u64::MAX]), e)?;
        }
        expect_err("rename from", raw(nr::RENAME, &[l[0], l[1], d[0], d[1]]), e)?;
        expect_err("rename to", raw(nr::RENAME, &[d[0], d[1], l[0], l[1]]), e)?;
        expect_err(
            "open(null, MAX)",
            raw(nr::OPEN, &[0, u64::MAX, O_RDONLY]),
            e,
        )?;
        // A path of exactly MAX_PATH bytes.
        let room = MAX_PATH - dir.len() - 1;
        let exact = format!("{dir}/{}", "b".repeat(room));
        ensure!(exact.len() == MAX_PATH, "built a path of {}", exact.len());
        create(&exact, b"x")?;
        stat_of(&exact)?;
        ok("unlink MAX_PATH", ulib::unlink(&exact))?;
        // Names: NAME_MAX bytes work, one more does not.
        ok("chdir", ulib::chdir(dir))?;
        let name = "n".repeat(NAME_MAX);
        let longer = "n".repeat(NAME_MAX + 1);
        expect_err(
            "open a long name",
            ulib::open(&longer, O_CREAT | O_WRONLY),
            e,
        )?;
        expect_err("mkdir a long name", ulib::mkdir(&longer), e)?;
        create(&name, b"x")?;
        let entries = ok("read_dir", ulib::read_dir("."))?;
        ensure!(
            entries.iter().any(|d| d.name == name),
            "getdents lacks the NAME_MAX name"
        );
        ok("unlink", ulib::unlink(&name))?;
        ok("mkdir NAME_MAX", ulib::mkdir(&name))?;
        ok("rmdir NAME_MAX", ulib::rmdir(&name))
    })
}

/// A file in the middle of a path: ENOTDIR from every call; a directory
/// where a file is wanted and the reverse.
fn fs_enotdir() -> Res {
    in_dir("fs_enotdir", |dir| {
        let f = format!("{dir}/f");
        let d = format!("{dir}/d");
        create(&f, b"x")?;
        ok("mkdir", ulib::mkdir(&d))?;
        let e = &[Errno::ENOTDIR];
        for p in ["f/x", "f/x/y", "f/", "f/.", "f/.."] {
            let p = format!("{dir}/{p}");
            expect_err(&format!("stat {p}"), ulib::stat(&p), e)?;
            expect_err(&format!("open {p}"), ulib::open(&p, O_RDONLY), e)?;
            expect_err(&format!("chdir {p}"), ulib::chdir(&p), e)?;
        }
        let fx = format!("{f}/x");
        expect_err("open f/x O_CREAT", ulib::open(&fx, O_CREAT | O_WRONLY), e)?;
        expect_err("mkdir f/x", ulib::mkdir(&fx), e)?;
        expect_err("unlink f/x", ulib::unlink(&fx), e)?;
        expect_err("rmdir f/x", ulib::rmdir(&fx), e)?;
        expect_err("rename f/x", ulib::rename(&fx, &format!("{dir}/y")), e)?;
        expect_err("rename to f/x", ulib::rename(&d, &fx), e)?;
        expect_err("chdir f", ulib::chdir(&f), e)?;
        expect_err("rmdir f", ulib::rmdir(&f), e)?;
        expect_err("unlink d", ulib::unlink(&d), &[Errno::EISDIR])?;
        ensure!(names(dir)? == ["d", "f"], "entries {:?}", names(dir)?);
        ok("unlink", ulib::unlink(&f))?;
        ok("rmdir", ulib::rmdir(&d))
    })
}

/// `..` of the root is the root; the root cannot be removed, renamed or
/// written.
fn fs_root_dotdot() -> Res {
    let root = stat_of("/")?;
    ensure!(kind(&root) == Some(FileKind::Directory), "/ is {root:?}");
    for p in [
        "/..",
        "/../..",
        "/./../.",
        "/tmp/..",
        "//",
        "/tmp/../../tmp/..",
        "/bin/../..",
    ] {
        let st = stat_of(p)?;
        ensure!(st.ino == root.ino, "{p} is inode {:#x}, not /", st.ino);
    }
    ensure!(
        stat_of("/../tmp")?.ino == stat_of("/tmp")?.ino,
        "/../tmp is not /tmp"
    );
    ok("chdir /", ulib::chdir("/"))?;
    ok("chdir ..", ulib::chdir(".."))?;
    ensure!(
        ok("getcwd", ulib::getcwd())? == "/",
        "cwd after chdir(..) at /"
    );
    ok("chdir ../../tmp", ulib::chdir("../../tmp"))?;
    ensure!(
        ok("getcwd", ulib::getcwd())? == "/tmp",
        "cwd after ../../tmp"
    );
    ok("chdir /", ulib::chdir("/"))?;
    let entries = ok("read_dir /", ulib::read_dir("/"))?;
    let dotdot = entries.iter().find(|e| e.name == "..");
    ensure!(
        dotdot.is_some_and(|e| e.ino == root.ino),
        "/'s `..` entry: {dotdot:?}"
    );
    expect_err("rmdir /", ulib::rmdir("/"), &[Errno::EBUSY])?;
    expect_err("rename /", ulib::rename("/", "/tmp/x"), &[Errno::EBUSY])?;
    expect_err("rename to /", ulib::rename("/tmp", "/"), &[Errno::EBUSY])?;
    expect_err("mkdir /", ulib::mkdir("/"), &[Errno::EEXIST])?;
    expect_err("unlink /", ulib::unlink("/"), &[Errno::EISDIR])?;
    expect_err("open / O_RDWR", ulib::open("/", O_RDWR), &[Errno::EISDIR])?;
    ensure!(stat_of("/")?.size == root.size, "/ changed");
    Ok(())
}

/// A tree 40 levels deep by path, then 100 by chdir (deeper than a path
/// can name): lookups, `..` chains, getcwd of a path longer than MAX_PATH,
/// and a directory renamed into its own depths (EINVAL).
fn fs_deep_tree() -> Res {
    in_dir("fs_deep_tree", |dir| {
        let mut p = dir.to_string();
        for _ in 0..40 {
            p.push_str("/d");
            ok(&format!("mkdir {p}"), ulib::mkdir(&p))?;
        }
        let leaf = format!("{p}/leaf");
        create(&leaf, b"deep")?;
        expect_contents(&leaf, b"deep")?;
        let top = format!("{dir}/d");
        expect_err(
            "rename into its depths",
            ulib::rename(&top, &format!("{p}/x")),
            &[Errno::EINVAL],
        )?;
        ok("chdir", ulib::chdir(&p))?;
        ensure!(ok("getcwd", ulib::getcwd())? == p, "getcwd at 40 levels");
        expect_contents("leaf", b"deep")?;
        let up = "../".repeat(40);
        ensure!(
            stat_of(&up)?.ino == stat_of(dir)?.ino,
            "40 `..` do not lead back"
        );
        // Deeper than a path can say, one chdir at a time.
        for _ in 40..100 {
            ok("mkdir d", ulib::mkdir("dir"))?;
            ok("chdir d", ulib::chdir("dir"))?;
        }
        let want = format!("{p}{}", "/dir".repeat(60));
        let cwd = ok("getcwd", ulib::getcwd())?;
        ensure!(cwd == want, "getcwd at 100 levels: {} bytes", cwd.len());
        ensure!(cwd.len() > MAX_PATH, "the path is only {} bytes", cwd.len());
        let mut small = [0u8; MAX_PATH + 1];
        let sp = small.as_mut_ptr() as u64;
        expect_err(
            "getcwd into MAX_PATH + 1",
            raw(nr::GETCWD, &[sp, small.len() as u64]),
            &[Errno::ERANGE],
        )?;
        create("leaf2", b"deeper")?;
        expect_contents("leaf2", b"deeper")?;
        ok("unlink leaf2", ulib::unlink("leaf2"))?;
        // Back up, removing on the way.
        for _ in 40..100 {
            ok("chdir ..", ulib::chdir(".."))?;
            ok("rmdir", ulib::rmdir("dir"))?;
        }
        ensure!(ok("getcwd", ulib::getcwd())? == p, "back at 40 levels");
        ok("chdir /", ulib::chdir("/"))?;
        ok("unlink leaf", ulib::unlink(&leaf))?;
        while p.len() > dir.len() {
            ok(&format!("rmdir {p}"), ulib::rmdir(&p))?;
            p.truncate(p.len() - 2);
        }
        Ok(())
    })
}

/// getdents lists `.`, `..`, then the entries by name, as records the
/// ABI's parser reads; a buffer too small for the next record is EINVAL
/// and loses nothing; lseek to 0 starts over.
fn fs_getdents() -> Res {
    in_dir("fs_getdents", |dir| {
        let sub = format!("{dir}/sub");
        ok("mkdir", ulib::mkdir(&sub))?;
        let mut want = vec![String::from("."), String::from("..")];
        for i in 0..20 {
            let n = format!("f{i:02}");
            create(&format!("{dir}/{n}"), n.as_bytes())?;
            want.push(n);
        }
        want.push(String::from("sub"));
        let fd = ok("open", ulib::open(dir, O_RDONLY | O_DIRECTORY))?;
        let r = (|| {
            // All at once.
            let mut buf = [0u8; 2048];
            let n = ok("getdents", ulib::getdents(fd, &mut buf))?;
            let got: Vec<_> = abi::fs::dirents(&buf[..n]).collect();
            let got_names: Vec<&str> = got.iter().map(|d| d.name).collect();
            ensure!(got_names == want, "entries {got_names:?}");
            let total: usize = got.iter().map(|d| dirent_len(d.name.len())).sum();
            ensure!(total == n, "records of {n} bytes, their names make {total}");
            for d in &got {
                let path = format!("{dir}/{}", d.name);
                let st = stat_of(&path)?;
                ensure!(
                    d.ino == st.ino && Some(d.kind) == kind(&st),
                    "{}: ino {:#x} kind {:?}, stat says {:#x} {:?}",
                    d.name,
                    d.ino,
                    d.kind,
                    st.ino,
                    kind(&st)
                );
            }
            // The padding after each name is zeros.
            let mut at = 0;
            for d in &got {
                let len = dirent_len(d.name.len());
                let pad = &buf[at + DIRENT_HEAD + d.name.len()..at + len];
                ensure!(pad.iter().all(|&b| b == 0), "{}: padding {pad:?}", d.name);
                at += len;
            }
            ensure!(
                ok("getdents at the end", ulib::getdents(fd, &mut buf))? == 0,
                "more after the end"
            );
            ensure!(
                ok("getdents(0 bytes) at the end", ulib::getdents(fd, &mut []))? == 0,
                "a 0-byte buffer at the end"
            );
            // Again, in small buffers.
            ensure!(ok("lseek", ulib::lseek(fd, 0, SEEK_SET))? == 0, "rewind");
            let one = dirent_len(1);
            let n = ok("getdents one record", ulib::getdents(fd, &mut buf[..one]))?;
            ensure!(n == one, "a {one}-byte buffer took {n} bytes");
            let einval = &[Errno::EINVAL];
            expect_err(
                "getdents too small",
                ulib::getdents(fd, &mut buf[..one - 1]),
                einval,
            )?;
            expect_err("getdents 0 bytes", ulib::getdents(fd, &mut []), einval)?;
            let mut rest = Vec::new();
            loop {
                // Room for one record of these names, not two.
                let n = ok("getdents", ulib::getdents(fd, &mut buf[..40]))?;
                if n == 0 {
                    break;
                }
                let names: Vec<String> =
                    abi::fs::dirents(&buf[..n]).map(|d| d.name.into()).collect();
                ensure!(names.len() == 1, "{n} bytes held {names:?}");
                rest.extend(names);
            }
            ensure!(rest == want[1..], "in small buffers: {rest:?}");
            Ok(())
        })();
        close_all(&[fd]);
        r?;
        for n in &want[2..22] {
            ok("unlink", ulib::unlink(&format!("{dir}/{n}")))?;
        }
        ok("rmdir", ulib::rmdir(&sub))
    })
}

/// stat and fstat: kinds, sizes (a directory's: its entries with `.` and
/// `..`), numbers; what fstat says of a pipe.
fn fs_stat() -> Res {
    in_dir("fs_stat", |dir| {
        let d = stat_of(dir)?;
        ensure!(
            kind(&d) == Some(FileKind::Directory) && d.size == 2 && d.nlink == 1,
            "an empty directory: {d:?}"
        );
        let f = format!("{dir}/f");
        create(&f, &vec![7u8; 5000])?;
        let sub = format!("{dir}/sub");
        ok("mkdir", ulib::mkdir(&sub))?;
        let st = stat_of(&f)?;
        ensure!(
            kind(&st) == Some(FileKind::Regular) && st.size == 5000 && st.nlink == 1,
            "a file of 5000 bytes: {st:?}"
        );
        ensure!(
            stat_of(dir)?.size == 4,
            "two entries: size {}",
            stat_of(dir)?.size
        );
        ensure!(stat_of(&sub)?.ino != st.ino, "two files, one number");
        // The same file by other paths, and through an fd.
        ensure!(stat_of(&format!("{dir}/./sub/../f"))? == st, "another path");
        let fd = ok("open", ulib::open(&f, O_RDWR))?;
        let r = (|| {
            ensure!(
                ok("fstat", ulib::fstat(fd))? == st,
                "fstat differs from stat"
            );
            ok("lseek", ulib::lseek(fd, 10_000, SEEK_SET))?;
            ok("write", ulib::write(fd, b"z"))?;
            ensure!(
                ok("fstat", ulib::fstat(fd))?.size == 10_001,
                "size after extending"
            );
            Ok(())
        })();
        close_all(&[fd]);
        r?;
        let t = stat_of("/bin/true")?;
        ensure!(
            kind(&t) == Some(FileKind::Regular) && t.size > 0,
            "/bin/true: {t:?}"
        );
        expect_err("stat \"\"", ulib::stat(""), &[Errno::ENOENT])?;
        expect_err(
            "stat missing",
            ulib::stat(&format!("{dir}/nope")),
            &[Errno::ENOENT],
        )?;
        let (r, w) = ok("pipe", ulib::pipe())?;
        let (rs, ws) = (ulib::fstat(r), ulib::fstat(w));
        close_all(&[r, w]);
        let (rs, ws) = (ok("fstat pipe", rs)?, ok("fstat pipe", ws)?);
        ensure!(
            kind(&rs) == Some(FileKind::PipeRead) && kind(&ws) == Some(FileKind::PipeWrite),
            "a pipe's ends: {rs:?} {ws:?}"
        );
        ok("unlink", ulib::unlink(&f))?;
        ok("rmdir", ulib::rmdir(&sub))
    })
}

/// An unlinked file stays readable and writable through the fds open on
/// it, and goes, pages and all, with the last of them; its name is free
/// at once.
fn fs_unlink_open() -> Res {
    in_dir("fs_unlink_open", |dir| {
        let f = format!("{dir}/f");
        let page: Vec<u8> = (0..MAX_IO as usize).map(|i| (i % 251) as u8).collect();
        let fd = ok("open", ulib::open(&f, O_CREAT | O_RDWR))?;
        let r = (|| {
            for _ in 0..8 {
                ok("write", write_all(fd, &page))?;
            }
            let ino = ok("fstat", ulib::fstat(fd))?.ino;
            ok("unlink", ulib::unlink(&f))?;
            expect_err("stat after unlink", ulib::stat(&f), &[Errno::ENOENT])?;
            expect_err(
                "open after unlink",
                ulib::open(&f, O_RDONLY),
                &[Errno::ENOENT],
            )?;
            expect_err("unlink twice", ulib::unlink(&f), &[Errno::ENOENT])?;
            ensure!(names(dir)?.is_empty(), "still listed");
            let st = ok("fstat", ulib::fstat(fd))?;
            ensure!(
                st.nlink == 0 && st.size == 8 * MAX_IO && st.ino == ino,
                "fstat after unlink: {st:?}"
            );
            ok("lseek", ulib::lseek(fd, 0, SEEK_SET))?;
            let all = read_rest(fd)?;
            ensure!(
                all.chunks(page.len()).all(|c| c == page) && all.len() == 8 * page.len(),
                "the unlinked file reads back wrong ({} bytes)",
                all.len()
            );
            ok("write after unlink", write_all(fd, b"more"))?;
            // The name is free: a new file, another number.
            create(&f, b"new")?;
            let new = stat_of(&f)?;
            ensure!(new.ino != ino && new.size == 3, "the new file: {new:?}");
            ok("unlink the new file", ulib::unlink(&f))?;
            Ok(())
        })();
        let during = free_frames()?;
        close_all(&[fd]);
        r?;
        let freed = free_frames()?.saturating_sub(during);
        ensure!(
            freed + SLACK >= 9,
            "closing the last fd of an unlinked 9-page file freed {freed} frames"
        );
        Ok(())
    })
}

/// rmdir: ENOTEMPTY, ENOTDIR, ENOENT, EINVAL for `.`, EBUSY for `/`; a
/// removed working directory has no path and takes no new entries.
fn fs_rmdir() -> Res {
    in_dir("fs_rmdir", |dir| {
        let d = format!("{dir}/d");
        let x = format!("{d}/x");
        ok("mkdir", ulib::mkdir(&d))?;
        create(&x, b"x")?;
        expect_err("rmdir non-empty", ulib::rmdir(&d), &[Errno::ENOTEMPTY])?;
        expect_err("rmdir a file", ulib::rmdir(&x), &[Errno::ENOTDIR])?;
        expect_err(
            "rmdir missing",
            ulib::rmdir(&format!("{dir}/nope")),
            &[Errno::ENOENT],
        )?;
        expect_err(
            "rmdir d/.",
            ulib::rmdir(&format!("{d}/.")),
            &[Errno::EINVAL],
        )?;
        expect_err(
            "rmdir d/..",
            ulib::rmdir(&format!("{d}/..")),
            &[Errno::ENOTEMPTY],
        )?;
        expect_err("rmdir /", ulib::rmdir("/"), &[Errno::EBUSY])?;
        ok("unlink", ulib::unlink(&x))?;
        ok("rmdir d/", ulib::rmdir(&format!("{d}/")))?;
        expect_err("stat removed", ulib::stat(&d), &[Errno::ENOENT])?;
        // The working directory, removed.
        ok("mkdir", ulib::mkdir(&d))?;
        ok("chdir", ulib::chdir(&d))?;
        ok("rmdir the working directory", ulib::rmdir(&d))?;
        expect_err("getcwd", ulib::getcwd(), &[Errno::ENOENT])?;
        let here = ok("stat .", ulib::stat("."))?;
        ensure!(
            kind(&here) == Some(FileKind::Directory) && here.nlink == 0,
            "a removed directory: {here:?}"
        );
        let enoent = &[Errno::ENOENT];
        expect_err("create in it", ulib::open("x", O_CREAT | O_WRONLY), enoent)?;
        expect_err("mkdir in it", ulib::mkdir("y"), enoent)?;
        expect_err("stat x in it", ulib::stat("x"), enoent)?;
        let entries = ok("read_dir .", ulib::read_dir("."))?;
        ensure!(entries.len() <= 2, "a removed directory lists {entries:?}");
        ok("chdir /", ulib::chdir("/"))
    })
}

/// rename: a file to a new name, over a file (whose open fds read on),
/// onto itself, across directories; directories over empty ones, not
/// over files or full ones, never into themselves; the working directory
/// follows its directory.
fn fs_rename() -> Res {
    in_dir("fs_rename", |dir| {
        let p = |n: &str| format!("{dir}/{n}");
        create(&p("a"), b"A")?;
        let a = stat_of(&p("a"))?;
        ok("rename a b", ulib::rename(&p("a"), &p("b")))?;
        expect_err("stat a", ulib::stat(&p("a")), &[Errno::ENOENT])?;
        ensure!(stat_of(&p("b"))?.ino == a.ino, "b is another file");
        create(&p("c"), b"C")?;
        let fd = ok("open c", ulib::open(&p("c"), O_RDONLY))?;
        let over = ulib::rename(&p("b"), &p("c"));
        let old = read_rest(fd);
        let old_st = ulib::fstat(fd);
        close_all(&[fd]);
        ok("rename b over c", over)?;
        ensure!(old? == b"C", "the replaced file's fd reads other bytes");
        ensure!(
            ok("fstat", old_st)?.nlink == 0,
            "the replaced file still has a name"
        );
        expect_contents(&p("c"), b"A")?;
        ok("rename c c", ulib::rename(&p("c"), &p("c")))?;
        expect_contents(&p("c"), b"A")?;
        ok("rename c ./c", ulib::rename(&p("c"), &format!("{dir}/./c")))?;
        // Directories.
        for d in ["d1", "d2", "d3"] {
            ok("mkdir", ulib::mkdir(&p(d)))?;
        }
        create(&p("d3/x"), b"x")?;
        expect_err(
            "file over a directory",
            ulib::rename(&p("c"), &p("d1")),
            &[Errno::EISDIR],
        )?;
        expect_err(
            "directory over a file",
            ulib::rename(&p("d1"), &p("c")),
            &[Errno::ENOTDIR],
        )?;
        expect_err(
            "over a full directory",
            ulib::rename(&p("d1"), &p("d3")),
            &[Errno::ENOTEMPTY],
        )?;
        let d1 = stat_of(&p("d1"))?;
        ok("over an empty directory", ulib::rename(&p("d1"), &p("d2")))?;
        ensure!(stat_of(&p("d2"))?.ino == d1.ino, "d2 is not the old d1");
        expect_err("d1 after", ulib::stat(&p("d1")), &[Errno::ENOENT])?;
        let einval = &[Errno::EINVAL];
        expect_err("into itself", ulib::rename(&p("d2"), &p("d2/in")), einval)?;
        ok("mkdir", ulib::mkdir(&p("d2/e")))?;
        expect_err(
            "into its child",
            ulib::rename(&p("d2"), &p("d2/e/in")),
            einval,
        )?;
        expect_err(
            "missing",
            ulib::rename(&p("nope"), &p("z")),
            &[Errno::ENOENT],
        )?;
        expect_err(
            "into a missing directory",
            ulib::rename(&p("c"), &p("nope/c")),
            &[Errno::ENOENT],
        )?;
        let ebusy = &[Errno::EBUSY];
        expect_err("rename .", ulib::rename(&p("d2/."), &p("z")), ebusy)?;
        expect_err("rename to ..", ulib::rename(&p("c"), &p("d2/..")), ebusy)?;
        // Across directories.
        ok("c into d3", ulib::rename(&p("c"), &p("d3/c2")))?;
        expect_contents(&p("d3/c2"), b"A")?;
        // The working directory moves with its directory.
        ok("chdir", ulib::chdir(&p("d2/e")))?;
        ok("rename d2 d4", ulib::rename(&p("d2"), &p("d4")))?;
        ensure!(
            ok("getcwd", ulib::getcwd())? == p("d4/e"),
            "getcwd after renaming its parent"
        );
        ok("chdir /", ulib::chdir("/"))?;
        ensure!(names(dir)? == ["d3", "d4"], "entries {:?}", names(dir)?);
        ok("unlink", ulib::unlink(&p("d3/x")))?;
        ok("unlink", ulib::unlink(&p("d3/c2")))?;
        ok("rmdir", ulib::rmdir(&p("d3")))?;
        ok("rmdir", ulib::rmdir(&p("d4/e")))?;
        ok("rmdir", ulib::rmdir(&p("d4")))
    })
}

/// fds made by dup and dup2 share one offset; another open has its own.
fn fs_offset_dup() -> Res {
    in_dir("fs_offset_dup", |dir| {
        let f = format!("{dir}/f");
        let fd = ok("open", ulib::open(&f, O_CREAT | O_RDWR))?;
        let d = ulib::dup(fd);
        let e = ulib::dup2(fd, (MAX_FDS - 1) as Fd);
        let other = ulib::open(&f, O_RDONLY);
        let fds: Vec<Fd> = [Ok(fd), d, e, other]
            .into_iter()
            .filter_map(Result::ok)
            .collect();
        let r = (|| {
            let (d, e, other) = (ok("dup", d)?, ok("dup2", e)?, ok("open again", other)?);
            ok("write", write_all(fd, b"abc"))?;
            ensure!(
                offset(d)? == 3 && offset(e)? == 3,
                "the dups' offsets did not move"
            );
            ok("write dup", write_all(d, b"def"))?;
            ensure!(offset(fd)? == 6, "a write through the dup left the offset");
            ok("lseek dup2", ulib::lseek(e, 1, SEEK_SET))?;
            let mut b = [0u8; 2];
            ok("read", ulib::read(d, &mut b))?;
            ensure!(&b == b"bc", "read {b:?} at the shared offset");
            ensure!(offset(other)? == 0, "another open's offset moved");
            ok("read other", ulib::read(other, &mut b))?;
            ensure!(&b == b"ab", "the other open read {b:?}");
            ensure!(
                offset(fd)? == 3,
                "the other open's read moved the shared offset"
            );
            Ok(())
        })();
        close_all(&fds);
        r?;
        expect_contents(&f, b"abcdef")?;
        ok("unlink", ulib::unlink(&f))
    })
}

/// A forked child shares its parent's offsets: what it writes and where
/// it seeks, the parent sees; its close and exit leave the parent's fd
/// open.
fn fs_offset_fork() -> Res {
    in_dir("fs_offset_fork", |dir| {
        let f = format!("{dir}/f");
        let fd = ok("open", ulib::open(&f, O_CREAT | O_RDWR))?;
        let r = (|| {
            ok("write", write_all(fd, b"parent "))?;
            let c = child(|| {
                let ok = write_all(fd, b"child ").is_ok() && ulib::close(fd).is_ok();
                i32::from(!ok)
            })?;
            expect_code(c, 0)?;
            ensure!(
                offset(fd)? == 13,
                "the child's write left the offset at {}",
                offset(fd)?
            );
            ok("write", write_all(fd, b"parent"))?;
            let c = child(|| i32::from(ulib::lseek(fd, 2, SEEK_SET) != Ok(2)))?;
            expect_code(c, 0)?;
            ensure!(
                offset(fd)? == 2,
                "the child's lseek did not move the offset"
            );
            Ok(())
        })();
        close_all(&[fd]);
        r?;
        expect_contents(&f, b"parent child parent")?;
        // Pages enough to see them come back: none of the three processes
        // keeps the file open.
        let fd = ok("open O_APPEND", ulib::open(&f, O_WRONLY | O_APPEND))?;
        let w = write_all(fd, &vec![1u8; 8 * MAX_IO as usize]);
        close_all(&[fd]);
        ok("append", w)?;
        let during = free_frames()?;
        ok("unlink", ulib::unlink(&f))?;
        let freed = free_frames()?.saturating_sub(during);
        ensure!(
            freed + SLACK >= 9,
            "unlinking a 9-page file whose fds closed in three processes freed {freed} frames"
        );
        Ok(())
    })
}

/// The close-on-exec flag: set by O_CLOEXEC or fcntl, cleared on the
/// copies dup and dup2 make, kept by fork; exec closes such fds and spawn
/// does not give them to its child.
fn fs_cloexec() -> Res {
    in_dir("fs_cloexec", |dir| {
        let f = format!("{dir}/f");
        let a = ok(
            "open O_CLOEXEC",
            ulib::open(&f, O_CREAT | O_RDWR | O_CLOEXEC),
        )?;
        let b = ulib::open(&f, O_RDONLY);
        let d = ulib::dup(a);
        let e = ulib::dup2(a, (MAX_FDS - 1) as Fd);
        let fds: Vec<Fd> = [Ok(a), b, d, e]
            .into_iter()
            .filter_map(Result::ok)
            .collect();
        let r = (|| {
            let (b, d, e) = (ok("open", b)?, ok("dup", d)?, ok("dup2", e)?);
            let flags = |fd: Fd| ok("fcntl F_GETFD", ulib::fcntl(fd, F_GETFD, 0));
            ensure!(flags(a)? == FD_CLOEXEC, "O_CLOEXEC: flags {}", flags(a)?);
            ensure!(flags(b)? == 0, "a plain open: flags {}", flags(b)?);
            ensure!(
                flags(d)? == 0 && flags(e)? == 0,
                "dup and dup2 kept the flag"
            );
            ok("F_SETFD", ulib::fcntl(b, F_SETFD, FD_CLOEXEC))?;
            ensure!(flags(b)? == FD_CLOEXEC, "F_SETFD did not set it");
            ok("F_SETFD 0", ulib::fcntl(b, F_SETFD, 0))?;
            ensure!(flags(b)? == 0, "F_SETFD 0 did not clear it");
            ok("F_SETFD", ulib::fcntl(b, F_SETFD, FD_CLOEXEC))?;
            // fork keeps it.
            let c = child(|| i32::from(ulib::fcntl(a, F_GETFD, 0) != Ok(FD_CLOEXEC)))?;
            expect_code(c, 0)?;
            // exec closes a and b, keeps d and e.
            let (ma, mb, pd, pe) = (
                format!("-{a}"),
                format!("-{b}"),
                format!("+{d}"),
                format!("+{e}"),
            );
            let argv = [
                "usertests",
                "--check-fds",
                ma.as_str(),
                mb.as_str(),
                pd.as_str(),
                pe.as_str(),
            ];
            let c = child(|| 100 + ulib::exec("/bin/usertests", &argv).0 as i32)?;
            expect_code(c, 0).map_err(|e| format!("after exec: {e}"))?;
            let c = ok("spawn", ulib::spawn("/bin/usertests", &argv))?;
            expect_code(c, 0).map_err(|e| format!("in a spawned child: {e}"))?;
            // The checker itself sees through a wrong answer.
            let c = ok(
                "spawn",
                ulib::spawn(
                    "/bin/usertests",
                    &["usertests", "--check-fds", &pd.replace('+', "-")],
                ),
            )?;
            expect_code(c, 3).map_err(|e| format!("the checker: {e}"))
        })();
        close_all(&fds);
        r?;
        ok("unlink", ulib::unlink(&f))
    })
}

/// chdir and getcwd: relative paths from the working directory, ERANGE
/// for a short buffer, a child's own working directory, programs found
/// from it.
fn fs_chdir_getcwd() -> Res {
    in_dir("fs_chdir_getcwd", |dir| {
        ok("chdir", ulib::chdir(dir))?;
        ensure!(ok("getcwd", ulib::getcwd())? == dir, "getcwd after chdir");
        ok("mkdir sub", ulib::mkdir("sub"))?;
        let sub = format!("{dir}/sub");
        ensure!(kind(&stat_of(&sub)?) == Some(FileKind::Directory), "sub");
        ok("chdir sub", ulib::chdir("sub"))?;
        ok("chdir ../sub/./", ulib::chdir("../sub/./"))?;
        ensure!(ok("getcwd", ulib::getcwd())? == sub, "getcwd in sub");
        create("x", b"x")?;
        stat_of(&format!("{sub}/x"))?;
        // The buffer: exactly the path's length (no NUL), one less, none.
        let mut buf = vec![0u8; sub.len()];
        let bp = buf.as_mut_ptr() as u64;
        let n = ok("getcwd exact", raw(nr::GETCWD, &[bp, sub.len() as u64]))?;
        ensure!(
            n as usize == sub.len() && buf == sub.as_bytes(),
            "getcwd into its length"
        );
        let erange = &[Errno::ERANGE];
        expect_err(
            "getcwd short",
            raw(nr::GETCWD, &[bp, sub.len() as u64 - 1]),
            erange,
        )?;
        expect_err("getcwd 0", raw(nr::GETCWD, &[bp, 0]), erange)?;
        expect_err("getcwd null", raw(nr::GETCWD, &[0, 4096]), &[Errno::EFAULT])?;
        expect_err("chdir a file", ulib::chdir("x"), &[Errno::ENOTDIR])?;
        expect_err("chdir missing", ulib::chdir("nope"), &[Errno::ENOENT])?;
        expect_err("chdir \"\"", ulib::chdir(""), &[Errno::ENOENT])?;
        ensure!(
            ok("getcwd", ulib::getcwd())? == sub,
            "a refused chdir moved"
        );
        // A child starts where its parent is, and moves on its own.
        let want = sub.clone();
        let c = child(move || {
            let here = ulib::getcwd().is_ok_and(|c| c == want);
            i32::from(!(here && ulib::chdir("/").is_ok()))
        })?;
        expect_code(c, 0)?;
        ensure!(
            ok("getcwd", ulib::getcwd())? == sub,
            "the child's chdir moved its parent"
        );
        // Programs by a relative path start from the working directory; a
        // bare name is looked up in /bin.
        expect_err(
            "spawn ./true here",
            ulib::spawn("./true", &["true"]),
            &[Errno::ENOENT],
        )?;
        let c = ok("spawn true here", ulib::spawn("true", &["true"]))?;
        expect_code(c, 0)?;
        ok("chdir /bin", ulib::chdir("/bin"))?;
        let c = ok("spawn ./true in /bin", ulib::spawn("./true", &["true"]))?;
        expect_code(c, 0)?;
        ok("chdir /", ulib::chdir("/"))?;
        let c = ok("spawn bin/true in /", ulib::spawn("bin/true", &["true"]))?;
        expect_code(c, 0)?;
        ok("unlink", ulib::unlink(&format!("{sub}/x")))?;
        ok("rmdir", ulib::rmdir(&sub))
    })
}

/// lseek on a pipe or the console: ESPIPE.
fn fs_unseekable() -> Res {
    let (r, w) = ok("pipe", ulib::pipe())?;
    let res = (|| {
        let espipe = &[Errno::ESPIPE];
        expect_err("lseek a pipe's reader", ulib::lseek(r, 0, SEEK_CUR), espipe)?;
        expect_err("lseek a pipe's writer", ulib::lseek(w, 0, SEEK_SET), espipe)?;
        expect_err(
            "lseek a pipe to its end",
            ulib::lseek(r, 0, SEEK_END),
            espipe,
        )?;
        for fd in 0..3 {
            if ulib::fstat(fd).is_ok_and(|s| kind(&s) == Some(FileKind::Console)) {
                expect_err(
                    &format!("lseek the console ({fd})"),
                    ulib::lseek(fd, 0, SEEK_SET),
                    espipe,
                )?;
            }
        }
        Ok(())
    })();
    close_all(&[r, w]);
    res
}

/// Files fill their budget (a quarter of RAM): the write that finds it
/// spent is ENOSPC, and so are new files and directories, while
/// processes still get memory; O_TRUNC and unlink give it all back.
fn fs_enospc() -> Res {
    let info = ok("sysinfo", ulib::sysinfo())?;
    let budget = info.total_frames / 4;
    // Each page costs a copy in ring 0: too slow for the watchdog beyond
    // this (README, "The platform").
    if budget > MAX_FILL_PAGES {
        return Err(format!(
            "{SKIP}files may take {} MiB, more than the {} MiB it fills in time; run with --memory 16M",
            budget / 256,
            MAX_FILL_PAGES / 256
        ));
    }
    in_dir("fs_enospc", |dir| {
        let page = vec![0xABu8; MAX_IO as usize];
        let mut files = Vec::new();
        let mut written = 0u64;
        // Files of FILL_FILE_PAGES pages, until a write fails.
        let err = 'fill: loop {
            let name = format!("{dir}/fill{}", files.len());
            let fd = match ulib::open(&name, O_CREAT | O_WRONLY) {
                Ok(fd) => fd,
                Err(e) => break e,
            };
            files.push(name);
            for _ in 0..FILL_FILE_PAGES {
                match ulib::write(fd, &page) {
                    Ok(n) => written += n as u64,
                    Err(e) => {
                        close_all(&[fd]);
                        break 'fill e;
                    }
                }
            }
            close_all(&[fd]);
        };
        let r = (|| {
            ensure!(err == Errno::ENOSPC, "filling stopped with {}", err.name());
            let budget_bytes = budget * PAGE_SIZE;
            // Nodes and names take a little of it.
            ensure!(
                written <= budget_bytes && written + 256 * 1024 >= budget_bytes,
                "{} KiB written of a {} KiB budget",
                written / 1024,
                budget_bytes / 1024
            );
            // Names until even a node does not fit: a few hundred bytes
            // each.
            let mut small = 0;
            let err = loop {
                match ulib::open(&format!("{dir}/s{small}"), O_CREAT | O_WRONLY) {
                    Ok(fd) => {
                        close_all(&[fd]);
                        small += 1;
                    }
                    Err(e) => break e,
                }
                ensure!(small < 64, "64 new files in a full budget");
            };
            for i in 0..small {
                files.push(format!("{dir}/s{i}"));
            }
            ensure!(
                err == Errno::ENOSPC,
                "a new file in a full budget: {}",
                err.name()
            );
            let enospc = &[Errno::ENOSPC];
            // (A longer name than theirs: it costs more.)
            expect_err("mkdir", ulib::mkdir(&format!("{dir}/directory")), enospc)?;
            let fd = ok("open", ulib::open(&files[0], O_WRONLY | O_APPEND))?;
            let w = ulib::write(fd, b"x");
            close_all(&[fd]);
            expect_err("a byte more", w, enospc)?;
            // Processes are not held to the files' budget.
            let c = child(|| 0)?;
            expect_code(c, 0)?;
            let (pr, pw) = ok("pipe", ulib::pipe())?;
            close_all(&[pr, pw]);
            // O_TRUNC gives a file's pages back, to the budget and to the
            // free frames.
            let before = free_frames()?;
            let fd = ok("O_TRUNC", ulib::open(&files[0], O_WRONLY | O_TRUNC))?;
            let back = free_frames()?.saturating_sub(before);
            let w = write_all(fd, &page);
            close_all(&[fd]);
            ensure!(
                back + SLACK >= FILL_FILE_PAGES.min(written / PAGE_SIZE),
                "O_TRUNC freed {back} frames"
            );
            ok("a write after O_TRUNC", w)
        })();
        // Unlinking gives back every page the files still hold.
        let held: u64 = files
            .iter()
            .map(|f| ulib::stat(f).map_or(0, |st| st.size.div_ceil(PAGE_SIZE)))
            .sum();
        let before = free_frames()?;
        for f in &files {
            ok(&format!("unlink {f}"), ulib::unlink(f))?;
        }
        r?;
        let back = free_frames()?.saturating_sub(before);
        ensure!(
            back + SLACK >= held,
            "unlinking files of {held} pages freed {back} frames"
        );
        Ok(())
    })
}

// ------------------------------------------- bugs these cases found

/// A name ending in `/` must be a directory's: for a file, open with
/// O_CREAT, unlink and rename refuse it (Linux: EISDIR for the open,
/// ENOTDIR for the others).
fn fs_trailing_slash() -> Res {
    in_dir("fs_trailing_slash", |dir| {
        let f = format!("{dir}/f");
        let g = format!("{dir}/g");
        create(&f, b"x")?;
        let mut wrong = Vec::new();
        let mut note = |what: &str, r: Result<(), Errno>, want: &[Errno]| match r {
            Err(e) if want.contains(&e) => {}
            Ok(()) => wrong.push(format!("{what} succeeds")),
            Err(e) => wrong.push(format!("{what}: {}", e.name())),
        };
        let o = ulib::open(&format!("{f}/"), O_CREAT | O_WRONLY);
        if let Ok(fd) = o {
            close_all(&[fd]);
        }
        note(
            "open f/ O_CREAT",
            o.map(drop),
            &[Errno::EISDIR, Errno::ENOTDIR],
        );
        let r = ulib::rename(&f, &format!("{g}/"));
        if r.is_ok() {
            ok("rename back", ulib::rename(&g, &f))?;
        }
        note("rename f g/", r, &[Errno::ENOTDIR]);
        let r = ulib::rename(&format!("{f}/"), &g);
        if r.is_ok() {
            ok("rename back", ulib::rename(&g, &f))?;
        }
        note("rename f/ g", r, &[Errno::ENOTDIR]);
        note(
            "unlink f/",
            ulib::unlink(&format!("{f}/")),
            &[Errno::ENOTDIR],
        );
        let _ = ulib::unlink(&f);
        ensure!(
            wrong.is_empty(),
            "a trailing slash on a file's name is ignored: {}",
            wrong.join("; ")
        );
        Ok(())
    })
}

/// A directory removed while it is the working directory, whose parent is
/// removed after it: its `..` must not lead to whatever takes the
/// parent's place (ENOENT, or the removed parent itself, would do); and
/// `getdents` on such a directory lists nothing.
fn fs_removed_parent() -> Res {
    in_dir("fs_removed_parent", |dir| {
        let a = format!("{dir}/a");
        let b = format!("{a}/b");
        let f = format!("{dir}/f");
        ok("mkdir a", ulib::mkdir(&a))?;
        ok("mkdir a/b", ulib::mkdir(&b))?;
        ok("chdir a/b", ulib::chdir(&b))?;
        ok("rmdir a/b", ulib::rmdir(&b))?;
        ok("rmdir a", ulib::rmdir(&a))?;
        // The next file takes the number a had (the kernel reuses the last
        // one freed); the lookup below must find a node there, or it
        // panics.
        create(&f, b"not a directory")?;
        let file = stat_of(&f)?;
        let up = ulib::stat("./..");
        ok("chdir /", ulib::chdir("/"))?;
        ok("unlink", ulib::unlink(&f))?;
        let got = match up {
            Err(Errno::ENOENT) => return Ok(()),
            Ok(st) if kind(&st) == Some(FileKind::Directory) && st.ino != file.ino => return Ok(()),
            Ok(st) if st.ino == file.ino => String::from("the new file"),
            Ok(st) => format!("{st:?}"),
            Err(e) => String::from(e.name()),
        };
        Err(format!(
            "`..` of a removed directory whose parent was removed leads to the parent's freed node, reused by a new file (stat ./..: {got})"
        ))
    })
}

/// A one-byte write far past a file's end costs a page of the budget,
/// not kernel memory in proportion to the offset (or is refused).
fn fs_far_offset() -> Res {
    in_dir("fs_far_offset", |dir| {
        let f = format!("{dir}/f");
        let fd = ok("open", ulib::open(&f, O_CREAT | O_RDWR))?;
        // 64 MiB: a table of 16384 entries, 128 KiB.
        let far = 64 << 20;
        let r = (|| {
            ok("lseek", ulib::lseek(fd, far, SEEK_SET))?;
            let before = free_frames()?;
            let w = ulib::write(fd, b"x");
            let used = before.saturating_sub(free_frames()?);
            match w {
                Err(Errno::EINVAL | Errno::ENOSPC) | Err(Errno(27)) => Ok(()),
                Ok(1) if used <= 4 => Ok(()),
                w => Err(format!(
                    "a 1-byte write at offset {far:#x} gave {w:?} and took {used} frames outside the files' budget"
                )),
            }
        })();
        close_all(&[fd]);
        ok("unlink", ulib::unlink(&f))?;
        r
    })
}
