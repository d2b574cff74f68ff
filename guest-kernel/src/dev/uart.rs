//! COM1, a 16550A UART at port 0x3f8, IRQ 4: the driver (National
//! Semiconductor PC16550D datasheet; register names as there). It moves
//! bytes; the console ([`crate::console`]) decides what they mean.
//!
//! Output: wait once for THRE (transmit FIFO empty), then one `rep outsb` of
//! up to 16 bytes (the FIFO depth): where the hypervisor hands the VMM a
//! string I/O whole (QEMU) that is one exit per 16 bytes instead of one per
//! byte. `\n` goes out as `\r\n`.
//!
//! Input is interrupt driven: the receive interrupt fires when the FIFO
//! holds bytes, and the console takes them ([`data_ready`], [`take`]) while
//! it has room. Bytes it leaves stay in the UART, which holds off the sender
//! (QEMU and our VMM refill the FIFO only once the guest empties it, and
//! raise the interrupt then), so piped input is never lost.

use crate::arch::x86_64::cpu;
use abi::port::COM1;

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

/// Programs the UART: 115200 8N1, FIFOs on, receive interrupt on. Returns
/// the byte that was already waiting when the FIFO was turned on, if any
/// (the caller keeps it: it comes before whatever the FIFO holds).
pub fn init() -> Option<u8> {
    // SAFETY: COM1 belongs to this driver.
    unsafe {
        cpu::outb(COM1 + IER, 0);
        cpu::outb(COM1 + LCR, LCR_DLAB);
        cpu::outb(COM1 + DLL, 1); // 115200 baud
        cpu::outb(COM1 + DLM, 0);
        cpu::outb(COM1 + LCR, LCR_8N1);
        cpu::outb(COM1 + MCR, MCR_DTR_RTS_OUT2 | MCR_LOOP);
    }
    let held = enable_fifo();
    // SAFETY: as above.
    unsafe {
        cpu::outb(COM1 + MCR, MCR_DTR_RTS_OUT2);
        cpu::outb(COM1 + IER, IER_RX);
    }
    held
}

/// Turns the FIFOs on without losing input that is already waiting.
///
/// Enabling the FIFO clears the receiver, and a piped script's first byte
/// is usually waiting in the holding register when the kernel starts. So
/// the byte (if any) is read and the FIFO enabled in back-to-back
/// instructions, in loopback mode (in which QEMU does not hand over the
/// next input byte as a side effect of the read), and the byte is returned.
fn enable_fifo() -> Option<u8> {
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
    (lsr & LSR_DATA_READY != 0).then_some(rbr)
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

/// Index of the first `\n`, found with one `repne scasb` rather than a
/// loop of ring-0 instructions per byte.
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
pub fn data_ready() -> bool {
    // SAFETY: reading LSR has no side effect on the receiver.
    unsafe { cpu::inb(COM1 + LSR) & LSR_DATA_READY != 0 }
}

/// Pops the UART's receive FIFO.
pub fn take() -> u8 {
    // SAFETY: COM1 belongs to this driver; interrupts are off in every
    // caller, so the handler and a consumer never read it at once.
    unsafe { cpu::inb(COM1 + RBR_THR) }
}
