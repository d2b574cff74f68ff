//! The process table as `ps` prints it: the layout is `abi`'s, shared with
//! the VMM's view of the same table.

use abi::proc::{PS_HEADER, Pid, ProcInfo, PsRow, StateName};
use alloc::format;
use alloc::string::String;

/// The header line (without newline); rows line up under it.
pub fn header() -> String {
    PS_HEADER.into()
}

/// The STATE column: `running`, `sleeping(io)`, `stopped`...
pub fn state_name(p: &ProcInfo) -> String {
    format!("{}", StateName(p))
}

/// One line of the table (without newline); `fg` is the console's
/// foreground group, whose members' STATE ends in `+`.
pub fn format_row(p: &ProcInfo, fg: Pid) -> String {
    format!("{}", PsRow(p, fg))
}
