//! The registrations of a running service: who is registered with which filter, which agent
//! is connected, and the one delivery task per connected registration. Committing messages
//! routes them here, under the same lock, so routing and registration changes never race.

use super::access::{AccessPolicy, Caller};
use super::activation::{Activation, StartError, Target};
use super::deliverer;
use super::error::PushError;
use super::filter::Filter;
use super::route::{accepts, route, Candidate};
use crate::message::Message;
use crate::store::{Disposition, Outcome, Store, StoreError};
use crate::time::now_ms;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use zbus::names::OwnedUniqueName;
use zbus::zvariant::OwnedObjectPath;

/// Registration object paths are this prefix and the registration id.
pub const REGISTRATION_PATH_PREFIX: &str = "/org/otapush/Push1/registration/";
/// Registrations kept at once (connected or persistent), and per connection.
pub const MAX_REGISTRATIONS: usize = 1024;
pub const MAX_REGISTRATIONS_PER_CONNECTION: usize = 64;
/// The part of [`MAX_REGISTRATIONS`] only privileged callers (root, `[cai] privileged_users`
/// and `privileged_groups`) may fill: unprivileged users together never block them.
pub const RESERVED_FOR_PRIVILEGED: usize = 64;

/// Timing and quotas of the registrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub unclaimed_ttl_ms: u64,
    /// Longer than this, a `Deliver` call counts as "retry later" (at least 1 s).
    pub deliver_timeout: Duration,
    /// Per unprivileged uid: registrations in all, and persistent ones (at most `max_per_uid`).
    pub max_per_uid: usize,
    pub max_persistent_per_uid: usize,
    /// Activation's rate window after a start (ms), doubling up to the max while the agent
    /// does not register (docs/activation.md).
    pub activation_window_ms: u64,
    pub activation_window_max_ms: u64,
}

impl Default for Settings {
    /// The defaults of docs/config.md, `[cai]`.
    fn default() -> Settings {
        Settings {
            unclaimed_ttl_ms: 7 * 86_400 * 1000,
            deliver_timeout: Duration::from_secs(25),
            max_per_uid: 64,
            max_persistent_per_uid: 16,
            activation_window_ms: 30_000,
            activation_window_max_ms: 600_000,
        }
    }
}

/// Why a new registration is refused, or None: the global cap (less the privileged reserve for
/// unprivileged callers), the per-connection cap, and the per-uid quotas. `mine` counts the
/// caller's uid's registrations (all, persistent), `on_conn` those of the calling connection.
fn quota_refusal(
    s: &Settings,
    privileged: bool,
    persistent: bool,
    total: usize,
    on_conn: usize,
    mine: (usize, usize),
) -> Option<String> {
    let cap = if privileged { MAX_REGISTRATIONS } else { MAX_REGISTRATIONS - RESERVED_FOR_PRIVILEGED };
    if total >= cap {
        return Some(format!("at most {cap} registrations in all"));
    }
    if on_conn >= MAX_REGISTRATIONS_PER_CONNECTION {
        return Some(format!("at most {MAX_REGISTRATIONS_PER_CONNECTION} registrations per connection"));
    }
    if privileged {
        return None;
    }
    if mine.0 >= s.max_per_uid {
        return Some(format!(
            "at most {} registrations per user ([cai] max_registrations_per_uid)",
            s.max_per_uid
        ));
    }
    if persistent && mine.1 >= s.max_persistent_per_uid {
        return Some(format!(
            "at most {} persistent registrations per user ([cai] max_persistent_per_uid)",
            s.max_persistent_per_uid
        ));
    }
    None
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
    acknowledged: Arc<deliverer::Acknowledged>,
    /// None once taken by [`Registry::close`] (which awaits it).
    task: Option<JoinHandle<()>>,
}

/// The queue entries the agent of `reg`'s live link answered whose removal is not known to
/// have committed. Whoever stops the delivery task removes them with its own store write, so
/// an answered message is neither delivered again nor handed to the unclaimed queue.
fn answered(reg: Option<&Registration>) -> Vec<i64> {
    reg.and_then(|r| r.owner.as_ref()).map(|o| o.acknowledged.positions()).unwrap_or_default()
}

impl Drop for Owner {
    fn drop(&mut self) {
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}

struct Registration {
    caller: Caller,
    filter: Filter,
    owner: Option<Owner>,
    /// With `Expires`: when it ends unless refreshed (monotonic; restarts begin a new lease).
    lease_until: Option<Instant>,
    /// With `Activate` or `Unit`.
    activation: Option<Activation>,
}

fn lease_from(filter: &Filter, now: Instant) -> Option<Instant> {
    filter.lease().map(|l| now + l)
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
    pub activation: Option<Activation>,
}

fn new_activation(s: &Settings, filter: &Filter) -> Option<Activation> {
    let window = crate::backoff::Backoff::new(s.activation_window_ms, s.activation_window_max_ms);
    filter.activation_target().map(|t| Activation::new(t, window))
}

pub fn registration_path(id: i64) -> OwnedObjectPath {
    // A prefix of valid path elements and decimal digits is always a valid object path.
    OwnedObjectPath::try_from(format!("{REGISTRATION_PATH_PREFIX}{id}"))
        .unwrap_or_else(|_| OwnedObjectPath::from(zbus::zvariant::ObjectPath::from_static_str_unchecked("/")))
}

fn registration_id(path: &str) -> Option<i64> {
    path.strip_prefix(REGISTRATION_PATH_PREFIX)?.parse::<i64>().ok().filter(|id| *id > 0)
}

/// The registration at `path` if `sender` (its owning connection; for a disconnected
/// persistent registration, the same uid or root) may change it.
fn owned_by<'s>(
    state: &'s mut State,
    path: &str,
    sender: &str,
    caller: &Caller,
) -> Result<(i64, &'s mut Registration), PushError> {
    let unknown = || PushError::UnknownRegistration(format!("no registration {path}"));
    let id = registration_id(path).ok_or_else(unknown)?;
    let reg = state.regs.get_mut(&id).ok_or_else(unknown)?;
    let allowed = match &reg.owner {
        Some(o) => o.agent.bus_name.as_str() == sender,
        None => caller.uid == reg.caller.uid || caller.uid == 0,
    };
    if !allowed {
        return Err(PushError::NotOwner(format!("registration {path} belongs to another client")));
    }
    Ok((id, reg))
}

pub struct Registry {
    pub store: Store,
    pub settings: Settings,
    pub policy: AccessPolicy,
    state: Mutex<State>,
    /// Wakes the expiry task: a commit may have brought an earlier deadline.
    pub expiry_wake: Notify,
    /// Wakes the lease task: a registration with `Expires` was added.
    pub lease_wake: Notify,
    /// Deliveries in progress; memory goes back once they drained (`memory::Quiet`).
    pub quiet: Arc<crate::memory::Quiet>,
    /// Wakes the activation task: a start is due, or a rate window changed.
    pub activation_wake: Notify,
    /// Callers' credentials per unique name, dropped in [`Registry::owner_gone`].
    pub credentials: super::credentials::Credentials,
}

impl Registry {
    /// Loads the persistent registrations (disconnected until their owner registers again);
    /// registrations of a previous run that were not persistent end, their queues go unclaimed.
    /// Persistent registrations over the quotas (left by an older version, or the quotas were
    /// lowered) end too, oldest kept, so one user's registrations never block another's.
    pub fn load(store: Store, settings: Settings, policy: AccessPolicy) -> Result<Registry, StoreError> {
        let mut state = State::default();
        let mut per_uid: BTreeMap<u32, usize> = BTreeMap::new();
        for r in store.registrations()? {
            let caller = Caller { uid: r.uid, gids: r.gids.clone() };
            let privileged = policy.is_privileged(&caller);
            let mine = per_uid.entry(r.uid).or_default();
            if !r.persistent {
                let moved = store.end_registration(r.id, &[], settings.unclaimed_ttl_ms)?;
                log::info!(
                    "registration {} of the previous run ended; {moved} queued messages unclaimed",
                    r.id
                );
                continue;
            }
            let refusal = quota_refusal(&settings, privileged, true, state.regs.len(), 0, (*mine, *mine));
            if let Some(why) = refusal {
                let moved = store.end_registration(r.id, &[], settings.unclaimed_ttl_ms)?;
                log::warn!(
                    "persistent registration {} of uid {} ended: {why}; {moved} queued messages unclaimed",
                    r.id,
                    r.uid
                );
                continue;
            }
            match serde_json::from_str::<Filter>(&r.filter) {
                Ok(filter) => {
                    *mine += 1;
                    let lease_until = lease_from(&filter, Instant::now());
                    let mut activation = new_activation(&settings, &filter);
                    // Messages left queued by the previous run wait for the agent too.
                    if let Some(a) = activation.as_mut().filter(|_| store.queued_count(r.id).unwrap_or(0) > 0)
                    {
                        a.want(now_ms());
                    }
                    state
                        .regs
                        .insert(r.id, Registration { caller, filter, owner: None, lease_until, activation });
                }
                Err(e) => {
                    log::error!("registration {}: unreadable filter ({e}); ended", r.id);
                    store.end_registration(r.id, &[], settings.unclaimed_ttl_ms)?;
                }
            }
        }
        Ok(Registry {
            store,
            settings,
            policy,
            state: Mutex::new(state),
            expiry_wake: Notify::new(),
            lease_wake: Notify::new(),
            quiet: Arc::default(),
            activation_wake: Notify::new(),
            credentials: Default::default(),
        })
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
            let on_conn = state
                .regs
                .values()
                .filter(|r| r.owner.as_ref().is_some_and(|o| o.agent.bus_name == agent.bus_name))
                .count();
            let uid_regs = state.regs.values().filter(|r| r.caller.uid == caller.uid);
            let mine =
                uid_regs.fold((0, 0), |(all, p), r| (all + 1, p + usize::from(r.filter.is_persistent())));
            let privileged = self.policy.is_privileged(&caller);
            let persistent = filter.is_persistent();
            let total = state.regs.len();
            if let Some(why) = quota_refusal(&self.settings, privileged, persistent, total, on_conn, mine) {
                log::warn!("Register refused to {} (uid {}): {why}", agent.bus_name, caller.uid);
                return Err(PushError::LimitExceeded(why));
            }
        }
        let mut activation = new_activation(&self.settings, &filter);
        let (id, previous) = match existing {
            Some(id) => {
                self.store.update_registration(id, &caller.gids, &json)?;
                let reg = state.regs.remove(&id);
                self.remove_answered(id, answered(reg.as_ref()));
                if let (Some(new), Some(old)) =
                    (activation.as_mut(), reg.as_ref().and_then(|r| r.activation.as_ref()))
                {
                    new.carry(old);
                }
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
        let acknowledged = Arc::new(deliverer::Acknowledged::default());
        let task = tokio::spawn(deliverer::run(
            self.clone(),
            conn.clone(),
            id,
            agent.clone(),
            wake.clone(),
            acknowledged.clone(),
        ));
        log::info!(
            "registration {id} {} by uid {} ({}) agent {} {}",
            if previous.is_some() || existing.is_some() { "taken over" } else { "added" },
            caller.uid,
            agent.bus_name,
            agent.path,
            json
        );
        let lease_until = lease_from(&filter, Instant::now());
        if let Some(a) = activation.as_mut() {
            a.registered();
        }
        let owner = Some(Owner { agent, wake, acknowledged, task: Some(task) });
        state.regs.insert(id, Registration { caller, filter, owner, lease_until, activation });
        if lease_until.is_some() {
            self.lease_wake.notify_one();
        }
        Ok((id, previous))
    }

    /// Ends a registration at the request of `sender` (its owning connection; for a
    /// disconnected persistent registration, its uid or root). Its queue goes unclaimed.
    pub fn unregister(&self, path: &str, sender: &str, caller: &Caller) -> Result<(), PushError> {
        let mut state = self.lock();
        let id = owned_by(&mut state, path, sender, caller)?.0;
        let done = answered(state.regs.get(&id));
        let moved = self.store.end_registration(id, &done, self.settings.unclaimed_ttl_ms)?;
        state.regs.remove(&id);
        log::info!("registration {id} unregistered; {moved} queued messages unclaimed");
        Ok(())
    }

    /// Starts a new lease of `Expires` seconds for a registration (same rights as
    /// [`Registry::unregister`]); gives those seconds, 0 for a registration without `Expires`.
    pub fn refresh(&self, path: &str, sender: &str, caller: &Caller) -> Result<u32, PushError> {
        let mut state = self.lock();
        let (id, reg) = owned_by(&mut state, path, sender, caller)?;
        reg.lease_until = lease_from(&reg.filter, Instant::now());
        log::debug!("registration {id} refreshed");
        Ok(reg.filter.expires.unwrap_or(0))
    }

    /// The earliest lease end, if any registration has `Expires`.
    pub fn next_lease_end(&self) -> Option<Instant> {
        self.lock().regs.values().filter_map(|r| r.lease_until).min()
    }

    /// Ends the registrations whose lease ended by `now`, as `Unregister` does (their queues go
    /// unclaimed). Gives their connected agents, to be sent `Release`.
    pub fn end_lapsed(&self, now: Instant) -> Vec<AgentRef> {
        let mut state = self.lock();
        let lapsed: Vec<i64> = state
            .regs
            .iter()
            .filter(|(_, r)| r.lease_until.is_some_and(|t| t <= now))
            .map(|(id, _)| *id)
            .collect();
        let mut agents = Vec::new();
        for id in lapsed {
            let done = answered(state.regs.get(&id));
            match self.store.end_registration(id, &done, self.settings.unclaimed_ttl_ms) {
                Ok(moved) => {
                    log::info!("registration {id} expired unrefreshed; {moved} queued messages unclaimed")
                }
                Err(e) => log::error!("registration {id} expired unrefreshed; store: {e}"),
            }
            if let Some(o) = state.regs.remove(&id).and_then(|r| r.owner) {
                agents.push(o.agent.clone());
            }
        }
        agents
    }

    /// A bus name left: its registrations end (persistent ones stay, disconnected).
    pub fn owner_gone(&self, bus_name: &str) {
        self.credentials.forget(bus_name);
        let mut state = self.lock();
        let ids: Vec<i64> = state
            .regs
            .iter()
            .filter(|(_, r)| r.owner.as_ref().is_some_and(|o| o.agent.bus_name.as_str() == bus_name))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            let persistent = state.regs.get(&id).is_some_and(|r| r.filter.is_persistent());
            let done = answered(state.regs.get(&id));
            if persistent {
                if let Some(r) = state.regs.get_mut(&id) {
                    r.owner = None;
                }
                self.remove_answered(id, done);
                log::info!("registration {id}: {bus_name} left; persistent, queueing");
                continue;
            }
            match self.store.end_registration(id, &done, self.settings.unclaimed_ttl_ms) {
                Ok(moved) => {
                    log::info!("registration {id}: {bus_name} left; {moved} queued messages unclaimed")
                }
                Err(e) => log::error!("registration {id}: {bus_name} left; store: {e}"),
            }
            state.regs.remove(&id);
        }
    }

    /// The ports registrations named in a `Port` filter, besides WAP Push's own 2948/2949: a
    /// WSP Push arriving on one is classified `wsp_push` ([`crate::receive::wsp_on_ports`]).
    pub fn wsp_ports(&self) -> std::collections::BTreeSet<u16> {
        let push = [crate::wdp::PORT_WAP_PUSH, crate::wdp::PORT_WAP_PUSH_SECURE];
        self.lock().regs.values().filter_map(|r| r.filter.port).filter(|p| !push.contains(p)).collect()
    }

    /// Routes and commits messages (see [`crate::store::Store::commit_messages`]) and wakes
    /// the delivery tasks they were queued for. The commit is queued while the routing state
    /// is locked, so it lands before any registration change made after it.
    pub async fn commit(
        &self,
        msgs: &[Message],
        consumed_spool_ids: &[i64],
    ) -> Result<Vec<(String, Outcome)>, StoreError> {
        let now = now_ms();
        let slot = self.store.write_slot().await;
        let (targets, pending) = {
            let state = self.lock();
            let candidates = || {
                state.regs.iter().map(|(id, r)| Candidate {
                    id: *id,
                    filter: &r.filter,
                    owner: &r.caller,
                    connected: r.owner.is_some(),
                })
            };
            let batch: Vec<(Message, Disposition)> = msgs
                .iter()
                .map(|m| {
                    (m.clone(), route(m, candidates(), &self.policy, now, self.settings.unclaimed_ttl_ms))
                })
                .collect();
            let targets: Vec<Disposition> = batch.iter().map(|(_, d)| d.clone()).collect();
            let pending = self.store.commit_messages_async(slot, batch, consumed_spool_ids.to_vec(), now);
            (targets, pending)
        };
        let out = pending.wait().await?;
        let mut state = self.lock();
        let mut activate = false;
        for (disposition, (_, outcome)) in targets.iter().zip(&out) {
            if let (Outcome::New, Disposition::Queue(targets)) = (outcome, disposition) {
                for t in targets {
                    let Some(r) = state.regs.get_mut(&t.registration) else { continue };
                    match (&r.owner, &mut r.activation) {
                        (Some(o), _) => o.wake.notify_one(),
                        (None, Some(a)) => activate |= a.want(now) || a.next_due_ms().is_some(),
                        (None, None) => {}
                    }
                }
            }
        }
        drop(state);
        self.expiry_wake.notify_one();
        if activate {
            self.activation_wake.notify_one();
        }
        Ok(out)
    }

    /// The registrations `ListRegistrations` shows `caller`: all for a privileged caller,
    /// otherwise those of the caller's uid (another user's filter, agent and uid are theirs).
    pub fn list(&self, caller: &Caller) -> Result<Vec<RegistrationInfo>, StoreError> {
        let all = self.policy.is_privileged(caller);
        let state = self.lock();
        let mut out = Vec::new();
        for (id, r) in state.regs.iter().filter(|(_, r)| all || r.caller.uid == caller.uid) {
            out.push(RegistrationInfo {
                id: *id,
                uid: r.caller.uid,
                filter: r.filter.clone(),
                agent: r.owner.as_ref().map(|o| o.agent.clone()),
                queued: self.store.queued_unacknowledged(
                    *id,
                    &r.owner.as_ref().map(|o| o.acknowledged.positions()).unwrap_or_default(),
                )?,
                activation: r.activation.clone(),
            });
        }
        Ok(out)
    }

    /// The starts to make now (each counted as an attempt) and when the next one is due: for
    /// registrations whose agent is away and whose queue still holds messages.
    pub fn due_activations(&self, now: u64) -> (Vec<(i64, Target)>, Option<u64>) {
        let mut state = self.lock();
        let (mut starts, mut next) = (Vec::new(), None::<u64>);
        for (id, r) in state.regs.iter_mut() {
            let Some(a) = r.activation.as_mut().filter(|_| r.owner.is_none()) else { continue };
            if a.next_due_ms().is_some_and(|t| t <= now) && self.store.queued_count(*id).unwrap_or(1) == 0 {
                a.satisfied();
            }
            a.due(now);
            if a.take_call() {
                starts.push((*id, a.target.clone()));
            }
            if let Some(t) = a.next_due_ms() {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        }
        (starts, next)
    }

    /// A start call of registration `id` returned.
    pub fn activation_finished(&self, id: i64, result: &Result<(), StartError>) {
        if let Some(a) = self.lock().regs.get_mut(&id).and_then(|r| r.activation.as_mut()) {
            a.finished(result);
        }
        self.activation_wake.notify_one();
    }

    /// Shutdown: stops every delivery task; registrations that are not persistent end (their
    /// queues go unclaimed). Gives the connected agents, to be sent `Release`, and the
    /// delivery tasks, aborted: once they are awaited, none holds the store.
    pub fn close(&self) -> (Vec<AgentRef>, Vec<JoinHandle<()>>) {
        let mut state = self.lock();
        state.closed = true;
        let mut agents = Vec::new();
        let mut tasks = Vec::new();
        for (id, mut r) in std::mem::take(&mut state.regs) {
            let done = answered(Some(&r));
            if let Some(o) = &mut r.owner {
                agents.push(o.agent.clone());
                if let Some(t) = o.task.take() {
                    t.abort();
                    tasks.push(t);
                }
            }
            if !r.filter.is_persistent() {
                if let Err(e) = self.store.end_registration(id, &done, self.settings.unclaimed_ttl_ms) {
                    log::error!("registration {id}: store: {e}");
                }
            } else {
                self.remove_answered(id, done);
            }
        }
        (agents, tasks)
    }

    /// Removes the entries a stopped delivery task's agent answered (see [`answered`]).
    /// On failure they stay queued and come again (same ids, at least once).
    fn remove_answered(&self, id: i64, done: Vec<i64>) {
        if let Err(e) = self.store.remove_all_queued(&done) {
            log::error!(
                "registration {id}: {} answered messages not removed: {e}; they come again",
                done.len()
            );
        }
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

    fn settings() -> Settings {
        Settings::default()
    }

    #[test]
    fn quotas_leave_a_reserve_for_privileged_callers() {
        let s = settings();
        let unpriv_cap = MAX_REGISTRATIONS - RESERVED_FOR_PRIVILEGED;
        assert_eq!(quota_refusal(&s, false, true, 0, 0, (0, 0)), None);
        assert!(quota_refusal(&s, false, true, 0, 0, (1, s.max_persistent_per_uid))
            .unwrap()
            .contains("persistent"));
        assert_eq!(
            quota_refusal(&s, false, false, 0, 0, (s.max_persistent_per_uid, s.max_persistent_per_uid)),
            None
        );
        assert!(quota_refusal(&s, false, false, 0, 0, (s.max_per_uid, 0)).unwrap().contains("per user"));
        assert!(quota_refusal(&s, false, false, unpriv_cap, 0, (0, 0)).is_some());
        // Root: no per-uid quota, the reserve is its own, only the global cap holds.
        assert_eq!(quota_refusal(&s, true, true, unpriv_cap, 0, (500, 500)), None);
        assert!(quota_refusal(&s, true, true, MAX_REGISTRATIONS, 0, (0, 0)).is_some());
        assert!(quota_refusal(&s, true, false, 0, MAX_REGISTRATIONS_PER_CONNECTION, (0, 0)).is_some());
    }

    #[test]
    fn registration_paths_round_trip() {
        assert_eq!(registration_path(42).as_str(), "/org/otapush/Push1/registration/42");
        assert_eq!(registration_id("/org/otapush/Push1/registration/42"), Some(42));
        assert_eq!(registration_id("/org/otapush/Push1/registration/0"), None);
        assert_eq!(registration_id("/org/otapush/Push1/registration/x"), None);
        assert_eq!(registration_id("/org/other/registration/1"), None);
    }
}
