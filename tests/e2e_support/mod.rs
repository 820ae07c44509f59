//! Shared rig of the `daemon_*` end-to-end tests: a private `dbus-daemon`, the real `otapushd`
//! binary (spawned, signalled, killed and restarted on the same state directory), client
//! agents in the test process, the daemon's simulated network (`org.otapush.Push1.Simulator`)
//! or a simulated modem on a real pseudo-terminal that outlives the daemon, PDU builders, and
//! the bookkeeping of the fault scenarios (sent, delivered, duplicated, lost, peak RSS).
#![allow(dead_code)]

pub use otapush::cai::client::{serve_agent, AgentEvent, Delivery, ManagerProxy};
use otapush::ctl::encode::{encode_push, PushRequest};
pub use otapush::ctl::private_bus::PrivateBus;
use otapush::sms::{self, Address, DeliverTemplate, Timestamp};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

/// The failure guard of every wait: generous, never the expected duration of anything.
pub const GUARD: Duration = Duration::from_secs(60);

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

/// Polls `cond` every 20 ms until it holds; panics with `what` after [`GUARD`].
pub async fn eventually<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + GUARD;
    while !cond().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// The daemon process

/// A configuration file for the daemon; `extra` is appended verbatim (more sections).
pub fn config_text(device: &str, bus: &str, state: &Path, deliver_timeout: u64, extra: &str) -> String {
    format!(
        "[modem]\ndevice = {device:?}\n\n[dbus]\nbus = {bus:?}\n\n[store]\ndir = {state:?}\n\n\
         [cai]\ndeliver_timeout = {deliver_timeout}\n\n{extra}\n",
        state = state.display().to_string()
    )
}

/// What `/proc/PID/status` and `/proc/PID/fd` say about the daemon.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcStats {
    pub rss_kib: u64,
    /// Peak RSS of this process (resets with each restart).
    pub hwm_kib: u64,
    pub fds: u64,
}

pub fn proc_stats(pid: u32) -> Option<ProcStats> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    };
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64;
    Some(ProcStats { rss_kib: field("VmRSS:")?, hwm_kib: field("VmHWM:")?, fds })
}

/// The real `otapushd`, started with `--config FILE`; SIGTERM then SIGKILL when dropped.
pub struct Daemon {
    child: Option<Child>,
    pub config: PathBuf,
    pub log: PathBuf,
    pub state: PathBuf,
    bus: String,
    /// Peak RSS over every run of this daemon (KiB), updated by [`Daemon::sample`].
    pub peak_kib: u64,
    pub starts: u32,
}

fn send_signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) on our own child's pid; no memory is touched.
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}

impl Daemon {
    /// Writes `config` (see [`config_text`]) beside the state directory and starts the daemon.
    /// The log goes to `DIR/otapushd.log`, appended across restarts.
    pub fn start(bus: &str, dir: &Path, state: &Path, config: &str) -> Daemon {
        let cfg_path = dir.join("otapushd.toml");
        std::fs::write(&cfg_path, config).unwrap();
        let mut d = Daemon {
            child: None,
            config: cfg_path,
            log: dir.join("otapushd.log"),
            state: state.to_path_buf(),
            bus: bus.to_string(),
            peak_kib: 0,
            starts: 0,
        };
        d.spawn();
        d
    }

    /// Replaces the configuration file (for a SIGHUP reload or the next start).
    pub fn rewrite_config(&self, config: &str) {
        std::fs::write(&self.config, config).unwrap();
    }

    pub fn spawn(&mut self) {
        assert!(self.child.is_none(), "daemon already running");
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_otapushd"))
            .arg("--config")
            .arg(&self.config)
            .env("RUST_LOG", std::env::var("OTAPUSH_TEST_LOG").unwrap_or_else(|_| "info".into()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("cannot start otapushd");
        self.child = Some(child);
        self.starts += 1;
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("daemon not running").id()
    }

    pub fn running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    pub fn signal(&self, sig: libc::c_int) {
        send_signal(self.pid(), sig);
    }

    /// Samples RSS and fds now, folding the peak into [`Daemon::peak_kib`].
    pub fn sample(&mut self) -> Option<ProcStats> {
        let s = proc_stats(self.pid())?;
        self.peak_kib = self.peak_kib.max(s.hwm_kib);
        Some(s)
    }

    /// Waits until this process (not a predecessor) owns `org.otapush.Push1` and, when
    /// `modem` is set, the modem is ready.
    pub async fn ready(&mut self, conn: &zbus::Connection, modem: bool) {
        let dbus = zbus::fdo::DBusProxy::new(conn).await.unwrap();
        let name: zbus::names::BusName<'_> = "org.otapush.Push1".try_into().unwrap();
        let pid = self.pid();
        let deadline = tokio::time::Instant::now() + GUARD;
        loop {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    panic!("otapushd exited ({status}):\n{}", self.log_tail(40));
                }
            }
            if dbus.get_connection_unix_process_id(name.clone()).await.ok() == Some(pid) {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "otapushd never owned its name:\n{}",
                self.log_tail(40)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if modem {
            let m = ManagerProxy::builder(conn)
                .cache_properties(zbus::proxy::CacheProperties::No)
                .build()
                .await
                .unwrap();
            let mut last = String::new();
            while tokio::time::Instant::now() < deadline {
                last = m.modem_state().await.unwrap_or_default();
                if last == "ready" {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            panic!("modem not ready (state {last:?}):\n{}", self.log_tail(40));
        }
    }

    /// SIGTERM and wait for a clean exit (status 0).
    pub async fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        self.peak_kib = self.peak_kib.max(proc_stats(child.id()).map_or(0, |s| s.hwm_kib));
        send_signal(child.id(), libc::SIGTERM);
        let deadline = tokio::time::Instant::now() + GUARD;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(status.success(), "otapushd exited with {status} on SIGTERM:\n{}", self.log_tail(40));
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "otapushd ignored SIGTERM");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL: no cleanup of any kind, like a power cut of the process.
    pub fn kill(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        self.peak_kib = self.peak_kib.max(proc_stats(child.id()).map_or(0, |s| s.hwm_kib));
        send_signal(child.id(), libc::SIGKILL);
        let _ = child.wait();
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let text = self.log_text();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Runs `otapushctl ARGS --bus ADDR` and gives its stdout (asserting success).
    pub fn ctl(&self, args: &[&str]) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_otapushctl"))
            .args(args)
            .args(["--bus", &self.bus])
            .output()
            .expect("cannot run otapushctl");
        assert!(out.status.success(), "otapushctl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let keep = std::env::temp_dir().join(format!("otapushd-failed-{}.log", std::process::id()));
            let _ = std::fs::copy(&self.log, &keep);
            eprintln!(
                "--- otapushd log (last 60 lines; all of it in {}) ---\n{}",
                keep.display(),
                self.log_tail(60)
            );
        }
        let Some(mut child) = self.child.take() else { return };
        send_signal(child.id(), libc::SIGTERM);
        for _ in 0..50 {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// A bus, a temp dir, and the daemon's state directory inside it: the usual starting point.
pub struct Rig {
    pub bus: PrivateBus,
    pub dir: tempfile::TempDir,
    pub state: PathBuf,
    /// The test's own connection (monitoring, the simulator).
    pub conn: zbus::Connection,
}

impl Rig {
    pub async fn new() -> Rig {
        Rig::new_in(&std::env::temp_dir()).await
    }

    /// A rig whose temp dir (and state directory) lives under `base` (e.g. a tmpfs).
    pub async fn new_in(base: &Path) -> Rig {
        let _ = env_logger::builder().is_test(true).try_init();
        let bus = PrivateBus::start().expect("dbus-daemon");
        let dir = tempfile::tempdir_in(base).unwrap();
        let state = dir.path().join("state");
        let conn = connect(bus.address()).await;
        Rig { bus, dir, state, conn }
    }

    pub fn address(&self) -> &str {
        self.bus.address()
    }

    /// The daemon with `device` (`sim` or a tty path), a deliver timeout and extra config.
    pub async fn daemon(&self, device: &str, deliver_timeout: u64, extra: &str) -> Daemon {
        let text = config_text(device, self.address(), &self.state, deliver_timeout, extra);
        let mut d = Daemon::start(self.address(), self.dir.path(), &self.state, &text);
        d.ready(&self.conn, true).await;
        d
    }

    pub async fn manager(&self) -> ManagerProxy<'static> {
        ManagerProxy::builder(&self.conn)
            .cache_properties(zbus::proxy::CacheProperties::No)
            .build()
            .await
            .unwrap()
    }

    pub async fn simulator(&self) -> SimulatorProxy<'static> {
        SimulatorProxy::new(&self.conn).await.unwrap()
    }
}

pub async fn connect(address: &str) -> zbus::Connection {
    zbus::connection::Builder::address(address).unwrap().build().await.unwrap()
}

/// `org.otapush.Push1.Simulator`: the daemon's simulated network and modem (`device = "sim"`).
#[zbus::proxy(
    interface = "org.otapush.Push1.Simulator",
    default_service = "org.otapush.Push1",
    default_path = "/org/otapush/Push1/Simulator",
    gen_blocking = false
)]
pub trait Simulator {
    fn deliver(&self, pdu: &[u8]) -> zbus::Result<()>;
    fn reset(&self) -> zbus::Result<()>;
    fn unplug(&self, gone: bool) -> zbus::Result<()>;
    fn fill_storage(&self) -> zbus::Result<()>;
}

/// Sends every PDU of every message through the simulated network, in order.
pub async fn network_sends(sim: &SimulatorProxy<'_>, pdus: &[Vec<u8>]) {
    for p in pdus {
        sim.deliver(p).await.unwrap();
    }
}

/// A simulated modem on a real pseudo-terminal in the test process: it outlives any number of
/// daemons, which open it by path as `otapushd --device /dev/pts/N` (the real serial path).
pub struct PtyModem {
    pub sim: otapush::modem::SimHandle,
    pub path: PathBuf,
}

impl PtyModem {
    /// Needs the tokio runtime of the test (the pump is a task).
    pub fn open() -> PtyModem {
        let pty = otapush::modem::sim::pty::Pty::open().unwrap();
        let path = pty.path().to_path_buf();
        let sim = otapush::modem::SimHandle::new(otapush::modem::SimOptions::default());
        sim.attach(pty);
        PtyModem { sim, path }
    }

    pub fn device(&self) -> String {
        self.path.display().to_string()
    }

    /// Messages in the modem's storage plus those the network still holds.
    pub fn pending(&self) -> usize {
        self.sim.stored().len() + self.sim.network_queue_len()
    }
}

// ---------------------------------------------------------------------------------------------
// Agents

/// A client application: its own bus connection, an agent object, a Manager proxy.
pub struct Agent {
    pub conn: zbus::Connection,
    pub path: String,
    pub manager: ManagerProxy<'static>,
    pub inbox: mpsc::Receiver<AgentEvent>,
}

pub fn filter<'a>(pairs: &[(&'a str, Value<'a>)]) -> HashMap<&'a str, Value<'a>> {
    pairs.iter().cloned().collect()
}

impl Agent {
    pub async fn new(address: &str, name: &str) -> Agent {
        let conn = connect(address).await;
        let path = format!("/test/agent/{name}");
        let inbox = serve_agent(&conn, &path, 256).await.unwrap();
        let manager = ManagerProxy::builder(&conn)
            .cache_properties(zbus::proxy::CacheProperties::No)
            .build()
            .await
            .unwrap();
        Agent { conn, path, manager, inbox }
    }

    pub async fn register(&self, f: &[(&str, Value<'_>)]) -> OwnedObjectPath {
        let path = zbus::zvariant::ObjectPath::try_from(self.path.as_str()).unwrap();
        self.manager.register(filter(f), &path).await.unwrap()
    }

    /// The next `Deliver` (fails the test after [`GUARD`]).
    pub async fn next(&mut self) -> Delivery {
        loop {
            match tokio::time::timeout(GUARD, self.inbox.recv()).await {
                Ok(Some(AgentEvent::Deliver(d))) => return d,
                Ok(Some(AgentEvent::Released)) => continue,
                Ok(None) => panic!("{}: agent closed", self.path),
                Err(_) => panic!("{}: no delivery within {GUARD:?}", self.path),
            }
        }
    }

    /// Asserts nothing is delivered for `wait` (absence can only be checked by waiting).
    pub async fn quiet(&mut self, wait: Duration) {
        let end = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(end, self.inbox.recv()).await {
                Ok(Some(AgentEvent::Deliver(d))) => {
                    panic!("{}: unexpected delivery {} {:?}", self.path, d.id, d.meta_str("Kind"))
                }
                Ok(Some(AgentEvent::Released)) => continue,
                _ => return,
            }
        }
    }
}

/// One acknowledged delivery as an agent saw it.
#[derive(Debug, Clone)]
pub struct Got {
    pub id: String,
    pub meta: HashMap<String, OwnedValue>,
    pub body: Vec<u8>,
}

impl Got {
    pub fn str(&self, key: &str) -> Option<&str> {
        match self.meta.get(key).map(|v| &**v) {
            Some(Value::Str(s)) => Some(s.as_str()),
            _ => None,
        }
    }
}

/// How a [`Recorder`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Acknowledge at once.
    Ack,
    /// Never answer (the daemon's `Deliver` times out); held calls are dropped on the next change.
    Hang,
}

/// An agent run by a task that answers per [`Behaviour`] and records every acknowledged
/// delivery. Dropping it (or [`Recorder::crash`]) closes its connection without `Unregister`.
pub struct Recorder {
    pub got: Arc<Mutex<Vec<Got>>>,
    behaviour: watch::Sender<Behaviour>,
    /// The ids of every `Deliver` call seen, answered or not, in order.
    seen: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
    pub conn: zbus::Connection,
    pub manager: ManagerProxy<'static>,
    path: String,
}

impl Recorder {
    pub async fn start(address: &str, name: &str, f: &[(&str, Value<'_>)]) -> Recorder {
        Self::start_sharing(address, name, f, Arc::default()).await
    }

    /// Like [`Recorder::start`], appending to `got` (a restarted client keeps one record).
    pub async fn start_sharing(
        address: &str,
        name: &str,
        f: &[(&str, Value<'_>)],
        got: Arc<Mutex<Vec<Got>>>,
    ) -> Recorder {
        let agent = Agent::new(address, name).await;
        agent.register(f).await;
        let Agent { conn, path, manager, mut inbox } = agent;
        let (behaviour, mut mode) = watch::channel(Behaviour::Ack);
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let (g, s) = (got.clone(), seen.clone());
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            loop {
                tokio::select! {
                    ev = inbox.recv() => match ev {
                        Some(AgentEvent::Deliver(d)) => {
                            s.lock().unwrap().push(d.id.clone());
                            if *mode.borrow() == Behaviour::Hang {
                                held.push(d);
                                continue;
                            }
                            g.lock().unwrap().push(Got { id: d.id.clone(), meta: clone_meta(&d.meta), body: d.body.clone() });
                            d.ack();
                        }
                        Some(AgentEvent::Released) => {}
                        None => return,
                    },
                    r = mode.changed() => {
                        if r.is_err() { return }
                        held.clear();
                    }
                }
            }
        });
        Recorder { got, behaviour, seen, task, conn, manager, path }
    }

    pub fn set(&self, b: Behaviour) {
        self.behaviour.send_replace(b);
    }

    /// Registers again with the same filter (after a daemon restart).
    pub async fn register_again(&self, f: &[(&str, Value<'_>)]) {
        let path = zbus::zvariant::ObjectPath::try_from(self.path.as_str()).unwrap();
        self.manager.register(filter(f), &path).await.unwrap();
    }

    pub fn count(&self) -> usize {
        self.got.lock().unwrap().len()
    }

    /// Asserts nothing more is acknowledged during `wait` (absence can only be checked by waiting).
    pub async fn quiet_check(&self, wait: Duration) {
        let before = self.count();
        tokio::time::sleep(wait).await;
        assert_eq!(self.count(), before, "{}: unexpected deliveries", self.path);
    }

    /// `Deliver` calls seen so far, answered or not.
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    pub fn snapshot(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    /// The client process dies: its connection closes mid-whatever.
    pub fn crash(self) -> Arc<Mutex<Vec<Got>>> {
        self.task.abort();
        self.got.clone()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn clone_meta(m: &HashMap<String, OwnedValue>) -> HashMap<String, OwnedValue> {
    m.iter().filter_map(|(k, v)| Some((k.clone(), v.try_clone().ok()?))).collect()
}

// ---------------------------------------------------------------------------------------------
// PDUs

/// 2026-11-21 09:30:00 at UTC-03:00 (a negative zone, to check the offset survives).
pub fn scts() -> Timestamp {
    Timestamp {
        year: 2026,
        month: 11,
        day: 21,
        hour: 9,
        minute: 30,
        second: 0,
        tz_quarters: -12,
        nonbcd: false,
    }
}

/// [`scts`] in RFC 3339, as `SentTime` must read.
pub const SCTS_RFC3339: &str = "2026-11-21T09:30:00-03:00";

/// The originator every builder uses.
pub const FROM: &str = "+15550100";

/// A WAP Push (ports 9200 → 2948) segmented into SMS-DELIVER PDUs.
pub fn push_pdus(app_id: Option<&str>, content_type: &str, body: &[u8], reference: u16) -> Vec<Vec<u8>> {
    encode_push(&PushRequest {
        app_id: app_id.map(Into::into),
        content_type: content_type.into(),
        body: body.to_vec(),
        from: FROM.into(),
        reference,
        scts: Some(scts()),
        ..Default::default()
    })
    .unwrap()
}

fn template() -> DeliverTemplate {
    DeliverTemplate {
        smsc: None,
        originator: Address::international(&FROM[1..]).unwrap(),
        scts: scts(),
        pid: 0,
    }
}

/// A text SMS (GSM 7-bit when it can be), segmented when long.
pub fn text_pdus(text: &str, reference: u16) -> Vec<Vec<u8>> {
    sms::segment_text(&template(), text, reference, 8).unwrap()
}

/// An 8-bit port-addressed datagram (not WSP).
pub fn datagram_pdus(src: u16, dst: u16, payload: &[u8], reference: u16) -> Vec<Vec<u8>> {
    sms::segment_binary(&template(), Some(sms::Ports { src, dst, bits: 16 }), payload, reference, 8).unwrap()
}

/// A small message body tagged with its number, so the test can tell messages apart.
pub fn tagged(n: usize) -> Vec<u8> {
    format!("msg-{n:06}").into_bytes()
}

/// Reads the number back from a [`tagged`] body.
pub fn tag_of(body: &[u8]) -> Option<usize> {
    std::str::from_utf8(body).ok()?.strip_prefix("msg-")?.parse().ok()
}

/// Message `n` of a burst: a single-PDU WAP Push for `x-wap-application:mms.ua`, or every
/// `multi`-th one a push of two segments (a body too long for one SMS, tag first).
pub fn burst_message(n: usize, multi: usize) -> Vec<Vec<u8>> {
    let mut body = tagged(n);
    if multi > 0 && n % multi == 0 {
        body.extend(std::iter::repeat_n(b'.', 180));
    }
    push_pdus(Some("x-wap-application:mms.ua"), "application/vnd.wap.mms-message", &body, (n % 256) as u16)
}

// ---------------------------------------------------------------------------------------------
// Bookkeeping

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

/// Counts deliveries of the [`tagged`] messages `0..sent` (bodies may carry padding after the tag).
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

/// Rows in the daemon's PDU spool, read through a read-only SQLite connection (WAL lets a
/// reader look while the daemon writes).
pub fn spooled(state: &Path) -> i64 {
    let path = state.join(otapush::store::DB_FILE);
    let Ok(c) = rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
    else {
        return -1;
    };
    c.query_row("SELECT count(*) FROM spool", [], |r| r.get(0)).unwrap_or(-1)
}

/// An SMS-STATUS-REPORT (with an empty SMSC field) for a message sent to `recipient` at
/// [`scts`], discharged one minute later, `status` as TP-ST (0 = delivered).
pub fn status_report_pdu(reference: u8, recipient: &str, status: u8) -> Vec<u8> {
    let discharge = Timestamp { minute: 31, ..scts() };
    let report = sms::StatusReport {
        message_reference: reference,
        recipient: Address::international(recipient.trim_start_matches('+')).unwrap(),
        scts: scts(),
        discharge_time: discharge,
        status,
        more_messages: false,
        loop_prevention: false,
        command_qualifier: false,
        pid: None,
        dcs: None,
        udh: None,
        user_data: None,
    };
    sms::encode(&sms::SmsPdu { smsc: None, tpdu: sms::Tpdu::StatusReport(report) }, true).unwrap()
}

/// Segment 1 of a two-segment message that never completes: a WAP Push body of 200 octets
/// split by the real encoder, 16-bit reference `n % 65536`, the originator varied with `n / 65536`
/// so every PDU opens a partial message of its own.
pub fn bogus_segment(n: usize) -> Vec<u8> {
    let from = format!("{}", 15_550_000_000u64 + (n / 65536) as u64);
    let template = DeliverTemplate {
        smsc: None,
        originator: Address::international(&from).unwrap(),
        scts: scts(),
        pid: 0,
    };
    let ports = Some(sms::Ports { src: 9200, dst: 2948, bits: 16 });
    let mut pdus = sms::segment_binary(&template, ports, &[0x42; 200], (n % 65536) as u16, 16).unwrap();
    assert_eq!(pdus.len(), 2);
    pdus.swap_remove(0)
}
