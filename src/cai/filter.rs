//! Registration filters as D-Bus values (docs/dbus-api.md, Register): [`FilterDict`] parses a
//! [`Filter`] from the `a{sv}` of `Register` and lists it back. The filter itself, its
//! [`Address`] and the matching rules are pure: `otapush_proto::filter`.

use super::activation::{check_service_name, check_unit_name};
use crate::message::Kind;
use std::collections::HashMap;
use zbus::zvariant::{OwnedValue, Str, Value};

pub use otapush_proto::filter::{
    parse_content_type, Address, Filter, FilterError, Target, DEFAULT_QUEUE_TTL, GROUP_HEADER, MAX_LIST,
    MAX_QUEUE_TTL, MAX_STRING, TOPIC_HEADER, WILDCARD_APP_ID,
};
pub use otapush_proto::push_meta::{
    app_id_urn, effective_app_id, essence, event_type_name, normalize_app_id, DEFAULT_APP_ID,
};

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

/// A [`Filter`] as the `a{sv}` of `Register` and `ListRegistrations`.
pub trait FilterDict: Sized {
    /// Parses and checks the `filter` argument of `Register`.
    fn from_dict(dict: &HashMap<String, OwnedValue>) -> Result<Self, FilterError>;
    /// The filter as `a{sv}`, with the keys it was given (values normalized).
    fn to_dict(&self) -> HashMap<String, OwnedValue>;
}

impl FilterDict for Filter {
    fn from_dict(dict: &HashMap<String, OwnedValue>) -> Result<Self, FilterError> {
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

    fn to_dict(&self) -> HashMap<String, OwnedValue> {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;

    fn dict(entries: &[(&str, Value<'static>)]) -> HashMap<String, OwnedValue> {
        entries.iter().map(|(k, v)| (k.to_string(), v.try_to_owned().unwrap())).collect()
    }

    fn push(app: Option<&str>, ct: &str, port: Option<u16>) -> Message {
        crate::message::test_push(app, ct, port)
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
        crate::message::test_event(event_type, data)
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
