//! The SMS intake: a sans-I/O state machine that brings the modem up (TS 27.005 §3) and moves
//! every received PDU to durable storage before deleting (`+CMGD`) or acknowledging (`+CNMA`)
//! it. Responses, URCs, durable answers and time go in; commands, PDUs to hand over and state
//! changes come out. It sends one command at a time and arms a timer only while it waits for
//! something (a retry pause, the ready URC), so an idle modem costs no wake-ups.
//!
//! One file per concern, each with its own sub-state: `init.rs` (the init sequence),
//! `storage.rs` (the storage choice and counts), `cnmi.rs` (new-message indications),
//! `work.rs` (the ready phase's work queues), `durable.rs` (hand-overs, crash safety and a
//! refusing store), `reset.rs` (signs of a silent reset).

mod cnmi;
mod durable;
mod init;
mod reset;
mod storage;
#[cfg(test)]
mod tests;
mod work;

pub use durable::StoreRetry;
pub use work::READ_BATCH;

use super::at::{Command, FinalResult, PduUrcKind, RawPdu, Response, Urc};
use super::profile::Profile;
use super::state::ModemState;
use super::Location;
use cnmi::Cnmi;
use durable::Durable;
use init::{Init, Step};
use std::collections::VecDeque;
use std::time::Instant;
use storage::Storage;
use work::{Delete, Work};

/// `+CMS ERROR: 322`: memory full.
const CMS_MEMORY_FULL: u32 = 322;

/// What the intake asks its shell to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Submit this command to the AT engine.
    Send(Command),
    /// Hand this PDU to durable storage; answer with [`Intake::on_durable`] and the same
    /// token.
    HandOver {
        /// Names this hand-over in [`Intake::on_durable`].
        token: u64,
        /// The PDU as the modem printed it, with the SMSC prefix.
        pdu: RawPdu,
        /// Where it is stored; `None` for a routed `+CMT`.
        location: Option<Location>,
    },
    /// Publish a new state.
    State(ModemState),
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

/// What goes out to the shell.
#[derive(Debug, Default)]
struct Outbox {
    actions: VecDeque<Action>,
    /// The state last published.
    state: Option<ModemState>,
}

/// The command of ours in the engine.
#[derive(Debug, Default)]
struct Flight {
    /// What it is for; `None` while nothing is in flight.
    awaiting: Option<Purpose>,
    /// Responses still to come for commands sent before a re-init: ignored.
    stale: u32,
    timeouts_in_row: u32,
}

/// The intake state machine. See the module doc.
#[derive(Debug)]
pub struct Intake {
    profile: Profile,
    phase: Phase,
    out: Outbox,
    flight: Flight,
    init: Init,
    storage: Storage,
    cnmi: Cnmi,
    work: Work,
    durable: Durable,
}

impl Intake {
    /// An intake for a modem of board `profile`, disconnected.
    pub fn new(profile: Profile) -> Intake {
        Intake {
            profile,
            phase: Phase::Disconnected,
            out: Outbox::default(),
            flight: Flight::default(),
            init: Init::default(),
            storage: Storage::default(),
            cnmi: Cnmi::default(),
            work: Work::default(),
            durable: Durable::default(),
        }
    }

    /// Sets the pauses between offers of what the store refused.
    pub fn with_store_retry(mut self, r: StoreRetry) -> Intake {
        self.durable.store_retry = r;
        self
    }

    /// The next thing to do, oldest first.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.out.actions.pop_front()
    }

    /// When [`on_timeout`](Self::on_timeout) must be called; `None` while idle.
    pub fn next_deadline(&self) -> Option<Instant> {
        let retry = self.durable.refusing.as_ref().and_then(|r| r.at);
        match (self.init.pause, retry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// PDUs handed over and not yet answered.
    pub fn in_hand(&self) -> usize {
        self.durable.in_hand.len()
    }

    /// Whether the store refused the last hand-over (what it refused waits on the modem).
    pub fn store_refusing(&self) -> bool {
        self.durable.refusing.is_some()
    }

    /// The init sequence is done: the intake reads, stores and deletes messages.
    pub fn is_ready(&self) -> bool {
        self.phase == Phase::Ready
    }

    /// Stored-message notifications waiting to be read (at most
    /// [`PENDING_READS_CAP`](super::pending::PENDING_READS_CAP) + 1).
    pub fn pending_reads(&self) -> usize {
        self.work.reads.len()
    }

    fn set_state(&mut self, s: ModemState) {
        if self.out.state.as_ref() != Some(&s) {
            log::info!("modem: state {s}");
            self.out.state = Some(s.clone());
            self.out.actions.push_back(Action::State(s));
        }
    }

    fn send(&mut self, cmd: Command, purpose: Purpose) {
        self.flight.awaiting = Some(purpose);
        self.out.actions.push_back(Action::Send(cmd));
    }

    /// The port is open: initialise.
    pub fn on_connected(&mut self, now: Instant) {
        self.flight.stale = 0;
        self.flight.awaiting = None;
        self.start_init(now, false);
    }

    /// The port closed. Commands in the engine are gone with it.
    pub fn on_disconnected(&mut self) {
        self.phase = Phase::Disconnected;
        self.flight.awaiting = None;
        self.flight.stale = 0;
        self.init.pause = None;
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
        self.durable.epoch += 1;
        self.storage.mem1 = None;
        self.cnmi.now = None;
        self.work.reads.clear();
        self.work.drains.clear();
        self.work.listed_order.clear();
        self.work.acks = 0;
        self.work.usage_due = false;
        self.storage.counts.clear();
        for d in &mut self.work.deletes {
            d.verify = true;
        }
    }

    /// A timer armed by [`next_deadline`](Self::next_deadline) expired.
    pub fn on_timeout(&mut self, now: Instant) {
        if self.durable.refusing.as_ref().and_then(|r| r.at).is_some_and(|t| t <= now) {
            self.offer_again(now);
        }
        if self.init.pause.is_some_and(|p| p <= now) {
            self.init.pause = None;
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

    /// A URC from the engine.
    pub fn on_urc(&mut self, urc: Urc, now: Instant) {
        match urc {
            Urc::MessageStored(loc) | Urc::StatusReportStored(loc) => self.on_stored_notification(loc),
            Urc::Pdu { kind: PduUrcKind::Broadcast, .. } => log::info!("modem: cell broadcast page ignored"),
            Urc::Pdu { kind, pdu } => {
                let needs_ack = self.init.service1 && self.profile.cnma().is_some();
                log::debug!("modem: routed {kind:?} of {} octets", pdu.bytes().len());
                self.hand_over_new(pdu, None, needs_ack);
            }
            Urc::Indicator { ind, value } => {
                if Some(ind) == self.storage.smsfull_ind && value == 1 {
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
            self.init.ready_seen = true;
            if self.phase == Phase::Init(Step::AwaitReady) {
                self.init.pause = None;
                self.phase = Phase::Init(Step::Csms);
            }
        } else if line.starts_with("+CPIN: READY") && self.phase == Phase::SimLocked {
            log::info!("modem: SIM unlocked; re-initialising");
            self.start_init(now, false);
        } else {
            log::debug!("modem: URC ignored: {line}");
        }
    }

    /// The engine finished a command.
    pub fn on_response(&mut self, r: Response, now: Instant) {
        if self.flight.stale > 0 {
            self.flight.stale -= 1;
            return;
        }
        let Some(purpose) = self.flight.awaiting.take() else {
            log::debug!("modem: response to {} not awaited", r.command);
            return;
        };
        if r.result == FinalResult::Timeout {
            self.flight.timeouts_in_row += 1;
            let probing = matches!(self.phase, Phase::Init(Step::Probe(_)));
            if self.flight.timeouts_in_row >= 2 && !probing {
                log::warn!("modem: two commands timed out in a row; re-initialising");
                self.start_init(now, false);
                return;
            }
        } else if !matches!(purpose, Purpose::SwitchMem(_)) {
            // A storage selection between two timeouts does not end the row.
            self.flight.timeouts_in_row = 0;
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
                self.switch_mem_response(mem, &r)
            }
            (Phase::Ready, p) => self.ready_response(p, &r),
            (phase, p) => log::debug!("modem: response for {p:?} in {phase:?} dropped"),
        }
        self.advance(now);
    }

    /// Sends the next command if nothing is in flight and nothing pauses.
    fn advance(&mut self, now: Instant) {
        while self.flight.awaiting.is_none() && self.init.pause.is_none() {
            match self.phase.clone() {
                Phase::Init(step) if !self.init_command(step, now) => continue,
                Phase::Ready => self.ready_command(),
                _ => {}
            }
            return;
        }
    }
}
