//! The unit of delivery: one push message, whatever path it came by (Push-CAI, docs/dbus-api.md).
//!
//! The receive path builds a [`Message`] from SMS or from an event stream; `cai` routes, queues
//! and delivers it. Its `id` is derived from the message itself, so it is stable across
//! redeliveries, restarts and both paths.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What kind of SMS content a message is (filter key `Kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A WSP Push or ConfirmedPush PDU (WDP port 2948/2949, or a WSP PDU on another port).
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
    Sms,
    Sse,
}

impl Source {
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
    pub event_type: String,
    /// The event's last-event-id (may be empty).
    pub event_id: String,
}

/// One push message, ready for routing. Every field maps to one `meta` key of `Deliver`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Stable id (lower-case hex), derived from the content; see [`crate::cai`] for the rule.
    pub id: String,
    pub kind: Kind,
    pub source: Source,
    /// The originating address (SMS) or the stream URL (SSE).
    pub originator: String,
    /// RFC 3339 with offset (SMS service-centre time stamp), if known.
    pub sent_time: Option<String>,
    /// RFC 3339, when otapush received it.
    pub received_time: String,
    /// Application id URN (`x-wap-application:wml.ua` when a push has none).
    pub application_id: Option<String>,
    pub content_type: String,
    pub content_type_params: BTreeMap<String, String>,
    pub headers: BTreeMap<String, String>,
    pub transaction_id: Option<u8>,
    /// `push` or `confirmed-push`.
    pub pdu_type: Option<String>,
    /// WDP destination port.
    pub port: Option<u16>,
    pub event: Option<EventInfo>,
    pub body: Vec<u8>,
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
/// application id and the event id, so the same event gets the same id over HTTP and over SMS.
/// Without one, `fallback` (e.g. the carrying message's id and the event's index) makes it unique.
pub fn event_message_id(application_id: &str, event_id: &str, fallback: &str) -> String {
    if event_id.is_empty() {
        digest_hex(&[b"event-anon", application_id.as_bytes(), fallback.as_bytes()])
    } else {
        digest_hex(&[b"event", application_id.as_bytes(), event_id.as_bytes()])
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
    }
}
