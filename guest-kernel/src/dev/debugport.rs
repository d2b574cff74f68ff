//! The debug port ([`abi::debug`]): the kernel registers its PCB table, its
//! event ring and its crash record with the VMM, appends scheduler events to
//! the ring, and takes host commands from the mailbox.
//!
//! The block and the ring are statics in the kernel image, which is mapped
//! at `KERNEL_BASE + physical`, so their guest-physical addresses are known
//! without any page-table walk. Everything here runs with interrupts off
//! (see `proc`), on one CPU.

use core::cell::UnsafeCell;
use core::ptr::{addr_of, addr_of_mut, read_volatile, write_volatile};
use core::sync::atomic::{AtomicBool, Ordering, compiler_fence};

use crate::arch::x86_64::cpu;
use crate::arch::x86_64::layout::kernel_virt_to_phys;
use abi::debug::{
    self, CrashKind, DOORBELL, Event, EventKind, MAGIC, PORT, PanicRecord, RING_CAPACITY,
    Registration, VERSION,
};
use abi::proc::Pid;

struct Shared<T>(UnsafeCell<T>);

// SAFETY: one CPU; the kernel touches these with interrupts off; the VMM
// reads them only through guest memory (volatile accesses on this side).
unsafe impl<T> Sync for Shared<T> {}

/// The registration block (in .bss: it starts all zero).
static REG: Shared<Registration> = Shared(UnsafeCell::new(Registration {
    magic: 0,
    version: 0,
    size: 0,
    host_ack: 0,
    hz: 0,
    tsc_khz: 0,
    boot_tsc: 0,
    sched_tsc: 0,
    init_tsc: 0,
    announce_tsc: 0,
    table: 0,
    stride: 0,
    capacity: 0,
    info_offset: 0,
    ring_capacity: 0,
    generation: 0,
    ring: 0,
    head: 0,
    tail: 0,
    mail_cmd: 0,
    mail_pid: 0,
    mail_seq: 0,
    mail_done: 0,
    mail_result: 0,
    panic: PanicRecord::EMPTY,
    mail_sig: 0,
    fg_pgid: Pid::INIT.get(),
    files_offset: 0,
    _pad: 0,
}));

/// The event ring, 32 KiB. Not in .bss but with the stacks, which boot
/// does not zero (linker.ld): its contents never matter (the VMM reads
/// only records the kernel wrote, below `head`), and zeroing it at boot
/// would touch all its pages at once (a first touch of a guest page is
/// slow on some hypervisors); they are touched as events fill them.
#[unsafe(link_section = ".stack")]
static RING: Shared<[Event; RING_CAPACITY as usize]> = Shared(UnsafeCell::new(
    [Event {
        tsc: 0,
        tick: 0,
        pid: 0,
        kind: 0,
        old: 0,
        new: 0,
        reason: 0,
        arg: 0,
    }; RING_CAPACITY as usize],
));

/// Whether events go to the ring (a VMM acknowledged us, tracing is on).
static TRACING: AtomicBool = AtomicBool::new(false);

fn reg() -> *mut Registration {
    REG.0.get()
}

/// Registers the block with the VMM (boot): the timing, the table (may be
/// empty until processes exist) and the ring. With `garbage`, registers a
/// corrupt block instead, to test the VMM's checks. Returns whether the VMM
/// acknowledged it.
pub fn register(hz: u32, tsc_khz: u64, boot_tsc: u64, trace: bool, garbage: bool) -> bool {
    let r = reg();
    // SAFETY: boot, interrupts off: nothing else touches the block.
    unsafe {
        (*r).magic = MAGIC;
        (*r).version = VERSION;
        (*r).size = core::mem::size_of::<Registration>() as u32;
        (*r).hz = hz;
        (*r).tsc_khz = tsc_khz;
        (*r).boot_tsc = boot_tsc;
        (*r).ring = kernel_virt_to_phys(RING.0.get() as u64).0;
        (*r).ring_capacity = RING_CAPACITY;
        if garbage {
            (*r).magic = 0x0BAD_0BAD;
            (*r).version = 0xFFFF;
            (*r).table = u64::MAX - 4096;
            (*r).capacity = u32::MAX;
        }
    }
    let acked = announce();
    TRACING.store(acked && trace && !garbage, Ordering::Relaxed);
    acked
}

/// Adds the PCB table to the registration (its PCBs hold their
/// `ProcInfo` at offset 0 and their `FilesInfo` at `files_offset`) and
/// announces it again.
pub fn register_table(table: u64, capacity: u32, stride: u32, files_offset: u32) {
    let r = reg();
    // SAFETY: as in register.
    let garbage = unsafe { (*r).magic != MAGIC };
    if garbage {
        return;
    }
    // SAFETY: as in register.
    unsafe {
        (*r).table = table;
        (*r).capacity = capacity;
        (*r).stride = stride;
        (*r).info_offset = 0;
        (*r).files_offset = files_offset;
    }
    announce();
}

/// Writes the block's address to the port; whether the VMM acknowledged.
fn announce() -> bool {
    let r = reg();
    // SAFETY: as in register.
    unsafe { write_volatile(addr_of_mut!((*r).host_ack), 0) };
    compiler_fence(Ordering::SeqCst);
    let phys = kernel_virt_to_phys(r as u64).0;
    // SAFETY: as in register.
    unsafe { write_volatile(addr_of_mut!((*r).announce_tsc), cpu::rdtsc()) };
    // SAFETY: the debug port only reads the block; with no device there the
    // write is ignored.
    unsafe { cpu::outl(PORT, phys as u32) };
    compiler_fence(Ordering::SeqCst);
    // SAFETY: as in register.
    unsafe { read_volatile(addr_of!((*r).host_ack)) != 0 }
}

/// Stamps a boot phase: `sched` (scheduler start) or init's first run.
pub fn mark_sched_start() {
    // SAFETY: interrupts off (kernel code).
    unsafe { write_volatile(addr_of_mut!((*reg()).sched_tsc), cpu::rdtsc()) };
}

/// Stamps the first time init runs (only once).
pub fn mark_init_running() {
    let r = reg();
    // SAFETY: interrupts off (kernel code).
    unsafe {
        if (*r).init_tsc == 0 {
            write_volatile(addr_of_mut!((*r).init_tsc), cpu::rdtsc());
        }
    }
}

/// Opens a PCB change: the generation becomes odd.
#[inline(always)]
pub fn begin_change() {
    let r = reg();
    // SAFETY: interrupts off (kernel code); volatile so the VMM sees it
    // before the PCB stores (x86 keeps stores in order).
    unsafe {
        let g = read_volatile(addr_of!((*r).generation));
        write_volatile(addr_of_mut!((*r).generation), g | 1);
    }
    compiler_fence(Ordering::SeqCst);
}

/// Closes a PCB change: the generation becomes the next even value.
#[inline(always)]
pub fn end_change() {
    compiler_fence(Ordering::SeqCst);
    let r = reg();
    // SAFETY: as in begin_change.
    unsafe {
        let g = read_volatile(addr_of!((*r).generation));
        write_volatile(addr_of_mut!((*r).generation), (g | 1) + 1);
    }
}

/// Appends an event to the ring (when tracing) and rings the doorbell when
/// more than half of it is unread.
pub fn emit(kind: EventKind, pid: Pid, old: u32, new: u32, reason: u32, arg: u64) {
    if !TRACING.load(Ordering::Relaxed) {
        return;
    }
    push(
        pid.get(),
        Event::id_high(kind as u8, old as u8, new as u8, reason as u8),
        arg,
    );
}

/// Appends a [`EventKind::Switch`] record (when tracing): `pid` left the
/// CPU for state `new` with `reason`, `next` (0: idle) took it. The
/// scheduler's one event per switch, written with as few ring-0
/// instructions as the layout allows: inlined where the new state and the
/// reason are constants, so the id word is the pid and an immediate.
#[inline(always)]
pub fn emit_switch(pid: Pid, new: u8, reason: u8, next: Pid) {
    if !TRACING.load(Ordering::Relaxed) {
        return;
    }
    let high = Event::id_high(
        EventKind::Switch as u8,
        abi::proc::ProcState::Running as u8,
        new,
        reason,
    );
    push(pid.get(), high, u64::from(next.get()));
}

/// Writes one record at the ring's head, publishes it, and rings the
/// doorbell when more than half the ring is unread. The record is stored
/// as the words of its layout (abi::debug::Event: tsc, tick, the id word
/// as its two halves `pid` and `high`, arg), where a struct store costs a
/// byte-by-byte copy (ring-0 instructions are what tracing costs).
#[inline(always)]
fn push(pid: u32, high: u32, arg: u64) {
    let r = reg();
    // SAFETY: interrupts off; the slot is ours to write (the VMM reads it
    // only below head, which moves after the write).
    unsafe {
        let head = read_volatile(addr_of!((*r).head));
        let slot = (RING.0.get() as *mut u64)
            .add(((head & u64::from(RING_CAPACITY - 1)) as usize) * (debug::EVENT_SIZE / 8));
        // The TSC as rdtsc leaves it, two 32-bit halves (little-endian:
        // the u64 of the layout) without combining them in registers.
        core::arch::asm!(
            "rdtsc",
            "mov dword ptr [{slot}], eax",
            "mov dword ptr [{slot} + 4], edx",
            slot = in(reg) slot,
            out("eax") _,
            out("edx") _,
            options(nostack, preserves_flags)
        );
        write_volatile(slot.add(1), crate::time::ticks());
        let id = slot.add(2) as *mut u32;
        write_volatile(id, pid);
        write_volatile(id.add(1), high);
        write_volatile(slot.add(3), arg);
        compiler_fence(Ordering::SeqCst);
        write_volatile(addr_of_mut!((*r).head), head + 1);
        let tail = read_volatile(addr_of!((*r).tail));
        if head + 1 - tail > u64::from(RING_CAPACITY / 2) {
            cpu::outl(PORT, DOORBELL);
        }
    }
}

/// The mailbox's pending command, if the VMM posted one: `(command, pid,
/// signal, sequence)`. One compare when there is none.
#[inline(always)]
pub fn pending_command() -> Option<(debug::Command, u32, u32, u64)> {
    let r = reg();
    // SAFETY: interrupts off; the VMM writes cmd, pid and sig before seq.
    unsafe {
        let seq = read_volatile(addr_of!((*r).mail_seq));
        if seq == read_volatile(addr_of!((*r).mail_done)) {
            return None;
        }
        compiler_fence(Ordering::SeqCst);
        let cmd = debug::Command::from_raw(read_volatile(addr_of!((*r).mail_cmd)))
            .unwrap_or(debug::Command::None);
        let pid = read_volatile(addr_of!((*r).mail_pid));
        let sig = read_volatile(addr_of!((*r).mail_sig));
        Some((cmd, pid, sig, seq))
    }
}

/// Publishes the console's foreground process group (the VMM's `ps`
/// marks its members).
pub fn set_foreground(pgid: Pid) {
    // SAFETY: interrupts off; a plain store the VMM reads whenever.
    unsafe { write_volatile(addr_of_mut!((*reg()).fg_pgid), pgid.get()) };
}

/// Reports a command's result.
pub fn complete_command(seq: u64, result: i64) {
    let r = reg();
    // SAFETY: interrupts off.
    unsafe {
        write_volatile(addr_of_mut!((*r).mail_result), result);
        compiler_fence(Ordering::SeqCst);
        write_volatile(addr_of_mut!((*r).mail_done), seq);
    }
}

/// Fills the crash record (first thing on a crash path). `gprs` in the
/// order of [`abi::debug::GPR_NAMES`].
#[allow(clippy::too_many_arguments)] // one per field of the record
pub fn record_crash(
    kind: CrashKind,
    vector: u32,
    error: u64,
    rip: u64,
    rsp: u64,
    rflags: u64,
    gprs: [u64; 15],
    pid: Pid,
) {
    let rec = PanicRecord {
        kind: kind as u32,
        vector,
        error,
        tsc: cpu::rdtsc(),
        pid: u64::from(pid.get()),
        rip,
        rsp,
        rflags,
        cr2: cpu::read_cr2(),
        cr3: cpu::read_cr3(),
        gprs,
        message: [0; abi::debug::PANIC_MESSAGE_LEN],
    };
    // SAFETY: crash path, interrupts off; only the message may already be
    // there (set_message), so keep it.
    unsafe {
        let p = addr_of_mut!((*reg()).panic);
        let message = (*p).message;
        write_volatile(p, PanicRecord { message, ..rec });
    }
    // The timeline ends with it: the crash kind as the reason, rip as arg.
    emit(EventKind::Panic, pid, 0, 0, kind as u32, rip);
}

/// Sets the crash record's message (truncated).
pub fn set_message(args: core::fmt::Arguments) {
    struct Buf<'a>(&'a mut [u8], usize);
    impl core::fmt::Write for Buf<'_> {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            for &b in s.as_bytes() {
                if self.1 + 1 < self.0.len() {
                    self.0[self.1] = b;
                    self.1 += 1;
                }
            }
            Ok(())
        }
    }
    // SAFETY: crash path, interrupts off.
    let msg = unsafe { &mut (*reg()).panic.message };
    *msg = [0; abi::debug::PANIC_MESSAGE_LEN];
    let _ = core::fmt::Write::write_fmt(&mut Buf(msg, 0), args);
}

/// The registers of the caller (for a panic, which has no trap frame):
/// rip, rsp, rflags, and the general-purpose registers in the order of
/// [`abi::debug::GPR_NAMES`], as they are at this point of the caller.
#[inline(always)]
pub fn current_registers() -> (u64, u64, u64, [u64; 15]) {
    let mut gprs = [0u64; 15];
    let (rip, rsp, rflags): (u64, u64, u64);
    // SAFETY: stores registers into `gprs` (15 u64s, through the pointer
    // given) and reads rip, rsp and the flags; changes nothing else.
    unsafe {
        core::arch::asm!(
            "mov [{p}], rax",
            "mov [{p} + 8], rbx",
            "mov [{p} + 16], rcx",
            "mov [{p} + 24], rdx",
            "mov [{p} + 32], rsi",
            "mov [{p} + 40], rdi",
            "mov [{p} + 48], rbp",
            "mov [{p} + 56], r8",
            "mov [{p} + 64], r9",
            "mov [{p} + 72], r10",
            "mov [{p} + 80], r11",
            "mov [{p} + 88], r12",
            "mov [{p} + 96], r13",
            "mov [{p} + 104], r14",
            "mov [{p} + 112], r15",
            "lea {rip}, [rip]",
            "mov {rsp}, rsp",
            "pushfq",
            "pop {fl}",
            p = in(reg) gprs.as_mut_ptr(),
            rip = out(reg) rip,
            rsp = out(reg) rsp,
            fl = out(reg) rflags,
        );
    }
    (rip, rsp, rflags, gprs)
}
