//! x86_64: the boot stub, descriptor tables, traps, interrupt controllers,
//! timers, the context switch, and the privileged instructions they need.
//! Nothing here calls up into the rest of the kernel: the trap stubs hand
//! every trap to `trap_dispatch`, which the kernel defines (`crate::trap`).

pub mod boot;
pub mod cpu;
pub mod frame;
pub mod gdt;
pub mod idt;
pub mod ioapic;
pub mod lapic;
pub mod layout;
pub mod pic;
pub mod pit;
pub mod switch;
pub mod syscall;
pub mod trap;
pub mod vectors;
