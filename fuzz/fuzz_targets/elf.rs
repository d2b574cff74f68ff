//! The ELF64 reader (the VMM checks the kernel with it, the kernel loads
//! programs with it) over arbitrary bytes: no panic, and a segment's data,
//! when returned, lies inside the file; the PVH note reader over each
//! segment and over the raw input.
#![no_main]

use abi::elf;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = elf::find_pvh_entry(data);
    let Ok(h) = elf::parse(data) else {
        return;
    };
    assert!(h.phnum > 0);
    let range = data.as_ptr_range();
    let mut n = 0;
    for p in elf::program_headers(data, &h) {
        n += 1;
        if let Some(d) = p.data(data) {
            let r = d.as_ptr_range();
            assert!(range.start <= r.start && r.end <= range.end);
            assert_eq!(d.len() as u64, p.filesz);
            let _ = elf::find_pvh_entry(d);
        }
    }
    assert_eq!(n, usize::from(h.phnum));
});
