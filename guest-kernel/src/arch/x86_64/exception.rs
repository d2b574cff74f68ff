//! The 32 exception vectors the CPU defines (Intel SDM Vol. 3A, 6.3.1
//! "External Interrupts" and Table 6-1 "Exceptions and Interrupts"), and the
//! page-fault error code (SDM Vol. 3A, 4.7 "Page-Fault Exceptions").

/// Number of vectors reserved for exceptions.
pub const EXCEPTIONS: usize = 32;

/// Vector of #DE.
pub const DIVIDE_ERROR: u8 = 0;
/// Vector of NMI.
pub const NMI: u8 = 2;
/// Vector of #BP.
pub const BREAKPOINT: u8 = 3;
/// Vector of #UD.
pub const INVALID_OPCODE: u8 = 6;
/// Vector of #DF.
pub const DOUBLE_FAULT: u8 = 8;
/// Vector of #SS.
pub const STACK_SEGMENT_FAULT: u8 = 12;
/// Vector of #GP.
pub const GENERAL_PROTECTION: u8 = 13;
/// Vector of #PF.
pub const PAGE_FAULT: u8 = 14;
/// Vector of #MC.
pub const MACHINE_CHECK: u8 = 18;

/// `(description, mnemonic)` of each exception vector.
const NAMES: [(&str, &str); EXCEPTIONS] = [
    ("divide error", "#DE"),
    ("debug exception", "#DB"),
    ("non-maskable interrupt", "NMI"),
    ("breakpoint", "#BP"),
    ("overflow", "#OF"),
    ("bound range exceeded", "#BR"),
    ("invalid opcode", "#UD"),
    ("device not available", "#NM"),
    ("double fault", "#DF"),
    ("coprocessor segment overrun", "#CSO"),
    ("invalid TSS", "#TS"),
    ("segment not present", "#NP"),
    ("stack-segment fault", "#SS"),
    ("general protection fault", "#GP"),
    ("page fault", "#PF"),
    ("reserved exception", "#15"),
    ("x87 floating-point error", "#MF"),
    ("alignment check", "#AC"),
    ("machine check", "#MC"),
    ("SIMD floating-point exception", "#XM"),
    ("virtualization exception", "#VE"),
    ("control protection exception", "#CP"),
    ("reserved exception", "#22"),
    ("reserved exception", "#23"),
    ("reserved exception", "#24"),
    ("reserved exception", "#25"),
    ("reserved exception", "#26"),
    ("reserved exception", "#27"),
    ("hypervisor injection exception", "#HV"),
    ("VMM communication exception", "#VC"),
    ("security exception", "#SX"),
    ("reserved exception", "#31"),
];

/// `(description, mnemonic)` of an exception vector, e.g.
/// `("page fault", "#PF")`; `None` above 31.
pub fn name(vector: u64) -> Option<(&'static str, &'static str)> {
    NAMES.get(usize::try_from(vector).ok()?).copied()
}

/// Whether the CPU pushes an error code for this exception (SDM Vol. 3A,
/// 6.13 "Error Code" and Table 6-1).
pub const fn has_error_code(vector: u8) -> bool {
    matches!(vector, 8 | 10..=14 | 17 | 21 | 29 | 30)
}

/// The exceptions with an error code as a bit mask (bit `v` for vector
/// `v`), for the entry stubs, which push a zero in the others' place.
pub const ERROR_CODE_MASK: u32 = {
    let mut mask = 0;
    let mut v = 0;
    while v < EXCEPTIONS as u8 {
        if has_error_code(v) {
            mask |= 1 << v;
        }
        v += 1;
    }
    mask
};

/// A page-fault error code, displayed as words, e.g. `write to a non-present
/// page in kernel mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageFaultError(pub u64);

impl PageFaultError {
    /// P: the page was present (a protection violation).
    pub const PRESENT: u64 = 1 << 0;
    /// W/R: the access was a write.
    pub const WRITE: u64 = 1 << 1;
    /// U/S: the access came from user mode.
    pub const USER: u64 = 1 << 2;
    /// RSVD: a reserved bit was set in a paging structure.
    pub const RESERVED: u64 = 1 << 3;
    /// I/D: the access was an instruction fetch.
    pub const FETCH: u64 = 1 << 4;
}

impl core::fmt::Display for PageFaultError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let e = self.0;
        let access = if e & Self::FETCH != 0 {
            "instruction fetch from"
        } else if e & Self::WRITE != 0 {
            "write to"
        } else {
            "read from"
        };
        let page = if e & Self::RESERVED != 0 {
            "a page with reserved bits set"
        } else if e & Self::PRESENT != 0 {
            "a protected page"
        } else {
            "a non-present page"
        };
        let mode = if e & Self::USER != 0 {
            "user"
        } else {
            "kernel"
        };
        write!(f, "{access} {page} in {mode} mode")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_error_codes() {
        assert_eq!(name(14), Some(("page fault", "#PF")));
        assert_eq!(name(8), Some(("double fault", "#DF")));
        assert_eq!(name(32), None);
        let with: Vec<u8> = (0..32).filter(|&v| has_error_code(v)).collect();
        assert_eq!(with, [8, 10, 11, 12, 13, 14, 17, 21, 29, 30]);
        let from_mask: Vec<u8> = (0..32).filter(|v| ERROR_CODE_MASK >> v & 1 == 1).collect();
        assert_eq!(from_mask, with);
    }

    #[test]
    fn page_fault_words() {
        assert_eq!(
            PageFaultError(2).to_string(),
            "write to a non-present page in kernel mode"
        );
        assert_eq!(
            PageFaultError(0x15).to_string(),
            "instruction fetch from a protected page in user mode"
        );
    }
}
