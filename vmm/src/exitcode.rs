//! The exit statuses of `vmm` (documented in `--help` and README).
//!
//! A clean guest power-off exits with the guest's own status (0-255); the
//! codes below are what the VMM itself reports.

/// `--timeout` expired while the guest was running (as timeout(1)).
pub const TIMEOUT: i32 = 124;
/// The VMM could not start or run the guest: bad option, no usable
/// `/dev/kvm`, unusable kernel or initrd, a failing KVM call.
pub const HOST_ERROR: i32 = 125;
/// The guest crashed: kernel panic or unhandled exception, triple fault,
/// KVM internal error or failed VM entry.
pub const GUEST_CRASH: i32 = 126;
/// The user quit from the console escape (Ctrl-A x).
pub const USER_QUIT: i32 = 130;
