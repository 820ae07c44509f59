//! `otapushd`: wires the modem, the receive path, the store, the streams and the D-Bus service.
//!
//! One task runs the daemon (mini-redis style). The decisions are [`core::DaemonCore`]'s, which
//! does no I/O; this shell turns channels, signals and timers into its events and carries out
//! its actions against the store, the Push-CAI service and the stream tasks. Nothing ticks
//! while idle: the only timers are the next reassembly expiry and, while the store fails (a
//! full disk), the next try of what it refused (docs/store.md).

pub mod core;
pub mod reload;
pub mod sharing;
mod streams;

use self::core::{Action, DaemonCore, DurableError, Event, Pdu};
use self::streams::Streams;
use crate::cai::{self, CaiHandle, ServiceHooks};
use crate::config::{Config, ConfigError};
use crate::modem::sim::iface::{SimulatorIface, SIMULATOR_PATH};
use crate::modem::{self, LoadProfile, ModemState, Profile, ReceivedPdu, Transport};
use crate::sse::StreamEvent;
use crate::store::Store;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use thiserror::Error;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, oneshot, watch};

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
    crate::memory::single_arena();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(run(config_path, ov))
}

/// What the shell owns: the I/O the core's actions reach.
struct Shell {
    config_path: Option<PathBuf>,
    overrides: Overrides,
    store: Store,
    cai: CaiHandle,
    streams: Streams,
    bearer: crate::bearer::BearerHandle,
    /// The `durable` answers of PDUs the core holds, by key.
    durable: HashMap<u64, oneshot::Sender<Result<(), String>>>,
    next_key: u64,
}

/// Starts the local EventSource endpoint when `[eventsource]` names a listener; new messages
/// reach it from `CaiHandle::submit` (docs/eventsource.md).
#[cfg(feature = "eventsource")]
async fn start_eventsource(
    cfg: &Config,
    cai: &CaiHandle,
) -> Result<Option<crate::eventsource::Endpoint>, DaemonError> {
    use crate::eventsource::{Hub, Tokens};
    use std::sync::Arc;
    if !cfg.eventsource.enabled() {
        return Ok(None);
    }
    let hub = Hub::new(cai.store().clone(), cfg.eventsource_hub_limits());
    let tokens = Arc::new(Tokens::new(cfg.eventsource.token_ttl.saturating_mul(1000)));
    let policy = Arc::new(crate::cai::access::AccessPolicy::resolve_with(
        &cfg.cai_settings().access,
        &crate::cai::access::Nss,
    ));
    let ep =
        crate::eventsource::spawn(cfg.eventsource_settings(), hub.clone(), policy, tokens.clone()).await?;
    cai.set_eventsource(crate::cai::EventSourceHooks {
        hub,
        tokens,
        socket: ep.socket.clone(),
        tcp: ep.tcp_addr,
    });
    log::info!("eventsource: listening on {:?} {:?}", ep.socket, ep.tcp_addr);
    Ok(Some(ep))
}

async fn run(config_path: Option<PathBuf>, overrides: Overrides) -> Result<(), DaemonError> {
    let cfg = load_config(config_path.as_deref(), &overrides)?;
    log::info!(
        "otapushd {} starting: modem {}, bus {}, state {}",
        env!("CARGO_PKG_VERSION"),
        cfg.modem.device,
        cfg.dbus.bus,
        cfg.store.dir.display()
    );
    let profile = Profile::load(&cfg.modem.profile, profile_dir(&cfg).as_deref())?;
    // The store opens and checks itself on its writer thread while this one connects to the
    // bus and adds its match rule (`cai::connect`). A store that cannot open is reported first.
    let opening = Store::open_in_background(&cfg.store.dir, cfg.store_limits());
    let (conn, store) = tokio::join!(cai::connect(&cfg.dbus.bus), opening);
    let store = store?;
    let conn = conn?;

    // The modem starts once the store is open (and locked: a second daemon on this state
    // stops there), before the service takes its name: its init (AT round trips) overlaps the
    // service's bus round trips. What it reads waits in `pdu_rx` until the loop below spools
    // it, a few milliseconds; nothing leaves the SIM before that. A second daemon on another
    // state directory cannot open the tty either: serialport takes TIOCEXCL and an exclusive
    // flock.
    let (transport, sim) = Transport::for_device(&cfg.modem.device);
    let (pdu_tx, mut pdu_rx) = mpsc::channel::<ReceivedPdu>(16);
    let (state_tx, mut state_rx) = watch::channel(ModemState::NoDevice);
    let (modem_stop, modem_stopped) = oneshot::channel::<()>();
    let (modem_cmd_tx, modem_cmd_rx) = mpsc::channel::<modem::ModemCommand>(1);
    let stopped = async {
        let _ = modem_stopped.await;
    };
    let modem_task = tokio::spawn(modem::run_modem_with_commands(
        cfg.modem_settings(),
        profile,
        transport,
        pdu_tx,
        state_tx,
        modem_cmd_rx,
        stopped,
    ));

    let (inject_tx, mut inject_rx) = mpsc::channel::<ReceivedPdu>(64);
    let (bearer_set_tx, mut bearer_set_rx) = mpsc::channel::<bool>(8);
    let hooks = ServiceHooks { inject: inject_tx, bearer: bearer_set_tx };
    let cai = cai::start_on(conn, store.clone(), cfg.cai_settings(), hooks).await?;
    log::info!("owning org.otapush.Push1 on the {} bus", cfg.dbus.bus);
    #[cfg(feature = "eventsource")]
    let _eventsource = start_eventsource(&cfg, &cai).await?;

    if let Some(sim) = sim {
        cai.connection().object_server().at(SIMULATOR_PATH, SimulatorIface { sim }).await?;
        log::info!("simulated modem: the network is org.otapush.Push1.Simulator on {SIMULATOR_PATH}");
    }
    // The modem task runs already: its init goes on while the bus answers.
    if let Err(e) = modem::resume::watch_resume(cai.connection(), modem_cmd_tx).await {
        log::warn!("cannot watch for system resume (logind PrepareForSleep): {e}");
    }

    let (bearer, mut bearer_rx) = crate::bearer::spawn_bearer(&cfg.bearer);
    let (stream_events, mut events_rx) = mpsc::channel::<StreamEvent>(32);
    let (stream_changed, mut changed_rx) = mpsc::channel::<()>(1);
    let streams = Streams::new(stream_events, stream_changed);
    let mut sh =
        Shell { config_path, overrides, store, cai, streams, bearer, durable: HashMap::new(), next_key: 0 };
    let mut core = DaemonCore::new(cfg);
    let spooled = sh.store.spooled_pdus().unwrap_or_else(|e| {
        log::error!("cannot read the PDU spool: {e}");
        Vec::new()
    });
    sh.drive(&mut core, Event::Start { spooled }).await;

    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sighup = signal(SignalKind::hangup())?;
    sh.cai.set_modem_state(state_rx.borrow().as_str());
    sh.cai.set_bearer_state(if *bearer_rx.borrow() { "up" } else { "down" });
    let store = sh.store.clone();
    loop {
        let timeout = core.next_timeout();
        let tick = async {
            match timeout {
                Some(at) => {
                    let wait = at.saturating_sub(crate::time::now_ms());
                    tokio::time::sleep(std::time::Duration::from_millis(wait)).await
                }
                None => std::future::pending().await,
            }
        };
        let waits_for_room = core.waits_for_room();
        let room = async {
            match waits_for_room {
                true => store.room_freed().await,
                false => std::future::pending().await,
            }
        };
        let event = tokio::select! {
            Some(p) = pdu_rx.recv() => sh.pdus(drain(p, &mut pdu_rx)),
            Some(p) = inject_rx.recv() => sh.pdus(drain(p, &mut inject_rx)),
            Some(ev) = events_rx.recv(), if core.takes_stream_events() => Event::Stream(ev),
            () = room => Event::RoomFreed,
            () = tick => Event::Tick,
            _ = sighup.recv() => match sh.reload() {
                Some(e) => e,
                None => continue,
            },
            Some(up) = bearer_set_rx.recv() => {
                if !sh.bearer.set_external(up) {
                    log::warn!("SetBearerState ignored: [bearer] mode is not \"external\"");
                }
                continue;
            }
            Some(()) = changed_rx.recv() => {
                sh.streams.publish(&sh.store, &sh.cai);
                continue;
            }
            Ok(()) = state_rx.changed() => {
                let s = state_rx.borrow_and_update().clone();
                log::info!("modem: {}", s.as_str());
                sh.cai.set_modem_state(s.as_str());
                continue;
            }
            Ok(()) = bearer_rx.changed() => {
                let up = if *bearer_rx.borrow_and_update() { "up" } else { "down" };
                log::info!("data bearer {up}");
                sh.cai.set_bearer_state(up);
                continue;
            }
            _ = sigterm.recv() => break,
            _ = sigint.recv() => break,
        };
        sh.drive(&mut core, event).await;
    }
    log::info!("shutting down");
    let _ = modem_stop.send(());
    let _ = tokio::time::timeout(std::time::Duration::from_secs(3), modem_task).await;
    sh.streams.clear();
    sh.cai.shutdown().await;
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

impl Shell {
    /// Feeds one event and carries out the actions, giving each request its answer at once.
    async fn drive(&mut self, core: &mut DaemonCore, event: Event) {
        core.handle(crate::time::now_ms(), event);
        while let Some(action) = core.poll_action() {
            if let Some(answer) = self.act(action).await {
                core.handle(crate::time::now_ms(), answer);
            }
        }
    }

    /// PDUs from the modem or `InjectPdu`; their `durable` answers wait here.
    fn pdus(&mut self, batch: Vec<ReceivedPdu>) -> Event {
        let pdus = batch
            .into_iter()
            .map(|p| {
                let key = self.next_key;
                self.next_key += 1;
                self.durable.insert(key, p.durable);
                Pdu { key, pdu: p.pdu, stored: p.location.is_some() }
            })
            .collect();
        Event::Pdus(pdus)
    }

    /// SIGHUP: reads the configuration again.
    fn reload(&self) -> Option<Event> {
        match load_config(self.config_path.as_deref(), &self.overrides) {
            Ok(cfg) => Some(Event::Reload { cfg: Box::new(cfg), stopped: self.streams.stopped() }),
            Err(e) => {
                log::error!("reload failed, keeping the running configuration: {e}");
                None
            }
        }
    }

    async fn act(&mut self, action: Action) -> Option<Event> {
        let store_err = |e| DurableError::Store(Arc::new(e));
        match action {
            Action::Spool(rows) => {
                // On the writer thread: the runtime serves D-Bus while the fsync runs.
                return Some(Event::Spooled(self.store.spool_pdus_async(rows).await.map_err(store_err)));
            }
            Action::Commit { messages, consumed, room_for } => {
                return Some(Event::Committed(self.commit(&messages, &consumed, room_for).await));
            }
            Action::ReadSpool(ids) => {
                return Some(Event::SpoolRead(self.store.spooled_by_ids(&ids).map_err(store_err)));
            }
            Action::Durable { key, result } => {
                if let Some(tx) = self.durable.remove(&key) {
                    let _ = tx.send(result.map_err(|e| e.to_string()));
                }
            }
            Action::DeadLetter { spool_ids, reason } => {
                if let Err(e) = self.store.dead_letter(&spool_ids, &reason.to_string(), crate::time::now_ms())
                {
                    log::error!("cannot dead-letter PDUs {spool_ids:?}: {e}");
                }
            }
            Action::Discard(ids) => {
                if let Err(e) = self.store.discard_spooled(&ids) {
                    log::warn!("spool: {e}");
                }
            }
            Action::SetLastId { stream, id } => {
                // An event by SMS changes no stream status: republish `Streams` here.
                if self.streams.set_last_id(&stream, &id) {
                    self.streams.publish(&self.store, &self.cai);
                }
            }
            Action::StoreState(state) => self.cai.set_store_state(&state.to_string()),
            Action::StartStream(cfg) => self.streams.start(cfg, &self.store, &self.bearer),
            Action::StopStream(name) => self.streams.stop(&name),
            Action::ReconfigureBearer(cfg) => self.bearer.reconfigure(&cfg),
            Action::PublishStreams => self.streams.publish(&self.store, &self.cai),
        }
        None
    }

    /// Commits through the Push-CAI service (which signals `PushReceived`); a stream event only
    /// when the queues have room for it.
    async fn commit(
        &self,
        messages: &[crate::message::Message],
        consumed: &[i64],
        room_for: Option<usize>,
    ) -> Result<Vec<crate::store::Outcome>, DurableError> {
        if let Some(bytes) = room_for {
            match self.store.room_for_stream_event(bytes) {
                Ok(true) => {}
                Ok(false) => return Err(DurableError::NoRoom),
                Err(e) => return Err(DurableError::RoomCheck(Arc::new(e))),
            }
        }
        match self.cai.submit(messages, consumed).await {
            Ok(results) => Ok(results.into_iter().map(|(_, o)| o).collect()),
            Err(e) => Err(DurableError::Commit(Arc::new(e))),
        }
    }
}
