//! Reading the debug port's structures out of guest memory: the
//! registration block, the PCB table (each process's record and its files)
//! under its generation guard, and the event ring. Pure functions over
//! [`GuestRam`], so they are tested (and fuzzed) over plain byte buffers;
//! nothing the guest writes is trusted.

use std::mem::size_of;

use abi::debug::{
    self, ACK_OFFSET, EVENT_SIZE, Event, GENERATION_OFFSET, HEAD_OFFSET, MAGIC, PanicRecord,
    Registration, TAIL_OFFSET,
};
use abi::fs::FilesInfo;
use abi::proc::{Pid, ProcInfo, ProcState};

/// Guest-physical memory as the debug port reads it: whole reads and
/// writes inside RAM, or nothing.
pub trait GuestRam: Send + Sync {
    /// Fills `buf` from `gpa`; false (and `buf` unspecified) when any byte
    /// lies outside RAM.
    fn read(&self, gpa: u64, buf: &mut [u8]) -> bool;
    /// Writes `data` at `gpa`; false (and nothing written) when any byte
    /// lies outside RAM.
    fn write(&self, gpa: u64, data: &[u8]) -> bool;
    /// Whether `len` bytes from `gpa` are RAM.
    fn contains(&self, gpa: u64, len: u64) -> bool;
}

impl GuestRam for vm_memory::GuestMemoryMmap {
    fn read(&self, gpa: u64, buf: &mut [u8]) -> bool {
        use vm_memory::{Bytes, GuestAddress};
        self.contains(gpa, buf.len() as u64) && self.read_slice(buf, GuestAddress(gpa)).is_ok()
    }

    fn write(&self, gpa: u64, data: &[u8]) -> bool {
        use vm_memory::{Bytes, GuestAddress};
        self.contains(gpa, data.len() as u64) && self.write_slice(data, GuestAddress(gpa)).is_ok()
    }

    fn contains(&self, gpa: u64, len: u64) -> bool {
        use vm_memory::{GuestAddress, GuestMemoryBackend};
        len == 0
            || (gpa.checked_add(len).is_some()
                && GuestMemoryBackend::check_range(self, GuestAddress(gpa), len as usize))
    }
}

/// RAM in a byte vector from guest-physical 0, for the unit tests and the
/// fuzz targets (the VMM itself reads real guest memory).
pub struct VecRam(pub std::sync::Mutex<Vec<u8>>);

impl VecRam {
    /// `len` zero bytes.
    pub fn new(len: usize) -> VecRam {
        VecRam(std::sync::Mutex::new(vec![0; len]))
    }
}

impl GuestRam for VecRam {
    fn read(&self, gpa: u64, buf: &mut [u8]) -> bool {
        if !self.contains(gpa, buf.len() as u64) {
            return false;
        }
        let m = self.0.lock().unwrap();
        buf.copy_from_slice(&m[gpa as usize..gpa as usize + buf.len()]);
        true
    }

    fn write(&self, gpa: u64, data: &[u8]) -> bool {
        if !self.contains(gpa, data.len() as u64) {
            return false;
        }
        let mut m = self.0.lock().unwrap();
        m[gpa as usize..gpa as usize + data.len()].copy_from_slice(data);
        true
    }

    fn contains(&self, gpa: u64, len: u64) -> bool {
        gpa.checked_add(len)
            .is_some_and(|end| end <= self.0.lock().unwrap().len() as u64)
    }
}

/// Plain-old-data records of the debug port: every bit pattern is a valid
/// value.
///
/// # Safety
/// Implement only for `repr(C)` types made of integers and arrays of them.
unsafe trait Pod: Copy {}
// SAFETY: repr(C), integers and integer arrays only (see abi::debug).
unsafe impl Pod for Registration {}
// SAFETY: repr(C), integers and integer arrays only (see abi::proc).
unsafe impl Pod for ProcInfo {}
// SAFETY: repr(C), integers and integer arrays only.
unsafe impl Pod for PanicRecord {}
// SAFETY: repr(C), integer arrays and an array of FdInfo (repr(C),
// integers and integer arrays only), no padding (see abi::fs).
unsafe impl Pod for FilesInfo {}

fn read_pod<T: Pod>(ram: &dyn GuestRam, gpa: u64) -> Option<T> {
    let mut bytes = vec![0u8; size_of::<T>()];
    if !ram.read(gpa, &mut bytes) {
        return None;
    }
    // SAFETY: `bytes` holds size_of::<T>() initialized bytes and T: Pod
    // accepts any of them; read_unaligned needs no alignment.
    Some(unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<T>()) })
}

fn read_u64(ram: &dyn GuestRam, gpa: u64) -> Option<u64> {
    let mut b = [0u8; 8];
    ram.read(gpa, &mut b).then(|| u64::from_le_bytes(b))
}

fn read_u32(ram: &dyn GuestRam, gpa: u64) -> Option<u32> {
    let mut b = [0u8; 4];
    ram.read(gpa, &mut b).then(|| u32::from_le_bytes(b))
}

fn write_u64(ram: &dyn GuestRam, gpa: u64, v: u64) -> bool {
    ram.write(gpa, &v.to_le_bytes())
}

/// The most PCBs the VMM reads (a table claiming more is refused).
pub const MAX_CAPACITY: u32 = 1 << 16;
/// The largest PCB stride the VMM accepts.
pub const MAX_STRIDE: u32 = 1 << 20;
/// The largest event ring the VMM accepts (records).
pub const MAX_RING: u32 = 1 << 16;

/// A registration the VMM checked: every range lies in RAM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Address of the registration block.
    pub block: u64,
    /// The kernel's timer rate.
    pub hz: u32,
    /// The kernel's TSC rate (0: unknown).
    pub tsc_khz: u64,
    /// TSC at kernel entry.
    pub boot_tsc: u64,
    /// TSC when the block was announced.
    pub announce_tsc: u64,
    /// The PCB table (capacity 0: not registered yet).
    pub table: u64,
    /// Bytes between PCBs.
    pub stride: u32,
    /// PCBs in the table.
    pub capacity: u32,
    /// Offset of the ProcInfo in a PCB.
    pub info_offset: u32,
    /// Offset of the FilesInfo in a PCB (inside the stride, apart from
    /// the ProcInfo).
    pub files_offset: u32,
    /// The event ring.
    pub ring: u64,
    /// Records in it.
    pub ring_capacity: u32,
}

/// Reads and checks the block the guest announced at `gpa`; the error says
/// what is wrong, in words for the warning line.
pub fn validate(ram: &dyn GuestRam, gpa: u64) -> Result<Layout, String> {
    if !gpa.is_multiple_of(8) {
        return Err(format!("block address {gpa:#x} is not 8-aligned"));
    }
    let size = size_of::<Registration>() as u64;
    let r: Registration = read_pod(ram, gpa)
        .ok_or_else(|| format!("block at {gpa:#x} (+{size} bytes) is outside guest RAM"))?;
    if r.magic != MAGIC {
        return Err(format!("bad magic {:#x} in the block at {gpa:#x}", r.magic));
    }
    if r.version != debug::VERSION {
        return Err(format!(
            "layout version {} (this VMM reads version {})",
            r.version,
            debug::VERSION
        ));
    }
    if u64::from(r.size) != size {
        return Err(format!("block size {} (expected {size})", r.size));
    }
    let cap = r.ring_capacity;
    if !cap.is_power_of_two() || cap > MAX_RING {
        return Err(format!(
            "event ring capacity {cap} (a power of two up to {MAX_RING})"
        ));
    }
    let ring_len = u64::from(cap) * EVENT_SIZE as u64;
    if !r.ring.is_multiple_of(8) || !ram.contains(r.ring, ring_len) {
        return Err(format!(
            "event ring at {:#x} (+{ring_len} bytes) is not aligned guest RAM",
            r.ring
        ));
    }
    if r.capacity > MAX_CAPACITY {
        return Err(format!(
            "PCB table capacity {} (at most {MAX_CAPACITY})",
            r.capacity
        ));
    }
    if r.capacity > 0 {
        let need = u64::from(r.info_offset) + size_of::<ProcInfo>() as u64;
        if u64::from(r.stride) < need || r.stride > MAX_STRIDE {
            return Err(format!(
                "PCB stride {} with the record at offset {} (needs {need}..={MAX_STRIDE})",
                r.stride, r.info_offset
            ));
        }
        // The files record: inside the stride, and apart from the process
        // record (a kernel that overlapped them would show garbage).
        let info = u64::from(r.info_offset)..need;
        let files_len = size_of::<FilesInfo>() as u64;
        let files = u64::from(r.files_offset)..u64::from(r.files_offset) + files_len;
        if files.end > u64::from(r.stride) {
            return Err(format!(
                "files record at PCB offset {} (+{files_len} bytes) does not fit in the PCB stride {}",
                r.files_offset, r.stride
            ));
        }
        if files.start < info.end && info.start < files.end {
            return Err(format!(
                "files record at PCB offset {} (+{files_len} bytes) overlaps the process record \
                 at offset {}",
                r.files_offset, r.info_offset
            ));
        }
        let len = u64::from(r.capacity) * u64::from(r.stride);
        if !ram.contains(r.table, len) {
            return Err(format!(
                "PCB table at {:#x} (+{len} bytes) is outside guest RAM",
                r.table
            ));
        }
    }
    Ok(Layout {
        block: gpa,
        hz: r.hz,
        tsc_khz: r.tsc_khz,
        boot_tsc: r.boot_tsc,
        announce_tsc: r.announce_tsc,
        table: r.table,
        stride: r.stride,
        capacity: r.capacity,
        info_offset: r.info_offset,
        files_offset: r.files_offset,
        ring: r.ring,
        ring_capacity: cap,
    })
}

/// Tells the kernel the VMM accepted its block.
pub fn acknowledge(ram: &dyn GuestRam, layout: &Layout) -> bool {
    ram.write(layout.block + ACK_OFFSET, &1u32.to_le_bytes())
}

/// A copy of the process table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// The processes in use, by pid.
    pub procs: Vec<ProcInfo>,
    /// Their files: `files[i]` belongs to `procs[i]`, copied with it under
    /// the same guard (which vouches for them as far as the kernel changes
    /// them inside its generation bracket; nothing in them is trusted, so
    /// a torn record shows odd values, never a crash).
    pub files: Vec<FilesInfo>,
    /// False when no copy was taken while the kernel left the table alone
    /// (the generation stayed odd or kept moving): the rows may mix two
    /// moments.
    pub consistent: bool,
    /// Copies taken.
    pub tries: u32,
    /// The console's foreground process group
    /// ([`Registration::fg_pgid`]), read with the last copy: `ps` marks
    /// its members.
    pub foreground: Pid,
}

impl Table {
    /// The record and the files of `pid`, if the table has it.
    pub fn get(&self, pid: Pid) -> Option<(&ProcInfo, &FilesInfo)> {
        let i = self.procs.binary_search_by_key(&pid, |p| p.pid).ok()?;
        Some((&self.procs[i], self.files.get(i)?))
    }
}

/// Copies taken before [`read_table`] gives up on a consistent one.
pub const TABLE_TRIES: u32 = 64;

/// Copies the table, each process's record and its files, under the
/// generation guard: a copy counts when the generation was the same even
/// value before and after it. After [`TABLE_TRIES`] the last copy is
/// returned marked inconsistent (a guest stuck in the middle of a change
/// still shows its table). `None` when the table is not registered or not
/// readable.
pub fn read_table(ram: &dyn GuestRam, layout: &Layout) -> Option<Table> {
    if layout.capacity == 0 {
        return None;
    }
    let generation = layout.block + GENERATION_OFFSET;
    let foreground = || read_foreground(ram, layout);
    let mut rows = Vec::new();
    let copy = |rows: &mut Vec<(ProcInfo, FilesInfo)>| -> Option<()> {
        rows.clear();
        let mut rec = [0u8; size_of::<ProcInfo>()];
        for slot in 0..u64::from(layout.capacity) {
            let pcb = layout.table + slot * u64::from(layout.stride);
            if !ram.read(pcb + u64::from(layout.info_offset), &mut rec) {
                return None;
            }
            // SAFETY: `rec` holds a whole ProcInfo's bytes; ProcInfo is
            // Pod; read_unaligned needs no alignment.
            let p: ProcInfo = unsafe { std::ptr::read_unaligned(rec.as_ptr().cast()) };
            if !p.pid.is_none() && p.state != ProcState::Unused as u32 {
                // Only the slots in use: most of a table is free.
                rows.push((p, read_pod(ram, pcb + u64::from(layout.files_offset))?));
            }
        }
        Some(())
    };
    let table = |mut rows: Vec<(ProcInfo, FilesInfo)>, consistent, tries| {
        rows.sort_by_key(|r| r.0.pid);
        let (procs, files) = rows.into_iter().unzip();
        Some(Table {
            procs,
            files,
            consistent,
            tries,
            foreground: foreground()?,
        })
    };
    for tries in 1..=TABLE_TRIES {
        let before = read_u64(ram, generation)?;
        // An odd generation: the kernel is inside a change; copying now
        // would be wasted (and a stuck guest would make us copy the table
        // TABLE_TRIES times).
        if before % 2 == 0 {
            copy(&mut rows)?;
            if read_u64(ram, generation)? == before {
                return table(rows, true, tries);
            }
        }
        std::thread::yield_now();
    }
    // Never still: show the last look, marked.
    copy(&mut rows)?;
    table(rows, false, TABLE_TRIES)
}

/// The console's foreground process group ([`Registration::fg_pgid`]);
/// the kernel changes it outside the generation guard, so it is as fresh
/// as the read.
pub fn read_foreground(ram: &dyn GuestRam, layout: &Layout) -> Option<Pid> {
    read_u32(
        ram,
        layout.block + std::mem::offset_of!(Registration, fg_pgid) as u64,
    )
    .map(Pid)
}

/// The PCB of `pid`, if its slot (`(pid - 1) % capacity`) still holds it.
pub fn read_proc(ram: &dyn GuestRam, layout: &Layout, pid: Pid) -> Option<ProcInfo> {
    let slot = abi::proc::slot_of_pid(i64::from(pid.get()), layout.capacity as usize)? as u64;
    let at = layout.table + slot * u64::from(layout.stride) + u64::from(layout.info_offset);
    let p: ProcInfo = read_pod(ram, at)?;
    (p.pid == pid).then_some(p)
}

/// The kernel's crash record.
pub fn read_panic(ram: &dyn GuestRam, layout: &Layout) -> Option<PanicRecord> {
    read_pod(
        ram,
        layout.block + std::mem::offset_of!(Registration, panic) as u64,
    )
}

/// The boot stamps: (sched_tsc, init_tsc), 0 when not reached.
pub fn read_stamps(ram: &dyn GuestRam, layout: &Layout) -> Option<(u64, u64)> {
    let sched = read_u64(
        ram,
        layout.block + std::mem::offset_of!(Registration, sched_tsc) as u64,
    )?;
    let init = read_u64(
        ram,
        layout.block + std::mem::offset_of!(Registration, init_tsc) as u64,
    )?;
    Some((sched, init))
}

/// What one drain of the ring found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Drained {
    /// The records, oldest first.
    pub events: Vec<Event>,
    /// Records overwritten before the VMM read them.
    pub lost: u64,
    /// The guest's head went backwards or jumped absurdly (reported once
    /// by the caller); the reader resynchronised.
    pub bogus_head: bool,
}

/// Decodes records `from..to` (positions counted since boot) of a ring of
/// `capacity` records whose bytes are `ring`.
pub fn decode_ring(ring: &[u8], capacity: u32, from: u64, to: u64) -> Vec<Event> {
    let cap = u64::from(capacity);
    if cap == 0 || ring.len() as u64 != cap * EVENT_SIZE as u64 {
        return Vec::new();
    }
    let from = from.max(to.saturating_sub(cap));
    (from..to)
        .map(|pos| {
            let i = (pos % cap) as usize * EVENT_SIZE;
            let rec: &[u8; EVENT_SIZE] = ring[i..i + EVENT_SIZE].try_into().expect("record");
            Event::from_bytes(rec)
        })
        .collect()
}

/// Reads the records the kernel wrote since `tail` (the VMM's own count:
/// the guest's copy is only informative) and publishes the new tail.
/// Records overwritten while being read are dropped and counted.
pub fn drain_ring(ram: &dyn GuestRam, layout: &Layout, tail: &mut u64) -> Drained {
    let mut out = Drained::default();
    let Some(head) = read_u64(ram, layout.block + HEAD_OFFSET) else {
        return out;
    };
    if head == *tail {
        return out;
    }
    let cap = u64::from(layout.ring_capacity);
    if head < *tail {
        out.bogus_head = true;
        *tail = head;
        let _ = write_u64(ram, layout.block + TAIL_OFFSET, head);
        return out;
    }
    let mut from = *tail;
    if head - from > cap {
        out.lost += head - from - cap;
        from = head - cap;
    }
    let mut bytes = vec![0u8; cap as usize * EVENT_SIZE];
    if !ram.read(layout.ring, &mut bytes) {
        return out;
    }
    // The kernel may have lapped the oldest records while we copied.
    let head_after = read_u64(ram, layout.block + HEAD_OFFSET).unwrap_or(head);
    if head_after >= head && head_after.saturating_sub(cap) > from {
        let safe_from = head_after - cap;
        out.lost += safe_from.min(head) - from;
        from = safe_from.min(head);
    } else if head_after < head {
        out.bogus_head = true;
    }
    out.events = decode_ring(&bytes, layout.ring_capacity, from, head);
    *tail = head;
    let _ = write_u64(ram, layout.block + TAIL_OFFSET, head);
    out
}

/// Whether the mailbox is free for a command: the kernel has carried out
/// the last one posted (`mail_done == mail_seq`, as the kernel sees it);
/// `None` when it cannot be read.
pub fn mailbox_idle(ram: &dyn GuestRam, layout: &Layout) -> Option<bool> {
    let seq = read_u64(ram, layout.block + debug::MAIL_SEQ_OFFSET)?;
    let done = read_u64(ram, layout.block + debug::MAIL_DONE_OFFSET)?;
    Some(seq == done)
}

/// Posts a host command for `pid` in the mailbox, with `sig` as its signal
/// (the kernel reads it only for a [`debug::Command::Signal`]); returns its
/// sequence number. Posts nothing (`None`) while the mailbox holds a
/// command the kernel has not carried out (see [`mailbox_idle`]): the
/// mailbox has one slot, and the kernel may be reading it.
pub fn post_command(
    ram: &dyn GuestRam,
    layout: &Layout,
    cmd: debug::Command,
    pid: u32,
    sig: u32,
) -> Option<u64> {
    let seq_at = layout.block + debug::MAIL_SEQ_OFFSET;
    let done = read_u64(ram, layout.block + debug::MAIL_DONE_OFFSET)?;
    let seq = read_u64(ram, seq_at)?;
    if seq != done {
        return None;
    }
    // A guest that parks the counters at u64::MAX gets no more commands.
    let seq = seq.checked_add(1)?;
    let mut cmd_pid = [0u8; 8];
    cmd_pid[..4].copy_from_slice(&(cmd as u32).to_le_bytes());
    cmd_pid[4..].copy_from_slice(&pid.to_le_bytes());
    let sig_at = layout.block + std::mem::offset_of!(Registration, mail_sig) as u64;
    // The command's words first, the sequence number last: the kernel reads
    // them once it sees the new number.
    (ram.write(layout.block + debug::MAIL_CMD_OFFSET, &cmd_pid)
        && ram.write(sig_at, &sig.to_le_bytes())
        && write_u64(ram, seq_at, seq))
    .then_some(seq)
}

/// The result of command `seq`, once the kernel has carried it out.
pub fn command_result(ram: &dyn GuestRam, layout: &Layout, seq: u64) -> Option<i64> {
    let done = read_u64(ram, layout.block + debug::MAIL_DONE_OFFSET)?;
    if done != seq {
        return None;
    }
    let r = read_u64(
        ram,
        layout.block + std::mem::offset_of!(Registration, mail_result) as u64,
    )?;
    Some(r as i64)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use abi::debug::{EventKind, RING_CAPACITY};

    pub const BLOCK: u64 = 0x1000;
    pub const RING: u64 = 0x2000;
    pub const TABLE: u64 = 0x10000;
    pub const STRIDE: u32 = 2048;
    /// Where the test PCBs keep their files (the process record is at 0).
    pub const FILES_OFFSET: u32 = 512;

    fn put<T: Pod>(ram: &VecRam, gpa: u64, v: &T) {
        // SAFETY: T is Pod: its bytes may be read as u8s (padding included,
        // which in these records there is none of).
        let bytes =
            unsafe { std::slice::from_raw_parts((v as *const T).cast::<u8>(), size_of::<T>()) };
        assert!(ram.write(gpa, bytes));
    }

    /// RAM holding a valid registration, a table of `cap` and a ring.
    pub fn guest(cap: u32) -> VecRam {
        let ram = VecRam::new(0x10000 + (cap as usize) * STRIDE as usize + 0x1000);
        let mut r: Registration = read_pod(&ram, BLOCK).unwrap();
        r.magic = MAGIC;
        r.version = debug::VERSION;
        r.size = size_of::<Registration>() as u32;
        r.hz = 1000;
        r.tsc_khz = 2_000_000;
        r.ring = RING;
        r.ring_capacity = RING_CAPACITY;
        r.table = TABLE;
        r.capacity = cap;
        r.stride = STRIDE;
        r.info_offset = 0;
        r.files_offset = FILES_OFFSET;
        r.fg_pgid = Pid::INIT.get();
        put(&ram, BLOCK, &r);
        ram
    }

    /// Where slot `slot`'s PCB starts.
    pub fn pcb_at(slot: u32) -> u64 {
        TABLE + u64::from(slot) * u64::from(STRIDE)
    }

    /// Sets the files of the PCB in `slot`.
    pub fn set_files(ram: &VecRam, slot: u32, files: &FilesInfo) {
        put(ram, pcb_at(slot) + u64::from(FILES_OFFSET), files);
    }

    /// fds 0-2 on the console, `/` the working directory: what the kernel
    /// gives the first process.
    pub fn console_files() -> FilesInfo {
        let mut f = FilesInfo::EMPTY;
        for fd in &mut f.fds[..3] {
            fd.kind = abi::fs::FileKind::Console as u8;
            fd.flags = abi::fs::O_RDWR as u8;
        }
        f
    }

    pub fn set_proc(ram: &VecRam, slot: u32, pid: u32, state: ProcState, name: &str) {
        let mut p = ProcInfo::EMPTY;
        p.pid = Pid(pid);
        p.ppid = Pid::INIT;
        p.pgid = Pid(pid);
        p.state = state as u32;
        p.set_name(name);
        put(ram, pcb_at(slot), &p);
        set_files(ram, slot, &console_files());
    }

    pub fn push_event(ram: &VecRam, e: Event) {
        let head = read_u64(ram, BLOCK + HEAD_OFFSET).unwrap();
        let at = RING + (head % u64::from(RING_CAPACITY)) * EVENT_SIZE as u64;
        let mut b = [0u8; EVENT_SIZE];
        b[0..8].copy_from_slice(&e.tsc.to_le_bytes());
        b[8..16].copy_from_slice(&e.tick.to_le_bytes());
        b[16..20].copy_from_slice(&e.pid.to_le_bytes());
        b[20] = e.kind;
        b[21] = e.old;
        b[22] = e.new;
        b[23] = e.reason;
        b[24..32].copy_from_slice(&e.arg.to_le_bytes());
        assert!(ram.write(at, &b));
        write_u64(ram, BLOCK + HEAD_OFFSET, head + 1);
    }

    pub fn patch(ram: &VecRam, f: impl FnOnce(&mut Registration)) {
        let mut r: Registration = read_pod(ram, BLOCK).unwrap();
        f(&mut r);
        put(ram, BLOCK, &r);
    }

    #[test]
    fn a_valid_block_is_accepted_and_acknowledged() {
        let ram = guest(64);
        let l = validate(&ram, BLOCK).unwrap();
        assert_eq!(
            (l.table, l.capacity, l.stride, l.ring),
            (TABLE, 64, STRIDE, RING)
        );
        assert!(acknowledge(&ram, &l));
        let r: Registration = read_pod(&ram, BLOCK).unwrap();
        assert_eq!(r.host_ack, 1);
    }

    #[test]
    fn every_bad_field_is_refused_with_a_reason() {
        type Case = (&'static str, fn(&mut Registration));
        let cases: [Case; 12] = [
            ("magic", |r| r.magic = 0x0BAD),
            ("version", |r| r.version = 0xFFFF),
            ("size", |r| r.size = 12),
            ("capacity", |r| r.ring_capacity = 1000),
            ("ring", |r| r.ring = u64::MAX - 8),
            ("capacity", |r| r.capacity = u32::MAX),
            ("stride", |r| r.stride = 8),
            ("outside", |r| r.table = u64::MAX - 4096),
            ("outside", |r| r.table = 0x10_0000_0000),
            // The files record must lie inside the stride, apart from the
            // process record.
            ("does not fit in the PCB stride", |r| {
                r.files_offset = STRIDE - 8
            }),
            ("does not fit in the PCB stride", |r| {
                r.files_offset = u32::MAX
            }),
            ("overlaps the process record", |r| r.files_offset = 64),
        ];
        for (word, f) in cases {
            let ram = guest(64);
            patch(&ram, f);
            let e = validate(&ram, BLOCK).unwrap_err();
            assert!(e.contains(word), "{word}: {e}");
        }
        let ram = guest(4);
        assert!(validate(&ram, BLOCK + 4).unwrap_err().contains("aligned"));
        assert!(
            validate(&ram, u64::MAX - 7)
                .unwrap_err()
                .contains("outside")
        );
    }

    #[test]
    fn the_table_reads_in_pid_order_without_unused_slots() {
        let ram = guest(8);
        set_proc(&ram, 2, 3, ProcState::Sleeping, "sh");
        set_proc(&ram, 0, 1, ProcState::Runnable, "init");
        set_proc(&ram, 5, 0, ProcState::Unused, "");
        let l = validate(&ram, BLOCK).unwrap();
        let t = read_table(&ram, &l).unwrap();
        assert!(t.consistent);
        let pids: Vec<u32> = t.procs.iter().map(|p| p.pid.get()).collect();
        assert_eq!(pids, [1, 3]);
        assert_eq!(t.foreground, Pid::INIT);
        patch(&ram, |r| r.fg_pgid = 3);
        assert_eq!(read_table(&ram, &l).unwrap().foreground, Pid(3));
        assert_eq!(t.procs[1].name(), "sh");
        assert_eq!(read_proc(&ram, &l, Pid(3)).unwrap().name(), "sh");
        assert_eq!(read_proc(&ram, &l, Pid(3 + 8)), None);
    }

    #[test]
    fn each_process_s_files_come_with_its_record() {
        let ram = guest(8);
        set_proc(&ram, 2, 3, ProcState::Sleeping, "cat");
        set_proc(&ram, 0, 1, ProcState::Sleeping, "init");
        let mut f = console_files();
        abi::fs::keep_path("/tmp", &mut f.cwd);
        f.fds[1].kind = abi::fs::FileKind::Regular as u8;
        f.fds[1].flags = abi::fs::O_WRONLY as u8 | abi::fs::FdInfo::APPEND;
        f.fds[1].id = 12;
        f.fds[1].offset = 120;
        abi::fs::keep_path("/tmp/out", &mut f.fds[1].path);
        f.fds[2] = abi::fs::FdInfo::CLOSED;
        set_files(&ram, 2, &f);
        let l = validate(&ram, BLOCK).unwrap();
        assert_eq!(l.files_offset, FILES_OFFSET);
        let t = read_table(&ram, &l).unwrap();
        assert_eq!(t.files.len(), t.procs.len());
        let (p, files) = t.get(Pid(3)).unwrap();
        assert_eq!((p.name(), files), ("cat", &f));
        assert_eq!(
            (files.cwd(), files.fds[1].path(), files.fds[1].offset),
            ("/tmp", "/tmp/out", 120)
        );
        assert_eq!(t.get(Pid(1)).unwrap().1, &console_files());
        assert_eq!(t.get(Pid(2)), None);
    }

    #[test]
    fn a_table_in_mid_change_is_marked_inconsistent() {
        let ram = guest(8);
        set_proc(&ram, 0, 1, ProcState::Running, "init");
        write_u64(&ram, BLOCK + GENERATION_OFFSET, 7);
        let l = validate(&ram, BLOCK).unwrap();
        let t = read_table(&ram, &l).unwrap();
        assert!(!t.consistent);
        assert_eq!(t.tries, TABLE_TRIES);
        assert_eq!(t.procs.len(), 1);
    }

    #[test]
    fn a_torn_copy_is_never_shown_as_consistent() {
        // A writer thread changes every PCB's ticks, and the offset of its
        // fd 0, inside odd generations while the reader copies: a
        // consistent copy has them all equal.
        let ram = std::sync::Arc::new(guest(64));
        let l = validate(&*ram, BLOCK).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let (ram, stop) = (ram.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut g = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    write_u64(&*ram, BLOCK + GENERATION_OFFSET, g + 1);
                    for s in 0..64 {
                        let mut p = ProcInfo::EMPTY;
                        p.pid = Pid(s + 1);
                        p.state = ProcState::Runnable as u32;
                        p.ticks = g;
                        put(&ram, pcb_at(s), &p);
                        let mut f = FilesInfo::EMPTY;
                        f.fds[0].offset = g;
                        set_files(&ram, s, &f);
                    }
                    g += 2;
                    write_u64(&*ram, BLOCK + GENERATION_OFFSET, g);
                    // A kernel changes its table now and then, not always.
                    std::thread::sleep(std::time::Duration::from_micros(50));
                }
            })
        };
        let (mut consistent, mut retried) = (0, 0);
        // Until both cases were seen (the writer thread may start late).
        let start = std::time::Instant::now();
        while (consistent < 20 || retried == 0) && start.elapsed().as_secs() < 20 {
            let t = read_table(&*ram, &l).unwrap();
            if t.consistent {
                consistent += 1;
                let first = t.procs.first().map(|p| p.ticks);
                assert!(
                    t.procs.iter().all(|p| Some(p.ticks) == first),
                    "torn copy shown as consistent"
                );
                assert!(
                    t.files.iter().all(|f| Some(f.fds[0].offset) == first),
                    "torn files shown as consistent"
                );
            }
            if t.tries > 1 {
                retried += 1;
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        writer.join().unwrap();
        assert!(
            consistent > 0 && retried > 0,
            "{consistent} consistent, {retried} retried"
        );
    }

    fn ev(pid: u32, tick: u64) -> Event {
        Event {
            tsc: tick * 1000,
            tick,
            pid,
            kind: EventKind::State as u8,
            old: ProcState::Runnable as u8,
            new: ProcState::Running as u8,
            reason: 0,
            arg: 0,
        }
    }

    #[test]
    fn the_ring_drains_in_order_and_counts_losses() {
        let ram = guest(8);
        let l = validate(&ram, BLOCK).unwrap();
        let mut tail = 0;
        assert!(drain_ring(&ram, &l, &mut tail).events.is_empty());
        for t in 0..5 {
            push_event(&ram, ev(1, t));
        }
        let d = drain_ring(&ram, &l, &mut tail);
        let ticks: Vec<u64> = d.events.iter().map(|e| e.tick).collect();
        assert_eq!(ticks, [0, 1, 2, 3, 4]);
        assert_eq!((d.lost, tail), (0, 5));
        assert_eq!(read_u64(&ram, BLOCK + TAIL_OFFSET), Some(5));
        // Lapped: more than a ring's worth since the last drain.
        let n = u64::from(RING_CAPACITY) + 10;
        for t in 0..n {
            push_event(&ram, ev(2, 100 + t));
        }
        let d = drain_ring(&ram, &l, &mut tail);
        assert_eq!(d.lost, 10);
        assert_eq!(d.events.len(), RING_CAPACITY as usize);
        assert_eq!(d.events[0].tick, 110);
        assert_eq!(tail, 5 + n);
    }

    #[test]
    fn a_head_going_backwards_resynchronises() {
        let ram = guest(8);
        let l = validate(&ram, BLOCK).unwrap();
        let mut tail = 50;
        push_event(&ram, ev(1, 1));
        let d = drain_ring(&ram, &l, &mut tail);
        assert!(d.bogus_head);
        assert!(d.events.is_empty());
        assert_eq!(tail, 1);
    }

    #[test]
    fn decode_ring_rejects_a_wrong_length() {
        assert!(decode_ring(&[0; 31], 1, 0, 1).is_empty());
        assert_eq!(decode_ring(&[0; 64], 2, 0, 5).len(), 2);
    }

    #[test]
    fn the_mailbox_posts_and_reads_results() {
        let ram = guest(8);
        let l = validate(&ram, BLOCK).unwrap();
        let seq = post_command(&ram, &l, debug::Command::Signal, 7, 2).unwrap();
        assert_eq!(seq, 1);
        assert_eq!(command_result(&ram, &l, seq), None);
        // Not yet carried out: a second post would overwrite it.
        assert_eq!(mailbox_idle(&ram, &l), Some(false));
        assert_eq!(post_command(&ram, &l, debug::Command::Kill, 9, 0), None);
        patch(&ram, |r| {
            assert_eq!(
                (r.mail_cmd, r.mail_pid, r.mail_sig),
                (debug::Command::Signal as u32, 7, 2)
            );
            r.mail_result = -3;
            r.mail_done = 1;
        });
        assert_eq!(command_result(&ram, &l, seq), Some(-3));
        assert_eq!(mailbox_idle(&ram, &l), Some(true));
        assert_eq!(post_command(&ram, &l, debug::Command::Cont, 7, 0), Some(2));
        patch(&ram, |r| {
            assert_eq!((r.mail_cmd, r.mail_sig), (debug::Command::Cont as u32, 0))
        });
        // A guest that parks the counters at the end gets nothing posted
        // (found by the fuzzer: it overflowed).
        patch(&ram, |r| (r.mail_seq, r.mail_done) = (u64::MAX, u64::MAX));
        assert_eq!(mailbox_idle(&ram, &l), Some(true));
        assert_eq!(post_command(&ram, &l, debug::Command::Kill, 7, 0), None);
    }
}
