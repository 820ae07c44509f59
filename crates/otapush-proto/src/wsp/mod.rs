//! WSP connectionless Push and ConfirmedPush PDUs (WAP-230 §8.2.4.1) and the OMNA tables.
//!
//! [`parse`] turns the payload of a WDP datagram into a [`PushPdu`]: the content type and
//! its parameters, every header as a readable `(name, value)` pair, and the body, borrowed.
//! [`encode::encode`] builds the same PDUs for tests and `otapushctl encode push`.
//!
//! Decisions where the specification leaves room:
//! - An unknown content type code does not fail the push: it prints as
//!   `application/x-wsp-0xNN` (see [`content_type::unknown_media_name`]).
//! - Dates print as HTTP-dates (`Sun, 06 Nov 1994 08:49:37 GMT`), as HTTP header values do.
//! - Unknown well-known header codes print as `x-wsp-header-0xNN` with the hex of the
//!   value's octets; application (text) headers are kept as sent.
//! - Content-Length is reported as sent, even when the body is longer or shorter.
//! - Strict where the input lies: HeadersLen past the end, a value running past the headers,
//!   text without NUL, and integer overflow are errors naming the offset.

mod basic;
pub mod content_type;
pub mod encode;
mod error;
mod headers;
pub(crate) mod http_date;
pub mod tables;
mod values;

pub use error::WspError;

/// A date header value as this module prints it (an IMF-fixdate, RFC 9110 §5.6.7) back to
/// seconds since 1970-01-01 UTC (e.g. `Expires`, WAP-230 §8.4.2.27).
pub fn date_value_secs(s: &str) -> Option<u64> {
    http_date::parse(s)
}

use basic::Reader;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// A `(name, value)` pair of a header or parameter: borrowed from the PDU or a table where
/// possible, owned where the value had to be rendered (numbers, dates, hex).
pub type Pair<'a> = (Cow<'a, str>, Cow<'a, str>);

/// PDU type of a connectionless Push (WAP-230 Table 34).
pub const PDU_TYPE_PUSH: u8 = 0x06;
/// PDU type of a ConfirmedPush.
pub const PDU_TYPE_CONFIRMED_PUSH: u8 = 0x07;

/// Push or ConfirmedPush.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PduType {
    /// Push (0x06).
    Push,
    /// ConfirmedPush (0x07).
    ConfirmedPush,
}

impl PduType {
    /// The name in meta key `PduType` (docs/dbus-api.md): `push` or `confirmed-push`.
    pub fn as_str(self) -> &'static str {
        match self {
            PduType::Push => "push",
            PduType::ConfirmedPush => "confirmed-push",
        }
    }

    /// The PDU type octet.
    pub fn code(self) -> u8 {
        match self {
            PduType::Push => PDU_TYPE_PUSH,
            PduType::ConfirmedPush => PDU_TYPE_CONFIRMED_PUSH,
        }
    }

    /// The PDU type of an octet; `None` for the other types.
    pub fn from_code(code: u8) -> Option<PduType> {
        match code {
            PDU_TYPE_PUSH => Some(PduType::Push),
            PDU_TYPE_CONFIRMED_PUSH => Some(PduType::ConfirmedPush),
            _ => None,
        }
    }
}

/// A decoded Push or ConfirmedPush PDU. Text is borrowed from the PDU or the tables where it
/// can be (`Cow`), so decoding a typical push allocates once (the header list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushPdu<'a> {
    /// Transaction id.
    pub tid: u8,
    /// Push or ConfirmedPush.
    pub pdu_type: PduType,
    /// The media type, without parameters.
    pub content_type: Cow<'a, str>,
    /// The content type's parameters, in wire order.
    pub content_type_params: Vec<Pair<'a>>,
    /// X-Wap-Application-Id (the first one) as a URN or URI; `None` when absent.
    pub app_id: Option<Cow<'a, str>>,
    /// Every header in wire order, including X-Wap-Application-Id.
    pub headers: Vec<Pair<'a>>,
    /// The data after the headers.
    pub body: &'a [u8],
    /// The octets HeadersLen covers: the content type and the headers.
    pub headers_raw: &'a [u8],
}

impl PushPdu<'_> {
    /// The application id, or `x-wap-application:wml.ua`, the WAP default for a push without
    /// X-Wap-Application-Id (WAP-235 §7.1; filter key `ApplicationId`, docs/dbus-api.md).
    pub fn app_id_or_default(&self) -> &str {
        self.app_id.as_deref().unwrap_or(tables::DEFAULT_APP_ID)
    }

    /// The first header of that name (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_ref())
    }

    /// Headers as a map; values of repeated names are joined with `, ` (RFC 9110 §5.3).
    pub fn headers_map(&self) -> BTreeMap<String, String> {
        join_pairs(&self.headers)
    }

    /// Content-type parameters as a map; repeated names are joined with `, `.
    pub fn content_type_params_map(&self) -> BTreeMap<String, String> {
        join_pairs(&self.content_type_params)
    }
}

fn join_pairs(pairs: &[Pair<'_>]) -> BTreeMap<String, String> {
    let mut m: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in pairs {
        m.entry(k.to_string())
            .and_modify(|e| {
                e.push_str(", ");
                e.push_str(v);
            })
            .or_insert_with(|| v.to_string());
    }
    m
}

/// Whether `pdu` starts like a Push or ConfirmedPush (octet 1 is 0x06 or 0x07).
pub fn looks_like_push(pdu: &[u8]) -> bool {
    pdu.get(1).copied().and_then(PduType::from_code).is_some()
}

/// Parses a connectionless Push or ConfirmedPush PDU (WAP-230 §8.2.4.1): TID, PDU type,
/// HeadersLen (uintvar), Content-Type and headers within HeadersLen, then the body.
pub fn parse(pdu: &[u8]) -> Result<PushPdu<'_>, WspError> {
    let mut r = Reader::new(pdu, 0);
    let tid = r.u8("TID")?;
    let type_octet = r.u8("PDU type")?;
    let pdu_type = PduType::from_code(type_octet).ok_or(WspError::NotPush { pdu_type: type_octet })?;
    let len_at = r.offset();
    let len = r.uintvar("HeadersLen")?;
    let available = r.rest().len();
    let mut region = r.sub(len as usize, "headers").map_err(|_| WspError::HeadersPastEnd {
        offset: len_at,
        len,
        available,
    })?;
    let headers_raw = region.rest();
    let ct = content_type::decode(&mut region)?;
    let mut headers = Vec::new();
    let app_id_at = headers::decode(&mut region, &mut headers)?;
    let app_id = app_id_at.and_then(|i| headers.get(i)).map(|(_, v)| v.clone());
    Ok(PushPdu {
        tid,
        pdu_type,
        content_type: ct.media,
        content_type_params: ct.params,
        app_id,
        headers,
        body: r.rest(),
        headers_raw,
    })
}

#[cfg(any(test, feature = "test-vectors"))]
pub mod vectors;
