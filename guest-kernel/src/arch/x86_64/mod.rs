//! x86_64: descriptor tables, traps, interrupt controllers, timers, and the
//! privileged instructions they need.

pub mod cpu;
pub mod gdt;
pub mod idt;
pub mod ioapic;
pub mod lapic;
pub mod pic;
pub mod pit;
pub mod switch;
pub mod trap;
