//! The client side of the API, for Rust clients, `otapushctl`, tests and the demo: a proxy of
//! the Manager and a ready-made agent that turns each `Deliver` into a [`Delivery`] to answer.

use super::error::PushError;
use std::collections::HashMap;
use tokio::sync::{mpsc, oneshot};
use zbus::zvariant::{ObjectPath, OwnedObjectPath, OwnedValue, Value};

/// `org.otapush.Push1.Manager` (docs/dbus-api.md).
#[zbus::proxy(
    interface = "org.otapush.Push1.Manager",
    default_service = "org.otapush.Push1",
    default_path = "/org/otapush/Push1",
    gen_blocking = false
)]
pub trait Manager {
    fn register(
        &self,
        filter: HashMap<&str, Value<'_>>,
        agent: &ObjectPath<'_>,
    ) -> zbus::Result<OwnedObjectPath>;
    fn unregister(&self, registration: &ObjectPath<'_>) -> zbus::Result<()>;
    fn refresh(&self, registration: &ObjectPath<'_>) -> zbus::Result<u32>;
    #[allow(clippy::type_complexity)]
    fn list_registrations(&self) -> zbus::Result<Vec<(OwnedObjectPath, HashMap<String, OwnedValue>)>>;
    fn inject_pdu(&self, pdu: &[u8]) -> zbus::Result<()>;
    fn set_bearer_state(&self, state: &str) -> zbus::Result<()>;
    #[allow(clippy::type_complexity)]
    fn list_dead_letters(&self) -> zbus::Result<Vec<(String, HashMap<String, OwnedValue>)>>;
    #[zbus(signal)]
    fn push_received(&self, id: String, meta: HashMap<String, OwnedValue>) -> zbus::Result<()>;
    #[zbus(property)]
    fn modem_state(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn bearer_state(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn streams(&self) -> zbus::Result<HashMap<String, OwnedValue>>;
    #[zbus(property)]
    fn store_state(&self) -> zbus::Result<String>;
    /// Read on demand (no change signal), so never cached.
    #[zbus(property(emits_changed_signal = "false"))]
    fn event_source(&self) -> zbus::Result<HashMap<String, OwnedValue>>;
}

/// How to answer one `Deliver`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Normal return: acknowledged.
    Ack,
    /// An ordinary error: the daemon retries later.
    Retry(String),
    /// `org.otapush.Push1.Error.Rejected`: never again.
    Reject(String),
}

/// One `Deliver` call waiting for its answer. Dropping it unanswered answers "retry".
#[derive(Debug)]
pub struct Delivery {
    pub id: String,
    pub meta: HashMap<String, OwnedValue>,
    pub body: Vec<u8>,
    reply: oneshot::Sender<Reply>,
}

impl Delivery {
    pub fn answer(self, reply: Reply) {
        // The daemon may have stopped waiting (timeout); then nobody reads the answer.
        let _ = self.reply.send(reply);
    }
    pub fn ack(self) {
        self.answer(Reply::Ack)
    }
    /// A string meta value (`Kind`, `ApplicationId`, …).
    pub fn meta_str(&self, key: &str) -> Option<&str> {
        match self.meta.get(key).map(|v| &**v) {
            Some(Value::Str(s)) => Some(s.as_str()),
            _ => None,
        }
    }
}

/// What an agent receives.
#[derive(Debug)]
pub enum AgentEvent {
    Deliver(Delivery),
    /// `Release()`: the daemon is going away or dropped the registration.
    Released,
}

/// `org.otapush.Push1.Agent`, forwarding every call to a channel.
pub struct Agent {
    events: mpsc::Sender<AgentEvent>,
}

#[zbus::interface(name = "org.otapush.Push1.Agent", introspection_docs = false)]
impl Agent {
    async fn deliver(
        &self,
        id: String,
        meta: HashMap<String, OwnedValue>,
        body: Vec<u8>,
    ) -> Result<(), PushError> {
        let (reply, answer) = oneshot::channel();
        self.events
            .send(AgentEvent::Deliver(Delivery { id, meta, body, reply }))
            .await
            .map_err(|_| PushError::Failed("the agent is closing".into()))?;
        match answer.await {
            Ok(Reply::Ack) => Ok(()),
            Ok(Reply::Reject(why)) => Err(PushError::Rejected(why)),
            Ok(Reply::Retry(why)) => Err(PushError::Failed(why)),
            Err(_) => Err(PushError::Failed("the agent dropped the message".into())),
        }
    }

    async fn release(&self) {
        let _ = self.events.send(AgentEvent::Released).await;
    }
}

/// Serves an [`Agent`] at `path` on `conn`; its calls arrive on the returned channel.
pub async fn serve_agent(
    conn: &zbus::Connection,
    path: &str,
    capacity: usize,
) -> zbus::Result<mpsc::Receiver<AgentEvent>> {
    let (events, rx) = mpsc::channel(capacity.max(1));
    conn.object_server().at(path, Agent { events }).await?;
    Ok(rx)
}
