//! The daemon's configuration file (`otapushd --config FILE`, TOML; every key in docs/config.md).
//!
//! The cores own their bounds (`wdp::Limits`, `store::Limits`, `cai::Settings`,
//! `sse::client::Settings`); this module validates every value once, at load, and converts the
//! checked values into them. Durations in the file are whole seconds; `ms` is the one place
//! they become milliseconds.

pub use crate::bearer::{BearerMode, Settings as BearerConfig};
pub use crate::sse::policy::OnServerError;
use serde::{Deserialize, Serialize};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    /// Not TOML, an unknown key, or a value of the wrong type (the message names the key).
    #[error("{path}: {source}")]
    Parse { path: PathBuf, source: toml::de::Error },
    /// A value the file may not have: `key` as `[section] name`, `value` as written in TOML.
    #[error("{key} = {value}: {reason}")]
    Invalid { key: String, value: String, reason: String },
}

impl ConfigError {
    fn invalid(key: &str, value: impl std::fmt::Display, reason: impl Into<String>) -> ConfigError {
        ConfigError::Invalid { key: key.into(), value: value.to_string(), reason: reason.into() }
    }
}

/// Seconds from the file in milliseconds (the ranges keep it far from overflow).
const fn ms(seconds: u64) -> u64 {
    seconds * 1000
}

fn duration(seconds: u64) -> Duration {
    Duration::from_millis(ms(seconds))
}

/// `key = value` must lie in `range`, in `unit`s.
fn check(
    key: &str,
    value: impl TryInto<u64> + Copy + std::fmt::Display,
    range: RangeInclusive<u64>,
    unit: &str,
) -> Result<(), ConfigError> {
    match value.try_into() {
        Ok(v) if range.contains(&v) => Ok(()),
        _ => Err(ConfigError::invalid(
            key,
            value,
            format!("must be {}..={} {unit}", range.start(), range.end()),
        )),
    }
}

fn non_empty(key: &str, value: &str) -> Result<(), ConfigError> {
    if value.is_empty() {
        return Err(ConfigError::invalid(key, "\"\"", "must not be empty"));
    }
    Ok(())
}

/// The ranges of docs/config.md.
pub mod range {
    use std::ops::RangeInclusive;
    pub const BAUD: RangeInclusive<u64> = 1200..=4_000_000;
    pub const MAX_QUEUED_MESSAGES: RangeInclusive<u64> = 1..=1_000_000;
    pub const MAX_QUEUED_BYTES: RangeInclusive<u64> = 1024..=(16 << 30);
    pub const COMMIT_RETRY_MAX: RangeInclusive<u64> = 1..=3600;
    /// 365 days.
    pub const HOLD_SECONDS: RangeInclusive<u64> = 0..=31_536_000;
    pub const DELIVER_TIMEOUT: RangeInclusive<u64> = 1..=3600;
    pub const ACTIVATION_INTERVAL: RangeInclusive<u64> = 1..=3600;
    /// The top of `activation_interval_max` (its bottom is `activation_interval`).
    pub const ACTIVATION_INTERVAL_MAX: u64 = 86_400;
    /// The registrations unprivileged callers may fill together (1024 less 64 reserved).
    pub const MAX_REGISTRATIONS_PER_UID: RangeInclusive<u64> = {
        use crate::cai::registry::{MAX_REGISTRATIONS, RESERVED_FOR_PRIVILEGED};
        0..=(MAX_REGISTRATIONS - RESERVED_FOR_PRIVILEGED) as u64
    };
    /// 30 days.
    pub const REASSEMBLY_TIMEOUT: RangeInclusive<u64> = 1..=2_592_000;
    pub const MAX_PARTIALS: RangeInclusive<u64> = 1..=4096;
    pub const MAX_PARTIAL_BYTES: RangeInclusive<u64> = 1024..=(64 << 20);
    pub const IDLE_TIMEOUT: RangeInclusive<u64> = 1..=86_400;
    pub const MAX_EVENT_BYTES: RangeInclusive<u64> = 1024..=(64 << 20);
    pub const ES_HEARTBEAT: RangeInclusive<u64> = 1..=3600;
    pub const ES_HISTORY: RangeInclusive<u64> = 1..=10_000;
    pub const ES_RETRY: RangeInclusive<u64> = 0..=3_600_000;
    pub const ES_MAX_SUBSCRIBERS: RangeInclusive<u64> = 1..=4096;
    pub const ES_TOKEN_TTL: RangeInclusive<u64> = 1..=86_400;
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
    /// Seconds after an activation start before the next may be tried (docs/activation.md).
    pub activation_interval: u64,
    /// Seconds the interval doubles up to while the agent does not register.
    pub activation_interval_max: u64,
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
            activation_interval: 30,
            activation_interval_max: 600,
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
            Err(ConfigError::invalid(&format!("[eventsource] {key}"), format!("{value:?}"), why))
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
        check("[eventsource] heartbeat", self.heartbeat, range::ES_HEARTBEAT, "seconds")?;
        check("[eventsource] history", self.history, range::ES_HISTORY, "events")?;
        check("[eventsource] retry", self.retry, range::ES_RETRY, "ms")?;
        check(
            "[eventsource] max_subscribers",
            self.max_subscribers,
            range::ES_MAX_SUBSCRIBERS,
            "subscribers",
        )?;
        check(
            "[eventsource] max_subscribers_per_uid",
            self.max_subscribers_per_uid,
            1..=u64::from(self.max_subscribers),
            "subscribers (up to max_subscribers)",
        )?;
        check("[eventsource] token_ttl", self.token_ttl, range::ES_TOKEN_TTL, "seconds")?;
        Ok(())
    }
}

impl Config {
    /// Parses a configuration file's text.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let c: Config =
            toml::from_str(text).map_err(|source| ConfigError::Parse { path: path.into(), source })?;
        c.validate()?;
        Ok(c)
    }

    /// Reads and parses a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| ConfigError::Read { path: path.into(), source: e })?;
        Config::parse(&text, path)
    }

    /// Every value against its range in docs/config.md; the first bad one is the error.
    fn validate(&self) -> Result<(), ConfigError> {
        non_empty("[modem] device", &self.modem.device)?;
        check("[modem] baud", self.modem.baud, range::BAUD, "baud")?;
        non_empty("[dbus] bus", &self.dbus.bus)?;
        let st = &self.store;
        check("[store] max_queued_messages", st.max_queued_messages, range::MAX_QUEUED_MESSAGES, "messages")?;
        check("[store] max_queued_bytes", st.max_queued_bytes, range::MAX_QUEUED_BYTES, "bytes")?;
        check("[store] commit_retry_max", st.commit_retry_max, range::COMMIT_RETRY_MAX, "seconds")?;
        let c = &self.cai;
        check("[cai] unclaimed_ttl", c.unclaimed_ttl, range::HOLD_SECONDS, "seconds")?;
        check("[cai] dedup_window", c.dedup_window, range::HOLD_SECONDS, "seconds")?;
        check("[cai] deliver_timeout", c.deliver_timeout, range::DELIVER_TIMEOUT, "seconds")?;
        let per_uid = c.max_registrations_per_uid;
        check("[cai] max_registrations_per_uid", per_uid, range::MAX_REGISTRATIONS_PER_UID, "registrations")?;
        if c.max_persistent_per_uid > per_uid {
            return Err(ConfigError::invalid(
                "[cai] max_persistent_per_uid",
                c.max_persistent_per_uid,
                format!("must be 0..=[cai] max_registrations_per_uid ({per_uid})"),
            ));
        }
        check("[cai] activation_interval", c.activation_interval, range::ACTIVATION_INTERVAL, "seconds")?;
        if !(c.activation_interval..=range::ACTIVATION_INTERVAL_MAX).contains(&c.activation_interval_max) {
            return Err(ConfigError::invalid(
                "[cai] activation_interval_max",
                c.activation_interval_max,
                format!(
                    "must be [cai] activation_interval ({})..={} seconds",
                    c.activation_interval,
                    range::ACTIVATION_INTERVAL_MAX
                ),
            ));
        }
        let w = &self.wdp;
        check("[wdp] reassembly_timeout", w.reassembly_timeout, range::REASSEMBLY_TIMEOUT, "seconds")?;
        check("[wdp] max_partials", w.max_partials, range::MAX_PARTIALS, "messages")?;
        check("[wdp] max_partial_bytes", w.max_partial_bytes, range::MAX_PARTIAL_BYTES, "bytes")?;
        self.eventsource.validate()?;
        let mut names = std::collections::HashSet::new();
        for s in &self.sse {
            non_empty("[[sse]] name", &s.name)?;
            let of = |e: ConfigError| match e {
                ConfigError::Invalid { key, value, reason } => {
                    ConfigError::Invalid { key, value, reason: format!("{reason} (stream {:?})", s.name) }
                }
                e => e,
            };
            if !names.insert(&s.name) {
                return Err(ConfigError::invalid(
                    "[[sse]] name",
                    format!("{:?}", s.name),
                    "used by two streams",
                ));
            }
            if !(s.url.starts_with("http://") || s.url.starts_with("https://")) {
                return Err(of(ConfigError::invalid(
                    "[[sse]] url",
                    format!("{:?}", s.url),
                    "must start with http:// or https://",
                )));
            }
            non_empty("[[sse]] application_id", &s.application_id).map_err(of)?;
            check("[[sse]] idle_timeout", s.idle_timeout, range::IDLE_TIMEOUT, "seconds").map_err(of)?;
            check("[[sse]] max_event_bytes", s.max_event_bytes, range::MAX_EVENT_BYTES, "bytes")
                .map_err(of)?;
        }
        Ok(())
    }

    /// How the modem driver opens its port (`[modem] baud`).
    pub fn modem_settings(&self) -> crate::modem::Settings {
        crate::modem::Settings { baud: self.modem.baud }
    }

    /// The bounds of WDP reassembly (`[wdp]`).
    pub fn wdp_limits(&self) -> crate::wdp::Limits {
        crate::wdp::Limits {
            max_partials: self.wdp.max_partials,
            max_bytes: self.wdp.max_partial_bytes,
            timeout_ms: ms(self.wdp.reassembly_timeout),
        }
    }

    /// The caps of the store (`[store]`, `[cai] dedup_window`).
    pub fn store_limits(&self) -> crate::store::Limits {
        crate::store::Limits {
            max_queued_messages: u64::from(self.store.max_queued_messages),
            max_queued_bytes: self.store.max_queued_bytes,
            dedup_window_ms: ms(self.cai.dedup_window),
            history_window: if self.eventsource.enabled() { u64::from(self.eventsource.history) } else { 0 },
            ..crate::store::Limits::default()
        }
    }

    /// The longest pause between tries of a failing commit (`[store] commit_retry_max`).
    pub fn commit_retry_max(&self) -> Duration {
        duration(self.store.commit_retry_max)
    }

    /// The EventSource endpoint's listeners and timing (`[eventsource]`).
    #[cfg(feature = "eventsource")]
    pub fn eventsource_settings(&self) -> crate::eventsource::Settings {
        let c = &self.eventsource;
        crate::eventsource::Settings {
            socket: c.socket.clone(),
            tcp: c.tcp_addr(),
            allowed_origins: c.allowed_origins.clone(),
            heartbeat: duration(c.heartbeat),
            retry_ms: c.retry,
            header_timeout: Duration::from_secs(5),
            max_connections: c.max_subscribers as usize + 16,
        }
    }

    /// The EventSource hub's bounds (`[eventsource] max_subscribers*`), 64 events buffered per
    /// subscriber.
    #[cfg(feature = "eventsource")]
    pub fn eventsource_hub_limits(&self) -> crate::eventsource::HubLimits {
        crate::eventsource::HubLimits {
            max_subscribers: self.eventsource.max_subscribers as usize,
            max_per_uid: self.eventsource.max_subscribers_per_uid as usize,
            buffer: 64,
        }
    }

    /// The Push-CAI service's settings (`[cai]`, `[[access.rule]]`).
    pub fn cai_settings(&self) -> crate::cai::Settings {
        use crate::cai::{access, registry};
        crate::cai::Settings {
            registry: registry::Settings {
                unclaimed_ttl_ms: ms(self.cai.unclaimed_ttl),
                deliver_timeout: duration(self.cai.deliver_timeout),
                max_per_uid: self.cai.max_registrations_per_uid,
                max_persistent_per_uid: self.cai.max_persistent_per_uid,
                activation_window_ms: ms(self.cai.activation_interval),
                activation_window_max_ms: ms(self.cai.activation_interval_max),
            },
            access: access::Settings {
                privileged_users: self.cai.privileged_users.clone(),
                privileged_groups: self.cai.privileged_groups.clone(),
                rules: self
                    .access
                    .rules
                    .iter()
                    .map(|r| access::Rule {
                        application_id: r.application_id.clone(),
                        users: r.users.clone(),
                        groups: r.groups.clone(),
                        originators: r.originators.clone(),
                    })
                    .collect(),
            },
        }
    }

    /// The keys changed from `self` to `new` that a reload does not apply (they wait for the next
    /// start): all of `[modem]`, `[dbus]`, `[store]`, `[cai]` and `[[access.rule]]`.
    pub fn restart_keys(&self, new: &Config) -> Vec<String> {
        let mut keys = Vec::new();
        let mut diff = |section: &str, old: toml::Value, new: toml::Value| {
            let (Some(old), Some(new)) = (old.as_table(), new.as_table()) else { return };
            let mut names: Vec<&String> = old.keys().chain(new.keys()).collect();
            names.sort();
            names.dedup();
            keys.extend(
                names.into_iter().filter(|k| old.get(*k) != new.get(*k)).map(|k| format!("[{section}] {k}")),
            );
        };
        diff("modem", table(&self.modem), table(&new.modem));
        diff("dbus", table(&self.dbus), table(&new.dbus));
        diff("store", table(&self.store), table(&new.store));
        diff("cai", table(&self.cai), table(&new.cai));
        if self.access != new.access {
            keys.push("[[access.rule]]".into());
        }
        keys
    }
}

/// A section as a TOML table (empty if it cannot be one).
fn table<T: Serialize>(section: &T) -> toml::Value {
    toml::Value::try_from(section).unwrap_or_else(|_| toml::Value::Table(Default::default()))
}

impl SseConfig {
    /// The stream's endpoint and bounds.
    #[cfg(feature = "sse-http")]
    pub fn stream_settings(&self) -> crate::sse::client::Settings {
        crate::sse::client::Settings {
            name: self.name.clone(),
            url: self.url.clone(),
            ca_file: self.ca_file.clone(),
            on_server_error: self.on_server_error,
            idle_timeout: duration(self.idle_timeout),
            limits: crate::sse::Limits::for_event_bytes(self.max_event_bytes),
        }
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

    /// One key's row in docs/config.md: section (`[cai]`, `[[sse]]`), key, type, default.
    struct Row {
        section: String,
        key: String,
        ty: String,
        default: String,
    }

    fn documented_rows() -> Vec<Row> {
        let doc = include_str!("../docs/config.md");
        let mut section = String::new();
        let mut rows = Vec::new();
        for line in doc.lines() {
            if let Some(h) = line.strip_prefix("### `") {
                section = h.trim_end_matches('`').to_string();
                continue;
            }
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            if section.is_empty() || cells.len() < 5 || !cells[1].starts_with('`') {
                continue;
            }
            rows.push(Row {
                section: section.clone(),
                key: cells[1].trim_matches('`').to_string(),
                ty: cells[2].to_string(),
                default: cells[3].to_string(),
            });
        }
        rows
    }

    /// A file with `key = value` in `section`, plus what the section needs to load.
    fn file(section: &str, key: &str, value: &str) -> String {
        match section {
            "[[sse]]" => {
                let mut t = String::from("[[sse]]\n");
                for (k, v) in [("name", "\"a\""), ("url", "\"http://h/\""), ("application_id", "\"x\"")] {
                    if k != key {
                        t.push_str(&format!("{k} = {v}\n"));
                    }
                }
                t + &format!("{key} = {value}\n")
            }
            // A smaller per-uid quota needs a persistent quota within it.
            "[cai]" if key == "max_registrations_per_uid" => {
                format!("[cai]\n{key} = {value}\nmax_persistent_per_uid = 0\n")
            }
            // A longer activation interval needs a maximum at least as long.
            "[cai]" if key == "activation_interval" => {
                format!("[cai]\n{key} = {value}\nactivation_interval_max = 86400\n")
            }
            // Likewise the per-uid subscriber cap within max_subscribers.
            "[eventsource]" if key == "max_subscribers" => {
                format!("[eventsource]\n{key} = {value}\nmax_subscribers_per_uid = 1\n")
            }
            _ => format!("{section}\n{key} = {value}\n"),
        }
    }

    fn refused(section: &str, key: &str, value: &str) -> String {
        let full = format!("{section} {key}");
        match Config::parse(&file(section, key, value), Path::new("t.toml")) {
            Err(e @ ConfigError::Invalid { .. }) => {
                let ConfigError::Invalid { key: k, value: v, .. } = &e else { unreachable!() };
                assert_eq!((k.as_str(), v.as_str()), (full.as_str(), value), "{e}");
                let text = e.to_string();
                assert!(text.starts_with(&format!("{full} = {value}: must ")), "{text}");
                text
            }
            other => panic!("{full} = {value} must be refused naming the key, got {other:?}"),
        }
    }

    #[test]
    fn every_documented_range_is_enforced() {
        let mut checked = Vec::new();
        for r in documented_rows() {
            if r.ty.starts_with("integer") {
                let Some((lo, hi)) = r.ty.strip_prefix("integer, ").and_then(|t| t.split_once(" to ")) else {
                    panic!("docs/config.md: {} {} has no range", r.section, r.key);
                };
                let hi = hi.split_whitespace().next().unwrap_or_default();
                let (Ok(lo), Ok(hi)) = (lo.parse::<u64>(), hi.parse::<u64>()) else {
                    // Bounded by another key: checked by its own cross-key tests.
                    assert!(
                        ["max_persistent_per_uid", "max_subscribers_per_uid", "activation_interval_max"]
                            .contains(&r.key.as_str()),
                        "an unexpected non-numeric range: {}",
                        r.key
                    );
                    continue;
                };
                for v in [lo, hi] {
                    let c = Config::parse(&file(&r.section, &r.key, &v.to_string()), Path::new("t.toml"));
                    assert!(c.is_ok(), "{} {} = {v} is in range: {c:?}", r.section, r.key);
                }
                let range = format!("must be {lo}..={hi} ");
                if lo > 0 {
                    assert!(refused(&r.section, &r.key, &(lo - 1).to_string()).contains(&range));
                }
                assert!(refused(&r.section, &r.key, &(hi + 1).to_string()).contains(&range));
                checked.push(r.key);
            } else if r.ty.starts_with("string, not empty") {
                assert!(refused(&r.section, &r.key, "\"\"").contains("must not be empty"));
                checked.push(r.key);
            }
        }
        assert_eq!(checked.len(), 23, "rows checked: {checked:?}");
    }

    #[test]
    fn persistent_quota_is_within_the_per_uid_quota() {
        let t = "[cai]\nmax_registrations_per_uid = 8\nmax_persistent_per_uid = ";
        assert!(Config::parse(&format!("{t}8\n"), Path::new("t.toml")).is_ok());
        let e = Config::parse(&format!("{t}9\n"), Path::new("t.toml")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "[cai] max_persistent_per_uid = 9: must be 0..=[cai] max_registrations_per_uid (8)"
        );
    }

    #[test]
    fn errors_name_key_value_and_range() {
        let t = "[cai]\nactivation_interval = 60\nactivation_interval_max = 59\n";
        let e = Config::parse(t, Path::new("t.toml")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "[cai] activation_interval_max = 59: must be [cai] activation_interval (60)..=86400 seconds"
        );
        let t = "[cai]\nactivation_interval = 60\nactivation_interval_max = 60\n";
        let w = Config::parse(t, Path::new("t.toml")).unwrap().cai_settings().registry;
        assert_eq!((w.activation_window_ms, w.activation_window_max_ms), (60_000, 60_000));
        let e = Config::parse("[cai]\ndeliver_timeout = 0\n", Path::new("t.toml")).unwrap_err();
        assert_eq!(e.to_string(), "[cai] deliver_timeout = 0: must be 1..=3600 seconds");
        let t = "[[sse]]\nname = \"ticker\"\nurl = \"ftp://h/\"\napplication_id = \"x\"\n";
        let e = Config::parse(t, Path::new("t.toml")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "[[sse]] url = \"ftp://h/\": must start with http:// or https:// (stream \"ticker\")"
        );
        let t = "[[sse]]\nname = \"a\"\nurl = \"http://h/\"\napplication_id = \"x\"\n";
        let e = Config::parse(&format!("{t}{t}"), Path::new("t.toml")).unwrap_err();
        assert_eq!(e.to_string(), "[[sse]] name = \"a\": used by two streams");
    }

    /// The defaults column of docs/config.md is what an empty file gives.
    #[test]
    fn documented_defaults_are_the_defaults() {
        let stream = Config::parse(&file("[[sse]]", "name", "\"a\""), Path::new("t.toml")).unwrap();
        let defaults = toml::Value::try_from(Config::default()).unwrap();
        let sse = toml::Value::try_from(&stream.sse[0]).unwrap();
        let mut checked = 0;
        for r in documented_rows() {
            let Some(d) = r.default.strip_prefix('`').and_then(|d| d.split('`').next()) else { continue };
            if r.key == "dir" || r.section == "[[access.rule]]" {
                continue;
            }
            let want: toml::Table = toml::from_str(&format!("v = {d}")).unwrap();
            let have = if r.section == "[[sse]]" {
                sse.get(&r.key)
            } else {
                let name = r.section.trim_matches(|c| c == '[' || c == ']');
                defaults.get(name).and_then(|t| t.get(&r.key))
            };
            assert_eq!(have, Some(&want["v"]), "{} {}", r.section, r.key);
            checked += 1;
        }
        assert_eq!(checked, 31);
    }

    #[test]
    fn defaults_are_the_cores_defaults() {
        let c = Config::default();
        assert_eq!(c.wdp_limits(), crate::wdp::Limits::default());
        assert_eq!(c.store_limits(), crate::store::Limits::default());
        assert_eq!(c.cai_settings(), crate::cai::Settings::default());
        assert_eq!(c.commit_retry_max(), Duration::from_secs(30));
        assert_eq!(c.modem_settings(), crate::modem::Settings::default());
    }

    #[test]
    fn conversions_take_seconds_to_milliseconds() {
        let t = "[cai]\nunclaimed_ttl = 2\ndedup_window = 3\ndeliver_timeout = 4\n[wdp]\nreassembly_timeout = 5\n";
        let c = Config::parse(t, Path::new("t.toml")).unwrap();
        assert_eq!(c.cai_settings().registry.unclaimed_ttl_ms, 2000);
        assert_eq!(c.store_limits().dedup_window_ms, 3000);
        assert_eq!(c.cai_settings().registry.deliver_timeout, Duration::from_secs(4));
        assert_eq!(c.wdp_limits().timeout_ms, 5000);
    }

    #[test]
    fn restart_keys_name_what_a_reload_does_not_apply() {
        let old = Config::default();
        let mut new = old.clone();
        assert!(old.restart_keys(&new).is_empty());
        new.cai.deliver_timeout = 5;
        new.cai.privileged_users = vec!["adm".into()];
        new.store.max_queued_messages = 5;
        new.modem.profile_dir = Some("/b".into());
        new.access.rules.push(AccessRule::default());
        new.wdp.max_partials = 3;
        new.bearer.mode = BearerMode::Never;
        assert_eq!(
            old.restart_keys(&new),
            [
                "[modem] profile_dir",
                "[store] max_queued_messages",
                "[cai] deliver_timeout",
                "[cai] privileged_users",
                "[[access.rule]]"
            ]
        );
    }
}
