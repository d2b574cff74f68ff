//! The exit port at 0xf4 (QEMU's `isa-debug-exit`, and our VMM's): a 32-bit
//! write ends the VM. [`abi::exit`] defines the value.

use crate::arch::x86_64::cpu;
use abi::exit::ExitRequest;

/// Ends the VM. If nothing listens on the port, halts forever.
pub fn exit(request: ExitRequest) -> ! {
    // SAFETY: the exit port only ends the VM.
    unsafe { cpu::outl(abi::port::EXIT, request.encode()) };
    cpu::halt_forever()
}
