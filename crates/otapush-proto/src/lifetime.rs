//! The lifetime a push gives itself (pure): WSP `Expires` (WAP-230 §8.4.2.27) and a Service
//! Indication's `si-expires`, `si-id`, `created` and `action` (WAP-167 §6.2, §6.3). Routing
//! bounds the queue entry by it; the store applies the SI ordering to queued SIs
//! (docs/wap-push.md, "Expiry and Service Indications").

use crate::message::Message;
use crate::si::{self, Action};

/// The content type of a WBXML Service Indication (WAP-167 §8.1).
pub const SIC: &str = "application/vnd.wap.sic";

/// What a queued SI with the same [`SiOrder::key`] is to a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiOrder {
    /// The application id (lower case) and the `si-id`: SIs of one key replace each other.
    pub key: String,
    /// `created`, Unix ms.
    pub created_ms: Option<u64>,
    /// `action="delete"`.
    pub delete: bool,
}

/// The lifetime attributes of a push.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Lifetime {
    /// The earliest of `Expires` and `si-expires`, Unix ms.
    pub expires_ms: Option<u64>,
    /// Present for an SI with an `si-id` (or an `href` standing in for it).
    pub si: Option<SiOrder>,
}

/// Reads the lifetime of `m`. An SI body that does not decode gives none of its attributes
/// (the push is still delivered, as any other content).
pub fn lifetime(m: &Message) -> Lifetime {
    let expires = m
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Expires"))
        .and_then(|(_, v)| crate::wsp::date_value_secs(v))
        .map(|s| s.saturating_mul(1000));
    let mut out = Lifetime { expires_ms: expires, si: None };
    if m.event.is_none() && m.content_type.eq_ignore_ascii_case(SIC) {
        if let Ok(sic) = si::decode(&m.body) {
            let si_expires = sic.expires.map(|s| s.saturating_mul(1000));
            out.expires_ms = match (out.expires_ms, si_expires) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            out.si = sic.si_id.map(|id| SiOrder {
                key: format!(
                    "{}\n{id}",
                    crate::push_meta::effective_app_id(m).unwrap_or("").to_ascii_lowercase()
                ),
                created_ms: sic.created.map(|s| s.saturating_mul(1000)),
                delete: sic.action == Action::Delete,
            });
        }
    }
    out
}

/// Whether a new SI takes the place of a queued one of the same key (WAP-167 §6.2): unless
/// both carry `created` and the new one's is earlier (it arrived out of order, and is
/// discarded), it does; an equal `created` replaces too (the newest arrival wins).
pub fn supersedes(new_created_ms: Option<u64>, queued_created_ms: Option<u64>) -> bool {
    match (new_created_ms, queued_created_ms) {
        (Some(new), Some(old)) => new >= old,
        _ => true,
    }
}

/// A WBXML SI with `si-id`, OPAQUE `created`/`si-expires` (omitted when empty) and an `action`
/// token; for tests (feature `test-vectors` in the daemon crate's), not an API.
#[cfg(any(test, feature = "test-vectors"))]
pub fn test_sic(si_id: &str, created: &[u8], expires: &[u8], action: u8) -> Vec<u8> {
    let mut d = vec![0x03, 0x05, 0x6A, 0x00, 0x45, 0x86, 0x11, 0x03];
    d.extend_from_slice(si_id.as_bytes());
    d.push(0);
    if !created.is_empty() {
        d.extend_from_slice(&[0x0A, 0xC3, created.len() as u8]);
        d.extend_from_slice(created);
    }
    if !expires.is_empty() {
        d.extend_from_slice(&[0x10, 0xC3, expires.len() as u8]);
        d.extend_from_slice(expires);
    }
    d.extend_from_slice(&[action, 0x01, 0x01]);
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Kind, Source};

    /// A WAP Push for `x-wap-application:mms.ua` with no headers.
    fn msg() -> Message {
        Message {
            id: "m".into(),
            kind: Kind::WspPush,
            source: Source::Sms,
            originator: "+4915112345678".into(),
            sent_time: None,
            received_time: "2024-05-01T10:00:05+00:00".into(),
            application_id: Some("x-wap-application:mms.ua".into()),
            content_type: "application/vnd.wap.mms-message".into(),
            content_type_params: Default::default(),
            headers: Default::default(),
            transaction_id: Some(7),
            pdu_type: Some("push".into()),
            port: Some(2948),
            event: None,
            body: Vec::new(),
        }
    }

    #[test]
    fn expires_header_and_si_attributes() {
        let mut m = msg();
        assert_eq!(lifetime(&m), Lifetime::default());
        m.headers.insert("Expires".into(), "Sun, 06 Nov 1994 08:49:37 GMT".into());
        assert_eq!(lifetime(&m).expires_ms, Some(784_111_777_000));
        m.content_type = SIC.into();
        // 2026-11-21T09:30, si-expires 1994-01-01 (earlier than Expires), action=delete.
        m.body = test_sic("n1", &[0x20, 0x26, 0x11, 0x21, 0x09, 0x30], &[0x19, 0x94], 0x09);
        let l = lifetime(&m);
        assert_eq!(l.expires_ms, Some(757_382_400_000));
        assert_eq!(
            l.si,
            Some(SiOrder {
                key: "x-wap-application:mms.ua\nn1".into(),
                created_ms: Some(1_795_253_400_000),
                delete: true
            })
        );
        m.body.truncate(9);
        assert_eq!(lifetime(&m).si, None, "an SI that does not decode");
    }

    #[test]
    fn older_si_is_superseded_newer_is_not() {
        assert!(supersedes(Some(2), Some(1)));
        assert!(supersedes(Some(1), Some(1)));
        assert!(!supersedes(Some(1), Some(2)));
        assert!(supersedes(None, Some(2)) && supersedes(Some(1), None));
    }
}
