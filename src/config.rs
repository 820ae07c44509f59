//! The daemon's configuration file (`otapushd --config FILE`, TOML; every key in docs/config.md).

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{0}")]
    Invalid(String),
}

/// The whole configuration. Every section has defaults that serve a developer on a laptop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub modem: ModemConfig,
    pub dbus: DbusConfig,
    pub store: StoreConfig,
    pub bearer: BearerConfig,
    pub cai: CaiConfig,
    pub wdp: WdpConfig,
    #[serde(rename = "sse")]
    pub sse: Vec<SseConfig>,
    /// Who may register for which application ids, and originator allow lists.
    pub access: AccessConfig,
    /// The local EventSource endpoint (docs/eventsource.md).
    pub eventsource: EventSourceConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModemConfig {
    /// A tty path, or `sim` for the built-in simulated modem.
    pub device: String,
    pub baud: u32,
    /// A profile name from `board/` (or a path to a profile TOML file).
    pub profile: String,
    /// Where to look for profile files (default: `board/` beside the binary's source, then
    /// `/usr/share/otapush/board`).
    pub profile_dir: Option<PathBuf>,
}

impl Default for ModemConfig {
    fn default() -> Self {
        ModemConfig { device: "sim".into(), baud: 115200, profile: "generic".into(), profile_dir: None }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DbusConfig {
    /// `system`, `session`, or a full address such as `unix:path=/run/x`.
    pub bus: String,
}

impl Default for DbusConfig {
    fn default() -> Self {
        DbusConfig { bus: "session".into() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    pub dir: PathBuf,
    /// Cap on messages held in all queues together.
    pub max_queued_messages: u32,
    /// Cap on body bytes held in all queues together.
    pub max_queued_bytes: u64,
    /// Seconds between tries of a failing commit (a full disk), at most: the pause doubles
    /// from half a second up to this, for as long as the commit fails.
    pub commit_retry_max: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            dir: default_state_dir(),
            max_queued_messages: 10_000,
            max_queued_bytes: 64 << 20,
            commit_retry_max: 30,
        }
    }
}

/// `$XDG_DATA_HOME/otapush`, else `~/.local/share/otapush`, else `/var/lib/otapush`.
pub fn default_state_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("otapush");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(h).join(".local/share/otapush");
    }
    PathBuf::from("/var/lib/otapush")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BearerMode {
    Auto,
    Always,
    Never,
    External,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BearerConfig {
    pub mode: BearerMode,
    pub interfaces: Vec<String>,
}

impl Default for BearerConfig {
    fn default() -> Self {
        BearerConfig { mode: BearerMode::Auto, interfaces: vec!["wwan0".into(), "ppp0".into()] }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaiConfig {
    /// Seconds an unclaimed message is held for a later registration (default 7 days).
    pub unclaimed_ttl: u64,
    /// Seconds during which an SMS message handed over again is not delivered again.
    pub dedup_window: u64,
    /// Seconds a `Deliver` call may take.
    pub deliver_timeout: u64,
    /// Users (names or numeric uids) allowed to call privileged methods besides root.
    pub privileged_users: Vec<String>,
    /// Groups (names or numeric gids) allowed to call privileged methods.
    pub privileged_groups: Vec<String>,
    /// Registrations one unprivileged uid may hold at once (connected and persistent).
    pub max_registrations_per_uid: usize,
    /// Persistent registrations one unprivileged uid may hold.
    pub max_persistent_per_uid: usize,
}

impl Default for CaiConfig {
    fn default() -> Self {
        CaiConfig {
            unclaimed_ttl: 7 * 86400,
            dedup_window: 7 * 86400,
            deliver_timeout: 25,
            privileged_users: Vec::new(),
            privileged_groups: Vec::new(),
            max_registrations_per_uid: 64,
            max_persistent_per_uid: 16,
        }
    }
}

/// WDP reassembly bounds (WAP-259 over SMS).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WdpConfig {
    /// Seconds an incomplete concatenated message is kept.
    pub reassembly_timeout: u64,
    /// Maximum concurrent partial messages.
    pub max_partials: usize,
    /// Maximum payload bytes held in partial messages.
    pub max_partial_bytes: usize,
}

impl Default for WdpConfig {
    fn default() -> Self {
        WdpConfig { reassembly_timeout: 3 * 86400, max_partials: 64, max_partial_bytes: 256 * 1024 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OnServerError {
    #[default]
    Backoff,
    Stop,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SseConfig {
    pub name: String,
    pub url: String,
    pub application_id: String,
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub on_server_error: OnServerError,
    /// Seconds without a byte (not even a comment) before reconnecting.
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout: u64,
    /// Cap on one event's bytes (data + event + id).
    #[serde(default = "default_max_event_bytes")]
    pub max_event_bytes: usize,
}

fn default_idle_timeout() -> u64 {
    45
}

fn default_max_event_bytes() -> usize {
    1 << 20
}

/// Access control: which users or groups may register for which application ids, and which
/// originators may send pushes for an application id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct AccessConfig {
    #[serde(rename = "rule")]
    pub rules: Vec<AccessRule>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct AccessRule {
    /// The application id (URN) this rule governs.
    pub application_id: String,
    /// Users (names or uids) allowed to register for it; with `groups` empty too, anyone may.
    pub users: Vec<String>,
    /// Groups (names or gids) allowed to register for it.
    pub groups: Vec<String>,
    /// Originators allowed to send pushes for it; empty = any.
    pub originators: Vec<String>,
}

/// `[eventsource]`: the local EventSource endpoint (docs/eventsource.md). Off unless `socket`
/// or `tcp_listen` is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventSourceConfig {
    /// The Unix socket path (peer credentials decide access).
    pub socket: Option<PathBuf>,
    /// A loopback address and port (`127.0.0.1:PORT` or `[::1]:PORT`) for browsers and WebViews.
    pub tcp_listen: Option<String>,
    /// Origins (`scheme://host[:port]`) whose pages may subscribe over TCP without a token, to
    /// application ids that no `[access]` rule restricts.
    pub allowed_origins: Vec<String>,
    /// Seconds between heartbeat comment lines.
    pub heartbeat: u64,
    /// Events kept per application id (the resume window).
    pub history: u32,
    /// The `retry:` sent to each subscriber once, in milliseconds.
    pub retry: u64,
    /// Subscribers at once, over both listeners.
    pub max_subscribers: u32,
    /// Subscribers at once per uid (Unix socket).
    pub max_subscribers_per_uid: u32,
    /// Seconds a token from `IssueEventSourceToken` stays valid.
    pub token_ttl: u64,
}

impl Default for EventSourceConfig {
    fn default() -> Self {
        EventSourceConfig {
            socket: None,
            tcp_listen: None,
            allowed_origins: Vec::new(),
            heartbeat: 15,
            history: 100,
            retry: 3000,
            max_subscribers: 32,
            max_subscribers_per_uid: 8,
            token_ttl: 3600,
        }
    }
}

impl EventSourceConfig {
    /// True when a listener is configured (the history is kept only then).
    pub fn enabled(&self) -> bool {
        self.socket.is_some() || self.tcp_listen.is_some()
    }

    /// The parsed `tcp_listen` (validated: a loopback address).
    pub fn tcp_addr(&self) -> Option<std::net::SocketAddr> {
        self.tcp_listen.as_deref().and_then(|a| a.parse().ok())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, value: &dyn std::fmt::Debug, why: &str| {
            Err(ConfigError::Invalid(format!("[eventsource] {key} = {value:?}: {why}")))
        };
        if let Some(p) = &self.socket {
            if !p.is_absolute() {
                return bad("socket", p, "must be an absolute path");
            }
        }
        if let Some(a) = &self.tcp_listen {
            match a.parse::<std::net::SocketAddr>() {
                Ok(addr) if addr.ip().is_loopback() => {}
                Ok(_) => return bad("tcp_listen", a, "must be a loopback address (127.0.0.1 or [::1])"),
                Err(_) => return bad("tcp_listen", a, "must be ADDRESS:PORT, e.g. 127.0.0.1:8089"),
            }
        }
        for o in &self.allowed_origins {
            let rest = o.strip_prefix("http://").or_else(|| o.strip_prefix("https://"));
            if !rest.is_some_and(|h| !h.is_empty() && !h.contains(['/', '?', '#', ' '])) {
                return bad("allowed_origins", o, "each must be scheme://host[:port], no path");
            }
        }
        if !(1..=3600).contains(&self.heartbeat) {
            return bad("heartbeat", &self.heartbeat, "is 1 to 3600 seconds");
        }
        if !(1..=10_000).contains(&self.history) {
            return bad("history", &self.history, "is 1 to 10000 events");
        }
        if self.retry > 3_600_000 {
            return bad("retry", &self.retry, "is 0 to 3600000 ms");
        }
        if !(1..=4096).contains(&self.max_subscribers) {
            return bad("max_subscribers", &self.max_subscribers, "is 1 to 4096");
        }
        if !(1..=self.max_subscribers).contains(&self.max_subscribers_per_uid) {
            return bad("max_subscribers_per_uid", &self.max_subscribers_per_uid, "is 1 to max_subscribers");
        }
        if !(1..=86_400).contains(&self.token_ttl) {
            return bad("token_ttl", &self.token_ttl, "is 1 to 86400 seconds");
        }
        Ok(())
    }
}

impl Config {
    /// Parses a configuration file's text.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let c: Config = toml::from_str(text)
            .map_err(|e| ConfigError::Parse { path: path.into(), message: e.to_string() })?;
        c.validate()?;
        Ok(c)
    }

    /// Reads and parses a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| ConfigError::Read { path: path.into(), source: e })?;
        Config::parse(&text, path)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=3600).contains(&self.store.commit_retry_max) {
            return Err(ConfigError::Invalid("[store] commit_retry_max is 1 to 3600 seconds".into()));
        }
        self.eventsource.validate()?;
        let mut names = std::collections::HashSet::new();
        for s in &self.sse {
            if s.name.is_empty() {
                return Err(ConfigError::Invalid("[[sse]] entry without a name".into()));
            }
            if !names.insert(&s.name) {
                return Err(ConfigError::Invalid(format!("[[sse]] name {:?} used twice", s.name)));
            }
            if !(s.url.starts_with("http://") || s.url.starts_with("https://")) {
                return Err(ConfigError::Invalid(format!(
                    "[[sse]] {:?}: url must be http:// or https://",
                    s.name
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_example_parses() {
        let text = r#"
[modem]
device = "/dev/ttyUSB2"
baud = 115200
profile = "generic"

[dbus]
bus = "system"

[store]
dir = "/var/lib/otapush"

[bearer]
mode = "auto"
interfaces = ["wwan0", "ppp0"]

[[sse]]
name = "ticker"
url = "https://push.example.com/events"
application_id = "x-oma-application:sse.ticker"
ca_file = "/etc/otapush/ticker-ca.pem"
on_server_error = "backoff"
"#;
        let c = Config::parse(text, Path::new("t.toml")).unwrap();
        assert_eq!(c.modem.device, "/dev/ttyUSB2");
        assert_eq!(c.dbus.bus, "system");
        assert_eq!(c.bearer.mode, BearerMode::Auto);
        assert_eq!(c.sse.len(), 1);
        assert_eq!(c.sse[0].on_server_error, OnServerError::Backoff);
        assert_eq!(c.cai.deliver_timeout, 25);
    }

    #[test]
    fn eventsource_section_validates_with_key_and_value() {
        let c = Config::parse(
            "[eventsource]\nsocket = \"/run/otapush/events.sock\"\ntcp_listen = \"[::1]:8089\"\n\
             allowed_origins = [\"http://localhost:8000\"]\nhistory = 5\n",
            Path::new("t.toml"),
        )
        .unwrap();
        assert!(c.eventsource.enabled());
        assert_eq!(c.eventsource.tcp_addr(), Some("[::1]:8089".parse().unwrap()));
        assert!(!Config::default().eventsource.enabled());
        for (text, key, value) in [
            ("tcp_listen = \"0.0.0.0:80\"", "tcp_listen", "0.0.0.0:80"),
            ("tcp_listen = \"localhost\"", "tcp_listen", "localhost"),
            ("socket = \"rel.sock\"", "socket", "rel.sock"),
            ("allowed_origins = [\"http://a/path\"]", "allowed_origins", "http://a/path"),
            ("heartbeat = 0", "heartbeat", "0"),
            ("history = 0", "history", "0"),
            ("max_subscribers_per_uid = 99", "max_subscribers_per_uid", "99"),
        ] {
            let e = Config::parse(&format!("[eventsource]\n{text}\n"), Path::new("t.toml")).unwrap_err();
            let e = e.to_string();
            assert!(e.contains(&format!("[eventsource] {key}")) && e.contains(value), "{e}");
        }
    }

    #[test]
    fn unknown_key_is_an_error() {
        let e = Config::parse("[modem]\ndevic = \"x\"\n", Path::new("t.toml")).unwrap_err();
        assert!(e.to_string().contains("devic"), "{e}");
    }
}
