//! Bookkeeping of the fault scenarios: sizes, a seeded generator, what happened to a numbered
//! set of messages, and the result lines `scripts/fault-injection` collects.

use crate::agents::Got;
use crate::daemon::Daemon;
use crate::eventually::GUARD;
use crate::pdu::tag_of;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `OTAPUSH_FAULT_FULL=1` runs the scenarios at the sizes of `scripts/fault-injection`.
pub fn full() -> bool {
    std::env::var("OTAPUSH_FAULT_FULL").is_ok_and(|v| v == "1")
}

/// `small` in `cargo test`, `big` under `OTAPUSH_FAULT_FULL=1`.
pub fn size(small: usize, big: usize) -> usize {
    if full() {
        big
    } else {
        small
    }
}

/// A small deterministic generator (SplitMix64) for kill moments and orders.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..hi` (`hi > lo`).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo)
    }
}

/// What happened to a numbered set of messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    pub sent: usize,
    /// Distinct messages delivered at least once.
    pub delivered: usize,
    /// Deliveries beyond the first (each with the same id as the first).
    pub duplicated: usize,
    pub lost: usize,
    /// Messages delivered under more than one id (must be 0).
    pub id_changes: usize,
    /// Deliveries of bodies that were never sent (must be 0).
    pub unknown: usize,
}

/// Counts deliveries of the [`tagged`](crate::pdu::tagged) messages `0..sent` (bodies may carry
/// padding after the tag).
pub fn tally(sent: usize, got: &[Got]) -> Tally {
    let mut by: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    let mut t = Tally { sent, ..Tally::default() };
    for g in got {
        let tag =
            std::str::from_utf8(&g.body).ok().and_then(|s| s.get(..10)).and_then(|s| tag_of(s.as_bytes()));
        match tag {
            Some(n) if n < sent => by.entry(n).or_default().push(&g.id),
            _ => t.unknown += 1,
        }
    }
    t.delivered = by.len();
    t.lost = sent - by.len();
    for ids in by.values() {
        t.duplicated += ids.len() - 1;
        if ids.iter().any(|id| *id != ids[0]) {
            t.id_changes += 1;
        }
    }
    t
}

impl Tally {
    /// No loss, no id change, nothing unexpected.
    pub fn assert_sound(&self, scenario: &str) {
        assert_eq!(
            (self.lost, self.id_changes, self.unknown),
            (0, 0, 0),
            "{scenario}: lost, changed ids, unknown bodies: {self:?}"
        );
    }
}

/// One line per scenario, collected by `scripts/fault-injection` into its table.
pub fn report(scenario: &str, t: &Tally, peak_kib: u64) {
    report_with(scenario, t, peak_kib, "");
}

/// [`report`] with a note for the table (e.g. what a cap dropped by design).
pub fn report_with(scenario: &str, t: &Tally, peak_kib: u64, note: &str) {
    println!(
        "FAULT-RESULT scenario={scenario} sent={} delivered={} duplicated={} lost={} peak_rss_kib={peak_kib} note={note}",
        t.sent, t.delivered, t.duplicated, t.lost
    );
}

/// The tags of `0..sent` never delivered (the first 20).
pub fn missing(sent: usize, got: &[Got]) -> Vec<usize> {
    let have: std::collections::BTreeSet<usize> = got
        .iter()
        .filter_map(|g| std::str::from_utf8(&g.body).ok()?.get(..10).and_then(|s| tag_of(s.as_bytes())))
        .collect();
    (0..sent).filter(|n| !have.contains(n)).take(20).collect()
}

/// Waits until `rec` has every message of `0..sent` (or fails with the tally and the log).
pub async fn all_delivered(what: &str, got: &Arc<Mutex<Vec<Got>>>, sent: usize, daemon: &Daemon) -> Tally {
    let deadline = tokio::time::Instant::now() + GUARD;
    loop {
        let t = tally(sent, &got.lock().unwrap());
        if t.lost == 0 {
            return t;
        }
        if tokio::time::Instant::now() > deadline {
            let missing = missing(sent, &got.lock().unwrap());
            panic!("{what}: not everything delivered: {t:?}, missing {missing:?}\n{}", daemon.log_tail(30));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
