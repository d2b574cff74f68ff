//! Small formatting helpers for messages to the user.

/// An I/O error as a phrase, without Rust's "(os error N)".
pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        }
    }
}

/// Formats a byte count as KiB, MiB or GiB.
pub fn human_size(bytes: u64) -> String {
    if bytes >= 1 << 30 && bytes.is_multiple_of(1 << 30) {
        format!("{} GiB", bytes >> 30)
    } else if bytes >= 1 << 20 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{} KiB", bytes >> 10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases() {
        let e = std::io::Error::from_raw_os_error(libc::EISDIR);
        assert_eq!(io_reason(&e), "Is a directory");
        assert_eq!(human_size(128 << 20), "128 MiB");
        assert_eq!(human_size(2 << 30), "2 GiB");
        assert_eq!(human_size(4096), "4 KiB");
    }
}
