//! The CPUID the guest sees: what KVM supports, plus the hypervisor timing
//! leaf 0x40000010 (TSC and LAPIC bus frequencies in kHz, the leaf VMware
//! defined and other hypervisors adopted), so the kernel need not calibrate
//! its timer against the PIT.

use kvm_bindings::kvm_cpuid_entry2;

/// KVM's signature leaf; its `eax` is the highest hypervisor leaf.
pub const HYPERVISOR_BASE: u32 = 0x4000_0000;
/// The timing leaf: `eax` = TSC kHz, `ebx` = LAPIC bus kHz.
pub const TIMING_LEAF: u32 = 0x4000_0010;
/// KVM's LAPIC timer counts at 1 GHz (one bus cycle per nanosecond).
pub const KVM_LAPIC_BUS_KHZ: u32 = 1_000_000;

/// Adds the timing leaf for a TSC of `tsc_khz`, raising the signature
/// leaf's maximum to include it. Without a signature leaf (no hypervisor
/// leaves at all) nothing changes.
pub fn add_timing_leaf(entries: &mut Vec<kvm_cpuid_entry2>, tsc_khz: u32) {
    let Some(base) = entries.iter_mut().find(|e| e.function == HYPERVISOR_BASE) else {
        return;
    };
    base.eax = base.eax.max(TIMING_LEAF);
    entries.retain(|e| e.function != TIMING_LEAF);
    entries.push(kvm_cpuid_entry2 {
        function: TIMING_LEAF,
        eax: tsc_khz,
        ebx: KVM_LAPIC_BUS_KHZ,
        ..Default::default()
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_the_leaf_and_raises_the_maximum() {
        let mut e = vec![kvm_cpuid_entry2 {
            function: HYPERVISOR_BASE,
            eax: 0x4000_0001,
            ..Default::default()
        }];
        add_timing_leaf(&mut e, 2_596_124);
        assert_eq!(e[0].eax, TIMING_LEAF);
        let leaf = e.iter().find(|x| x.function == TIMING_LEAF).unwrap();
        assert_eq!((leaf.eax, leaf.ebx), (2_596_124, KVM_LAPIC_BUS_KHZ));
        add_timing_leaf(&mut e, 1000);
        assert_eq!(e.iter().filter(|x| x.function == TIMING_LEAF).count(), 1);
    }

    #[test]
    fn no_hypervisor_leaves_no_change() {
        let mut e = vec![kvm_cpuid_entry2::default()];
        add_timing_leaf(&mut e, 1000);
        assert_eq!(e.len(), 1);
    }
}
