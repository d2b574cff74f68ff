//! Formatted output ([`print!`](crate::print) and friends) and line input.

use crate::sys::{self, Errno, Fd};
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// Standard input (the console: a line per `read`, 0 at end of input).
pub const STDIN: Fd = 0;
/// Standard output.
pub const STDOUT: Fd = 1;
/// Standard error.
pub const STDERR: Fd = 2;

/// Reads from `fd` until `buf` is full, the end of input or an error;
/// returns how much was read.
pub fn read_full(fd: Fd, buf: &mut [u8]) -> usize {
    let mut got = 0;
    while got < buf.len() {
        match sys::read(fd, &mut buf[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    got
}

/// Writes all of `bytes` to `fd`, looping over short writes.
pub fn write_all(fd: Fd, mut bytes: &[u8]) -> Result<(), Errno> {
    while !bytes.is_empty() {
        let n = sys::write(fd, bytes)?;
        if n == 0 {
            return Err(Errno::EPIPE);
        }
        bytes = &bytes[n.min(bytes.len())..];
    }
    Ok(())
}

/// A stack buffer that gathers one `print!` call so it reaches the kernel as
/// a single `write` (it spills early only past its size). No heap, so a panic
/// message prints even when the allocator is broken.
struct CallBuffer {
    fd: Fd,
    len: usize,
    buf: [u8; 512],
}

impl CallBuffer {
    fn flush(&mut self) {
        // Output errors have nowhere to go; print! ignores them like Rust's
        // std does not (it panics), because a dying console must not loop.
        let _ = write_all(self.fd, &self.buf[..self.len]);
        self.len = 0;
    }
}

impl fmt::Write for CallBuffer {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for chunk in s.as_bytes().chunks(self.buf.len()) {
            if self.len + chunk.len() > self.buf.len() {
                self.flush();
            }
            self.buf[self.len..self.len + chunk.len()].copy_from_slice(chunk);
            self.len += chunk.len();
        }
        Ok(())
    }
}

/// Formats `args` and writes them to `fd` (the macros' back end).
#[doc(hidden)]
pub fn _print(fd: Fd, args: fmt::Arguments) {
    let mut b = CallBuffer {
        fd,
        len: 0,
        buf: [0; 512],
    };
    let _ = fmt::write(&mut b, args);
    b.flush();
}

/// Prints to standard output, as one `write`.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::io::_print($crate::io::STDOUT, format_args!($($arg)*)) };
}

/// Prints a line to standard output, as one `write`.
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => {
        $crate::io::_print($crate::io::STDOUT, format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Prints to standard error, as one `write`.
#[macro_export]
macro_rules! eprint {
    ($($arg:tt)*) => { $crate::io::_print($crate::io::STDERR, format_args!($($arg)*)) };
}

/// Prints a line to standard error, as one `write`.
#[macro_export]
macro_rules! eprintln {
    () => { $crate::eprint!("\n") };
    ($($arg:tt)*) => {
        $crate::io::_print($crate::io::STDERR, format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Splits a byte stream into lines. The console already hands out a line per
/// `read`, but a pipe or a long line may not, so bytes are kept until a
/// newline arrives.
#[derive(Default)]
pub struct LineReader {
    pending: Vec<u8>,
    eof: bool,
}

impl LineReader {
    /// A reader with nothing pending.
    pub fn new() -> Self {
        Self::default()
    }

    /// The next line from `fd`, without its newline; `None` at end of input
    /// (a last line without a newline is still returned first).
    pub fn next_line(&mut self, fd: Fd) -> Result<Option<String>, Errno> {
        self.next_line_from(|buf| sys::read(fd, buf))
    }

    /// [`next_line`](Self::next_line) over any `read`-like source.
    pub fn next_line_from(
        &mut self,
        mut read: impl FnMut(&mut [u8]) -> Result<usize, Errno>,
    ) -> Result<Option<String>, Errno> {
        loop {
            if let Some(i) = self.pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=i).take(i).collect();
                return Ok(Some(String::from_utf8_lossy(&line).into_owned()));
            }
            if self.eof {
                if self.pending.is_empty() {
                    return Ok(None);
                }
                let line = core::mem::take(&mut self.pending);
                return Ok(Some(String::from_utf8_lossy(&line).into_owned()));
            }
            let mut buf = [0u8; 256];
            let n = read(&mut buf)?;
            self.eof = n == 0;
            self.pending.extend_from_slice(&buf[..n]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_across_and_within_reads() {
        let mut chunks = vec![&b"ec"[..], b"ho hi\nls\n", b"last"].into_iter();
        let mut src = |buf: &mut [u8]| {
            let c = chunks.next().unwrap_or(b"");
            buf[..c.len()].copy_from_slice(c);
            Ok(c.len())
        };
        let mut r = LineReader::new();
        assert_eq!(r.next_line_from(&mut src).unwrap().unwrap(), "echo hi");
        assert_eq!(r.next_line_from(&mut src).unwrap().unwrap(), "ls");
        assert_eq!(r.next_line_from(&mut src).unwrap().unwrap(), "last");
        assert_eq!(r.next_line_from(&mut src).unwrap(), None);
    }
}
