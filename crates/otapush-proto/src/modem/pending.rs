//! Stored-message notifications still to read (`+CMTI`/`+CDSI`, TS 27.005 §3.4.1): a bounded,
//! deduplicated FIFO of (storage, index). Each notification costs O(1) and at most
//! [`PENDING_READS_CAP`] are held; past the cap the entries are dropped and the caller lists
//! the storage instead (`+CMGL`), which finds every message whatever its notification said.
//! [`ListingOrder`] keeps the notification order of what such a listing will find.

use super::Location;
use std::collections::{HashSet, VecDeque};

/// Notifications held at most (a SIM has 10–50 slots, a modem's ME storage a few hundred).
pub const PENDING_READS_CAP: usize = 256;

/// What [`PendingReads::push`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pushed {
    /// Queued.
    Added,
    /// Already queued; nothing changed.
    Duplicate,
    /// The set was full: every entry was dropped (here, oldest first); list the storages
    /// instead.
    Overflow(Vec<Location>),
}

/// Stored-message notifications still to read, deduplicated, oldest first (see the module doc).
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
    /// At most `cap` held.
    pub fn new(cap: usize) -> PendingReads {
        PendingReads { set: HashSet::new(), order: VecDeque::new(), cap }
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Nothing held.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Entries of storage `mem`.
    pub fn count_in(&self, mem: &str) -> usize {
        self.order.iter().filter(|l| l.mem == mem).count()
    }

    /// Whether `loc` is queued.
    pub fn contains(&self, loc: &Location) -> bool {
        self.set.contains(loc)
    }

    /// Queues a notification at the back.
    pub fn push(&mut self, loc: Location) -> Pushed {
        if self.set.contains(&loc) {
            return Pushed::Duplicate;
        }
        if self.order.len() >= self.cap {
            self.set.clear();
            return Pushed::Overflow(std::mem::take(&mut self.order).into());
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

    /// The oldest entry.
    pub fn front(&self) -> Option<&Location> {
        self.order.front()
    }

    /// Takes the oldest entry.
    pub fn pop_front(&mut self) -> Option<Location> {
        let loc = self.order.pop_front()?;
        self.set.remove(&loc);
        Some(loc)
    }

    /// Indices pending for storage `mem`, oldest first.
    pub fn indices_in<'a>(&'a self, mem: &'a str) -> impl Iterator<Item = u32> + 'a {
        self.order.iter().filter(move |l| l.mem == mem).map(|l| l.index)
    }

    /// Drops every entry of storage `mem` and returns them, oldest first.
    pub fn forget_mem(&mut self, mem: &str) -> Vec<Location> {
        let gone = take_mem(&mut self.order, mem);
        self.set.retain(|l| l.mem != mem);
        gone
    }

    /// Drops every entry.
    pub fn clear(&mut self) {
        self.set.clear();
        self.order.clear();
    }
}

/// Removes the entries of storage `mem` from `order` and returns them, in order.
fn take_mem(order: &mut VecDeque<Location>, mem: &str) -> Vec<Location> {
    let (gone, kept): (VecDeque<Location>, VecDeque<Location>) =
        std::mem::take(order).into_iter().partition(|l| l.mem == mem);
    *order = kept;
    gone.into()
}

/// The notification order (TS 27.005 §3.4.1) of messages a listing (`+CMGL`) is to hand
/// over: a modem stores at the lowest free index and reuses indices, so its index order is not
/// the arrival order. Deduplicated, at most [`PENDING_READS_CAP`] held; past that the newest
/// are not kept (the listing hands them over after the others, by index).
#[derive(Debug)]
pub struct ListingOrder {
    set: HashSet<Location>,
    order: VecDeque<Location>,
    cap: usize,
}

impl Default for ListingOrder {
    fn default() -> Self {
        ListingOrder::new(PENDING_READS_CAP)
    }
}

impl ListingOrder {
    /// At most `cap` held.
    pub fn new(cap: usize) -> ListingOrder {
        ListingOrder { set: HashSet::new(), order: VecDeque::new(), cap }
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Nothing held.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Entries of storage `mem`.
    pub fn count_in(&self, mem: &str) -> usize {
        self.order.iter().filter(|l| l.mem == mem).count()
    }

    /// Notes a notification at the back, unless already noted or full.
    pub fn note(&mut self, loc: Location) {
        if self.order.len() < self.cap && self.set.insert(loc.clone()) {
            self.order.push_back(loc);
        }
    }

    /// Takes the indices noted for storage `mem`, oldest first.
    pub fn take_mem(&mut self, mem: &str) -> Vec<u32> {
        let gone = take_mem(&mut self.order, mem);
        self.set.retain(|l| l.mem != mem);
        gone.into_iter().map(|l| l.index).collect()
    }

    /// Drops every entry.
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
        assert_eq!(p.forget_mem("SM"), vec![loc("SM", 2), loc("SM", 1)]);
        assert_eq!(p.len(), 1);
        assert!(!p.contains(&loc("SM", 2)));
    }

    #[test]
    fn overflow_drops_everything_and_says_so() {
        let mut p = PendingReads::new(3);
        for i in 0..3 {
            assert_eq!(p.push(loc("SM", i)), Pushed::Added);
        }
        assert_eq!(p.push(loc("SM", 9)), Pushed::Overflow(vec![loc("SM", 0), loc("SM", 1), loc("SM", 2)]));
        assert!(p.is_empty());
        assert_eq!(p.push(loc("SM", 9)), Pushed::Added);
    }

    #[test]
    fn listing_order_keeps_the_oldest_per_storage() {
        let mut o = ListingOrder::new(4);
        for (m, i) in [("SM", 3), ("ME", 7), ("SM", 1), ("SM", 3), ("SM", 2), ("SM", 0)] {
            o.note(loc(m, i));
        }
        assert_eq!(o.len(), 4, "capped; the duplicate and the newest are not kept");
        assert_eq!(o.take_mem("SM"), vec![3, 1, 2]);
        assert_eq!(o.take_mem("ME"), vec![7]);
        assert!(o.is_empty());
    }
}
