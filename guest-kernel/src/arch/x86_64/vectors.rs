//! Interrupt vectors and the places of their entry stubs.
//!
//! Vectors 0..31 are the CPU's exceptions (SDM Vol. 3A, 6.3.1); the kernel
//! uses three more, from the LAPIC and the IOAPIC. The entry stubs sit at a
//! fixed address ([`STUBS_VMA`], which `linker.ld` enforces), 32 bytes
//! apart, in slot order: exceptions 0..31, then the timer, serial and
//! spurious interrupts; so their addresses are assembler constants and the
//! IDT is a static table.

/// Vector of the LAPIC timer.
pub const TIMER_VECTOR: u8 = 0x20;
/// Vector of COM1's interrupt (ISA IRQ 4 through the IOAPIC).
pub const SERIAL_VECTOR: u8 = 0x24;
/// The trap frame's `vector` for an entry by the `syscall` instruction
/// (no IDT vector is involved; this one is otherwise unused).
pub const SYSCALL_VECTOR: u8 = 0x80;
/// Vector of LAPIC spurious interrupts (low 4 bits must be 1 on old APICs).
pub const SPURIOUS_VECTOR: u8 = 0xFF;

/// Address of the first stub: the start of `.text`, fixed by `linker.ld`
/// (which checks it).
pub const STUBS_VMA: u64 = 0xFFFF_FFFF_8011_0000;
/// Distance between stubs.
pub const STUB_STRIDE: u64 = 32;
/// Stub slot of the timer interrupt.
pub const SLOT_TIMER: u64 = 32;
/// Stub slot of the serial interrupt.
pub const SLOT_SERIAL: u64 = 33;
/// Stub slot of the spurious interrupt.
pub const SLOT_SPURIOUS: u64 = 34;
