//! x86_64-specific parts of the VM: the guest memory layout, and the vCPU
//! state and boot structures the PVH boot protocol asks for.

pub mod cpuid;
pub mod layout;
pub mod pvh;
pub mod regs;
