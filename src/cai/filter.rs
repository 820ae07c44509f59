//! Registration filters (docs/dbus-api.md, Register): parsed from the `a{sv}` of `Register`,
//! matched against messages, stored as JSON, listed back as `a{sv}`.

use super::activation::{check_service_name, check_unit_name, Target};
use crate::message::{Kind, Message};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use thiserror::Error;
use zbus::zvariant::{OwnedValue, Str, Value};

/// The application id of a WAP Push without `X-Wap-Application-Id` (WAP-235: the WML user agent).
pub const DEFAULT_APP_ID: &str = crate::wsp::tables::DEFAULT_APP_ID;
/// OMNA code 0x00: the wildcard application id; as a filter it matches any application id.
pub const WILDCARD_APP_ID: &str = "x-wap-application:*";
/// `QueueTtl` when a filter gives none (seconds).
pub const DEFAULT_QUEUE_TTL: u32 = 86_400;
/// The largest `QueueTtl` accepted (one year).
pub const MAX_QUEUE_TTL: u32 = 365 * 86_400;
/// The longest string accepted in a filter.
const MAX_STRING: usize = 256;

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

    /// Whether a message passes every key of the filter.
    pub fn matches(&self, m: &Message) -> bool {
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

/// The application id a message is routed by: its own, or for a WAP Push without one the
/// WAP default ([`DEFAULT_APP_ID`]). Text, datagrams and status reports have none.
pub fn effective_app_id(m: &Message) -> Option<&str> {
    match (&m.application_id, m.kind) {
        (Some(a), _) => Some(a),
        (None, Kind::WspPush) => Some(DEFAULT_APP_ID),
        (None, _) => None,
    }
}

/// Maps a numeric filter value (`4`, `0x04`, `0x8002`) to its URN; other text is kept.
pub fn normalize_app_id(s: &str) -> String {
    let code = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => s.parse::<u32>().ok(),
    };
    match code {
        Some(c) => app_id_urn(c),
        None => s.to_string(),
    }
}

/// The URN of an OMNA Push Application ID code (WAP-230 Appendix A, OMNA registry); an unknown
/// code becomes `x-wap-application:<decimal>` (docs/dbus-api.md, Register).
pub fn app_id_urn(code: u32) -> String {
    match crate::wsp::tables::app_id_name(u64::from(code)) {
        Some(urn) => urn.to_string(),
        None => format!("x-wap-application:{code}"),
    }
}

/// The media type without parameters, trimmed and lower case (RFC 9110 §8.3.1: case-insensitive).
pub fn essence(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
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
