//! `DaemonCore`: the daemon's receive and durable logic without I/O (no tokio, no SQLite; the
//! time comes with each event), driven the way quinn-proto drives a connection: the shell
//! feeds [`Event`]s and carries out the [`Action`]s it polls.
//!
//! The merge of the SMS and SSE paths happens here: every message, by either path, is committed
//! by one [`Action::Commit`]; only a commit's answer moves a stream's Last-Event-ID
//! ([`Action::SetLastId`]), so the store is its one writer. What the store refuses (a full disk)
//! is held and tried again after [`Health`]'s backoff (docs/store.md).
//!
//! [`Action::Spool`], [`Action::Commit`] and [`Action::ReadSpool`] each want an answer
//! ([`Event::Spooled`], [`Event::Committed`], [`Event::SpoolRead`]); the shell gives it before
//! any other event, so the core has at most one of them outstanding.

use super::reload;
use super::sharing::{self, SharedStream};
use crate::cai::delivery::Backoff;
use crate::config::Config;
use crate::message::Message;
use crate::receive::{Outcome, Receiver, Rejection};
use crate::sse::StreamEvent;
use crate::store::{self, Health, SpooledPdu, StoreError, StoreState};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

/// Completed messages held whole for a commit retry.
const MAX_UNCOMMITTED: usize = 256;
/// Messages held as spool ids; beyond this the spool alone keeps them (replayed at the next
/// start). 8 octets a PDU.
const MAX_UNCOMMITTED_IDS: usize = 65_536;
/// Stored PDUs whose `durable` answer waits for the spool (more than any SIM or modem memory
/// holds); beyond this the answer is an error and the intake retries on its own.
pub const MAX_UNSPOOLED: usize = 1024;
/// Waits for room closer together than this are one episode in the log.
const PAUSE_LOG_INTERVAL_MS: u64 = 10_000;

/// Why a PDU is not durable, or a message or event not committed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DurableError {
    /// The store refused a write or a read (a full disk).
    #[error("{0}")]
    Store(Arc<StoreError>),
    /// The commit through the Push-CAI service failed.
    #[error("{0}")]
    Commit(Arc<crate::cai::Error>),
    /// The store could not say whether the queues have room.
    #[error("store: {0}")]
    RoomCheck(Arc<StoreError>),
    /// The queues are at their caps: a stream event waits for agents to take messages.
    #[error("the queues are full")]
    NoRoom,
    /// Earlier PDUs wait for the store; this one waits behind them.
    #[error("{0}")]
    Held(StoreState),
    /// Too many PDUs wait for the store already.
    #[error("{reason}; {waiting} PDUs already wait")]
    Backlog { reason: Box<DurableError>, waiting: usize },
}

/// A PDU from the modem or `InjectPdu`; the shell keeps its `durable` answer under `key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pdu {
    pub key: u64,
    pub pdu: Vec<u8>,
    /// In the modem's storage (`+CMTI`): it may wait there for the spool; a routed `+CMT`
    /// cannot.
    pub stored: bool,
}

/// What happens to the core.
#[derive(Debug)]
pub enum Event {
    /// The daemon starts: the streams start, and the spool (from the last run) is replayed.
    Start { spooled: Vec<SpooledPdu> },
    /// PDUs arrived.
    Pdus(Vec<Pdu>),
    /// The answer to [`Action::Spool`]: the spool ids, in order.
    Spooled(Result<Vec<i64>, DurableError>),
    /// An event of a connection-oriented stream.
    Stream(StreamEvent),
    /// The answer to [`Action::Commit`]: what the store made of each message.
    Committed(Result<Vec<store::Outcome>, DurableError>),
    /// The answer to [`Action::ReadSpool`].
    SpoolRead(Result<Vec<SpooledPdu>, DurableError>),
    /// Agents took messages: the queues may have room again.
    RoomFreed,
    /// The time in [`DaemonCore::next_timeout`] came.
    Tick,
    /// SIGHUP read this configuration; `stopped`: the streams stopped for good (4xx, 204).
    Reload { cfg: Box<Config>, stopped: Vec<String> },
}

/// What the shell does for the core.
#[derive(Debug, Clone)]
pub enum Action {
    /// Spool these PDUs (bytes, arrival ms) in one transaction; answer [`Event::Spooled`].
    Spool(Vec<(Vec<u8>, u64)>),
    /// Answer a PDU's `durable` (the modem deletes it on `Ok`).
    Durable {
        key: u64,
        result: Result<(), DurableError>,
    },
    /// Commit messages and delete the spooled PDUs they consumed, in one transaction; answer
    /// [`Event::Committed`]. `room_for`: a stream event's size, committed only if the queues
    /// have room for it (else [`DurableError::NoRoom`]).
    Commit {
        messages: Vec<Message>,
        consumed: Vec<i64>,
        room_for: Option<usize>,
    },
    /// Read these spooled PDUs; answer [`Event::SpoolRead`].
    ReadSpool(Vec<i64>),
    DeadLetter {
        spool_ids: Vec<i64>,
        reason: Rejection,
    },
    /// Delete spooled PDUs that duplicate held segments.
    Discard(Vec<i64>),
    /// The store committed this event id for the stream: the next connect sends it.
    SetLastId {
        stream: String,
        id: String,
    },
    /// The `StoreState` property.
    StoreState(StoreState),
    /// Start a connection for its entries (docs/event-streams.md, Shared connections).
    StartStream(SharedStream),
    StopStream(String),
    ReconfigureBearer(crate::config::BearerConfig),
    /// The set of streams changed: republish the `Streams` property.
    PublishStreams,
}

/// A completed message waiting for its commit.
#[derive(Debug, Clone)]
struct Completed {
    messages: Vec<Message>,
    tags: Vec<u64>,
}

/// A stream event not committed yet: the queues are at their caps (it waits for room) or the
/// store failed (`retry`: when it is tried again). While one is held the shell takes no stream
/// event, so the stream tasks stop reading and TCP flow control slows the servers
/// (docs/event-streams.md). Nothing is dropped; Last-Event-ID stays at the last commit.
#[derive(Debug)]
struct HeldEvent {
    ev: StreamEvent,
    retry: Option<(u64, Backoff)>,
}

/// The answer the core waits for.
#[derive(Debug)]
enum Awaiting {
    Spool(Vec<(Pdu, u64)>),
    Commit(Commit),
    ReadSpool(Vec<i64>),
}

#[derive(Debug)]
enum Commit {
    /// Messages of the receive path; held for retry when refused.
    Batch(Vec<Completed>),
    /// A held message, tried again in a retry round.
    Held(Completed),
    /// One event of a connection: a message for each entry it serves.
    Stream { ev: StreamEvent, messages: Vec<Message>, backoff: Option<Backoff> },
}

/// The daemon's receive and durable state.
pub struct DaemonCore {
    cfg: Config,
    now: u64,
    receiver: Receiver,
    /// The connections, by the name of their first `[[sse]]` entry.
    streams: BTreeMap<String, SharedStream>,
    /// `[[sse]] name` → the connection that reads it.
    connection_of: BTreeMap<String, String>,
    actions: VecDeque<Action>,
    awaiting: Option<Awaiting>,
    /// Stored PDUs the spool refused, with their arrival time: their `durable` answer waits.
    unspooled: Vec<(Pdu, u64)>,
    /// Completed messages whose commit failed (their PDUs stay spooled).
    uncommitted: VecDeque<Completed>,
    /// Past [`MAX_UNCOMMITTED`], only the spool ids of such messages.
    uncommitted_ids: VecDeque<Vec<i64>>,
    health: Health,
    /// The next try of what is held; set only while something is.
    retry_at: Option<u64>,
    /// A retry round runs: each answer goes on with the next held item.
    in_round: bool,
    held_event: Option<HeldEvent>,
    /// When a stream event last waited for room in the queues.
    streams_paused: Option<u64>,
}

impl DaemonCore {
    pub fn new(cfg: Config) -> DaemonCore {
        DaemonCore {
            receiver: Receiver::new(cfg.wdp_limits()),
            health: Health::new(Duration::from_secs(cfg.store.commit_retry_max)),
            cfg,
            now: 0,
            streams: BTreeMap::new(),
            connection_of: BTreeMap::new(),
            actions: VecDeque::new(),
            awaiting: None,
            unspooled: Vec::new(),
            uncommitted: VecDeque::new(),
            uncommitted_ids: VecDeque::new(),
            retry_at: None,
            in_round: false,
            held_event: None,
            streams_paused: None,
        }
    }

    /// The running configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The next action, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When to send [`Event::Tick`] (Unix ms): the next reassembly expiry or retry. The shell
    /// sleeps for the difference on a monotonic clock.
    pub fn next_timeout(&self) -> Option<u64> {
        let held = self.held_event.as_ref().and_then(|h| h.retry.as_ref().map(|(at, _)| *at));
        [self.receiver.next_deadline(), self.retry_at, held].into_iter().flatten().min()
    }

    /// Whether the shell may hand over a stream event (none is held).
    pub fn takes_stream_events(&self) -> bool {
        self.held_event.is_none() && self.awaiting.is_none()
    }

    /// Whether a held stream event waits for [`Event::RoomFreed`].
    pub fn waits_for_room(&self) -> bool {
        self.held_event.as_ref().is_some_and(|h| h.retry.is_none())
    }

    /// Feeds one event at `now_ms` (Unix ms).
    pub fn handle(&mut self, now_ms: u64, event: Event) {
        self.now = now_ms;
        match event {
            Event::Start { spooled } => self.start(spooled),
            Event::Pdus(batch) => self.intake(batch),
            Event::Spooled(result) => match self.awaiting.take() {
                Some(Awaiting::Spool(batch)) => self.spooled(batch, result),
                other => self.unexpected("Spooled", other),
            },
            Event::Committed(result) => match self.awaiting.take() {
                Some(Awaiting::Commit(c)) => self.committed(c, result),
                other => self.unexpected("Committed", other),
            },
            Event::SpoolRead(result) => match self.awaiting.take() {
                Some(Awaiting::ReadSpool(ids)) => self.spool_read(ids, result),
                other => self.unexpected("SpoolRead", other),
            },
            Event::Stream(ev) => self.stream_event(ev, None),
            Event::RoomFreed => {
                if self.waits_for_room() {
                    self.retry_held_event();
                }
            }
            Event::Tick => {
                // The shell slept (on a monotonic clock) until the earliest deadline: it came,
                // even if the wall clock was set back meanwhile.
                self.now = self.next_timeout().map_or(now_ms, |due| now_ms.max(due));
                self.tick()
            }
            Event::Reload { cfg, stopped } => self.reload(*cfg, &stopped),
        }
    }

    fn unexpected(&mut self, what: &str, awaiting: Option<Awaiting>) {
        log::error!("daemon core: {what} without its request (awaiting {awaiting:?})");
        self.awaiting = awaiting;
    }

    fn start(&mut self, spooled: Vec<SpooledPdu>) {
        self.actions.push_back(Action::StoreState(self.health.state()));
        self.apply_stream_config(&[]);
        if !spooled.is_empty() {
            log::info!("replaying {} spooled PDUs", spooled.len());
        }
        let mut outcomes = Vec::new();
        for p in spooled {
            outcomes.extend(self.receiver.process(p.id as u64, &p.pdu, p.received_ms));
        }
        outcomes.extend(self.receiver.expire(self.now));
        self.settle(outcomes);
    }

    /// While the store fails, stored PDUs queue behind the ones it already refused (the modem
    /// keeps them); routed ones cannot wait and are tried.
    fn intake(&mut self, batch: Vec<Pdu>) {
        let now = self.now;
        let mut batch: Vec<(Pdu, u64)> = batch.into_iter().map(|p| (p, now)).collect();
        if self.holding() {
            let (routed, stored): (Vec<_>, Vec<_>) = batch.into_iter().partition(|(p, _)| !p.stored);
            self.hold_unspooled(stored, DurableError::Held(self.health.state()));
            batch = routed;
        }
        if !batch.is_empty() {
            self.spool(batch);
        }
    }

    fn spool(&mut self, batch: Vec<(Pdu, u64)>) {
        self.actions.push_back(Action::Spool(batch.iter().map(|(p, t)| (p.pdu.clone(), *t)).collect()));
        self.awaiting = Some(Awaiting::Spool(batch));
    }

    /// The PDUs are durable: their `durable` answers go, and they run through the receive path.
    fn spooled(&mut self, batch: Vec<(Pdu, u64)>, result: Result<Vec<i64>, DurableError>) {
        match result {
            Ok(ids) => {
                let mut outcomes = Vec::new();
                for ((p, t), id) in batch.into_iter().zip(ids) {
                    self.actions.push_back(Action::Durable { key: p.key, result: Ok(()) });
                    outcomes.extend(self.receiver.process(id as u64, &p.pdu, t));
                }
                self.store_ok();
                if !self.settle(outcomes) {
                    self.next_in_round();
                }
            }
            Err(e) => {
                self.store_failed(&format!("{} PDUs to the spool", batch.len()), &e);
                self.hold_unspooled(batch, e);
            }
        }
    }

    /// Keeps stored PDUs for the next try (their `durable` answer waits); a routed PDU, or one
    /// past [`MAX_UNSPOOLED`], is answered with the error (not acknowledged, not deleted).
    fn hold_unspooled(&mut self, batch: Vec<(Pdu, u64)>, reason: DurableError) {
        for (p, t) in batch {
            if !p.stored {
                self.actions.push_back(Action::Durable { key: p.key, result: Err(reason.clone()) });
            } else if self.unspooled.len() >= MAX_UNSPOOLED {
                let result =
                    Err(DurableError::Backlog { reason: Box::new(reason.clone()), waiting: MAX_UNSPOOLED });
                self.actions.push_back(Action::Durable { key: p.key, result });
            } else {
                self.unspooled.push((p, t));
            }
        }
    }

    /// Whether something waits for the store.
    fn holding(&self) -> bool {
        self.health.is_failing() || self.something_held()
    }

    fn something_held(&self) -> bool {
        !self.unspooled.is_empty() || !self.uncommitted.is_empty() || !self.uncommitted_ids.is_empty()
    }

    /// A commit failed: the state says so and the next try is armed after the backoff.
    fn store_failed(&mut self, what: &str, reason: &DurableError) {
        let pause = self.health.failed(what, &reason.to_string());
        self.retry_at = Some(self.now.saturating_add(pause.as_millis() as u64));
        self.in_round = false;
        self.actions.push_back(Action::StoreState(self.health.state()));
    }

    /// A commit went through: once nothing waits any more, the store is `ok` again.
    fn store_ok(&mut self) {
        if self.health.is_failing() && !self.something_held() && self.health.succeeded() {
            self.retry_at = None;
            self.actions.push_back(Action::StoreState(self.health.state()));
        }
    }

    /// Commits what the receive path produced, in one transaction; spooled PDUs go only once
    /// their message is in. False when there was nothing to commit.
    fn settle(&mut self, outcomes: Vec<Outcome>) -> bool {
        let mut completed = Vec::new();
        for o in outcomes {
            match o {
                Outcome::Complete { messages, tags } => completed.push(Completed { messages, tags }),
                Outcome::Pending { tag, have, total } => log::debug!("segment {tag}: {have} of {total}"),
                Outcome::Duplicate { tag } => {
                    log::info!("duplicate segment {tag} dropped");
                    self.actions.push_back(Action::Discard(vec![tag as i64]));
                }
                Outcome::Rejected { tags, reason } => {
                    log::warn!("dead letter: {reason}");
                    let spool_ids = tags.iter().map(|t| *t as i64).collect();
                    self.actions.push_back(Action::DeadLetter { spool_ids, reason });
                }
            }
        }
        if completed.is_empty() {
            return false;
        }
        let messages = completed.iter().flat_map(|c| c.messages.iter().cloned()).collect();
        let consumed = completed.iter().flat_map(|c| c.tags.iter().map(|t| *t as i64)).collect();
        self.actions.push_back(Action::Commit { messages, consumed, room_for: None });
        self.awaiting = Some(Awaiting::Commit(Commit::Batch(completed)));
        true
    }

    fn commit_held(&mut self, c: Completed) {
        let consumed = c.tags.iter().map(|t| *t as i64).collect();
        self.actions.push_back(Action::Commit { messages: c.messages.clone(), consumed, room_for: None });
        self.awaiting = Some(Awaiting::Commit(Commit::Held(c)));
    }

    fn committed(&mut self, commit: Commit, result: Result<Vec<store::Outcome>, DurableError>) {
        match (commit, result) {
            (Commit::Batch(completed), Ok(results)) => {
                let messages: Vec<&Message> = completed.iter().flat_map(|c| &c.messages).collect();
                self.note_events(&messages, &results);
                self.store_ok();
                self.next_in_round();
            }
            (Commit::Batch(completed), Err(e)) => {
                let n: usize = completed.iter().map(|c| c.messages.len()).sum();
                self.store_failed(&format!("{n} messages (kept in the spool)"), &e);
                for c in completed {
                    self.hold_for_retry(c);
                }
            }
            (Commit::Held(c), Ok(results)) => {
                self.note_events(&c.messages.iter().collect::<Vec<_>>(), &results);
                self.next_in_round();
            }
            (Commit::Held(c), Err(e)) => {
                let from = c.messages.first().map(|m| m.originator.clone()).unwrap_or_default();
                self.store_failed(&format!("the message from {from} (kept in the spool)"), &e);
                self.uncommitted.push_front(c);
            }
            (Commit::Stream { ev, messages, .. }, Ok(results)) => {
                self.store_ok();
                if results.contains(&store::Outcome::New) {
                    self.note_events(&messages.iter().collect::<Vec<_>>(), &results);
                } else {
                    log::info!("stream {}: event {:?} already delivered", ev.stream, ev.event.id);
                }
            }
            (Commit::Stream { ev, .. }, Err(DurableError::NoRoom)) => {
                // At the caps every event may wait a moment: one line per episode.
                if self.streams_paused.is_none_or(|t| self.now.saturating_sub(t) > PAUSE_LOG_INTERVAL_MS) {
                    log::warn!(
                        "stream {}: the queues are full; the streams are not read until agents take messages",
                        ev.stream
                    );
                }
                self.streams_paused = Some(self.now);
                self.held_event = Some(HeldEvent { ev, retry: None });
            }
            (Commit::Stream { ev, backoff, .. }, Err(e)) => {
                if !matches!(e, DurableError::RoomCheck(_)) {
                    self.store_failed(&format!("an event of stream {}", ev.stream), &e);
                }
                let mut backoff = backoff.unwrap_or_default();
                let delay = event_retry_delay(&mut backoff);
                log::error!("stream {}: {e}; the stream waits, trying again in {delay:?}", ev.stream);
                let at = self.now.saturating_add(delay.as_millis() as u64);
                self.held_event = Some(HeldEvent { ev, retry: Some((at, backoff)) });
            }
        }
    }

    /// Moves Last-Event-IDs for the events the store took as new (it persisted them with the
    /// commit): the copy of the connection that reads the event's entry, once per event.
    fn note_events(&mut self, messages: &[&Message], results: &[store::Outcome]) {
        let mut last: Option<(String, String)> = None;
        for (m, outcome) in messages.iter().zip(results) {
            log::debug!("message {} ({}): {outcome:?}", m.id, m.kind.as_str());
            let Some(ev) = &m.event else { continue };
            if *outcome == store::Outcome::New && !ev.stream.is_empty() && !ev.event_id.is_empty() {
                let stream = self.connection_of.get(&ev.stream).unwrap_or(&ev.stream).clone();
                let set = (stream, ev.event_id.clone());
                if last.as_ref() != Some(&set) {
                    self.actions.push_back(Action::SetLastId { stream: set.0.clone(), id: set.1.clone() });
                    last = Some(set);
                }
            }
        }
    }

    fn hold_for_retry(&mut self, c: Completed) {
        if self.uncommitted.len() < MAX_UNCOMMITTED {
            self.uncommitted.push_back(c);
        } else if self.uncommitted_ids.len() < MAX_UNCOMMITTED_IDS {
            self.uncommitted_ids.push_back(c.tags.iter().map(|t| *t as i64).collect());
        } else {
            log::error!("too many uncommitted messages: this one waits in the spool for the next start");
        }
    }

    fn tick(&mut self) {
        let now = self.now;
        if self.receiver.next_deadline().is_some_and(|d| d <= now) {
            let outcomes = self.receiver.expire(now);
            self.settle(outcomes);
            if self.awaiting.is_some() {
                return;
            }
        }
        if self.retry_at.is_some_and(|at| at <= now) {
            self.retry_at = None;
            if self.something_held() {
                self.in_round = true;
                self.next_in_round();
            }
            // Only an event failed: the next commit that succeeds says the store is fine.
            if self.awaiting.is_some() {
                return;
            }
        }
        if self.held_event.as_ref().is_some_and(|h| h.retry.as_ref().is_some_and(|(at, _)| *at <= now)) {
            self.retry_held_event();
        }
    }

    /// A retry round: the held commits in order, then the messages held as spool ids, then
    /// the PDUs the spool refused. The first failure ends the round (the next pause is longer).
    fn next_in_round(&mut self) {
        if !self.in_round || self.awaiting.is_some() {
            return;
        }
        if let Some(c) = self.uncommitted.pop_front() {
            self.commit_held(c);
        } else if let Some(ids) = self.uncommitted_ids.pop_front() {
            self.actions.push_back(Action::ReadSpool(ids.clone()));
            self.awaiting = Some(Awaiting::ReadSpool(ids));
        } else if !self.unspooled.is_empty() {
            let refused = std::mem::take(&mut self.unspooled);
            self.spool(refused);
        } else {
            self.in_round = false;
            self.store_ok();
        }
    }

    /// Decodes messages held as spool ids again (a receiver of their own, so the live partial
    /// messages are not touched) and commits them.
    fn spool_read(&mut self, ids: Vec<i64>, result: Result<Vec<SpooledPdu>, DurableError>) {
        match result {
            Ok(pdus) => {
                let mut receiver = Receiver::new(self.cfg.wdp_limits());
                receiver
                    .set_streams(self.cfg.sse.iter().map(|s| (s.application_id.as_str(), s.name.as_str())));
                let mut outcomes = Vec::new();
                for p in pdus {
                    outcomes.extend(receiver.process(p.id as u64, &p.pdu, p.received_ms));
                }
                if !self.settle(outcomes) {
                    self.next_in_round();
                }
            }
            Err(e) => {
                self.store_failed("a spool read", &e);
                self.uncommitted_ids.push_front(ids);
            }
        }
    }

    /// The messages a stream event becomes, one per entry of its connection, each with its
    /// entry's application id and name (none when the connection is gone).
    fn stream_messages(&self, ev: &StreamEvent) -> Vec<Message> {
        let Some(conn) = self.streams.get(&ev.stream) else { return Vec::new() };
        let fallback = format!("{}#{}#{}", ev.stream, ev.received_ms, ev.seq);
        let received_time = crate::time::format_unix_ms(self.now);
        conn.members
            .iter()
            .map(|m| {
                Message::stream_event(
                    &m.application_id,
                    &m.name,
                    &m.url,
                    &ev.event,
                    &fallback,
                    received_time.clone(),
                )
            })
            .collect()
    }

    /// An event from a connection-oriented stream becomes a message per entry like an SMS
    /// event, all in one commit, when the queues have room for them and the store takes them;
    /// otherwise it is held ([`HeldEvent`]).
    fn stream_event(&mut self, ev: StreamEvent, backoff: Option<Backoff>) {
        let messages = self.stream_messages(&ev);
        if messages.is_empty() {
            return;
        }
        let room_for = Some(ev.event.data.len().saturating_mul(messages.len()));
        self.actions.push_back(Action::Commit { messages: messages.clone(), consumed: Vec::new(), room_for });
        self.awaiting = Some(Awaiting::Commit(Commit::Stream { ev, messages, backoff }));
    }

    /// Tries the held stream event again (room was freed, or its retry time came).
    fn retry_held_event(&mut self) {
        if let Some(h) = self.held_event.take() {
            self.stream_event(h.ev, h.retry.map(|(_, b)| b));
        }
    }

    /// (Re)applies `[[sse]]`: connections added start, removed or changed (an entry joined or
    /// left; or `stopped`) restart from the stored Last-Event-ID, so no event is lost.
    fn apply_stream_config(&mut self, stopped: &[String]) {
        self.receiver.set_streams(self.cfg.sse.iter().map(|s| (s.application_id.as_str(), s.name.as_str())));
        let wanted = sharing::group(&self.cfg.sse);
        let diff = reload::stream_diff(&self.streams, &wanted, stopped);
        for name in diff.stop {
            self.streams.remove(&name);
            self.actions.push_back(Action::StopStream(name));
        }
        for conn in diff.start {
            self.streams.insert(conn.name().to_string(), conn.clone());
            self.actions.push_back(Action::StartStream(conn));
        }
        self.connection_of = self
            .streams
            .values()
            .flat_map(|c| c.members.iter().map(|m| (m.name.clone(), c.name().to_string())))
            .collect();
        self.actions.push_back(Action::PublishStreams);
    }

    /// SIGHUP: `[bearer]`, `[[sse]]` and `[wdp]` apply at once; the rest at the next start.
    fn reload(&mut self, cfg: Config, stopped: &[String]) {
        log::info!("configuration reloaded");
        let changes = reload::changes(&self.cfg, &cfg);
        if !changes.restart.is_empty() {
            log::warn!("reload: {} changed; applies at the next start", changes.restart.join(", "));
        }
        self.cfg = cfg;
        if changes.bearer {
            self.actions.push_back(Action::ReconfigureBearer(self.cfg.bearer.clone()));
        }
        if changes.wdp {
            let outcomes = self.receiver.set_limits(self.cfg.wdp_limits());
            self.settle(outcomes);
        }
        self.apply_stream_config(stopped);
    }
}

/// The pause before a held stream event is tried again.
fn event_retry_delay(backoff: &mut Backoff) -> Duration {
    backoff.next_delay()
}

#[cfg(test)]
mod tests;
