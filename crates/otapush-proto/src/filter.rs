//! Registration filters (docs/dbus-api.md, Register): the keys, what a message is addressed to
//! ([`Address`]) and the matching rules; stored as JSON. The daemon crate parses them from the
//! `a{sv}` of `Register` and lists them back as `a{sv}`.

use crate::message::{Kind, Message};
use crate::push_meta::{effective_app_id, essence, event_type_name};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// What a registration starts while its agent is away (docs/activation.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A well-known D-Bus name, started with `org.freedesktop.DBus.StartServiceByName`.
    Service(String),
    /// A systemd unit, started with `org.freedesktop.systemd1.Manager.StartUnit(name, "replace")`.
    Unit(String),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Service(n) => write!(f, "service {n}"),
            Target::Unit(n) => write!(f, "unit {n}"),
        }
    }
}

/// OMNA code 0x00: the wildcard application id; as a filter it matches any application id.
pub const WILDCARD_APP_ID: &str = "x-wap-application:*";
/// `QueueTtl` when a filter gives none (seconds).
pub const DEFAULT_QUEUE_TTL: u32 = 86_400;
/// The largest `QueueTtl` accepted (one year).
pub const MAX_QUEUE_TTL: u32 = 365 * 86_400;
/// The longest string accepted in a filter.
pub const MAX_STRING: usize = 256;
/// The most entries of a list key (`EventType`, `Topic`, `Groups`).
pub const MAX_LIST: usize = 32;

/// Why a filter was refused; the text names the key (`org.otapush.Push1.Error.InvalidFilter`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FilterError {
    /// A key the filter does not know.
    #[error("unknown filter key {0:?}")]
    UnknownKey(String),
    /// A value of the wrong D-Bus type.
    #[error("filter key {key:?} must have type {expected}, not {found}")]
    WrongType {
        /// The key.
        key: &'static str,
        /// The D-Bus signature the key takes.
        expected: &'static str,
        /// The signature given.
        found: String,
    },
    /// A value of the right type that is not accepted.
    #[error("filter key {key:?}: {reason}")]
    BadValue {
        /// The key.
        key: &'static str,
        /// Why.
        reason: String,
    },
    /// `Persistent` without a `Name`.
    #[error("filter key \"Name\" is required with Persistent")]
    NameRequired,
    /// `Activate` or `Unit` without `Persistent`.
    #[error("filter key {0:?} needs Persistent")]
    PersistentRequired(&'static str),
    /// Both `Activate` and `Unit`.
    #[error("filter keys \"Activate\" and \"Unit\" exclude each other")]
    ActivateAndUnit,
}

/// A registration's filter: every key given must match; an empty filter matches everything.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Filter {
    /// The message kind accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    /// A URN (numeric codes are mapped when parsed), compared case-insensitively.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_id: Option<String>,
    /// `type/subtype` or `type/*`, lower case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The WDP destination port accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Whether the registration outlives its agent, queueing while it is away.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistent: Option<bool>,
    /// The persistent registration's name (its queue's key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Seconds a queued message is kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_ttl: Option<u32>,
    /// Event types (`event:` field) accepted; only events match (docs/pubsub.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_type: Option<Vec<String>>,
    /// Topics accepted, compared exactly; only messages naming a topic match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<Vec<String>>,
    /// Groups joined: a message addressed to groups reaches only their members.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// Seconds the registration lives unless `Refresh`ed (docs/pubsub.md, Expiry).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<u32>,
    /// A well-known D-Bus name to start while the agent is away (docs/activation.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activate: Option<String>,
    /// A systemd unit to start while the agent is away (docs/activation.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// Where a message is addressed beyond its application id (docs/pubsub.md): the topic it names
/// and the groups it is for. A WAP Push names them in the application headers
/// `X-Otapush-Topic` and `X-Otapush-Group` (comma-separated); an event in the members `topic`
/// (a string) and `group` (a string or an array of strings) of its `data` when that is a JSON
/// object (other data names neither). The header wins for the topic; groups are the union.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    /// The topic named, if any.
    pub topic: Option<String>,
    /// The groups named (deduplicated, at most [`MAX_LIST`]).
    pub groups: Vec<String>,
}

/// The WSP application header naming a push's topic.
pub const TOPIC_HEADER: &str = "X-Otapush-Topic";
/// The WSP application header naming the groups a push is for.
pub const GROUP_HEADER: &str = "X-Otapush-Group";
/// Group names taken from one message, at most.
const MAX_ADDRESSED_GROUPS: usize = MAX_LIST;

impl Address {
    /// The address a message names (headers, and an event's JSON data).
    pub fn of(m: &Message) -> Address {
        let mut a = Address::default();
        let header =
            |name: &str| m.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v);
        a.set_topic(header(TOPIC_HEADER).map(String::as_str));
        if let Some(gs) = header(GROUP_HEADER) {
            gs.split(',').for_each(|g| a.add_group(g));
        }
        if m.event.is_some() {
            a.add_event_data(&m.body);
        }
        a
    }

    /// The address an event's `data` names (JSON members `topic`, `group`).
    pub fn of_event_data(data: &[u8]) -> Address {
        let mut a = Address::default();
        a.add_event_data(data);
        a
    }

    fn add_event_data(&mut self, data: &[u8]) {
        // Only an object can name them; skip the parse for anything else.
        if data.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return;
        }
        let Ok(serde_json::Value::Object(o)) = serde_json::from_slice::<serde_json::Value>(data) else {
            return;
        };
        if self.topic.is_none() {
            self.set_topic(o.get("topic").and_then(|t| t.as_str()));
        }
        match o.get("group") {
            Some(serde_json::Value::String(g)) => self.add_group(g),
            Some(serde_json::Value::Array(gs)) => {
                gs.iter().filter_map(|g| g.as_str()).for_each(|g| self.add_group(g))
            }
            _ => {}
        }
    }

    fn set_topic(&mut self, t: Option<&str>) {
        self.topic = t.map(str::trim).filter(|t| !t.is_empty() && t.len() <= MAX_STRING).map(str::to_string);
    }

    fn add_group(&mut self, g: &str) {
        let g = g.trim();
        if !g.is_empty()
            && g.len() <= MAX_STRING
            && self.groups.len() < MAX_ADDRESSED_GROUPS
            && !self.groups.iter().any(|x| x == g)
        {
            self.groups.push(g.to_string());
        }
    }
}

impl Filter {
    /// What to start while the agent is away (`Activate` or `Unit`), if anything.
    pub fn activation_target(&self) -> Option<Target> {
        match (&self.activate, &self.unit) {
            (Some(name), _) => Some(Target::Service(name.clone())),
            (None, Some(unit)) => Some(Target::Unit(unit.clone())),
            (None, None) => None,
        }
    }

    /// `Persistent`, or false.
    pub fn is_persistent(&self) -> bool {
        self.persistent.unwrap_or(false)
    }

    /// `Name`, or empty.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }

    /// Seconds a queued message is kept (`QueueTtl`, default 86400).
    pub fn queue_ttl(&self) -> u32 {
        self.queue_ttl.unwrap_or(DEFAULT_QUEUE_TTL)
    }

    /// How long the registration lives without a `Refresh` (`Expires`), if it expires.
    pub fn lease(&self) -> Option<std::time::Duration> {
        self.expires.map(|s| std::time::Duration::from_secs(u64::from(s)))
    }

    /// The groups joined (`Groups`), or none.
    pub fn groups(&self) -> &[String] {
        self.groups.as_deref().unwrap_or(&[])
    }

    /// Whether a message passes every key of the filter.
    pub fn matches(&self, m: &Message) -> bool {
        self.matches_addressed(m, &Address::of(m))
    }

    /// [`Filter::matches`] with the message's [`Address`] computed once by the caller. A message
    /// addressed to groups passes only a filter that joined one of them.
    pub fn matches_addressed(&self, m: &Message, address: &Address) -> bool {
        if !address.groups.is_empty() && !self.groups().iter().any(|g| address.groups.contains(g)) {
            return false;
        }
        if let Some(want) = &self.event_type {
            match &m.event {
                Some(e) if want.iter().any(|t| t == event_type_name(&e.event_type)) => {}
                _ => return false,
            }
        }
        if let Some(want) = &self.topic {
            match &address.topic {
                Some(t) if want.contains(t) => {}
                _ => return false,
            }
        }
        if self.kind.is_some_and(|k| k != m.kind) {
            return false;
        }
        if let Some(want) = &self.application_id {
            match effective_app_id(m) {
                None => return false,
                Some(_) if want == WILDCARD_APP_ID => {}
                Some(have) if !have.eq_ignore_ascii_case(want) => return false,
                Some(_) => {}
            }
        }
        if let Some(want) = &self.content_type {
            if !content_type_matches(want, &m.content_type) {
                return false;
            }
        }
        if self.port.is_some() && self.port != m.port {
            return false;
        }
        true
    }
}

/// Checks a `ContentType` value: `type/subtype` or `type/*`, as its lower-case essence.
pub fn parse_content_type(s: &str) -> Result<String, FilterError> {
    let e = essence(s);
    let valid =
        matches!(e.split_once('/'), Some((t, st)) if !t.is_empty() && !st.is_empty() && !st.contains('/'));
    if !valid {
        return Err(FilterError::BadValue {
            key: "ContentType",
            reason: format!("{s:?} is not type/subtype or type/*"),
        });
    }
    Ok(e)
}

/// `pattern` is an essence from [`parse_content_type`]: exact, `type/*`, or `*/*`.
fn content_type_matches(pattern: &str, actual: &str) -> bool {
    let actual = essence(actual);
    match pattern.strip_suffix("/*") {
        Some("*") => true,
        Some(ty) => actual.split_once('/').is_some_and(|(t, _)| t == ty),
        None => actual == pattern,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(app: Option<&str>, ct: &str, port: Option<u16>) -> Message {
        crate::message::test_push(app, ct, port)
    }

    fn event(event_type: &str, data: &str) -> Message {
        crate::message::test_event(event_type, data)
    }

    #[test]
    fn the_address_of_a_push_and_of_an_event() {
        let mut p = push(None, "text/plain", Some(2948));
        assert_eq!(Address::of(&p), Address::default());
        p.headers.insert("x-otapush-topic".into(), " eur ".into());
        p.headers.insert("X-Otapush-Group".into(), "g, h,,g".into());
        assert_eq!(
            Address::of(&p),
            Address { topic: Some("eur".into()), groups: vec!["g".into(), "h".into()] }
        );
        // A push body that looks like JSON names nothing: only events carry JSON data.
        let mut q = push(None, "application/json", Some(2948));
        q.body = br#"{"topic":"eur","group":"g"}"#.to_vec();
        assert_eq!(Address::of(&q), Address::default());
        // An event: `topic` and `group` members of JSON object data.
        let e = event("quote", r#" {"topic":"eur","group":["g","h",7],"price":1}"#);
        assert_eq!(
            Address::of(&e),
            Address { topic: Some("eur".into()), groups: vec!["g".into(), "h".into()] }
        );
        assert_eq!(Address::of(&event("quote", r#"{"group":"g"}"#)).groups, ["g"]);
        for data in ["eur", "", "[\"eur\"]", r#"{"topic":7}"#, r#"{"topic":"eur""#, r#"{"topic":""}"#] {
            assert_eq!(Address::of(&event("quote", data)).topic, None, "{data}");
        }
        // An event carried by a push: the push's header wins for the topic, groups add up.
        let mut e = event("quote", r#"{"topic":"usd","group":"h"}"#);
        e.headers.insert(TOPIC_HEADER.into(), "eur".into());
        e.headers.insert(GROUP_HEADER.into(), "g".into());
        assert_eq!(
            Address::of(&e),
            Address { topic: Some("eur".into()), groups: vec!["g".into(), "h".into()] }
        );
        // Bounded: at most MAX_LIST groups, none longer than MAX_STRING.
        let mut p = push(None, "text/plain", None);
        let many: Vec<String> = (0..100).map(|i| format!("g{i}")).collect();
        p.headers.insert(GROUP_HEADER.into(), format!("{},{}", "x".repeat(MAX_STRING + 1), many.join(",")));
        assert_eq!(Address::of(&p).groups, many[..MAX_LIST]);
    }

    #[test]
    fn matching_without_a_dict() {
        let mms = push(Some("x-wap-application:mms.ua"), "application/vnd.wap.mms-message", Some(2948));
        let f = Filter {
            application_id: Some(WILDCARD_APP_ID.into()),
            content_type: Some(parse_content_type("Application/*").unwrap()),
            port: Some(2948),
            ..Filter::default()
        };
        assert!(f.matches(&mms));
        assert!(!Filter { port: Some(9200), ..f.clone() }.matches(&mms));
        assert!(parse_content_type("text").is_err() && parse_content_type("a/b/c").is_err());
        let t = Filter { unit: Some("a.service".into()), ..Filter::default() };
        assert_eq!(t.activation_target().map(|t| t.to_string()).as_deref(), Some("unit a.service"));
    }
}
