//! Devices: the serial console, the debug console, and the exit port.

pub mod debugcon;
pub mod poweroff;
pub mod serial;
