//! Builds Push and ConfirmedPush PDUs (WAP-230 §8.2.4.1), the inverse of [`super::parse`].
//!
//! Values are written in their binary form when the decoder would print them back exactly
//! (a table name, a canonical number or date); anything else goes as text, so
//! `parse(encode(x))` gives back `x` (with the app id as the first header).

use super::content_type::unknown_media_code;
use super::tables::{self, header as h, param};
use super::{basic, http_date, values, PduType};
use thiserror::Error;

/// What to encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushSpec {
    /// Transaction id.
    pub tid: u8,
    /// Push or ConfirmedPush.
    pub pdu_type: PduType,
    /// Media type; a table name is sent as its code, anything else as text.
    pub content_type: String,
    /// Content type parameters, `(name, value)`; well-known names are sent as codes.
    pub content_type_params: Vec<(String, String)>,
    /// Sent first, as a code when the OMNA table (or `x-wap-application:<decimal>`) has it.
    pub app_id: Option<String>,
    /// Further headers, in order.
    pub headers: Vec<(String, String)>,
    /// The data after the headers.
    pub body: Vec<u8>,
}

/// Why a [`PushSpec`] cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// Text-string cannot hold NUL, its terminator (WAP-230 §8.4.2.1).
    #[error("{what} contains a NUL character")]
    Nul {
        /// The value that held it.
        what: &'static str,
    },
    /// An empty name or media type.
    #[error("{what} is empty")]
    Empty {
        /// The empty value.
        what: &'static str,
    },
    /// A header or parameter name that is not a Token-text (WAP-230 §8.4.2.1, RFC 2616 §2.2).
    #[error("{what} {name:?} is not a token (visible ASCII without separators)")]
    NotToken {
        /// Header or parameter.
        what: &'static str,
        /// The name given.
        name: String,
    },
    /// HeadersLen is a uintvar of at most 32 bits (WAP-230 §8.1.2).
    #[error("content type and headers exceed 2^32-1 octets")]
    TooLong,
}

/// Encodes `p` as a WSP Push or ConfirmedPush PDU.
pub fn encode(p: &PushSpec) -> Result<Vec<u8>, EncodeError> {
    let mut hdr = Vec::new();
    content_type(&mut hdr, &p.content_type, &p.content_type_params)?;
    if let Some(app) = &p.app_id {
        hdr.push(0x80 | h::X_WAP_APPLICATION_ID);
        app_id(&mut hdr, app)?;
    }
    for (name, value) in &p.headers {
        header(&mut hdr, name, value)?;
    }
    let len = u32::try_from(hdr.len()).map_err(|_| EncodeError::TooLong)?;
    let mut out = Vec::with_capacity(hdr.len() + p.body.len() + 7);
    out.push(p.tid);
    out.push(p.pdu_type.code());
    uintvar(&mut out, len);
    out.extend_from_slice(&hdr);
    out.extend_from_slice(&p.body);
    Ok(out)
}

/// Splits an HTTP-style content type such as `application/vnd.wap.connectivity-wbxml;
/// SEC=USERPIN; MAC="ab"` into the media type and its parameters (surrounding white space and
/// one pair of double quotes around a value removed), for command-line input.
pub fn split_content_type(s: &str) -> (String, Vec<(String, String)>) {
    let mut parts = s.split(';');
    let media = parts.next().unwrap_or("").trim().to_owned();
    let params = parts
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            let v = v.trim();
            let v = v.strip_prefix('"').and_then(|x| x.strip_suffix('"')).unwrap_or(v);
            (n.trim().to_owned(), v.to_owned())
        })
        .collect();
    (media, params)
}

/// Uintvar-integer (§8.1.2).
pub(crate) fn uintvar(out: &mut Vec<u8>, v: u32) {
    let mut groups = [0u8; 5];
    let mut n = 0;
    let mut x = v;
    loop {
        groups[n] = (x & 0x7F) as u8;
        n += 1;
        x >>= 7;
        if x == 0 {
            break;
        }
    }
    for i in (0..n).rev() {
        out.push(groups[i] | if i > 0 { 0x80 } else { 0 });
    }
}

/// Value-length (§8.4.2.2).
fn value_length(out: &mut Vec<u8>, len: usize) -> Result<(), EncodeError> {
    if len <= 30 {
        out.push(len as u8);
    } else {
        out.push(basic::LENGTH_QUOTE);
        uintvar(out, u32::try_from(len).map_err(|_| EncodeError::TooLong)?);
    }
    Ok(())
}

/// Long-integer with the fewest octets.
fn long_integer(out: &mut Vec<u8>, v: u64) {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count().min(7);
    let octets = bytes.get(skip..).unwrap_or(&bytes);
    out.push(octets.len() as u8);
    out.extend_from_slice(octets);
}

/// Integer-value: Short-integer up to 127, else Long-integer.
fn integer_value(out: &mut Vec<u8>, v: u64) {
    if v < 0x80 {
        out.push(0x80 | v as u8);
    } else {
        long_integer(out, v);
    }
}

/// Text-string: a Quote (127) before text whose first octet could be mistaken for another
/// form (≥ 128, < 32, or 127 itself), then the text and NUL.
fn text_string(out: &mut Vec<u8>, s: &str, what: &'static str) -> Result<(), EncodeError> {
    if s.as_bytes().contains(&0) {
        return Err(EncodeError::Nul { what });
    }
    if let Some(&b) = s.as_bytes().first() {
        if !(32..127).contains(&b) {
            out.push(basic::QUOTE);
        }
    }
    out.extend_from_slice(s.as_bytes());
    out.push(0);
    Ok(())
}

/// Text-value: No-value for an empty string, else a Quoted-string.
fn text_value(out: &mut Vec<u8>, s: &str, what: &'static str) -> Result<(), EncodeError> {
    if s.is_empty() {
        out.push(0);
        return Ok(());
    }
    if s.as_bytes().contains(&0) {
        return Err(EncodeError::Nul { what });
    }
    out.push(basic::QUOTED_STRING);
    out.extend_from_slice(s.as_bytes());
    out.push(0);
    Ok(())
}

/// A text value read back by the decoder's Text-value rule (Quoted-string or Text-string):
/// a leading `"` must be protected by a Quoted-string mark of its own.
fn header_text(out: &mut Vec<u8>, s: &str, what: &'static str) -> Result<(), EncodeError> {
    if s.starts_with('"') {
        text_value(out, s, what)
    } else {
        text_string(out, s, what)
    }
}

/// Token-text (RFC 2616 token: visible ASCII without separators), NUL-terminated.
fn token_text(out: &mut Vec<u8>, s: &str, what: &'static str) -> Result<(), EncodeError> {
    const SEPARATORS: &[u8] = b"()<>@,;:\\\"/[]?={}";
    let ok = !s.is_empty() && s.bytes().all(|b| (33..127).contains(&b) && !SEPARATORS.contains(&b));
    if !ok {
        return Err(EncodeError::NotToken { what, name: s.to_owned() });
    }
    out.extend_from_slice(s.as_bytes());
    out.push(0);
    Ok(())
}

/// The number a string is the canonical decimal form of.
fn canonical_u64(s: &str) -> Option<u64> {
    s.parse::<u64>().ok().filter(|n| n.to_string() == s)
}

/// The code of a media type as the decoder prints it.
fn media_code(media: &str) -> Option<u64> {
    tables::content_type_code(media)
        .filter(|&c| tables::content_type_name(c) == Some(media))
        .or_else(|| unknown_media_code(media))
}

/// Content-type-value (§8.4.2.24).
fn content_type(out: &mut Vec<u8>, media: &str, params: &[(String, String)]) -> Result<(), EncodeError> {
    const WHAT: &str = "content type";
    if media.is_empty() {
        return Err(EncodeError::Empty { what: WHAT });
    }
    let code = media_code(media);
    if params.is_empty() {
        match code {
            Some(c) if c < 0x80 => {
                out.push(0x80 | c as u8);
                return Ok(());
            }
            None => return text_string(out, media, WHAT),
            Some(_) => {}
        }
    }
    let mut block = Vec::new();
    match code {
        Some(c) => integer_value(&mut block, c),
        None => text_string(&mut block, media, WHAT)?,
    }
    for (n, v) in params {
        parameter(&mut block, n, v)?;
    }
    value_length(out, block.len())?;
    out.extend_from_slice(&block);
    Ok(())
}

/// One Parameter (§8.4.2.4), typed when the decoder would print the value back exactly.
fn parameter(out: &mut Vec<u8>, name: &str, value: &str) -> Result<(), EncodeError> {
    const WHAT: &str = "parameter value";
    let typed = |out: &mut Vec<u8>, code: u8| out.push(0x80 | code);
    match name {
        "q" => {
            if let Some(n) = values::q_code(value) {
                typed(out, param::Q);
                uintvar(out, n);
                return Ok(());
            }
        }
        "charset" => {
            if let Some(mib) = tables::charset_code(value).filter(|&m| tables::charset_name(m) == Some(value))
            {
                typed(out, param::CHARSET);
                integer_value(out, mib);
                return Ok(());
            }
        }
        "level" => {
            typed(out, param::LEVEL);
            match values::version_code(value) {
                Some(v) => out.push(0x80 | v),
                None => text_string(out, value, WHAT)?,
            }
            return Ok(());
        }
        "type" => {
            if let Some(n) = canonical_u64(value) {
                typed(out, param::TYPE);
                integer_value(out, n);
                return Ok(());
            }
            if !value.is_empty() {
                typed(out, param::TYPE_MULTIPART);
                match media_code(value) {
                    Some(c) if c < 0x80 => out.push(0x80 | c as u8),
                    _ => text_string(out, value, WHAT)?,
                }
                return Ok(());
            }
        }
        "SEC" => {
            let code = tables::sec_code(value).or_else(|| {
                canonical_u64(value)
                    .and_then(|n| u8::try_from(n).ok())
                    .filter(|&n| n < 0x80 && tables::sec_name(n).is_none())
            });
            if let Some(c) = code {
                typed(out, param::SEC);
                out.push(0x80 | c);
                return Ok(());
            }
        }
        "max-age" | "size" => {
            if let Some(n) = canonical_u64(value) {
                typed(out, if name == "size" { param::SIZE } else { param::MAX_AGE });
                integer_value(out, n);
                return Ok(());
            }
        }
        "creation-date" | "modification-date" | "read-date" => {
            if let Some(t) = http_date::parse(value) {
                let code = match name {
                    "creation-date" => param::CREATION_DATE,
                    "modification-date" => param::MODIFICATION_DATE,
                    _ => param::READ_DATE,
                };
                typed(out, code);
                long_integer(out, t);
                return Ok(());
            }
        }
        "MAC" | "name" | "filename" | "start" | "start-info" | "comment" | "domain" | "path" => {
            let code = match name {
                "MAC" => param::MAC,
                "name" => param::NAME,
                "filename" => param::FILENAME,
                "start" => param::START,
                "start-info" => param::START_INFO,
                "comment" => param::COMMENT,
                "domain" => param::DOMAIN,
                _ => param::PATH,
            };
            typed(out, code);
            return text_value(out, value, WHAT);
        }
        _ => {}
    }
    // Untyped-parameter: Token-text, then Integer-value or Text-value.
    token_text(out, name, "parameter name")?;
    match canonical_u64(value) {
        Some(n) => integer_value(out, n),
        None => text_value(out, value, WHAT)?,
    }
    Ok(())
}

/// X-Wap-Application-Id value: a code when the table (or `x-wap-application:<decimal>`
/// for a code the table lacks) gives one, else the URI as text.
fn app_id(out: &mut Vec<u8>, app: &str) -> Result<(), EncodeError> {
    const WHAT: &str = "application id";
    if app.is_empty() {
        return Err(EncodeError::Empty { what: WHAT });
    }
    let code = tables::app_id_code(app).or_else(|| {
        app.strip_prefix("x-wap-application:")
            .and_then(canonical_u64)
            .filter(|&c| tables::app_id_name(c).is_none())
    });
    match code {
        Some(c) => integer_value(out, c),
        None => text_string(out, app, WHAT)?,
    }
    Ok(())
}

/// One header: binary when the decoder prints the value back exactly, else an
/// application header (Token-text name, Text-string value).
fn header(out: &mut Vec<u8>, name: &str, value: &str) -> Result<(), EncodeError> {
    const WHAT: &str = "header value";
    let code = tables::header_code(name).filter(|&c| tables::header_name(c) == Some(name));
    if let Some(c) = code {
        let start = out.len();
        out.push(0x80 | c);
        let done = match c {
            h::X_WAP_APPLICATION_ID => {
                app_id(out, value)?;
                true
            }
            h::CONTENT_LENGTH | h::AGE | h::MAX_FORWARDS | h::BEARER_INDICATION | h::PUSH_FLAG => {
                match canonical_u64(value) {
                    Some(n) if c != h::PUSH_FLAG || n < 0x80 => {
                        integer_value(out, n);
                        true
                    }
                    _ => false,
                }
            }
            c if h::takes_date(c) => match http_date::parse(value) {
                Some(t) => {
                    long_integer(out, t);
                    true
                }
                None => false,
            },
            c if h::takes_text(c) => {
                header_text(out, value, WHAT)?;
                true
            }
            _ => false,
        };
        if done {
            return Ok(());
        }
        out.truncate(start);
    }
    token_text(out, name, "header name")?;
    text_string(out, value, WHAT)
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;
    use proptest::prelude::*;

    fn spec() -> PushSpec {
        PushSpec {
            tid: 1,
            pdu_type: PduType::Push,
            content_type: "application/vnd.wap.mms-message".into(),
            content_type_params: vec![],
            app_id: Some("x-wap-application:mms.ua".into()),
            headers: vec![],
            body: vec![0x8C, 0x82],
        }
    }

    #[test]
    fn minimal_mms_notification_octets() {
        // TID 1, Push, HeadersLen 3, 0xBE mms-message, 0xAF 0x84 app id mms.ua, body.
        assert_eq!(encode(&spec()).unwrap(), vec![0x01, 0x06, 0x03, 0xBE, 0xAF, 0x84, 0x8C, 0x82]);
    }

    #[test]
    fn general_form_and_long_codes() {
        let mut s = spec();
        s.pdu_type = PduType::ConfirmedPush;
        s.content_type = "application/vnd.wap.connectivity-wbxml".into();
        s.content_type_params = vec![("SEC".into(), "USERPIN".into()), ("MAC".into(), "AB".into())];
        s.app_id = Some("x-wap-docomo:imode.mail.ua".into());
        // HeadersLen 13: length 8, 0xB6, 0x91 0x81 (SEC=USERPIN), 0x92 '"' 'A' 'B' NUL (MAC),
        // then 0xAF and the Long-integer 0x02 0x80 0x02.
        assert_eq!(
            encode(&s).unwrap(),
            vec![
                0x01, 0x07, 0x0D, 0x08, 0xB6, 0x91, 0x81, 0x92, 0x22, b'A', b'B', 0, 0xAF, 0x02, 0x80, 0x02,
                0x8C, 0x82
            ]
        );
    }

    #[test]
    fn rejects_what_cannot_be_sent() {
        let mut s = spec();
        s.headers = vec![("Bad Name".into(), "x".into())];
        assert!(matches!(encode(&s), Err(EncodeError::NotToken { .. })));
        s.headers = vec![("X-A".into(), "a\0b".into())];
        assert_eq!(encode(&s), Err(EncodeError::Nul { what: "header value" }));
        s.headers.clear();
        s.content_type.clear();
        assert_eq!(encode(&s), Err(EncodeError::Empty { what: "content type" }));
        let mut s = spec();
        s.app_id = Some(String::new());
        assert_eq!(encode(&s), Err(EncodeError::Empty { what: "application id" }));
    }

    #[test]
    fn content_type_arguments() {
        let (m, p) = split_content_type(" application/vnd.wap.connectivity-wbxml; SEC=USERPIN;MAC=\"AB\"; ");
        assert_eq!(m, "application/vnd.wap.connectivity-wbxml");
        assert_eq!(p, vec![("SEC".to_owned(), "USERPIN".to_owned()), ("MAC".to_owned(), "AB".to_owned())]);
        assert_eq!(split_content_type("text/plain"), ("text/plain".to_owned(), vec![]));
        assert_eq!(split_content_type("a/b; secure").1, vec![("secure".to_owned(), String::new())]);
    }

    #[test]
    fn uintvar_encoding() {
        for (v, octets) in [
            (0u32, vec![0x00]),
            (127, vec![0x7F]),
            (128, vec![0x81, 0x00]),
            (u32::MAX, vec![0x8F, 0xFF, 0xFF, 0xFF, 0x7F]),
        ] {
            let mut out = Vec::new();
            uintvar(&mut out, v);
            assert_eq!(out, octets);
        }
    }

    fn text() -> impl Strategy<Value = String> {
        // Printable ASCII plus the characters that need quoting: '"', DEL, a control
        // character, and non-ASCII.
        proptest::collection::vec(
            prop_oneof![8 => proptest::char::range(' ', '~'), 1 => Just('"'), 1 => Just('\u{7f}'),
                1 => Just('\t'), 1 => Just('é'), 1 => Just('€')],
            0..12,
        )
        .prop_map(|v| v.into_iter().collect())
    }

    fn token() -> impl Strategy<Value = String> {
        "x-[a-z0-9.]{1,10}"
    }

    fn media() -> impl Strategy<Value = String> {
        prop_oneof![
            (0u64..=0x54).prop_map(|c| tables::content_type_name(c).unwrap_or("*/*").to_owned()),
            (0x0300u64..=0x031B).prop_map(|c| tables::content_type_name(c).unwrap_or("*/*").to_owned()),
            (0x55u64..0x10000).prop_filter_map("unknown", |c| {
                tables::content_type_name(c)
                    .is_none()
                    .then(|| super::super::content_type::unknown_media_name(c))
            }),
            "[a-z]{1,8}/[a-z0-9.+-]{1,12}",
        ]
    }

    fn param_pair() -> impl Strategy<Value = (String, String)> {
        prop_oneof![
            (1u32..=1099).prop_map(|n| ("q".to_owned(), values::q_value(n))),
            prop_oneof![Just("utf-8"), Just("us-ascii"), Just("big5"), Just("*"), Just("x-unknown")]
                .prop_map(|c| ("charset".to_owned(), c.to_owned())),
            (0u8..0x80).prop_map(|v| ("level".to_owned(), values::version_name(v))),
            any::<u64>().prop_map(|n| ("type".to_owned(), n.to_string())),
            media().prop_map(|m| ("type".to_owned(), m)),
            prop_oneof![
                Just("NETWPIN"),
                Just("USERPIN"),
                Just("USERNETWPIN"),
                Just("USERPINMAC"),
                Just("77")
            ]
            .prop_map(|m| ("SEC".to_owned(), m.to_owned())),
            prop_oneof![Just("MAC"), Just("name"), Just("filename"), Just("start"), Just("path")]
                .prop_flat_map(|n| text().prop_map(move |v| (n.to_owned(), v))),
            any::<u32>().prop_map(|t| ("creation-date".to_owned(), http_date::format(u64::from(t)))),
            any::<u64>().prop_map(|n| ("size".to_owned(), n.to_string())),
            (token(), text()),
            (token(), any::<u64>().prop_map(|n| n.to_string())),
        ]
    }

    fn app() -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            Just(None),
            (0u64..=0x0A).prop_map(|c| tables::app_id_name(c).map(str::to_owned)),
            Just(Some("x-wap-docomo:imode.mail.ua".to_owned())),
            (0x0Bu64..0x1_0000_0000).prop_map(|c| Some(format!("x-wap-application:{c}"))),
            "x-oma-application:[a-z.]{1,10}".prop_map(Some),
        ]
    }

    fn header_pair() -> impl Strategy<Value = (String, String)> {
        prop_oneof![
            any::<u64>().prop_map(|n| ("Content-Length".to_owned(), n.to_string())),
            (0u8..0x80).prop_map(|n| ("Push-Flag".to_owned(), n.to_string())),
            any::<u32>().prop_map(|t| ("Date".to_owned(), http_date::format(u64::from(t)))),
            any::<u32>().prop_map(|t| ("X-Wap-Tod".to_owned(), http_date::format(u64::from(t)))),
            text().prop_map(|v| ("X-Wap-Initiator-URI".to_owned(), v)),
            text().prop_map(|v| ("Content-Location".to_owned(), v)),
            text().prop_map(|v| ("Content-Length".to_owned(), v)),
            text().prop_map(|v| ("Date".to_owned(), v)),
            (token(), text()),
        ]
    }

    fn push_spec() -> impl Strategy<Value = PushSpec> {
        (
            any::<u8>(),
            any::<bool>(),
            media(),
            proptest::collection::vec(param_pair(), 0..4),
            app(),
            proptest::collection::vec(header_pair(), 0..5),
            proptest::collection::vec(any::<u8>(), 0..40),
        )
            .prop_map(
                |(tid, confirmed, content_type, content_type_params, app_id, headers, body)| PushSpec {
                    tid,
                    pdu_type: if confirmed { PduType::ConfirmedPush } else { PduType::Push },
                    content_type,
                    content_type_params,
                    app_id,
                    headers,
                    body,
                },
            )
    }

    proptest! {
        #[test]
        fn parse_inverts_encode(s in push_spec()) {
            let pdu = encode(&s).unwrap();
            let p = parse(&pdu).unwrap();
            prop_assert_eq!(p.tid, s.tid);
            prop_assert_eq!(p.pdu_type, s.pdu_type);
            prop_assert_eq!(&p.content_type, &s.content_type);
            let own = |v: &[super::super::Pair<'_>]| -> Vec<(String, String)> {
                v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
            };
            prop_assert_eq!(own(&p.content_type_params), s.content_type_params.clone());
            prop_assert_eq!(p.app_id.as_deref(), s.app_id.as_deref());
            let mut headers = Vec::new();
            if let Some(a) = &s.app_id {
                headers.push(("X-Wap-Application-Id".to_owned(), a.clone()));
            }
            headers.extend(s.headers.iter().cloned());
            prop_assert_eq!(own(&p.headers), headers);
            prop_assert_eq!(p.body, &s.body[..]);
        }

        #[test]
        fn parse_never_panics(pdu in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = parse(&pdu);
        }

        #[test]
        fn parse_never_panics_on_push_shaped_input(
            tid in any::<u8>(), len in 0u8..40, rest in proptest::collection::vec(any::<u8>(), 0..48)
        ) {
            let mut pdu = vec![tid, 0x06, len];
            pdu.extend(rest);
            let _ = parse(&pdu);
        }
    }
}
