//! The process table as `ps` prints it.

use abi::proc::{ProcInfo, ProcState, SleepReason};
use alloc::format;
use alloc::string::String;

/// The header line (without newline); rows line up under it.
pub fn header() -> String {
    row(
        "PID", "PPID", "STATE", "NAME", "TICKS", "SWITCHES", "FAULTS", "MEM",
    )
}

#[allow(clippy::too_many_arguments)]
fn row(
    pid: &str,
    ppid: &str,
    state: &str,
    name: &str,
    ticks: &str,
    sw: &str,
    faults: &str,
    mem: &str,
) -> String {
    format!("{pid:>5} {ppid:>5} {state:<15} {name:<16} {ticks:>5} {sw:>9} {faults:>7} {mem:>6}")
}

/// The STATE column: `running`, `sleeping(io)`, `stopped`...
pub fn state_name(p: &ProcInfo) -> String {
    match p.state() {
        Some(ProcState::Sleeping) => match SleepReason::from_raw(p.reason) {
            Some(SleepReason::None) | None => "sleeping".into(),
            Some(r) => format!("sleeping({})", r.name()),
        },
        Some(s) => s.name().into(),
        None => format!("?{}", p.state),
    }
}

/// One line of the table (without newline).
pub fn format_row(p: &ProcInfo) -> String {
    row(
        &format!("{}", p.pid),
        &format!("{}", p.ppid),
        &state_name(p),
        p.name(),
        &format!("{}", p.ticks),
        &format!("{}/{}", p.voluntary_switches, p.involuntary_switches),
        &format!("{}", p.page_faults),
        &format!("{}K", p.mem_bytes.div_ceil(1024)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_exact() {
        assert_eq!(
            header(),
            "  PID  PPID STATE           NAME             TICKS  SWITCHES  FAULTS    MEM"
        );
    }

    #[test]
    fn rows_line_up() {
        let mut p = ProcInfo::EMPTY;
        p.pid = 7;
        p.ppid = 1;
        p.state = ProcState::Sleeping as u32;
        p.reason = SleepReason::Sleep as u32;
        p.set_name("sleep");
        p.ticks = 12;
        p.voluntary_switches = 3;
        p.involuntary_switches = 1;
        p.page_faults = 9;
        p.mem_bytes = 48 * 1024;
        let r = format_row(&p);
        assert_eq!(
            r,
            "    7     1 sleeping(sleep) sleep               12       3/1       9    48K"
        );
        assert_eq!(r.len(), header().len());
        p.state = ProcState::Stopped as u32;
        assert_eq!(state_name(&p), "stopped");
        p.state = 42;
        assert_eq!(state_name(&p), "?42");
    }
}
