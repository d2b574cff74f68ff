//! Kernel time: timer ticks (the LAPIC timer's count) and the TSC, whose
//! rates calibration measured.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::arch::x86_64::{cpu, lapic};
use logic::time::units;

static HZ: AtomicU32 = AtomicU32::new(0);
static TSC_KHZ: AtomicU64 = AtomicU64::new(0);
/// TSC when the periodic timer started.
static START_TSC: AtomicU64 = AtomicU64::new(0);

/// Starts the periodic timer at `hz` (interrupts off). Returns the LAPIC
/// initial count.
pub fn start(cal: &lapic::Calibration, hz: u32) -> u32 {
    HZ.store(hz, Ordering::Relaxed);
    TSC_KHZ.store(cal.tsc_khz, Ordering::Relaxed);
    let count = lapic::start_periodic(cal, hz);
    START_TSC.store(cpu::rdtsc(), Ordering::Relaxed);
    count
}

/// The requested tick rate.
pub fn hz() -> u32 {
    HZ.load(Ordering::Relaxed)
}

/// TSC kHz (from calibration).
pub fn tsc_khz() -> u64 {
    TSC_KHZ.load(Ordering::Relaxed)
}

/// Ticks since the timer started.
pub fn ticks() -> u64 {
    lapic::ticks()
}

/// TSC cycles since the timer started.
pub fn tsc_since_start() -> u64 {
    cpu::rdtsc().wrapping_sub(START_TSC.load(Ordering::Relaxed))
}

/// Sleeps (halted) until `ms` milliseconds of ticks have passed.
pub fn sleep_ms(ms: u64) {
    let until = ticks().saturating_add(units::ticks_for_ms(ms, hz()));
    cpu::wait_until(|| ticks() >= until);
}
