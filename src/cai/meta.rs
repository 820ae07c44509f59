//! The `meta` dictionary of `Deliver` and `PushReceived` (docs/dbus-api.md, meta keys): only the keys
//! a message has.

use super::filter::effective_app_id;
use super::lifetime::lifetime;
use crate::message::Message;
use std::collections::{BTreeMap, HashMap};
use zbus::zvariant::Value;

fn string_map(m: &BTreeMap<String, String>) -> Value<'_> {
    Value::from(m.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect::<HashMap<&str, &str>>())
}

/// Builds `meta` borrowing from the message.
pub fn meta(m: &Message) -> HashMap<&'static str, Value<'_>> {
    let mut d: HashMap<&'static str, Value<'_>> = HashMap::with_capacity(16);
    d.insert("Source", Value::from(m.source.as_str()));
    d.insert("Kind", Value::from(m.kind.as_str()));
    if !m.originator.is_empty() {
        d.insert("Originator", Value::from(m.originator.as_str()));
    }
    if let Some(t) = &m.sent_time {
        d.insert("SentTime", Value::from(t.as_str()));
    }
    d.insert("ReceivedTime", Value::from(m.received_time.as_str()));
    if let Some(a) = effective_app_id(m) {
        d.insert("ApplicationId", Value::from(a));
    }
    if !m.content_type.is_empty() {
        d.insert("ContentType", Value::from(m.content_type.as_str()));
    }
    if !m.content_type_params.is_empty() {
        d.insert("ContentTypeParams", string_map(&m.content_type_params));
    }
    if !m.headers.is_empty() {
        d.insert("Headers", string_map(&m.headers));
    }
    if let Some(t) = m.transaction_id {
        d.insert("TransactionId", Value::U8(t));
    }
    if let Some(p) = &m.pdu_type {
        d.insert("PduType", Value::from(p.as_str()));
        // WAP-230 §8.2.4.1: over connectionless SMS no confirmation can be sent (docs/wap-push.md).
        if p == otapush_proto::wsp::PduType::ConfirmedPush.as_str() {
            d.insert("Confirmed", Value::Bool(true));
        }
    }
    if let Some(p) = m.port {
        d.insert("Port", Value::U16(p));
    }
    if let Some(e) = lifetime(m).expires_ms {
        d.insert("Expires", Value::from(crate::time::format_unix_ms(e)));
    }
    if let Some(e) = &m.event {
        for (key, v) in [("Stream", &e.stream), ("EventType", &e.event_type), ("EventId", &e.event_id)] {
            if !v.is_empty() {
                d.insert(key, Value::from(v.as_str()));
            }
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{EventInfo, Kind, Source};

    #[test]
    fn keys_and_types_follow_the_contract() {
        let m = crate::store::test_message("m", b"x");
        let d = meta(&m);
        let sig = |k: &str| d.get(k).map(|v| v.value_signature().to_string());
        assert_eq!(sig("Source").as_deref(), Some("s"));
        assert_eq!(d["Source"], Value::from("sms"));
        assert_eq!(d["Kind"], Value::from("wsp_push"));
        assert_eq!(d["Originator"], Value::from("+4915112345678"));
        assert_eq!(d["SentTime"], Value::from("2024-05-01T12:00:00+02:00"));
        assert_eq!(d["ApplicationId"], Value::from("x-wap-application:mms.ua"));
        assert_eq!(sig("ContentTypeParams").as_deref(), Some("a{ss}"));
        assert_eq!(sig("Headers").as_deref(), Some("a{ss}"));
        assert_eq!(d["TransactionId"], Value::U8(7));
        assert_eq!(d["PduType"], Value::from("push"));
        assert_eq!(d["Port"], Value::U16(2948));
        assert!(!d.contains_key("Stream"));
        assert!(!d.contains_key("Confirmed") && !d.contains_key("Expires"));
        assert_eq!(d.len(), 12);
    }

    #[test]
    fn confirmed_push_and_expires() {
        let mut m = crate::store::test_message("m", b"x");
        m.pdu_type = Some("confirmed-push".into());
        m.headers.insert("Expires".into(), "Sun, 06 Nov 1994 08:49:37 GMT".into());
        let d = meta(&m);
        assert_eq!(d["Confirmed"], Value::Bool(true));
        assert_eq!(d["Expires"], Value::from("1994-11-06T08:49:37+00:00"));
        // An SI's si-expires (1994-01-01) is earlier, so it is the push's expiry.
        m.content_type = super::super::lifetime::SIC.into();
        m.body = super::super::lifetime::test_sic("n1", &[0x20, 0x26], &[0x19, 0x94], 0x07);
        assert_eq!(meta(&m)["Expires"], Value::from("1994-01-01T00:00:00+00:00"));
    }

    #[test]
    fn absent_fields_are_absent_and_wap_default_applies() {
        let mut m = crate::store::test_message("m", b"x");
        m.application_id = None;
        m.sent_time = None;
        m.content_type_params.clear();
        m.headers.clear();
        m.transaction_id = None;
        m.pdu_type = None;
        m.port = None;
        let d = meta(&m);
        assert_eq!(d["ApplicationId"], Value::from("x-wap-application:wml.ua"));
        assert_eq!(d.len(), 6, "{d:?}");
        m.kind = Kind::Text;
        assert!(!meta(&m).contains_key("ApplicationId"));
        m.source = Source::Sse;
        m.event =
            Some(EventInfo { stream: "ticker".into(), event_type: "tick".into(), event_id: String::new() });
        let d = meta(&m);
        assert_eq!(
            (d["Stream"].clone(), d["EventType"].clone()),
            (Value::from("ticker"), Value::from("tick"))
        );
        assert!(!d.contains_key("EventId"));
        assert_eq!(d["Source"], Value::from("sse"));
    }
}
