//! The file tree: directories and files in memory, as Linux unpacks its
//! initramfs into a tmpfs. Files from the initrd keep pointing at the
//! archive's bytes until they are first written (then copied); what
//! programs write lives in 4 KiB pages, counted against a budget
//! (`ENOSPC` past it), and is gone at power-off.
//!
//! A node is a directory (its entries by name) or a file (its bytes). A
//! node leaves the tree when unlinked or removed, but lives on while it is
//! *held* (an open file, a working directory): a file unlinked while open
//! stays readable until its last close. Node numbers are reused; the
//! inode number the calls show ([`Tree::ino`]) adds a generation, so it is
//! unique among the files that exist.
//!
//! Errors are `abi::sys::errno` values (positive).

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::path::Path;
use abi::fs::{FileKind, Stat};
use abi::sys::errno::*;

/// Bytes of a data page.
pub const PAGE: usize = 4096;
/// What a node costs the budget, besides its name and pages (its record,
/// its place in its directory).
pub const NODE_COST: u64 = 256;
/// Largest file size (`EFBIG` past it); a file's memory is its pages
/// written, whatever its size.
pub const MAX_SIZE: u64 = 1 << 40;

type Page = Box<[u8; PAGE]>;

/// A node's number in the tree.
pub type Id = u32;
/// The root directory.
pub const ROOT: Id = 0;

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
}

impl Kind {
    /// As the calls report it.
    pub fn file_kind(self) -> FileKind {
        match self {
            Kind::File => FileKind::Regular,
            Kind::Dir => FileKind::Directory,
        }
    }
}

struct Node {
    kind: Kind,
    /// The directory it is in (the root: itself).
    parent: Id,
    name: String,
    /// In the tree (not unlinked or removed).
    linked: bool,
    /// Open files and working directories that keep it alive.
    holds: u32,
    generation: u32,
    /// A directory's entries.
    entries: BTreeMap<String, Id>,
    /// A file's bytes as the initrd has them, until it is first changed.
    initrd: Option<&'static [u8]>,
    /// A file's bytes once changed, by page number (a page not there
    /// reads as zeros), so a write far past the end costs one page.
    pages: BTreeMap<usize, Page>,
    size: u64,
}

impl Node {
    fn new(kind: Kind, parent: Id, name: &str, generation: u32) -> Node {
        Node {
            kind,
            parent,
            name: name.to_string(),
            linked: true,
            holds: 0,
            generation,
            entries: BTreeMap::new(),
            initrd: None,
            pages: BTreeMap::new(),
            size: 0,
        }
    }
}

/// Nodes per chunk of the node table: a chunk is one small heap block
/// (never a run of contiguous frames, which can run out while single
/// frames are free).
const CHUNK: usize = 8;

/// A slot of the node table.
enum Slot {
    Used(Node),
    /// A free number: the next free one, and the generation it had.
    Free(Option<Id>, u32),
}

/// The tree.
pub struct Tree {
    /// Nodes by number, in chunks of [`CHUNK`]: boxed, so the vector
    /// itself stays a small block of pointers however many nodes there are.
    #[allow(clippy::vec_box)]
    chunks: Vec<Box<[Slot; CHUNK]>>,
    /// Slots in use or freed (the rest of the last chunk is unused).
    len: usize,
    /// The first free number (freed ones are reused, last freed first).
    free: Option<Id>,
    /// Bytes charged: pages and nodes.
    used: u64,
    budget: u64,
    /// Whether the machine can spare a page for a file now (the kernel's
    /// memory outside the budget: frames the processes may take).
    room: fn() -> bool,
}

fn always() -> bool {
    true
}

impl Tree {
    /// A tree with only `/`, whose data and nodes may take `budget` bytes.
    pub fn new(budget: u64) -> Tree {
        let mut root = Node::new(Kind::Dir, ROOT, "", 0);
        root.holds = 1; // never freed
        let mut t = Tree {
            chunks: Vec::new(),
            len: 0,
            free: None,
            used: NODE_COST,
            budget,
            room: always,
        };
        t.push(root);
        t
    }

    /// A file page is taken only while `room` says the machine can spare
    /// it (else the write is `ENOSPC`), whatever the budget.
    pub fn set_room(&mut self, room: fn() -> bool) {
        self.room = room;
    }

    fn slot(&self, id: Id) -> &Slot {
        &self.chunks[id as usize / CHUNK][id as usize % CHUNK]
    }

    fn slot_mut(&mut self, id: Id) -> &mut Slot {
        &mut self.chunks[id as usize / CHUNK][id as usize % CHUNK]
    }

    /// Puts `node` in a new slot at the end: its number.
    fn push(&mut self, node: Node) -> Id {
        if self.len.is_multiple_of(CHUNK) {
            self.chunks
                .push(Box::new(core::array::from_fn(|_| Slot::Free(None, 0))));
        }
        let id = self.len as Id;
        self.len += 1;
        *self.slot_mut(id) = Slot::Used(node);
        id
    }

    /// Bytes the tree's files and nodes take, and its budget.
    pub fn usage(&self) -> (u64, u64) {
        (self.used, self.budget)
    }

    fn node(&self, id: Id) -> &Node {
        match self.slot(id) {
            Slot::Used(n) => n,
            Slot::Free(..) => panic!("node {id} is free"),
        }
    }

    fn node_mut(&mut self, id: Id) -> &mut Node {
        match self.slot_mut(id) {
            Slot::Used(n) => n,
            Slot::Free(..) => panic!("node {id} is free"),
        }
    }

    /// What `id` is.
    pub fn kind(&self, id: Id) -> Kind {
        self.node(id).kind
    }

    /// Its inode number: unique among the nodes that exist.
    pub fn ino(&self, id: Id) -> u64 {
        u64::from(self.node(id).generation) << 32 | u64::from(id)
    }

    /// Whether `id` is still in the tree.
    pub fn linked(&self, id: Id) -> bool {
        self.node(id).linked
    }

    /// Where `path` leads from directory `cwd`: `ENOENT`, `ENOTDIR` (a
    /// name that is not a directory is not last, or a path that asks for a
    /// directory names a file).
    pub fn lookup(&self, cwd: Id, path: &Path) -> Result<Id, i64> {
        let mut at = self.start(cwd, path)?;
        for name in &path.names {
            at = self.step(at, name)?;
        }
        if path.dir && self.kind(at) != Kind::Dir {
            return Err(ENOTDIR);
        }
        Ok(at)
    }

    /// The directory `path`'s last name is in, and that name (`.` for
    /// `/`; the caller refuses `.` and `..` as its call requires). The
    /// directory must be in the tree (`ENOENT`): nothing is made in a
    /// removed one.
    pub fn lookup_parent<'p>(&self, cwd: Id, path: &Path<'p>) -> Result<(Id, &'p str), i64> {
        let mut at = self.start(cwd, path)?;
        let Some((last, init)) = path.names.split_last() else {
            return Ok((at, "."));
        };
        for name in init {
            at = self.step(at, name)?;
        }
        if self.kind(at) != Kind::Dir {
            return Err(ENOTDIR);
        }
        if !self.linked(at) {
            return Err(ENOENT);
        }
        Ok((at, last))
    }

    fn start(&self, cwd: Id, path: &Path) -> Result<Id, i64> {
        if path.absolute {
            return Ok(ROOT);
        }
        // A working directory that was removed has no entries.
        if !self.linked(cwd) && !path.names.is_empty() && path.names[0] != "." {
            return Err(ENOENT);
        }
        Ok(cwd)
    }

    fn step(&self, at: Id, name: &str) -> Result<Id, i64> {
        let n = self.node(at);
        if n.kind != Kind::Dir {
            return Err(ENOTDIR);
        }
        match name {
            "." => Ok(at),
            // A removed directory is out of the tree: its parent may be
            // gone too (and its number reused).
            ".." if !n.linked => Err(ENOENT),
            ".." => Ok(n.parent),
            _ => n.entries.get(name).copied().ok_or(ENOENT),
        }
    }

    /// The entry `name` of directory `dir`.
    pub fn child(&self, dir: Id, name: &str) -> Option<Id> {
        self.node(dir).entries.get(name).copied()
    }

    fn charge(&mut self, bytes: u64) -> Result<(), i64> {
        if self.used + bytes > self.budget {
            return Err(ENOSPC);
        }
        self.used += bytes;
        Ok(())
    }

    /// Makes `name` in directory `dir`: `EEXIST`, `ENOSPC`.
    pub fn create(&mut self, dir: Id, name: &str, kind: Kind) -> Result<Id, i64> {
        if matches!(name, "." | "..") || self.child(dir, name).is_some() {
            return Err(EEXIST);
        }
        self.charge(NODE_COST + name.len() as u64)?;
        let id = match self.free {
            Some(id) => {
                let Slot::Free(next, generation) = *self.slot(id) else {
                    unreachable!("the free list holds free slots");
                };
                self.free = next;
                let node = Node::new(kind, dir, name, generation.wrapping_add(1));
                *self.slot_mut(id) = Slot::Used(node);
                id
            }
            None => self.push(Node::new(kind, dir, name, 0)),
        };
        self.node_mut(dir).entries.insert(name.to_string(), id);
        Ok(id)
    }

    /// A file whose bytes are the initrd's `data`, at `path` (absolute,
    /// its directories made as needed); an existing file is replaced.
    pub fn add_initrd_file(&mut self, path: &str, data: &'static [u8]) -> Result<Id, i64> {
        let (dir, name) = self.make_parents(path)?;
        if let Some(old) = self.child(dir, name) {
            if self.kind(old) == Kind::Dir {
                return Err(EISDIR);
            }
            self.unlink(dir, name)?;
        }
        let id = self.create(dir, name, Kind::File)?;
        let n = self.node_mut(id);
        n.initrd = Some(data);
        n.size = data.len() as u64;
        Ok(id)
    }

    /// The directory at `path` (absolute), made with its parents as
    /// needed.
    pub fn add_dir(&mut self, path: &str) -> Result<Id, i64> {
        let (dir, name) = self.make_parents(path)?;
        match self.child(dir, name) {
            Some(d) if self.kind(d) == Kind::Dir => Ok(d),
            Some(_) => Err(ENOTDIR),
            None if name == "." => Ok(dir),
            None => self.create(dir, name, Kind::Dir),
        }
    }

    /// The parent directory of `path`'s last name, made as needed.
    fn make_parents<'p>(&mut self, path: &'p str) -> Result<(Id, &'p str), i64> {
        let names: Vec<&str> = path
            .split('/')
            .filter(|n| !n.is_empty() && *n != ".")
            .collect();
        let Some((last, init)) = names.split_last() else {
            return Ok((ROOT, "."));
        };
        let mut at = ROOT;
        for name in init {
            at = match self.child(at, name) {
                Some(d) if self.kind(d) == Kind::Dir => d,
                Some(_) => return Err(ENOTDIR),
                None => self.create(at, name, Kind::Dir)?,
            };
        }
        Ok((at, last))
    }

    /// Removes file `name` from directory `dir` (`EISDIR` for a
    /// directory); the file lives on while held.
    pub fn unlink(&mut self, dir: Id, name: &str) -> Result<(), i64> {
        let id = self.child(dir, name).ok_or(ENOENT)?;
        if self.kind(id) == Kind::Dir {
            return Err(EISDIR);
        }
        self.detach(dir, name, id);
        Ok(())
    }

    /// Removes empty directory `name` from `dir`: `ENOTDIR`, `ENOTEMPTY`.
    pub fn rmdir(&mut self, dir: Id, name: &str) -> Result<(), i64> {
        let id = self.child(dir, name).ok_or(ENOENT)?;
        if self.kind(id) != Kind::Dir {
            return Err(ENOTDIR);
        }
        if !self.node(id).entries.is_empty() {
            return Err(ENOTEMPTY);
        }
        self.detach(dir, name, id);
        Ok(())
    }

    fn detach(&mut self, dir: Id, name: &str, id: Id) {
        self.node_mut(dir).entries.remove(name);
        self.node_mut(id).linked = false;
        self.maybe_free(id);
    }

    /// Moves `oname` in `odir` to `nname` in `ndir`, replacing a file
    /// there (or an empty directory, by a directory): `ENOENT`, `EISDIR`,
    /// `ENOTDIR`, `ENOTEMPTY`, `EINVAL` (a directory into itself).
    pub fn rename(&mut self, odir: Id, oname: &str, ndir: Id, nname: &str) -> Result<(), i64> {
        let src = self.child(odir, oname).ok_or(ENOENT)?;
        if matches!(nname, "." | "..") {
            return Err(EBUSY);
        }
        if self.kind(src) == Kind::Dir {
            let mut at = ndir;
            loop {
                if at == src {
                    return Err(EINVAL);
                }
                if at == ROOT {
                    break;
                }
                at = self.node(at).parent;
            }
        }
        if nname.len() > oname.len() && self.used + (nname.len() - oname.len()) as u64 > self.budget
        {
            return Err(ENOSPC);
        }
        if let Some(dst) = self.child(ndir, nname) {
            if dst == src {
                return Ok(());
            }
            match (self.kind(src), self.kind(dst)) {
                (Kind::File, Kind::Dir) => return Err(EISDIR),
                (Kind::Dir, Kind::File) => return Err(ENOTDIR),
                (Kind::Dir, Kind::Dir) if !self.node(dst).entries.is_empty() => {
                    return Err(ENOTEMPTY);
                }
                _ => {}
            }
            self.detach(ndir, nname, dst);
        }
        // The name's bytes move from one charge to the other (there was
        // room for a longer one: checked above).
        self.used = self.used - oname.len() as u64 + nname.len() as u64;
        self.node_mut(odir).entries.remove(oname);
        self.node_mut(ndir).entries.insert(nname.to_string(), src);
        let n = self.node_mut(src);
        n.parent = ndir;
        n.name = nname.to_string();
        Ok(())
    }

    /// Keeps `id` alive (an open file, a working directory).
    pub fn hold(&mut self, id: Id) {
        self.node_mut(id).holds += 1;
    }

    /// Lets go of a [`Tree::hold`]: an unlinked node goes with its last.
    pub fn release(&mut self, id: Id) {
        let n = self.node_mut(id);
        n.holds -= 1;
        self.maybe_free(id);
    }

    fn maybe_free(&mut self, id: Id) {
        let n = self.node(id);
        if n.linked || n.holds > 0 {
            return;
        }
        let pages = n.pages.len() as u64;
        let cost = NODE_COST + n.name.len() as u64 + pages * PAGE as u64;
        let generation = n.generation;
        *self.slot_mut(id) = Slot::Free(self.free, generation);
        self.used -= cost;
        self.free = Some(id);
    }

    /// What `stat` says of `id`.
    pub fn stat(&self, id: Id) -> Stat {
        let n = self.node(id);
        let size = match n.kind {
            Kind::File => n.size,
            Kind::Dir => n.entries.len() as u64 + 2,
        };
        Stat {
            kind: n.kind.file_kind() as u8,
            nlink: u32::from(n.linked),
            size,
            ino: self.ino(id),
            ..Stat::default()
        }
    }

    /// A file's size.
    pub fn size(&self, id: Id) -> u64 {
        self.node(id).size
    }

    /// Copies a file's bytes from `offset` into `out`: how many (0 at or
    /// past the end).
    pub fn read(&self, id: Id, offset: u64, out: &mut [u8]) -> usize {
        let n = self.node(id);
        if offset >= n.size {
            return 0;
        }
        let len = out.len().min((n.size - offset) as usize);
        if let Some(data) = n.initrd {
            let at = offset as usize;
            out[..len].copy_from_slice(&data[at..at + len]);
            return len;
        }
        let mut done = 0;
        while done < len {
            let at = offset as usize + done;
            let (page, within) = (at / PAGE, at % PAGE);
            let step = (PAGE - within).min(len - done);
            match n.pages.get(&page) {
                Some(p) => out[done..done + step].copy_from_slice(&p[within..within + step]),
                None => out[done..done + step].fill(0),
            }
            done += step;
        }
        len
    }

    /// Moves a file's initrd bytes into pages of its own, before a change.
    fn materialize(&mut self, id: Id) -> Result<(), i64> {
        let Some(data) = self.node(id).initrd else {
            return Ok(());
        };
        let npages = data.len().div_ceil(PAGE);
        if !(self.room)() {
            return Err(ENOSPC);
        }
        self.charge((npages * PAGE) as u64)?;
        let mut pages = BTreeMap::new();
        for (i, chunk) in data.chunks(PAGE).enumerate() {
            let mut p = zeroed_page();
            p[..chunk.len()].copy_from_slice(chunk);
            pages.insert(i, p);
        }
        let n = self.node_mut(id);
        n.pages = pages;
        n.initrd = None;
        Ok(())
    }

    /// Writes `data` into a file at `offset`: the count written, or
    /// `ENOSPC` when not even a byte fits the budget (a write that runs
    /// out part way returns what it wrote).
    pub fn write(&mut self, id: Id, offset: u64, data: &[u8]) -> Result<usize, i64> {
        if data.is_empty() {
            return Ok(0);
        }
        if offset.saturating_add(data.len() as u64) > MAX_SIZE {
            return Err(EFBIG);
        }
        self.materialize(id)?;
        let mut done = 0;
        while done < data.len() {
            let at = offset as usize + done;
            let (page, within) = (at / PAGE, at % PAGE);
            let step = (PAGE - within).min(data.len() - done);
            if !self.node(id).pages.contains_key(&page) {
                if !(self.room)() || self.charge(PAGE as u64).is_err() {
                    break;
                }
                self.node_mut(id).pages.insert(page, zeroed_page());
            }
            let n = self.node_mut(id);
            if let Some(p) = n.pages.get_mut(&page) {
                p[within..within + step].copy_from_slice(&data[done..done + step]);
            }
            done += step;
            n.size = n.size.max((at + step) as u64);
        }
        if done == 0 { Err(ENOSPC) } else { Ok(done) }
    }

    /// Cuts (or extends with zeros) a file to `len` bytes.
    pub fn truncate(&mut self, id: Id, len: u64) -> Result<(), i64> {
        if len > MAX_SIZE {
            return Err(EFBIG);
        }
        if len == 0 {
            let n = self.node_mut(id);
            n.initrd = None;
            let freed = core::mem::take(&mut n.pages).len() as u64;
            n.size = 0;
            self.used -= freed * PAGE as u64;
            return Ok(());
        }
        self.materialize(id)?;
        let keep = (len as usize).div_ceil(PAGE);
        let n = self.node_mut(id);
        let gone = n.pages.split_off(&keep);
        let freed = gone.len() as u64;
        drop(gone);
        // The tail of the last page kept reads as zeros if the file grows.
        let cut = len as usize % PAGE;
        if cut != 0
            && let Some(p) = n.pages.get_mut(&(keep - 1))
        {
            p[cut..].fill(0);
        }
        n.size = len;
        self.used -= freed * PAGE as u64;
        Ok(())
    }

    /// Entry `index` of directory `dir` (`.` and `..` first, then the
    /// entries by name): its name, node and kind; nothing for a removed
    /// directory.
    pub fn entry(&self, dir: Id, index: usize) -> Option<(&str, Id, Kind)> {
        let n = self.node(dir);
        // A removed directory lists nothing, not even `.` and `..` (as
        // Linux's).
        if !n.linked {
            return None;
        }
        match index {
            0 => Some((".", dir, Kind::Dir)),
            1 => Some(("..", n.parent, Kind::Dir)),
            i => n
                .entries
                .iter()
                .nth(i - 2)
                .map(|(name, &id)| (name.as_str(), id, self.kind(id))),
        }
    }

    /// The absolute path of directory `id`: `ENOENT` once it is removed.
    pub fn path_of(&self, id: Id) -> Result<String, i64> {
        let mut names = Vec::new();
        let mut at = id;
        while at != ROOT {
            let n = self.node(at);
            if !n.linked {
                return Err(ENOENT);
            }
            names.push(n.name.as_str());
            at = n.parent;
        }
        let mut s = String::new();
        for name in names.iter().rev() {
            s.push('/');
            s.push_str(name);
        }
        if s.is_empty() {
            s.push('/');
        }
        Ok(s)
    }

    /// A program's bytes: a file as the initrd has it (a file written at
    /// run time cannot be run: `None`).
    pub fn program(&self, id: Id) -> Option<&'static [u8]> {
        let n = self.node(id);
        if n.kind == Kind::File { n.initrd } else { None }
    }
}

fn zeroed_page() -> Page {
    // SAFETY: all-zero bytes are a valid [u8; PAGE].
    unsafe { Box::<[u8; PAGE]>::new_zeroed().assume_init() }
}

#[cfg(test)]
mod tests {
    use super::super::path::parse;
    use super::*;
    use alloc::vec;

    fn find(t: &Tree, cwd: Id, p: &str) -> Result<Id, i64> {
        t.lookup(cwd, &parse(p)?)
    }

    static MOTD: &[u8] = b"welcome\n";

    fn sample() -> Tree {
        let mut t = Tree::new(1 << 20);
        t.add_dir("tmp").unwrap();
        t.add_initrd_file("etc/motd", MOTD).unwrap();
        t.add_initrd_file("bin/sh", b"\x7fELF").unwrap();
        t
    }

    #[test]
    fn paths_resolve() {
        let t = sample();
        let etc = find(&t, ROOT, "/etc").unwrap();
        let motd = find(&t, ROOT, "/etc/motd").unwrap();
        assert_eq!(find(&t, etc, "motd"), Ok(motd));
        assert_eq!(find(&t, etc, "../etc/./motd"), Ok(motd));
        assert_eq!(find(&t, ROOT, "/../.."), Ok(ROOT));
        assert_eq!(find(&t, ROOT, "/nope"), Err(ENOENT));
        assert_eq!(find(&t, ROOT, "/etc/motd/x"), Err(ENOTDIR));
        assert_eq!(find(&t, ROOT, "/etc/motd/"), Err(ENOTDIR));
        assert_eq!(t.kind(etc), Kind::Dir);
        assert_eq!(t.path_of(etc).unwrap(), "/etc");
        assert_eq!(
            t.program(find(&t, ROOT, "bin/sh").unwrap()),
            Some(&b"\x7fELF"[..])
        );
    }

    #[test]
    fn files_read_write_truncate() {
        let mut t = sample();
        let motd = find(&t, ROOT, "/etc/motd").unwrap();
        let mut buf = [0u8; 32];
        assert_eq!(t.read(motd, 0, &mut buf), 8);
        assert_eq!(&buf[..8], MOTD);
        // A change copies it first: the initrd stays as it was.
        assert_eq!(t.write(motd, 3, b"COME"), Ok(4));
        assert_eq!(t.read(motd, 0, &mut buf), 8);
        assert_eq!(&buf[..8], b"welCOME\n");
        assert_eq!(MOTD, b"welcome\n");
        assert_eq!(t.program(motd), None);
        // A write past the end leaves zeros between.
        assert_eq!(t.write(motd, 2 * PAGE as u64 + 1, b"x"), Ok(1));
        assert_eq!(t.size(motd), 2 * PAGE as u64 + 2);
        let mut big = vec![9u8; 3 * PAGE];
        assert_eq!(t.read(motd, 0, &mut big), 2 * PAGE + 2);
        assert!(big[8..2 * PAGE + 1].iter().all(|&b| b == 0));
        assert_eq!(big[2 * PAGE + 1], b'x');
        t.truncate(motd, 4).unwrap();
        assert_eq!(t.read(motd, 0, &mut buf), 4);
        t.write(motd, 6, b"!").unwrap();
        assert_eq!(t.read(motd, 0, &mut buf), 7);
        assert_eq!(&buf[..7], b"welC\0\0!");
        t.truncate(motd, 0).unwrap();
        assert_eq!(t.size(motd), 0);
    }

    #[test]
    fn the_budget_holds() {
        let mut t = Tree::new(NODE_COST * 4 + 2 * PAGE as u64);
        let f = t.create(ROOT, "f", Kind::File).unwrap();
        let big = vec![1u8; 3 * PAGE];
        assert_eq!(t.write(f, 0, &big), Ok(2 * PAGE), "what fits is written");
        assert_eq!(t.write(f, 2 * PAGE as u64, b"more"), Err(ENOSPC));
        t.truncate(f, 0).unwrap();
        assert_eq!(
            t.write(f, 0, &big[..PAGE]),
            Ok(PAGE),
            "truncating gave it back"
        );
        let before = t.usage().0;
        t.unlink(ROOT, "f").unwrap();
        assert!(t.usage().0 < before - PAGE as u64);
    }

    #[test]
    fn directories_and_names() {
        let mut t = sample();
        let tmp = find(&t, ROOT, "/tmp").unwrap();
        let d = t.create(tmp, "d", Kind::Dir).unwrap();
        assert_eq!(t.create(tmp, "d", Kind::File), Err(EEXIST));
        t.create(d, "f", Kind::File).unwrap();
        assert_eq!(t.rmdir(tmp, "d"), Err(ENOTEMPTY));
        assert_eq!(t.unlink(tmp, "d"), Err(EISDIR));
        assert_eq!(t.rmdir(d, "f"), Err(ENOTDIR));
        let names: Vec<&str> = (0..).map_while(|i| t.entry(d, i)).map(|e| e.0).collect();
        assert_eq!(names, [".", "..", "f"]);
        // Renames: a file over a file, a directory into itself.
        let g = t.create(tmp, "g", Kind::File).unwrap();
        t.rename(tmp, "g", d, "f").unwrap();
        assert_eq!(t.child(d, "f"), Some(g));
        assert_eq!(t.child(tmp, "g"), None);
        assert_eq!(t.rename(tmp, "d", d, "x"), Err(EINVAL));
        assert_eq!(t.rename(tmp, "d", ROOT, "etc"), Err(ENOTEMPTY));
        t.rename(tmp, "d", ROOT, "d2").unwrap();
        assert_eq!(t.path_of(d).unwrap(), "/d2");
        assert_eq!(find(&t, ROOT, "/d2/f"), Ok(g));
    }

    #[test]
    fn far_writes_cost_a_page() {
        let mut t = Tree::new(NODE_COST * 4 + 2 * PAGE as u64);
        let f = t.create(ROOT, "f", Kind::File).unwrap();
        assert_eq!(t.write(f, 1 << 36, b"x"), Ok(1));
        assert_eq!(t.size(f), (1 << 36) + 1);
        assert_eq!(t.write(f, MAX_SIZE, b"x"), Err(EFBIG));
        assert_eq!(t.truncate(f, MAX_SIZE + 1), Err(EFBIG));
        let mut buf = [7u8; 4];
        assert_eq!(t.read(f, 1 << 30, &mut buf), 4);
        assert_eq!(buf, [0; 4]);
        t.truncate(f, 10).unwrap();
        assert_eq!(t.usage().0, NODE_COST * 2 + 1, "the far page went");
    }

    #[test]
    fn a_removed_directory_has_no_parent_and_no_entries() {
        let mut t = sample();
        let a = t.create(ROOT, "a", Kind::Dir).unwrap();
        let b = t.create(a, "b", Kind::Dir).unwrap();
        t.hold(b);
        t.rmdir(a, "b").unwrap();
        t.rmdir(ROOT, "a").unwrap();
        // a's number is reused by a file.
        let f = t.create(ROOT, "f", Kind::File).unwrap();
        assert_eq!(f, a);
        assert_eq!(find(&t, b, ".."), Err(ENOENT));
        assert_eq!(t.entry(b, 0), None);
        t.release(b);
    }

    #[test]
    fn held_nodes_outlive_their_names() {
        let mut t = sample();
        let f = t.create(ROOT, "f", Kind::File).unwrap();
        t.write(f, 0, b"still here").unwrap();
        let ino = t.ino(f);
        t.hold(f);
        t.unlink(ROOT, "f").unwrap();
        assert_eq!(find(&t, ROOT, "/f"), Err(ENOENT));
        let mut buf = [0u8; 16];
        assert_eq!(t.read(f, 0, &mut buf), 10, "open, it reads on");
        assert_eq!(t.stat(f).nlink, 0);
        t.release(f);
        // Its number is reused, its inode number is not.
        let g = t.create(ROOT, "g", Kind::File).unwrap();
        assert_eq!(g, f);
        assert_ne!(t.ino(g), ino);
        // A removed working directory: no entries, no path.
        let d = t.create(ROOT, "d", Kind::Dir).unwrap();
        t.hold(d);
        t.rmdir(ROOT, "d").unwrap();
        assert_eq!(t.path_of(d), Err(ENOENT));
        assert_eq!(find(&t, d, "x"), Err(ENOENT));
        assert_eq!(t.lookup_parent(d, &parse("x").unwrap()), Err(ENOENT));
        assert_eq!(find(&t, d, "."), Ok(d));
        t.release(d);
    }
}
