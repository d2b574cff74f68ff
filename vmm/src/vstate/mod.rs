//! Thin wrappers over KVM: the device, the VM, its memory and its vCPU.
//! Architecture details (what state a vCPU starts in) live in `arch`.

pub mod kvm;
pub mod memory;
pub mod vcpu;
pub mod vm;
