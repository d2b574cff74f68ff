//! The initrd reader (cpio newc) over arbitrary bytes: no panic, every
//! member's data inside the input, `find` agreeing with iteration; and the
//! writer and the reader agreeing on a member made from the input.
#![no_main]

use abi::cpio::{self, Archive};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let archive = Archive::new(data);
    let validated = archive.validate();
    let range = data.as_ptr_range();
    let mut n = 0;
    let mut failed = false;
    for e in archive.entries() {
        let Ok(e) = e else {
            failed = true;
            continue;
        };
        n += 1;
        let d = e.data.as_ptr_range();
        assert!(range.start <= d.start && d.end <= range.end);
        let _ = e.is_file();
        // A listed file is found by the name it is listed under (the
        // first member of that normalized name, when several have it).
        if e.is_file() {
            let f = archive.find(e.name).expect("a listed file is found");
            assert_eq!(cpio::normalize(f.name), cpio::normalize(e.name));
        }
    }
    match validated {
        Ok(count) => assert!(!failed && count == n),
        Err(_) => assert!(failed),
    }

    // Round trip: the input split into a name and contents.
    let split = data.first().map_or(0, |&b| usize::from(b)).min(data.len());
    let (name, contents) = data.split_at(split);
    let Ok(name) = std::str::from_utf8(name.get(1..).unwrap_or_default()) else {
        return;
    };
    if name == cpio::TRAILER {
        return;
    }
    let mut bytes = Vec::new();
    let mut out = |b: &[u8]| bytes.extend_from_slice(b);
    cpio::write_member(&mut out, 1, name, cpio::MODE_FILE | 0o644, contents);
    cpio::write_trailer(&mut out);
    let a = Archive::new(&bytes);
    assert_eq!(a.validate(), Ok(1));
    let e = a.entries().next().unwrap().unwrap();
    assert_eq!(
        (e.name, e.mode, e.data),
        (cpio::normalize(name), cpio::MODE_FILE | 0o644, contents)
    );
});
