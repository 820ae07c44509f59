//! The routing keys a message carries beyond its bytes: its application id (WAP-230
//! Appendix A, WAP-235 §7.1), its media type's essence (RFC 9110 §8.3.1) and its event type
//! (HTML §9.2.6). Filters, routes and the receive path compare by these.

use crate::message::{Kind, Message};

/// The application id of a WAP Push without `X-Wap-Application-Id` (WAP-235: the WML user agent).
pub const DEFAULT_APP_ID: &str = crate::wsp::tables::DEFAULT_APP_ID;

/// An event's type as EventSource dispatches it: `message` when it has no `event:` field (HTML
/// §9.2.6).
pub fn event_type_name(t: &str) -> &str {
    if t.is_empty() {
        "message"
    } else {
        t
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
