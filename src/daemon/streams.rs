//! The running stream tasks, their status watches and the `Streams` property.

use super::sharing::SharedStream;
use crate::cai::CaiHandle;
use crate::sse::{StreamEvent, StreamState, StreamStatus};
use crate::store::Store;
use std::collections::{BTreeMap, HashMap};
use tokio::sync::{mpsc, watch};
use zbus::zvariant::{OwnedValue, Value};

/// One running connection. `last_id` is a copy of what the store committed, for the next
/// connect.
struct Handle {
    cfg: SharedStream,
    last_id: watch::Sender<String>,
    status: watch::Receiver<StreamStatus>,
    #[cfg(feature = "sse-http")]
    _task: crate::sse::client::StreamHandle,
}

/// The connection tasks by the name of their first `[[sse]]` entry.
pub struct Streams {
    handles: BTreeMap<String, Handle>,
    #[cfg_attr(not(feature = "sse-http"), allow(dead_code))]
    events: mpsc::Sender<StreamEvent>,
    /// Nudged when a status changes, to republish `Streams`.
    changed: mpsc::Sender<()>,
}

impl Streams {
    pub fn new(events: mpsc::Sender<StreamEvent>, changed: mpsc::Sender<()>) -> Streams {
        Streams { handles: BTreeMap::new(), events, changed }
    }

    /// Starts a connection from the Last-Event-ID and reconnection time the store holds. Every
    /// entry's id moves in the commit of each event; the connection's own name comes first,
    /// then an entry that kept one (the first entry may be new after a reload).
    pub fn start(&mut self, shared: SharedStream, store: &Store, bearer: &crate::bearer::BearerHandle) {
        let stored = std::iter::once(&shared.cfg)
            .chain(&shared.members)
            .find_map(|m| store.last_event_id(&m.name).ok().flatten().filter(|id| !id.is_empty()))
            .unwrap_or_default();
        let cfg = &shared.cfg;
        let (last_id, last_id_rx) = watch::channel(stored);
        let (status_tx, status) = watch::channel(StreamStatus::default());
        #[cfg(feature = "sse-http")]
        let task = {
            let opts = crate::sse::client::StreamOptions {
                retry_ms: store.reconnect_time(&cfg.name).ok().flatten(),
                ..Default::default()
            };
            crate::sse::client::spawn_stream_with(
                cfg.stream_settings(),
                opts,
                last_id_rx,
                bearer.subscribe(),
                self.events.clone(),
                status_tx,
            )
        };
        #[cfg(not(feature = "sse-http"))]
        {
            let _ = (last_id_rx, bearer);
            status_tx
                .send_modify(|s| s.state = StreamState::Stopped { reason: crate::sse::StopReason::NoHttp });
        }
        let mut watch_status = status.clone();
        let changed = self.changed.clone();
        tokio::spawn(async move {
            while watch_status.changed().await.is_ok() {
                let _ = changed.try_send(());
            }
        });
        log::info!("stream {}: {} for {}", cfg.name, cfg.url, shared.applications().join(", "));
        let handle = Handle {
            last_id,
            status,
            #[cfg(feature = "sse-http")]
            _task: task,
            cfg: shared,
        };
        self.handles.insert(handle.cfg.name().to_string(), handle);
    }

    pub fn stop(&mut self, name: &str) {
        self.handles.remove(name);
    }

    pub fn clear(&mut self) {
        self.handles.clear();
    }

    /// The store committed `id` for stream `name`; true when that changed the copy.
    pub fn set_last_id(&mut self, name: &str, id: &str) -> bool {
        let Some(h) = self.handles.get(name) else { return false };
        h.last_id.send_if_modified(|have| {
            let changed = have != id;
            if changed {
                id.clone_into(have);
            }
            changed
        })
    }

    /// The streams stopped until a reload (4xx, a wrong content type, 204).
    pub fn stopped(&self) -> Vec<String> {
        let stopped = |h: &Handle| matches!(h.status.borrow().state, StreamState::Stopped { .. });
        self.handles.iter().filter(|(_, h)| stopped(h)).map(|(n, _)| n.clone()).collect()
    }

    /// The `Streams` property: name → a{sv} of the stream's state and counters. Persists the
    /// reconnection times servers set.
    pub fn publish(&self, store: &Store, cai: &CaiHandle) {
        let mut all = HashMap::new();
        for (name, s) in &self.handles {
            let st = s.status.borrow().clone();
            if let Some(ms) = st.retry_ms {
                let _ = store.set_reconnect_time(name, ms);
            }
            let mut d: HashMap<&str, Value<'_>> = HashMap::new();
            d.insert("State", Value::from(st.state.as_str()));
            match &st.state {
                StreamState::BackingOff { until_ms, attempt } => {
                    d.insert("Until", Value::from(crate::time::format_unix_ms(*until_ms)));
                    d.insert("Attempt", Value::from(*attempt));
                }
                StreamState::Stopped { reason } => {
                    d.insert("Reason", Value::from(reason.to_string()));
                }
                _ => {}
            }
            d.insert("Url", Value::from(s.cfg.cfg.url.clone()));
            d.insert("ApplicationId", Value::from(s.cfg.cfg.application_id.clone()));
            d.insert("Applications", Value::from(s.cfg.applications()));
            d.insert("LastEventId", Value::from(s.last_id.borrow().clone()));
            d.insert("Events", Value::from(st.events));
            d.insert("Connects", Value::from(st.connects));
            d.insert("Errors", Value::from(st.errors));
            if let Some(e) = &st.last_error {
                d.insert("LastError", Value::from(e.to_string()));
            }
            if let Ok(v) = OwnedValue::try_from(Value::from(d)) {
                all.insert(name.clone(), v);
            }
        }
        cai.set_streams(all);
    }
}
