//! Intrusive doubly linked lists of table slots, O(1) push/pop/remove.
//!
//! Links hold `slot + 1`, so a zeroed [`Link`] or [`List`] is unlinked or
//! empty. A slot is on at most one list per link field at a time; the owner
//! of the list knows which list that is (from the slot's state), so a link
//! need not name its list.

/// A slot's position in a list: neighbours as `slot + 1`, 0 for none.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Link {
    prev: u32,
    next: u32,
}

/// Where the links of the slots live (a table, or a slice in tests).
pub trait Links {
    /// The link of `slot`.
    fn link(&mut self, slot: usize) -> &mut Link;
}

impl Links for [Link] {
    fn link(&mut self, slot: usize) -> &mut Link {
        &mut self[slot]
    }
}

/// A list head: first and last slot as `slot + 1`, 0 when empty.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct List {
    head: u32,
    tail: u32,
}

fn enc(slot: usize) -> u32 {
    slot as u32 + 1
}

fn dec(v: u32) -> Option<usize> {
    v.checked_sub(1).map(|s| s as usize)
}

impl List {
    /// An empty list.
    pub const fn new() -> Self {
        List { head: 0, tail: 0 }
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.head == 0
    }

    /// The first slot.
    pub fn front(&self) -> Option<usize> {
        dec(self.head)
    }

    /// The slot after `slot` (which must be on this list).
    pub fn next<L: Links + ?Sized>(&self, links: &mut L, slot: usize) -> Option<usize> {
        dec(links.link(slot).next)
    }

    /// Appends `slot`, which must be on no list.
    pub fn push_back<L: Links + ?Sized>(&mut self, links: &mut L, slot: usize) {
        let old_tail = self.tail;
        *links.link(slot) = Link {
            prev: old_tail,
            next: 0,
        };
        match dec(old_tail) {
            Some(t) => links.link(t).next = enc(slot),
            None => self.head = enc(slot),
        }
        self.tail = enc(slot);
    }

    /// Inserts `slot` before `before` (which must be on this list), or at
    /// the end when `before` is `None`.
    pub fn insert_before<L: Links + ?Sized>(
        &mut self,
        links: &mut L,
        slot: usize,
        before: Option<usize>,
    ) {
        let Some(b) = before else {
            return self.push_back(links, slot);
        };
        let prev = links.link(b).prev;
        *links.link(slot) = Link { prev, next: enc(b) };
        links.link(b).prev = enc(slot);
        match dec(prev) {
            Some(p) => links.link(p).next = enc(slot),
            None => self.head = enc(slot),
        }
    }

    /// Removes and returns the first slot.
    pub fn pop_front<L: Links + ?Sized>(&mut self, links: &mut L) -> Option<usize> {
        let slot = dec(self.head)?;
        self.remove(links, slot);
        Some(slot)
    }

    /// Removes `slot`, which must be on this list.
    pub fn remove<L: Links + ?Sized>(&mut self, links: &mut L, slot: usize) {
        let Link { prev, next } = *links.link(slot);
        match dec(prev) {
            Some(p) => links.link(p).next = next,
            None => self.head = next,
        }
        match dec(next) {
            Some(n) => links.link(n).prev = prev,
            None => self.tail = prev,
        }
        *links.link(slot) = Link::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(list: &List, links: &mut [Link]) -> Vec<usize> {
        let mut out = Vec::new();
        let mut at = list.front();
        while let Some(s) = at {
            out.push(s);
            at = list.next(links, s);
        }
        out
    }

    #[test]
    fn fifo_remove_insert() {
        let mut links = vec![Link::default(); 8];
        let mut l = List::new();
        assert!(l.is_empty());
        for s in [3, 1, 4, 0] {
            l.push_back(&mut links[..], s);
        }
        assert_eq!(items(&l, &mut links), [3, 1, 4, 0]);
        l.remove(&mut links[..], 4);
        assert_eq!(items(&l, &mut links), [3, 1, 0]);
        l.remove(&mut links[..], 3);
        l.remove(&mut links[..], 0);
        assert_eq!(items(&l, &mut links), [1]);
        l.insert_before(&mut links[..], 5, Some(1));
        l.insert_before(&mut links[..], 6, None);
        l.insert_before(&mut links[..], 7, Some(6));
        assert_eq!(items(&l, &mut links), [5, 1, 7, 6]);
        assert_eq!(l.pop_front(&mut links[..]), Some(5));
        assert_eq!(l.pop_front(&mut links[..]), Some(1));
        assert_eq!(l.pop_front(&mut links[..]), Some(7));
        assert_eq!(l.pop_front(&mut links[..]), Some(6));
        assert_eq!(l.pop_front(&mut links[..]), None);
        assert!(l.is_empty());
        assert!(links.iter().all(|k| *k == Link::default()));
    }
}
