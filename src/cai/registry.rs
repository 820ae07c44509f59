//! The registrations of a running service: who is registered with which filter, which agent
//! is connected, and the one delivery task per connected registration. Committing messages
//! routes them here, under the same lock, so routing and registration changes never race.

use super::access::{AccessPolicy, Caller};
use super::deliverer;
use super::error::PushError;
use super::filter::Filter;
use super::route::{accepts, route, Candidate};
use crate::message::Message;
use crate::store::{Disposition, Outcome, Store, StoreError};
use crate::time::now_ms;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use zbus::names::OwnedUniqueName;
use zbus::zvariant::OwnedObjectPath;

/// Registration object paths are this prefix and the registration id.
pub const REGISTRATION_PATH_PREFIX: &str = "/org/otapush/Push1/registration/";
/// Registrations kept at once (connected or persistent), and per connection.
pub const MAX_REGISTRATIONS: usize = 1024;
pub const MAX_REGISTRATIONS_PER_CONNECTION: usize = 64;

/// Timing from `[cai]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub unclaimed_ttl_ms: u64,
    pub deliver_timeout: Duration,
}

impl Settings {
    pub fn from_config(cfg: &crate::config::Config) -> Settings {
        Settings {
            unclaimed_ttl_ms: cfg.cai.unclaimed_ttl.saturating_mul(1000),
            deliver_timeout: Duration::from_secs(cfg.cai.deliver_timeout.max(1)),
        }
    }
}

/// A connected agent: where `Deliver` and `Release` go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentRef {
    pub bus_name: OwnedUniqueName,
    pub path: OwnedObjectPath,
}

/// The live link of a registration to its agent; dropping it stops its delivery task.
struct Owner {
    agent: AgentRef,
    wake: Arc<Notify>,
    task: JoinHandle<()>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Registration {
    caller: Caller,
    filter: Filter,
    owner: Option<Owner>,
}

#[derive(Default)]
struct State {
    regs: BTreeMap<i64, Registration>,
    closed: bool,
}

/// One registration for `ListRegistrations`.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistrationInfo {
    pub id: i64,
    pub uid: u32,
    pub filter: Filter,
    pub agent: Option<AgentRef>,
    pub queued: u64,
}

pub fn registration_path(id: i64) -> OwnedObjectPath {
    // A prefix of valid path elements and decimal digits is always a valid object path.
    OwnedObjectPath::try_from(format!("{REGISTRATION_PATH_PREFIX}{id}"))
        .unwrap_or_else(|_| OwnedObjectPath::from(zbus::zvariant::ObjectPath::from_static_str_unchecked("/")))
}

fn registration_id(path: &str) -> Option<i64> {
    path.strip_prefix(REGISTRATION_PATH_PREFIX)?.parse::<i64>().ok().filter(|id| *id > 0)
}

pub struct Registry {
    pub store: Store,
    pub settings: Settings,
    pub policy: AccessPolicy,
    state: Mutex<State>,
    /// Wakes the expiry task: a commit may have brought an earlier deadline.
    pub expiry_wake: Notify,
}

impl Registry {
    /// Loads the persistent registrations (disconnected until their owner registers again);
    /// registrations of a previous run that were not persistent end, their queues go unclaimed.
    pub fn load(store: Store, settings: Settings, policy: AccessPolicy) -> Result<Registry, StoreError> {
        let mut state = State::default();
        for r in store.registrations()? {
            if !r.persistent {
                let moved = store.end_registration(r.id, settings.unclaimed_ttl_ms)?;
                log::info!(
                    "registration {} of the previous run ended; {moved} queued messages unclaimed",
                    r.id
                );
                continue;
            }
            match serde_json::from_str::<Filter>(&r.filter) {
                Ok(filter) => {
                    let caller = Caller { uid: r.uid, gids: r.gids };
                    state.regs.insert(r.id, Registration { caller, filter, owner: None });
                }
                Err(e) => {
                    log::error!("registration {}: unreadable filter ({e}); ended", r.id);
                    store.end_registration(r.id, settings.unclaimed_ttl_ms)?;
                }
            }
        }
        Ok(Registry { store, settings, policy, state: Mutex::new(state), expiry_wake: Notify::new() })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a registration, or takes over the persistent one with the same uid and `Name`
    /// (with its queue), claims matching unclaimed messages and starts delivering. Gives its id
    /// and the agent it was taken from (to be sent `Release`).
    pub fn register(
        self: &Arc<Self>,
        conn: &zbus::Connection,
        agent: AgentRef,
        filter: Filter,
        caller: Caller,
    ) -> Result<(i64, Option<AgentRef>), PushError> {
        let now = now_ms();
        let json = serde_json::to_string(&filter).map_err(|e| PushError::Failed(e.to_string()))?;
        let mut state = self.lock();
        if state.closed {
            return Err(PushError::Failed("the daemon is shutting down".into()));
        }
        let existing = if filter.is_persistent() {
            state
                .regs
                .iter()
                .find(|(_, r)| {
                    r.filter.is_persistent() && r.caller.uid == caller.uid && r.filter.name() == filter.name()
                })
                .map(|(id, _)| *id)
        } else {
            None
        };
        if existing.is_none() {
            let mine = state
                .regs
                .values()
                .filter(|r| r.owner.as_ref().is_some_and(|o| o.agent.bus_name == agent.bus_name));
            if state.regs.len() >= MAX_REGISTRATIONS || mine.count() >= MAX_REGISTRATIONS_PER_CONNECTION {
                return Err(PushError::LimitExceeded(format!(
                    "at most {MAX_REGISTRATIONS} registrations, {MAX_REGISTRATIONS_PER_CONNECTION} per connection"
                )));
            }
        }
        let (id, previous) = match existing {
            Some(id) => {
                self.store.update_registration(id, &caller.gids, &json)?;
                let reg = state.regs.remove(&id);
                (id, reg.and_then(|r| r.owner).map(|o| o.agent.clone()))
            }
            None => {
                let id = self.store.insert_registration(
                    caller.uid,
                    &caller.gids,
                    filter.name(),
                    filter.is_persistent(),
                    &json,
                    now,
                )?;
                (id, None)
            }
        };
        let expires = now.saturating_add(u64::from(filter.queue_ttl()) * 1000);
        let claimed =
            self.store.claim_unclaimed(id, expires, |m| accepts(&filter, &caller, &self.policy, m))?;
        if !claimed.is_empty() {
            log::info!("registration {id} claimed {} unclaimed messages", claimed.len());
        }
        let wake = Arc::new(Notify::new());
        let task = tokio::spawn(deliverer::run(self.clone(), conn.clone(), id, agent.clone(), wake.clone()));
        log::info!(
            "registration {id} {} by uid {} ({}) agent {} {}",
            if previous.is_some() || existing.is_some() { "taken over" } else { "added" },
            caller.uid,
            agent.bus_name,
            agent.path,
            json
        );
        state.regs.insert(id, Registration { caller, filter, owner: Some(Owner { agent, wake, task }) });
        Ok((id, previous))
    }

    /// Ends a registration at the request of `sender` (its owning connection; for a
    /// disconnected persistent registration, its uid or root). Its queue goes unclaimed.
    pub fn unregister(&self, path: &str, sender: &str, caller: &Caller) -> Result<(), PushError> {
        let id = registration_id(path)
            .ok_or_else(|| PushError::UnknownRegistration(format!("no registration {path}")))?;
        let mut state = self.lock();
        let reg = state
            .regs
            .get(&id)
            .ok_or_else(|| PushError::UnknownRegistration(format!("no registration {path}")))?;
        let allowed = match &reg.owner {
            Some(o) => o.agent.bus_name.as_str() == sender,
            None => caller.uid == reg.caller.uid || caller.uid == 0,
        };
        if !allowed {
            return Err(PushError::NotOwner(format!("registration {path} belongs to another client")));
        }
        let moved = self.store.end_registration(id, self.settings.unclaimed_ttl_ms)?;
        state.regs.remove(&id);
        log::info!("registration {id} unregistered; {moved} queued messages unclaimed");
        Ok(())
    }

    /// A bus name left: its registrations end (persistent ones stay, disconnected).
    pub fn owner_gone(&self, bus_name: &str) {
        let mut state = self.lock();
        let ids: Vec<i64> = state
            .regs
            .iter()
            .filter(|(_, r)| r.owner.as_ref().is_some_and(|o| o.agent.bus_name.as_str() == bus_name))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            let persistent = state.regs.get(&id).is_some_and(|r| r.filter.is_persistent());
            if persistent {
                if let Some(r) = state.regs.get_mut(&id) {
                    r.owner = None;
                }
                log::info!("registration {id}: {bus_name} left; persistent, queueing");
                continue;
            }
            match self.store.end_registration(id, self.settings.unclaimed_ttl_ms) {
                Ok(moved) => {
                    log::info!("registration {id}: {bus_name} left; {moved} queued messages unclaimed")
                }
                Err(e) => log::error!("registration {id}: {bus_name} left; store: {e}"),
            }
            state.regs.remove(&id);
        }
    }

    /// Routes and commits messages (see [`crate::store::Store::commit_messages`]) and wakes
    /// the delivery tasks they were queued for.
    pub fn commit(
        &self,
        msgs: &[Message],
        consumed_spool_ids: &[i64],
    ) -> Result<Vec<(String, Outcome)>, StoreError> {
        let now = now_ms();
        let state = self.lock();
        let candidates = || {
            state.regs.iter().map(|(id, r)| Candidate {
                id: *id,
                filter: &r.filter,
                owner: &r.caller,
                connected: r.owner.is_some(),
            })
        };
        let batch: Vec<(&Message, Disposition)> = msgs
            .iter()
            .map(|m| (m, route(m, candidates(), &self.policy, now, self.settings.unclaimed_ttl_ms)))
            .collect();
        let out = self.store.commit_messages(&batch, consumed_spool_ids, now)?;
        for ((_, disposition), (_, outcome)) in batch.iter().zip(&out) {
            if let (Outcome::New, Disposition::Queue(targets)) = (outcome, disposition) {
                for t in targets {
                    if let Some(o) = state.regs.get(&t.registration).and_then(|r| r.owner.as_ref()) {
                        o.wake.notify_one();
                    }
                }
            }
        }
        drop(state);
        self.expiry_wake.notify_one();
        Ok(out)
    }

    /// Every registration, for `ListRegistrations`.
    pub fn list(&self) -> Result<Vec<RegistrationInfo>, StoreError> {
        let state = self.lock();
        let mut out = Vec::with_capacity(state.regs.len());
        for (id, r) in &state.regs {
            out.push(RegistrationInfo {
                id: *id,
                uid: r.caller.uid,
                filter: r.filter.clone(),
                agent: r.owner.as_ref().map(|o| o.agent.clone()),
                queued: self.store.queued_count(*id)?,
            });
        }
        Ok(out)
    }

    /// Shutdown: stops every delivery task; registrations that are not persistent end (their
    /// queues go unclaimed). Gives the connected agents, to be sent `Release`.
    pub fn close(&self) -> Vec<AgentRef> {
        let mut state = self.lock();
        state.closed = true;
        let mut agents = Vec::new();
        for (id, r) in std::mem::take(&mut state.regs) {
            if let Some(o) = &r.owner {
                agents.push(o.agent.clone());
            }
            if !r.filter.is_persistent() {
                if let Err(e) = self.store.end_registration(id, self.settings.unclaimed_ttl_ms) {
                    log::error!("registration {id}: store: {e}");
                }
            }
        }
        agents
    }

    /// Stops every delivery task without touching the store (the handle was dropped).
    pub fn abort(&self) {
        let mut state = self.lock();
        state.closed = true;
        state.regs.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_paths_round_trip() {
        assert_eq!(registration_path(42).as_str(), "/org/otapush/Push1/registration/42");
        assert_eq!(registration_id("/org/otapush/Push1/registration/42"), Some(42));
        assert_eq!(registration_id("/org/otapush/Push1/registration/0"), None);
        assert_eq!(registration_id("/org/otapush/Push1/registration/x"), None);
        assert_eq!(registration_id("/org/other/registration/1"), None);
    }
}
