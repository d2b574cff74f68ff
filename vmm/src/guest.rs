//! The default guest embedded in the binary by build.rs: our kernel and the
//! initrd of user programs.

use std::path::Path;

/// The embedded kernel ELF.
pub const KERNEL: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/kernel.elf"));
/// The embedded initrd, a cpio newc archive.
pub const INITRD: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/initrd.cpio"));

/// Writes the embedded guest as `dir/kernel.elf` and `dir/initrd.cpio`.
pub fn export(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("kernel.elf"), KERNEL)?;
    std::fs::write(dir.join("initrd.cpio"), INITRD)?;
    Ok(())
}
