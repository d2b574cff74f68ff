//! What the fuzz targets share: a guest RAM that changes under the VMM's
//! debug-port reader (`vmm::introspect::reader`) the way a running guest
//! kernel would, and a reader of the fuzz input.

use std::sync::atomic::{AtomicU32, Ordering};

use vmm::introspect::reader::{GuestRam, VecRam};

/// A write the "guest" makes just before the reader's `at`-th read (counted
/// from 1): the reader sees the memory change between two of its reads, as
/// it does while the guest's vCPU runs.
#[derive(Debug, Clone, Copy)]
pub struct ScriptedWrite {
    /// Index of the read it precedes.
    pub at: u32,
    /// Where.
    pub gpa: u64,
    /// The little-endian u64 written.
    pub value: u64,
}

/// [`VecRam`] plus [`ScriptedWrite`]s.
pub struct ScriptedRam {
    /// The memory.
    pub ram: VecRam,
    /// The writes, applied each at its read.
    pub script: Vec<ScriptedWrite>,
    reads: AtomicU32,
}

impl ScriptedRam {
    /// `image` at guest-physical 0, zero-padded to `len` bytes.
    pub fn new(image: &[u8], len: usize, script: Vec<ScriptedWrite>) -> ScriptedRam {
        let mut bytes = vec![0u8; len.max(image.len())];
        bytes[..image.len()].copy_from_slice(image);
        ScriptedRam {
            ram: VecRam(std::sync::Mutex::new(bytes)),
            script,
            reads: AtomicU32::new(0),
        }
    }
}

impl GuestRam for ScriptedRam {
    fn read(&self, gpa: u64, buf: &mut [u8]) -> bool {
        let n = self.reads.fetch_add(1, Ordering::Relaxed) + 1;
        for w in self.script.iter().filter(|w| w.at == n) {
            let _ = self.ram.write(w.gpa, &w.value.to_le_bytes());
        }
        self.ram.read(gpa, buf)
    }

    fn write(&self, gpa: u64, data: &[u8]) -> bool {
        self.ram.write(gpa, data)
    }

    fn contains(&self, gpa: u64, len: u64) -> bool {
        self.ram.contains(gpa, len)
    }
}

/// Little-endian integers off the front of the fuzz input; zeros once it
/// runs out.
pub struct Input<'a>(pub &'a [u8]);

impl<'a> Input<'a> {
    /// The next `n` bytes (fewer at the end).
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let (a, b) = self.0.split_at(n.min(self.0.len()));
        self.0 = b;
        a
    }

    /// The next byte.
    pub fn u8(&mut self) -> u8 {
        self.take(1).first().copied().unwrap_or(0)
    }

    /// The next little-endian u32.
    pub fn u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        let s = self.take(4);
        b[..s.len()].copy_from_slice(s);
        u32::from_le_bytes(b)
    }

    /// The next little-endian u64.
    pub fn u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        let s = self.take(8);
        b[..s.len()].copy_from_slice(s);
        u64::from_le_bytes(b)
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        self.take(self.0.len())
    }
}
