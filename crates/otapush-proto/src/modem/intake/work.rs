//! The ready phase's work, one command at a time: acknowledgements (`+CNMA`), the `+CNMI`
//! setting, deletions (`+CMGD`), reads (`+CMGR`), listings (`+CMGL=4`) and a usage check
//! (`+CPMS?`) once a burst is done. Each kind of work has its queue; a command that got no
//! answer puts its work back.

use super::cnmi::is_routed;
use super::{Intake, Phase, Purpose, Step};
use crate::modem::at::{Command, FinalResult, Response};
use crate::modem::pending::{self, ListingOrder, PendingReads, Pushed};
use crate::modem::Location;
use std::collections::{HashMap, VecDeque};

/// `+CMS ERROR: 321`: invalid memory index — also an empty slot or an empty list.
pub(super) const CMS_INVALID_INDEX: u32 = 321;
/// More notifications than this pending for one storage are read with one `+CMGL=4`
/// (TS 27.005 §3.4.2) instead of one `+CMGR` each.
pub const READ_BATCH: usize = 4;

/// A message made durable, to delete. `verify`: the modem was re-initialised since it was read,
/// so read it again and delete only if the slot still holds the same PDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Delete {
    pub(super) loc: Location,
    pub(super) pdu: Vec<u8>,
    pub(super) verify: bool,
}

/// The work queues.
#[derive(Debug, Default)]
pub(super) struct Work {
    pub(super) reads: PendingReads,
    pub(super) deletes: VecDeque<Delete>,
    /// `+CNMA`s owed.
    pub(super) acks: u32,
    /// Storages to list.
    pub(super) drains: VecDeque<String>,
    /// The notification order of what the listings still to come will find.
    pub(super) listed_order: ListingOrder,
    /// Deletions were made (or one failed): `+CPMS?` once the work is done, to check the counts
    /// and `<mem3>` (a silent reset).
    pub(super) usage_due: bool,
}

impl Intake {
    /// Whether the count of `mem` is known and covers no message beyond those being handled
    /// (pending reads, in hand, to delete, in flight, or a listing of it in flight).
    pub(super) fn all_known(&self, mem: &str) -> bool {
        let Some(c) = self.storage.counts.get(mem) else { return false };
        if matches!(&self.flight.awaiting, Some(Purpose::List(m)) if m == mem) {
            return true;
        }
        let in_flight = match &self.flight.awaiting {
            Some(Purpose::Read(l)) => l.mem == mem,
            Some(Purpose::Delete(d)) => d.loc.mem == mem,
            _ => false,
        };
        let known = self.work.reads.count_in(mem)
            + self.work.listed_order.count_in(mem)
            + self.durable.in_hand.values().filter(|h| h.loc.as_ref().is_some_and(|l| l.mem == mem)).count()
            + self.work.deletes.iter().filter(|d| d.loc.mem == mem).count()
            + usize::from(in_flight);
        c.used as usize <= known
    }

    pub(super) fn request_drain(&mut self) {
        for m in self.storage.list_mems.clone() {
            self.queue_drain(m);
        }
    }

    /// Queues a listing of `mem`. It finds what is pending to read there: those reads are
    /// dropped and their notification order kept for the listing.
    pub(super) fn queue_drain(&mut self, mem: String) {
        for l in self.work.reads.forget_mem(&mem) {
            self.work.listed_order.note(l);
        }
        if !self.work.drains.contains(&mem) {
            self.work.drains.push_back(mem);
        }
    }

    /// `+CMTI`/`+CDSI`: O(1) per notification, bounded (see [`PendingReads`]).
    pub(super) fn on_stored_notification(&mut self, loc: Location) {
        if self.work.drains.contains(&loc.mem) {
            self.storage.count_stored(&loc.mem);
            // A listing of that storage is still to come and will find it; it hands it over
            // in this order.
            self.work.listed_order.note(loc);
            return;
        }
        if self.knows(&loc, None) {
            // A slot we read and still hold is reported again: a repeated URC, or the slot
            // holds another message than we think. Delete only after reading the same PDU
            // there again, and list the storage for whatever else it holds.
            log::info!("modem: notification for {loc}, which is already handled; re-listing");
            for d in self.work.deletes.iter_mut().filter(|d| d.loc == loc) {
                d.verify = true;
            }
            // A PDU still in hand counts as read before a re-init: its delete verifies too.
            let earlier = self.durable.epoch.wrapping_sub(1);
            for h in self.durable.in_hand.values_mut().filter(|h| h.loc.as_ref() == Some(&loc)) {
                h.epoch = earlier;
            }
            if self.storage.list_mems.contains(&loc.mem) {
                self.queue_drain(loc.mem);
            }
            return;
        }
        let mem = loc.mem.clone();
        match self.work.reads.push(loc) {
            Pushed::Added => self.storage.count_stored(&mem),
            Pushed::Duplicate => log::debug!("modem: repeated notification"),
            Pushed::Overflow(dropped) => {
                log::warn!(
                    "modem: more than {} notifications pending; listing the storage instead",
                    pending::PENDING_READS_CAP
                );
                // The listings hand these over first, in this order; the newer ones (not
                // kept) follow by index.
                for l in dropped {
                    self.work.listed_order.note(l);
                }
                self.request_drain();
            }
        }
    }

    /// A `+CMGL=4` answer, which lists by index. What was notified is handed over in
    /// notification order (TS 27.005 §3.4.1): first what the listing was queued for, then what
    /// is pending to read; then what nobody notified (leftovers, or notifications dropped
    /// past the cap), in the listing's order. Noted notifications the answer lacks came after
    /// it was made: they stay noted if another listing of `mem` is queued, else are dropped.
    pub(super) fn list_response(&mut self, mem: &str, r: &Response) {
        let noted = self.work.listed_order.take_mem(mem);
        match &r.result {
            FinalResult::CmsError(Some(CMS_INVALID_INDEX)) => {}
            res if !res.is_ok() => log::warn!("modem: listing {mem} failed: {res}"),
            _ => {}
        }
        let mut rank: HashMap<u32, usize> = HashMap::new();
        for i in noted.iter().copied().chain(self.work.reads.indices_in(mem)) {
            let next = rank.len();
            rank.entry(i).or_insert(next);
        }
        let mut entries = Vec::new();
        let mut listed = std::collections::HashSet::new();
        for line in r.lines.iter().filter(|_| r.result.is_ok()) {
            let Some((index, pdu)) = line.pdu.as_ref().and_then(|p| Some((p.index()?, p))) else {
                log::warn!("modem: +CMGL entry without index or PDU: {:?}", line.text);
                continue;
            };
            listed.insert(index);
            entries.push((rank.get(&index).copied().unwrap_or(usize::MAX), index, pdu));
        }
        if self.work.drains.iter().any(|m| m == mem) {
            for i in noted.into_iter().filter(|i| !listed.contains(i)) {
                self.work.listed_order.note(Location { mem: mem.to_string(), index: i });
            }
        }
        // Stable: what nobody notified keeps the listing's order.
        entries.sort_by_key(|e| e.0);
        for (rank, index, pdu) in entries {
            let loc = Location { mem: mem.to_string(), index };
            if pdu.is_outgoing() {
                log::debug!("modem: {loc} holds a message stored to send; left alone");
            } else if !self.knows(&loc, Some(pdu.bytes())) {
                if rank == usize::MAX {
                    log::info!("modem: leftover SMS {loc}");
                } else {
                    log::debug!("modem: listed {loc}");
                }
                self.hand_over_new(pdu.clone(), Some(loc), false);
            }
        }
    }

    pub(super) fn ready_response(&mut self, p: Purpose, r: &Response) {
        match p {
            Purpose::Read(loc) => {
                let entry = r.lines.first().filter(|_| r.result.is_ok());
                match entry.and_then(|l| l.pdu.clone()) {
                    Some(pdu) if pdu.is_outgoing() => {
                        log::info!(
                            "modem: {loc} holds a message stored to send, not a received one; left alone"
                        )
                    }
                    Some(pdu) => self.hand_over_new(pdu, Some(loc), false),
                    None if matches!(r.result, FinalResult::CmsError(Some(CMS_INVALID_INDEX)))
                        || (r.result.is_ok() && r.lines.is_empty()) =>
                    {
                        log::warn!("modem: {loc} is empty")
                    }
                    None => {
                        log::warn!("modem: reading {loc} failed ({}); listing {} instead", r.result, loc.mem);
                        let mem = loc.mem.clone();
                        self.work.listed_order.note(loc);
                        self.queue_drain(mem);
                    }
                }
            }
            Purpose::Delete(d) => {
                if d.verify {
                    // This was the verifying read; the delete itself follows.
                    let same = r.lines.first().and_then(|l| Some(l.pdu.as_ref()?.bytes() == d.pdu));
                    if same == Some(true) {
                        self.work.deletes.push_front(Delete { verify: false, ..d });
                    } else {
                        log::info!("modem: {} no longer holds the stored PDU; not deleting", d.loc);
                    }
                } else if r.result.is_ok() {
                    log::debug!("modem: deleted {}", d.loc);
                    if let Some(c) = self.storage.counts.get_mut(&d.loc.mem) {
                        c.used = c.used.saturating_sub(1);
                    }
                    self.work.usage_due = true;
                } else {
                    log::warn!("modem: deleting {} failed: {}", d.loc, r.result);
                    self.storage.counts.remove(&d.loc.mem);
                    self.work.usage_due = true;
                }
            }
            Purpose::Ack => {
                if !r.result.is_ok() {
                    log::warn!("modem: +CNMA failed ({}): further SMS reception is not guaranteed", r.result);
                }
            }
            Purpose::Cnmi(v) => {
                if r.result.is_ok() {
                    log::info!(
                        "modem: +CNMI {v:?} ({})",
                        if is_routed(&v) { "routing" } else { "store mode" }
                    );
                } else if r.result != FinalResult::Timeout {
                    // Not retried until the next offer or re-init.
                    log::warn!("modem: +CNMI {v:?} refused ({})", r.result);
                }
                if r.result != FinalResult::Timeout {
                    self.cnmi.now = Some(v);
                }
            }
            Purpose::Usage => {
                if self.log_usage(r) {
                    // Messages stored without a notification (one lost, or `+CNMI` reset).
                    for m in self.storage.list_mems.clone() {
                        if !self.all_known(&m) && self.storage.counts.contains_key(&m) {
                            log::info!("modem: {m} holds messages nobody notified; listing it");
                            self.queue_drain(m);
                        }
                    }
                }
            }
            other => log::debug!("modem: unexpected response for {other:?}"),
        }
    }

    /// Picks the next piece of work: acknowledgements first (the modem waits for them), then
    /// deletions (free storage), reads, drains, and a usage check.
    pub(super) fn ready_command(&mut self) {
        if self.work.acks > 0 {
            self.work.acks -= 1;
            if let Some(c) = self.profile.cnma() {
                let c = Command::raw(c);
                self.send(c, Purpose::Ack);
                return;
            }
        }
        if let Some(want) =
            self.cnmi.wanted(self.durable.refusing.is_some()).filter(|w| self.cnmi.now != Some(*w))
        {
            let v: Vec<i32> = want.iter().map(|x| i32::from(*x)).collect();
            self.send(Command::set_ints("+CNMI", &v, &[]), Purpose::Cnmi(want));
            return;
        }
        if let Some(d) = self.work.deletes.front().cloned() {
            if self.switch_mem(&d.loc.mem) {
                return;
            }
            self.work.deletes.pop_front();
            let cmd = if d.verify { Command::cmgr(d.loc.index) } else { Command::cmgd(d.loc.index) };
            self.send(cmd, Purpose::Delete(d));
            return;
        }
        if let Some(mem) = self.work.reads.front().map(|l| l.mem.clone()) {
            let n = self.work.reads.count_in(&mem);
            if n > READ_BATCH {
                log::debug!("modem: {n} notifications pending for {mem}; listing it once");
                self.queue_drain(mem);
            }
        }
        // Listings before single reads: a listing requested after a notification overflow
        // must not wait behind a steady stream of new notifications.
        if let Some(mem) = self.work.drains.front().cloned() {
            if self.switch_mem(&mem) {
                return;
            }
            self.work.drains.pop_front();
            self.send(Command::cmgl(4), Purpose::List(mem));
            return;
        }
        while let Some(loc) = self.work.reads.front().cloned() {
            if self.knows(&loc, None) {
                self.work.reads.pop_front();
                continue;
            }
            if self.switch_mem(&loc.mem) {
                return;
            }
            self.work.reads.pop_front();
            self.send(Command::cmgr(loc.index), Purpose::Read(loc));
            return;
        }
        // Once per burst, when everything is done: the counts and `<mem3>` are checked.
        if self.work.usage_due && self.durable.in_hand.is_empty() {
            self.work.usage_due = false;
            self.send(Command::query("+CPMS", "+CPMS:"), Purpose::Usage);
            return;
        }
        self.on_idle();
    }

    /// A command of the ready phase (or of the init's listing) got no answer: its work goes
    /// back to the front of its queue, and the storage selection is forgotten (the modem may or
    /// may not have carried out a `+CPMS`), so the next command selects it again. `false` if
    /// the timeout is left to the usual handling.
    pub(super) fn requeue_timed_out(&mut self, p: &Purpose) -> bool {
        let listing = matches!(self.phase, Phase::Init(Step::List(_)));
        if self.phase != Phase::Ready && !listing {
            return false;
        }
        log::warn!("modem: no answer for {p:?}; trying again");
        self.storage.mem1 = None;
        match p {
            // The read, delete or listing that needed the storage is still queued.
            Purpose::SwitchMem(_) => {}
            // The init step is not advanced: it sends its listing again.
            Purpose::List(_) if listing => {}
            Purpose::List(mem) => {
                if !self.work.drains.contains(mem) {
                    self.work.drains.push_front(mem.clone());
                }
            }
            Purpose::Read(loc) => self.work.reads.push_front(loc.clone()),
            // The delete may have been carried out and the slot reused by a new message since:
            // read it again and delete only the same PDU.
            Purpose::Delete(d) => self.work.deletes.push_front(Delete { verify: true, ..d.clone() }),
            Purpose::Usage => self.work.usage_due = true,
            // Unknown whether it took: the next command that needs a setting applies it again.
            Purpose::Cnmi(_) => self.cnmi.now = None,
            Purpose::Init | Purpose::Ack => return false,
        }
        true
    }
}
