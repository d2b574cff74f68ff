//! Devices: the UART (COM1), the debug console, the exit port, and the
//! debug port (the VMM's view of the process table).

pub mod debugcon;
pub mod debugport;
pub mod poweroff;
pub mod uart;
