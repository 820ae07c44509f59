//! otapush's protocol cores, pure: bytes and time in (as values), values out. No I/O, no clock
//! reads, no async runtime; the daemon crate (`otapush`) holds the shells around them.
//!
//! ```text
//! sms (TS 23.040 / TS 23.038) → wdp (WAP-259) → wsp (WAP-230) → si (WAP-167)
//! sse (WHATWG HTML §9.2): the event-stream parser, policy and status
//! lifetime: a push's own expiry and SI ordering (WAP-230 Expires, WAP-167 §6.2)
//! message: the unit of delivery (one push, by SMS or event stream) and its stable id
//! push_meta: a message's routing keys (application id, media type essence, event type)
//! filter: a registration's filter keys, a message's address (topic, groups) and matching
//! access: who may call privileged methods, receive an application id, send to it
//! disposition: what routing decides for one message (queues, dead letter, discard)
//! route: which queues one message goes to (filter + access → disposition)
//! receive: raw SMS PDUs → reassembled, decoded messages (sms → wdp → wsp → message)
//! push_encode: a WAP Push as SMS-DELIVER PDUs (sms + wsp encoders), for tests and otapushctl
//! modem::at (V.250, TS 27.007, TS 27.005): the AT engine; modem::pending: +CMTI to read
//! modem::intake (TS 27.005 §3): the SMS intake, from the modem to durable storage
//! hex, time, backoff: the helpers they share
//! ```
//!
//! The crate logs through the `log` facade (no I/O by itself: the daemon installs the logger),
//! as quinn-proto logs through `tracing`.
#![forbid(unsafe_code)]
#![warn(unreachable_pub, missing_docs)]

pub mod access;
pub mod backoff;
pub mod disposition;
pub mod filter;
pub mod hex;
pub mod lifetime;
pub mod message;
pub mod modem;
pub mod push_encode;
pub mod push_meta;
pub mod receive;
pub mod route;
pub mod si;
pub mod sms;
pub mod sse;
pub mod time;
pub mod wdp;
pub mod wsp;

/// Internals the fuzz harness (`fuzz/`) drives directly, with feature `fuzzing`. Not an API:
/// nothing else may depend on it.
#[cfg(feature = "fuzzing")]
pub mod fuzzing {
    /// `wsp::http_date::parse`: an IMF-fixdate (RFC 9110 §5.6.7) as seconds since the epoch.
    pub fn http_date_parse(s: &str) -> Option<u64> {
        crate::wsp::http_date::parse(s)
    }

    /// Panics unless `sms::view` and `sms::decode` agree on `pdu`: the same error, or a view
    /// whose owned form and borrowed accessors are the decoded PDU.
    pub fn sms_view_agrees(pdu: &[u8], with_smsc: bool) {
        crate::sms::view::assert_agrees(pdu, with_smsc)
    }

    /// `wsp::http_date::format`: seconds since the epoch as an IMF-fixdate.
    pub fn http_date_format(secs: u64) -> String {
        crate::wsp::http_date::format(secs)
    }
}
