//! The live fan-out: subscribers per application id, each with a bounded buffer. The daemon
//! calls [`Hub::publish`] after a commit; a subscriber whose buffer is full is dropped (its
//! connection closes, it reconnects with Last-Event-ID and resumes from the history).
//!
//! No race between backlog and live events: a subscriber registers first, then reads the
//! history, and skips live events whose `seq` the backlog already covered.

use super::select::Selection;
use crate::message::Message;
use crate::store::{HistoryEvent, Store};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, Notify};

/// Caps on subscribers and their buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HubLimits {
    pub max_subscribers: usize,
    pub max_per_uid: usize,
    /// Events buffered per subscriber before it counts as slow.
    pub buffer: usize,
}

/// Why a subscription was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Full {
    #[error("{0} subscribers already (max_subscribers)")]
    Global(usize),
    #[error("uid {uid} has {n} subscribers already (max_subscribers_per_uid)")]
    PerUid { uid: u32, n: usize },
}

/// Counters, for status and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HubStats {
    pub subscribers: usize,
    /// Subscribers dropped because their buffer filled.
    pub dropped_slow: u64,
    /// Events handed to subscribers' buffers.
    pub sent: u64,
}

struct Sub {
    id: u64,
    stream: Option<String>,
    select: Selection,
    uid: Option<u32>,
    tx: mpsc::Sender<Arc<HistoryEvent>>,
    kill: Arc<Notify>,
}

#[derive(Default)]
struct Inner {
    /// Lower-case application id → its subscribers.
    apps: HashMap<String, Vec<Sub>>,
    per_uid: HashMap<u32, usize>,
    next_id: u64,
    stats: HubStats,
}

impl Inner {
    fn remove(&mut self, app: &str, id: u64) -> Option<Sub> {
        let subs = self.apps.get_mut(app)?;
        let i = subs.iter().position(|s| s.id == id)?;
        let sub = subs.swap_remove(i);
        if subs.is_empty() {
            self.apps.remove(app);
        }
        if let Some(uid) = sub.uid {
            if let Some(n) = self.per_uid.get_mut(&uid) {
                *n -= 1;
                if *n == 0 {
                    self.per_uid.remove(&uid);
                }
            }
        }
        self.stats.subscribers -= 1;
        Some(sub)
    }
}

/// The hub; clones share it.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Mutex<Inner>>,
    store: Store,
    limits: HubLimits,
}

/// A live subscription: its events. Dropping it unsubscribes.
pub struct Subscription {
    pub events: mpsc::Receiver<Arc<HistoryEvent>>,
    hub: Arc<Mutex<Inner>>,
    app: String,
    id: u64,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        lock(&self.hub).remove(&self.app, self.id);
    }
}

fn lock(m: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Hub {
    pub fn new(store: Store, limits: HubLimits) -> Hub {
        Hub { inner: Arc::default(), store, limits }
    }

    /// The store whose history backs the subscriptions.
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn stats(&self) -> HubStats {
        lock(&self.inner).stats
    }

    /// Registers a subscriber for `app_id` (and `stream`, if given) to the events `select`
    /// selects; `dropped` is notified if the hub drops it as slow. Read the backlog after
    /// this, not before.
    pub fn subscribe(
        &self,
        app_id: &str,
        stream: Option<&str>,
        select: Selection,
        uid: Option<u32>,
        dropped: Arc<Notify>,
    ) -> Result<Subscription, Full> {
        let app = app_id.to_ascii_lowercase();
        let mut inner = lock(&self.inner);
        if inner.stats.subscribers >= self.limits.max_subscribers {
            return Err(Full::Global(inner.stats.subscribers));
        }
        if let Some(uid) = uid {
            let n = inner.per_uid.get(&uid).copied().unwrap_or(0);
            if n >= self.limits.max_per_uid {
                return Err(Full::PerUid { uid, n });
            }
            inner.per_uid.insert(uid, n + 1);
        }
        let (tx, events) = mpsc::channel(self.limits.buffer.max(1));
        inner.next_id += 1;
        let id = inner.next_id;
        inner.stats.subscribers += 1;
        let sub = Sub { id, stream: stream.map(str::to_string), select, uid, tx, kill: dropped.clone() };
        inner.apps.entry(app.clone()).or_default().push(sub);
        Ok(Subscription { events, hub: self.inner.clone(), app, id })
    }

    /// Hands committed messages to their subscribers. Only messages in the history window are
    /// sent (events with an application id, committed as new): the history row gives the order.
    pub fn publish(&self, messages: &[Message]) {
        for m in messages {
            let (Some(app), Some(_)) = (m.application_id.as_deref(), m.event.as_ref()) else { continue };
            let app = app.to_ascii_lowercase();
            if !lock(&self.inner).apps.contains_key(&app) {
                continue;
            }
            let ev = match self.store.history_event(&app, &m.id) {
                Ok(Some(ev)) => Arc::new(ev),
                Ok(None) => continue,
                Err(e) => {
                    log::warn!("eventsource: history read for {}: {e}", m.id);
                    continue;
                }
            };
            let mut inner = lock(&self.inner);
            let mut gone = Vec::new();
            let mut sent = 0;
            for s in inner.apps.get(&app).into_iter().flatten() {
                if s.stream.as_deref().is_some_and(|st| st != ev.stream) || !s.select.matches(&ev) {
                    continue;
                }
                match s.tx.try_send(ev.clone()) {
                    Ok(()) => sent += 1,
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        log::warn!("eventsource: subscriber for {app} is too slow, dropped (it resumes from history)");
                        s.kill.notify_one();
                        gone.push((s.id, true));
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => gone.push((s.id, false)),
                }
            }
            inner.stats.sent += sent;
            for (id, slow) in gone {
                if inner.remove(&app, id).is_some() && slow {
                    inner.stats.dropped_slow += 1;
                }
            }
        }
    }
}
