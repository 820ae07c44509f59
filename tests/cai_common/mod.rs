//! Shared fixtures of the `cai_*` integration tests: a private `dbus-daemon`, the service,
//! clients with agents, and sample messages.
#![allow(dead_code)]

pub mod logs;
pub mod other_uid;

use otapush::cai::client::{serve_agent, AgentEvent, Delivery, ManagerProxy};
use otapush::cai::{start, CaiHandle, ServiceHooks};
use otapush::config::Config;
use otapush::message::{Kind, Message, Source};
use otapush::store::Store;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::sync::mpsc;
use zbus::zvariant::Value;

/// The failure guard of every wait (never the expected duration of anything).
pub const GUARD: Duration = Duration::from_secs(20);

/// A private bus daemon, killed when dropped.
pub struct Bus {
    child: Child,
    pub address: String,
    pub dir: tempfile::TempDir,
}

impl Bus {
    /// Starts `dbus-daemon` with a session-like config in a temp dir. Any local user may
    /// connect (tests run clients as other uids through `setpriv`).
    pub fn start() -> Bus {
        Bus::start_with(
            "session",
            r#"<policy context="default">
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>"#,
        )
    }

    /// Starts `dbus-daemon` of `bus_type` with `policy` (the `<policy>` and `<include>`
    /// elements of its config).
    pub fn start_with(bus_type: &str, policy: &str) -> Bus {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let socket = dir.path().join("bus");
        let config = dir.path().join("bus.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>{bus_type}</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  {policy}
</busconfig>
"#,
                socket.display()
            ),
        )
        .unwrap();
        let mut child = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (package dbus-daemon) must be installed");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let address = line.trim().to_string();
        assert!(address.starts_with("unix:"), "dbus-daemon printed {line:?}");
        Bus { child, address, dir }
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A test configuration: short deliver timeout, everything else default.
pub fn config(store_dir: &Path) -> Config {
    let mut cfg = Config::default();
    cfg.store.dir = store_dir.to_path_buf();
    cfg.cai.deliver_timeout = 1;
    cfg
}

/// A running service with the receiving ends of its hooks.
pub struct Service {
    pub handle: CaiHandle,
    pub injected: mpsc::Receiver<Vec<u8>>,
    pub bearer: mpsc::Receiver<bool>,
}

pub async fn start_service(bus: &Bus, cfg: &Config) -> Service {
    let store = Store::open(&cfg.store.dir, cfg.store_limits()).unwrap();
    let (inject, mut received) = mpsc::channel::<otapush::modem::ReceivedPdu>(16);
    let (injected_tx, injected) = mpsc::channel(16);
    // Stands in for the daemon's receive path: takes each PDU and answers "durable".
    tokio::spawn(async move {
        while let Some(p) = received.recv().await {
            let _ = injected_tx.send(p.pdu).await;
            let _ = p.durable.send(Ok(()));
        }
    });
    let (bearer_tx, bearer) = mpsc::channel(16);
    let handle = start(&bus.address, store, cfg.cai_settings(), ServiceHooks { inject, bearer: bearer_tx })
        .await
        .unwrap();
    Service { handle, injected, bearer }
}

pub async fn connect(bus: &Bus) -> zbus::Connection {
    zbus::connection::Builder::address(bus.address.as_str()).unwrap().build().await.unwrap()
}

/// A client connection with a Manager proxy.
pub struct Client {
    pub conn: zbus::Connection,
    pub manager: ManagerProxy<'static>,
}

pub async fn client(bus: &Bus) -> Client {
    let conn = connect(bus).await;
    let manager = ManagerProxy::new(&conn).await.unwrap();
    Client { conn, manager }
}

impl Client {
    /// Serves an agent at `/test/agent` and registers it with `filter`.
    pub async fn register(&self, filter: &[(&str, Value<'_>)]) -> (zbus::zvariant::OwnedObjectPath, Agent) {
        self.register_at("/test/agent", filter).await
    }

    pub async fn register_at(
        &self,
        path: &str,
        filter: &[(&str, Value<'_>)],
    ) -> (zbus::zvariant::OwnedObjectPath, Agent) {
        let events = serve_agent(&self.conn, path, 64).await.unwrap();
        let filter: HashMap<&str, Value<'_>> = filter.iter().map(|(k, v)| (*k, v.clone())).collect();
        let reg = self.manager.register(filter, &path.try_into().unwrap()).await.unwrap();
        (reg, Agent { events })
    }
}

/// The receiving end of a test agent.
pub struct Agent {
    pub events: mpsc::Receiver<AgentEvent>,
}

impl Agent {
    /// The next `Deliver` (fails the test after [`GUARD`]).
    pub async fn delivery(&mut self) -> Delivery {
        loop {
            match tokio::time::timeout(GUARD, self.events.recv()).await {
                Ok(Some(AgentEvent::Deliver(d))) => return d,
                Ok(Some(AgentEvent::Released)) => continue,
                Ok(None) => panic!("agent closed"),
                Err(_) => panic!("no delivery within {GUARD:?}"),
            }
        }
    }

    /// Acknowledges the next delivery and gives its id.
    pub async fn ack_next(&mut self) -> String {
        let d = self.delivery().await;
        let id = d.id.clone();
        d.ack();
        id
    }

    /// Asserts nothing is delivered for `wait` (absence can only be checked by waiting).
    pub async fn assert_quiet(&mut self, wait: Duration) {
        if let Ok(Some(AgentEvent::Deliver(d))) = tokio::time::timeout(wait, self.events.recv()).await {
            panic!("unexpected delivery of {}", d.id);
        }
    }
}

/// A WAP Push message for `app_id` (None: no X-Wap-Application-Id).
pub fn push(id: &str, app_id: Option<&str>, content_type: &str, body: &[u8]) -> Message {
    Message {
        id: id.into(),
        kind: Kind::WspPush,
        source: Source::Sms,
        originator: "+4915112345678".into(),
        sent_time: Some("2024-05-01T12:00:00+02:00".into()),
        received_time: "2024-05-01T10:00:05+00:00".into(),
        application_id: app_id.map(Into::into),
        content_type: content_type.into(),
        content_type_params: BTreeMap::new(),
        headers: BTreeMap::new(),
        transaction_id: Some(1),
        pdu_type: Some("push".into()),
        port: Some(2948),
        event: None,
        body: body.to_vec(),
    }
}

/// A plain text SMS.
pub fn text(id: &str, body: &str) -> Message {
    Message {
        kind: Kind::Text,
        application_id: None,
        content_type: "text/plain; charset=utf-8".into(),
        transaction_id: None,
        pdu_type: None,
        port: None,
        ..push(id, None, "", body.as_bytes())
    }
}

/// Waits until `cond` holds on the service's registrations (polling; failure guard [`GUARD`]).
pub async fn wait_until<F, Fut>(what: &str, mut cond: F)
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

/// The error name of a failed call.
pub fn error_name(e: &zbus::Error) -> String {
    match e {
        zbus::Error::MethodError(name, _, _) => name.to_string(),
        other => format!("not a method error: {other}"),
    }
}
