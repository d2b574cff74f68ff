//! COM1: vm-superio's 16550 wired to the console, with its interrupt raised
//! through an irqfd and host input queued until the guest's FIFO has room.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use vm_superio::{Serial, Trigger};
use vmm_sys_util::eventfd::EventFd;

use super::output::{Drain, Sink};

/// Raises the UART's interrupt line by signalling an irqfd.
pub struct IrqTrigger(pub EventFd);

impl Trigger for IrqTrigger {
    type E = std::io::Error;

    fn trigger(&self) -> std::io::Result<()> {
        self.0.write(1)
    }
}

/// Most bytes of host input in flight at once: read from stdin but not yet
/// in the guest's receive FIFO. A guest that does not read its console
/// holds off the reader here, and through it the pipe or file behind stdin,
/// so input is neither lost nor piled up in the VMM's memory.
pub const INPUT_LIMIT: usize = 64 << 10;

/// The count of host input bytes in flight, shared by the thread that
/// reads stdin (which waits for room before it reads on) and the UART
/// (which frees room as the guest takes bytes).
#[derive(Debug, Default)]
pub struct InputBudget {
    queued: Mutex<usize>,
    room: Condvar,
}

impl InputBudget {
    /// Waits until `n` more bytes fit under [`INPUT_LIMIT`], then counts
    /// them. A chunk larger than the limit goes alone, once nothing else
    /// is in flight.
    pub fn reserve(&self, n: usize) {
        let mut queued = self.queued.lock().unwrap();
        while *queued > 0 && *queued + n > INPUT_LIMIT {
            queued = self.room.wait(queued).unwrap();
        }
        *queued += n;
    }

    /// `n` bytes reached the guest's FIFO.
    fn release(&self, n: usize) {
        let mut queued = self.queued.lock().unwrap();
        *queued = queued.saturating_sub(n);
        self.room.notify_all();
    }

    /// Bytes in flight.
    #[cfg(test)]
    pub fn queued(&self) -> usize {
        *self.queued.lock().unwrap()
    }
}

/// The console UART and the host input not yet in its receive FIFO.
pub struct ConsoleSerial {
    uart: Serial<IrqTrigger, vm_superio::serial::NoEvents, Sink>,
    pending: VecDeque<u8>,
    budget: Arc<InputBudget>,
    /// Capacity of the receive FIFO when empty.
    fifo_size: usize,
    /// When the guest last read the receive buffer, or was last nudged.
    last_read: Instant,
}

/// How long received data may wait unread, with its interrupt enabled,
/// before [`ConsoleSerial::nudge`] raises the interrupt again.
pub const NUDGE_AFTER: Duration = Duration::from_millis(10);

/// Offset of the interrupt-enable register.
const IER: u8 = 1;
/// Interrupt-enable bit: received data available.
const IER_RDA: u8 = 0x01;

impl ConsoleSerial {
    /// A UART that writes to `out` and interrupts through `irq`.
    pub fn new(irq: EventFd, out: Sink) -> Self {
        let uart = Serial::new(IrqTrigger(irq), out);
        ConsoleSerial {
            fifo_size: uart.fifo_capacity(),
            uart,
            pending: VecDeque::new(),
            budget: Arc::default(),
            last_read: Instant::now(),
        }
    }

    /// The budget that producers of host input reserve against
    /// ([`InputBudget::reserve`] before [`Self::push_input`]).
    pub fn input_budget(&self) -> Arc<InputBudget> {
        self.budget.clone()
    }

    /// Queues host input for the guest and moves what fits into the FIFO.
    pub fn push_input(&mut self, bytes: &[u8]) {
        self.pending.extend(bytes);
        self.pump();
    }

    /// Bytes of host input still waiting for room in the FIFO.
    #[cfg(test)]
    pub fn pending_input(&self) -> usize {
        self.pending.len()
    }

    fn pump(&mut self) {
        while !self.pending.is_empty() && self.uart.fifo_capacity() > 0 {
            let (front, _) = self.pending.as_slices();
            let n = front.len().min(self.uart.fifo_capacity());
            // The trigger failing means the irqfd is gone: the VM is ending.
            let taken = self.uart.enqueue_raw_bytes(&front[..n]).unwrap_or(0);
            if taken == 0 {
                break;
            }
            self.pending.drain(..taken);
            self.budget.release(taken);
        }
    }

    /// A guest read of register `offset`.
    pub fn read(&mut self, offset: u8) -> u8 {
        let value = self.uart.read(offset);
        if offset == 0 {
            self.last_read = Instant::now();
        }
        // Refill only once the guest has emptied the FIFO, as a real UART
        // fills: the refill raises a fresh interrupt, and a driver that
        // drains "while data ready" is never handed an endless FIFO.
        if offset == 0 && self.uart.fifo_capacity() == self.fifo_size {
            self.pump();
        }
        value
    }

    /// Whether received data waits while the guest asked to be interrupted
    /// for it.
    pub fn has_unread(&mut self) -> bool {
        // Reading IER has no side effect.
        self.uart.fifo_capacity() < self.fifo_size && self.uart.read(IER) & IER_RDA != 0
    }

    /// Raises the receive interrupt again when data has waited unread for
    /// [`NUDGE_AFTER`]; returns whether it did.
    ///
    /// A 16550's interrupt output is a level that stays up while data
    /// waits; an irqfd delivers one edge. An edge that arrives while the
    /// guest's IOAPIC pin is still masked (input typed during boot) is lost
    /// for good, on hardware and in KVM alike, and a guest then sleeps
    /// beside a full FIFO. Repeating the edge is what the level would have
    /// done; a guest that had the data already sees one spurious interrupt.
    pub fn nudge(&mut self) -> bool {
        if self.has_unread() && self.last_read.elapsed() >= NUDGE_AFTER {
            self.last_read = Instant::now();
            // A failing trigger means the VM is ending.
            let _ = self.uart.interrupt_evt().trigger();
            return true;
        }
        false
    }

    /// Raises the UART's interrupt once, with nothing new to read: the
    /// kernel's interrupt path then runs (and looks at the debug port's
    /// mailbox); its handler finds no data and returns.
    pub fn poke(&mut self) {
        // A failing trigger means the VM is ending.
        let _ = self.uart.interrupt_evt().trigger();
    }

    /// A guest write of register `offset`.
    pub fn write(&mut self, offset: u8, value: u8) {
        // Errors are a failed interrupt trigger; nothing to do about them.
        let _ = self.uart.write(offset, value);
        // A UART in loopback mode takes no input; one leaving it may take
        // what waited meanwhile.
        if offset != 0 && !self.pending.is_empty() {
            self.pump();
        }
    }

    /// A handle to wait until the console output is written.
    pub fn output_drain(&self) -> Drain {
        self.uart.writer().drain()
    }

    /// Hands buffered guest output to the writer thread.
    pub fn flush_output(&mut self) {
        self.uart.writer_mut().flush_out();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn output_is_buffered_until_flushed() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Sink::new(Some(Box::new(Shared(seen.clone()))));
        let mut s = ConsoleSerial::new(EventFd::new(0).unwrap(), sink);
        for b in b"hi\n" {
            s.write(0, *b);
        }
        assert_eq!(s.output_drain().wait(Duration::from_secs(5)).lost, 0);
        assert!(
            seen.lock().unwrap().is_empty(),
            "nothing before the hand-over"
        );
        s.flush_output();
        assert_eq!(s.output_drain().wait(Duration::from_secs(5)).lost, 0);
        assert_eq!(&*seen.lock().unwrap(), b"hi\n");
    }

    #[test]
    fn unread_input_is_signalled_again() {
        let irq = EventFd::new(libc::EFD_NONBLOCK).unwrap();
        let mut s = ConsoleSerial::new(irq.try_clone().unwrap(), Sink::new(None));
        s.push_input(b"x");
        assert!(!s.has_unread(), "no interrupt wanted yet");
        s.write(1, IER_RDA);
        assert!(irq.read().unwrap() >= 1);
        assert!(s.has_unread());
        assert!(!s.nudge(), "not before NUDGE_AFTER");
        std::thread::sleep(NUDGE_AFTER);
        assert!(s.nudge());
        assert_eq!(irq.read().unwrap(), 1, "the interrupt is raised again");
        assert_eq!(s.read(0), b'x');
        assert!(!s.has_unread());
        std::thread::sleep(NUDGE_AFTER);
        assert!(!s.nudge(), "nothing waits");
    }

    #[test]
    fn input_during_loopback_waits_for_its_end() {
        let irq = EventFd::new(libc::EFD_NONBLOCK).unwrap();
        let mut s = ConsoleSerial::new(irq, Sink::new(None));
        s.write(4, 0x10); // MCR: loopback
        s.push_input(b"early");
        assert_eq!(s.read(5) & 1, 0, "a looped-back UART receives nothing");
        s.write(4, 0x0B); // MCR: loopback off
        s.write(1, 1);
        let mut got = Vec::new();
        while s.read(5) & 1 == 1 {
            got.push(s.read(0));
        }
        assert_eq!(got, b"early");
    }

    #[test]
    fn input_beyond_the_fifo_waits_and_is_not_lost() {
        let irq = EventFd::new(libc::EFD_NONBLOCK).unwrap();
        let mut s = ConsoleSerial::new(irq.try_clone().unwrap(), Sink::new(None));
        // Enable the received-data interrupt (IER bit 0).
        s.write(1, 1);
        let input: Vec<u8> = (0..200u32).map(|i| (i % 251) as u8).collect();
        s.push_input(&input);
        assert!(
            s.pending_input() > 0,
            "a 16550 FIFO holds fewer than 200 bytes"
        );
        assert!(irq.read().unwrap() >= 1, "input raises the interrupt");
        let mut got = Vec::new();
        // LSR bit 0: data ready.
        while s.read(5) & 1 == 1 {
            got.push(s.read(0));
        }
        assert_eq!(got, input);
        assert_eq!(s.pending_input(), 0);
    }

    #[test]
    fn a_producer_waits_for_room_and_every_byte_arrives() {
        let irq = EventFd::new(libc::EFD_NONBLOCK).unwrap();
        let s = Arc::new(Mutex::new(ConsoleSerial::new(irq, Sink::new(None))));
        s.lock().unwrap().write(1, 1);
        let budget = s.lock().unwrap().input_budget();
        let total = 4 * INPUT_LIMIT;
        let sent = Arc::new(Mutex::new(0usize));
        let producer = {
            let (s, budget, sent) = (s.clone(), budget.clone(), sent.clone());
            std::thread::spawn(move || {
                for chunk in 0..total / 4096 {
                    budget.reserve(4096);
                    let bytes: Vec<u8> = (0..4096).map(|i| ((chunk * 7 + i) % 251) as u8).collect();
                    s.lock().unwrap().push_input(&bytes);
                    *sent.lock().unwrap() += 4096;
                }
            })
        };
        // Nobody reads: the producer stops at the limit.
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(*sent.lock().unwrap(), INPUT_LIMIT, "the producer ran ahead");
        // What is in flight: all that was sent, less the FIFO's worth the
        // UART took at once.
        let in_fifo = s.lock().unwrap().fifo_size;
        assert_eq!(budget.queued(), INPUT_LIMIT - in_fifo);
        // The guest reads everything; the producer finishes.
        let mut got = Vec::new();
        while got.len() < total {
            let mut s = s.lock().unwrap();
            if s.read(5) & 1 == 1 {
                got.push(s.read(0));
            } else {
                drop(s);
                std::thread::yield_now();
            }
        }
        producer.join().unwrap();
        let want: Vec<u8> = (0..total / 4096)
            .flat_map(|chunk| (0..4096).map(move |i| ((chunk * 7 + i) % 251) as u8))
            .collect();
        assert!(got == want, "bytes lost or reordered");
        assert_eq!(budget.queued(), 0);
    }
}
