//! The local APIC in xAPIC mode: memory-mapped registers at the base in
//! IA32_APIC_BASE (normally 0xfee00000), reached through the uncached part
//! of the direct map (SDM Vol. 3A, 11.4 "Local APIC").
//!
//! Used for: accepting interrupts (software enable through the spurious
//! vector register, SDM 11.9), end-of-interrupt (11.8.5), and the timer
//! (11.5.4): divide by 16, calibrated against the PIT, then periodic at the
//! rate the command line asks for.

use core::sync::atomic::{AtomicU64, Ordering};

use super::layout::{self, PhysAddr};
use super::{cpu, pit, vectors};
use logic::time::units;

const IA32_APIC_BASE: u32 = 0x1B;
/// IA32_APIC_BASE: the APIC is enabled (hardware enable).
const APIC_BASE_ENABLE: u64 = 1 << 11;
const APIC_BASE_ADDR: u64 = 0xF_FFFF_F000;

// Register offsets (SDM Vol. 3A, Table 11-1).
const REG_ID: usize = 0x020;
const REG_TPR: usize = 0x080;
const REG_EOI: usize = 0x0B0;
const REG_SVR: usize = 0x0F0;
const REG_LVT_TIMER: usize = 0x320;
const REG_LVT_ERROR: usize = 0x370;
const REG_TIMER_INITIAL: usize = 0x380;
const REG_TIMER_CURRENT: usize = 0x390;
const REG_TIMER_DIVIDE: usize = 0x3E0;

/// SVR bit 8: APIC software enable.
const SVR_ENABLE: u32 = 1 << 8;
/// LVT bit 16: masked.
const LVT_MASKED: u32 = 1 << 16;
/// LVT timer bits 17..19 = 01: periodic.
const LVT_TIMER_PERIODIC: u32 = 1 << 17;
/// Divide configuration 0b0011: divide the timer clock by 16.
const DIVIDE_BY_16: u32 = 0b0011;

/// Virtual address of the register page.
static BASE: AtomicU64 = AtomicU64::new(0);

/// Virtual address of the EOI register, read by the timer stub.
pub static EOI_ADDRESS: AtomicU64 = AtomicU64::new(0);

/// Timer interrupts since the timer started; incremented by the timer stub.
pub static TICKS: AtomicU64 = AtomicU64::new(0);

fn read(reg: usize) -> u32 {
    let ptr = (BASE.load(Ordering::Relaxed) as usize + reg) as *const u32;
    // SAFETY: after init, BASE is the direct-map address of the LAPIC's
    // register page (uncached) and `reg` one of its 32-bit registers.
    unsafe { ptr.read_volatile() }
}

fn write(reg: usize, value: u32) {
    let ptr = (BASE.load(Ordering::Relaxed) as usize + reg) as *mut u32;
    // SAFETY: as for read.
    unsafe { ptr.write_volatile(value) }
}

/// Finds and software-enables the LAPIC, with the timer masked.
pub fn init() {
    // SAFETY: IA32_APIC_BASE exists on every x86_64 CPU with an APIC, which
    // the PVH machines we boot on all have.
    let msr = unsafe { cpu::rdmsr(IA32_APIC_BASE) };
    if msr & APIC_BASE_ENABLE == 0 {
        panic!("the local APIC is disabled in IA32_APIC_BASE ({msr:#x})");
    }
    let phys = PhysAddr(msr & APIC_BASE_ADDR);
    let virt = layout::phys_to_virt(phys, 4096)
        .unwrap_or_else(|| panic!("LAPIC at {:#x} is outside the direct map", phys.0));
    BASE.store(virt, Ordering::Relaxed);
    EOI_ADDRESS.store(virt + REG_EOI as u64, Ordering::Relaxed);
    write(REG_TPR, 0);
    write(REG_LVT_TIMER, LVT_MASKED | u32::from(vectors::TIMER_VECTOR));
    write(REG_LVT_ERROR, LVT_MASKED);
    write(REG_SVR, SVR_ENABLE | u32::from(vectors::SPURIOUS_VECTOR));
}

/// This CPU's APIC ID.
pub fn id() -> u8 {
    (read(REG_ID) >> 24) as u8
}

/// Signals the end of the current interrupt.
pub fn eoi() {
    write(REG_EOI, 0);
}

/// Where the timer frequencies came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The hypervisor's timing CPUID leaf 0x40000010.
    Cpuid,
    /// Measured against the PIT.
    Pit,
    /// Neither was available: common KVM/QEMU values.
    Guess,
}

impl Source {
    /// A word for the log.
    pub fn name(self) -> &'static str {
        match self {
            Source::Cpuid => "CPUID 0x40000010",
            Source::Pit => "PIT calibration",
            Source::Guess => "a guess",
        }
    }
}

/// The TSC and LAPIC timer frequencies.
#[derive(Debug, Clone, Copy)]
pub struct Calibration {
    /// TSC frequency, kHz.
    pub tsc_khz: u64,
    /// LAPIC timer counts per second at divide-by-16.
    pub lapic_hz: u64,
    /// Where the values came from.
    pub source: Source,
}

/// PIT periods to calibrate over: 10 ms.
const CALIBRATION_PIT_TICKS: u64 = units::PIT_HZ / 100;
/// Give up on the PIT after this many reads (it may not exist).
const CALIBRATION_MAX_READS: u32 = 100_000;
/// KVM's and QEMU's LAPIC timer input clock (1 GHz).
const KVM_APIC_BUS_HZ: u64 = 1_000_000_000;

/// Finds the TSC and LAPIC timer frequencies: from the hypervisor's timing
/// leaf when it has one (free), else by measuring against PIT channel 0
/// for 10 ms. Interrupts off.
pub fn calibrate() -> Calibration {
    if let Some((tsc_khz, bus_khz)) = hypervisor_timing() {
        return Calibration {
            tsc_khz,
            lapic_hz: bus_khz * 1000 / 16,
            source: Source::Cpuid,
        };
    }
    calibrate_with_pit().unwrap_or(Calibration {
        tsc_khz: 1_000_000,
        lapic_hz: KVM_APIC_BUS_HZ / 16,
        source: Source::Guess,
    })
}

/// One reading of the three clocks.
#[derive(Clone, Copy)]
struct Sample {
    pit: u16,
    tsc: u64,
    apic: u32,
    /// TSC cycles the reading took: a long one was interrupted (the host
    /// preempted the vCPU) and is imprecise.
    width: u64,
}

/// Reads the PIT between two TSC and LAPIC readings; the clocks are taken
/// at the midpoint.
fn sample() -> Sample {
    let (tsc0, apic0) = (cpu::rdtsc(), read(REG_TIMER_CURRENT));
    let pit = pit::read_count();
    let (apic1, tsc1) = (read(REG_TIMER_CURRENT), cpu::rdtsc());
    Sample {
        pit,
        tsc: tsc0 + (tsc1 - tsc0) / 2,
        apic: apic0 - (apic0 - apic1) / 2,
        width: tsc1 - tsc0,
    }
}

/// The narrowest of three samples.
fn best_sample() -> Sample {
    let (a, b, c) = (sample(), sample(), sample());
    let ab = if a.width <= b.width { a } else { b };
    if ab.width <= c.width { ab } else { c }
}

/// Measures against PIT channel 0 for 10 ms, polling its count (no PIT
/// interrupt, no port 0x61); `None` if the PIT does not count. Both ends
/// are the narrowest of three readings, so a vCPU preemption in the middle
/// of one does not skew the result.
fn calibrate_with_pit() -> Option<Calibration> {
    write(REG_TIMER_DIVIDE, DIVIDE_BY_16);
    write(REG_LVT_TIMER, LVT_MASKED | u32::from(vectors::TIMER_VECTOR));
    write(REG_TIMER_INITIAL, u32::MAX);
    pit::start_countdown();
    let start = best_sample();
    let mut reads = 0;
    loop {
        let elapsed = start.pit.wrapping_sub(pit::read_count());
        reads += 1;
        if u64::from(elapsed) >= CALIBRATION_PIT_TICKS {
            break;
        }
        if reads >= CALIBRATION_MAX_READS {
            write(REG_TIMER_INITIAL, 0);
            return None;
        }
    }
    let end = best_sample();
    write(REG_TIMER_INITIAL, 0);
    let elapsed = u64::from(start.pit.wrapping_sub(end.pit));
    Some(Calibration {
        tsc_khz: units::per_second(end.tsc - start.tsc, elapsed) / 1000,
        lapic_hz: units::per_second(u64::from(start.apic.wrapping_sub(end.apic)), elapsed),
        source: Source::Pit,
    })
}

/// `(TSC kHz, LAPIC bus kHz)` from the hypervisor timing leaf 0x40000010
/// (defined by VMware, offered by QEMU with `-cpu ...,+invtsc` and by VMMs
/// that fill it from KVM_GET_TSC_KHZ), if present and non-zero.
fn hypervisor_timing() -> Option<(u64, u64)> {
    // Leaf 1 ECX bit 31: running under a hypervisor (else 0x4000_0000 is
    // not a hypervisor leaf).
    if core::arch::x86_64::__cpuid(1).ecx & (1 << 31) == 0 {
        return None;
    }
    if core::arch::x86_64::__cpuid(0x4000_0000).eax < 0x4000_0010 {
        return None;
    }
    let leaf = core::arch::x86_64::__cpuid(0x4000_0010);
    (leaf.eax != 0 && leaf.ebx != 0).then_some((u64::from(leaf.eax), u64::from(leaf.ebx)))
}

/// Starts the timer: periodic, `hz` interrupts per second. Returns the
/// initial count used.
pub fn start_periodic(cal: &Calibration, hz: u32) -> u32 {
    let count = units::initial_count(cal.lapic_hz, hz);
    TICKS.store(0, Ordering::Relaxed);
    write(REG_TIMER_DIVIDE, DIVIDE_BY_16);
    write(
        REG_LVT_TIMER,
        LVT_TIMER_PERIODIC | u32::from(vectors::TIMER_VECTOR),
    );
    write(REG_TIMER_INITIAL, count);
    count
}

/// Timer interrupts so far.
pub fn ticks() -> u64 {
    TICKS.load(Ordering::Relaxed)
}
