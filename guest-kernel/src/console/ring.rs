//! A single-producer, single-consumer byte ring.
//!
//! The serial interrupt handler produces, the console reader consumes. On one
//! CPU the two never run at the same time in a way plain loads and stores
//! cannot handle, but the slots are atomics anyway so the type is `Sync`
//! without `unsafe` and stays correct if a second CPU ever appears.

use core::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

/// A ring of `N` bytes; `N` must be a power of two.
pub struct Ring<const N: usize> {
    slots: [AtomicU8; N],
    /// Bytes ever pushed (wraps); only the producer stores it.
    head: AtomicUsize,
    /// Bytes ever popped (wraps); only the consumer stores it.
    tail: AtomicUsize,
}

impl<const N: usize> Ring<N> {
    const CHECK: () = assert!(N.is_power_of_two());

    /// An empty ring.
    pub const fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let _ = Self::CHECK;
        Ring {
            slots: [const { AtomicU8::new(0) }; N],
            head: AtomicUsize::new(0),
            tail: AtomicUsize::new(0),
        }
    }

    /// Bytes waiting to be popped.
    pub fn len(&self) -> usize {
        self.head
            .load(Ordering::Acquire)
            .wrapping_sub(self.tail.load(Ordering::Acquire))
    }

    /// Whether no byte is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a push would fail.
    pub fn is_full(&self) -> bool {
        self.len() == N
    }

    /// Appends a byte; `false` (and the byte is not stored) when full.
    /// Only one context may push.
    pub fn push(&self, byte: u8) -> bool {
        let head = self.head.load(Ordering::Relaxed);
        if head.wrapping_sub(self.tail.load(Ordering::Acquire)) == N {
            return false;
        }
        self.slots[head % N].store(byte, Ordering::Relaxed);
        self.head.store(head.wrapping_add(1), Ordering::Release);
        true
    }

    /// Removes the oldest byte. Only one context may pop.
    pub fn pop(&self) -> Option<u8> {
        let tail = self.tail.load(Ordering::Relaxed);
        if self.head.load(Ordering::Acquire) == tail {
            return None;
        }
        let byte = self.slots[tail % N].load(Ordering::Relaxed);
        self.tail.store(tail.wrapping_add(1), Ordering::Release);
        Some(byte)
    }
}

impl<const N: usize> Default for Ring<N> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_order_and_full() {
        let r: Ring<4> = Ring::new();
        assert!(r.is_empty());
        for b in 1..=4 {
            assert!(r.push(b));
        }
        assert!(r.is_full());
        assert!(!r.push(5), "a full ring refuses");
        assert_eq!(r.pop(), Some(1));
        assert!(r.push(5));
        let out: Vec<u8> = core::iter::from_fn(|| r.pop()).collect();
        assert_eq!(out, [2, 3, 4, 5]);
        assert_eq!(r.pop(), None);
    }

    #[test]
    fn wraps_many_times() {
        let r: Ring<8> = Ring::new();
        for i in 0..1000u32 {
            assert!(r.push(i as u8));
            assert!(r.push((i + 1) as u8));
            assert_eq!(r.pop(), Some(i as u8));
            assert_eq!(r.pop(), Some((i + 1) as u8));
        }
        assert!(r.is_empty());
    }
}
