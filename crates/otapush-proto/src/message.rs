//! The unit of delivery: one push message, whatever path it came by (Push-CAI, docs/dbus-api.md).
//!
//! The receive path builds a [`Message`] from SMS or from an event stream; the daemon's `cai`
//! routes, queues and delivers it. Its `id` is derived from the message itself, so it is stable across
//! redeliveries, restarts and both paths.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What kind of SMS content a message is (filter key `Kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A WSP Push or ConfirmedPush PDU (WDP port 2948/2949, or on a port a registration's
    /// `Port` filter names, docs/wap-push.md).
    WspPush,
    /// A port-addressed datagram that is not WSP.
    Datagram,
    /// A plain text SMS.
    Text,
    /// An SMS-STATUS-REPORT.
    StatusReport,
}

impl Kind {
    /// The name of this kind (filter key and meta key `Kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::WspPush => "wsp_push",
            Kind::Datagram => "datagram",
            Kind::Text => "text",
            Kind::StatusReport => "status_report",
        }
    }

    /// Parses that name.
    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "wsp_push" => Kind::WspPush,
            "datagram" => Kind::Datagram,
            "text" => Kind::Text,
            "status_report" => Kind::StatusReport,
            _ => return None,
        })
    }
}

/// Which path a message arrived by (meta key `Source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// By SMS (TS 23.040), whatever it carried.
    Sms,
    /// From an `[[sse]]` event stream over HTTP (HTML §9.2).
    Sse,
}

impl Source {
    /// The name of this source (meta key `Source`).
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Sms => "sms",
            Source::Sse => "sse",
        }
    }
}

/// Event-stream fields of a message that is one event (meta keys `Stream`, `EventType`, `EventId`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EventInfo {
    /// The `[[sse]]` stream name, or empty when an SMS event matched no configured stream.
    pub stream: String,
    /// The event's type (`message` when its block names none).
    pub event_type: String,
    /// The event's last-event-id (may be empty).
    pub event_id: String,
}

/// One push message, ready for routing. Every field maps to one `meta` key of `Deliver`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Stable id (lower-case hex), derived from the content; see [`sms_message_id`] and [`event_message_id`].
    pub id: String,
    /// What kind of content it is.
    pub kind: Kind,
    /// Which path it came by.
    pub source: Source,
    /// The originating address (SMS) or the stream URL (SSE).
    pub originator: String,
    /// RFC 3339 with offset (SMS service-centre time stamp), if known.
    pub sent_time: Option<String>,
    /// RFC 3339, when otapush received it.
    pub received_time: String,
    /// Application id URN (`x-wap-application:wml.ua` when a push has none).
    pub application_id: Option<String>,
    /// The body's media type, without parameters.
    pub content_type: String,
    /// The content type's parameters (a repeated name's values joined with `, `).
    pub content_type_params: BTreeMap<String, String>,
    /// The WSP headers of a push (a repeated name's values joined with `, `).
    pub headers: BTreeMap<String, String>,
    /// The WSP transaction id (TID) of a push.
    pub transaction_id: Option<u8>,
    /// `push` or `confirmed-push`.
    pub pdu_type: Option<String>,
    /// WDP destination port.
    pub port: Option<u16>,
    /// Its event-stream fields, when it is one event.
    pub event: Option<EventInfo>,
    /// The body (an event's data, UTF-8).
    pub body: Vec<u8>,
}

/// The SMS transport facts of a completed message: what its id and its transport meta keys
/// derive from (TS 23.040 §9.2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsOrigin {
    /// TP-OA (TP-RA for a status report).
    pub originator: String,
    /// TP-SCTS of the first segment, RFC 3339.
    pub sent_time: Option<String>,
    /// The concatenation reference of a message of several segments (TP-MR for a status report).
    pub reference: Option<u16>,
    /// WDP destination port.
    pub port: Option<u16>,
    /// RFC 3339, when otapush received it.
    pub received_time: String,
}

/// The content type of a text message's body.
pub const TEXT_PLAIN: &str = "text/plain; charset=utf-8";
/// The content type of a binary datagram's body.
pub const OCTET_STREAM: &str = "application/octet-stream";
/// The content type of a status report's body (a JSON object).
pub const STATUS_REPORT_JSON: &str = "application/json";
/// The content type of an event stream (HTML §9.2).
pub const EVENT_STREAM: &str = "text/event-stream";

impl Message {
    /// A message that came by SMS; `payload` is the reassembled user data its id derives from.
    fn sms(kind: Kind, origin: &SmsOrigin, payload: &[u8], content_type: &str, body: Vec<u8>) -> Message {
        Message {
            id: sms_message_id(&origin.originator, origin.sent_time.as_deref(), origin.reference, payload),
            kind,
            source: Source::Sms,
            originator: origin.originator.clone(),
            sent_time: origin.sent_time.clone(),
            received_time: origin.received_time.clone(),
            application_id: None,
            content_type: content_type.into(),
            content_type_params: BTreeMap::new(),
            headers: BTreeMap::new(),
            transaction_id: None,
            pdu_type: None,
            port: origin.port,
            event: None,
            body,
        }
    }

    /// A message whose id derives from its body.
    fn sms_body(kind: Kind, origin: &SmsOrigin, content_type: &str, body: Vec<u8>) -> Message {
        let mut m = Message::sms(kind, origin, &body, content_type, Vec::new());
        m.body = body;
        m
    }

    /// An SMS-STATUS-REPORT; `body` is its JSON object (its id derives from that).
    pub fn status_report(origin: &SmsOrigin, body: Vec<u8>) -> Message {
        Message::sms_body(Kind::StatusReport, origin, STATUS_REPORT_JSON, body)
    }

    /// A plain text SMS (UTF-8).
    pub fn text(origin: &SmsOrigin, text: Vec<u8>) -> Message {
        Message::sms_body(Kind::Text, origin, TEXT_PLAIN, text)
    }

    /// A port-addressed datagram that is not WSP, or a binary SMS; `text` when its user data
    /// was text.
    pub fn datagram(origin: &SmsOrigin, data: Vec<u8>, text: bool) -> Message {
        let content_type = if text { TEXT_PLAIN } else { OCTET_STREAM };
        Message::sms_body(Kind::Datagram, origin, content_type, data)
    }

    /// A WSP Push or ConfirmedPush (WAP-230 §8.2.4.1) carried by `datagram`. A push without
    /// X-Wap-Application-Id gets the WAP default (WAP-235 §7.1).
    pub fn wsp_push(origin: &SmsOrigin, datagram: &[u8], push: &crate::wsp::PushPdu<'_>) -> Message {
        let mut m = Message::sms(Kind::WspPush, origin, datagram, &push.content_type, push.body.to_vec());
        m.application_id = Some(push.app_id_or_default().to_string());
        m.content_type_params = push.content_type_params_map();
        m.headers = push.headers_map();
        m.transaction_id = Some(push.tid);
        m.pdu_type = Some(push.pdu_type.as_str().to_string());
        m
    }

    /// Event `index` of the event stream `push` carried by SMS (`stream`: the `[[sse]]` name
    /// of its application id, or empty).
    pub fn sms_event(push: &Message, stream: &str, index: usize, ev: &crate::sse::Event) -> Message {
        let app_id = push.application_id.as_deref().unwrap_or("");
        let mut m = push.clone();
        m.id = event_id(app_id, ev, &format!("{}#{index}", push.id));
        m.body = ev.data.as_bytes().to_vec();
        m.event = Some(EventInfo::new(stream, ev));
        m
    }

    /// An event read from the `[[sse]]` stream `stream` at `url`. `fallback` names an event
    /// without an id of its own.
    pub fn stream_event(
        application_id: &str,
        stream: &str,
        url: &str,
        ev: &crate::sse::Event,
        fallback: &str,
        received_time: String,
    ) -> Message {
        Message {
            id: event_id(application_id, ev, fallback),
            kind: Kind::WspPush,
            source: Source::Sse,
            originator: url.to_string(),
            sent_time: None,
            received_time,
            application_id: Some(application_id.to_string()),
            content_type: EVENT_STREAM.into(),
            content_type_params: BTreeMap::new(),
            headers: BTreeMap::new(),
            transaction_id: None,
            pdu_type: None,
            port: None,
            event: Some(EventInfo::new(stream, ev)),
            body: ev.data.as_bytes().to_vec(),
        }
    }
}

impl EventInfo {
    fn new(stream: &str, ev: &crate::sse::Event) -> EventInfo {
        EventInfo { stream: stream.to_string(), event_type: ev.event_type.clone(), event_id: ev.id.clone() }
    }
}

/// A WSP Push from `+1` with only an application id, a content type and a port: the fixture the
/// filter tests of both crates share (feature `test-vectors` in the daemon crate's), not an API.
#[cfg(any(test, feature = "test-vectors"))]
pub fn test_push(app: Option<&str>, content_type: &str, port: Option<u16>) -> Message {
    Message {
        id: "x".into(),
        kind: Kind::WspPush,
        source: Source::Sms,
        originator: "+1".into(),
        sent_time: None,
        received_time: "t".into(),
        application_id: app.map(Into::into),
        content_type: content_type.into(),
        content_type_params: Default::default(),
        headers: Default::default(),
        transaction_id: None,
        pdu_type: None,
        port,
        event: None,
        body: vec![],
    }
}

/// An event of type `event_type` from stream `t` of `x-oma-application:sse.ticker`, with `data`
/// as its body: [`test_push`]'s counterpart for events (tests only, not an API).
#[cfg(any(test, feature = "test-vectors"))]
pub fn test_event(event_type: &str, data: &str) -> Message {
    let mut m = test_push(Some("x-oma-application:sse.ticker"), "text/event-stream", None);
    m.event = Some(EventInfo { stream: "t".into(), event_type: event_type.into(), event_id: "1".into() });
    m.body = data.as_bytes().to_vec();
    m
}

/// The one "own id" rule for both paths: an event whose block names an id, even the previous
/// one again, is that event; one that only inherited its id (it persists across events, HTML
/// §9.2.6) does not name this event, so it gets an id of its own from `fallback`.
fn event_id(application_id: &str, ev: &crate::sse::Event, fallback: &str) -> String {
    let own_id = if ev.own_id { ev.id.as_str() } else { "" };
    event_message_id(application_id, own_id, fallback)
}

use sha2::{Digest, Sha256};

fn digest_hex(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        // Length-prefix every part, so ("ab","c") and ("a","bc") differ.
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    crate::hex::encode_lower(&h.finalize()[..16])
}

/// The id of a message that came by SMS: the same originator, service-centre time stamp,
/// concatenation reference and payload give the same id (docs/architecture.md, Ids and dedup).
pub fn sms_message_id(
    originator: &str,
    sent_time: Option<&str>,
    reference: Option<u16>,
    payload: &[u8],
) -> String {
    let r = reference.map(|r| r.to_be_bytes()).unwrap_or([0xff, 0xff]);
    digest_hex(&[b"sms", originator.as_bytes(), sent_time.unwrap_or("").as_bytes(), &r, payload])
}

/// The id of one event of an event stream. With a non-empty event id it depends only on the
/// application id (case-insensitive, as routes and filters compare it) and the event id, so the
/// same event gets the same id over HTTP and over SMS. Without one, `fallback` (e.g. the
/// carrying message's id and the event's index) makes it unique.
pub fn event_message_id(application_id: &str, event_id: &str, fallback: &str) -> String {
    let app = application_id.to_ascii_lowercase();
    if event_id.is_empty() {
        digest_hex(&[b"event-anon", app.as_bytes(), fallback.as_bytes()])
    } else {
        digest_hex(&[b"event", app.as_bytes(), event_id.as_bytes()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = sms_message_id("+4912345", Some("2024-01-01T00:00:00+01:00"), Some(7), b"abc");
        assert_eq!(a, sms_message_id("+4912345", Some("2024-01-01T00:00:00+01:00"), Some(7), b"abc"));
        assert_eq!(a.len(), 32);
        assert_ne!(a, sms_message_id("+4912345", Some("2024-01-01T00:00:00+01:00"), Some(8), b"abc"));
        assert_ne!(a, sms_message_id("+4912345", None, Some(7), b"abc"));
        let e = event_message_id("x-oma-application:sse.ticker", "42", "ignored");
        assert_eq!(e, event_message_id("x-oma-application:sse.ticker", "42", "other"));
        assert_ne!(e, event_message_id("x-oma-application:sse.ticker", "", "a"));
        assert_ne!(event_message_id("x", "", "a"), event_message_id("x", "", "b"));
        assert_eq!(e, event_message_id("X-OMA-Application:SSE.Ticker", "42", ""), "the URN's case");
    }
}
