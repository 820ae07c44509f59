//! The `org.otapush.Push1.Manager` interface on `/org/otapush/Push1` (docs/dbus-api.md).

use super::access::Caller;
use super::activation;
use super::error::PushError;
use super::filter::{Filter, FilterDict, WILDCARD_APP_ID};
use super::registry::{registration_path, AgentRef, Registry};
use super::service::{CallGate, Props, ServiceHooks};
use super::AGENT_INTERFACE;
use crate::time::format_unix_ms;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use zbus::message::Header;
use zbus::names::OwnedUniqueName;
use zbus::object_server::SignalEmitter;
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Str, Value};

/// The largest PDU `InjectPdu` takes: SMSC address (12) + the longest SMS-DELIVER TPDU (164).
pub const MAX_INJECTED_PDU: usize = 176;

/// Holds no connection: the object server owns it, and a connection here would keep the
/// connection alive forever (a cycle), even after the handle is dropped.
pub(super) struct Manager {
    pub registry: Arc<Registry>,
    pub hooks: ServiceHooks,
    pub props: Arc<Props>,
    /// Set once the EventSource endpoint runs.
    pub eventsource: Arc<std::sync::OnceLock<super::service::EventSourceHooks>>,
    /// Bounds the method calls served at once, `InjectPdu` aside.
    pub gate: CallGate,
    /// Bounds the `InjectPdu` calls served at once: their own gate, so calls waiting for a
    /// slow commit never hold back registrations.
    pub inject_gate: CallGate,
}

fn ov(s: impl Into<String>) -> OwnedValue {
    OwnedValue::from(Str::from(s.into()))
}

impl Manager {
    /// `InjectPdu` once admitted by its gate.
    async fn inject_admitted(
        &self,
        hdr: Header<'_>,
        conn: &zbus::Connection,
        pdu: Vec<u8>,
    ) -> Result<(), PushError> {
        self.privileged(conn, &hdr, "InjectPdu").await?;
        if pdu.is_empty() || pdu.len() > MAX_INJECTED_PDU {
            return Err(PushError::InvalidArgs(format!(
                "a PDU has 1 to {MAX_INJECTED_PDU} octets, not {}",
                pdu.len()
            )));
        }
        // Like the modem, the caller learns of success only once the PDU is durable.
        let (durable, answer) = tokio::sync::oneshot::channel();
        let gone = || PushError::Failed("the receive path is not running".into());
        self.hooks
            .inject
            .send(crate::modem::ReceivedPdu { pdu, location: None, durable })
            .await
            .map_err(|_| gone())?;
        match answer.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(why)) => Err(PushError::Failed(format!("the PDU could not be stored: {why}"))),
            Err(_) => Err(gone()),
        }
    }

    async fn caller(
        &self,
        conn: &zbus::Connection,
        hdr: &Header<'_>,
    ) -> Result<(OwnedUniqueName, Caller), PushError> {
        let sender = hdr.sender().ok_or_else(|| PushError::InvalidArgs("message without a sender".into()))?;
        let caller = self.registry.credentials.get(&dbus_proxy(conn).await?, sender).await?;
        Ok((sender.to_owned().into(), caller))
    }

    async fn privileged(
        &self,
        conn: &zbus::Connection,
        hdr: &Header<'_>,
        what: &str,
    ) -> Result<(), PushError> {
        let (sender, caller) = self.caller(conn, hdr).await?;
        if self.registry.policy.is_privileged(&caller) {
            Ok(())
        } else {
            log::warn!("{what} refused to {sender} (uid {}): not privileged", caller.uid);
            Err(PushError::AccessDenied(format!(
                "{what} needs root or a user or group in [cai] privileged_users / privileged_groups"
            )))
        }
    }
}

#[zbus::interface(name = "org.otapush.Push1.Manager", introspection_docs = false)]
impl Manager {
    /// Routes matching pushes to `agent`, an object on the caller's connection.
    #[zbus(out_args("registration"))]
    async fn register(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &zbus::Connection,
        filter: HashMap<String, OwnedValue>,
        agent: OwnedObjectPath,
    ) -> Result<OwnedObjectPath, PushError> {
        let _call = self.gate.enter().await;
        let filter = Filter::from_dict(&filter).map_err(|e| PushError::InvalidFilter(e.to_string()))?;
        let (sender, caller) = self.caller(conn, &hdr).await?;
        if let Some(app) = filter.application_id.as_deref().filter(|a| *a != WILDCARD_APP_ID) {
            if !self.registry.policy.may_receive(Some(app), &caller) {
                log::warn!("Register for {app} refused to {sender} (uid {}): [access] rule", caller.uid);
                return Err(PushError::AccessDenied(format!(
                    "uid {} may not register for {app}",
                    caller.uid
                )));
            }
        }
        if let Some(unit) = &filter.unit {
            if !activation::may_name_unit(&self.registry.policy, &caller, activation::daemon_uid()) {
                log::warn!(
                    "Register with Unit {unit} refused to {sender} (uid {}): not privileged",
                    caller.uid
                );
                return Err(PushError::AccessDenied(format!(
                    "uid {} may not name a systemd unit (root, [cai] privileged_users / privileged_groups, \
                     or the daemon's own uid)",
                    caller.uid
                )));
            }
        }
        let agent = AgentRef { bus_name: sender.clone(), path: agent };
        let (id, previous) = self.registry.register(conn, agent, filter, caller)?;
        if let Some(previous) = previous {
            let conn = conn.clone();
            tokio::spawn(async move { release(&conn, &previous).await });
        }
        // The caller may have left while we registered; its NameOwnerChanged may have come first.
        if !dbus_proxy(conn).await?.name_has_owner((&sender).into()).await? {
            self.registry.owner_gone(&sender);
        }
        Ok(registration_path(id))
    }

    /// Ends a registration; only its owner may.
    async fn unregister(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &zbus::Connection,
        registration: OwnedObjectPath,
    ) -> Result<(), PushError> {
        let _call = self.gate.enter().await;
        let (sender, caller) = self.caller(conn, &hdr).await?;
        self.registry.unregister(registration.as_str(), &sender, &caller)
    }

    /// Starts a new lease of the registration's `Expires` seconds and gives them (0: it has
    /// no `Expires`); the same callers as `Unregister` may.
    #[zbus(out_args("expires"))]
    async fn refresh(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &zbus::Connection,
        registration: OwnedObjectPath,
    ) -> Result<u32, PushError> {
        let _call = self.gate.enter().await;
        let (sender, caller) = self.caller(conn, &hdr).await?;
        self.registry.refresh(registration.as_str(), &sender, &caller)
    }

    /// The caller's registrations (every registration for a privileged caller): `Owner`,
    /// `Uid`, `Filter`, `Name`, `Persistent`, `Groups`, `Queued`, `Connected`, `Agent` (the
    /// agent's path, when connected) and the `Activate`/`Unit` keys and activation counters;
    /// docs/dbus-api.md, ListRegistrations.
    #[zbus(out_args("registrations"))]
    async fn list_registrations(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &zbus::Connection,
    ) -> Result<Vec<(OwnedObjectPath, HashMap<String, OwnedValue>)>, PushError> {
        let _call = self.gate.enter().await;
        let (_, caller) = self.caller(conn, &hdr).await?;
        let mut out = Vec::new();
        for r in self.registry.list(&caller)? {
            let mut d = HashMap::new();
            d.insert(
                "Owner".to_string(),
                ov(r.agent.as_ref().map(|a| a.bus_name.to_string()).unwrap_or_default()),
            );
            d.insert("Uid".to_string(), OwnedValue::from(r.uid));
            d.insert("Filter".to_string(), OwnedValue::from(r.filter.to_dict()));
            d.insert("Name".to_string(), ov(r.filter.name()));
            d.insert("Persistent".to_string(), OwnedValue::from(r.filter.is_persistent()));
            if let Ok(groups) = Value::from(r.filter.groups().to_vec()).try_to_owned() {
                d.insert("Groups".to_string(), groups);
            }
            d.insert("Queued".to_string(), OwnedValue::from(u32::try_from(r.queued).unwrap_or(u32::MAX)));
            d.insert("Connected".to_string(), OwnedValue::from(r.agent.is_some()));
            if let Some(a) = &r.agent {
                d.insert("Agent".to_string(), OwnedValue::from(a.path.clone().into_inner()));
            }
            if let Some(a) = &r.activation {
                let (key, name) = match &a.target {
                    activation::Target::Service(n) => ("Activate", n),
                    activation::Target::Unit(n) => ("Unit", n),
                };
                d.insert(key.to_string(), ov(name.as_str()));
                d.insert("ActivationState".to_string(), ov(a.state.as_str()));
                d.insert("ActivationAttempts".to_string(), OwnedValue::from(a.attempts));
                d.insert("ActivationErrors".to_string(), OwnedValue::from(a.errors));
                if let activation::State::Failed(why) = &a.state {
                    d.insert("ActivationError".to_string(), ov(why.as_str()));
                }
            }
            out.push((registration_path(r.id), d));
        }
        Ok(out)
    }

    /// Feeds one SMS PDU (with SMSC prefix) to the receive path; returns once it is spooled.
    /// Privileged.
    async fn inject_pdu(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &zbus::Connection,
        pdu: Vec<u8>,
    ) -> Result<(), PushError> {
        let _call = self.inject_gate.enter().await;
        // Boxed after the gate: a call waiting there holds a small future, not the ~4 KiB of
        // the credential check and the spool wait (64 waiting calls in a burst).
        Box::pin(self.inject_admitted(hdr, conn, pdu)).await
    }

    /// `up` or `down`, for `[bearer] mode = "external"`. Privileged.
    async fn set_bearer_state(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &zbus::Connection,
        state: String,
    ) -> Result<(), PushError> {
        let _call = self.gate.enter().await;
        self.privileged(conn, &hdr, "SetBearerState").await?;
        let Some(up) = crate::bearer::parse_state(&state) else {
            return Err(PushError::InvalidArgs(format!("bearer state {state:?} is not \"up\" or \"down\"")));
        };
        self.hooks
            .bearer
            .send(up)
            .await
            .map_err(|_| PushError::Failed("the bearer watcher is not running".into()))
    }

    /// A token for the EventSource endpoint's TCP listener, valid for `application_id` only
    /// and for `[eventsource] token_ttl`; given to callers that may register for it.
    #[zbus(out_args("token"))]
    async fn issue_event_source_token(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &zbus::Connection,
        application_id: String,
    ) -> Result<String, PushError> {
        let _call = self.gate.enter().await;
        let es = self.eventsource.get().ok_or_else(|| {
            PushError::Failed("the EventSource endpoint is not configured ([eventsource])".into())
        })?;
        if application_id.is_empty() || application_id.chars().any(char::is_control) {
            return Err(PushError::InvalidArgs(format!("bad application id {application_id:?}")));
        }
        let (sender, caller) = self.caller(conn, &hdr).await?;
        if !self.registry.policy.may_receive(Some(&application_id), &caller) {
            log::warn!("IssueEventSourceToken for {application_id} refused to {sender} (uid {})", caller.uid);
            return Err(PushError::AccessDenied(format!(
                "uid {} may not receive {application_id}",
                caller.uid
            )));
        }
        es.tokens
            .issue(&application_id, crate::time::now_ms())
            .map_err(|e| PushError::Failed(format!("no random token: {e}")))
    }

    /// Dead letters (extension): id and `Reason`, `ReceivedTime`, `DeadTime`, and `MessageId`
    /// and `Summary` for refused messages or `Pdu` (privileged callers only) for PDUs.
    #[zbus(out_args("dead_letters"))]
    async fn list_dead_letters(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &zbus::Connection,
    ) -> Result<Vec<(String, HashMap<String, OwnedValue>)>, PushError> {
        let _call = self.gate.enter().await;
        let (_, caller) = self.caller(conn, &hdr).await?;
        let privileged = self.registry.policy.is_privileged(&caller);
        let mut out = Vec::new();
        for dl in self.registry.store.dead_letters()? {
            let mut d = HashMap::new();
            d.insert("Reason".to_string(), ov(dl.reason));
            d.insert("ReceivedTime".to_string(), ov(format_unix_ms(dl.received_ms)));
            d.insert("DeadTime".to_string(), ov(format_unix_ms(dl.dead_ms)));
            if let Some(id) = dl.message_id {
                d.insert("MessageId".to_string(), ov(id));
            }
            if let Some(s) = dl.summary {
                d.insert("Summary".to_string(), ov(s));
            }
            if let (Some(pdu), true) = (dl.pdu, privileged) {
                d.insert("Pdu".to_string(), OwnedValue::try_from(Value::from(pdu))?);
            }
            out.push((dl.id.to_string(), d));
        }
        Ok(out)
    }

    /// One per accepted message, for monitors (no body). Broadcast; the system bus policy
    /// (`dbus/org.otapush.Push1.conf`) lets only root and `otapush-admin` receive it.
    #[zbus(signal)]
    pub(super) async fn push_received(
        emitter: &SignalEmitter<'_>,
        id: &str,
        meta: HashMap<&str, Value<'_>>,
    ) -> zbus::Result<()>;

    #[zbus(property)]
    async fn modem_state(&self) -> String {
        self.props.modem()
    }

    #[zbus(property)]
    async fn bearer_state(&self) -> String {
        self.props.bearer()
    }

    #[zbus(property)]
    async fn streams(&self) -> HashMap<String, OwnedValue> {
        self.props.streams()
    }

    /// The local EventSource endpoint (docs/eventsource.md): `Socket` (s), `Tcp` (s, the bound
    /// address), `Subscribers` (u); empty while it is off. Read when asked, no change signal.
    #[zbus(property(emits_changed_signal = "false"))]
    async fn event_source(&self) -> HashMap<String, OwnedValue> {
        let mut d = HashMap::new();
        let Some(es) = self.eventsource.get() else { return d };
        if let Some(p) = &es.socket {
            d.insert("Socket".to_string(), ov(p.display().to_string()));
        }
        if let Some(a) = es.tcp {
            d.insert("Tcp".to_string(), ov(a.to_string()));
        }
        let n = u32::try_from(es.hub.stats().subscribers).unwrap_or(u32::MAX);
        d.insert("Subscribers".to_string(), OwnedValue::from(n));
        d
    }

    /// `ok`, or `failing: REASON` while commits fail (a full disk); see docs/store.md.
    #[zbus(property)]
    async fn store_state(&self) -> String {
        self.props.store()
    }
}

/// A proxy of the bus daemon that caches nothing (so building it costs no bus traffic).
async fn dbus_proxy(conn: &zbus::Connection) -> zbus::Result<zbus::fdo::DBusProxy<'static>> {
    zbus::fdo::DBusProxy::builder(conn).cache_properties(zbus::proxy::CacheProperties::No).build().await
}

/// Calls `Release()` on an agent (bounded; errors only logged: the agent may be gone).
pub(super) async fn release(conn: &zbus::Connection, agent: &AgentRef) {
    let call = conn.call_method(
        Some(agent.bus_name.as_str()),
        agent.path.as_str(),
        Some(AGENT_INTERFACE),
        "Release",
        &(),
    );
    match tokio::time::timeout(Duration::from_secs(2), call).await {
        Ok(Ok(_)) => log::debug!("released agent {} {}", agent.bus_name, agent.path),
        Ok(Err(e)) => log::debug!("Release to {} {}: {e}", agent.bus_name, agent.path),
        Err(_) => log::debug!("Release to {} {}: no reply", agent.bus_name, agent.path),
    }
}
