//! `otapushd`: wires the modem, the receive path, the store, the streams and the D-Bus service.
//!
//! One task owns the receive path and reacts to events (mini-redis style): a PDU from the modem
//! is spooled durably, acknowledged to the modem (which then deletes it), run through the
//! [`Receiver`], and what completes is committed and delivered by the Push-CAI service. Nothing
//! ticks while idle: the only timers are the next reassembly expiry and, while the store fails
//! (a full disk), the next try of what it refused (docs/store.md).

use crate::cai::{self, CaiHandle, ServiceHooks};
use crate::config::{Config, ConfigError, SseConfig};
use crate::message::{event_message_id, EventInfo, Kind, Message, Source};
use crate::modem::{self, ModemState, Profile, ReceivedPdu, SimHandle, Transport};
use crate::receive::{Completed, Outcome, Receiver, EVENT_STREAM};
use crate::sse::{StreamEvent, StreamStatus};
use crate::store::{Health, Store};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use thiserror::Error;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, oneshot, watch};
use zbus::zvariant::{OwnedValue, Value};

/// Command-line values that override the configuration file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub device: Option<String>,
    pub bus: Option<String>,
    pub state_dir: Option<PathBuf>,
}

#[derive(Debug, Error)]
pub enum DaemonError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("modem profile: {0}")]
    Profile(#[from] crate::modem::ProfileError),
    #[error("store: {0}; not starting (no SMS is taken off the modem without a store that commits)")]
    Store(#[from] crate::store::StoreError),
    #[error("D-Bus service: {0}")]
    Service(#[from] crate::cai::Error),
    #[error("D-Bus: {0}")]
    Bus(#[from] zbus::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Loads the configuration (or the laptop defaults) and applies the overrides.
pub fn load_config(path: Option<&std::path::Path>, ov: &Overrides) -> Result<Config, ConfigError> {
    let mut cfg = match path {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    if let Some(d) = &ov.device {
        cfg.modem.device.clone_from(d);
    }
    if let Some(b) = &ov.bus {
        cfg.dbus.bus.clone_from(b);
    }
    if let Some(s) = &ov.state_dir {
        cfg.store.dir.clone_from(s);
    }
    Ok(cfg)
}

/// Runs the daemon until SIGTERM or SIGINT, on a current-thread runtime.
pub fn main(config_path: Option<PathBuf>, ov: Overrides) -> Result<(), DaemonError> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(run(config_path, ov))
}

/// `org.otapush.Push1.Simulator`, served only with `device = "sim"`: the simulated network.
struct SimulatorIface {
    sim: SimHandle,
}

#[zbus::interface(name = "org.otapush.Push1.Simulator")]
impl SimulatorIface {
    /// The network delivers this SMS PDU (SMSC prefix included): the simulated modem stores it
    /// and signals `+CMTI` (or `+CMT`), and the real AT engine reads it.
    fn deliver(&self, pdu: Vec<u8>) {
        self.sim.deliver(&pdu);
    }
    /// The modem resets (prints its boot URCs and forgets volatile settings).
    fn reset(&self) {
        self.sim.reset();
    }
    /// The modem is unplugged (`true`) or plugged back in (`false`).
    fn unplug(&self, gone: bool) {
        if gone {
            self.sim.unplug()
        } else {
            self.sim.replug()
        }
    }
    /// The modem's SMS storage fills up.
    fn fill_storage(&self) {
        self.sim.fill_storage();
    }
}

/// One configured event stream and what the daemon keeps of it.
struct Stream {
    cfg: SseConfig,
    last_id: watch::Sender<String>,
    status: watch::Receiver<StreamStatus>,
    #[cfg(feature = "sse-http")]
    _handle: crate::sse::client::StreamHandle,
}

/// A stream event not committed yet: the queues are at their caps (it waits for an agent to
/// take messages) or the store failed (it is tried again after `retry`). While one is held the
/// daemon takes no stream event from the channel, so the stream tasks block and stop reading
/// their HTTP bodies, and TCP flow control slows the servers (docs/event-streams.md). Nothing
/// is dropped and Last-Event-ID stays at the last committed event.
struct HeldEvent {
    ev: StreamEvent,
    retry: Option<(tokio::time::Instant, crate::cai::delivery::Backoff)>,
}

/// The daemon's state, owned by its one task.
struct Daemon {
    cfg: Config,
    config_path: Option<PathBuf>,
    overrides: Overrides,
    store: Store,
    cai: CaiHandle,
    receiver: Receiver,
    streams: BTreeMap<String, Stream>,
    #[cfg_attr(not(feature = "sse-http"), allow(dead_code))]
    stream_events: mpsc::Sender<StreamEvent>,
    stream_changed: mpsc::Sender<()>,
    bearer: crate::bearer::BearerHandle,
    /// Stored PDUs the spool refused (a full disk), with their arrival time: their `durable`
    /// answer waits, so the modem keeps them until the spool takes them on a later try.
    unspooled: Vec<(ReceivedPdu, u64)>,
    /// Completed messages whose commit failed: their PDUs stay spooled, and the commit is tried
    /// again, so they are delivered without waiting for a restart.
    uncommitted: Vec<Completed>,
    /// Past [`MAX_UNCOMMITTED`], only the spool ids of such messages: decoded again from the
    /// spool when it is their turn.
    uncommitted_ids: Vec<Vec<i64>>,
    /// Whether commits fail, and the backoff between tries.
    health: Health,
    /// The next try of what is held; set only while something is.
    retry_at: Option<tokio::time::Instant>,
    held_event: Option<HeldEvent>,
    /// When a stream event last waited for room in the queues.
    streams_paused: Option<std::time::Instant>,
}

/// Waits for room closer together than this are one episode in the log.
const PAUSE_LOG_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

/// Completed messages held whole for a commit retry.
const MAX_UNCOMMITTED: usize = 256;
/// Messages held as spool ids; beyond this the spool alone keeps them (replayed at the next
/// start). 8 octets a PDU.
const MAX_UNCOMMITTED_IDS: usize = 65_536;
/// Stored PDUs whose `durable` answer waits for the spool (more than any SIM or modem memory
/// holds); beyond this the answer is an error and the intake retries on its own.
const MAX_UNSPOOLED: usize = 1024;

async fn run(config_path: Option<PathBuf>, overrides: Overrides) -> Result<(), DaemonError> {
    let cfg = load_config(config_path.as_deref(), &overrides)?;
    log::info!(
        "otapushd {} starting: modem {}, bus {}, state {}",
        env!("CARGO_PKG_VERSION"),
        cfg.modem.device,
        cfg.dbus.bus,
        cfg.store.dir.display()
    );
    let store = Store::open(&cfg.store.dir, cfg.store_limits())?;
    let profile = Profile::load(&cfg.modem.profile, profile_dir(&cfg).as_deref())?;

    let (inject_tx, mut inject_rx) = mpsc::channel::<ReceivedPdu>(64);
    let (bearer_set_tx, mut bearer_set_rx) = mpsc::channel::<bool>(8);
    let cai = cai::start(
        &cfg.dbus.bus,
        store.clone(),
        cfg.cai_settings(),
        ServiceHooks { inject: inject_tx, bearer: bearer_set_tx },
    )
    .await?;
    log::info!("owning org.otapush.Push1 on the {} bus", cfg.dbus.bus);

    let (transport, sim) = Transport::for_device(&cfg.modem.device);
    if let Some(sim) = sim {
        cai.connection().object_server().at("/org/otapush/Push1/Simulator", SimulatorIface { sim }).await?;
        log::info!(
            "simulated modem: the network is org.otapush.Push1.Simulator on /org/otapush/Push1/Simulator"
        );
    }
    let (pdu_tx, mut pdu_rx) = mpsc::channel::<ReceivedPdu>(16);
    let (state_tx, mut state_rx) = watch::channel(ModemState::NoDevice);
    let (modem_stop, modem_stopped) = oneshot::channel::<()>();
    let (modem_cmd_tx, modem_cmd_rx) = mpsc::channel::<modem::ModemCommand>(1);
    if let Err(e) = modem::resume::watch_resume(cai.connection(), modem_cmd_tx).await {
        log::warn!("cannot watch for system resume (logind PrepareForSleep): {e}");
    }
    let modem_task = tokio::spawn(modem::run_modem_with_commands(
        cfg.modem_settings(),
        profile,
        transport,
        pdu_tx,
        state_tx,
        modem_cmd_rx,
        async {
            let _ = modem_stopped.await;
        },
    ));

    let (bearer, mut bearer_rx) = crate::bearer::spawn_bearer(&cfg.bearer);
    let (stream_events, mut events_rx) = mpsc::channel::<StreamEvent>(32);
    let (stream_changed, mut changed_rx) = mpsc::channel::<()>(1);
    let commit_retry_max = cfg.commit_retry_max();
    let mut d = Daemon {
        receiver: Receiver::new(cfg.wdp_limits()),
        cfg,
        config_path,
        overrides,
        store,
        cai,
        streams: BTreeMap::new(),
        stream_events,
        stream_changed,
        bearer,
        unspooled: Vec::new(),
        uncommitted: Vec::new(),
        uncommitted_ids: Vec::new(),
        health: Health::new(commit_retry_max),
        retry_at: None,
        held_event: None,
        streams_paused: None,
    };
    d.cai.set_store_state(&d.health.state().to_string());
    d.apply_stream_config();
    d.replay_spool().await;

    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sighup = signal(SignalKind::hangup())?;
    d.cai.set_modem_state(state_rx.borrow().as_str());
    d.cai.set_bearer_state(if *bearer_rx.borrow() { "up" } else { "down" });
    let store = d.store.clone();
    loop {
        let held = d.held_event.as_ref().map(|h| h.retry.as_ref().map(|(at, _)| *at));
        let held_wake = async {
            match held {
                Some(Some(at)) => tokio::time::sleep_until(at).await,
                Some(None) => store.room_freed().await,
                None => std::future::pending().await,
            }
        };
        let deadline = d.receiver.next_deadline();
        let retry = d.retry_at;
        let store_retry = async {
            match retry {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let sleep = async {
            match deadline {
                Some(ms) => {
                    let wait = ms.saturating_sub(crate::time::now_ms());
                    tokio::time::sleep(std::time::Duration::from_millis(wait)).await
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            Some(p) = pdu_rx.recv() => d.intake(drain(p, &mut pdu_rx)).await,
            Some(p) = inject_rx.recv() => d.intake(drain(p, &mut inject_rx)).await,
            Some(ev) = events_rx.recv(), if d.held_event.is_none() => d.stream_event(ev, None).await,
            () = held_wake => d.retry_held_event().await,
            Some(up) = bearer_set_rx.recv() => d.set_external_bearer(up),
            Some(()) = changed_rx.recv() => d.publish_streams(),
            Ok(()) = state_rx.changed() => {
                let s = state_rx.borrow_and_update().clone();
                log::info!("modem: {}", s.as_str());
                d.cai.set_modem_state(s.as_str());
            }
            Ok(()) = bearer_rx.changed() => {
                let up = *bearer_rx.borrow_and_update();
                log::info!("data bearer {}", if up { "up" } else { "down" });
                d.cai.set_bearer_state(if up { "up" } else { "down" });
            }
            () = store_retry => d.retry_store().await,
            () = sleep => {
                let outcomes = d.receiver.expire(crate::time::now_ms());
                d.settle(outcomes).await;
            }
            _ = sighup.recv() => d.reload().await,
            _ = sigterm.recv() => break,
            _ = sigint.recv() => break,
        }
    }
    log::info!("shutting down");
    let _ = modem_stop.send(());
    let _ = tokio::time::timeout(std::time::Duration::from_secs(3), modem_task).await;
    d.streams.clear();
    d.cai.shutdown().await;
    Ok(())
}

/// The first PDU and whatever else is already waiting, up to a batch.
fn drain(first: ReceivedPdu, rx: &mut mpsc::Receiver<ReceivedPdu>) -> Vec<ReceivedPdu> {
    let mut batch = vec![first];
    while batch.len() < 64 {
        match rx.try_recv() {
            Ok(p) => batch.push(p),
            Err(_) => break,
        }
    }
    batch
}

fn profile_dir(cfg: &Config) -> Option<PathBuf> {
    if let Some(d) = &cfg.modem.profile_dir {
        return Some(d.clone());
    }
    ["/usr/share/otapush/board", "/etc/otapush/board"].iter().map(PathBuf::from).find(|p| p.is_dir())
}

impl Daemon {
    /// PDUs from the modem or `InjectPdu`. While the store fails, stored PDUs queue behind the
    /// ones it already refused (the modem keeps them); routed ones cannot wait and are tried.
    async fn intake(&mut self, batch: Vec<ReceivedPdu>) {
        let now = crate::time::now_ms();
        let mut batch: Vec<(ReceivedPdu, u64)> = batch.into_iter().map(|p| (p, now)).collect();
        if self.holding() {
            let (routed, stored) = batch.into_iter().partition(|(p, _)| p.location.is_none());
            let reason = self.health.state().to_string();
            self.hold_unspooled(stored, &reason);
            batch = routed;
        }
        if !batch.is_empty() {
            self.spool(batch).await;
        }
    }

    /// Spools PDUs durably in one transaction, answers their `durable` (the modem may delete
    /// them now) and runs them through the receive path. What the store refuses is held.
    async fn spool(&mut self, batch: Vec<(ReceivedPdu, u64)>) {
        let rows: Vec<(&[u8], u64)> = batch.iter().map(|(p, t)| (p.pdu.as_slice(), *t)).collect();
        match self.store.spool_pdus(&rows) {
            Ok(ids) => {
                let mut outcomes = Vec::new();
                for ((p, t), id) in batch.into_iter().zip(ids) {
                    let _ = p.durable.send(Ok(()));
                    outcomes.extend(self.receiver.process(id as u64, &p.pdu, t));
                }
                self.store_ok();
                self.settle(outcomes).await;
            }
            Err(e) => {
                let reason = e.to_string();
                self.store_failed(&format!("{} PDUs to the spool", batch.len()), &reason);
                self.hold_unspooled(batch, &reason);
            }
        }
    }

    /// Keeps stored PDUs for the next try (their `durable` answer waits); a routed PDU, or one
    /// past [`MAX_UNSPOOLED`], is answered with the error (it is not acknowledged, not deleted).
    fn hold_unspooled(&mut self, batch: Vec<(ReceivedPdu, u64)>, reason: &str) {
        for (p, t) in batch {
            if p.location.is_none() {
                let _ = p.durable.send(Err(reason.to_string()));
            } else if self.unspooled.len() >= MAX_UNSPOOLED {
                let _ = p.durable.send(Err(format!("{reason}; {MAX_UNSPOOLED} PDUs already wait")));
            } else {
                self.unspooled.push((p, t));
            }
        }
    }

    /// Whether something waits for the store.
    fn holding(&self) -> bool {
        self.health.is_failing()
            || !self.unspooled.is_empty()
            || !self.uncommitted.is_empty()
            || !self.uncommitted_ids.is_empty()
    }

    /// A commit failed: the state says so and the next try is armed after the backoff.
    fn store_failed(&mut self, what: &str, reason: &str) {
        let pause = self.health.failed(what, reason);
        self.retry_at = Some(tokio::time::Instant::now() + pause);
        self.cai.set_store_state(&self.health.state().to_string());
    }

    /// A commit went through: once nothing waits any more, the store is `ok` again.
    fn store_ok(&mut self) {
        if self.health.is_failing()
            && self.unspooled.is_empty()
            && self.uncommitted.is_empty()
            && self.uncommitted_ids.is_empty()
            && self.health.succeeded()
        {
            self.retry_at = None;
            self.cai.set_store_state(&self.health.state().to_string());
        }
    }

    /// Rebuilds the reassembly state from the spool after a restart, completing what can be.
    async fn replay_spool(&mut self) {
        let spooled = match self.store.spooled_pdus() {
            Ok(s) => s,
            Err(e) => {
                log::error!("cannot read the PDU spool: {e}");
                return;
            }
        };
        if !spooled.is_empty() {
            log::info!("replaying {} spooled PDUs", spooled.len());
        }
        for p in spooled {
            let outcomes = self.receiver.process(p.id as u64, &p.pdu, p.received_ms);
            self.settle(outcomes).await;
        }
        let outcomes = self.receiver.expire(crate::time::now_ms());
        self.settle(outcomes).await;
    }

    /// Commits what the receive path produced, in one transaction; spooled PDUs go only once
    /// their message is in.
    async fn settle(&mut self, outcomes: Vec<Outcome>) {
        let mut completed: Vec<Completed> = Vec::new();
        for o in outcomes {
            match o {
                Outcome::Complete(c) => {
                    completed.push(*c);
                }
                Outcome::Pending { tag, have, total } => log::debug!("segment {tag}: {have} of {total}"),
                Outcome::Duplicate { tag } => {
                    log::info!("duplicate segment {tag} dropped");
                    if let Err(e) = self.store.discard_spooled(&[tag as i64]) {
                        log::warn!("spool: {e}");
                    }
                }
                Outcome::Rejected { tags, reason } => {
                    log::warn!("dead letter: {reason}");
                    let ids: Vec<i64> = tags.iter().map(|t| *t as i64).collect();
                    if let Err(e) = self.store.dead_letter(&ids, &reason, crate::time::now_ms()) {
                        log::error!("cannot dead-letter PDUs {ids:?}: {e}");
                    }
                }
            }
        }
        if completed.is_empty() {
            return;
        }
        let messages: Vec<Message> = completed.iter().flat_map(|c| c.messages.iter().cloned()).collect();
        let consumed: Vec<i64> = completed.iter().flat_map(|c| c.tags.iter().map(|t| *t as i64)).collect();
        match self.cai.submit(&messages, &consumed).await {
            Ok(results) => {
                self.note_events(&messages, &results);
                self.store_ok();
            }
            Err(e) => {
                self.store_failed(
                    &format!("{} messages (kept in the spool)", messages.len()),
                    &e.to_string(),
                );
                for c in completed {
                    self.hold_for_retry(c);
                }
            }
        }
    }

    /// Moves Last-Event-IDs for the events that were new.
    fn note_events(&mut self, messages: &[Message], results: &[(String, crate::store::Outcome)]) {
        for (m, (_, outcome)) in messages.iter().zip(results) {
            log::debug!("message {} ({}): {outcome:?}", m.id, m.kind.as_str());
            if *outcome == crate::store::Outcome::New {
                self.note_event(m);
            }
        }
    }

    /// Commits one completed message; gives it back when the store refused.
    async fn commit(&mut self, c: Box<Completed>) -> Result<(), Box<Completed>> {
        let tags: Vec<i64> = c.tags.iter().map(|t| *t as i64).collect();
        match self.cai.submit(&c.messages, &tags).await {
            Ok(results) => {
                self.note_events(&c.messages, &results);
                Ok(())
            }
            Err(e) => {
                self.store_failed(
                    &format!("the message from {} (kept in the spool)", c.originator),
                    &e.to_string(),
                );
                Err(c)
            }
        }
    }

    fn hold_for_retry(&mut self, c: Completed) {
        if self.uncommitted.len() < MAX_UNCOMMITTED {
            self.uncommitted.push(c);
        } else if self.uncommitted_ids.len() < MAX_UNCOMMITTED_IDS {
            self.uncommitted_ids.push(c.tags.iter().map(|t| *t as i64).collect());
        } else {
            log::error!("too many uncommitted messages: this one waits in the spool for the next start");
        }
    }

    /// The retry timer: the held commits in order, then the messages held as spool ids, then
    /// the PDUs the spool refused. The first failure ends the round (the next pause is longer).
    async fn retry_store(&mut self) {
        self.retry_at = None;
        if self.unspooled.is_empty() && self.uncommitted.is_empty() && self.uncommitted_ids.is_empty() {
            // Only an event failed: the next commit that succeeds says the store is fine.
            return;
        }
        let mut held = std::mem::take(&mut self.uncommitted).into_iter();
        while let Some(c) = held.next() {
            if let Err(c) = self.commit(Box::new(c)).await {
                self.uncommitted.push(*c);
                self.uncommitted.extend(held);
                return;
            }
        }
        let by_ids = std::mem::take(&mut self.uncommitted_ids);
        if !by_ids.is_empty() {
            self.recommit_from_spool(by_ids).await;
            if self.retry_at.is_some() {
                return;
            }
        }
        let refused = std::mem::take(&mut self.unspooled);
        if !refused.is_empty() {
            self.spool(refused).await;
        }
        self.store_ok();
    }

    /// Decodes messages held as spool ids again (a receiver of their own, so the live partial
    /// messages are not touched) and commits them; what fails is held again.
    async fn recommit_from_spool(&mut self, groups: Vec<Vec<i64>>) {
        let mut receiver = Receiver::new(self.cfg.wdp_limits());
        receiver.set_streams(self.cfg.sse.iter().map(|s| (s.application_id.as_str(), s.name.as_str())));
        let mut groups = groups.into_iter();
        while let Some(ids) = groups.next() {
            let pdus = match self.store.spooled_by_ids(&ids) {
                Ok(p) => p,
                Err(e) => {
                    self.store_failed("a spool read", &e.to_string());
                    self.uncommitted_ids.push(ids);
                    self.uncommitted_ids.extend(groups);
                    return;
                }
            };
            let mut outcomes = Vec::new();
            for p in pdus {
                outcomes.extend(receiver.process(p.id as u64, &p.pdu, p.received_ms));
            }
            self.settle(outcomes).await;
            if self.retry_at.is_some() {
                self.uncommitted_ids.extend(groups);
                return;
            }
        }
    }

    /// An event from either path moves its stream's Last-Event-ID.
    fn note_event(&mut self, m: &Message) {
        let Some(ev) = &m.event else { return };
        if ev.event_id.is_empty() {
            return;
        }
        let app = m.application_id.as_deref().unwrap_or("");
        let Some(stream) = self.streams.values_mut().find(|s| s.cfg.application_id.eq_ignore_ascii_case(app))
        else {
            return;
        };
        // The store persisted it with the commit; the stream sends it on its next connect.
        let changed = stream.last_id.send_if_modified(|id| {
            let changed = *id != ev.event_id;
            if changed {
                id.clone_from(&ev.event_id);
            }
            changed
        });
        // An event by SMS changes no stream status, so nothing else would republish `Streams`
        // with the new LastEventId.
        if changed {
            self.publish_streams();
        }
    }

    /// An event from a connection-oriented stream becomes a message like an SMS event, when the
    /// queues have room for it and the store takes it; otherwise it is held ([`HeldEvent`]).
    async fn stream_event(&mut self, ev: StreamEvent, backoff: Option<crate::cai::delivery::Backoff>) {
        let failed = match self.store.room_for_stream_event(ev.event.data.len()) {
            Ok(true) => match self.commit_stream_event(&ev).await {
                Ok(()) => None,
                Err(e) => {
                    self.store_failed(&format!("an event of stream {}", ev.stream), &e.to_string());
                    Some(format!("cannot commit event: {e}"))
                }
            },
            Ok(false) => {
                // At the caps every event may wait a moment: one line per episode.
                if self.streams_paused.is_none_or(|t| t.elapsed() > PAUSE_LOG_INTERVAL) {
                    log::warn!(
                        "stream {}: the queues are full; the streams are not read until agents take messages",
                        ev.stream
                    );
                }
                self.streams_paused = Some(std::time::Instant::now());
                self.held_event = Some(HeldEvent { ev, retry: None });
                return;
            }
            Err(e) => Some(format!("store: {e}")),
        };
        if let Some(why) = failed {
            let mut backoff = backoff.unwrap_or_default();
            let delay = backoff.next_delay();
            log::error!("stream {}: {why}; the stream waits, trying again in {delay:?}", ev.stream);
            let at = tokio::time::Instant::now() + delay;
            self.held_event = Some(HeldEvent { ev, retry: Some((at, backoff)) });
        }
    }

    /// Tries the held stream event again (room was freed, or its retry time came).
    async fn retry_held_event(&mut self) {
        if let Some(h) = self.held_event.take() {
            self.stream_event(h.ev, h.retry.map(|(_, b)| b)).await;
        }
    }

    /// Commits one stream event; Last-Event-ID moves only when it is in the store.
    async fn commit_stream_event(&mut self, ev: &StreamEvent) -> Result<(), crate::cai::Error> {
        let Some(stream) = self.streams.get(&ev.stream) else { return Ok(()) };
        // An inherited id (HTML §9.2.6) does not name this event; a repeated `id` field does.
        let own_id = if ev.event.own_id { ev.event.id.as_str() } else { "" };
        let app_id = stream.cfg.application_id.clone();
        let now = crate::time::now_ms();
        let fallback = format!("{}#{}#{}", ev.stream, ev.received_ms, ev.seq);
        let message = Message {
            id: event_message_id(&app_id, own_id, &fallback),
            kind: Kind::WspPush,
            source: Source::Sse,
            originator: stream.cfg.url.clone(),
            sent_time: None,
            received_time: crate::time::format_unix_ms(now),
            application_id: Some(app_id),
            content_type: EVENT_STREAM.into(),
            content_type_params: BTreeMap::new(),
            headers: BTreeMap::new(),
            transaction_id: None,
            pdu_type: None,
            port: None,
            event: Some(EventInfo {
                stream: ev.stream.clone(),
                event_type: ev.event.event_type.clone(),
                event_id: ev.event.id.clone(),
            }),
            body: ev.event.data.as_bytes().to_vec(),
        };
        let r = self.cai.submit(std::slice::from_ref(&message), &[]).await?;
        self.store_ok();
        if r.first().is_some_and(|(_, o)| *o == crate::store::Outcome::New) {
            self.note_event(&message)
        } else {
            log::info!("stream {}: event {:?} already delivered", ev.stream, ev.event.id);
        }
        Ok(())
    }

    fn set_external_bearer(&mut self, up: bool) {
        if !self.bearer.set_external(up) {
            log::warn!("SetBearerState ignored: [bearer] mode is not \"external\"");
        }
    }

    /// (Re)applies `[[sse]]`: streams added start, removed stop, changed restart.
    fn apply_stream_config(&mut self) {
        self.receiver.set_streams(self.cfg.sse.iter().map(|s| (s.application_id.as_str(), s.name.as_str())));
        let wanted: HashMap<&str, &SseConfig> = self.cfg.sse.iter().map(|s| (s.name.as_str(), s)).collect();
        self.streams.retain(|name, s| {
            let keep = wanted.get(name.as_str()).is_some_and(|c| **c == s.cfg);
            if !keep {
                log::info!("stream {name}: stopped (configuration changed)");
            }
            keep
        });
        for cfg in self.cfg.sse.clone() {
            if self.streams.contains_key(&cfg.name) {
                continue;
            }
            let stored = self.store.last_event_id(&cfg.name).ok().flatten().unwrap_or_default();
            let (last_id, last_id_rx) = watch::channel(stored);
            let (status_tx, status) = watch::channel(StreamStatus::default());
            #[cfg(feature = "sse-http")]
            let handle = {
                let opts = crate::sse::client::StreamOptions {
                    retry_ms: self.store.reconnect_time(&cfg.name).ok().flatten(),
                    ..Default::default()
                };
                crate::sse::client::spawn_stream_with(
                    cfg.stream_settings(),
                    opts,
                    last_id_rx,
                    self.bearer.subscribe(),
                    self.stream_events.clone(),
                    status_tx,
                )
            };
            #[cfg(not(feature = "sse-http"))]
            {
                drop(last_id_rx);
                status_tx.send_modify(|s| {
                    s.state = crate::sse::StreamState::Stopped { reason: crate::sse::StopReason::NoHttp }
                });
            }
            let mut watch_status = status.clone();
            let changed = self.stream_changed.clone();
            tokio::spawn(async move {
                while watch_status.changed().await.is_ok() {
                    let _ = changed.try_send(());
                }
            });
            log::info!("stream {}: {} for {}", cfg.name, cfg.url, cfg.application_id);
            self.streams.insert(
                cfg.name.clone(),
                Stream {
                    cfg,
                    last_id,
                    status,
                    #[cfg(feature = "sse-http")]
                    _handle: handle,
                },
            );
        }
        self.publish_streams();
    }

    /// The `Streams` property: name → a{sv} of the stream's state and counters.
    fn publish_streams(&mut self) {
        let mut all = HashMap::new();
        for (name, s) in &self.streams {
            let st = s.status.borrow().clone();
            if let Some(ms) = st.retry_ms {
                let _ = self.store.set_reconnect_time(name, ms);
            }
            let mut d: HashMap<&str, Value<'_>> = HashMap::new();
            d.insert("State", Value::from(st.state.as_str()));
            match &st.state {
                crate::sse::StreamState::BackingOff { until_ms, attempt } => {
                    d.insert("Until", Value::from(crate::time::format_unix_ms(*until_ms)));
                    d.insert("Attempt", Value::from(*attempt));
                }
                crate::sse::StreamState::Stopped { reason } => {
                    d.insert("Reason", Value::from(reason.to_string()));
                }
                _ => {}
            }
            d.insert("Url", Value::from(s.cfg.url.clone()));
            d.insert("ApplicationId", Value::from(s.cfg.application_id.clone()));
            d.insert("LastEventId", Value::from(s.last_id.borrow().clone()));
            d.insert("Events", Value::from(st.events));
            d.insert("Connects", Value::from(st.connects));
            d.insert("Errors", Value::from(st.errors));
            if let Some(e) = &st.last_error {
                d.insert("LastError", Value::from(e.to_string()));
            }
            if let Ok(v) = OwnedValue::try_from(Value::from(d)) {
                all.insert(name.clone(), v);
            }
        }
        self.cai.set_streams(all);
    }

    /// SIGHUP: reads the configuration again; `[bearer]`, `[[sse]]` and `[wdp]` apply at once.
    async fn reload(&mut self) {
        let cfg = match load_config(self.config_path.as_deref(), &self.overrides) {
            Ok(c) => c,
            Err(e) => {
                log::error!("reload failed, keeping the running configuration: {e}");
                return;
            }
        };
        log::info!("configuration reloaded");
        let restart = self.cfg.restart_keys(&cfg);
        if !restart.is_empty() {
            log::warn!("reload: {} changed; applies at the next start", restart.join(", "));
        }
        let bearer_changed = cfg.bearer != self.cfg.bearer;
        let wdp_changed = cfg.wdp != self.cfg.wdp;
        // Streams stopped by 4xx or a wrong content type restart on reload.
        let stopped: Vec<String> = self
            .streams
            .iter()
            .filter(|(_, s)| matches!(s.status.borrow().state, crate::sse::StreamState::Stopped { .. }))
            .map(|(n, _)| n.clone())
            .collect();
        for n in stopped {
            self.streams.remove(&n);
        }
        self.cfg = cfg;
        if bearer_changed {
            self.bearer.reconfigure(&self.cfg.bearer);
        }
        if wdp_changed {
            let outcomes = self.receiver.set_limits(self.cfg.wdp_limits());
            self.settle(outcomes).await;
        }
        self.apply_stream_config();
    }
}
