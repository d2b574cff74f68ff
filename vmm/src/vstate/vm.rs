//! The VM: guest RAM registered, an in-kernel irqchip and PIT created,
//! and the irqfds that let devices raise interrupts without a vCPU exit.

use kvm_bindings::{KVM_PIT_SPEAKER_DUMMY, kvm_pit_config, kvm_userspace_memory_region};
use kvm_ioctls::{Kvm, VmFd};
use vm_memory::{
    Address, GuestMemoryBackend, GuestMemoryMmap, GuestMemoryRegion, MemoryRegionAddress,
};
use vmm_sys_util::eventfd::EventFd;

use crate::arch::x86_64::layout;

/// A failing KVM call while creating the VM, named for the user.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {source}")]
pub struct VmError {
    what: &'static str,
    source: kvm_ioctls::Error,
}

fn ctx<T>(what: &'static str, r: Result<T, kvm_ioctls::Error>) -> Result<T, VmError> {
    r.map_err(|source| VmError { what, source })
}

/// Creates the VM, maps guest RAM into it, and creates its in-kernel
/// interrupt controllers and PIT.
pub fn create(kvm: &Kvm, mem: &GuestMemoryMmap) -> Result<VmFd, VmError> {
    let vm = ctx("KVM_CREATE_VM", kvm.create_vm())?;
    // Guest RAM first, as Firecracker does: on some KVMs registering it
    // after the irqchip is much slower (README, after Figures).
    for (slot, region) in GuestMemoryBackend::iter(mem).enumerate() {
        let region_desc = kvm_userspace_memory_region {
            slot: slot as u32,
            guest_phys_addr: region.start_addr().raw_value(),
            memory_size: region.len(),
            userspace_addr: region
                .get_host_address(MemoryRegionAddress(0))
                .map_err(|_| VmError {
                    what: "guest memory",
                    source: kvm_ioctls::Error::new(libc::EFAULT),
                })? as u64,
            flags: 0,
        };
        // SAFETY: the host range is a live mapping owned by `mem`, which the
        // caller keeps alive as long as the VM runs; slots do not overlap.
        ctx("KVM_SET_USER_MEMORY_REGION", unsafe {
            vm.set_user_memory_region(region_desc)
        })?;
    }
    ctx(
        "KVM_SET_TSS_ADDR",
        vm.set_tss_address(layout::KVM_TSS as usize),
    )?;
    ctx("KVM_CREATE_IRQCHIP", vm.create_irq_chip())?;
    // A PIT whose speaker port (0x61) reads as a dummy, as QEMU and
    // Firecracker configure it.
    let pit = kvm_pit_config {
        flags: KVM_PIT_SPEAKER_DUMMY,
        ..Default::default()
    };
    ctx("KVM_CREATE_PIT2", vm.create_pit2(pit))?;
    Ok(vm)
}

/// An eventfd that raises interrupt line `gsi` when written.
pub fn irq_line(vm: &VmFd, gsi: u32) -> Result<EventFd, VmError> {
    let evt = EventFd::new(libc::EFD_NONBLOCK).map_err(|e| VmError {
        what: "eventfd",
        source: kvm_ioctls::Error::new(e.raw_os_error().unwrap_or(libc::EIO)),
    })?;
    ctx("KVM_IRQFD", vm.register_irqfd(&evt, gsi))?;
    Ok(evt)
}
