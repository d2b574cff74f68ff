//! COM1: vm-superio's 16550 wired to the console, with its interrupt raised
//! through an irqfd and host input queued until the guest's FIFO has room.

use std::collections::VecDeque;
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

/// The console UART and the host input not yet in its receive FIFO.
pub struct ConsoleSerial {
    uart: Serial<IrqTrigger, vm_superio::serial::NoEvents, Sink>,
    pending: VecDeque<u8>,
    /// Capacity of the receive FIFO when empty.
    fifo_size: usize,
}

impl ConsoleSerial {
    /// A UART that writes to `out` and interrupts through `irq`.
    pub fn new(irq: EventFd, out: Sink) -> Self {
        let uart = Serial::new(IrqTrigger(irq), out);
        ConsoleSerial {
            fifo_size: uart.fifo_capacity(),
            uart,
            pending: VecDeque::new(),
        }
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
        }
    }

    /// A guest read of register `offset`.
    pub fn read(&mut self, offset: u8) -> u8 {
        let value = self.uart.read(offset);
        // Refill only once the guest has emptied the FIFO, as a real UART
        // fills: the refill raises a fresh interrupt, and a driver that
        // drains "while data ready" is never handed an endless FIFO.
        if offset == 0 && self.uart.fifo_capacity() == self.fifo_size {
            self.pump();
        }
        value
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
        assert_eq!(s.output_drain().wait(Duration::from_secs(5)), 0);
        assert!(
            seen.lock().unwrap().is_empty(),
            "nothing before the hand-over"
        );
        s.flush_output();
        assert_eq!(s.output_drain().wait(Duration::from_secs(5)), 0);
        assert_eq!(&*seen.lock().unwrap(), b"hi\n");
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
}
