//! Registration filters (docs/dbus-api.md, Register): parsed from the `a{sv}` of `Register`,
//! matched against messages, stored as JSON, listed back as `a{sv}`.

use super::activation::{check_service_name, check_unit_name, Target};
use crate::message::{Kind, Message};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use thiserror::Error;
use zbus::zvariant::{OwnedValue, Str, Value};

pub use otapush_proto::push_meta::{
    app_id_urn, effective_app_id, essence, event_type_name, normalize_app_id, DEFAULT_APP_ID,
};
/// OMNA code 0x00: the wildcard application id; as a filter it matches any application id.
pub const WILDCARD_APP_ID: &str = "x-wap-application:*";
/// `QueueTtl` when a filter gives none (seconds).
pub const DEFAULT_QUEUE_TTL: u32 = 86_400;
/// The largest `QueueTtl` accepted (one year).
pub const MAX_QUEUE_TTL: u32 = 365 * 86_400;
/// The longest string accepted in a filter.
const MAX_STRING: usize = 256;
/// The most entries of a list key (`EventType`, `Topic`, `Groups`).
pub const MAX_LIST: usize = 32;

/// Why a filter was refused; the text names the key (`org.otapush.Push1.Error.InvalidFilter`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FilterError {
    #[error("unknown filter key {0:?}")]
    UnknownKey(String),
    #[error("filter key {key:?} must have type {expected}, not {found}")]
    WrongType { key: &'static str, expected: &'static str, found: String },
    #[error("filter key {key:?}: {reason}")]
    BadValue { key: &'static str, reason: String },
    #[error("filter key \"Name\" is required with Persistent")]
    NameRequired,
    #[error("filter key {0:?} needs Persistent")]
    PersistentRequired(&'static str),
    #[error("filter keys \"Activate\" and \"Unit\" exclude each other")]
    ActivateAndUnit,
}

/// A registration's filter: every key given must match; an empty filter matches everything.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Filter {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    /// A URN (numeric codes are mapped when parsed), compared case-insensitively.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_id: Option<String>,
    /// `type/subtype` or `type/*`, lower case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistent: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
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

fn type_of(v: &Value<'_>) -> String {
    v.value_signature().to_string()
}

fn string_value(key: &'static str, v: &Value<'_>) -> Result<String, FilterError> {
    match v {
        Value::Str(s) if s.len() > MAX_STRING => {
            Err(FilterError::BadValue { key, reason: format!("longer than {MAX_STRING} characters") })
        }
        Value::Str(s) => Ok(s.as_str().trim().to_string()),
        other => Err(FilterError::WrongType { key, expected: "s", found: type_of(other) }),
    }
}

/// A list key: `as`, 1 to [`MAX_LIST`] non-empty strings (trimmed, duplicates dropped).
fn list_value(key: &'static str, v: &Value<'_>) -> Result<Vec<String>, FilterError> {
    let Value::Array(a) = v else {
        return Err(FilterError::WrongType { key, expected: "as", found: type_of(v) });
    };
    if a.element_signature().to_string() != "s" {
        return Err(FilterError::WrongType { key, expected: "as", found: type_of(v) });
    }
    if a.is_empty() || a.len() > MAX_LIST {
        return Err(FilterError::BadValue { key, reason: format!("needs 1 to {MAX_LIST} entries") });
    }
    let mut out: Vec<String> = Vec::with_capacity(a.len());
    for item in a.iter() {
        let s = string_value(key, item)?;
        if s.is_empty() {
            return Err(FilterError::BadValue { key, reason: "an entry is empty".into() });
        }
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out)
}

/// Where a message is addressed beyond its application id (docs/pubsub.md): the topic it names
/// and the groups it is for. A WAP Push names them in the application headers
/// `X-Otapush-Topic` and `X-Otapush-Group` (comma-separated); an event in the members `topic`
/// (a string) and `group` (a string or an array of strings) of its `data` when that is a JSON
/// object (other data names neither). The header wins for the topic; groups are the union.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    pub topic: Option<String>,
    pub groups: Vec<String>,
}

/// The WSP application header naming a push's topic.
pub const TOPIC_HEADER: &str = "X-Otapush-Topic";
/// The WSP application header naming the groups a push is for.
pub const GROUP_HEADER: &str = "X-Otapush-Group";
/// Group names taken from one message, at most.
const MAX_ADDRESSED_GROUPS: usize = MAX_LIST;

impl Address {
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
    /// Parses and checks the `filter` argument of `Register`.
    pub fn from_dict(dict: &HashMap<String, OwnedValue>) -> Result<Filter, FilterError> {
        let mut f = Filter::default();
        for (key, value) in dict {
            let v: &Value<'_> = value;
            match key.as_str() {
                "Kind" => {
                    let s = string_value("Kind", v)?;
                    f.kind = Some(Kind::parse(&s).ok_or_else(|| FilterError::BadValue {
                        key: "Kind",
                        reason: format!("{s:?} is not one of wsp_push, datagram, text, status_report"),
                    })?);
                }
                "ApplicationId" => {
                    let s = string_value("ApplicationId", v)?;
                    if s.is_empty() {
                        return Err(FilterError::BadValue { key: "ApplicationId", reason: "empty".into() });
                    }
                    f.application_id = Some(normalize_app_id(&s));
                }
                "ContentType" => f.content_type = Some(parse_content_type(&string_value("ContentType", v)?)?),
                "Port" => match v {
                    Value::U16(p) => f.port = Some(*p),
                    other => {
                        return Err(FilterError::WrongType {
                            key: "Port",
                            expected: "q",
                            found: type_of(other),
                        })
                    }
                },
                "Persistent" => match v {
                    Value::Bool(b) => f.persistent = Some(*b),
                    other => {
                        return Err(FilterError::WrongType {
                            key: "Persistent",
                            expected: "b",
                            found: type_of(other),
                        })
                    }
                },
                "Name" => f.name = Some(string_value("Name", v)?),
                "QueueTtl" => match v {
                    Value::U32(t) if (1..=MAX_QUEUE_TTL).contains(t) => f.queue_ttl = Some(*t),
                    Value::U32(t) => {
                        return Err(FilterError::BadValue {
                            key: "QueueTtl",
                            reason: format!("{t} is not within 1..={MAX_QUEUE_TTL} seconds"),
                        })
                    }
                    other => {
                        return Err(FilterError::WrongType {
                            key: "QueueTtl",
                            expected: "u",
                            found: type_of(other),
                        })
                    }
                },
                "Expires" => match v {
                    Value::U32(t) if (1..=MAX_QUEUE_TTL).contains(t) => f.expires = Some(*t),
                    Value::U32(t) => {
                        return Err(FilterError::BadValue {
                            key: "Expires",
                            reason: format!("{t} is not within 1..={MAX_QUEUE_TTL} seconds"),
                        })
                    }
                    other => {
                        return Err(FilterError::WrongType {
                            key: "Expires",
                            expected: "u",
                            found: type_of(other),
                        })
                    }
                },
                "EventType" => f.event_type = Some(list_value("EventType", v)?),
                "Topic" => f.topic = Some(list_value("Topic", v)?),
                "Groups" => f.groups = Some(list_value("Groups", v)?),
                "Activate" => {
                    let s = string_value("Activate", v)?;
                    check_service_name(&s)
                        .map_err(|reason| FilterError::BadValue { key: "Activate", reason })?;
                    f.activate = Some(s);
                }
                "Unit" => {
                    let s = string_value("Unit", v)?;
                    check_unit_name(&s).map_err(|reason| FilterError::BadValue { key: "Unit", reason })?;
                    f.unit = Some(s);
                }
                other => return Err(FilterError::UnknownKey(other.to_string())),
            }
        }
        if f.is_persistent() && f.name().is_empty() {
            return Err(FilterError::NameRequired);
        }
        if f.activate.is_some() && f.unit.is_some() {
            return Err(FilterError::ActivateAndUnit);
        }
        for (key, given) in [("Activate", f.activate.is_some()), ("Unit", f.unit.is_some())] {
            if given && !f.is_persistent() {
                return Err(FilterError::PersistentRequired(key));
            }
        }
        Ok(f)
    }

    /// The filter as `a{sv}`, with the keys it was given (values normalized).
    pub fn to_dict(&self) -> HashMap<String, OwnedValue> {
        let mut d = HashMap::new();
        let s = |v: &str| OwnedValue::from(Str::from(v.to_string()));
        if let Some(k) = self.kind {
            d.insert("Kind".into(), s(k.as_str()));
        }
        if let Some(a) = &self.application_id {
            d.insert("ApplicationId".into(), s(a));
        }
        if let Some(c) = &self.content_type {
            d.insert("ContentType".into(), s(c));
        }
        if let Some(p) = self.port {
            d.insert("Port".into(), OwnedValue::from(p));
        }
        if let Some(p) = self.persistent {
            d.insert("Persistent".into(), OwnedValue::from(p));
        }
        if let Some(n) = &self.name {
            d.insert("Name".into(), s(n));
        }
        if let Some(t) = self.queue_ttl {
            d.insert("QueueTtl".into(), OwnedValue::from(t));
        }
        if let Some(t) = self.expires {
            d.insert("Expires".into(), OwnedValue::from(t));
        }
        for (key, list) in [("EventType", &self.event_type), ("Topic", &self.topic), ("Groups", &self.groups)]
        {
            if let Some(l) = list {
                // An `as` of owned strings always converts.
                if let Ok(v) = Value::from(l.clone()).try_to_owned() {
                    d.insert(key.into(), v);
                }
            }
        }
        if let Some(a) = &self.activate {
            d.insert("Activate".into(), s(a));
        }
        if let Some(u) = &self.unit {
            d.insert("Unit".into(), s(u));
        }
        d
    }

    /// What to start while the agent is away (`Activate` or `Unit`), if anything.
    pub fn activation_target(&self) -> Option<Target> {
        match (&self.activate, &self.unit) {
            (Some(name), _) => Some(Target::Service(name.clone())),
            (None, Some(unit)) => Some(Target::Unit(unit.clone())),
            (None, None) => None,
        }
    }

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

fn parse_content_type(s: &str) -> Result<String, FilterError> {
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
    use crate::message::Source;

    fn dict(entries: &[(&str, Value<'static>)]) -> HashMap<String, OwnedValue> {
        entries.iter().map(|(k, v)| (k.to_string(), v.try_to_owned().unwrap())).collect()
    }

    fn push(app: Option<&str>, ct: &str, port: Option<u16>) -> Message {
        Message {
            id: "x".into(),
            kind: Kind::WspPush,
            source: Source::Sms,
            originator: "+1".into(),
            sent_time: None,
            received_time: "t".into(),
            application_id: app.map(Into::into),
            content_type: ct.into(),
            content_type_params: Default::default(),
            headers: Default::default(),
            transaction_id: None,
            pdu_type: None,
            port,
            event: None,
            body: vec![],
        }
    }

    #[test]
    fn parses_every_key_and_lists_it_back() {
        let d = dict(&[
            ("Kind", Value::from("wsp_push")),
            ("ApplicationId", Value::from("4")),
            ("ContentType", Value::from("Application/Vnd.WAP.MMS-Message")),
            ("Port", Value::U16(2948)),
            ("Persistent", Value::Bool(true)),
            ("Name", Value::from("mms")),
            ("QueueTtl", Value::U32(60)),
        ]);
        let f = Filter::from_dict(&d).unwrap();
        assert_eq!(f.application_id.as_deref(), Some("x-wap-application:mms.ua"));
        assert_eq!(f.content_type.as_deref(), Some("application/vnd.wap.mms-message"));
        assert_eq!((f.is_persistent(), f.name(), f.queue_ttl()), (true, "mms", 60));
        let back = Filter::from_dict(&f.to_dict()).unwrap();
        assert_eq!(back, f);
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(serde_json::from_str::<Filter>(&json).unwrap(), f);
        assert_eq!(Filter::from_dict(&HashMap::new()).unwrap(), Filter::default());
        assert_eq!(Filter::default().queue_ttl(), DEFAULT_QUEUE_TTL);
    }

    #[test]
    fn errors_name_the_key() {
        let e = Filter::from_dict(&dict(&[("Foo", Value::from("x"))])).unwrap_err();
        assert_eq!(e.to_string(), "unknown filter key \"Foo\"");
        let e = Filter::from_dict(&dict(&[("Port", Value::from("2948"))])).unwrap_err();
        assert_eq!(e.to_string(), "filter key \"Port\" must have type q, not s");
        let e = Filter::from_dict(&dict(&[("Port", Value::U32(2948))])).unwrap_err();
        assert_eq!(e.to_string(), "filter key \"Port\" must have type q, not u");
        let e = Filter::from_dict(&dict(&[("Kind", Value::from("mms"))])).unwrap_err();
        assert!(e.to_string().starts_with("filter key \"Kind\": \"mms\" is not one of"), "{e}");
        let e = Filter::from_dict(&dict(&[("ContentType", Value::from("text"))])).unwrap_err();
        assert!(e.to_string().contains("ContentType"), "{e}");
        let e = Filter::from_dict(&dict(&[("QueueTtl", Value::U32(0))])).unwrap_err();
        assert!(e.to_string().contains("QueueTtl"), "{e}");
        assert_eq!(
            Filter::from_dict(&dict(&[("Persistent", Value::Bool(true))])),
            Err(FilterError::NameRequired)
        );
        let long = "a".repeat(MAX_STRING + 1);
        let e = Filter::from_dict(&dict(&[("Name", Value::from(long))])).unwrap_err();
        assert!(e.to_string().contains("Name"), "{e}");
    }

    #[test]
    fn activation_keys_need_persistent_and_exclude_each_other() {
        let p = || [("Persistent", Value::Bool(true)), ("Name", Value::from("a"))];
        let with = |extra: &[(&str, Value<'static>)]| {
            let mut e = p().to_vec();
            e.extend_from_slice(extra);
            Filter::from_dict(&dict(&e))
        };
        let f = with(&[("Activate", Value::from("org.example.Agent"))]).unwrap();
        assert_eq!(f.activation_target(), Some(Target::Service("org.example.Agent".into())));
        assert_eq!(Filter::from_dict(&f.to_dict()).unwrap(), f);
        let f = with(&[("Unit", Value::from("agent.service"))]).unwrap();
        assert_eq!(f.activation_target(), Some(Target::Unit("agent.service".into())));
        assert_eq!(serde_json::from_str::<Filter>(&serde_json::to_string(&f).unwrap()).unwrap(), f);
        assert_eq!(
            Filter::from_dict(&dict(&[("Activate", Value::from("org.example.Agent"))])),
            Err(FilterError::PersistentRequired("Activate"))
        );
        assert_eq!(
            with(&[("Activate", Value::from("org.example.A")), ("Unit", Value::from("a.service"))]),
            Err(FilterError::ActivateAndUnit)
        );
        let e = with(&[("Activate", Value::from(":1.5"))]).unwrap_err();
        assert!(e.to_string().contains("Activate"), "{e}");
        let e = with(&[("Unit", Value::from("agent"))]).unwrap_err();
        assert!(e.to_string().contains("Unit"), "{e}");
        assert_eq!(Filter::default().activation_target(), None);
    }

    #[test]
    fn matching_rules() {
        let f = |entries: &[(&str, Value<'static>)]| Filter::from_dict(&dict(entries)).unwrap();
        let mms = push(Some("x-wap-application:mms.ua"), "application/vnd.wap.mms-message", Some(2948));
        let bare = push(None, "text/vnd.wap.si; charset=utf-8", Some(2948));
        let mut text = push(None, "text/plain; charset=utf-8", None);
        text.kind = Kind::Text;

        assert!(Filter::default().matches(&mms) && Filter::default().matches(&text));
        // Application id: case-insensitive; a push without one is wml.ua; text has none.
        let ua = f(&[("ApplicationId", Value::from("X-WAP-Application:MMS.UA"))]);
        assert!(ua.matches(&mms) && !ua.matches(&bare));
        let wml = f(&[("ApplicationId", Value::from("0x02"))]);
        assert!(wml.matches(&bare) && !wml.matches(&mms) && !wml.matches(&text));
        let any = f(&[("ApplicationId", Value::from("x-wap-application:*"))]);
        assert!(any.matches(&mms) && any.matches(&bare) && !any.matches(&text));
        // Content type: exact essence, type/*, */*; parameters ignored.
        assert!(f(&[("ContentType", Value::from("TEXT/VND.WAP.SI"))]).matches(&bare));
        assert!(f(&[("ContentType", Value::from("text/*"))]).matches(&text));
        assert!(!f(&[("ContentType", Value::from("text/*"))]).matches(&mms));
        assert!(f(&[("ContentType", Value::from("*/*"))]).matches(&mms));
        assert!(!f(&[("ContentType", Value::from("text/plain"))]).matches(&bare));
        // Port and kind.
        assert!(f(&[("Port", Value::U16(2948))]).matches(&mms));
        assert!(!f(&[("Port", Value::U16(2948))]).matches(&text));
        assert!(f(&[("Kind", Value::from("text"))]).matches(&text));
        assert!(!f(&[("Kind", Value::from("text")), ("Port", Value::U16(2948))]).matches(&text));
    }

    fn event(event_type: &str, data: &str) -> Message {
        let mut m = push(Some("x-oma-application:sse.ticker"), "text/event-stream", None);
        m.event = Some(crate::message::EventInfo {
            stream: "t".into(),
            event_type: event_type.into(),
            event_id: "1".into(),
        });
        m.body = data.as_bytes().to_vec();
        m
    }

    fn list(items: &[&str]) -> Value<'static> {
        Value::from(items.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn list_keys_parse_and_list_back() {
        let d = dict(&[
            ("EventType", list(&["quote", " trade ", "quote"])),
            ("Topic", list(&["eur"])),
            ("Groups", list(&["g", "h"])),
            ("Expires", Value::U32(30)),
        ]);
        let f = Filter::from_dict(&d).unwrap();
        assert_eq!(
            f.event_type,
            Some(vec!["quote".to_string(), "trade".to_string()]),
            "trimmed, deduplicated"
        );
        assert_eq!(f.groups(), ["g", "h"]);
        assert_eq!(Filter::from_dict(&f.to_dict()).unwrap(), f);
        assert_eq!(serde_json::from_str::<Filter>(&serde_json::to_string(&f).unwrap()).unwrap(), f);
        assert!(Filter::default().groups().is_empty());
        assert_eq!((f.lease(), Filter::default().lease()), (Some(std::time::Duration::from_secs(30)), None));
        // A filter stored before these keys existed still loads.
        let old: Filter = serde_json::from_str(r#"{"Name":"n","Persistent":true}"#).unwrap();
        assert!(old.topic.is_none() && old.groups().is_empty());
    }

    #[test]
    fn list_keys_refuse_bad_values() {
        let err =
            |k: &'static str, v: Value<'static>| Filter::from_dict(&dict(&[(k, v)])).unwrap_err().to_string();
        assert_eq!(err("Groups", Value::from("g")), "filter key \"Groups\" must have type as, not s");
        assert_eq!(err("Topic", Value::from(vec![1u32])), "filter key \"Topic\" must have type as, not au");
        assert!(err("EventType", list(&[])).contains("needs 1 to 32 entries"));
        let many: Vec<String> = (0..=MAX_LIST).map(|i| i.to_string()).collect();
        assert!(err("Groups", Value::from(many)).contains("needs 1 to 32"));
        assert!(err("Groups", list(&["g", " "])).contains("an entry is empty"));
        assert!(err("Topic", Value::from(vec!["a".repeat(MAX_STRING + 1)])).contains("longer than"));
        assert!(err("Expires", Value::U32(0)).contains("\"Expires\": 0 is not within"));
        assert_eq!(err("Expires", Value::U64(5)), "filter key \"Expires\" must have type u, not t");
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
    fn pubsub_matching_rules() {
        let f = |entries: &[(&str, Value<'static>)]| Filter::from_dict(&dict(entries)).unwrap();
        let quote = event("quote", r#"{"topic":"eur"}"#);
        let trade = event("trade", "plain text");
        let plain = push(None, "text/plain", Some(2948));
        // EventType: events of those types only; a push is no event.
        let types = f(&[("EventType", list(&["quote", "news"]))]);
        assert!(types.matches(&quote) && !types.matches(&trade) && !types.matches(&plain));
        assert!(f(&[("EventType", list(&["message"]))]).matches(&event("", "x")), "no event: field");
        // Topic: messages naming one of them only.
        let eur = f(&[("Topic", list(&["eur"]))]);
        assert!(eur.matches(&quote) && !eur.matches(&trade) && !eur.matches(&plain));
        let mut usd = plain.clone();
        usd.headers.insert(TOPIC_HEADER.into(), "usd".into());
        assert!(!eur.matches(&usd) && f(&[("Topic", list(&["usd", "eur"]))]).matches(&usd));
        assert!(!f(&[("Topic", list(&["EUR"]))]).matches(&quote), "topics compare exactly");
        // Groups: a message addressed to groups reaches their members only; joining a group
        // does not narrow what else the registration receives.
        let mut to_g = plain.clone();
        to_g.headers.insert(GROUP_HEADER.into(), "g".into());
        let (member, other, none) =
            (f(&[("Groups", list(&["h", "g"]))]), f(&[("Groups", list(&["h"]))]), Filter::default());
        assert!(member.matches(&to_g) && !other.matches(&to_g) && !none.matches(&to_g));
        assert!(member.matches(&plain) && other.matches(&plain) && none.matches(&plain));
        // Keys combine: a member whose other keys do not match does not get it.
        let member_text = f(&[("Groups", list(&["g"])), ("Kind", Value::from("text"))]);
        assert!(!member_text.matches(&to_g));
        let group_event = event("quote", r#"{"topic":"eur","group":"g"}"#);
        assert!(f(&[("Groups", list(&["g"])), ("EventType", list(&["quote"])), ("Topic", list(&["eur"]))])
            .matches(&group_event));
        assert!(!types.matches(&group_event), "not a member");
    }

    #[test]
    fn omna_codes_map_to_urns() {
        assert_eq!(app_id_urn(0x04), "x-wap-application:mms.ua");
        assert_eq!(app_id_urn(0x8002), "x-wap-docomo:imode.mail.ua");
        assert_eq!(app_id_urn(0x0B), "x-wap-application:11");
        assert_eq!(normalize_app_id("7"), "x-wap-application:syncml.dm");
        assert_eq!(normalize_app_id("0x8010"), "x-wap-openwave:iota.ua");
        assert_eq!(normalize_app_id("x-oma-application:sse.ticker"), "x-oma-application:sse.ticker");
    }
}
