//! `vmm doctor`: can this host boot a guest, and if not, what to do. Each
//! check prints one line; a failed one says how to fix it. The exit status
//! is 0 only when every check passed, the last of which boots nothing but
//! creates a real VM with memory and a vCPU, as `vmm` would.

use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use crate::exitcode;
use crate::util::io_reason;
use crate::vstate;

/// What the host says about virtualization (from /proc and /sys).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct HostInfo {
    /// The CPU advertises VMX (Intel) or SVM (AMD).
    pub hw_virt: Option<&'static str>,
    /// This host is itself a guest (the CPUID hypervisor bit).
    pub nested: bool,
    /// The loaded KVM modules.
    pub modules: Vec<&'static str>,
}

/// Reads [`HostInfo`] from `cpuinfo` text and a check for loaded modules.
pub fn host_info(cpuinfo: &str, loaded: impl Fn(&str) -> bool) -> HostInfo {
    let flags: Vec<&str> = cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, f)| f.split_whitespace().collect())
        .unwrap_or_default();
    let hw_virt = if flags.contains(&"vmx") {
        Some("vmx")
    } else if flags.contains(&"svm") {
        Some("svm")
    } else {
        None
    };
    HostInfo {
        hw_virt,
        nested: flags.contains(&"hypervisor"),
        modules: ["kvm_intel", "kvm_amd", "kvm_pvm"]
            .into_iter()
            .filter(|m| loaded(m))
            .collect(),
    }
}

fn ok(what: &str) {
    println!("ok    {what}");
}

fn fail(what: &str, fix: &str) {
    println!("FAIL  {what}\n      fix: {fix}");
}

/// Runs every check against the KVM device at `kvm_path`; returns the exit
/// status.
pub fn run(kvm_path: &Path) -> i32 {
    let info = host_info(
        &std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default(),
        |m| Path::new("/sys/module").join(m).exists(),
    );
    let host = match (info.hw_virt, info.nested) {
        (Some(v), false) => format!("CPU with {v}, running on bare metal"),
        (Some(v), true) => format!("CPU with {v}, inside a VM (nested virtualization)"),
        (None, true) => "inside a VM whose CPU shows no VMX/SVM".to_string(),
        (None, false) => "CPU shows no VMX/SVM".to_string(),
    };
    let modules = if info.modules.is_empty() {
        "no KVM module loaded".to_string()
    } else {
        format!("KVM module {}", info.modules.join(", "))
    };
    println!("info  {host}; {modules}");
    if info.modules.contains(&"kvm_pvm") {
        println!(
            "info  PVM: guest ring 0 is emulated (slow kernel paths) and `syscall` does not \
             work; the kernel enters system calls through int3, which does"
        );
    }

    let device = kvm_path.display();
    match std::fs::metadata(kvm_path) {
        Err(e) => {
            fail(
                &format!("{device}: {}", io_reason(&e)),
                "enable KVM: load the module (sudo modprobe kvm_intel or kvm_amd); in a cloud VM \
                 or CI runner, choose one with nested virtualization",
            );
            return exitcode::HOST_ERROR;
        }
        Ok(m) if !m.file_type().is_char_device() => {
            fail(
                &format!("{device} is not a device file"),
                "point --kvm at the KVM device, normally /dev/kvm",
            );
            return exitcode::HOST_ERROR;
        }
        Ok(_) => ok(&format!("{device} exists")),
    }
    let kvm = match vstate::kvm::open(kvm_path) {
        Ok(kvm) => kvm,
        Err(e) => {
            let fix = match &e {
                vstate::kvm::KvmError::Permission(_) => {
                    "add yourself to the device's group: sudo usermod -aG kvm $USER, then log in \
                     again; on a CI runner, a udev rule: echo 'KERNEL==\"kvm\", GROUP=\"kvm\", \
                     MODE=\"0666\", OPTIONS+=\"static_node=kvm\"' | sudo tee \
                     /etc/udev/rules.d/99-kvm4all.rules && sudo udevadm control --reload-rules \
                     && sudo udevadm trigger --name-match=kvm"
                }
                vstate::kvm::KvmError::MissingCap(..) => {
                    "use a newer host kernel, or a KVM that offers an in-kernel irqchip and PIT"
                }
                _ => "check that the path is the KVM device and the module is healthy (dmesg)",
            };
            fail(&e.to_string(), fix);
            return exitcode::HOST_ERROR;
        }
    };
    ok("opened read-write; KVM API version 12; irqchip, PIT, irqfd, user memory, CPUID");
    match trial_vm(&kvm) {
        Ok(()) => ok("created a test VM with 16 MiB of memory and a vCPU"),
        Err(e) => {
            fail(
                &format!("creating a test VM failed: {e}"),
                "check dmesg for KVM errors; another hypervisor may hold the CPU's \
                 virtualization extensions",
            );
            return exitcode::HOST_ERROR;
        }
    }
    println!("vmm can boot guests on this host");
    0
}

/// Creates what a boot creates, on a small scale.
fn trial_vm(kvm: &kvm_ioctls::Kvm) -> Result<(), String> {
    let mem = vstate::memory::create(16 << 20).map_err(|e| e.to_string())?;
    let vm = vstate::vm::create(kvm, &mem).map_err(|e| e.to_string())?;
    vm.create_vcpu(0)
        .map_err(|e| format!("KVM_CREATE_VCPU: {e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cpu_flags_and_modules() {
        let cpuinfo = "processor\t: 0\nflags\t\t: fpu vme vmx hypervisor sse2\n";
        let info = host_info(cpuinfo, |m| m == "kvm_intel");
        assert_eq!(
            info,
            HostInfo {
                hw_virt: Some("vmx"),
                nested: true,
                modules: vec!["kvm_intel"],
            }
        );
        let bare = host_info("flags : fpu svm\n", |_| false);
        assert_eq!((bare.hw_virt, bare.nested), (Some("svm"), false));
        assert!(bare.modules.is_empty());
        assert_eq!(host_info("", |_| false), HostInfo::default());
    }
}
