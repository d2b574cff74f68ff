//! Privileged instructions: port I/O, control registers, MSRs, the TSC,
//! the interrupt flag, `hlt`, and string instructions for bulk memory work.
//!
//! Ring 0 may be emulated one instruction at a time (README, "The
//! platform"), so bulk work uses `rep` string instructions: one
//! instruction, however long.

use core::arch::asm;

/// Writes a byte to an I/O port.
///
/// # Safety
///
/// The write must not break the device's or the kernel's invariants (e.g.
/// reprogram a device another module owns).
pub unsafe fn outb(port: u16, value: u8) {
    // SAFETY: port I/O has no memory effects; the caller vouches for the
    // device-level effect.
    unsafe {
        asm!("out dx, al", in("dx") port, in("al") value, options(nomem, nostack, preserves_flags))
    }
}

/// Reads a byte from an I/O port.
///
/// # Safety
///
/// Reads can have side effects (e.g. pop a UART's receive FIFO); the caller
/// must own the device.
pub unsafe fn inb(port: u16) -> u8 {
    let value: u8;
    // SAFETY: as for outb.
    unsafe {
        asm!("in al, dx", in("dx") port, out("al") value, options(nomem, nostack, preserves_flags))
    }
    value
}

/// Reads 16 bits from an I/O port.
///
/// # Safety
///
/// As for [`inb`].
pub unsafe fn inw(port: u16) -> u16 {
    let value: u16;
    // SAFETY: as for outb.
    unsafe {
        asm!("in ax, dx", in("dx") port, out("ax") value, options(nomem, nostack, preserves_flags))
    }
    value
}

/// Reads 32 bits from an I/O port.
///
/// # Safety
///
/// As for [`inb`].
pub unsafe fn inl(port: u16) -> u32 {
    let value: u32;
    // SAFETY: as for outb.
    unsafe {
        asm!("in eax, dx", in("dx") port, out("eax") value, options(nomem, nostack, preserves_flags))
    }
    value
}

/// Writes a 16-bit value to an I/O port.
///
/// # Safety
///
/// As for [`outb`].
pub unsafe fn outw(port: u16, value: u16) {
    // SAFETY: as for outb.
    unsafe {
        asm!("out dx, ax", in("dx") port, in("ax") value, options(nomem, nostack, preserves_flags))
    }
}

/// Writes a 32-bit value to an I/O port.
///
/// # Safety
///
/// As for [`outb`].
pub unsafe fn outl(port: u16, value: u32) {
    // SAFETY: as for outb.
    unsafe {
        asm!("out dx, eax", in("dx") port, in("eax") value, options(nomem, nostack, preserves_flags))
    }
}

/// Writes `bytes` to one I/O port with a single `rep outsb`: one VM exit for
/// the whole buffer instead of one per byte.
///
/// # Safety
///
/// As for [`outb`].
pub unsafe fn outsb(port: u16, bytes: &[u8]) {
    // SAFETY: rep outsb reads bytes.len() bytes from bytes.as_ptr() (a valid
    // slice; DF is clear per the ABI) and writes them to the port.
    unsafe {
        asm!(
            "rep outsb",
            in("dx") port,
            inout("rsi") bytes.as_ptr() => _,
            inout("rcx") bytes.len() => _,
            options(nostack, preserves_flags, readonly)
        )
    }
}

/// Sets `len` bytes at `dst` to zero with `rep stosq`/`rep stosb`.
///
/// # Safety
///
/// `dst..dst + len` must be writable and not aliased by any reference.
pub unsafe fn zero_bytes(dst: *mut u8, len: usize) {
    // SAFETY: the caller guarantees the range is writable; DF is clear.
    unsafe {
        asm!(
            "rep stosq",
            "mov rcx, {tail}",
            "rep stosb",
            tail = in(reg) len & 7,
            inout("rdi") dst => _,
            inout("rcx") len / 8 => _,
            in("rax") 0u64,
            options(nostack, preserves_flags)
        )
    }
}

/// Copies `n` 8-byte words with one `rep movsq`.
///
/// # Safety
///
/// Both ranges must be valid for `n * 8` bytes and not overlap.
pub unsafe fn copy_qwords(dst: *mut u64, src: *const u64, n: usize) {
    // SAFETY: per the contract; DF is clear.
    unsafe {
        asm!("rep movsq", inout("rdi") dst => _, inout("rsi") src => _, inout("rcx") n => _, options(nostack, preserves_flags))
    }
}

/// Copies `n` bytes: `rep movsq` for the 8-byte words, `rep movsb` for the
/// rest. A string instruction costs per element where ring 0 is emulated
/// (kmon's `bench` measures both widths), so bytes are only the tail.
///
/// # Safety
///
/// Both ranges must be valid for `n` bytes and not overlap.
pub unsafe fn copy_bytes(dst: *mut u8, src: *const u8, n: usize) {
    // SAFETY: per the contract; DF is clear.
    unsafe {
        asm!(
            "rep movsq",
            "mov rcx, {tail}",
            "rep movsb",
            tail = in(reg) n & 7,
            inout("rdi") dst => _,
            inout("rsi") src => _,
            inout("rcx") n / 8 => _,
            options(nostack, preserves_flags)
        )
    }
}

/// Reads a model-specific register.
///
/// # Safety
///
/// `msr` must exist on this CPU (else #GP).
pub unsafe fn rdmsr(msr: u32) -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: the caller guarantees the MSR exists.
    unsafe {
        asm!("rdmsr", in("ecx") msr, out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags))
    }
    (u64::from(hi) << 32) | u64::from(lo)
}

/// Writes a model-specific register.
///
/// # Safety
///
/// `msr` must exist and accept `value` (else #GP), and changing it must not
/// break what the kernel relies on.
pub unsafe fn wrmsr(msr: u32, value: u64) {
    // SAFETY: per the contract.
    unsafe {
        asm!("wrmsr", in("ecx") msr, in("eax") value as u32, in("edx") (value >> 32) as u32, options(nomem, nostack, preserves_flags))
    }
}

/// IA32_FS_BASE: the base of FS (SDM Vol. 3A, 3.4.4.1; Vol. 4, Table 2-2).
pub const MSR_FS_BASE: u32 = 0xC000_0100;
/// IA32_GS_BASE: the base of GS. The kernel never uses FS or GS (no
/// `swapgs`), so both hold the running process's values.
pub const MSR_GS_BASE: u32 = 0xC000_0101;

/// The user FS and GS bases now in the CPU.
pub fn user_bases() -> (u64, u64) {
    // SAFETY: both MSRs exist on every x86_64 CPU (long mode requires them).
    unsafe { (rdmsr(MSR_FS_BASE), rdmsr(MSR_GS_BASE)) }
}

/// Loads user FS and GS bases (a process's own, at a switch or exec).
pub fn set_user_bases(fs: u64, gs: u64) {
    // SAFETY: as above; the kernel does not use FS or GS, and a
    // non-canonical value cannot come from user_bases (the CPU refuses to
    // hold one), nor from a zeroed PCB.
    unsafe {
        wrmsr(MSR_FS_BASE, fs);
        wrmsr(MSR_GS_BASE, gs);
    }
}

/// Reads the time-stamp counter.
pub fn rdtsc() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: rdtsc only reads the counter (CR4.TSD does not apply in ring 0).
    unsafe { asm!("rdtsc", out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags)) }
    (u64::from(hi) << 32) | u64::from(lo)
}

/// Reads CR2, the address of the last page fault.
pub fn read_cr2() -> u64 {
    let value;
    // SAFETY: reading CR2 has no side effects.
    unsafe { asm!("mov {}, cr2", out(reg) value, options(nomem, nostack, preserves_flags)) }
    value
}

/// Reads CR3, the physical address of the current PML4.
pub fn read_cr3() -> u64 {
    let value;
    // SAFETY: reading CR3 has no side effects.
    unsafe { asm!("mov {}, cr3", out(reg) value, options(nomem, nostack, preserves_flags)) }
    value
}

/// Whether RFLAGS.IF is set.
pub fn interrupts_enabled() -> bool {
    let flags: u64;
    // SAFETY: pushfq/pop only read RFLAGS (using the stack, which is fine).
    unsafe { asm!("pushfq", "pop {}", out(reg) flags, options(nomem, preserves_flags)) }
    flags & (1 << 9) != 0
}

/// Disables interrupts and returns whether they were on.
pub fn interrupts_save_disable() -> bool {
    let was = interrupts_enabled();
    disable_interrupts();
    was
}

/// Re-enables interrupts if `was_on` (the value [`interrupts_save_disable`]
/// returned).
pub fn interrupts_restore(was_on: bool) {
    if was_on {
        // SAFETY: interrupts were on before, so the IDT was ready then.
        unsafe { enable_interrupts() };
    }
}

/// `cli`.
pub fn disable_interrupts() {
    // SAFETY: masking interrupts cannot break memory safety. Not `nomem`:
    // it orders memory accesses like a compiler barrier.
    unsafe { asm!("cli", options(nostack)) }
}

/// `sti`.
///
/// # Safety
///
/// The IDT, and every device that may interrupt, must be ready.
pub unsafe fn enable_interrupts() {
    // SAFETY: the caller guarantees handlers are in place.
    unsafe { asm!("sti", options(nostack)) }
}

/// Sleeps until `ready()` holds, halting between interrupts. `ready` is
/// checked with interrupts off and then `sti; hlt` runs as one step (`sti`
/// delays interrupts by one instruction), so a wake-up between the check
/// and the halt is never missed. Interrupts are on when it returns.
///
/// Must only be called once interrupts are set up.
pub fn wait_until(mut ready: impl FnMut() -> bool) {
    loop {
        disable_interrupts();
        if ready() {
            // SAFETY: the caller runs after interrupt setup (see above).
            unsafe { enable_interrupts() };
            return;
        }
        // SAFETY: as above; hlt resumes after the next interrupt.
        unsafe { asm!("sti", "hlt", options(nostack)) }
    }
}

/// Stops the CPU for good: interrupts off, `hlt` forever.
pub fn halt_forever() -> ! {
    loop {
        // SAFETY: cli; hlt only stops this CPU (an NMI could wake it; the
        // loop halts again).
        unsafe { asm!("cli", "hlt", options(nomem, nostack)) }
    }
}
