//! The running service: owns `org.otapush.Push1`, serves the Manager, watches agents leave,
//! expires queues at their next deadline, and emits property changes. Idle, every task waits
//! on a notification or a bus message: no timer runs.

use super::access::{self, AccessPolicy, ResolveNss};
use super::error::Error;
use super::manager::{release, Manager};
use super::meta::meta;
use super::registry::{self, Registry};
use super::{BUS_NAME, OBJECT_PATH};
use crate::message::Message;
use crate::store::{Outcome, Store};
use crate::time::now_ms;
use futures_lite::StreamExt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;
use zbus::object_server::SignalEmitter;
use zbus::zvariant::OwnedValue;

/// Where the Manager's privileged methods lead: the daemon reads these channels.
#[derive(Debug, Clone)]
pub struct ServiceHooks {
    /// `InjectPdu`: one PDU (with SMSC prefix) for the receive path, like a PDU from the
    /// modem; the call returns once the daemon answers `durable`.
    pub inject: mpsc::Sender<crate::modem::ReceivedPdu>,
    /// `SetBearerState`: true for `up`.
    pub bearer: mpsc::Sender<bool>,
}

/// How many Manager method calls (`InjectPdu` aside) are served at once. The rest wait their
/// turn (none fails): a burst of calls then holds at most this many credential look-ups and
/// answers in memory instead of one of each per queued call.
pub const MAX_CALLS_IN_FLIGHT: usize = 4;

/// How many `InjectPdu` calls are served at once. Each waits for its PDU's spool `fsync`, and
/// the PDUs waiting together share one, so this bounds the injection rate to about this many
/// per `fsync` (the trade against burst memory: BENCHMARKS.md, issue 13 item 5).
pub const MAX_INJECTS_IN_FLIGHT: usize = 16;

/// Bounds the calls served at once ([`MAX_CALLS_IN_FLIGHT`], [`MAX_INJECTS_IN_FLIGHT`]).
#[derive(Debug)]
pub(super) struct CallGate {
    permits: tokio::sync::Semaphore,
    in_flight: std::sync::atomic::AtomicUsize,
    /// Test hook: the most calls ever in flight together.
    peak: std::sync::atomic::AtomicUsize,
}

/// One call being served; dropping it lets the next waiting call in.
pub(super) struct CallPermit<'a> {
    _permit: tokio::sync::SemaphorePermit<'a>,
    gate: &'a CallGate,
}

impl CallGate {
    pub(super) fn new(limit: usize) -> Self {
        CallGate {
            permits: tokio::sync::Semaphore::new(limit.max(1)),
            in_flight: Default::default(),
            peak: Default::default(),
        }
    }

    /// Waits (first come, first served) until fewer than the limit are in flight.
    pub(super) async fn enter(&self) -> CallPermit<'_> {
        use std::sync::atomic::Ordering::SeqCst;
        // The semaphore is never closed.
        let permit = self.permits.acquire().await.expect("the call gate is never closed");
        let now = self.in_flight.fetch_add(1, SeqCst) + 1;
        self.peak.fetch_max(now, SeqCst);
        CallPermit { _permit: permit, gate: self }
    }

    #[cfg(test)]
    pub(super) fn peak(&self) -> usize {
        self.peak.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for CallPermit<'_> {
    fn drop(&mut self) {
        self.gate.in_flight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Connects to `system`, `session`, or a D-Bus address such as `unix:path=/run/x`.
///
/// A Unix socket (path or abstract name) is connected here, on the calling thread: zbus would
/// connect it from tokio's blocking pool, a thread (and a malloc arena) that then idles for
/// ten seconds. `connect(2)` on a Unix stream socket does not wait for the server's `accept`.
/// Other transports, and calls outside a tokio runtime, go through zbus.
pub fn bus_builder(bus: &str) -> zbus::Result<zbus::connection::Builder<'static>> {
    let address = match bus {
        "system" => zbus::Address::system()?,
        "session" => zbus::Address::session()?,
        address => address.parse::<zbus::Address>()?,
    };
    match unix_socket(&address) {
        Some(socket) if tokio::runtime::Handle::try_current().is_ok() => {
            let connected = socket.and_then(|s| {
                s.set_nonblocking(true)?;
                tokio::net::UnixStream::from_std(s)
            });
            match connected {
                Ok(stream) => Ok(zbus::connection::Builder::unix_stream(stream)),
                Err(e) => Err(zbus::Error::Connection(Arc::new(e), address)),
            }
        }
        _ => Ok(zbus::connection::Builder::address(address)?),
    }
}

/// `connect(2)` to the address's Unix socket; `None` for other transports.
fn unix_socket(address: &zbus::Address) -> Option<std::io::Result<std::os::unix::net::UnixStream>> {
    use std::os::unix::net::{SocketAddr, UnixStream};
    use zbus::address::transport::{Transport, UnixSocket};
    let Transport::Unix(unix) = address.transport() else { return None };
    let addr = match unix.path() {
        UnixSocket::File(path) => SocketAddr::from_pathname(path),
        #[cfg(target_os = "linux")]
        UnixSocket::Abstract(name) => {
            use std::os::linux::net::SocketAddrExt;
            use std::os::unix::ffi::OsStrExt;
            SocketAddr::from_abstract_name(name.as_bytes())
        }
        _ => return None,
    };
    Some(addr.and_then(|a| UnixStream::connect_addr(&a)))
}

/// The Manager's properties, set by the daemon and read by the bus.
#[derive(Default)]
pub(super) struct Props {
    values: Mutex<PropValues>,
    wake: Notify,
}

#[derive(Default)]
struct PropValues {
    modem: String,
    bearer: String,
    streams: HashMap<String, OwnedValue>,
    /// `None` until the daemon says: `ok`.
    store: Option<String>,
    changed: [bool; 4],
}

impl Props {
    fn lock(&self) -> MutexGuard<'_, PropValues> {
        self.values.lock().unwrap_or_else(|p| p.into_inner())
    }
    pub(super) fn modem(&self) -> String {
        self.lock().modem.clone()
    }
    pub(super) fn bearer(&self) -> String {
        self.lock().bearer.clone()
    }
    pub(super) fn store(&self) -> String {
        self.lock().store.clone().unwrap_or_else(|| "ok".into())
    }
    pub(super) fn streams(&self) -> HashMap<String, OwnedValue> {
        self.lock().streams.iter().filter_map(|(k, v)| Some((k.clone(), v.try_clone().ok()?))).collect()
    }
    fn update(&self, which: usize, f: impl FnOnce(&mut PropValues) -> bool) {
        let changed = f(&mut self.lock());
        if changed {
            self.lock().changed[which] = true;
            self.wake.notify_one();
        }
    }
}

/// The running Push-CAI service. Dropping it without [`CaiHandle::shutdown`] stops its tasks
/// and closes the connection, like a crash would (nothing more is written to the store).
pub struct CaiHandle {
    conn: zbus::Connection,
    dbus: zbus::fdo::DBusProxy<'static>,
    registry: Arc<Registry>,
    props: Arc<Props>,
    tasks: Vec<JoinHandle<()>>,
    eventsource: Arc<OnceLock<EventSourceHooks>>,
}

/// The EventSource endpoint's side of the service: new messages go to the hub after their
/// commit, and `IssueEventSourceToken` issues from `tokens` (docs/eventsource.md).
#[derive(Clone)]
pub struct EventSourceHooks {
    pub hub: crate::eventsource::Hub,
    pub tokens: Arc<crate::eventsource::Tokens>,
    /// Where the endpoint listens, for the `EventSource` property.
    pub socket: Option<std::path::PathBuf>,
    pub tcp: Option<std::net::SocketAddr>,
}

/// What the service is configured with: registration timing and quotas, and who may do what.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Settings {
    pub registry: registry::Settings,
    pub access: access::Settings,
}

/// Starts the service on `bus` (`system`, `session` or an address) and takes the name
/// `org.otapush.Push1` ([`Error::NameTaken`] if another process has it). Persistent
/// registrations come back from `store`, disconnected until their owners register again.
pub async fn start(
    bus: &str,
    store: Store,
    settings: Settings,
    hooks: ServiceHooks,
) -> Result<CaiHandle, Error> {
    start_on(connect(bus).await?, store, settings, hooks).await
}

/// The service's bus connection before the service runs: `Hello` answered and the match rule
/// for departing names in place (neither needs the store, which the daemon opens meanwhile).
pub struct Connected {
    conn: zbus::Connection,
    dbus: zbus::fdo::DBusProxy<'static>,
    departures: zbus::fdo::NameOwnerChangedStream,
}

/// Connects to `bus` and watches names leaving, so no departure is missed once agents can
/// register; pass the result to [`start_on`].
pub async fn connect(bus: &str) -> Result<Connected, Error> {
    let conn = bus_builder(bus)?.build().await?;
    let dbus = zbus::fdo::DBusProxy::builder(&conn)
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()
        .await?;
    let departures = dbus.receive_name_owner_changed_with_args(&[(2, "")]).await?;
    Ok(Connected { conn, dbus, departures })
}

/// [`start`] on a connection from [`connect`].
pub async fn start_on(
    connected: Connected,
    store: Store,
    settings: Settings,
    hooks: ServiceHooks,
) -> Result<CaiHandle, Error> {
    let Connected { conn, dbus, departures } = connected;
    let policy = AccessPolicy::resolve(&settings.access);
    let registry = Arc::new(Registry::load(store, settings.registry, policy)?);
    let props = Arc::new(Props::default());
    props.update(0, |p| {
        p.modem = "unknown".into();
        p.bearer = "unknown".into();
        false
    });
    let eventsource = Arc::new(OnceLock::new());
    let manager = Manager {
        registry: registry.clone(),
        hooks,
        props: props.clone(),
        eventsource: eventsource.clone(),
        gate: CallGate::new(MAX_CALLS_IN_FLIGHT),
        inject_gate: CallGate::new(MAX_INJECTS_IN_FLIGHT),
    };
    conn.object_server().at(OBJECT_PATH, manager).await?;
    let mut handle = CaiHandle {
        conn: conn.clone(),
        dbus: dbus.clone(),
        registry: registry.clone(),
        props: props.clone(),
        tasks: Vec::new(),
        eventsource,
    };
    handle.tasks.push(tokio::spawn(watch_departures(registry.clone(), departures)));
    handle.tasks.push(tokio::spawn(expire_queues(registry.clone())));
    handle.tasks.push(tokio::spawn(super::lease::run(registry.clone(), conn.clone())));
    handle.tasks.push(tokio::spawn(super::activation::run(registry.clone(), conn.clone())));
    handle.tasks.push(tokio::spawn(emit_property_changes(conn.clone(), props)));
    // Start-up's pages and a burst's heap go back once deliveries are quiet.
    let quiet_store = registry.store.clone();
    let release = move || {
        if let Err(e) = quiet_store.shrink_memory() {
            log::debug!("quiet: store: {e}");
        }
        crate::memory::release();
    };
    handle.tasks.push(tokio::spawn(registry.quiet.clone().run(crate::memory::QUIET, release)));
    // Without DoNotQueue the bus would queue the request and the name stay with the other owner.
    // Asked through the bus proxy: one round trip. zbus's `request_name` first adds match rules
    // for `NameAcquired` and `NameLost` (two round trips more at start-up), which only serve a
    // name that allows replacement; this one does not.
    let flags = zbus::fdo::RequestNameFlags::DoNotQueue.into();
    let name = zbus::names::WellKnownName::from_static_str_unchecked(BUS_NAME);
    match dbus.request_name(name, flags).await {
        Ok(zbus::fdo::RequestNameReply::PrimaryOwner | zbus::fdo::RequestNameReply::AlreadyOwner) => {}
        Ok(_) => return Err(Error::NameTaken),
        Err(e) => return Err(zbus::Error::from(e).into()),
    }
    log::info!("Push-CAI service {BUS_NAME} started");
    Ok(handle)
}

async fn watch_departures(registry: Arc<Registry>, mut departures: zbus::fdo::NameOwnerChangedStream) {
    while let Some(signal) = departures.next().await {
        let Ok(args) = signal.args() else { continue };
        if args.new_owner().is_none() && args.name().starts_with(':') {
            registry.owner_gone(args.name());
        }
    }
}

/// Sleeps until the earliest queue deadline (or a commit that may bring an earlier one),
/// then drops what expired. With nothing queued it only waits. Sleeps are capped at an hour
/// so a clock set late (a phone before network time) is noticed.
async fn expire_queues(registry: Arc<Registry>) {
    const MAX_SLEEP: Duration = Duration::from_secs(3600);
    loop {
        let now = now_ms();
        match registry.store.next_expiry() {
            Ok(None) => registry.expiry_wake.notified().await,
            Ok(Some(t)) if t <= now => {
                if let Err(e) = registry.store.expire(now) {
                    log::error!("queue expiry: store: {e}");
                    tokio::time::sleep(Duration::from_secs(60)).await;
                }
            }
            Ok(Some(t)) => {
                let d = Duration::from_millis(t - now).min(MAX_SLEEP);
                tokio::select! {
                    _ = tokio::time::sleep(d) => {}
                    _ = registry.expiry_wake.notified() => {}
                }
            }
            Err(e) => {
                log::error!("queue expiry: store: {e}");
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
        }
    }
}

async fn emit_property_changes(conn: zbus::Connection, props: Arc<Props>) {
    let iface = match conn.object_server().interface::<_, Manager>(OBJECT_PATH).await {
        Ok(i) => i,
        Err(e) => {
            log::error!("properties: {e}");
            return;
        }
    };
    loop {
        props.wake.notified().await;
        let changed = std::mem::take(&mut props.lock().changed);
        let manager = iface.get().await;
        let emitter = iface.signal_emitter();
        let results = [
            if changed[0] { manager.modem_state_changed(emitter).await } else { Ok(()) },
            if changed[1] { manager.bearer_state_changed(emitter).await } else { Ok(()) },
            if changed[2] { manager.streams_changed(emitter).await } else { Ok(()) },
            if changed[3] { manager.store_state_changed(emitter).await } else { Ok(()) },
        ];
        for r in results {
            if let Err(e) = r {
                log::warn!("PropertiesChanged: {e}");
            }
        }
    }
}

impl CaiHandle {
    /// Routes, commits (see [`Store::commit_messages`]: dedup, queues, spool cleanup, in one
    /// transaction) and hands messages to the delivery tasks; emits `PushReceived` once for
    /// each new message. Gives each message's id and what happened to it.
    pub async fn submit(
        &self,
        msgs: &[Message],
        consumed_spool_ids: &[i64],
    ) -> Result<Vec<(String, Outcome)>, Error> {
        // Classified by the registrations of now, right before routing (docs/wap-push.md).
        let msgs = &*crate::receive::wsp_on_ports(msgs, &self.registry.wsp_ports());
        let out = self.registry.commit(msgs, consumed_spool_ids).await?;
        let emitter = SignalEmitter::new(&self.conn, OBJECT_PATH)?;
        for (m, (_, outcome)) in msgs.iter().zip(&out) {
            if *outcome == Outcome::New {
                log::info!(
                    "message {} ({} from {}) accepted",
                    m.id,
                    super::filter::effective_app_id(m).unwrap_or(m.kind.as_str()),
                    m.originator
                );
                if let Err(e) = Manager::push_received(&emitter, &m.id, meta(m)).await {
                    log::warn!("PushReceived {}: {e}", m.id);
                }
            }
        }
        if let Some(es) = self.eventsource.get() {
            let new: Vec<Message> = msgs
                .iter()
                .zip(&out)
                .filter(|(_, (_, o))| *o == Outcome::New)
                .map(|(m, _)| m.clone())
                .collect();
            es.hub.publish(&new);
        }
        Ok(out)
    }

    /// Connects the EventSource endpoint: from now on, new messages are published to its hub
    /// after each commit, and `IssueEventSourceToken` works. Once; later calls are ignored.
    pub fn set_eventsource(&self, hooks: EventSourceHooks) {
        if self.eventsource.set(hooks).is_err() {
            log::warn!("eventsource: already connected to the service");
        }
    }

    /// Sets the `ModemState` property (emits PropertiesChanged when it changes).
    pub fn set_modem_state(&self, state: &str) {
        self.props.update(0, |p| std::mem::replace(&mut p.modem, state.to_string()) != state);
    }

    /// Sets the `BearerState` property.
    pub fn set_bearer_state(&self, state: &str) {
        self.props.update(1, |p| std::mem::replace(&mut p.bearer, state.to_string()) != state);
    }

    /// Sets the `StoreState` property: `ok`, or `failing: REASON` while commits fail.
    pub fn set_store_state(&self, state: &str) {
        self.props.update(3, |p| p.store.replace(state.to_string()).as_deref() != Some(state));
    }

    /// Sets the `Streams` property: stream name → a dictionary (`a{sv}`) of its state.
    pub fn set_streams(&self, streams: HashMap<String, OwnedValue>) {
        self.props.update(2, |p| {
            p.streams = streams;
            true
        });
    }

    /// The service's bus connection (to serve more objects, e.g. a simulator).
    pub fn connection(&self) -> &zbus::Connection {
        &self.conn
    }

    /// The store, shared with the service (spool, stream state).
    pub fn store(&self) -> &Store {
        &self.registry.store
    }

    /// Stops cleanly: `Release()` to every connected agent, registrations that are not
    /// persistent end (their undelivered messages stay, unclaimed), the name is released. Its
    /// own tasks and the delivery tasks are gone on return. A method call or an activation start
    /// still waiting for its answer may hold the store a moment longer (up to 30 s for a start).
    pub async fn shutdown(mut self) {
        let (agents, deliverers) = self.registry.close();
        let mut releases = tokio::task::JoinSet::new();
        for agent in agents {
            let conn = self.conn.clone();
            releases.spawn(async move { release(&conn, &agent).await });
        }
        while releases.join_next().await.is_some() {}
        // Once they are dropped, the service holds the store only through `self`: a store
        // opened on the same directory after this returns is not refused as in use.
        for t in self.tasks.drain(..).chain(deliverers) {
            t.abort();
            let _ = t.await;
        }
        // Taken through the bus proxy (see `start`), so released the same way.
        let name = zbus::names::WellKnownName::from_static_str_unchecked(BUS_NAME);
        if let Err(e) = self.dbus.release_name(name).await {
            log::warn!("releasing {BUS_NAME}: {e}");
        }
        let _ = self.conn.object_server().remove::<Manager, _>(OBJECT_PATH).await;
        log::info!("Push-CAI service stopped");
    }
}

impl Drop for CaiHandle {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        self.registry.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::CallGate;
    use std::sync::Arc;
    use tokio::sync::Semaphore;

    /// 40 calls arrive together at a gate of 3: each, once in, waits until released, so the
    /// gate is the only bound. All are answered, never more than 3 at once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn call_gate_serves_all_calls_at_most_limit_at_once() {
        let gate = Arc::new(CallGate::new(3));
        let release = Arc::new(Semaphore::new(0));
        let (entered_tx, mut entered) = tokio::sync::mpsc::unbounded_channel();
        let calls: Vec<_> = (0..40)
            .map(|i| {
                let (gate, release, entered_tx) = (gate.clone(), release.clone(), entered_tx.clone());
                tokio::spawn(async move {
                    let _call = gate.enter().await;
                    entered_tx.send(()).unwrap();
                    release.acquire().await.unwrap().forget();
                    i
                })
            })
            .collect();
        for _ in 0..40 {
            entered.recv().await.unwrap();
            assert!(gate.peak() <= 3, "peak {} over the limit", gate.peak());
            release.add_permits(1);
        }
        let mut answered = 0;
        for c in calls {
            c.await.unwrap();
            answered += 1;
        }
        assert_eq!(answered, 40);
        assert_eq!(gate.peak(), 3);
    }
}
