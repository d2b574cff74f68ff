//! COM1, a 16550A UART at port 0x3f8, IRQ 4: the interactive console
//! (National Semiconductor PC16550D datasheet; register names as there).
//!
//! Output: wait once for THRE (transmit FIFO empty), then one `rep outsb` of
//! up to 16 bytes (the FIFO depth): where the hypervisor hands the VMM a
//! string I/O whole (QEMU) that is one exit per 16 bytes instead of one per
//! byte; the PVM-based KVM of our CI machines still exits once per byte
//! (`vmm --stats`), about 8 us each. `\n` goes out as `\r\n`.
//!
//! Input is interrupt driven. The handler takes bytes from the UART while
//! there is room for them: in raw mode (the kernel monitor) into a byte
//! ring, in cooked mode (processes) through the line discipline
//! ([`kernel::cooked`]). When there is no room it simply stops, leaving
//! the rest in the UART (IER unchanged), which holds off the sender (QEMU
//! and our VMM refill the FIFO only once the guest empties it, and raise
//! the interrupt then), so piped input is never lost; the consumer, after
//! taking bytes, drains the UART again itself (interrupts off).

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use crate::arch::x86_64::cpu;
use abi::port::COM1;
use kernel::cooked::{Cooked, Event};
use kernel::line::Action;
use kernel::ring::Ring;

// Register offsets from COM1.
const RBR_THR: u16 = 0; // receive buffer (read) / transmit holding (write)
const IER: u16 = 1; // interrupt enable
const FCR: u16 = 2; // FIFO control (write)
const LCR: u16 = 3; // line control
const MCR: u16 = 4; // modem control
const LSR: u16 = 5; // line status
const DLL: u16 = 0; // divisor latch, low byte (with LCR.DLAB)
const DLM: u16 = 1; // divisor latch, high byte (with LCR.DLAB)

const LCR_DLAB: u8 = 0x80;
const LCR_8N1: u8 = 0x03;
/// FIFO on, both FIFOs cleared, receive interrupt at 14 bytes (or after 4
/// idle character times): one interrupt per burst, not per byte (QEMU
/// hands the FIFO only as many bytes as the trigger level asks for).
const FCR_ENABLE_CLEAR: u8 = 0xC7;
/// DTR, RTS, and OUT2 (which gates the IRQ line on PCs).
const MCR_DTR_RTS_OUT2: u8 = 0x0B;
/// MCR: loopback (transmitter wired to receiver).
const MCR_LOOP: u8 = 0x10;
/// IER: received-data-available interrupt.
const IER_RX: u8 = 0x01;
const LSR_DATA_READY: u8 = 0x01;
const LSR_THR_EMPTY: u8 = 0x20;
/// Transmit FIFO depth.
const FIFO_DEPTH: usize = 16;

static RX: Ring<4096> = Ring::new();

/// Programs the UART: 115200 8N1, FIFOs on, receive interrupt on.
pub fn init() {
    // SAFETY: COM1 belongs to this driver.
    unsafe {
        cpu::outb(COM1 + IER, 0);
        cpu::outb(COM1 + LCR, LCR_DLAB);
        cpu::outb(COM1 + DLL, 1); // 115200 baud
        cpu::outb(COM1 + DLM, 0);
        cpu::outb(COM1 + LCR, LCR_8N1);
        cpu::outb(COM1 + MCR, MCR_DTR_RTS_OUT2 | MCR_LOOP);
        enable_fifo();
        cpu::outb(COM1 + MCR, MCR_DTR_RTS_OUT2);
        cpu::outb(COM1 + IER, IER_RX);
    }
    drain();
}

/// Turns the FIFOs on without losing input that is already waiting.
///
/// Enabling the FIFO clears the receiver, and a piped script's first byte
/// is usually waiting in the holding register when the kernel starts. So
/// the byte (if any) is read and the FIFO enabled in back-to-back
/// instructions, in loopback mode (in which QEMU does not hand over the
/// next input byte as a side effect of the read), and the byte is kept.
fn enable_fifo() {
    let lsr: u8;
    let rbr: u8;
    // SAFETY: COM1 belongs to this driver; only UART registers are touched.
    unsafe {
        core::arch::asm!(
            "mov dx, {lsr_port}",
            "in al, dx",
            "mov {lsr}, al",
            "mov dx, {rbr_port}",
            "in al, dx",
            "mov {rbr}, al",
            "mov dx, {fcr_port}",
            "mov al, {fcr}",
            "out dx, al",
            lsr_port = const COM1 + LSR,
            rbr_port = const COM1 + RBR_THR,
            fcr_port = const COM1 + FCR,
            fcr = const FCR_ENABLE_CLEAR,
            lsr = out(reg_byte) lsr,
            rbr = out(reg_byte) rbr,
            out("dx") _,
            out("al") _,
            options(nomem, nostack, preserves_flags)
        );
    }
    if lsr & LSR_DATA_READY != 0 {
        RX.push(rbr);
    }
}

/// Writes bytes, translating `\n` to `\r\n`.
pub fn write(mut bytes: &[u8]) {
    while let Some(i) = find_newline(bytes) {
        write_line(&bytes[..i]);
        bytes = &bytes[i + 1..];
    }
    write_raw(bytes);
}

/// Writes `text` and `\r\n`, the line end sharing the last FIFO load.
fn write_line(text: &[u8]) {
    let full = text.len() - text.len() % FIFO_DEPTH;
    let tail = &text[full..];
    if tail.len() + 2 > FIFO_DEPTH {
        write_raw(text);
        write_raw(b"\r\n");
        return;
    }
    write_raw(&text[..full]);
    let mut chunk = [0u8; FIFO_DEPTH];
    chunk[..tail.len()].copy_from_slice(tail);
    chunk[tail.len()..tail.len() + 2].copy_from_slice(b"\r\n");
    write_raw(&chunk[..tail.len() + 2]);
}

/// Index of the first `\n`, found with one `repne scasb`: where ring 0 is
/// emulated that costs a quarter of a byte loop.
fn find_newline(bytes: &[u8]) -> Option<usize> {
    if bytes.is_empty() {
        return None;
    }
    let left: usize;
    // SAFETY: scans at most bytes.len() bytes of the slice (rcx), reading
    // only; DF is clear per the ABI. The flags are outputs.
    unsafe {
        core::arch::asm!(
            "repne scasb",
            inout("rdi") bytes.as_ptr() => _,
            inout("rcx") bytes.len() => left,
            in("al") b'\n',
            options(nostack, readonly)
        );
    }
    // rcx counts down once per byte examined, including the match; it
    // reaches 0 both on a miss and on a match in the last byte.
    let i = bytes.len() - left - 1;
    (bytes[i] == b'\n').then_some(i)
}

/// Writes bytes as they are, 16 per `rep outsb`.
pub fn write_raw(bytes: &[u8]) {
    for chunk in bytes.chunks(FIFO_DEPTH) {
        // SAFETY: COM1 belongs to this driver; reading LSR has no side
        // effect on the transmitter.
        unsafe {
            while cpu::inb(COM1 + LSR) & LSR_THR_EMPTY == 0 {
                core::hint::spin_loop();
            }
            cpu::outsb(COM1 + RBR_THR, chunk);
        }
    }
}

/// Whether the UART holds a received byte.
fn data_ready() -> bool {
    // SAFETY: reading LSR has no side effect on the receiver.
    unsafe { cpu::inb(COM1 + LSR) & LSR_DATA_READY != 0 }
}

/// Pops the UART's receive FIFO.
fn take() -> u8 {
    // SAFETY: COM1 belongs to this driver; interrupts are off in every
    // caller, so the handler and a consumer never read it at once.
    unsafe { cpu::inb(COM1 + RBR_THR) }
}

/// Raw mode (the kernel monitor): moves received bytes to RX while there is
/// room. What does not fit stays in the UART, which holds off the sender;
/// the consumer calls this again after taking bytes. Interrupts off.
fn drain() {
    while !RX.is_full() && data_ready() {
        RX.push(take());
    }
}

/// Cooked mode is on (processes read the console through the line
/// discipline); off: raw bytes for the kernel monitor.
static COOKED_MODE: AtomicBool = AtomicBool::new(false);
/// The line discipline.
static COOKED: crate::proc::KCell<Cooked> = crate::proc::KCell::new(Cooked::new());

/// Switches input to the line discipline (processes exist from now on).
pub fn set_cooked() {
    COOKED_MODE.store(true, Ordering::Relaxed);
}

/// Console echo, gathered and written in one go (the console line
/// discipline and kmon both echo what is typed).
pub struct Echo {
    buf: [u8; 64],
    len: usize,
}

impl Echo {
    /// Nothing gathered yet.
    pub const fn new() -> Self {
        Echo {
            buf: [0; 64],
            len: 0,
        }
    }

    /// Adds bytes, writing out first what no longer fits.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.len + bytes.len() > self.buf.len() {
            self.flush();
        }
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    /// Writes out what is gathered.
    pub fn flush(&mut self) {
        write_raw(&self.buf[..self.len]);
        self.len = 0;
    }
}

/// Most bytes one pass of the line discipline takes (a FIFO's worth, as
/// our VMM fills it): a pass runs with interrupts off, and where ring 0 is
/// emulated a byte costs tens of microseconds. What is left waits for the
/// refill interrupt or the next timer tick.
const PUMP_MAX: usize = 64;

/// Most input bytes per timer tick the discipline may throw away (bytes
/// past a line's end, ignored control bytes, NULs from `/dev/zero`) or
/// spend a process table on (Ctrl-P). Useful bytes are held off by the
/// line buffer, which only a reader empties; discarded ones never fill it,
/// so without this a flood of them would take every cycle (where ring 0 is
/// emulated) and no process would run again while the host kept sending.
const DISCARD_PER_TICK: u32 = 4;

/// The tick [`DISCARDED`] counts in.
static DISCARD_TICK: AtomicU64 = AtomicU64::new(0);
/// Bytes discarded during [`DISCARD_TICK`].
static DISCARDED: AtomicU32 = AtomicU32::new(0);

/// A pass stopped early with input still in the UART: the next timer tick
/// takes the next share ([`pump_backlog`]).
static BACKLOG: AtomicBool = AtomicBool::new(false);

/// Whether input waits for the next tick.
pub fn backlog() -> bool {
    BACKLOG.load(Ordering::Relaxed)
}

/// Called on a timer tick when [`backlog`]: the next share of input.
/// Interrupts off.
pub fn pump_backlog() {
    pump();
}

/// Cooked mode: feeds received bytes through the line discipline while a
/// whole line still fits its buffer (else they wait in the UART), echoing,
/// within [`PUMP_MAX`] and [`DISCARD_PER_TICK`]; wakes console readers when
/// a line is complete; Ctrl-P prints the process table at once. Interrupts
/// off.
fn pump() {
    let c = COOKED.get();
    let mut echo = Echo::new();
    let mut ready = false;
    let mut share = PUMP_MAX;
    let now = crate::clock::ticks();
    if DISCARD_TICK.swap(now, Ordering::Relaxed) != now {
        DISCARDED.store(0, Ordering::Relaxed);
    }
    let mut discarded = DISCARDED.load(Ordering::Relaxed);
    BACKLOG.store(false, Ordering::Relaxed);
    while c.has_room() {
        if share == 0 || discarded >= DISCARD_PER_TICK {
            if !RX.is_empty() || data_ready() {
                BACKLOG.store(true, Ordering::Relaxed);
                crate::proc::sched::tick_soon();
            }
            break;
        }
        share -= 1;
        // Bytes the monitor-mode ring took at boot come first.
        let byte = match RX.pop() {
            Some(b) => b,
            None if data_ready() => take(),
            None => break,
        };
        let event = c.feed(byte);
        let action = match event {
            Event::None => {
                discarded += 1;
                continue;
            }
            Event::Procdump => {
                discarded = DISCARD_PER_TICK;
                echo.flush();
                crate::proc::procdump();
                continue;
            }
            Event::Overflow => {
                echo.push(b"\r\n");
                echo.flush();
                println!(
                    "console: this line is longer than {} bytes; the rest of it is dropped",
                    kernel::cooked::MAX_LINE
                );
                continue;
            }
            Event::Echo(a) => a,
            Event::Ready(a) => {
                ready = true;
                a
            }
        };
        match action {
            Action::Echo(b) => echo.push(&[b]),
            Action::Erase(n) => {
                for _ in 0..n {
                    echo.push(b"\x08 \x08");
                }
            }
            Action::Submit => echo.push(b"\r\n"),
            Action::None | Action::Overflow => {}
        }
    }
    DISCARDED.store(discarded, Ordering::Relaxed);
    echo.flush();
    if ready {
        crate::proc::sched::wake_all(&raw mut crate::proc::procs().console);
    }
}

/// Cooked mode: reads the first available line (or part of it) into
/// `buf`: `Some(count)`, `Some(0)` at end of input, `None` when no line is
/// ready (the caller sleeps). Takes more input from the UART afterwards,
/// since the interrupt handler may have left some there. Interrupts off.
pub fn read_cooked(buf: &mut [u8]) -> Option<usize> {
    let c = COOKED.get();
    if !c.readable() {
        pump();
        if !COOKED.get().readable() {
            return None;
        }
    }
    let n = COOKED.get().read(buf);
    pump();
    Some(n)
}

/// COM1's interrupt handler (interrupts off).
pub fn handle_interrupt() {
    if COOKED_MODE.load(Ordering::Relaxed) {
        pump();
    } else {
        drain();
    }
}

/// Whether a byte is waiting to be read.
pub fn has_input() -> bool {
    !RX.is_empty()
}

/// Raw mode: reads one byte, sleeping until one arrives.
pub fn read_byte() -> u8 {
    loop {
        if let Some(byte) = RX.pop() {
            let was_on = cpu::interrupts_save_disable();
            drain();
            cpu::interrupts_restore(was_on);
            return byte;
        }
        // Drain before halting: input that arrived before the interrupt
        // was routed (at boot) raised no interrupt we could see.
        cpu::wait_until(|| {
            drain();
            !RX.is_empty()
        });
    }
}
