//! The SMS intake: a sans-I/O state machine that brings the modem up (TS 27.005 §3) and moves
//! every received PDU to durable storage before deleting (`+CMGD`) or acknowledging (`+CNMA`)
//! it. Responses, URCs, durable answers and time go in; commands, PDUs to hand over and state
//! changes come out. It sends one command at a time and arms a timer only while it waits for
//! something (a retry pause, the ready URC), so an idle modem costs no wake-ups.
//!
//! Crash safety: a stored message stays on the modem until its `durable` answer; after any
//! restart `+CMGL=4` hands over every leftover again (duplicates are the store's to drop).
//!
//! A store that refuses (a full disk) loses nothing and needs no restart: what it refused stays
//! on the modem (not deleted, a routed one not acknowledged, so the network sends it again), a
//! routing modem is switched to store mode, and storage is listed again after a pause that
//! doubles up to a cap, for as long as something waits, and at once when a hand-over succeeds.

use super::at::response::split_fields;
use super::at::response::{
    parse_cind_smsfull, parse_cpms_test, parse_cpms_usage, parse_int_ranges, ParamRanges,
};
use super::at::{Command, FinalResult, PduUrcKind, RawPdu, Response, Urc};
use super::pending::{PendingReads, Pushed};
use super::profile::{Profile, Route};
use super::state::ModemState;
use super::Location;
use crate::backoff::Backoff;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// `AT` probes before the modem counts as not responding.
const PROBE_TRIES: u32 = 5;
/// `+CPIN?` / `+CPMS` tries while the SIM initialises (oFono: 10 × 1 s for CPMS).
const SIM_TRIES: u32 = 10;
const SIM_RETRY_PAUSE: Duration = Duration::from_secs(1);
/// Routed PDUs that the modem acknowledged by itself (service 0) and the store refused: the
/// only copy, held for the next offer, up to this many.
const MAX_HELD_ROUTED: usize = 32;
/// After a routed PDU went unacknowledged the modem may turn routing off when its own wait for
/// `+CNMA` ends (TS 27.005 §3.4.4), undoing store mode: offers (which apply store mode again)
/// go on for this long even with nothing on the modem.
const ROUTED_REFUSAL_GRACE: Duration = Duration::from_secs(120);
/// After a failed init: 30 s, doubling up to 5 minutes.
const FAILED_BACKOFF: Backoff = Backoff::new(30_000, 300_000);
/// `+CMS ERROR: 321`: invalid memory index — also an empty slot or an empty list.
const CMS_INVALID_INDEX: u32 = 321;
/// `+CMS ERROR: 322`: memory full.
const CMS_MEMORY_FULL: u32 = 322;
/// `+CMS ERROR: 305`: invalid text mode parameter — the modem is in text mode (TS 27.005 §3.2.5).
const CMS_INVALID_TEXT_PARAM: u32 = 305;
/// More notifications than this pending for one storage are read with one `+CMGL=4`
/// (TS 27.005 §3.4.2) instead of one `+CMGR` each.
pub const READ_BATCH: usize = 4;

/// How soon the intake offers the store again what it refused: a pause doubling from `first`
/// up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreRetry {
    pub first: Duration,
    pub max: Duration,
}

impl StoreRetry {
    fn backoff(&self) -> Backoff {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Backoff::new(ms(self.first), ms(self.max))
    }
}

impl Default for StoreRetry {
    fn default() -> Self {
        StoreRetry { first: Duration::from_secs(2), max: Duration::from_secs(30) }
    }
}

/// What the intake asks its shell to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Submit this command to the AT engine.
    Send(Command),
    /// Hand this PDU to durable storage; answer with [`Intake::on_durable`] and the same
    /// token.
    HandOver { token: u64, pdu: RawPdu, location: Option<Location> },
    /// Publish a new state.
    State(ModemState),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Probe(u32),
    Echo,
    Cmee,
    Extra(usize),
    Cpin(u32),
    AwaitReady,
    Csms,
    Cmgf,
    CpmsTest(u32),
    CpmsSet(u32, bool),
    Cind,
    CnmiTest,
    CnmiSet(usize),
    Usage,
    List(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    Disconnected,
    Init(Step),
    Ready,
    SimLocked,
    Failed,
}

/// What the command in flight is for, once the intake is ready.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Purpose {
    Init,
    SwitchMem(String),
    Read(Location),
    List(String),
    Delete(Delete),
    Ack,
    Cnmi([u8; 5]),
    Usage,
}

/// Messages in a storage (`<used>`/`<total>`, TS 27.005 §3.2.2), as the last `+CPMS` answer
/// gave them and tracked since from `+CMTI` and `+CMGD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Count {
    used: u32,
    total: u32,
}

/// A message made durable, to delete. `verify`: the modem was re-initialised since it was read,
/// so read it again and delete only if the slot still holds the same PDU.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Delete {
    loc: Location,
    pdu: Vec<u8>,
    verify: bool,
}

#[derive(Debug, Clone)]
struct InHand {
    pdu: RawPdu,
    loc: Option<Location>,
    epoch: u64,
    /// A routed `+CMT`/`+CDS` that the modem expects `+CNMA` for.
    needs_ack: bool,
}

/// The store refused a hand-over and has accepted none since.
#[derive(Debug)]
struct Refusing {
    since: Instant,
    /// The next offer of what waits; `None` while nothing is known to wait.
    at: Option<Instant>,
    /// The pause before that offer, doubling per offer.
    backoff: Backoff,
    /// When a routed PDU was last left unacknowledged.
    routed_refused: Option<Instant>,
}

/// The intake state machine. See the module doc.
#[derive(Debug)]
pub struct Intake {
    profile: Profile,
    phase: Phase,
    state: Option<ModemState>,
    actions: VecDeque<Action>,
    /// A command of ours is in the engine.
    awaiting: Option<Purpose>,
    /// Responses still to come for commands sent before a re-init: ignored.
    stale: u32,
    /// A pause in the init sequence (retry, ready URC) ends here.
    pause: Option<Instant>,
    failed_backoff: Backoff,
    epoch: u64,
    timeouts_in_row: u32,
    /// `ATE0` was accepted and no later init command was echoed: an echo in the ready phase
    /// means the modem reset its settings. `Some(false)`: echo stays on (a quirk).
    echo_off: Option<bool>,
    boot_seen: bool,
    ready_seen: bool,
    /// `+CSMS` service 1: routed messages need `+CNMA`.
    service1: bool,
    cpms_groups: Vec<Vec<String>>,
    store: Option<String>,
    list_mems: Vec<String>,
    mem1: Option<String>,
    /// The `<mem3>` (where new messages go) set by the init, if it set all three.
    mem3: Option<String>,
    cnmi_ranges: Option<ParamRanges>,
    cnmi_list: Vec<[u8; 5]>,
    smsfull_ind: Option<u32>,
    next_token: u64,
    in_hand: HashMap<u64, InHand>,
    refusing: Option<Refusing>,
    held: VecDeque<RawPdu>,
    /// The `+CNMI` setting the init chose, and the one the modem has (as far as we know).
    cnmi_base: Option<[u8; 5]>,
    cnmi_now: Option<[u8; 5]>,
    reads: PendingReads,
    deletes: VecDeque<Delete>,
    acks: u32,
    drains: VecDeque<String>,
    /// Deletions were made (or one failed): `+CPMS?` once the work is done, to check the counts
    /// and `<mem3>` (a silent reset).
    usage_due: bool,
    /// Per storage, while known.
    counts: HashMap<String, Count>,
    store_retry: StoreRetry,
}

impl Intake {
    pub fn new(profile: Profile) -> Intake {
        Intake {
            profile,
            phase: Phase::Disconnected,
            state: None,
            actions: VecDeque::new(),
            awaiting: None,
            stale: 0,
            pause: None,
            failed_backoff: FAILED_BACKOFF,
            epoch: 0,
            timeouts_in_row: 0,
            echo_off: None,
            boot_seen: false,
            ready_seen: false,
            service1: false,
            cpms_groups: Vec::new(),
            store: None,
            list_mems: Vec::new(),
            mem1: None,
            mem3: None,
            cnmi_ranges: None,
            cnmi_list: Vec::new(),
            smsfull_ind: None,
            next_token: 1,
            in_hand: HashMap::new(),
            refusing: None,
            held: VecDeque::new(),
            cnmi_base: None,
            cnmi_now: None,
            reads: PendingReads::default(),
            deletes: VecDeque::new(),
            acks: 0,
            drains: VecDeque::new(),
            usage_due: false,
            counts: HashMap::new(),
            store_retry: StoreRetry::default(),
        }
    }

    /// Sets the pauses between offers of what the store refused.
    pub fn with_store_retry(mut self, r: StoreRetry) -> Intake {
        self.store_retry = r;
        self
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`on_timeout`](Self::on_timeout) must be called; `None` while idle.
    pub fn next_deadline(&self) -> Option<Instant> {
        let retry = self.refusing.as_ref().and_then(|r| r.at);
        match (self.pause, retry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// PDUs handed over and not yet answered.
    pub fn in_hand(&self) -> usize {
        self.in_hand.len()
    }

    /// Whether the store refused the last hand-over (what it refused waits on the modem).
    pub fn store_refusing(&self) -> bool {
        self.refusing.is_some()
    }

    pub fn is_ready(&self) -> bool {
        self.phase == Phase::Ready
    }

    /// Stored-message notifications waiting to be read (at most
    /// [`PENDING_READS_CAP`](super::pending::PENDING_READS_CAP) + 1).
    pub fn pending_reads(&self) -> usize {
        self.reads.len()
    }

    fn set_state(&mut self, s: ModemState) {
        if self.state.as_ref() != Some(&s) {
            log::info!("modem: state {s}");
            self.state = Some(s.clone());
            self.actions.push_back(Action::State(s));
        }
    }

    fn send(&mut self, cmd: Command, purpose: Purpose) {
        self.awaiting = Some(purpose);
        self.actions.push_back(Action::Send(cmd));
    }

    /// The port is open: initialise.
    pub fn on_connected(&mut self, now: Instant) {
        self.stale = 0;
        self.awaiting = None;
        self.start_init(now, false);
    }

    /// The port closed. Commands in the engine are gone with it.
    pub fn on_disconnected(&mut self) {
        self.phase = Phase::Disconnected;
        self.awaiting = None;
        self.stale = 0;
        self.pause = None;
        self.forget_modem_state();
        self.set_state(ModemState::NoDevice);
    }

    /// The host resumed from suspend: notifications the modem sent meanwhile are lost, so
    /// every storage is listed again (`+CMGL=4`), as after a re-init. An init under way lists
    /// them anyway; what is queued here then only repeats that (the store drops duplicates).
    pub fn on_resume(&mut self, now: Instant) {
        log::info!("modem: the system resumed; listing storage for messages stored meanwhile");
        self.request_drain();
        self.advance(now);
    }

    fn forget_modem_state(&mut self) {
        self.epoch += 1;
        self.mem1 = None;
        self.cnmi_now = None;
        self.reads.clear();
        self.drains.clear();
        self.acks = 0;
        self.usage_due = false;
        self.counts.clear();
        for d in &mut self.deletes {
            d.verify = true;
        }
    }

    fn start_init(&mut self, now: Instant, boot: bool) {
        if self.awaiting.take().is_some() {
            self.stale += 1;
        }
        self.forget_modem_state();
        self.boot_seen = boot;
        if boot {
            self.ready_seen = false;
        }
        self.pause = None;
        self.timeouts_in_row = 0;
        self.echo_off = None;
        self.service1 = false;
        self.set_state(if boot { ModemState::Resetting } else { ModemState::Initializing });
        self.phase = Phase::Init(Step::Probe(0));
        self.advance(now);
    }

    fn fail(&mut self, reason: &str, now: Instant) {
        let wait = Duration::from_millis(self.failed_backoff.next());
        log::error!("modem: {reason}; retrying in {wait:?}");
        self.set_state(ModemState::error(reason));
        self.phase = Phase::Failed;
        self.pause = Some(now + wait);
    }

    /// A timer armed by [`next_deadline`](Self::next_deadline) expired.
    pub fn on_timeout(&mut self, now: Instant) {
        if self.refusing.as_ref().and_then(|r| r.at).is_some_and(|t| t <= now) {
            self.offer_again(now);
        }
        if self.pause.is_some_and(|p| p <= now) {
            self.pause = None;
            match self.phase {
                Phase::Failed => self.start_init(now, false),
                Phase::Init(Step::AwaitReady) => {
                    log::warn!(
                        "modem: no {:?} within {:?}; going on",
                        self.profile.init.ready_urc,
                        self.profile.ready_timeout()
                    );
                    self.phase = Phase::Init(Step::Csms);
                }
                _ => {}
            }
        }
        self.advance(now);
    }

    fn hand_over_new(&mut self, pdu: RawPdu, loc: Option<Location>, needs_ack: bool) {
        let token = self.next_token;
        self.next_token += 1;
        self.actions.push_back(Action::HandOver { token, pdu: pdu.clone(), location: loc.clone() });
        self.in_hand.insert(token, InHand { pdu, loc, epoch: self.epoch, needs_ack });
    }

    /// Offers the store again what waits: storage is listed (`+CMGL=4` hands over every
    /// leftover) and held routed PDUs go again. A routing modem gets store mode again, in case
    /// it turned routing off after a missed `+CNMA`.
    fn offer_again(&mut self, now: Instant) {
        let Some(r) = &mut self.refusing else { return };
        r.backoff.next();
        let routed_recent = r.routed_refused.is_some_and(|t| now.duration_since(t) < ROUTED_REFUSAL_GRACE);
        // The next offer is armed by the next refusal; a missed ack may still turn routing off.
        r.at = routed_recent.then(|| now + Duration::from_millis(r.backoff.peek()));
        log::info!("modem: offering the store again what waits on the modem");
        if self.cnmi_base.is_some_and(|b| is_routed(&b)) {
            self.cnmi_now = None;
        }
        self.request_drain();
        for pdu in std::mem::take(&mut self.held) {
            self.hand_over_new(pdu, None, false);
        }
    }

    /// The store refused `h`: it stays where it is, and an offer is armed.
    fn refused(&mut self, h: InHand, e: &str, now: Instant) {
        let backoff = self.store_retry.backoff();
        let routed = self.cnmi_base.is_some_and(|b| is_routed(&b));
        let r = self.refusing.get_or_insert_with(|| {
            log::error!(
                "modem: the store refuses SMS ({e}); they wait on the modem{}",
                if routed { ", switched to store mode (+CNMI <mt> 1)" } else { "" }
            );
            Refusing { since: now, at: None, backoff, routed_refused: None }
        });
        let at = *r.at.get_or_insert(now + Duration::from_millis(r.backoff.peek()));
        let wait = at.saturating_duration_since(now);
        match (&h.loc, h.needs_ack) {
            (Some(loc), _) => {
                log::warn!("modem: could not make an SMS durable ({e}); {loc} stays on the modem, offered again in {wait:?}")
            }
            (None, true) => {
                r.routed_refused = Some(now);
                log::warn!("modem: could not make an SMS durable ({e}); routed, not acknowledged: the network sends it again");
            }
            (None, false) if self.held.len() < MAX_HELD_ROUTED => {
                log::warn!("modem: could not make an SMS durable ({e}); routed, held, offered again in {wait:?}");
                self.held.push_back(h.pdu);
            }
            (None, false) => log::error!(
                "modem: routed SMS lost: could not make it durable ({e}), the modem acknowledged it and {MAX_HELD_ROUTED} are held already"
            ),
        }
    }

    /// The store accepted after refusing: everything that waits is offered now.
    fn store_accepts(&mut self, since: Instant, now: Instant) {
        log::info!(
            "modem: the store accepts SMS again after {:?}; listing storage",
            now.saturating_duration_since(since)
        );
        self.request_drain();
        for pdu in std::mem::take(&mut self.held) {
            self.hand_over_new(pdu, None, false);
        }
    }

    /// The `+CNMI` setting wanted now: the init's choice, or its store-mode form (`<mt>` 1,
    /// status reports stored) while the store refuses and the choice routes.
    fn wanted_cnmi(&self) -> Option<[u8; 5]> {
        let base = self.cnmi_base?;
        if self.refusing.is_none() || !is_routed(&base) {
            return Some(base);
        }
        let ds_stored = self
            .cnmi_ranges
            .as_ref()
            .is_none_or(|r| r.get(3).is_some_and(|rs| rs.iter().any(|x| x.contains(&2))));
        let ds = match base[3] {
            1 if ds_stored => 2,
            1 => 0,
            d => d,
        };
        Some([base[0], 1, base[2], ds, base[4]])
    }

    /// Whether a stored message at `loc` is already being handled (MM ignores a repeated
    /// `+CMTI` for an index it holds).
    fn knows(&self, loc: &Location, pdu: Option<&[u8]>) -> bool {
        let same = |l: &Location, p: &[u8]| l == loc && pdu.is_none_or(|x| x == p);
        self.in_hand.values().any(|h| h.loc.as_ref().is_some_and(|l| same(l, h.pdu.bytes())))
            || self.deletes.iter().any(|d| same(&d.loc, &d.pdu))
    }

    /// The durable store answered for a handed-over PDU.
    pub fn on_durable(&mut self, token: u64, result: Result<(), String>, now: Instant) {
        let Some(h) = self.in_hand.remove(&token) else { return };
        match result {
            Ok(()) => {
                if let Some(loc) = h.loc {
                    let verify = h.epoch != self.epoch;
                    self.deletes.push_back(Delete { loc, pdu: h.pdu.into_bytes(), verify });
                } else if h.needs_ack && h.epoch == self.epoch {
                    self.acks += 1;
                }
                if let Some(r) = self.refusing.take() {
                    self.store_accepts(r.since, now);
                }
            }
            Err(e) => self.refused(h, &e, now),
        }
        self.advance(now);
    }

    /// A URC from the engine.
    pub fn on_urc(&mut self, urc: Urc, now: Instant) {
        match urc {
            Urc::MessageStored { mem, index } | Urc::StatusReportStored { mem, index } => {
                self.on_stored_notification(Location { mem, index })
            }
            Urc::Pdu { kind: PduUrcKind::Broadcast, .. } => log::info!("modem: cell broadcast page ignored"),
            Urc::Pdu { kind, pdu } => {
                let needs_ack = self.service1 && self.profile.cnma().is_some();
                log::debug!("modem: routed {kind:?} of {} octets", pdu.bytes().len());
                self.hand_over_new(pdu, None, needs_ack);
            }
            Urc::Indicator { ind, value } => {
                if Some(ind) == self.smsfull_ind && value == 1 {
                    self.storage_full("+CIEV");
                }
            }
            Urc::Error(FinalResult::CmsError(Some(CMS_MEMORY_FULL))) => self.storage_full("+CMS ERROR: 322"),
            Urc::Error(e) => log::debug!("modem: unsolicited {e}"),
            Urc::Line(line) => self.on_line_urc(&line, now),
        }
        self.advance(now);
    }

    fn on_line_urc(&mut self, line: &str, now: Instant) {
        if self.profile.is_boot_urc(line) {
            log::warn!("modem: reset reported ({line}); re-initialising");
            self.start_init(now, true);
        } else if self.profile.init.ready_urc.as_deref().is_some_and(|r| line.starts_with(r)) {
            self.ready_seen = true;
            if self.phase == Phase::Init(Step::AwaitReady) {
                self.pause = None;
                self.phase = Phase::Init(Step::Csms);
            }
        } else if line.starts_with("+CPIN: READY") && self.phase == Phase::SimLocked {
            log::info!("modem: SIM unlocked; re-initialising");
            self.start_init(now, false);
        } else {
            log::debug!("modem: URC ignored: {line}");
        }
    }

    /// A storage-full sign. Storage holding only messages already in hand needs no listing
    /// (a storage larger than the burst refills after every delete and says so each time); one
    /// with messages nobody notified is listed, and so is every storage if the counts do not
    /// show a full one (they are stale).
    fn storage_full(&mut self, sign: &str) {
        let counted_full =
            self.list_mems.iter().any(|m| self.counts.get(m).is_some_and(|c| c.used >= c.total));
        let todo: Vec<String> =
            self.list_mems.iter().filter(|m| !counted_full || !self.all_known(m)).cloned().collect();
        if todo.is_empty() {
            log::debug!("modem: SMS storage full ({sign}); every message in it is being handled");
            return;
        }
        log::warn!("modem: SMS storage full ({sign}); listing {}", todo.join(", "));
        for m in todo {
            self.queue_drain(m);
        }
    }

    /// Whether the count of `mem` is known and covers no message beyond those being handled
    /// (pending reads, in hand, to delete, in flight, or a listing of it in flight).
    fn all_known(&self, mem: &str) -> bool {
        let Some(c) = self.counts.get(mem) else { return false };
        if matches!(&self.awaiting, Some(Purpose::List(m)) if m == mem) {
            return true;
        }
        let in_flight = match &self.awaiting {
            Some(Purpose::Read(l)) => l.mem == mem,
            Some(Purpose::Delete(d)) => d.loc.mem == mem,
            _ => false,
        };
        let known = self.reads.count_in(mem)
            + self.in_hand.values().filter(|h| h.loc.as_ref().is_some_and(|l| l.mem == mem)).count()
            + self.deletes.iter().filter(|d| d.loc.mem == mem).count()
            + usize::from(in_flight);
        c.used as usize <= known
    }

    fn count_stored(&mut self, mem: &str) {
        if let Some(c) = self.counts.get_mut(mem) {
            c.used = (c.used + 1).min(c.total);
        }
    }

    fn request_drain(&mut self) {
        for m in self.list_mems.clone() {
            self.queue_drain(m);
        }
    }

    fn queue_drain(&mut self, mem: String) {
        if !self.drains.contains(&mem) {
            self.drains.push_back(mem);
        }
    }

    /// `+CMTI`/`+CDSI`: O(1) per notification, bounded (see [`PendingReads`]).
    fn on_stored_notification(&mut self, loc: Location) {
        if self.drains.contains(&loc.mem) {
            self.count_stored(&loc.mem);
            // A listing of that storage is still to come and will find it.
            return;
        }
        if self.knows(&loc, None) {
            // A slot we read and still hold is reported again: a repeated URC, or the slot
            // holds another message than we think. Delete only after reading the same PDU
            // there again, and list the storage for whatever else it holds.
            log::info!("modem: notification for {loc}, which is already handled; re-listing");
            for d in self.deletes.iter_mut().filter(|d| d.loc == loc) {
                d.verify = true;
            }
            // A PDU still in hand counts as read before a re-init: its delete verifies too.
            let earlier = self.epoch.wrapping_sub(1);
            for h in self.in_hand.values_mut().filter(|h| h.loc.as_ref() == Some(&loc)) {
                h.epoch = earlier;
            }
            if self.list_mems.contains(&loc.mem) {
                self.queue_drain(loc.mem);
            }
            return;
        }
        let mem = loc.mem.clone();
        match self.reads.push(loc) {
            Pushed::Added => self.count_stored(&mem),
            Pushed::Duplicate => log::debug!("modem: repeated notification"),
            Pushed::Overflow => {
                log::warn!(
                    "modem: more than {} notifications pending; listing the storage instead",
                    super::pending::PENDING_READS_CAP
                );
                self.request_drain();
            }
        }
    }

    /// The engine finished a command.
    pub fn on_response(&mut self, r: Response, now: Instant) {
        if self.stale > 0 {
            self.stale -= 1;
            return;
        }
        let Some(purpose) = self.awaiting.take() else {
            log::debug!("modem: response to {} not awaited", r.command);
            return;
        };
        if r.result == FinalResult::Timeout {
            self.timeouts_in_row += 1;
            let probing = matches!(self.phase, Phase::Init(Step::Probe(_)));
            if self.timeouts_in_row >= 2 && !probing {
                log::warn!("modem: two commands timed out in a row; re-initialising");
                self.start_init(now, false);
                return;
            }
        } else if !matches!(purpose, Purpose::SwitchMem(_)) {
            // A storage selection between two timeouts does not end the row.
            self.timeouts_in_row = 0;
        }
        if let Some(why) = self.reveals_reset(&r) {
            log::warn!(
                "modem: {} shows {why}: the modem reset without a boot URC; re-initialising",
                r.command
            );
            self.start_init(now, false);
            return;
        }
        if r.result == FinalResult::Timeout && self.requeue_timed_out(&purpose) {
            self.advance(now);
            return;
        }
        match (&self.phase, purpose) {
            (Phase::Init(step), Purpose::Init) => {
                let step = *step;
                self.init_response(step, &r, now);
            }
            (Phase::Init(_), Purpose::List(mem)) | (Phase::Ready, Purpose::List(mem)) => {
                self.list_response(&mem, &r);
                if let Phase::Init(Step::List(i)) = self.phase {
                    self.phase = Phase::Init(Step::List(i + 1));
                }
            }
            (Phase::Init(_), Purpose::SwitchMem(mem)) | (Phase::Ready, Purpose::SwitchMem(mem)) => {
                if r.result.is_ok() {
                    // The set command answers `+CPMS: <used1>,<total1>,…` (TS 27.005 §3.2.2).
                    let u = r.line("+CPMS:").and_then(|l| parse_cpms_usage(l).ok());
                    if let Some(u) = u.as_ref().and_then(|u| u.first()) {
                        self.counts.insert(mem.clone(), Count { used: u.used, total: u.total });
                    }
                    self.mem1 = Some(mem);
                } else {
                    log::warn!("modem: cannot select storage {mem}: {}; skipping its work", r.result);
                    self.reads.forget_mem(&mem);
                    self.deletes.retain(|d| d.loc.mem != mem);
                    self.drains.retain(|m| *m != mem);
                    if let Phase::Init(Step::List(i)) = self.phase {
                        self.phase = Phase::Init(Step::List(i + 1));
                    }
                }
            }
            (Phase::Ready, p) => self.ready_response(p, &r),
            (phase, p) => log::debug!("modem: response for {p:?} in {phase:?} dropped"),
        }
        self.advance(now);
    }

    fn init_response(&mut self, step: Step, r: &Response, now: Instant) {
        let ok = r.result.is_ok();
        let next = match step {
            Step::Probe(n) if !ok => {
                if n + 1 >= PROBE_TRIES {
                    self.fail("modem does not answer AT", now);
                    return;
                }
                Step::Probe(n + 1)
            }
            Step::Probe(_) => Step::Echo,
            Step::Echo => {
                self.echo_off = ok.then_some(true);
                Step::Cmee
            }
            Step::Cmee => Step::Extra(0),
            Step::Extra(i) => {
                if !ok {
                    log::warn!("modem: init command {} failed: {}", r.command, r.result);
                }
                Step::Extra(i + 1)
            }
            Step::Cpin(n) => match self.cpin(r, n, now) {
                Some(s) => s,
                None => return,
            },
            Step::AwaitReady => Step::AwaitReady,
            Step::Csms => {
                if !ok && self.service1 {
                    log::warn!("modem: +CSMS=1 refused ({}); using service 0, no +CNMA", r.result);
                    self.service1 = false;
                    self.send(Command::set_ints("+CSMS", &[0], &["+CSMS:"]), Purpose::Init);
                    return;
                }
                if !ok {
                    log::warn!("modem: +CSMS failed: {}", r.result);
                }
                Step::Cmgf
            }
            Step::Cmgf if !ok => {
                self.fail(&format!("PDU mode (+CMGF=0) refused: {}", r.result), now);
                return;
            }
            Step::Cmgf => Step::CpmsTest(0),
            Step::CpmsTest(n) => {
                if let Some(l) = r.line("+CPMS:").filter(|_| ok) {
                    self.cpms_groups = parse_cpms_test(l);
                    Step::CpmsSet(0, true)
                } else if n + 1 < SIM_TRIES {
                    self.pause_then(now, SIM_RETRY_PAUSE, Step::CpmsTest(n + 1));
                    return;
                } else {
                    log::warn!("modem: +CPMS=? failed: {}; trying the profile's storage", r.result);
                    Step::CpmsSet(0, true)
                }
            }
            Step::CpmsSet(n, three) => {
                if ok {
                    self.mem1 = self.store.clone();
                    self.mem3 = if three { self.store.clone() } else { None };
                    Step::Cind
                } else if three {
                    Step::CpmsSet(n, false)
                } else if n + 1 < SIM_TRIES {
                    self.pause_then(now, SIM_RETRY_PAUSE, Step::CpmsSet(n + 1, true));
                    return;
                } else {
                    log::warn!("modem: +CPMS refused: {}; using the modem's default storage", r.result);
                    Step::Cind
                }
            }
            Step::Cind => {
                self.smsfull_ind = r.line("+CIND:").and_then(parse_cind_smsfull);
                Step::CnmiTest
            }
            Step::CnmiTest => {
                self.cnmi_ranges = r.line("+CNMI:").and_then(|l| parse_int_ranges(l, "+CNMI:").ok());
                self.cnmi_list = self.cnmi_choices();
                Step::CnmiSet(0)
            }
            Step::CnmiSet(i) => {
                if ok {
                    self.cnmi_base = self.cnmi_list.get(i).copied();
                    self.cnmi_now = self.cnmi_base;
                    Step::Usage
                } else if i + 1 < self.cnmi_list.len() {
                    Step::CnmiSet(i + 1)
                } else {
                    self.fail("no +CNMI setting accepted", now);
                    return;
                }
            }
            Step::Usage => {
                self.log_usage(r);
                Step::List(0)
            }
            Step::List(i) => Step::List(i + 1),
        };
        self.phase = Phase::Init(next);
    }

    fn cpin(&mut self, r: &Response, n: u32, now: Instant) -> Option<Step> {
        let code = r.line("+CPIN:").map(|l| l.trim_start_matches("+CPIN:").trim().to_string());
        match (code.as_deref(), &r.result) {
            (Some("READY"), _) => Some(Step::AwaitReady),
            (Some(c), _) if c.contains("PIN") || c.contains("PUK") => {
                log::error!("modem: the SIM wants {c}; waiting for +CPIN: READY");
                self.phase = Phase::SimLocked;
                self.set_state(ModemState::SimLocked);
                None
            }
            (_, FinalResult::CmeError(Some(11 | 12 | 17 | 18))) => {
                self.phase = Phase::SimLocked;
                self.set_state(ModemState::SimLocked);
                None
            }
            (_, FinalResult::CmeError(Some(10))) => {
                self.fail("no SIM card", now);
                None
            }
            _ if n + 1 < SIM_TRIES => {
                self.pause_then(now, SIM_RETRY_PAUSE, Step::Cpin(n + 1));
                None
            }
            _ => {
                self.fail(&format!("SIM not ready: {}", r.result), now);
                None
            }
        }
    }

    fn pause_then(&mut self, now: Instant, d: Duration, step: Step) {
        self.phase = Phase::Init(step);
        self.pause = Some(now + d);
    }

    /// The profile's candidates that fit the advertised `+CNMI=?` ranges (all of them if the
    /// modem printed nothing usable: some modems lie, the set command decides).
    fn cnmi_choices(&self) -> Vec<[u8; 5]> {
        let all = self.profile.init.cnmi_candidates.clone();
        let Some(ranges) = &self.cnmi_ranges else { return all };
        let fits = |c: &[u8; 5]| {
            c.iter().zip(ranges.iter()).all(|(v, rs)| rs.iter().any(|r| r.contains(&i32::from(*v))))
        };
        let chosen: Vec<_> = all.iter().copied().filter(fits).collect();
        if chosen.is_empty() {
            all
        } else {
            chosen
        }
    }

    fn choose_storage(&mut self) {
        let prefs = self.profile.init.storage.clone();
        let g = &self.cpms_groups;
        let in_group = |i: usize, m: &String| g.get(i).is_none_or(|l| l.is_empty() || l.contains(m));
        let store = prefs
            .iter()
            .find(|m| in_group(0, m) && in_group(1, m) && in_group(2, m))
            .or_else(|| prefs.iter().find(|m| in_group(0, m)))
            .or(prefs.first())
            .cloned();
        let mut list = Vec::new();
        if let Some(s) = &store {
            list.push(s.clone());
        }
        for m in &prefs {
            if in_group(0, m) && !list.contains(m) {
                list.push(m.clone());
            }
        }
        self.store = store;
        self.list_mems = list;
    }

    /// Logs and records a `+CPMS?` answer; `false` if it had no usage.
    fn log_usage(&mut self, r: &Response) -> bool {
        let Some(line) = r.line("+CPMS:") else { return false };
        match parse_cpms_usage(line) {
            Ok(u) => {
                let text: Vec<String> =
                    u.iter().map(|s| format!("{} {}/{}", s.mem, s.used, s.total)).collect();
                log::info!("modem: SMS storage {}", text.join(", "));
                for s in u.iter().filter(|s| !s.mem.is_empty()) {
                    self.counts.insert(s.mem.clone(), Count { used: s.used, total: s.total });
                }
                if u.iter().any(|s| s.is_full()) {
                    log::warn!("modem: SMS storage full; draining");
                    self.request_drain();
                }
                true
            }
            Err(e) => {
                log::warn!("modem: {e}");
                false
            }
        }
    }

    fn list_response(&mut self, mem: &str, r: &Response) {
        match &r.result {
            FinalResult::CmsError(Some(CMS_INVALID_INDEX)) => return,
            res if !res.is_ok() => {
                log::warn!("modem: listing {mem} failed: {res}");
                return;
            }
            _ => {}
        }
        for line in &r.lines {
            let Some((index, pdu)) = line.pdu.as_ref().and_then(|p| Some((p.index()?, p))) else {
                log::warn!("modem: +CMGL entry without index or PDU: {:?}", line.text);
                continue;
            };
            let loc = Location { mem: mem.to_string(), index };
            if !self.knows(&loc, Some(pdu.bytes())) {
                log::info!("modem: leftover SMS {loc}");
                self.hand_over_new(pdu.clone(), Some(loc), false);
            }
        }
    }

    fn ready_response(&mut self, p: Purpose, r: &Response) {
        match p {
            Purpose::Read(loc) => {
                let entry = r.lines.first().filter(|_| r.result.is_ok());
                match entry.and_then(|l| l.pdu.clone()) {
                    Some(pdu) => self.hand_over_new(pdu, Some(loc), false),
                    None if matches!(r.result, FinalResult::CmsError(Some(CMS_INVALID_INDEX)))
                        || (r.result.is_ok() && r.lines.is_empty()) =>
                    {
                        log::warn!("modem: {loc} is empty")
                    }
                    None => {
                        log::warn!("modem: reading {loc} failed ({}); listing {} instead", r.result, loc.mem);
                        if !self.drains.contains(&loc.mem) {
                            self.drains.push_back(loc.mem);
                        }
                    }
                }
            }
            Purpose::Delete(d) => {
                if d.verify {
                    // This was the verifying read; the delete itself follows.
                    let same = r.lines.first().and_then(|l| Some(l.pdu.as_ref()?.bytes() == d.pdu));
                    if same == Some(true) {
                        self.deletes.push_front(Delete { verify: false, ..d });
                    } else {
                        log::info!("modem: {} no longer holds the stored PDU; not deleting", d.loc);
                    }
                } else if r.result.is_ok() {
                    log::debug!("modem: deleted {}", d.loc);
                    if let Some(c) = self.counts.get_mut(&d.loc.mem) {
                        c.used = c.used.saturating_sub(1);
                    }
                    self.usage_due = true;
                } else {
                    log::warn!("modem: deleting {} failed: {}", d.loc, r.result);
                    self.counts.remove(&d.loc.mem);
                    self.usage_due = true;
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
                    self.cnmi_now = Some(v);
                }
            }
            Purpose::Usage => {
                if self.log_usage(r) {
                    // Messages stored without a notification (one lost, or `+CNMI` reset).
                    for m in self.list_mems.clone() {
                        if !self.all_known(&m) && self.counts.contains_key(&m) {
                            log::info!("modem: {m} holds messages nobody notified; listing it");
                            self.queue_drain(m);
                        }
                    }
                }
            }
            other => log::debug!("modem: unexpected response for {other:?}"),
        }
    }

    /// Sends the next command if nothing is in flight and nothing pauses.
    fn advance(&mut self, now: Instant) {
        while self.awaiting.is_none() && self.pause.is_none() {
            match self.phase.clone() {
                Phase::Init(step) if !self.init_command(step, now) => continue,
                Phase::Ready => self.ready_command(),
                _ => {}
            }
            return;
        }
    }

    /// Issues the command of an init step; `false` if the step was skipped (phase changed).
    fn init_command(&mut self, step: Step, now: Instant) -> bool {
        let cmd = match step {
            Step::Probe(_) => Command::probe(),
            Step::Echo => Command::raw("ATE0"),
            Step::Cmee => Command::set_ints("+CMEE", &[1], &[]),
            Step::Extra(i) => match self.profile.init.extra.get(i) {
                Some(c) => Command::raw(c),
                None => {
                    self.phase = Phase::Init(Step::Cpin(0));
                    return false;
                }
            },
            Step::Cpin(_) => Command::query("+CPIN", "+CPIN:"),
            Step::AwaitReady => {
                let waits = self.profile.init.ready_urc.is_some() && self.boot_seen && !self.ready_seen;
                if waits {
                    self.pause = Some(now + self.profile.ready_timeout());
                    return true;
                }
                self.phase = Phase::Init(Step::Csms);
                return false;
            }
            Step::Csms => {
                self.service1 = self.profile.init.route == Route::Route && self.profile.cnma().is_some();
                Command::set_ints("+CSMS", &[i32::from(self.service1)], &["+CSMS:"])
            }
            Step::Cmgf => Command::set_ints("+CMGF", &[0], &[]),
            Step::CpmsTest(_) => Command::test("+CPMS", "+CPMS:"),
            Step::CpmsSet(_, three) => {
                self.choose_storage();
                let s = self.store.clone().unwrap_or_else(|| "SM".into());
                if three {
                    Command::cpms_set(&[&s, &s, &s])
                } else {
                    Command::cpms_set(&[&s])
                }
            }
            Step::Cind => Command::test("+CIND", "+CIND:"),
            Step::CnmiTest => Command::test("+CNMI", "+CNMI:"),
            Step::CnmiSet(i) => match self.cnmi_list.get(i) {
                Some(c) => {
                    let v: Vec<i32> = c.iter().map(|x| i32::from(*x)).collect();
                    Command::set_ints("+CNMI", &v, &[])
                }
                None => {
                    self.fail("no +CNMI candidates", now);
                    return true;
                }
            },
            Step::Usage => Command::query("+CPMS", "+CPMS:"),
            Step::List(i) => match self.list_mems.get(i).cloned() {
                Some(mem) => {
                    if self.mem1.as_deref() != Some(mem.as_str()) {
                        self.send(Command::cpms_set(&[&mem]), Purpose::SwitchMem(mem));
                    } else {
                        self.send(Command::cmgl(4), Purpose::List(mem));
                    }
                    return true;
                }
                None => {
                    self.phase = Phase::Ready;
                    self.failed_backoff.reset();
                    self.set_state(ModemState::Ready);
                    return false;
                }
            },
        };
        self.send(cmd, Purpose::Init);
        true
    }

    /// Picks the next piece of work: acknowledgements first (the modem waits for them), then
    /// deletions (free storage), reads, drains, and a usage check.
    fn ready_command(&mut self) {
        if self.acks > 0 {
            self.acks -= 1;
            if let Some(c) = self.profile.cnma() {
                let c = Command::raw(c);
                self.send(c, Purpose::Ack);
                return;
            }
        }
        if let Some(want) = self.wanted_cnmi().filter(|w| self.cnmi_now != Some(*w)) {
            let v: Vec<i32> = want.iter().map(|x| i32::from(*x)).collect();
            self.send(Command::set_ints("+CNMI", &v, &[]), Purpose::Cnmi(want));
            return;
        }
        if let Some(d) = self.deletes.front().cloned() {
            if self.switch_mem(&d.loc.mem) {
                return;
            }
            self.deletes.pop_front();
            let cmd = if d.verify { Command::cmgr(d.loc.index) } else { Command::cmgd(d.loc.index) };
            self.send(cmd, Purpose::Delete(d));
            return;
        }
        if let Some(mem) = self.reads.front().map(|l| l.mem.clone()) {
            let n = self.reads.count_in(&mem);
            if n > READ_BATCH {
                log::debug!("modem: {n} notifications pending for {mem}; listing it once");
                self.reads.forget_mem(&mem);
                self.queue_drain(mem);
            }
        }
        // Listings before single reads: a listing requested after a notification overflow
        // must not wait behind a steady stream of new notifications.
        if let Some(mem) = self.drains.front().cloned() {
            if self.switch_mem(&mem) {
                return;
            }
            self.drains.pop_front();
            self.send(Command::cmgl(4), Purpose::List(mem));
            return;
        }
        while let Some(loc) = self.reads.front().cloned() {
            if self.knows(&loc, None) {
                self.reads.pop_front();
                continue;
            }
            if self.switch_mem(&loc.mem) {
                return;
            }
            self.reads.pop_front();
            self.send(Command::cmgr(loc.index), Purpose::Read(loc));
            return;
        }
        // Once per burst, when everything is done: the counts and `<mem3>` are checked.
        if self.usage_due && self.in_hand.is_empty() {
            self.usage_due = false;
            self.send(Command::query("+CPMS", "+CPMS:"), Purpose::Usage);
            return;
        }
        self.on_idle();
    }

    /// Nothing to send. The modem may reset silently while nobody talks to it, and a `+CMGD`
    /// to the default storage it came back with would delete the wrong message: the next
    /// piece of work selects its storage again (and that command's answer shows the reset).
    fn on_idle(&mut self) {
        self.mem1 = None;
    }

    /// A command of the ready phase (or of the init's listing) got no answer: its work goes
    /// back to the front of its queue, and the storage selection is forgotten (the modem may or
    /// may not have carried out a `+CPMS`), so the next command selects it again. `false` if
    /// the timeout is left to the usual handling.
    fn requeue_timed_out(&mut self, p: &Purpose) -> bool {
        let listing = matches!(self.phase, Phase::Init(Step::List(_)));
        if self.phase != Phase::Ready && !listing {
            return false;
        }
        log::warn!("modem: no answer for {p:?}; trying again");
        self.mem1 = None;
        match p {
            // The read, delete or listing that needed the storage is still queued.
            Purpose::SwitchMem(_) => {}
            // The init step is not advanced: it sends its listing again.
            Purpose::List(_) if listing => {}
            Purpose::List(mem) => {
                if !self.drains.contains(mem) {
                    self.drains.push_front(mem.clone());
                }
            }
            Purpose::Read(loc) => self.reads.push_front(loc.clone()),
            Purpose::Delete(d) => self.deletes.push_front(d.clone()),
            Purpose::Usage => self.usage_due = true,
            // Unknown whether it took: the next command that needs a setting applies it again.
            Purpose::Cnmi(_) => self.cnmi_now = None,
            Purpose::Init | Purpose::Ack => return false,
        }
        true
    }

    /// Whether an answer shows settings a modem has only after a reset (ATE0, `+CMGF=0` or
    /// `+CPMS` lost): the echo of the command once `ATE0` held, a text-mode answer to a PDU-mode
    /// command (TS 27.005 §3.2.3), or `+CPMS?` naming another `<mem3>` than the init set. Checked in the ready phase; during init it learns the echo quirk.
    fn reveals_reset(&mut self, r: &Response) -> Option<&'static str> {
        if self.phase != Phase::Ready {
            if r.echoed && self.echo_off == Some(true) {
                log::info!("modem: echo stays on after ATE0 (a quirk); not a reset sign");
                self.echo_off = Some(false);
            }
            return None;
        }
        if r.echoed && self.echo_off == Some(true) {
            return Some("echo on");
        }
        let sms = r.command.starts_with("AT+CMGR") || r.command.starts_with("AT+CMGL");
        if sms && r.result == FinalResult::CmsError(Some(CMS_INVALID_TEXT_PARAM)) {
            return Some("text mode (+CMS ERROR: 305)");
        }
        if r.lines.iter().any(|l| is_text_mode_entry(&l.text)) {
            return Some("a text-mode entry");
        }
        let usage =
            r.line("+CPMS:").filter(|_| r.command == "AT+CPMS?").and_then(|l| parse_cpms_usage(l).ok());
        let mem3 = usage.as_ref().and_then(|u| u.get(2)).map(|u| u.mem.as_str());
        if let (Some(set), Some(now)) = (self.mem3.as_deref(), mem3) {
            if set != now {
                return Some("new messages going to another storage");
            }
        }
        None
    }

    /// Sends `AT+CPMS="<mem>"` if mem1 is another storage (always switch to the storage a
    /// `+CMTI` names before `+CMGR`/`+CMGD`: docs/modem.md, Receiving). `true` if a command was sent.
    fn switch_mem(&mut self, mem: &str) -> bool {
        if self.mem1.as_deref() == Some(mem) {
            return false;
        }
        self.send(Command::cpms_set(&[mem]), Purpose::SwitchMem(mem.to_string()));
        true
    }
}

/// Whether a `+CNMI` setting routes SMS-DELIVERs (`<mt>` 2 or 3, TS 27.005 §3.4.1).
fn is_routed(cnmi: &[u8; 5]) -> bool {
    matches!(cnmi[1], 2 | 3)
}

/// A `+CMGR:`/`+CMGL:` line in text mode: `<stat>` is a quoted string (`"REC UNREAD"`), where
/// PDU mode prints an integer (TS 27.005 §3.4.3, §4.x).
fn is_text_mode_entry(line: &str) -> bool {
    let field = if let Some(rest) = line.strip_prefix("+CMGR:") {
        split_fields(rest).first().copied()
    } else if let Some(rest) = line.strip_prefix("+CMGL:") {
        split_fields(rest).get(1).copied()
    } else {
        None
    };
    field.is_some_and(|f| f.trim_start().starts_with('"'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modem::at::response::parse_pdu_header;
    use crate::modem::at::ResponseLine;

    fn resp(cmd: &Command, lines: &[(&str, Option<&str>)], result: FinalResult) -> Response {
        Response {
            id: 0,
            command: cmd.text.clone(),
            lines: lines
                .iter()
                .map(|(t, p)| ResponseLine { text: t.to_string(), pdu: p.map(|hex| raw(t, hex)) })
                .collect(),
            result,
            echoed: false,
        }
    }

    /// The PDU after the `+CMGR:`/`+CMGL:`/`+CMT:` header `line`, as the engine gives it.
    fn raw(line: &str, hex: &str) -> RawPdu {
        let prefix = ["+CMGR:", "+CMGL:", "+CMT:"].into_iter().find(|p| line.starts_with(p)).unwrap();
        RawPdu::new(prefix, &parse_pdu_header(line, prefix).unwrap(), hex).unwrap()
    }

    type HandOvers = Vec<(u64, Vec<u8>, Option<Location>)>;

    /// Drains actions; returns the commands sent, the hand-overs and the states.
    fn drain(i: &mut Intake) -> (Vec<Command>, HandOvers, Vec<ModemState>) {
        let (mut c, mut h, mut s) = (Vec::new(), Vec::new(), Vec::new());
        while let Some(a) = i.poll_action() {
            match a {
                Action::Send(x) => c.push(x),
                Action::HandOver { token, pdu, location } => h.push((token, pdu.into_bytes(), location)),
                Action::State(x) => s.push(x),
            }
        }
        (c, h, s)
    }

    /// A modem that answers the init sequence like the simulator does.
    fn answer(cmd: &Command) -> Response {
        let l: &[(&str, Option<&str>)] = match cmd.text.as_str() {
            "AT+CPIN?" => &[("+CPIN: READY", None)],
            "AT+CPMS=?" => &[("+CPMS: (\"SM\",\"ME\"),(\"SM\",\"ME\"),(\"SM\",\"ME\")", None)],
            "AT+CNMI=?" => &[("+CNMI: (0-2),(0-3),(0,2),(0-2),(0,1)", None)],
            "AT+CPMS?" => &[("+CPMS: \"ME\",0,20,\"ME\",0,20,\"ME\",0,20", None)],
            _ => &[],
        };
        resp(cmd, l, FinalResult::Ok)
    }

    /// Runs the init to ready; returns every command sent.
    fn to_ready(i: &mut Intake, t: Instant) -> Vec<Command> {
        let mut sent = Vec::new();
        for _ in 0..100 {
            if i.is_ready() {
                return sent;
            }
            let (cmds, _, _) = drain(i);
            let cmd = cmds.into_iter().next().expect("a command during init");
            let r = answer(&cmd);
            sent.push(cmd);
            i.on_response(r, t);
        }
        panic!("init did not finish: {sent:?}");
    }

    /// The next command, answering storage switches on the way.
    fn next_cmd(i: &mut Intake, t: Instant) -> Command {
        loop {
            let c = drain(i).0.into_iter().next().expect("a command");
            if !c.text.starts_with("AT+CPMS=\"") {
                return c;
            }
            i.on_response(answer(&c), t);
        }
    }

    fn ready(profile: Profile) -> (Intake, Instant) {
        let t = Instant::now();
        let mut i = Intake::new(profile);
        i.on_connected(t);
        to_ready(&mut i, t);
        drain(&mut i);
        (i, t)
    }

    #[test]
    fn cmti_read_hand_over_then_delete_only_after_durable() {
        let (mut i, t) = ready(Profile::default());
        assert_eq!(i.next_deadline(), None, "idle: no timer");
        i.on_urc(Urc::MessageStored { mem: "ME".into(), index: 3 }, t);
        let c = next_cmd(&mut i, t);
        assert_eq!(c.text, "AT+CMGR=3");
        // `<length>` 3 and 3 octets printed: no SMSC part, `00` is prepended.
        i.on_response(resp(&c, &[("+CMGR: 0,,3", Some("000401"))], FinalResult::Ok), t);
        let (c, h, _) = drain(&mut i);
        assert!(c.is_empty(), "nothing deleted before the durable answer: {c:?}");
        assert_eq!(h[0].1, vec![0, 0, 4, 1]);
        assert_eq!(h[0].2, Some(Location::new("ME", 3)));
        i.on_durable(h[0].0, Ok(()), t);
        let (c, _, _) = drain(&mut i);
        assert_eq!(c[0].text, "AT+CPMS=\"ME\"", "the storage is selected again after an idle pause");
        i.on_response(answer(&c[0]), t);
        let (c, _, _) = drain(&mut i);
        assert_eq!(c[0].text, "AT+CMGD=3");
        i.on_response(answer(&c[0]), t);
        let (c, _, _) = drain(&mut i);
        assert_eq!(c[0].text, "AT+CPMS?", "usage logged after the delete");
    }

    fn echoed(mut r: Response) -> Response {
        r.echoed = true;
        r
    }

    #[test]
    fn unanswered_storage_switch_requeues_the_read() {
        let (mut i, t) = ready(Profile::default());
        i.on_urc(Urc::MessageStored { mem: "ME".into(), index: 3 }, t);
        let c = drain(&mut i).0;
        assert_eq!(c[0].text, "AT+CPMS=\"ME\"");
        i.on_response(resp(&c[0], &[], FinalResult::Timeout), t);
        let (c, _, s) = drain(&mut i);
        assert!(s.is_empty(), "one timeout is no reason to re-initialise: {s:?}");
        assert_eq!(c[0].text, "AT+CPMS=\"ME\"", "selected again, the read kept");
        i.on_response(answer(&c[0]), t);
        assert_eq!(drain(&mut i).0[0].text, "AT+CMGR=3");
    }

    #[test]
    fn unanswered_read_and_delete_are_retried_after_a_new_selection() {
        let (mut i, t) = ready(Profile::default());
        i.on_urc(Urc::MessageStored { mem: "ME".into(), index: 3 }, t);
        let c = next_cmd(&mut i, t);
        i.on_response(resp(&c, &[], FinalResult::Timeout), t);
        assert_eq!(drain(&mut i).0[0].text, "AT+CPMS=\"ME\"");
        i.on_response(answer(&Command::cpms_set(&["ME"])), t);
        let c = drain(&mut i).0.remove(0);
        assert_eq!(c.text, "AT+CMGR=3");
        i.on_response(resp(&c, &[("+CMGR: 0,,2", Some("000401"))], FinalResult::Ok), t);
        let h = drain(&mut i).1;
        i.on_durable(h[0].0, Ok(()), t);
        let c = next_cmd(&mut i, t);
        assert_eq!(c.text, "AT+CMGD=3");
        i.on_response(resp(&c, &[], FinalResult::Timeout), t);
        assert_eq!(next_cmd(&mut i, t).text, "AT+CMGD=3");
        assert!(i.is_ready());
    }

    #[test]
    fn unanswered_listing_during_init_is_sent_again() {
        let t = Instant::now();
        let mut i = Intake::new(Profile::default());
        i.on_connected(t);
        let mut timed_out = false;
        let mut lists = 0;
        while !i.is_ready() {
            let c = drain(&mut i).0.remove(0);
            if c.text == "AT+CMGL=4" {
                lists += 1;
                if !timed_out {
                    timed_out = true;
                    i.on_response(resp(&c, &[], FinalResult::Timeout), t);
                    continue;
                }
            }
            i.on_response(answer(&c), t);
        }
        assert_eq!(lists, 3, "ME listed twice, SM once");
    }

    #[test]
    fn echo_after_ate0_shows_a_silent_reset() {
        let (mut i, t) = ready(Profile::default());
        i.on_urc(Urc::MessageStored { mem: "ME".into(), index: 0 }, t);
        let c = next_cmd(&mut i, t);
        i.on_response(resp(&c, &[("+CMGR: 0,,2", Some("000401"))], FinalResult::Ok), t);
        let h = drain(&mut i).1;
        i.on_durable(h[0].0, Ok(()), t);
        // The storage selection before the delete comes back echoed.
        let c = drain(&mut i).0.remove(0);
        assert_eq!(c.text, "AT+CPMS=\"ME\"");
        i.on_response(echoed(answer(&c)), t);
        let (c, _, s) = drain(&mut i);
        assert_eq!(s, vec![ModemState::Initializing]);
        assert_eq!(c[0].text, "AT");
        i.on_response(answer(&c[0]), t);
        let sent = to_ready(&mut i, t);
        assert!(sent.iter().filter(|c| c.text == "AT+CMGL=4").count() >= 2, "storage listed again");
        // The delete waits for a read that shows the same PDU.
        assert_eq!(next_cmd(&mut i, t).text, "AT+CMGR=0");
    }

    #[test]
    fn a_modem_that_always_echoes_is_not_taken_for_reset() {
        let t = Instant::now();
        let mut i = Intake::new(Profile::default());
        i.on_connected(t);
        while !i.is_ready() {
            let c = drain(&mut i).0.remove(0);
            i.on_response(echoed(answer(&c)), t);
        }
        drain(&mut i);
        i.on_urc(Urc::MessageStored { mem: "ME".into(), index: 0 }, t);
        let c = drain(&mut i).0.remove(0);
        i.on_response(echoed(answer(&c)), t);
        let (c, _, s) = drain(&mut i);
        assert!(s.is_empty());
        assert_eq!(c[0].text, "AT+CMGR=0");
    }

    #[test]
    fn text_mode_answers_show_a_silent_reset() {
        assert!(is_text_mode_entry("+CMGR: \"REC UNREAD\",\"+123\",,\"25/03/01,12:34:56+00\""));
        assert!(is_text_mode_entry("+CMGL: 1,\"REC READ\",\"+123\""));
        assert!(!is_text_mode_entry("+CMGR: 0,\"\",21"));
        assert!(!is_text_mode_entry("+CMGL: 1,0,\"\",21"));
        let (mut i, t) = ready(Profile::default());
        i.on_urc(Urc::MessageStored { mem: "ME".into(), index: 0 }, t);
        let c = next_cmd(&mut i, t);
        let text = "+CMGR: \"REC UNREAD\",\"+12345678901\",,\"25/03/01,12:34:56+00\"";
        i.on_response(resp(&c, &[(text, None)], FinalResult::Ok), t);
        let (c, _, s) = drain(&mut i);
        assert_eq!(s, vec![ModemState::Initializing]);
        i.on_response(answer(&c[0]), t);
        to_ready(&mut i, t);
        i.on_urc(Urc::MessageStored { mem: "ME".into(), index: 1 }, t);
        let c = next_cmd(&mut i, t);
        i.on_response(resp(&c, &[], FinalResult::CmsError(Some(305))), t);
        assert_eq!(drain(&mut i).2, vec![ModemState::Initializing]);
    }

    #[test]
    fn usage_naming_another_mem3_shows_a_silent_reset() {
        let (mut i, t) = ready(Profile::default());
        i.usage_due = true;
        i.on_timeout(t);
        let c = drain(&mut i).0.remove(0);
        assert_eq!(c.text, "AT+CPMS?");
        let line = "+CPMS: \"SM\",0,10,\"SM\",0,10,\"SM\",0,10";
        i.on_response(resp(&c, &[(line, None)], FinalResult::Ok), t);
        assert_eq!(drain(&mut i).2, vec![ModemState::Initializing]);
    }

    #[test]
    fn notification_for_a_held_index_verifies_and_relists() {
        let (mut i, t) = ready(Profile::default());
        i.on_urc(Urc::MessageStored { mem: "ME".into(), index: 2 }, t);
        let c = next_cmd(&mut i, t);
        i.on_response(resp(&c, &[("+CMGR: 0,,2", Some("000401"))], FinalResult::Ok), t);
        let h = drain(&mut i).1;
        i.on_urc(Urc::MessageStored { mem: "ME".into(), index: 2 }, t);
        let c = next_cmd(&mut i, t);
        assert_eq!(c.text, "AT+CMGL=4");
        // The slot now holds another message: handed over, the old one is not deleted blindly.
        i.on_response(resp(&c, &[("+CMGL: 2,0,,2", Some("000402"))], FinalResult::Ok), t);
        let h2 = drain(&mut i).1;
        assert_eq!(h2[0].1, vec![0, 4, 2]);
        i.on_durable(h[0].0, Ok(()), t);
        let c = next_cmd(&mut i, t);
        assert_eq!(c.text, "AT+CMGR=2", "verified before deleting");
    }

    #[test]
    fn notification_flood_stays_bounded_and_relists() {
        use crate::modem::pending::PENDING_READS_CAP;
        let (mut i, t) = ready(Profile::default());
        i.on_urc(Urc::MessageStored { mem: "ME".into(), index: 100_000 }, t);
        let first = drain(&mut i).0.remove(0);
        let mut max = 0;
        for k in 0..200_000 {
            i.on_urc(Urc::MessageStored { mem: "ME".into(), index: k }, t);
            max = max.max(i.pending_reads());
        }
        assert!(max <= PENDING_READS_CAP, "{max}");
        assert!(drain(&mut i).0.is_empty(), "one command at a time");
        i.on_response(answer(&first), t);
        // The overflow's listings come before the reads left.
        let mut sent = Vec::new();
        while let Some(c) = drain(&mut i).0.into_iter().next() {
            sent.push(c.text.clone());
            i.on_response(answer(&c), t);
        }
        // Every notification after the overflow was covered by the listings still to come.
        assert_eq!(sent, ["AT+CMGL=4", "AT+CPMS=\"SM\"", "AT+CMGL=4"]);
    }

    #[test]
    fn resume_lists_every_storage_and_hands_over_what_it_finds() {
        let (mut i, t) = ready(Profile::default());
        assert!(drain(&mut i).0.is_empty(), "idle: nothing sent");
        i.on_resume(t);
        let mut listed = Vec::new();
        let mut handed = Vec::new();
        loop {
            let (c, h, _) = drain(&mut i);
            handed.extend(h);
            let Some(c) = c.into_iter().next() else { break };
            let r = match (c.text.as_str(), listed.len()) {
                ("AT+CMGL=4", 0) => resp(&c, &[("+CMGL: 5,0,,2", Some("000403"))], FinalResult::Ok),
                _ => answer(&c),
            };
            if c.text == "AT+CMGL=4" {
                listed.push(c.text.clone());
            }
            i.on_response(r, t);
        }
        assert_eq!(listed.len(), 2, "ME and SM listed once each");
        assert_eq!(handed.len(), 1);
        assert_eq!((handed[0].1.clone(), handed[0].2.clone()), (vec![0, 4, 3], Some(Location::new("ME", 5))));
    }

    #[test]
    fn storage_named_in_cmti_is_selected_first() {
        let (mut i, t) = ready(Profile::default());
        i.on_urc(Urc::MessageStored { mem: "ME".into(), index: 1 }, t);
        let (c, _, _) = drain(&mut i);
        // The last init step listed SM, so ME is selected again before reading.
        assert_eq!(c[0].text, "AT+CPMS=\"ME\"");
        i.on_response(answer(&c[0]), t);
        assert_eq!(drain(&mut i).0[0].text, "AT+CMGR=1");
        i.on_urc(Urc::MessageStored { mem: "SM".into(), index: 2 }, t);
        i.on_response(resp(&Command::cmgr(1), &[], FinalResult::CmsError(Some(321))), t);
        assert_eq!(drain(&mut i).0[0].text, "AT+CPMS=\"SM\"");
    }

    #[test]
    fn two_timeouts_in_a_row_reinit() {
        let (mut i, t) = ready(Profile::default());
        i.on_urc(Urc::MessageStored { mem: "ME".into(), index: 0 }, t);
        let c = [next_cmd(&mut i, t)];
        i.on_response(resp(&c[0], &[], FinalResult::Timeout), t);
        let c = [next_cmd(&mut i, t)];
        assert_eq!(c[0].text, "AT+CMGR=0", "retried once, after selecting the storage again");
        i.on_response(resp(&c[0], &[], FinalResult::Timeout), t);
        let (c, _, s) = drain(&mut i);
        assert_eq!(s, vec![ModemState::Initializing]);
        assert_eq!(c[0].text, "AT");
    }

    #[test]
    fn boot_urc_reinits_and_drops_the_stale_response() {
        let (mut i, t) = ready(Profile::default());
        i.on_urc(Urc::MessageStored { mem: "ME".into(), index: 0 }, t);
        let cmgr = next_cmd(&mut i, t);
        i.on_urc(Urc::Line("RDY".into()), t);
        let (c, _, s) = drain(&mut i);
        assert_eq!(s, vec![ModemState::Resetting]);
        assert_eq!(c[0].text, "AT");
        // The engine still answers the CMGR sent before the reset: ignored, not taken for AT.
        i.on_response(resp(&cmgr, &[], FinalResult::Error), t);
        assert!(drain(&mut i).0.is_empty());
        i.on_response(answer(&c[0]), t);
        assert_eq!(drain(&mut i).0[0].text, "ATE0");
    }

    #[test]
    fn delete_after_reinit_verifies_the_slot_first() {
        let (mut i, t) = ready(Profile::default());
        i.on_urc(Urc::MessageStored { mem: "ME".into(), index: 0 }, t);
        let c = [next_cmd(&mut i, t)];
        i.on_response(resp(&c[0], &[("+CMGR: 0,,2", Some("000401"))], FinalResult::Ok), t);
        let token = drain(&mut i).1[0].0;
        i.on_disconnected();
        i.on_connected(t);
        to_ready(&mut i, t);
        i.on_durable(token, Ok(()), t);
        let c = [next_cmd(&mut i, t)];
        assert_eq!(c[0].text, "AT+CMGR=0", "read again before deleting");
        // Another message now sits there: not deleted.
        i.on_response(resp(&c[0], &[("+CMGR: 0,,2", Some("000402"))], FinalResult::Ok), t);
        let c = drain(&mut i).0;
        assert!(c.iter().all(|c| !c.text.starts_with("AT+CMGD")), "{c:?}");
    }

    #[test]
    fn routed_cmt_is_acked_only_after_durable() {
        let mut p = Profile::default();
        p.init.route = Route::Route;
        p.init.cnmi_candidates = vec![[2, 2, 0, 0, 0]];
        p.init.cnma = "AT+CNMA=1".into();
        let t = Instant::now();
        let mut i = Intake::new(p);
        i.on_connected(t);
        let sent = to_ready(&mut i, t);
        assert!(sent.iter().any(|c| c.text == "AT+CSMS=1"));
        drain(&mut i);
        i.on_urc(Urc::Pdu { kind: PduUrcKind::Deliver, pdu: raw("+CMT: ,2", "000401") }, t);
        let (c, h, _) = drain(&mut i);
        assert!(c.is_empty());
        assert_eq!(h[0].2, None);
        i.on_durable(h[0].0, Ok(()), t);
        let ack = drain(&mut i).0.remove(0);
        assert_eq!(ack.text, "AT+CNMA=1");
        i.on_response(answer(&ack), t);
        // Not durable: no ack, nothing kept in memory, store mode.
        i.on_urc(Urc::Pdu { kind: PduUrcKind::Deliver, pdu: raw("+CMT: ,2", "000402") }, t);
        let h = drain(&mut i).1;
        i.on_durable(h[0].0, Err("disk".into()), t);
        let c = drain(&mut i).0;
        assert_eq!(c.iter().map(|c| c.text.as_str()).collect::<Vec<_>>(), ["AT+CNMI=2,1,0,0,0"]);
        i.on_response(answer(&c[0]), t);
        assert_eq!(i.in_hand(), 0);
        // The offer applies store mode again (the modem may have turned routing off) and lists.
        let d = i.next_deadline().expect("offer timer");
        i.on_timeout(d);
        let (sent, h) = serve(&mut i, d, "000402");
        assert_eq!(sent[0].text, "AT+CNMI=2,1,0,0,0");
        assert!(sent.iter().all(|c| !c.text.starts_with("AT+CNMA")), "{sent:?}");
        assert_eq!(h[0].2, Some(Location::new("ME", 0)));
        i.on_durable(h[0].0, Ok(()), d);
        let (sent, _) = serve(&mut i, d, "000402");
        let texts: Vec<&str> = sent.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts.first(), Some(&"AT+CNMI=2,2,0,0,0"), "routing again first: {texts:?}");
        assert!(texts.contains(&"AT+CMGD=0") && texts.contains(&"AT+CMGL=4"), "{texts:?}");
        assert!(!texts.iter().any(|c| c.starts_with("AT+CNMA")), "{texts:?}");
    }

    /// Answers `+CMGL=4` with the SMS at ME/0 (none if `pdu_hex` is empty) until it is deleted;
    /// other commands as `answer`.
    fn serve(i: &mut Intake, t: Instant, pdu_hex: &str) -> (Vec<Command>, HandOvers) {
        let (mut sent, mut handed) = (Vec::new(), Vec::new());
        let mut stored = !pdu_hex.is_empty();
        loop {
            let (c, h, _) = drain(i);
            handed.extend(h);
            let Some(c) = c.into_iter().next() else { return (sent, handed) };
            stored &= c.text != "AT+CMGD=0";
            let r = match (c.text.as_str(), i.mem1.as_deref()) {
                ("AT+CMGL=4", Some("ME")) if stored => {
                    resp(&c, &[("+CMGL: 0,1,,2", Some(pdu_hex))], FinalResult::Ok)
                }
                _ => answer(&c),
            };
            sent.push(c);
            i.on_response(r, t);
        }
    }

    #[test]
    fn refused_sms_stays_and_is_offered_again_until_the_store_accepts() {
        let (mut i, t) = ready(Profile::default());
        i.on_urc(Urc::MessageStored { mem: "ME".into(), index: 0 }, t);
        let c = [next_cmd(&mut i, t)];
        i.on_response(resp(&c[0], &[("+CMGR: 0,,2", Some("000401"))], FinalResult::Ok), t);
        let mut token = drain(&mut i).1[0].0;
        let r = StoreRetry::default();
        let (mut now, mut pause) = (t, r.first);
        // Far more refusals than the five tries of old: never deleted, never given up.
        for _ in 0..20 {
            i.on_durable(token, Err("disk full".into()), now);
            assert!(i.store_refusing());
            let d = i.next_deadline().expect("an offer is armed");
            assert_eq!(d, now + pause);
            now = d;
            i.on_timeout(now);
            let (sent, h) = serve(&mut i, now, "000401");
            assert!(sent.iter().all(|c| !c.text.starts_with("AT+CMGD")), "{sent:?}");
            assert!(sent.iter().any(|c| c.text == "AT+CMGL=4"), "storage listed again");
            assert_eq!(h.len(), 1);
            token = h[0].0;
            pause = (pause * 2).min(r.max);
        }
        assert_eq!(pause, r.max, "capped");
        i.on_durable(token, Ok(()), now);
        let (sent, h) = serve(&mut i, now, "000401");
        assert!(h.is_empty(), "known, awaiting its delete: not handed over twice");
        assert!(sent.iter().any(|c| c.text == "AT+CMGD=0"), "{sent:?}");
        assert!(!i.store_refusing());
        assert_eq!(i.next_deadline(), None, "idle again: no timer");
    }

    #[test]
    fn an_offer_that_finds_nothing_disarms_the_timer() {
        let (mut i, t) = ready(Profile::default());
        i.on_urc(Urc::MessageStored { mem: "ME".into(), index: 0 }, t);
        let c = [next_cmd(&mut i, t)];
        i.on_response(resp(&c[0], &[("+CMGR: 0,,2", Some("000401"))], FinalResult::Ok), t);
        let token = drain(&mut i).1[0].0;
        i.on_durable(token, Err("disk full".into()), t);
        let d = i.next_deadline().unwrap();
        i.on_timeout(d);
        // Someone else emptied the storage: nothing waits, so no timer; the next SMS probes.
        let (_, h) = serve(&mut i, d, "");
        assert!(h.is_empty());
        assert_eq!(i.next_deadline(), None);
        assert!(i.store_refusing());
    }

    #[test]
    fn pin_locked_is_a_state_without_timers() {
        let t = Instant::now();
        let mut i = Intake::new(Profile::default());
        i.on_connected(t);
        loop {
            let c = drain(&mut i).0.remove(0);
            if c.text == "AT+CPIN?" {
                i.on_response(resp(&c, &[("+CPIN: SIM PIN", None)], FinalResult::Ok), t);
                break;
            }
            i.on_response(answer(&c), t);
        }
        let (c, _, s) = drain(&mut i);
        assert!(c.is_empty());
        assert_eq!(s, vec![ModemState::SimLocked]);
        assert_eq!(i.next_deadline(), None);
        i.on_urc(Urc::Line("+CPIN: READY".into()), t);
        assert_eq!(drain(&mut i).0[0].text, "AT");
    }

    #[test]
    fn failed_init_is_retried_after_a_doubling_pause() {
        let mut t = Instant::now();
        let mut i = Intake::new(Profile::default());
        i.on_connected(t);
        for pause in [30, 60, 120, 240, 300, 300] {
            for _ in 0..PROBE_TRIES {
                let c = drain(&mut i).0.remove(0);
                assert_eq!(c.text, "AT");
                i.on_response(resp(&c, &[], FinalResult::Error), t);
            }
            assert!(matches!(drain(&mut i).2.as_slice(), [ModemState::Error(_)]));
            let d = i.next_deadline().expect("a retry is armed");
            assert_eq!(d, t + Duration::from_secs(pause));
            t = d;
            i.on_timeout(t);
        }
        // Ready again: the next failure waits the first pause again.
        let c = drain(&mut i).0.remove(0);
        i.on_response(answer(&c), t);
        to_ready(&mut i, t);
        i.on_disconnected();
        i.on_connected(t);
        for _ in 0..PROBE_TRIES {
            let c = drain(&mut i).0.into_iter().find(|c| c.text == "AT").expect("AT");
            i.on_response(resp(&c, &[], FinalResult::Error), t);
        }
        assert_eq!(i.next_deadline(), Some(t + Duration::from_secs(30)));
    }

    #[test]
    fn sim_busy_is_retried_after_a_pause() {
        let t = Instant::now();
        let mut i = Intake::new(Profile::default());
        i.on_connected(t);
        loop {
            let c = drain(&mut i).0.remove(0);
            if c.text == "AT+CPIN?" {
                i.on_response(resp(&c, &[], FinalResult::CmeError(Some(14))), t);
                break;
            }
            i.on_response(answer(&c), t);
        }
        assert!(drain(&mut i).0.is_empty(), "no busy loop");
        let d = i.next_deadline().unwrap();
        assert_eq!(d, t + SIM_RETRY_PAUSE);
        i.on_timeout(d);
        assert_eq!(drain(&mut i).0[0].text, "AT+CPIN?");
    }

    #[test]
    fn cmgl_leftovers_and_321() {
        let t = Instant::now();
        let mut i = Intake::new(Profile::default());
        i.on_connected(t);
        let mut handed = Vec::new();
        while !i.is_ready() {
            let (c, h, _) = drain(&mut i);
            handed.extend(h);
            let c = c.into_iter().next().unwrap();
            let r = match (c.text.as_str(), i.mem1.as_deref()) {
                ("AT+CMGL=4", Some("ME")) => resp(
                    &c,
                    &[("+CMGL: 0,1,,2", Some("000401")), ("+CMGL: 4,1,,2", Some("000402"))],
                    FinalResult::Ok,
                ),
                ("AT+CMGL=4", _) => resp(&c, &[], FinalResult::CmsError(Some(321))),
                _ => answer(&c),
            };
            i.on_response(r, t);
        }
        handed.extend(drain(&mut i).1);
        let locs: Vec<_> = handed.iter().map(|h| h.2.clone().unwrap()).collect();
        assert_eq!(locs, vec![Location::new("ME", 0), Location::new("ME", 4)]);
    }

    #[test]
    fn after_a_boot_urc_sms_waits_for_the_ready_urc() {
        let p = Profile::load("quectel-eg25", None).unwrap();
        let (mut i, t) = ready(p);
        i.on_urc(Urc::Line("RDY".into()), t);
        loop {
            let c = drain(&mut i).0.remove(0);
            let cpin = c.text == "AT+CPIN?";
            i.on_response(answer(&c), t);
            if cpin {
                break;
            }
        }
        assert!(drain(&mut i).0.is_empty(), "SMS commands wait for +QIND: SMS DONE");
        assert_eq!(i.next_deadline(), Some(t + Duration::from_secs(30)));
        i.on_urc(Urc::Line("+QIND: SMS DONE".into()), t);
        assert_eq!(drain(&mut i).0[0].text, "AT+CSMS=0");
        assert_eq!(i.next_deadline(), None);
    }

    /// The intake driven by the real AT engine against the simulator core, without I/O. The
    /// store answers `durable` while the next command is with the modem (a commit takes less
    /// than a modem's 10-50 ms per command).
    struct Wired {
        intake: Intake,
        engine: crate::modem::at::AtEngine,
        sim: crate::modem::sim::SimCore,
        t: Instant,
        tokens: Vec<u64>,
        handed: usize,
        /// One more SMS arrives each time a `+CMGR` goes out (arrivals as fast as the intake).
        feed: u32,
        next_pdu: u8,
    }

    impl Wired {
        fn ready() -> Wired {
            let t = Instant::now();
            let mut w = Wired {
                intake: Intake::new(Profile::default()),
                engine: crate::modem::at::AtEngine::default(),
                sim: crate::modem::sim::SimCore::new(crate::modem::sim::SimOptions::default()),
                t,
                tokens: Vec::new(),
                handed: 0,
                feed: 0,
                next_pdu: 0,
            };
            w.intake.on_connected(t);
            w.pump();
            assert!(w.intake.is_ready());
            w
        }

        fn deliver(&mut self) {
            let pdu = crate::modem::sim::sample_deliver_pdu(self.next_pdu);
            self.next_pdu = self.next_pdu.wrapping_add(1);
            self.sim.deliver(pdu);
        }

        fn pump(&mut self) {
            use crate::modem::at::Event;
            loop {
                let mut busy = false;
                while let Some(a) = self.intake.poll_action() {
                    match a {
                        Action::Send(c) => {
                            self.engine.submit(c, self.t);
                        }
                        Action::HandOver { token, .. } => {
                            self.tokens.push(token);
                            self.handed += 1;
                        }
                        Action::State(_) => {}
                    }
                }
                while let Some(b) = self.engine.poll_transmit() {
                    if self.feed > 0 && b.starts_with(b"AT+CMGR") {
                        self.feed -= 1;
                        self.deliver();
                    }
                    self.sim.input(&b);
                    busy = true;
                }
                for tok in std::mem::take(&mut self.tokens) {
                    self.intake.on_durable(tok, Ok(()), self.t);
                    busy = true;
                }
                let out = self.sim.take_output();
                if !out.is_empty() {
                    self.engine.feed(&out, self.t);
                    busy = true;
                }
                while let Some(ev) = self.engine.poll_event() {
                    match ev {
                        Event::Response(r) => self.intake.on_response(r, self.t),
                        Event::Urc(u) => self.intake.on_urc(u, self.t),
                    }
                    busy = true;
                }
                if !busy {
                    return;
                }
            }
        }

        fn count(cmds: &[String], prefix: &str) -> usize {
            cmds.iter().filter(|c| c.starts_with(prefix)).count()
        }
    }

    #[test]
    fn steady_stream_costs_one_read_and_one_delete_per_sms() {
        let mut w = Wired::ready();
        let start = w.sim.log.len();
        w.feed = 40;
        w.deliver();
        w.pump();
        assert_eq!(w.handed, 41);
        assert!(w.sim.stored().is_empty());
        let cmds = &w.sim.log[start..];
        let first = cmds.iter().position(|c| c.starts_with("AT+CMGR")).unwrap();
        let last = cmds.iter().rposition(|c| c.starts_with("AT+CMGR")).unwrap();
        // While SMS keep coming, nothing but +CMGR and +CMGD: the storage stays selected.
        let steady = &cmds[first..=last];
        assert_eq!(Wired::count(steady, "AT+CMGR"), 41, "{steady:?}");
        assert_eq!(Wired::count(steady, "AT+CMGD") + 41, steady.len(), "{steady:?}");
        // Around it: the selection at the start; at the end the selection again after waiting
        // for the store with nothing else to do, and one usage check.
        assert_eq!(Wired::count(cmds, "AT+CMGD"), 41, "{cmds:?}");
        assert!(cmds.len() <= 82 + 3, "{cmds:?}");
        assert_eq!(cmds.last().map(String::as_str), Some("AT+CPMS?"));
    }

    #[test]
    fn burst_of_ten_is_read_with_one_listing() {
        let mut w = Wired::ready();
        let start = w.sim.log.len();
        for _ in 0..10 {
            w.deliver();
        }
        w.pump();
        assert_eq!(w.handed, 10);
        assert!(w.sim.stored().is_empty());
        let cmds = &w.sim.log[start..];
        assert_eq!(Wired::count(cmds, "AT+CMGL=4"), 1, "{cmds:?}");
        assert_eq!(Wired::count(cmds, "AT+CMGR"), 0, "{cmds:?}");
        assert_eq!(Wired::count(cmds, "AT+CMGD"), 10, "{cmds:?}");
        // The selection, the selection again after waiting for the store (a silent reset may
        // have come in between), the usage check at the end.
        assert_eq!(cmds.len(), 11 + 3, "{cmds:?}");
    }

    #[test]
    fn burst_larger_than_the_storage_lists_no_storage_it_need_not() {
        let mut w = Wired::ready();
        let start = w.sim.log.len();
        // ME has 20 slots: the network holds the rest, and every delete refills the storage,
        // which says "full" (+CIEV) again each time.
        for _ in 0..50 {
            w.deliver();
        }
        w.pump();
        assert_eq!(w.handed, 50);
        assert!(w.sim.stored().is_empty());
        assert_eq!(w.sim.network_queue_len(), 0);
        let cmds = &w.sim.log[start..];
        assert_eq!(Wired::count(cmds, "AT+CMGD"), 50, "{cmds:?}");
        assert_eq!(Wired::count(cmds, "AT+CPMS=\"SM\""), 0, "{cmds:?}");
        assert!(Wired::count(cmds, "AT+CMGL=4") <= 3, "{cmds:?}");
        assert!(Wired::count(cmds, "AT+CMGR") <= 2, "{cmds:?}");
        assert!(cmds.len() <= 50 + 3 + 5, "{} commands: {cmds:?}", cmds.len());
    }

    #[test]
    fn a_lost_notification_is_found_by_the_check_after_the_burst() {
        let mut w = Wired::ready();
        w.deliver();
        w.deliver();
        // The second +CMTI never reaches the host.
        let out = String::from_utf8(w.sim.take_output()).unwrap();
        let first = out.split(['\r', '\n']).find(|l| l.starts_with("+CMTI")).unwrap().to_string();
        w.engine.feed(format!("\r\n{first}\r\n").as_bytes(), w.t);
        w.pump();
        // The usage check once the first is deleted shows one message more than was handled.
        assert_eq!(w.handed, 2);
        assert!(w.sim.stored().is_empty());
        assert_eq!(Wired::count(&w.sim.log, "AT+CPMS?"), 3, "init, after each burst");
    }
}
