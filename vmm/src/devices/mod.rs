//! The devices the VMM emulates in user space, and the port bus that routes
//! a vCPU's port I/O to them. (The PIC, IOAPIC, LAPIC and PIT are KVM's
//! in-kernel devices and never reach us.)

pub mod output;
pub mod serial;

use std::sync::{Arc, Mutex};

use abi::exit::ExitRequest;
use abi::port;

use output::Sink;
use serial::ConsoleSerial;

/// Counts of guest accesses nobody claims.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Unassigned {
    /// Port reads (answered with 0xFF).
    pub port_reads: u64,
    /// Port writes (ignored).
    pub port_writes: u64,
    /// MMIO reads (answered with 0xFF).
    pub mmio_reads: u64,
    /// MMIO writes (ignored).
    pub mmio_writes: u64,
}

/// VM exits by reason, for `--stats`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ExitCounts {
    /// Port writes to the console UART.
    pub console_out: u64,
    /// Port reads from the console UART.
    pub console_in: u64,
    /// Writes to the debug console.
    pub debugcon: u64,
    /// Accesses to the debug port (registrations and doorbells).
    pub debugport: u64,
    /// Writes to the exit port.
    pub exit_port: u64,
    /// `hlt` reaching user space.
    pub hlt: u64,
    /// KVM_RUN interrupted by a signal (the VMM's kicks).
    pub interrupted: u64,
    /// Anything else (shutdown, errors).
    pub other: u64,
    /// Port and MMIO accesses to nothing (every MMIO exit is one), by
    /// direction.
    pub unassigned: Unassigned,
}

impl ExitCounts {
    /// Every exit counted.
    pub fn total(&self) -> u64 {
        self.console_out
            + self.console_in
            + self.debugcon
            + self.debugport
            + self.exit_port
            + self.unassigned.ports()
            + self.unassigned.mmio()
            + self.hlt
            + self.interrupted
            + self.other
    }

    /// (name, count) pairs, for printing.
    pub fn rows(&self) -> [(&'static str, u64); 10] {
        [
            ("console out (COM1)", self.console_out),
            ("console in (COM1)", self.console_in),
            ("debug console (0xE9)", self.debugcon),
            ("debug port", self.debugport),
            ("exit port", self.exit_port),
            ("other port I/O", self.unassigned.ports()),
            ("MMIO", self.unassigned.mmio()),
            ("hlt", self.hlt),
            ("signal (VMM kick)", self.interrupted),
            ("other", self.other),
        ]
    }
}

impl Unassigned {
    /// Port accesses, both directions.
    pub fn ports(&self) -> u64 {
        self.port_reads + self.port_writes
    }

    /// MMIO accesses, both directions.
    pub fn mmio(&self) -> u64 {
        self.mmio_reads + self.mmio_writes
    }

    /// Whether any access went to nothing.
    pub fn any(&self) -> bool {
        *self != Unassigned::default()
    }
}

/// Routes port I/O to the console UART, the debug console, the debug port
/// and the exit port.
pub struct PortBus {
    /// COM1, shared with the thread that feeds it host input.
    pub serial: Arc<Mutex<ConsoleSerial>>,
    /// The debug console's destination.
    pub debugcon: Sink,
    /// The debug port's host side.
    pub introspect: crate::introspect::Shared,
    /// VM exits by reason.
    pub exits: ExitCounts,
}

fn com1_offset(p: u16) -> Option<u8> {
    (port::COM1..port::COM1 + port::COM1_LEN)
        .contains(&p)
        .then(|| (p - port::COM1) as u8)
}

impl PortBus {
    /// A guest `out` (or `rep outs`: `data` then holds every element).
    /// Returns the exit request when the guest wrote the exit port.
    pub fn write(&mut self, p: u16, data: &[u8]) -> Option<ExitRequest> {
        if let Some(offset) = com1_offset(p) {
            self.exits.console_out += 1;
            let mut serial = self.serial.lock().unwrap();
            for &b in data {
                serial.write(offset, b);
            }
            serial.flush_output();
        } else if p == port::DEBUGCON {
            self.exits.debugcon += 1;
            use std::io::Write;
            let _ = self.debugcon.write_all(data);
            self.debugcon.flush_out();
        } else if p == abi::debug::PORT {
            self.exits.debugport += 1;
            // One 32-bit write: an address or the doorbell. Other widths
            // are not the protocol: ignored.
            if let Ok(value) = <[u8; 4]>::try_from(data) {
                self.introspect
                    .lock()
                    .unwrap()
                    .port_write(u32::from_le_bytes(value));
            }
        } else if p == port::EXIT {
            self.exits.exit_port += 1;
            let mut value = [0u8; 4];
            let n = data.len().min(4);
            value[..n].copy_from_slice(&data[..n]);
            return Some(ExitRequest::decode(u32::from_le_bytes(value)));
        } else {
            self.exits.unassigned.port_writes += 1;
        }
        None
    }

    /// A guest `in` (or `rep ins`): fills `data`.
    pub fn read(&mut self, p: u16, data: &mut [u8]) {
        if let Some(offset) = com1_offset(p) {
            self.exits.console_in += 1;
            let mut serial = self.serial.lock().unwrap();
            for b in data.iter_mut() {
                *b = serial.read(offset);
            }
        } else if p == port::DEBUGCON && self.debugcon.is_attached() {
            // Present only when attached (as QEMU's isa-debugcon): a kernel
            // that finds nothing there skips its log.
            data.fill(port::DEBUGCON_READBACK);
        } else {
            self.exits.unassigned.port_reads += 1;
            data.fill(port::UNASSIGNED_READ);
        }
    }

    /// Flushes every output.
    pub fn flush(&mut self) {
        self.serial.lock().unwrap().flush_output();
        self.debugcon.flush_out();
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use vmm_sys_util::eventfd::EventFd;

    pub fn bus() -> PortBus {
        PortBus {
            serial: Arc::new(Mutex::new(ConsoleSerial::new(
                EventFd::new(libc::EFD_NONBLOCK).unwrap(),
                Sink::new(None),
            ))),
            debugcon: Sink::new(None),
            introspect: Arc::new(Mutex::new(
                crate::introspect::Introspect::new(
                    Arc::new(crate::introspect::reader::VecRam::new(4096)),
                    None,
                    None,
                )
                .unwrap(),
            )),
            exits: ExitCounts::default(),
        }
    }

    #[test]
    fn exit_port_decodes_every_width() {
        let mut b = bus();
        assert_eq!(b.write(port::EXIT, &[7]), Some(ExitRequest::PowerOff(7)));
        assert_eq!(
            b.write(port::EXIT, &0x10Eu32.to_le_bytes()),
            Some(ExitRequest::Exception(14))
        );
        assert_eq!(
            b.write(port::EXIT, &0x1FFu16.to_le_bytes()),
            Some(ExitRequest::Panic)
        );
    }

    #[test]
    fn unassigned_ports_read_ff_and_count() {
        let mut b = bus();
        let mut data = [0u8; 4];
        b.read(0x1234, &mut data);
        assert_eq!(data, [0xFF; 4]);
        assert_eq!(b.write(0x80, &[1]), None);
        assert_eq!(b.exits.unassigned.port_reads, 1);
        assert_eq!(b.exits.unassigned.port_writes, 1);
        let mut one = [0u8];
        b.read(port::DEBUGCON, &mut one);
        assert_eq!(one, [port::UNASSIGNED_READ], "no debug console attached");
        b.debugcon = Sink::new(Some(Box::new(std::io::sink())));
        b.read(port::DEBUGCON, &mut one);
        assert_eq!(one, [port::DEBUGCON_READBACK]);
    }
}
