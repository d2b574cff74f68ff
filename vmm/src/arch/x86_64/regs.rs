//! The vCPU state at the PVH entry point.
//!
//! The PVH boot protocol (Xen's `docs/misc/pvh.pandoc`) starts the kernel in
//! 32-bit protected mode with paging off: CS a flat 32-bit code segment,
//! DS/ES/SS flat data segments, `cr0.PE` set, `cr4` = 0, `eflags` = 0x2 (no
//! interrupts) and `ebx` = the address of `hvm_start_info`. A segment
//! register's hidden part (base, limit, attributes) is what the CPU uses, so
//! we load it from real GDT descriptors that we also write into guest memory:
//! a guest that reloads a selector before installing its own GDT then gets
//! the same segment.
//!
//! Descriptor format: Intel SDM Vol. 3A, 3.4.5 "Segment Descriptors".

use kvm_bindings::{kvm_fpu, kvm_regs, kvm_segment, kvm_sregs};

/// GDT descriptors (SDM 3.4.5): flags are bits 8-15 (type, S, DPL, P) and
/// 20-23 (AVL, L, D/B, G) of the upper dword, written as `0xG0TT`.
/// 32-bit code, execute/read, accessed, 4 KiB granularity.
const CODE32_FLAGS: u16 = 0xC09B;
/// Data, read/write, accessed, 4 KiB granularity, 32-bit.
const DATA32_FLAGS: u16 = 0xC093;
/// 32-bit TSS, busy.
const TSS32_FLAGS: u16 = 0x008B;

/// Selector of the code segment in [`boot_gdt`].
pub const CODE_SELECTOR: u16 = 0x08;
/// Selector of the data segments in [`boot_gdt`].
pub const DATA_SELECTOR: u16 = 0x10;
/// Selector of the task state segment in [`boot_gdt`].
pub const TSS_SELECTOR: u16 = 0x18;

/// Builds one GDT descriptor from its flags, base and (20-bit) limit.
pub fn gdt_entry(flags: u16, base: u32, limit: u32) -> u64 {
    let base = u64::from(base);
    let limit = u64::from(limit);
    let flags = u64::from(flags);
    ((base & 0xFF00_0000) << 32)
        | ((flags & 0xF0FF) << 40)
        | ((limit & 0x000F_0000) << 32)
        | ((base & 0x00FF_FFFF) << 16)
        | (limit & 0x0000_FFFF)
}

/// The hidden segment-register state KVM wants for a descriptor.
pub fn segment(entry: u64, selector: u16) -> kvm_segment {
    let base = ((entry >> 16) & 0x00FF_FFFF) | ((entry >> 32) & 0xFF00_0000);
    let mut limit = ((entry & 0xFFFF) | ((entry >> 32) & 0x000F_0000)) as u32;
    let granularity = ((entry >> 55) & 1) as u8;
    if granularity == 1 {
        // The limit counts 4 KiB units; KVM wants it in bytes.
        limit = (limit << 12) | 0xFFF;
    }
    kvm_segment {
        base,
        limit,
        selector,
        type_: ((entry >> 40) & 0xF) as u8,
        present: ((entry >> 47) & 1) as u8,
        dpl: ((entry >> 45) & 3) as u8,
        db: ((entry >> 54) & 1) as u8,
        s: ((entry >> 44) & 1) as u8,
        l: ((entry >> 53) & 1) as u8,
        g: granularity,
        avl: ((entry >> 52) & 1) as u8,
        unusable: u8::from((entry >> 47) & 1 == 0),
        padding: 0,
    }
}

/// The GDT written at [`super::layout::BOOT_GDT`].
pub fn boot_gdt() -> [u64; 4] {
    [
        0,
        gdt_entry(CODE32_FLAGS, 0, 0xFFFFF),
        gdt_entry(DATA32_FLAGS, 0, 0xFFFFF),
        gdt_entry(TSS32_FLAGS, 0, 0x67),
    ]
}

/// `cr0.PE`: protected mode.
const CR0_PE: u64 = 1;
/// `cr0.ET`: set by hardware on every CPU since the 486.
const CR0_ET: u64 = 1 << 4;

/// Special registers for the PVH entry, starting from KVM's defaults.
pub fn pvh_sregs(mut sregs: kvm_sregs) -> kvm_sregs {
    let gdt = boot_gdt();
    sregs.gdt.base = super::layout::BOOT_GDT;
    sregs.gdt.limit = (std::mem::size_of_val(&gdt) - 1) as u16;
    sregs.idt.base = 0;
    sregs.idt.limit = 0;
    let code = segment(gdt[1], CODE_SELECTOR);
    let data = segment(gdt[2], DATA_SELECTOR);
    sregs.cs = code;
    sregs.ds = data;
    sregs.es = data;
    sregs.fs = data;
    sregs.gs = data;
    sregs.ss = data;
    sregs.tr = segment(gdt[3], TSS_SELECTOR);
    sregs.cr0 = CR0_PE | CR0_ET;
    sregs.cr3 = 0;
    sregs.cr4 = 0;
    sregs.efer = 0;
    sregs
}

/// General registers for the PVH entry.
pub fn pvh_regs(entry: u64, start_info: u64) -> kvm_regs {
    kvm_regs {
        rip: entry,
        rbx: start_info,
        // Bit 1 is reserved and always set; IF is clear.
        rflags: 0x2,
        ..Default::default()
    }
}

/// The x87/SSE state at reset (SDM Vol. 1, 8.1.1 and 10.2.3).
pub fn reset_fpu() -> kvm_fpu {
    kvm_fpu {
        fcw: 0x37F,
        mxcsr: 0x1F80,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_code_segment_decodes() {
        let code = segment(gdt_entry(CODE32_FLAGS, 0, 0xFFFFF), CODE_SELECTOR);
        assert_eq!(code.base, 0);
        assert_eq!(code.limit, 0xFFFF_FFFF);
        assert_eq!(code.type_, 0xB);
        assert_eq!(
            (code.present, code.s, code.db, code.g, code.l),
            (1, 1, 1, 1, 0)
        );
        assert_eq!(code.unusable, 0);
    }

    #[test]
    fn base_and_byte_limit_round_trip() {
        let tss = segment(gdt_entry(TSS32_FLAGS, 0x1234_5678, 0x67), TSS_SELECTOR);
        assert_eq!(tss.base, 0x1234_5678);
        assert_eq!(tss.limit, 0x67);
        assert_eq!((tss.type_, tss.s, tss.g), (0xB, 0, 0));
    }

    #[test]
    fn entry_state_follows_pvh() {
        let sregs = pvh_sregs(kvm_sregs::default());
        assert_eq!(sregs.cr0 & CR0_PE, CR0_PE);
        assert_eq!(sregs.cr4, 0);
        assert_eq!(sregs.cs.selector, CODE_SELECTOR);
        let regs = pvh_regs(0x10_0000, 0x6000);
        assert_eq!((regs.rip, regs.rbx, regs.rflags), (0x10_0000, 0x6000, 2));
    }
}
