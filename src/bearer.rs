//! Data-bearer state: up or down, from rtnetlink (`mode = "auto"`), the config (`always`,
//! `never`), or a connection manager calling D-Bus `SetBearerState` (`external`). Published on a
//! `watch` channel that the event streams follow (up → connect now, down → close and rely on
//! SMS). A notification is sent only when the value changes.

pub mod netlink;
mod socket;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Where "the data bearer is up" comes from (`[bearer] mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BearerMode {
    Auto,
    Always,
    Never,
    External,
}

/// The bearer source (the `[bearer]` section).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub mode: BearerMode,
    /// For `auto`: the bearer is up while one of them is up with an address.
    pub interfaces: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { mode: BearerMode::Auto, interfaces: vec!["wwan0".into(), "ppp0".into()] }
    }
}

/// The names of the `BearerState` property and `SetBearerState` (docs/dbus-api.md).
pub fn state_name(up: bool) -> &'static str {
    if up {
        "up"
    } else {
        "down"
    }
}

/// Parses `SetBearerState`'s argument (`up` or `down`).
pub fn parse_state(s: &str) -> Option<bool> {
    match s {
        "up" => Some(true),
        "down" => Some(false),
        _ => None,
    }
}

/// Owns the bearer state and, in `auto` mode, the netlink watcher task (aborted on drop).
#[derive(Debug)]
pub struct BearerHandle {
    tx: watch::Sender<bool>,
    via: watch::Sender<Vec<String>>,
    mode: BearerMode,
    watcher: Option<JoinHandle<()>>,
}

/// Starts the bearer source the config names. In `auto` mode this opens the netlink socket and
/// spawns its watcher on the current tokio runtime; if the socket cannot be opened, the error is
/// logged and the bearer stays down. `external` starts down until the first `set_external`.
pub fn spawn_bearer(cfg: &Settings) -> (BearerHandle, watch::Receiver<bool>) {
    let (tx, rx) = watch::channel(false);
    let via = watch::Sender::new(Vec::new());
    let mut handle = BearerHandle { tx, via, mode: cfg.mode, watcher: None };
    handle.reconfigure(cfg);
    (handle, rx)
}

impl BearerHandle {
    /// Another receiver of the same state.
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.tx.subscribe()
    }

    /// In `auto` mode, the configured interfaces that are up (for status and logs); empty in
    /// the other modes.
    pub fn interfaces(&self) -> watch::Receiver<Vec<String>> {
        self.via.subscribe()
    }

    /// `SetBearerState`: applies in `external` mode only; returns whether it applied.
    pub fn set_external(&self, up: bool) -> bool {
        if self.mode != BearerMode::External {
            return false;
        }
        self.set(up);
        true
    }

    /// Applies a reloaded `[bearer]` section (SIGHUP), keeping the same channel so the streams
    /// follow the new source. Switching to `external` keeps the last state until told otherwise.
    pub fn reconfigure(&mut self, cfg: &Settings) {
        if let Some(w) = self.watcher.take() {
            w.abort();
        }
        self.mode = cfg.mode;
        self.via.send_if_modified(|v| !std::mem::take(v).is_empty());
        match cfg.mode {
            BearerMode::Always => self.set(true),
            BearerMode::Never => self.set(false),
            BearerMode::External => {}
            BearerMode::Auto => {
                if cfg.interfaces.is_empty() {
                    log::warn!("bearer: mode \"auto\" with no interfaces: always down");
                }
                match socket::NetlinkSocket::open() {
                    Ok(sock) => {
                        let table = netlink::LinkTable::new(cfg.interfaces.clone());
                        let task = socket::watch_links(sock, table, self.tx.clone(), self.via.clone());
                        self.watcher = Some(tokio::spawn(task));
                    }
                    Err(e) => {
                        log::error!("bearer: cannot open a netlink socket ({e}): the bearer stays down");
                        self.set(false);
                    }
                }
            }
        }
    }

    fn set(&self, up: bool) {
        if self.tx.send_if_modified(|v| std::mem::replace(v, up) != up) {
            log::info!("bearer: {}", state_name(up));
        }
    }
}

impl Drop for BearerHandle {
    fn drop(&mut self) {
        if let Some(w) = self.watcher.take() {
            w.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(mode: BearerMode) -> Settings {
        Settings { mode, interfaces: vec!["wwan0".into()] }
    }

    #[tokio::test]
    async fn constant_and_external_modes() {
        let (h, rx) = spawn_bearer(&cfg(BearerMode::Always));
        assert!(*rx.borrow());
        assert!(!h.set_external(false), "ignored outside external mode");
        assert!(*rx.borrow());
        let (mut h, mut rx) = spawn_bearer(&cfg(BearerMode::Never));
        assert!(!*rx.borrow_and_update());
        h.reconfigure(&cfg(BearerMode::External));
        assert!(!rx.has_changed().unwrap(), "external keeps the last state");
        assert!(h.set_external(true));
        assert!(rx.has_changed().unwrap());
        assert!(*rx.borrow_and_update());
        // The same value again is not a change (a repeated SetBearerState must not look like a
        // link flap to the streams).
        assert!(h.set_external(true));
        assert!(!rx.has_changed().unwrap());
        h.reconfigure(&cfg(BearerMode::Never));
        assert!(!*rx.borrow_and_update());
        assert!(!h.set_external(true), "SetBearerState applies in external mode only");
        assert!(!*h.subscribe().borrow());
    }

    #[test]
    fn state_names() {
        assert_eq!((state_name(true), state_name(false)), ("up", "down"));
        assert_eq!(
            (parse_state("up"), parse_state("down"), parse_state("UP")),
            (Some(true), Some(false), None)
        );
    }
}
