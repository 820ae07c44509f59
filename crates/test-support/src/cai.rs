//! The Push-CAI service in the test process (no daemon): a running service on a private bus with
//! the receiving ends of its hooks, clients with agents, and sample messages.

use crate::bus::{connect, Bus};
use crate::eventually::GUARD;
use otapush::cai::client::{serve_agent, AgentEvent, Delivery, ManagerProxy};
use otapush::cai::{start, CaiHandle, ServiceHooks};
use otapush::config::Config;
use otapush::message::{Kind, Message, Source};
use otapush::store::Store;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;
use tokio::sync::mpsc;
use zbus::zvariant::Value;

/// A test configuration: short deliver timeout, everything else default.
pub fn config(store_dir: &Path) -> Config {
    let mut cfg = Config::default();
    cfg.store.dir = store_dir.to_path_buf();
    cfg.cai.deliver_timeout = 1;
    cfg
}

/// Opens the store of `cfg` for a service that restarts in this process. The previous
/// service's store may still be locked for a moment after it closed: a child process another
/// test is spawning holds a copy of every descriptor until its `exec`, the lock file's too.
/// So `InUse` is retried, for 2 s at most.
pub fn open_store(cfg: &Config) -> Store {
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    loop {
        match Store::open(&cfg.store.dir, cfg.store_limits()) {
            Err(otapush::store::StoreError::InUse { .. }) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            other => return other.unwrap(),
        }
    }
}

/// A running service with the receiving ends of its hooks.
pub struct Service {
    pub handle: CaiHandle,
    pub injected: mpsc::Receiver<Vec<u8>>,
    pub bearer: mpsc::Receiver<bool>,
}

pub async fn start_service(bus: &Bus, cfg: &Config) -> Service {
    let store = open_store(cfg);
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

/// The error name of a failed call.
pub fn error_name(e: &zbus::Error) -> String {
    match e {
        zbus::Error::MethodError(name, _, _) => name.to_string(),
        other => format!("not a method error: {other}"),
    }
}
