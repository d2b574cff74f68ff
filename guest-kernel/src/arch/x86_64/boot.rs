//! The PVH entry point and the start-of-day information.
//!
//! A PVH loader (our VMM through linux-loader, QEMU, Firecracker, Cloud
//! Hypervisor) finds the entry in the ELF note below and starts the CPU there
//! in 32-bit protected mode, paging off, interrupts off, with `ebx` holding
//! the physical address of an [`abi::pvh::StartInfo`]. The stub:
//!
//! 1. loads its own GDT (a 64-bit code segment), turns on PAE, points CR3 at
//!    the static page tables, sets EFER.LME (and NXE when the CPU has NX),
//!    turns on paging and far-jumps into 64-bit code (SDM Vol. 3A, 10.8.5
//!    "Initializing IA-32e Mode");
//! 2. jumps to the higher half, unmaps the identity map (PML4[0]) and the
//!    boot stack's guard page, zeroes .bss with one `rep stosq`, and calls
//!    `kmain` (the kernel's entry, in `main.rs`) with the start info address.
//!
//! CR4.OSFXSR/OSXMMEXCPT and CR0.MP (with CR0.EM clear) are set so user
//! programs may use SSE and the kernel can `fxsave` their state; the kernel
//! itself is soft-float and never touches SSE.
//!
//! # Page tables (SDM Vol. 3A, 4.5 "4-Level Paging")
//!
//! Built by the assembler as data, so booting runs no loop over them:
//!
//! ```text
//! PML4[0]   -> boot_pdpt_low   identity 0..4 GiB, 2 MiB pages (boot only)
//! PML4[256] -> boot_pdpt_low   direct map: phys P at 0xffff8000_00000000 + P
//! PML4[511] -> boot_pdpt_kernel[510] -> boot_pd_kernel[0..2] -> boot_pt
//!                              kernel image: phys 0..4 MiB at
//!                              0xffffffff_80000000, 4 KiB pages
//! ```
//!
//! The 2 MiB pages from 0xfec00000 up (IOAPIC, LAPIC) are uncached
//! (PCD|PWT). PML4 entries 0..256 are left empty for user address spaces.

use core::arch::global_asm;

use abi::pvh::{E820_RAM, MemmapEntry, ModlistEntry, START_MAGIC, StartInfo};

use super::layout::{self, PhysAddr};
use logic::mm::memmap::Range;
use logic::sync::cell::BootCell;

global_asm!(
    r#"
    .set BOOT_KERNEL_VMA, 0xFFFFFFFF80000000
    .set BOOT_CS, 0x08
    .set BOOT_DS, 0x10

    /* The PVH entry note (Xen's public/elfnote.h): name "Xen", type
       PHYS32_ENTRY, a 32-bit descriptor holding the entry's physical
       address. */
    .pushsection .note.Xen, "a", @note
    .p2align 2
    .long 4
    .long 4
    .long {note_type}
    .asciz "Xen"
    .p2align 2
    .long pvh_start32
    .popsection

    .pushsection .boot.text, "ax"
    .code32
    .global pvh_start32
pvh_start32:
    cli
    cld
    movl %ebx, %esi                     /* start info; cpuid clobbers ebx */
    lgdt boot_gdt_ptr
    movl %cr4, %eax
    orl $((1 << 5) | (1 << 9) | (1 << 10)), %eax   /* PAE, OSFXSR, OSXMMEXCPT */
    movl %eax, %cr4
    movl $boot_pml4, %eax
    movl %eax, %cr3
    /* EFER.NXE is reserved without NX (CPUID 0x80000001 EDX bit 20). */
    movl $0x80000001, %eax
    cpuid
    xorl %edi, %edi
    btl $20, %edx
    jnc 1f
    movl $(1 << 11), %edi
1:  movl $0xC0000080, %ecx              /* IA32_EFER */
    rdmsr
    orl $(1 << 8), %eax                 /* LME */
    orl %edi, %eax
    wrmsr
    movl %cr0, %eax
    andl $~(1 << 2), %eax               /* EM off: FPU instructions execute */
    orl $((1 << 31) | (1 << 16) | (1 << 1) | 1), %eax   /* PG, WP, MP, PE */
    movl %eax, %cr0
    ljmp $BOOT_CS, $pvh_start64

    .code64
pvh_start64:
    movl $BOOT_DS, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    xorl %eax, %eax
    movl %eax, %fs
    movl %eax, %gs
    movl %esi, %r12d                    /* upper halves are undefined after the switch */
    movabsq $boot_higher_half, %rax
    jmpq *%rax

    .p2align 3
boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF            /* 0x08: 64-bit code, DPL 0 */
    .quad 0x00CF92000000FFFF            /* 0x10: data, DPL 0 */
boot_gdt_ptr:
    .word boot_gdt_ptr - boot_gdt - 1
    .long boot_gdt
    .popsection

    .pushsection .text.boot, "ax"
boot_higher_half:
    /* Drop the identity map, through the kernel image's alias of the
       tables; the CR3 reload below flushes it. */
    movq $0, boot_pml4 + BOOT_KERNEL_VMA
    movq $__bss_start, %rdi
    movq $__bss_end, %rcx
    subq %rdi, %rcx
    shrq $3, %rcx
    xorl %eax, %eax
    rep stosq
    /* Unmap the guard page below the boot stack: its PTE index in boot_pt
       is its physical page number (the image lies in the first 4 MiB). */
    movq $boot_stack_guard, %rax
    shrq $12, %rax
    andl $0x3FF, %eax
    movq $0, boot_pt + BOOT_KERNEL_VMA(,%rax,8)
    movq %cr3, %rax
    movq %rax, %cr3
    movq $boot_stack_top, %rsp
    xorl %ebp, %ebp
    movq %r12, %rdi
    call {kmain}
    ud2
    .popsection

    .pushsection .boot.data, "aw"
    .p2align 12
    .global boot_pml4
boot_pml4:
    .quad boot_pdpt_low + 0x3           /* [0]: identity, removed at boot */
    .fill 255, 8, 0
    .quad boot_pdpt_low + 0x3           /* [256]: direct map */
    .fill 254, 8, 0
    .quad boot_pdpt_kernel + 0x3        /* [511]: kernel image */

boot_pdpt_low:
    .quad boot_pd + 0x0003
    .quad boot_pd + 0x1003
    .quad boot_pd + 0x2003
    .quad boot_pd + 0x3003
    .fill 508, 8, 0

    /* 2048 2 MiB pages: P|RW|PS, and PCD|PWT from 0xfec00000 (page 2038). */
boot_pd:
    .set boot_pa, 0
    .rept 2038
    .quad boot_pa + 0x83
    .set boot_pa, boot_pa + 0x200000
    .endr
    .rept 10
    .quad boot_pa + 0x9B
    .set boot_pa, boot_pa + 0x200000
    .endr

boot_pdpt_kernel:
    .fill 510, 8, 0
    .quad boot_pd_kernel + 0x3          /* [510]: 0xffffffff80000000 */
    .quad 0

boot_pd_kernel:
    .quad boot_pt + 0x0003
    .quad boot_pt + 0x1003
    .fill 510, 8, 0

    /* 1024 4 KiB pages: physical 0..4 MiB, P|RW. */
    .global boot_pt
boot_pt:
    .set boot_pa, 0
    .rept 1024
    .quad boot_pa + 0x3
    .set boot_pa, boot_pa + 0x1000
    .endr
    .popsection

    /* Stacks (not zeroed). The guard page is unmapped at boot, so running
       off the bottom of the boot stack faults instead of corrupting .bss. */
    .pushsection .stack, "aw", @nobits
    .p2align 12
    .global boot_stack_guard
boot_stack_guard:
    .skip 4096
    .global boot_stack_bottom
boot_stack_bottom:
    .skip {boot_stack_size}
    .global boot_stack_top
boot_stack_top:
    .skip {ist_stack_size}
    .global ist1_stack_top
ist1_stack_top:
    .skip {ist_stack_size}
    .global ist2_stack_top
ist2_stack_top:
    .popsection
"#,
    note_type = const abi::pvh::XEN_ELFNOTE_PHYS32_ENTRY,
    kmain = sym kmain,
    boot_stack_size = const BOOT_STACK_SIZE,
    ist_stack_size = const IST_STACK_SIZE,
    options(att_syntax)
);

/// Size of the boot (and, for now, only) kernel stack.
pub const BOOT_STACK_SIZE: usize = 64 * 1024;
/// Size of each interrupt stack (IST1: #DF, IST2: NMI and #MC).
pub const IST_STACK_SIZE: usize = 16 * 1024;

unsafe extern "C" {
    /// The kernel's entry (in `main.rs`, by this symbol name), on the boot
    /// stack with interrupts off, given the start info's physical address.
    fn kmain(start_info: u64) -> !;
    static boot_stack_guard: u8;
    static boot_stack_bottom: u8;
    static boot_stack_top: u8;
    static ist1_stack_top: u8;
    static ist2_stack_top: u8;
    static __kernel_end: u8;
}

/// Virtual address range of the boot stack's (unmapped) guard page.
pub fn stack_guard() -> Range {
    Range::from_len(&raw const boot_stack_guard as u64, abi::PAGE_SIZE)
}

/// Virtual address range of the boot stack.
pub fn boot_stack() -> Range {
    Range {
        start: &raw const boot_stack_bottom as u64,
        end: &raw const boot_stack_top as u64,
    }
}

/// Top of the #DF stack (IST1).
pub fn ist1_top() -> u64 {
    &raw const ist1_stack_top as u64
}

/// Top of the NMI/#MC stack (IST2).
pub fn ist2_top() -> u64 {
    &raw const ist2_stack_top as u64
}

/// Physical address of the first byte after the kernel image (stacks
/// included).
pub fn kernel_end_phys() -> PhysAddr {
    layout::kernel_virt_to_phys(&raw const __kernel_end as u64)
}

/// Most memory map entries kept.
const MAX_MEMMAP: usize = 64;

/// What the loader told us, copied out of loader memory.
#[derive(Debug)]
pub struct BootInfo {
    /// The kernel command line.
    pub cmdline: &'static str,
    /// The E820 memory map.
    pub memmap: &'static [MemmapEntry],
    /// Physical range of module 0, the initrd, if any.
    pub initrd: Option<Range>,
    /// The command line was not UTF-8 from this byte on (and is cut there).
    pub cmdline_bad_at: Option<usize>,
}

impl BootInfo {
    /// The RAM ranges of the memory map.
    pub fn ram(&self) -> impl Iterator<Item = Range> + '_ {
        self.memmap
            .iter()
            .filter(|e| e.kind == E820_RAM)
            .map(|e| Range::from_len(e.addr, e.size))
    }
}

static CMDLINE: BootCell<[u8; abi::cmdline::MAX_LEN]> = BootCell::new([0; abi::cmdline::MAX_LEN]);
static MEMMAP: BootCell<[MemmapEntry; MAX_MEMMAP]> = BootCell::new(
    [MemmapEntry {
        addr: 0,
        size: 0,
        kind: 0,
        reserved: 0,
    }; MAX_MEMMAP],
);

/// Reads a `T` at physical address `phys` through the direct map.
fn read_phys<T: Copy>(phys: u64, what: &str) -> T {
    let ptr = match layout::phys_to_virt(PhysAddr(phys), core::mem::size_of::<T>() as u64) {
        Some(p) => p as *const T,
        None => panic!("PVH {what} at {phys:#x} is outside the direct map"),
    };
    // SAFETY: the direct map covers [phys, phys + size) (checked above) and
    // maps only RAM or MMIO the loader described; the loader placed a T
    // there. read_unaligned: the loader need not align it.
    unsafe { ptr.read_unaligned() }
}

/// Parses and copies the PVH start info at physical `start_info`.
///
/// Must be called once, during boot, before anything allocates frames (the
/// loader's structures live in RAM the allocator will hand out).
pub fn parse(start_info: u64) -> BootInfo {
    let si: StartInfo = read_phys(start_info, "start info");
    if si.magic != START_MAGIC {
        panic!(
            "bad PVH start info magic {:#x} at {start_info:#x} (want {START_MAGIC:#x})",
            si.magic
        );
    }

    // SAFETY: boot runs single-threaded with interrupts off and parse() runs
    // once; nothing else refers to CMDLINE or MEMMAP yet.
    let (cmdline_buf, memmap_buf) = unsafe { (&mut *CMDLINE.as_ptr(), &mut *MEMMAP.as_ptr()) };

    let mut cmdline = "";
    let mut cmdline_bad_at = None;
    if si.cmdline_paddr != 0
        && let Some(p) = layout::phys_to_virt(PhysAddr(si.cmdline_paddr), 1)
    {
        // Never read past the end of the direct map.
        let max = (layout::DIRECT_MAP_SIZE - si.cmdline_paddr).min(abi::cmdline::MAX_LEN as u64);
        // SAFETY: [p, p + max) is inside the direct map (above); the
        // loader wrote a NUL-terminated string at p.
        let len = unsafe { c_strlen(p as *const u8, max as usize) };
        // SAFETY: `len` bytes from p are mapped (as above) and readable.
        let src = unsafe { core::slice::from_raw_parts(p as *const u8, len) };
        cmdline_buf[..len].copy_from_slice(src);
        cmdline = match core::str::from_utf8(&cmdline_buf[..len]) {
            Ok(s) => s,
            Err(e) => {
                // Keep the valid prefix; the caller reports the rest.
                cmdline_bad_at = Some(e.valid_up_to());
                core::str::from_utf8(&cmdline_buf[..e.valid_up_to()]).unwrap_or("")
            }
        };
    }

    let mut n = 0;
    if si.version >= abi::pvh::START_VERSION_MEMMAP && si.memmap_paddr != 0 {
        n = (si.memmap_entries as usize).min(MAX_MEMMAP);
        let bytes = (n * core::mem::size_of::<MemmapEntry>()) as u64;
        match layout::phys_to_virt(PhysAddr(si.memmap_paddr), bytes) {
            Some(p) => {
                // SAFETY: the n entries are inside the direct map (checked);
                // the loader wrote them there. One rep movs.
                let src = unsafe { core::slice::from_raw_parts(p as *const MemmapEntry, n) };
                memmap_buf[..n].copy_from_slice(src);
            }
            None => n = 0,
        }
    }
    if n == 0 {
        panic!("PVH start info has no memory map (version {})", si.version);
    }

    let mut initrd = None;
    if si.nr_modules > 0 && si.modlist_paddr != 0 {
        let module: ModlistEntry = read_phys(si.modlist_paddr, "module list");
        if module.size > 0 {
            initrd = Some(Range::from_len(module.paddr, module.size));
        }
    }

    BootInfo {
        cmdline,
        memmap: &memmap_buf[..n],
        initrd,
        cmdline_bad_at,
    }
}

/// Length of the NUL-terminated string at `p`, at most `max`.
///
/// # Safety
///
/// `p..p + max` must be readable, or the string must end (with a NUL) before
/// the first unreadable byte.
unsafe fn c_strlen(p: *const u8, max: usize) -> usize {
    let mut len = 0;
    // SAFETY: by the contract, every byte up to and including the NUL (or
    // up to max) is readable.
    while len < max && unsafe { *p.add(len) } != 0 {
        len += 1;
    }
    len
}
