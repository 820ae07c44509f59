//! Client applications on the bus as the `daemon_*` tests use them: agents with their own
//! connection, and recorders that answer by a [`Behaviour`] and keep what they acknowledged.

use crate::bus::connect;
use crate::eventually::GUARD;
pub use otapush::cai::client::{serve_agent, AgentEvent, Delivery, ManagerProxy};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

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
