//! Hexadecimal formatting in one `write_str`.
//!
//! `core::fmt`'s `{:#018x}` pads one character at a time through the
//! formatter, many ring-0 instructions per digit (README, "The platform");
//! [`Hex`] builds the digits in a buffer instead.

use core::fmt;

/// `0x` and the hexadecimal digits of a value, at least `width` digits
/// (zero padded); `Hex::min(v)` prints no leading zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hex {
    value: u64,
    width: usize,
}

impl Hex {
    /// All 16 digits: `0x00000000000000ff`.
    pub const fn full(value: u64) -> Self {
        Hex { value, width: 16 }
    }

    /// As few digits as needed: `0xff`, `0x0`.
    pub const fn min(value: u64) -> Self {
        Hex { value, width: 1 }
    }

    /// At least `width` digits (at most 16).
    pub const fn width(value: u64, width: usize) -> Self {
        Hex { value, width }
    }
}

impl fmt::Display for Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut buf = [0u8; 18];
        let used = (16 - self.value.leading_zeros() as usize / 4).max(self.width.clamp(1, 16));
        let start = 18 - used;
        let mut v = self.value;
        for slot in buf[start..].iter_mut().rev() {
            *slot = DIGITS[(v & 0xF) as usize];
            v >>= 4;
        }
        buf[start - 2] = b'0';
        buf[start - 1] = b'x';
        // The buffer holds only ASCII.
        f.write_str(core::str::from_utf8(&buf[start - 2..]).unwrap_or("0x?"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(Hex::min(0).to_string(), "0x0");
        assert_eq!(Hex::min(0x2).to_string(), "0x2");
        assert_eq!(
            Hex::min(0xffff_ffff_8010_1234).to_string(),
            "0xffffffff80101234"
        );
        assert_eq!(Hex::full(0xff).to_string(), "0x00000000000000ff");
        assert_eq!(Hex::full(u64::MAX).to_string(), "0xffffffffffffffff");
        assert_eq!(Hex::width(0x9fc00, 10).to_string(), "0x000009fc00");
        assert_eq!(Hex::width(0x0123_4567_89ab, 4).to_string(), "0x123456789ab");
    }
}
