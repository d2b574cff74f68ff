//! The Global Descriptor Table and the Task State Segment.
//!
//! In 64-bit mode segmentation is mostly off: code segments only select the
//! mode (L bit) and privilege (DPL), data segments' bases and limits are
//! ignored (SDM Vol. 3A, 3.4.5 "Segment Descriptors" and 5.2.1 "Code-Segment
//! Descriptor in 64-bit Mode"). The TSS no longer switches tasks; it holds
//! the stack pointers the CPU loads on a privilege change (RSP0) and the
//! Interrupt Stack Table (IST1..7) that chosen IDT gates switch to
//! unconditionally (SDM Vol. 3A, 8.7 "Task Management in 64-bit Mode",
//! 7.14.5 "Interrupt Stack Table").
//!
//! Layout. The user entries are ordered for `sysret` (SDM Vol. 2B, SYSRET:
//! CS = STAR[63:48] + 16, SS = STAR[63:48] + 8, so user data comes right
//! before user code):
//!
//! ```text
//! 0x00 null
//! 0x08 kernel code, 64-bit, DPL 0
//! 0x10 kernel data, DPL 0
//! 0x18 user data, DPL 3      (selector 0x1b)
//! 0x20 user code, 64-bit, DPL 3 (selector 0x23)
//! 0x28 TSS (a 16-byte system descriptor)
//! ```

use core::arch::asm;

use core::sync::atomic::{AtomicU64, Ordering};

use super::boot;
use logic::sync::cell::BootCell;

/// Kernel code selector.
pub const KERNEL_CS: u16 = 0x08;
/// Kernel data/stack selector.
pub const KERNEL_DS: u16 = 0x10;
/// User data/stack selector (RPL 3).
pub const USER_DS: u16 = 0x18 | 3;
/// User code selector (RPL 3).
pub const USER_CS: u16 = 0x20 | 3;
/// TSS selector.
pub const TSS_SEL: u16 = 0x28;

/// IST index of the double-fault stack.
pub const IST_DOUBLE_FAULT: u8 = 1;
/// IST index of the NMI and machine-check stack.
pub const IST_NMI: u8 = 2;

// Descriptor bits (SDM Vol. 3A, Figure 3-8): G | L (or D/B for data) | P |
// DPL | S | type, with base 0 and limit 0xfffff (ignored in 64-bit mode).
const KERNEL_CODE: u64 = 0x00AF_9A00_0000_FFFF;
const KERNEL_DATA: u64 = 0x00CF_9200_0000_FFFF;
const USER_DATA: u64 = 0x00CF_F200_0000_FFFF;
const USER_CODE: u64 = 0x00AF_FA00_0000_FFFF;

/// The 64-bit TSS (SDM Vol. 3A, Figure 8-11). Fields are not naturally
/// aligned (RSP0 is at offset 4), hence `packed(4)`.
#[repr(C, packed(4))]
pub struct Tss {
    reserved0: u32,
    /// Stack pointers for entering rings 0..2 from a less privileged ring.
    pub rsp: [u64; 3],
    reserved1: u64,
    /// IST1..IST7.
    pub ist: [u64; 7],
    reserved2: u64,
    reserved3: u16,
    /// Offset of the I/O permission bitmap; past the limit means none, so
    /// ring 3 gets #GP on every port.
    pub iomap_base: u16,
}

const TSS_SIZE: usize = core::mem::size_of::<Tss>();
const _: () = assert!(TSS_SIZE == 104);

static TSS: BootCell<Tss> = BootCell::new(Tss {
    reserved0: 0,
    rsp: [0; 3],
    reserved1: 0,
    ist: [0; 7],
    reserved2: 0,
    reserved3: 0,
    iomap_base: TSS_SIZE as u16,
});

static GDT: BootCell<[u64; 7]> =
    BootCell::new([0, KERNEL_CODE, KERNEL_DATA, USER_DATA, USER_CODE, 0, 0]);

/// The operand of `lgdt`/`lidt`: limit, then linear base.
#[repr(C, packed)]
pub struct DescriptorTablePointer {
    /// Size of the table in bytes, minus one.
    pub limit: u16,
    /// Address of the table.
    pub base: u64,
}

/// The 16-byte TSS descriptor (SDM Vol. 3A, Figure 8-4): type 9 (available
/// 64-bit TSS), present, DPL 0.
fn tss_descriptor(base: u64, limit: u64) -> [u64; 2] {
    let low = (limit & 0xFFFF)
        | ((base & 0xFF_FFFF) << 16)
        | (0x89 << 40)
        | (((limit >> 16) & 0xF) << 48)
        | (((base >> 24) & 0xFF) << 56);
    [low, base >> 32]
}

/// Loads the GDT and TSS and reloads every segment register. Runs once, at
/// boot, with interrupts off.
pub fn init() {
    // SAFETY: boot is single-threaded with interrupts off; nothing else
    // touches TSS or GDT, and the CPU only reads them after the loads below.
    unsafe {
        let tss = &mut *TSS.as_ptr();
        tss.ist[IST_DOUBLE_FAULT as usize - 1] = boot::ist1_top();
        tss.ist[IST_NMI as usize - 1] = boot::ist2_top();
        let gdt = &mut *GDT.as_ptr();
        let [low, high] = tss_descriptor(TSS.as_ptr() as u64, TSS_SIZE as u64 - 1);
        gdt[5] = low;
        gdt[6] = high;
        let ptr = DescriptorTablePointer {
            limit: (core::mem::size_of::<[u64; 7]>() - 1) as u16,
            base: gdt.as_ptr() as u64,
        };
        // Reload CS with a far return, then the data segments, then TR.
        asm!(
            "lgdt [{ptr}]",
            "push {cs}",
            "lea {tmp}, [rip + 2f]",
            "push {tmp}",
            "retfq",
            "2:",
            "mov ds, {ds:e}",
            "mov es, {ds:e}",
            "mov ss, {ds:e}",
            "xor {tmp:e}, {tmp:e}",
            "mov fs, {tmp:e}",
            "mov gs, {tmp:e}",
            "ltr {tss:x}",
            ptr = in(reg) &ptr,
            cs = in(reg) u64::from(KERNEL_CS),
            ds = in(reg) u32::from(KERNEL_DS),
            tss = in(reg) TSS_SEL,
            tmp = out(reg) _,
        );
    }
}

/// Top of the running process's kernel stack, as in TSS.RSP0 (kept by
/// [`set_kernel_stack`]), for the `syscall` entry, which the CPU does not
/// switch stacks for.
pub static KERNEL_STACK_TOP: AtomicU64 = AtomicU64::new(0);

/// Sets the stack the CPU switches to on an interrupt from ring 3.
pub fn set_kernel_stack(top: u64) {
    KERNEL_STACK_TOP.store(top, Ordering::Relaxed);
    // SAFETY: a single aligned-enough store the CPU reads only on a ring
    // change; callers run with interrupts off (one CPU).
    unsafe {
        (&raw mut (*TSS.as_ptr()).rsp)
            .cast::<u64>()
            .write_unaligned(top)
    }
}
