//! The Interrupt Descriptor Table (SDM Vol. 3A, 6.14.1 "64-Bit Mode IDT").
//!
//! 256 16-byte gates. The #BP gate (vector 3) has DPL 3, so `int3` in ring
//! 3 reaches it: that is the system-call instruction (see
//! [`super::syscall`]). Every gate here is an interrupt gate (type 0xE: the
//! CPU clears IF on entry, so handlers start with interrupts off) to the
//! kernel code segment. Vectors 0..31 are the CPU's exceptions, all handled;
//! #DF runs on IST1 and NMI/#MC on IST2 so they work even when the kernel
//! stack is unusable. Vectors without a gate give #NP (not present), which
//! is reported like any other exception.
//!
//! The table is static data: the entry stubs are at fixed addresses
//! ([`vectors::STUBS_VMA`]), so the assembler computes every gate and boot only
//! runs `lidt` (no loop over 256 gates in ring 0).
//!
//! Gate layout (SDM Vol. 3A, Figure 6-8), 16 bytes: offset 15..0, selector,
//! IST index, type/DPL/P, offset 31..16, offset 63..32, reserved.

use core::arch::{asm, global_asm};

use super::gdt::{self, DescriptorTablePointer};
use super::vectors;
use logic::arch::x86_64::exception;

global_asm!(
    r#"
    .macro IDT_GATE slot, ist, kind=0x8E
    .set idt_addr, {stubs} + {stride} * (\slot)
    .word idt_addr & 0xFFFF
    .word {cs}
    .byte \ist
    .byte \kind                     /* 0x8E: present, DPL 0, interrupt gate */
    .word (idt_addr >> 16) & 0xFFFF
    .long (idt_addr >> 32) & 0xFFFFFFFF
    .long 0
    .endm

    .pushsection .data.idt, "aw"
    .p2align 12
    .global idt_table
idt_table:
    .set idt_v, 0
    .rept 32
    .if idt_v == {df}
    IDT_GATE idt_v, {ist_df}
    .elseif idt_v == {nmi}
    IDT_GATE idt_v, {ist_nmi}
    .elseif idt_v == {mc}
    IDT_GATE idt_v, {ist_nmi}
    .elseif idt_v == {bp}
    IDT_GATE idt_v, 0, 0xEE         /* DPL 3: int3 from ring 3 (system calls) */
    .else
    IDT_GATE idt_v, 0
    .endif
    .set idt_v, idt_v + 1
    .endr
    .zero ({timer} - 32) * 16
    IDT_GATE {slot_timer}, 0
    .zero ({serial} - {timer} - 1) * 16
    IDT_GATE {slot_serial}, 0
    .zero ({spurious} - {serial} - 1) * 16
    IDT_GATE {slot_spurious}, 0
idt_table_end:
    .if idt_table_end - idt_table != 4096
    .error "the IDT must have 256 gates"
    .endif
    .popsection
"#,
    stubs = const vectors::STUBS_VMA as i64,
    stride = const vectors::STUB_STRIDE,
    cs = const gdt::KERNEL_CS,
    df = const exception::DOUBLE_FAULT,
    nmi = const exception::NMI,
    mc = const exception::MACHINE_CHECK,
    bp = const exception::BREAKPOINT,
    ist_df = const gdt::IST_DOUBLE_FAULT,
    ist_nmi = const gdt::IST_NMI,
    timer = const vectors::TIMER_VECTOR,
    serial = const vectors::SERIAL_VECTOR,
    spurious = const vectors::SPURIOUS_VECTOR,
    slot_timer = const vectors::SLOT_TIMER,
    slot_serial = const vectors::SLOT_SERIAL,
    slot_spurious = const vectors::SLOT_SPURIOUS,
    options(att_syntax)
);

unsafe extern "C" {
    static idt_table: u8;
}

/// Size of the IDT: 256 gates of 16 bytes.
const IDT_SIZE: usize = 256 * 16;

/// Loads the IDT. Runs at boot, with interrupts off.
pub fn init() {
    let ptr = DescriptorTablePointer {
        limit: (IDT_SIZE - 1) as u16,
        base: &raw const idt_table as u64,
    };
    // SAFETY: idt_table is a complete, static table of 256 valid gates
    // (built above) to entry stubs that end in iretq.
    unsafe { asm!("lidt [{}]", in(reg) &ptr, options(readonly, nostack, preserves_flags)) };
}

/// Loads an empty IDT (limit 0), so the next exception cannot be delivered:
/// #GP on the IDT itself, then #DF, then a triple fault shuts the CPU down.
/// For `crash=triple`.
pub fn load_empty() {
    let ptr = DescriptorTablePointer { limit: 0, base: 0 };
    // SAFETY: deliberately breaks exception delivery; the caller is about
    // to fault on purpose.
    unsafe { asm!("lidt [{}]", in(reg) &ptr, options(readonly, nostack, preserves_flags)) };
}
