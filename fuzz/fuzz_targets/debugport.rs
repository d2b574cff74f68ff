//! The debug port as a hostile guest drives it: guest RAM built from the
//! input, a registration block announced at an address from the input, and
//! every reader the VMM runs on it (validate, the table with each
//! process's files and every way the VMM words them, one PCB, the ring
//! drained several times with the tail carried, the panic record, the
//! mailbox). Nothing may panic, hang or allocate more than the RAM's size.
//!
//! Input: a 72-byte header, then the RAM image from guest-physical 0.
//!   0  u64  the block address the guest announces
//!   8  u32  RAM size (the image is zero-padded to it; at most MAX_RAM)
//!  12  u32  the pid read_proc asks for
//!  16  u32  the mailbox command: the low 16 bits an index into
//!           Command::ALL, the high 16 bits its signal
//!  20  4 x i64  head deltas the guest applies before drains 2..=5
//!  52  2 x (u8 read index, u8 what, u64 value): writes the guest makes
//!      between two of the reader's reads (what: 0 the generation, 1 the
//!      head, 2 the first ring record, 3 mail_done)
#![no_main]

use abi::debug::{
    self, CrashKind, EVENT_SIZE, EventKind, GENERATION_OFFSET, HEAD_OFFSET, MAIL_DONE_OFFSET,
};
use abi::fs::FilesInfo;
use abi::proc::{ProcInfo, ProcState, PsRow};
use libfuzzer_sys::fuzz_target;
use vmm::introspect::files::{self as files_text, FdRow};
use vmm::introspect::reader::{self, GuestRam};
use vmm_fuzz::{Input, ScriptedRam, ScriptedWrite};

/// The largest guest RAM a run builds. A PCB table fills at most this much,
/// and read_table copies it TABLE_TRIES times when the generation stays odd,
/// so this bounds the slowest run: a slot holds a ProcInfo and a FilesInfo
/// (1200 bytes), so about 200 slots, each copied with its files when in
/// use, 64 copies. It still holds the kernel's 1024-record ring eight times
/// over, or its 64-PCB table.
const MAX_RAM: usize = 256 << 10;

fn read_u64(ram: &dyn GuestRam, gpa: u64) -> Option<u64> {
    let mut b = [0u8; 8];
    ram.read(gpa, &mut b).then(|| u64::from_le_bytes(b))
}

/// Every way the VMM words a process's files: the rows, the post-mortem's
/// line, the `files` answer and its listing. What the guest wrote may be
/// anything; what the VMM prints is one line per fd (or per process) with
/// no control character, and the JSON reads back as the same rows.
fn check_files(p: &ProcInfo, f: &FilesInfo, consistent: bool) {
    let rows = files_text::open_fds(f);
    assert!(rows.len() <= f.fds.len());
    for r in &rows {
        for text in [r.target(), r.compact()] {
            assert!(!text.chars().any(char::is_control), "{text:?}");
        }
    }
    let line = files_text::compact_line(p, f);
    assert!(!line.chars().any(char::is_control), "{line:?}");
    let answer = vmm::api::files_to_json(p, f, consistent);
    let fds = answer["fds"].as_array().expect("fds");
    assert_eq!(fds.len(), rows.len());
    for (v, r) in fds.iter().zip(&rows) {
        let back = FdRow {
            fd: v["fd"].as_u64().unwrap(),
            kind: v["kind"].as_str().unwrap().into(),
            flags: v["flags"].as_str().unwrap().into(),
            id: v["id"].as_u64().unwrap(),
            offset: v["offset"].as_u64().unwrap(),
            path: v["path"].as_str().unwrap().into(),
        };
        assert_eq!(&back, r);
    }
    let req = vmm::api::request_for(&["files".into(), p.pid.get().to_string()]);
    if let Ok(req) = req {
        let listing = vmm::api::render(&req, &answer);
        // A header line, a line per fd, maybe a note.
        assert!(listing.lines().count() <= rows.len() + 3, "{listing}");
        assert!(!listing.chars().any(|c| c.is_control() && c != '\n'));
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let gpa = input.u64();
    let ram_len = (input.u32() as usize).min(MAX_RAM);
    let pid = input.u32();
    let cmd_raw = input.u32();
    let deltas: [u64; 4] = std::array::from_fn(|_| input.u64());
    let mut pending = [(0u8, 0u8, 0u64); 2];
    for p in &mut pending {
        *p = (input.u8(), input.u8(), input.u64());
    }
    let image = input.rest();
    if image.len() > MAX_RAM {
        return;
    }
    // The scripted writes land at fields of the block (or its ring), found
    // from the block itself once the RAM exists.
    let mut ram = ScriptedRam::new(image, ram_len, Vec::new());
    let ring_at = read_u64(
        &ram.ram,
        gpa.wrapping_add(std::mem::offset_of!(debug::Registration, ring) as u64),
    )
    .unwrap_or(0);
    ram.script = pending
        .iter()
        .filter(|p| p.0 != 0)
        .map(|&(at, what, value)| ScriptedWrite {
            at: u32::from(at),
            gpa: match what % 4 {
                0 => gpa.wrapping_add(GENERATION_OFFSET),
                1 => gpa.wrapping_add(HEAD_OFFSET),
                2 => ring_at,
                _ => gpa.wrapping_add(MAIL_DONE_OFFSET),
            },
            value,
        })
        .collect();

    let Ok(layout) = reader::validate(&ram, gpa) else {
        return;
    };
    // What validate promises.
    assert_eq!(layout.block, gpa);
    assert!(layout.ring_capacity.is_power_of_two());
    assert!(ram.contains(
        layout.ring,
        u64::from(layout.ring_capacity) * EVENT_SIZE as u64
    ));
    assert!(layout.capacity <= reader::MAX_CAPACITY);
    if layout.capacity > 0 {
        assert!(ram.contains(
            layout.table,
            u64::from(layout.capacity) * u64::from(layout.stride)
        ));
        // Each PCB's two records lie inside its stride, apart.
        let info = u64::from(layout.info_offset);
        let files = u64::from(layout.files_offset);
        let (info_end, files_end) = (
            info + size_of::<ProcInfo>() as u64,
            files + size_of::<FilesInfo>() as u64,
        );
        assert!(info_end <= u64::from(layout.stride) && files_end <= u64::from(layout.stride));
        assert!(files_end <= info || info_end <= files);
    }
    assert!(reader::acknowledge(&ram, &layout));

    if let Some(t) = reader::read_table(&ram, &layout) {
        assert!(t.procs.len() <= layout.capacity as usize);
        assert!((1..=reader::TABLE_TRIES).contains(&t.tries));
        assert!(t.procs.windows(2).all(|w| w[0].pid <= w[1].pid));
        for p in &t.procs {
            assert!(!p.pid.is_none() && p.state != ProcState::Unused as u32);
            // The VMM prints every row the guest left there.
            let _ = format!("{}", PsRow(p, t.foreground));
        }
        assert_eq!(t.files.len(), t.procs.len());
        for (p, f) in t.procs.iter().zip(&t.files) {
            assert_eq!(t.get(p.pid).map(|(q, _)| q.pid), Some(p.pid));
            check_files(p, f, t.consistent);
        }
        // The post-mortem's and Ctrl-A p's lines: one per process, no
        // control character but their ends.
        let text = vmm::introspect::format_files(&t);
        assert!(text.lines().count() <= t.procs.len());
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'));
    }
    if let Some(p) = reader::read_proc(&ram, &layout, abi::proc::Pid(pid)) {
        assert_eq!(p.pid.get(), pid);
        let _ = (p.name(), p.state());
    }
    let _ = reader::read_stamps(&ram, &layout);

    let mut tail = 0u64;
    for step in 0..5 {
        if step > 0 {
            // The guest moves its head (forwards, backwards, absurdly).
            let at = layout.block + HEAD_OFFSET;
            let head = read_u64(&ram, at).unwrap_or(0);
            let _ = ram.write(at, &head.wrapping_add(deltas[step - 1]).to_le_bytes());
        }
        let before = tail;
        let d = reader::drain_ring(&ram, &layout, &mut tail);
        assert!(d.events.len() <= layout.ring_capacity as usize);
        if !d.bogus_head && tail > before {
            // Every record since the last drain is either shown or counted
            // lost, exactly once.
            assert_eq!(d.events.len() as u64 + d.lost, tail - before);
        }
        for e in &d.events {
            let _ = (
                EventKind::from_raw(e.kind),
                ProcState::from_raw(u32::from(e.old)),
            );
        }
    }

    if let Some(r) = reader::read_panic(&ram, &layout) {
        let _ = (r.message(), CrashKind::from_raw(r.kind));
        let _ = abi::exit::exception_name(r.vector as u8);
    }

    let cmd = debug::Command::ALL[(cmd_raw & 0xFFFF) as usize % debug::Command::ALL.len()];
    if let Some(seq) = reader::post_command(&ram, &layout, cmd, pid, cmd_raw >> 16) {
        let _ = reader::command_result(&ram, &layout, seq);
        let _ = reader::command_result(&ram, &layout, seq.wrapping_sub(1));
    }
});
