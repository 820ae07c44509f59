//! Hand-overs to durable storage. Crash safety: a stored message stays on the modem until its
//! `durable` answer; after any restart `+CMGL=4` hands over every leftover again (duplicates
//! are the store's to drop).
//!
//! A store that refuses (a full disk) loses nothing and needs no restart: what it refused stays
//! on the modem (not deleted, a routed one not acknowledged, so the network sends it again), a
//! routing modem is switched to store mode, and storage is listed again after a pause that
//! doubles up to a cap, for as long as something waits, and at once when a hand-over succeeds.

use super::{Action, Delete, Intake};
use crate::backoff::Backoff;
use crate::modem::at::RawPdu;
use crate::modem::Location;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Routed PDUs that the modem acknowledged by itself (service 0) and the store refused: the
/// only copy, held for the next offer, up to this many.
const MAX_HELD_ROUTED: usize = 32;
/// After a routed PDU went unacknowledged the modem may turn routing off when its own wait for
/// `+CNMA` ends (TS 27.005 §3.4.4), undoing store mode: offers (which apply store mode again)
/// go on for this long even with nothing on the modem.
const ROUTED_REFUSAL_GRACE: Duration = Duration::from_secs(120);

/// How soon the intake offers the store again what it refused: a pause doubling from `first`
/// up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreRetry {
    /// The first pause.
    pub first: Duration,
    /// The longest pause.
    pub max: Duration,
}

impl StoreRetry {
    pub(super) fn backoff(&self) -> Backoff {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Backoff::new(ms(self.first), ms(self.max))
    }
}

impl Default for StoreRetry {
    fn default() -> Self {
        StoreRetry { first: Duration::from_secs(2), max: Duration::from_secs(30) }
    }
}

#[derive(Debug, Clone)]
pub(super) struct InHand {
    pub(super) pdu: RawPdu,
    pub(super) loc: Option<Location>,
    pub(super) epoch: u64,
    /// A routed `+CMT`/`+CDS` that the modem expects `+CNMA` for.
    pub(super) needs_ack: bool,
}

/// The store refused a hand-over and has accepted none since.
#[derive(Debug)]
pub(super) struct Refusing {
    pub(super) since: Instant,
    /// The next offer of what waits; `None` while nothing is known to wait.
    pub(super) at: Option<Instant>,
    /// The pause before that offer, doubling per offer.
    pub(super) backoff: Backoff,
    /// When a routed PDU was last left unacknowledged.
    pub(super) routed_refused: Option<Instant>,
}

/// PDUs handed over and what the store said.
#[derive(Debug)]
pub(super) struct Durable {
    /// Counts re-inits: a PDU read in an earlier one is verified before its delete.
    pub(super) epoch: u64,
    pub(super) next_token: u64,
    pub(super) in_hand: HashMap<u64, InHand>,
    pub(super) refusing: Option<Refusing>,
    /// Routed PDUs the modem acknowledged by itself and the store refused.
    pub(super) held: VecDeque<RawPdu>,
    pub(super) store_retry: StoreRetry,
}

impl Default for Durable {
    fn default() -> Durable {
        Durable {
            epoch: 0,
            next_token: 1,
            in_hand: HashMap::new(),
            refusing: None,
            held: VecDeque::new(),
            store_retry: StoreRetry::default(),
        }
    }
}

impl Intake {
    pub(super) fn hand_over_new(&mut self, pdu: RawPdu, loc: Option<Location>, needs_ack: bool) {
        let token = self.durable.next_token;
        self.durable.next_token += 1;
        self.out.actions.push_back(Action::HandOver { token, pdu: pdu.clone(), location: loc.clone() });
        self.durable.in_hand.insert(token, InHand { pdu, loc, epoch: self.durable.epoch, needs_ack });
    }

    /// Offers the store again what waits: storage is listed (`+CMGL=4` hands over every
    /// leftover) and held routed PDUs go again. A routing modem gets store mode again, in case
    /// it turned routing off after a missed `+CNMA`.
    pub(super) fn offer_again(&mut self, now: Instant) {
        let Some(r) = &mut self.durable.refusing else { return };
        r.backoff.next();
        let routed_recent = r.routed_refused.is_some_and(|t| now.duration_since(t) < ROUTED_REFUSAL_GRACE);
        // The next offer is armed by the next refusal; a missed ack may still turn routing off.
        r.at = routed_recent.then(|| now + Duration::from_millis(r.backoff.peek()));
        log::info!("modem: offering the store again what waits on the modem");
        if self.cnmi.routes() {
            self.cnmi.now = None;
        }
        self.request_drain();
        for pdu in std::mem::take(&mut self.durable.held) {
            self.hand_over_new(pdu, None, false);
        }
    }

    /// The store refused `h`: it stays where it is, and an offer is armed.
    pub(super) fn refused(&mut self, h: InHand, e: &str, now: Instant) {
        let backoff = self.durable.store_retry.backoff();
        let routed = self.cnmi.routes();
        let r = self.durable.refusing.get_or_insert_with(|| {
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
            (None, false) if self.durable.held.len() < MAX_HELD_ROUTED => {
                log::warn!("modem: could not make an SMS durable ({e}); routed, held, offered again in {wait:?}");
                self.durable.held.push_back(h.pdu);
            }
            (None, false) => log::error!(
                "modem: routed SMS lost: could not make it durable ({e}), the modem acknowledged it and {MAX_HELD_ROUTED} are held already"
            ),
        }
    }

    /// The store accepted after refusing: everything that waits is offered now.
    pub(super) fn store_accepts(&mut self, since: Instant, now: Instant) {
        log::info!(
            "modem: the store accepts SMS again after {:?}; listing storage",
            now.saturating_duration_since(since)
        );
        self.request_drain();
        for pdu in std::mem::take(&mut self.durable.held) {
            self.hand_over_new(pdu, None, false);
        }
    }

    /// Whether a stored message at `loc` is already being handled (MM ignores a repeated
    /// `+CMTI` for an index it holds).
    pub(super) fn knows(&self, loc: &Location, pdu: Option<&[u8]>) -> bool {
        let same = |l: &Location, p: &[u8]| l == loc && pdu.is_none_or(|x| x == p);
        self.durable.in_hand.values().any(|h| h.loc.as_ref().is_some_and(|l| same(l, h.pdu.bytes())))
            || self.work.deletes.iter().any(|d| same(&d.loc, &d.pdu))
    }

    /// The durable store answered for a handed-over PDU.
    pub fn on_durable(&mut self, token: u64, result: Result<(), String>, now: Instant) {
        let Some(h) = self.durable.in_hand.remove(&token) else { return };
        match result {
            Ok(()) => {
                if let Some(loc) = h.loc {
                    let verify = h.epoch != self.durable.epoch;
                    self.work.deletes.push_back(Delete { loc, pdu: h.pdu.into_bytes(), verify });
                } else if h.needs_ack && h.epoch == self.durable.epoch {
                    self.work.acks += 1;
                }
                if let Some(r) = self.durable.refusing.take() {
                    self.store_accepts(r.since, now);
                }
            }
            Err(e) => self.refused(h, &e, now),
        }
        self.advance(now);
    }
}
