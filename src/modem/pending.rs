//! Stored-message notifications still to read (`+CMTI`/`+CDSI`, TS 27.005 §3.4.1): a bounded,
//! deduplicated FIFO of (storage, index). Each notification costs O(1) and at most
//! [`PENDING_READS_CAP`] are held; past the cap the entries are dropped and the caller lists
//! the storage instead (`+CMGL`), which finds every message whatever its notification said.

use super::Location;
use std::collections::{HashSet, VecDeque};

/// Notifications held at most (a SIM has 10–50 slots, a modem's ME storage a few hundred).
pub const PENDING_READS_CAP: usize = 256;

/// What [`PendingReads::push`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    Added,
    Duplicate,
    /// The set was full: every entry was dropped; list the storages instead.
    Overflow,
}

#[derive(Debug)]
pub struct PendingReads {
    set: HashSet<Location>,
    order: VecDeque<Location>,
    cap: usize,
}

impl Default for PendingReads {
    fn default() -> Self {
        PendingReads::new(PENDING_READS_CAP)
    }
}

impl PendingReads {
    pub fn new(cap: usize) -> PendingReads {
        PendingReads { set: HashSet::new(), order: VecDeque::new(), cap }
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Entries of storage `mem`.
    pub fn count_in(&self, mem: &str) -> usize {
        self.order.iter().filter(|l| l.mem == mem).count()
    }

    pub fn contains(&self, loc: &Location) -> bool {
        self.set.contains(loc)
    }

    /// Queues a notification at the back.
    pub fn push(&mut self, loc: Location) -> Pushed {
        if self.set.contains(&loc) {
            return Pushed::Duplicate;
        }
        if self.order.len() >= self.cap {
            self.clear();
            return Pushed::Overflow;
        }
        self.set.insert(loc.clone());
        self.order.push_back(loc);
        Pushed::Added
    }

    /// Puts back a read that did not happen (its command timed out); it goes first. The set
    /// may exceed its cap by this one entry.
    pub fn push_front(&mut self, loc: Location) {
        if self.set.insert(loc.clone()) {
            self.order.push_front(loc);
        }
    }

    pub fn front(&self) -> Option<&Location> {
        self.order.front()
    }

    pub fn pop_front(&mut self) -> Option<Location> {
        let loc = self.order.pop_front()?;
        self.set.remove(&loc);
        Some(loc)
    }

    /// Drops every entry of storage `mem` (it cannot be selected).
    pub fn forget_mem(&mut self, mem: &str) {
        self.order.retain(|l| l.mem != mem);
        self.set.retain(|l| l.mem != mem);
    }

    pub fn clear(&mut self) {
        self.set.clear();
        self.order.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(m: &str, i: u32) -> Location {
        Location::new(m, i)
    }

    #[test]
    fn fifo_without_duplicates() {
        let mut p = PendingReads::new(4);
        assert_eq!(p.push(loc("SM", 1)), Pushed::Added);
        assert_eq!(p.push(loc("SM", 2)), Pushed::Added);
        assert_eq!(p.push(loc("SM", 1)), Pushed::Duplicate);
        assert_eq!(p.pop_front(), Some(loc("SM", 1)));
        assert_eq!(p.push(loc("SM", 1)), Pushed::Added, "read once, a new notification counts");
        p.push_front(loc("ME", 0));
        assert_eq!(p.front(), Some(&loc("ME", 0)));
        p.forget_mem("SM");
        assert_eq!(p.len(), 1);
        assert!(!p.contains(&loc("SM", 2)));
    }

    #[test]
    fn overflow_drops_everything_and_says_so() {
        let mut p = PendingReads::new(3);
        for i in 0..3 {
            assert_eq!(p.push(loc("SM", i)), Pushed::Added);
        }
        assert_eq!(p.push(loc("SM", 9)), Pushed::Overflow);
        assert!(p.is_empty());
        assert_eq!(p.push(loc("SM", 9)), Pushed::Added);
    }
}
