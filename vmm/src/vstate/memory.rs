//! Guest RAM: one anonymous mapping from guest-physical 0, registered with
//! KVM as slot 0.

use vm_memory::{GuestAddress, GuestMemoryMmap};

/// Maps `size` bytes of guest RAM at guest-physical 0.
pub fn create(size: u64) -> Result<GuestMemoryMmap, vm_memory::mmap::FromRangesError> {
    GuestMemoryMmap::from_ranges(&[(GuestAddress(0), size as usize)])
}
