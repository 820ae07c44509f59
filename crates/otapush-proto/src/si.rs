//! The attributes of a Service Indication (WAP-167, `application/vnd.wap.sic`) that decide
//! its lifetime: `si-id`, `created`, `si-expires` and `action` of its `indication` element.
//!
//! Tokens: WAP-167 §8.3 (tag and attribute code page 0) over WBXML (WAP-192 §5). Dates are
//! the OPAQUE datetime of WAP-167 §8.2.2 (14 BCD digits `YYYYMMDDhhmmss`, trailing zero
//! octets left out); a date sent as an inline string (`2026-11-21T09:30:00Z`) is read too.
//! Everything else of the document (href, text, `info` items) is left to the application.

use crate::time::days_from_civil;
use thiserror::Error;

/// WBXML global tokens (WAP-192 §7.1).
const SWITCH_PAGE: u8 = 0x00;
const END: u8 = 0x01;
const ENTITY: u8 = 0x02;
const STR_I: u8 = 0x03;
const LITERAL: u8 = 0x04;
const EXT_I_0: u8 = 0x40;
const EXT_I_2: u8 = 0x42;
const PI: u8 = 0x43;
const LITERAL_C: u8 = 0x44;
const EXT_T_0: u8 = 0x80;
const EXT_T_2: u8 = 0x82;
const STR_T: u8 = 0x83;
const LITERAL_A: u8 = 0x84;
const EXT_0: u8 = 0xC0;
const EXT_2: u8 = 0xC2;
const OPAQUE: u8 = 0xC3;
const LITERAL_AC: u8 = 0xC4;

/// The `indication` tag (WAP-167 §8.3.1).
const TAG_INDICATION: u8 = 0x06;

/// What an SI asks the device to do with it (`action`, WAP-167 §5.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `signal-none`.
    SignalNone,
    /// `signal-low`.
    SignalLow,
    /// `signal-medium` (the default).
    SignalMedium,
    /// `signal-high`.
    SignalHigh,
    /// `delete`: remove the stored SI with the same `si-id`.
    Delete,
}

/// The lifetime attributes of one SI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceIndication {
    /// `si-id`; WAP-167 §5.2.1 makes it default to `href`, which this also applies.
    pub si_id: Option<String>,
    /// `created`, seconds since 1970-01-01 UTC.
    pub created: Option<u64>,
    /// `si-expires`, seconds since 1970-01-01 UTC.
    pub expires: Option<u64>,
    /// `action`.
    pub action: Action,
}

/// Why an SI could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SiError {
    /// The document ends inside a token.
    #[error("SI truncated at offset {0}")]
    Truncated(usize),
    /// A multi-byte integer longer than 32 bits.
    #[error("SI integer overflow at offset {0}")]
    Overflow(usize),
    /// No `indication` element.
    #[error("SI without an indication element")]
    NoIndication,
    /// `created` or `si-expires` is not a datetime.
    #[error("SI {attribute} is not a datetime")]
    BadDate {
        /// The attribute.
        attribute: &'static str,
    },
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Result<u8, SiError> {
        let v = *self.b.get(self.at).ok_or(SiError::Truncated(self.at))?;
        self.at += 1;
        Ok(v)
    }

    /// mb_u_int32 (WAP-192 §5.1).
    fn mb(&mut self) -> Result<u32, SiError> {
        let start = self.at;
        let mut v: u32 = 0;
        for _ in 0..5 {
            let o = self.u8()?;
            v = v.checked_mul(128).ok_or(SiError::Overflow(start))? | u32::from(o & 0x7F);
            if o & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(SiError::Overflow(start))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], SiError> {
        let end =
            self.at.checked_add(n).filter(|e| *e <= self.b.len()).ok_or(SiError::Truncated(self.b.len()))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn cstr(&mut self) -> Result<&'a [u8], SiError> {
        let rest = &self.b[self.at..];
        let n = rest.iter().position(|c| *c == 0).ok_or(SiError::Truncated(self.b.len()))?;
        let s = &rest[..n];
        self.at += n + 1;
        Ok(s)
    }
}

/// The string-table entry at `index` (NUL-terminated).
fn table_str(table: &[u8], index: u32, at: usize) -> Result<&[u8], SiError> {
    let rest = table.get(index as usize..).ok_or(SiError::Truncated(at))?;
    Ok(&rest[..rest.iter().position(|c| *c == 0).unwrap_or(rest.len())])
}

/// An attribute value as sent: text, or the octets of an OPAQUE.
#[derive(Default)]
struct Value {
    text: Vec<u8>,
    opaque: Option<Vec<u8>>,
}

/// Decodes the lifetime attributes of an SI document (`application/vnd.wap.sic`).
pub fn decode(doc: &[u8]) -> Result<ServiceIndication, SiError> {
    let mut r = Reader { b: doc, at: 0 };
    r.u8()?; // version
    if r.mb()? == 0 {
        r.mb()?; // public id as a string-table index
    }
    r.mb()?; // charset
    let len = r.mb()? as usize;
    let table = r.take(len)?;
    loop {
        let t = r.u8()?;
        match t {
            SWITCH_PAGE => {
                r.u8()?;
            }
            END => {}
            ENTITY | EXT_T_0..=EXT_T_2 | STR_T => {
                r.mb()?;
            }
            STR_I | EXT_I_0..=EXT_I_2 => {
                r.cstr()?;
            }
            EXT_0..=EXT_2 => {}
            OPAQUE => {
                let n = r.mb()? as usize;
                r.take(n)?;
            }
            PI => {
                attributes(&mut r, table)?;
            }
            _ => {
                if matches!(t, LITERAL | LITERAL_C | LITERAL_A | LITERAL_AC) {
                    r.mb()?;
                }
                let attrs = if t & 0x80 != 0 { attributes(&mut r, table)? } else { Vec::new() };
                if t & 0x3F == TAG_INDICATION && !matches!(t, LITERAL | LITERAL_C | LITERAL_A | LITERAL_AC) {
                    return indication(attrs);
                }
            }
        }
    }
}

/// Reads an attribute list up to its END: (attribute start token, value) pairs.
fn attributes(r: &mut Reader<'_>, table: &[u8]) -> Result<Vec<(u8, Value)>, SiError> {
    let mut out: Vec<(u8, Value)> = Vec::new();
    loop {
        let at = r.at;
        let t = r.u8()?;
        let cur = out.last_mut().map(|(_, v)| v);
        match t {
            END => return Ok(out),
            SWITCH_PAGE => {
                r.u8()?;
            }
            STR_I => {
                let s = r.cstr()?;
                if let Some(v) = cur {
                    v.text.extend_from_slice(s);
                }
            }
            STR_T => {
                let i = r.mb()?;
                let s = table_str(table, i, at)?;
                if let Some(v) = cur {
                    v.text.extend_from_slice(s);
                }
            }
            OPAQUE => {
                let n = r.mb()? as usize;
                let s = r.take(n)?;
                if let Some(v) = cur {
                    v.opaque = Some(s.to_vec());
                }
            }
            ENTITY | EXT_T_0..=EXT_T_2 => {
                r.mb()?;
            }
            EXT_I_0..=EXT_I_2 => {
                r.cstr()?;
            }
            EXT_0..=EXT_2 => {}
            LITERAL => {
                r.mb()?;
                out.push((0, Value::default()));
            }
            t if t < 0x80 => {
                let (token, prefix) = attribute_start(t);
                out.push((token, Value { text: prefix.as_bytes().to_vec(), opaque: None }));
            }
            t => {
                if let Some(v) = cur {
                    v.text.extend_from_slice(attribute_value(t).as_bytes());
                }
            }
        }
    }
}

/// An attribute start token of WAP-167 §8.3.2 as (attribute, value prefix); `action`'s
/// tokens carry their value.
fn attribute_start(t: u8) -> (u8, &'static str) {
    match t {
        0x05 => (0x05, "signal-none"),
        0x06 => (0x05, "signal-low"),
        0x07 => (0x05, "signal-medium"),
        0x08 => (0x05, "signal-high"),
        0x09 => (0x05, "delete"),
        0x0B => (0x0B, ""),
        0x0C => (0x0B, "http://"),
        0x0D => (0x0B, "http://www."),
        0x0E => (0x0B, "https://"),
        0x0F => (0x0B, "https://www."),
        t => (t, ""),
    }
}

/// An attribute value token of WAP-167 §8.3.3.
fn attribute_value(t: u8) -> &'static str {
    match t {
        0x85 => ".com/",
        0x86 => ".edu/",
        0x87 => ".net/",
        0x88 => ".org/",
        _ => "",
    }
}

const ACTION: u8 = 0x05;
const CREATED: u8 = 0x0A;
const HREF: u8 = 0x0B;
const SI_EXPIRES: u8 = 0x10;
const SI_ID: u8 = 0x11;

fn indication(attrs: Vec<(u8, Value)>) -> Result<ServiceIndication, SiError> {
    let mut si =
        ServiceIndication { si_id: None, created: None, expires: None, action: Action::SignalMedium };
    let mut href = None;
    for (token, v) in attrs {
        let text = || String::from_utf8_lossy(&v.text).into_owned();
        match token {
            ACTION => {
                si.action = match v.text.as_slice() {
                    b"signal-none" => Action::SignalNone,
                    b"signal-low" => Action::SignalLow,
                    b"signal-high" => Action::SignalHigh,
                    b"delete" => Action::Delete,
                    _ => Action::SignalMedium,
                }
            }
            HREF => href = Some(text()),
            SI_ID => si.si_id = Some(text()),
            CREATED => si.created = Some(date(&v).ok_or(SiError::BadDate { attribute: "created" })?),
            SI_EXPIRES => si.expires = Some(date(&v).ok_or(SiError::BadDate { attribute: "si-expires" })?),
            _ => {}
        }
    }
    if si.si_id.is_none() {
        si.si_id = href;
    }
    Ok(si)
}

fn date(v: &Value) -> Option<u64> {
    match &v.opaque {
        Some(o) => opaque_datetime(o),
        None => text_datetime(std::str::from_utf8(&v.text).ok()?),
    }
}

/// WAP-167 §8.2.2: `YYYYMMDDhhmmss` as BCD, two digits an octet, trailing zero octets
/// omitted (1 to 7 octets), as seconds since 1970-01-01 UTC.
pub fn opaque_datetime(o: &[u8]) -> Option<u64> {
    if o.is_empty() || o.len() > 7 {
        return None;
    }
    let mut digits = [0u8; 14];
    for (i, b) in o.iter().enumerate() {
        let (hi, lo) = (b >> 4, b & 0x0F);
        if hi > 9 || lo > 9 {
            return None;
        }
        digits[2 * i] = hi;
        digits[2 * i + 1] = lo;
    }
    let n = |a: usize, len: usize| digits[a..a + len].iter().fold(0u32, |acc, d| acc * 10 + u32::from(*d));
    civil(n(0, 4), n(4, 2), n(6, 2), n(8, 2), n(10, 2), n(12, 2))
}

/// The textual form `YYYY-MM-DDThh:mm:ssZ` (WAP-167 §5.2.1).
fn text_datetime(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let n = |a: usize, len: usize| s.get(a..a + len)?.parse::<u32>().ok();
    civil(n(0, 4)?, n(5, 2)?, n(8, 2)?, n(11, 2)?, n(14, 2)?, n(17, 2)?)
}

fn civil(y: u32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<u64> {
    // A month or day left out (zero octets) reads as the first.
    let (mo, d) = (mo.max(1), d.max(1));
    if y < 1970 || mo > 12 || d > 31 || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let days = u64::try_from(days_from_civil(i64::from(y), mo, d)).ok()?;
    Some(days * 86400 + u64::from(h * 3600 + mi * 60 + s))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `xml2wbxml` (libwbxml 0.11.8) of the SI in tests/fixtures/foreign/si.xml.
    const XML2WBXML_SI: &str = "03056a0045c60d036578616d706c650088036e6577732f746f6461790011036e6577732d3030\
        3031000ac30620261121093008010353746f726d207761726e696e6720666f722054756573646179000101";

    fn unhex(s: &str) -> Vec<u8> {
        crate::hex::decode(s).expect("hex")
    }

    /// 2026-11-21T09:30:00Z.
    const CREATED_2026: u64 = 1_795_253_400;

    #[test]
    fn the_libwbxml_fixture_decodes() {
        let si = decode(&unhex(XML2WBXML_SI)).unwrap();
        assert_eq!(si.si_id.as_deref(), Some("news-0001"));
        assert_eq!(si.created, Some(CREATED_2026));
        assert_eq!((si.expires, si.action), (None, Action::SignalHigh));
    }

    #[test]
    fn spec_example_with_expiry_delete_and_href_as_id() {
        // WAP-167 §9 style: version 1.2, SI public id, UTF-8, no string table; indication with
        // href="http://www.xyz.com/email/123/abc.wml", created 1999-06-25T15:23:15Z,
        // si-expires 1999-06-30T00:00:00Z (trailing zero octets left out), action="delete".
        let mut d = vec![0x02, 0x05, 0x6A, 0x00, 0x45, 0x86, 0x0D, 0x03];
        d.extend_from_slice(b"xyz\0");
        d.push(0x85);
        d.push(0x03);
        d.extend_from_slice(b"email/123/abc.wml\0");
        d.extend_from_slice(&[0x0A, 0xC3, 0x07, 0x19, 0x99, 0x06, 0x25, 0x15, 0x23, 0x15]);
        d.extend_from_slice(&[0x10, 0xC3, 0x04, 0x19, 0x99, 0x06, 0x30]);
        d.extend_from_slice(&[0x09, 0x01, 0x01]);
        let si = decode(&d).unwrap();
        assert_eq!(si.si_id.as_deref(), Some("http://www.xyz.com/email/123/abc.wml"));
        assert_eq!(si.created, Some(930_324_195));
        assert_eq!(si.expires, Some(930_700_800));
        assert_eq!(si.action, Action::Delete);
    }

    #[test]
    fn string_table_and_text_dates() {
        // si-id from the string table, si-expires as an inline string.
        let mut d = vec![0x03, 0x05, 0x6A, 0x03];
        d.extend_from_slice(b"ab\0");
        d.extend_from_slice(&[0x45, 0x86, 0x11, 0x83, 0x00, 0x10, 0x03]);
        d.extend_from_slice(b"2026-11-21T09:30:00Z\0");
        d.extend_from_slice(&[0x01, 0x01]);
        let si = decode(&d).unwrap();
        assert_eq!(
            (si.si_id.as_deref(), si.expires, si.action),
            (Some("ab"), Some(CREATED_2026), Action::SignalMedium)
        );
    }

    #[test]
    fn malformed_input_is_a_typed_error() {
        let full = unhex(XML2WBXML_SI);
        // The indication's attributes end at octet 52; its text content is not read.
        for n in 0..52 {
            let r = decode(&full[..n]);
            assert!(matches!(r, Err(SiError::Truncated(_))), "{n}: {r:?}");
        }
        assert!(decode(&full[..52]).is_ok());
        assert_eq!(decode(&[0x03, 0x05, 0x6A, 0x00, 0x05, 0x01]), Err(SiError::Truncated(6)));
        let bad_date = [0x03, 0x05, 0x6A, 0x00, 0x45, 0x86, 0x0A, 0xC3, 0x02, 0x19, 0xA9, 0x01, 0x01];
        assert_eq!(decode(&bad_date), Err(SiError::BadDate { attribute: "created" }));
        assert_eq!(decode(&[0x03, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]), Err(SiError::Overflow(1)));
        assert_eq!(opaque_datetime(&[0x19, 0x99, 0x13]), None, "month 13");
        assert_eq!(opaque_datetime(&[0x20, 0x26, 0x11, 0x21, 0x09, 0x30]), Some(CREATED_2026));
    }
}
