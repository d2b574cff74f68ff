//! Timer arithmetic: calibration against the PIT, tick rates, and the
//! `hz=` command-line value. All in integers (the kernel has no FPU use).

use abi::cmdline::{DEFAULT_HZ, MAX_HZ, MIN_HZ};

/// Input clock of the 8254 PIT, in Hz (the PC's 14.31818 MHz crystal / 12).
pub const PIT_HZ: u64 = 1_193_182;

/// `count * numerator / denominator`, rounded to nearest, in 128-bit
/// arithmetic so it cannot overflow; 0 when `denominator` is 0.
pub fn muldiv(count: u64, numerator: u64, denominator: u64) -> u64 {
    if denominator == 0 {
        return 0;
    }
    let d = u128::from(denominator);
    let q = (u128::from(count) * u128::from(numerator) + d / 2) / d;
    u64::try_from(q).unwrap_or(u64::MAX)
}

/// Events per second, given `count` events seen during `pit_ticks` periods
/// of the PIT clock.
pub fn per_second(count: u64, pit_ticks: u64) -> u64 {
    muldiv(count, PIT_HZ, pit_ticks)
}

/// Microseconds in `tsc_delta` TSC cycles.
pub fn tsc_to_us(tsc_delta: u64, tsc_khz: u64) -> u64 {
    muldiv(tsc_delta, 1000, tsc_khz)
}

/// Milliseconds in `tsc_delta` TSC cycles.
pub fn tsc_to_ms(tsc_delta: u64, tsc_khz: u64) -> u64 {
    muldiv(tsc_delta, 1, tsc_khz)
}

/// The rate (Hz, rounded) of `ticks` ticks seen over `tsc_delta` cycles.
pub fn measured_hz(ticks: u64, tsc_delta: u64, tsc_khz: u64) -> u64 {
    muldiv(ticks, tsc_khz.saturating_mul(1000), tsc_delta)
}

/// Timer ticks to wait for `ms` milliseconds at `hz` (rounded up, so a sleep
/// is never shorter than asked, give or take the current tick).
pub fn ticks_for_ms(ms: u64, hz: u32) -> u64 {
    let t = u128::from(ms) * u128::from(hz);
    u64::try_from(t.div_ceil(1000)).unwrap_or(u64::MAX)
}

/// The LAPIC timer's initial count for `hz` interrupts per second, given it
/// counts `counts_per_second`; at least 1.
pub fn initial_count(counts_per_second: u64, hz: u32) -> u32 {
    let c = muldiv(counts_per_second, 1, u64::from(hz.max(1)));
    u32::try_from(c).unwrap_or(u32::MAX).max(1)
}

/// The timer rate the command line asks for: `Ok(rate)`, or `Err(default)`
/// when the value is malformed or out of `MIN_HZ..=MAX_HZ` (the caller warns).
pub fn choose_hz(value: Result<Option<u32>, &str>) -> Result<u32, u32> {
    match value {
        Ok(None) => Ok(DEFAULT_HZ),
        Ok(Some(hz)) if (MIN_HZ..=MAX_HZ).contains(&hz) => Ok(hz),
        _ => Err(DEFAULT_HZ),
    }
}

/// A duration in microseconds, shown as milliseconds with one decimal
/// (`1.2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Millis(pub u64);

impl core::fmt::Display for Millis {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let tenths = (self.0 + 50) / 100;
        write!(f, "{}.{}", tenths / 10, tenths % 10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_math() {
        // 10 ms of PIT ticks, 26 million TSC cycles: 2.6 GHz.
        assert_eq!(per_second(26_000_000, 11_932), 2_599_960_778);
        assert_eq!(per_second(5, 0), 0);
        assert_eq!(initial_count(62_500_000, 1000), 62_500);
        assert_eq!(initial_count(100, 1000), 1);
        assert_eq!(initial_count(u64::MAX, 10), u32::MAX);
    }

    #[test]
    fn rates_and_durations() {
        let khz = 2_596_124;
        assert_eq!(tsc_to_ms(khz * 1500, khz), 1500);
        assert_eq!(tsc_to_us(khz / 2, khz), 500);
        assert_eq!(measured_hz(998, khz * 1000, khz), 998);
        assert_eq!(measured_hz(10, 0, khz), 0);
        assert_eq!(ticks_for_ms(500, 1000), 500);
        assert_eq!(ticks_for_ms(5, 100), 1);
        assert_eq!(ticks_for_ms(0, 100), 0);
        assert_eq!(Millis(1234).to_string(), "1.2");
        assert_eq!(Millis(999_960).to_string(), "1000.0");
    }

    #[test]
    fn hz_choice() {
        assert_eq!(choose_hz(Ok(None)), Ok(DEFAULT_HZ));
        assert_eq!(choose_hz(Ok(Some(100))), Ok(100));
        assert_eq!(choose_hz(Ok(Some(MIN_HZ - 1))), Err(DEFAULT_HZ));
        assert_eq!(choose_hz(Ok(Some(MAX_HZ + 1))), Err(DEFAULT_HZ));
        assert_eq!(choose_hz(Err("fast")), Err(DEFAULT_HZ));
    }
}
