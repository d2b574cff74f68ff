//! Opening `/dev/kvm` and checking that it can run our guest.

use std::ffi::CString;
use std::path::{Path, PathBuf};

use kvm_ioctls::{Cap, Kvm};

use crate::util::io_reason;

/// Why KVM cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KvmError {
    /// No device at the path.
    #[error(
        "{0}: no such device; KVM is not available (load the kvm_intel or kvm_amd module, or enable nested virtualization for this VM)"
    )]
    Missing(PathBuf),
    /// This user may not open it.
    #[error(
        "{0}: permission denied; add your user to the group that owns it (often 'kvm': sudo usermod -aG kvm $USER, then log in again) or run as root"
    )]
    Permission(PathBuf),
    /// It could not be opened for another reason.
    #[error("{0}: cannot open: {1}")]
    Open(PathBuf, String),
    /// It is not a KVM device.
    #[error("{0}: not a KVM device ({1})")]
    NotKvm(PathBuf, String),
    /// Its KVM API version is not 12.
    #[error("{0}: KVM API version {1}, but vmm needs version 12")]
    Version(PathBuf, i32),
    /// It lacks a capability we need.
    #[error("{0}: KVM lacks {1}, which vmm needs")]
    MissingCap(PathBuf, &'static str),
}

/// The capabilities we rely on, with names for the error message.
const REQUIRED: [(Cap, &str); 5] = [
    (Cap::Irqchip, "an in-kernel irqchip (KVM_CAP_IRQCHIP)"),
    (Cap::UserMemory, "user memory regions (KVM_CAP_USER_MEMORY)"),
    (Cap::Irqfd, "irqfd (KVM_CAP_IRQFD)"),
    (Cap::Pit2, "an in-kernel PIT (KVM_CAP_PIT2)"),
    (Cap::ExtCpuid, "KVM_GET_SUPPORTED_CPUID (KVM_CAP_EXT_CPUID)"),
];

/// Opens the KVM device at `path` and checks its API version and the
/// capabilities we need.
pub fn open(path: &Path) -> Result<Kvm, KvmError> {
    let cpath = CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| KvmError::Open(path.into(), "the path contains a NUL byte".into()))?;
    let kvm = Kvm::new_with_path(&cpath).map_err(|e| match e.errno() {
        libc::ENOENT | libc::ENOTDIR => KvmError::Missing(path.into()),
        libc::EACCES | libc::EPERM => KvmError::Permission(path.into()),
        _ => KvmError::Open(path.into(), io_reason(&e.into())),
    })?;
    check(&kvm, path)?;
    Ok(kvm)
}

fn check(kvm: &Kvm, path: &Path) -> Result<(), KvmError> {
    // KVM_GET_API_VERSION: any other device fails it (ENOTTY).
    let version = kvm.get_api_version();
    if version < 0 {
        let e = std::io::Error::last_os_error();
        return Err(KvmError::NotKvm(path.into(), io_reason(&e)));
    }
    if version != kvm_bindings::KVM_API_VERSION as i32 {
        return Err(KvmError::Version(path.into(), version));
    }
    for (cap, name) in REQUIRED {
        if !kvm.check_extension(cap) {
            return Err(KvmError::MissingCap(path.into(), name));
        }
    }
    Ok(())
}
