//! Console output macros.
//!
//! - `println!`: the serial console (what the user sees);
//! - `log!`: the kernel log on the debug console;
//! - `vlog!`: the kernel log, only with `verbose` on the command line;
//! - `report!`: both (warnings, crash reports).
//!
//! Each macro formats into a [`Line`] on the stack and writes it with as few
//! port writes as possible: the debug console gets whole lines, the serial
//! port 16 bytes at a time.

use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::dev::{debugcon, uart};

/// Sink bit: the serial console.
pub const SERIAL: u8 = 1;
/// Sink bit: the debug console.
pub const DEBUGCON: u8 = 2;
/// Both sinks.
pub const BOTH: u8 = SERIAL | DEBUGCON;

static VERBOSE: AtomicBool = AtomicBool::new(false);

/// Turns `vlog!` on or off.
pub fn set_verbose(on: bool) {
    VERBOSE.store(on, Ordering::Relaxed);
}

/// Whether `vlog!` prints.
pub fn verbose() -> bool {
    VERBOSE.load(Ordering::Relaxed)
}

/// A line being formatted; written out when full and by [`Line::flush`].
pub struct Line {
    buf: [u8; 160],
    len: usize,
    sinks: u8,
}

impl Line {
    /// An empty line for `sinks`.
    pub const fn new(sinks: u8) -> Self {
        Line {
            buf: [0; 160],
            len: 0,
            sinks,
        }
    }

    /// Forgets what is buffered.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Writes out what is buffered.
    pub fn flush(&mut self) {
        let bytes = &self.buf[..self.len];
        if self.sinks & SERIAL != 0 {
            uart::write(bytes);
        }
        if self.sinks & DEBUGCON != 0 {
            debugcon::write(bytes);
        }
        self.len = 0;
    }
}

impl fmt::Write for Line {
    fn write_str(&mut self, mut s: &str) -> fmt::Result {
        while !s.is_empty() {
            if self.len == self.buf.len() {
                self.flush();
            }
            let n = s.len().min(self.buf.len() - self.len);
            self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
            self.len += n;
            s = &s[n..];
        }
        Ok(())
    }
}

/// Formats `args` and a newline to `sinks`. (The newline cannot be
/// concatenated to the format string: that would break inline arguments
/// such as `{name}`.)
pub fn emit_line(mut sinks: u8, args: fmt::Arguments) {
    if !debugcon::present() {
        sinks &= !DEBUGCON;
        if sinks == 0 {
            return;
        }
    }
    let mut line = Line::new(sinks);
    let _ = fmt::Write::write_fmt(&mut line, args);
    let _ = fmt::Write::write_str(&mut line, "\n");
    line.flush();
}

/// Prints a line to the serial console.
macro_rules! println {
    () => {
        $crate::dev::uart::write(b"\n")
    };
    ($($arg:tt)*) => {
        $crate::log::emit_line($crate::log::SERIAL, format_args!($($arg)*))
    };
}

/// Writes a line to the kernel log (debug console).
macro_rules! log {
    ($($arg:tt)*) => {
        $crate::log::emit_line($crate::log::DEBUGCON, format_args!($($arg)*))
    };
}

/// Writes a line to the kernel log if `verbose` is on.
macro_rules! vlog {
    ($($arg:tt)*) => {
        if $crate::log::verbose() {
            log!($($arg)*)
        }
    };
}

/// Writes a line to both the serial console and the kernel log.
macro_rules! report {
    ($($arg:tt)*) => {
        $crate::log::emit_line($crate::log::BOTH, format_args!($($arg)*))
    };
}
