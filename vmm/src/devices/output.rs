//! Where guest output goes: a buffered sink flushed once per VM exit, so a
//! burst written with one `rep outsb` costs one `write(2)`.

use std::fs::File;
use std::io::{self, Write};

use crate::cli::Output;

/// A buffered output destination.
pub struct Sink {
    out: Option<Box<dyn Write + Send>>,
    buf: Vec<u8>,
    /// Bytes that could not be written (closed pipe, full disk).
    pub dropped: u64,
}

impl Sink {
    /// Opens the destination an [`Output`] names.
    pub fn open(output: &Output) -> io::Result<Self> {
        let out: Option<Box<dyn Write + Send>> = match output {
            Output::None => None,
            Output::Stdout => Some(Box::new(io::stdout())),
            Output::Stderr => Some(Box::new(io::stderr())),
            Output::File(path) => Some(Box::new(File::create(path)?)),
        };
        Ok(Self::new(out))
    }

    /// A sink over any writer (or none, to discard).
    pub fn new(out: Option<Box<dyn Write + Send>>) -> Self {
        Sink {
            out,
            buf: Vec::new(),
            dropped: 0,
        }
    }

    /// Writes out what is buffered. A failing destination loses the bytes
    /// (counted in `dropped`), never the VM.
    pub fn flush_out(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        if let Some(out) = self.out.as_mut()
            && out.write_all(&self.buf).and_then(|()| out.flush()).is_err()
        {
            self.dropped += self.buf.len() as u64;
        }
        self.buf.clear();
    }
}

impl Write for Sink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.out.is_some() {
            self.buf.extend_from_slice(data);
        }
        Ok(data.len())
    }

    /// A no-op: vm-superio flushes after every byte, and a `write(2)` per
    /// byte is what this sink exists to avoid. [`Sink::flush_out`] writes.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
