//! Content-type values (WAP-230 §8.4.2.24) and their parameters (§8.4.2.4).

use super::basic::{lossy, Reader, ValueForm};
use super::error::WspError;
use super::tables::{self, param};
use super::{http_date, values, Pair};
use std::borrow::Cow;

/// A decoded content type: the media type and its parameters, in wire order. Text is
/// borrowed from the PDU where it can be.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ContentType<'a> {
    /// The media type, e.g. `application/vnd.wap.sic`.
    pub(crate) media: Cow<'a, str>,
    /// Its parameters (WAP-230 Table 38), as `(name, value)`.
    pub(crate) params: Vec<Pair<'a>>,
}

impl ContentType<'_> {
    /// `media; name=value; …`, the HTTP header form.
    pub(crate) fn to_header_value(&self) -> String {
        let mut s = self.media.to_string();
        for (n, v) in &self.params {
            s.push_str("; ");
            s.push_str(n);
            if !v.is_empty() {
                s.push('=');
                s.push_str(v);
            }
        }
        s
    }
}

/// How an unknown content type code is printed: `application/x-wsp-0x5a` (two hex digits for
/// a Short-integer code, four for a 16-bit Long-integer code, more if needed). The encoder
/// turns such a name back into the code.
pub fn unknown_media_name(code: u64) -> String {
    match code {
        0..=0xFF => format!("application/x-wsp-0x{code:02x}"),
        0x100..=0xFFFF => format!("application/x-wsp-0x{code:04x}"),
        _ => format!("application/x-wsp-0x{code:x}"),
    }
}

/// The code an `application/x-wsp-0x…` name stands for, if it is exactly the form
/// [`unknown_media_name`] prints.
pub fn unknown_media_code(name: &str) -> Option<u64> {
    let hex = name.strip_prefix("application/x-wsp-0x")?;
    let code = u64::from_str_radix(hex, 16).ok()?;
    (unknown_media_name(code) == name).then_some(code)
}

fn media_name(code: u64) -> Cow<'static, str> {
    tables::content_type_name(code).map_or_else(|| unknown_media_name(code).into(), Cow::Borrowed)
}

/// Content-type-value: Constrained-media (Short-integer or Extension-media text) or
/// Content-general-form (Value-length, media, parameters).
pub(crate) fn decode<'a>(r: &mut Reader<'a>) -> Result<ContentType<'a>, WspError> {
    const WHAT: &str = "Content-Type";
    let first = r.peek().ok_or(WspError::Truncated { what: WHAT, offset: r.offset() })?;
    match ValueForm::of(first) {
        ValueForm::Short => {
            Ok(ContentType { media: media_name(u64::from(r.short_integer(WHAT)?)), params: vec![] })
        }
        ValueForm::Text => Ok(ContentType { media: r.text_string(WHAT)?, params: vec![] }),
        ValueForm::Length => {
            let mut block = r.length_block(WHAT)?;
            let media = media(&mut block)?;
            let params = parameters(&mut block)?;
            Ok(ContentType { media, params })
        }
    }
}

/// Well-known-media (Integer-value) or Extension-media (text), inside a general form.
pub(crate) fn media<'a>(r: &mut Reader<'a>) -> Result<Cow<'a, str>, WspError> {
    const WHAT: &str = "media type";
    let first = r.peek().ok_or(WspError::Truncated { what: WHAT, offset: r.offset() })?;
    match ValueForm::of(first) {
        ValueForm::Text => r.text_string(WHAT),
        _ => Ok(media_name(r.integer_value(WHAT)?)),
    }
}

/// Parameters until the end of `r`.
pub(crate) fn parameters<'a>(r: &mut Reader<'a>) -> Result<Vec<Pair<'a>>, WspError> {
    let mut params = Vec::new();
    while !r.is_empty() {
        params.push(parameter(r)?);
    }
    Ok(params)
}

/// One Parameter: Typed-parameter (well-known token, typed value) or Untyped-parameter
/// (Token-text, Integer-value or Text-value).
pub(crate) fn parameter<'a>(r: &mut Reader<'a>) -> Result<Pair<'a>, WspError> {
    const WHAT: &str = "parameter";
    let first = r.peek().ok_or(WspError::Truncated { what: WHAT, offset: r.offset() })?;
    if ValueForm::of(first) == ValueForm::Text {
        let name = lossy(r.raw_text("parameter name")?);
        let value = values::generic(r, "parameter value")?;
        return Ok((name, value));
    }
    let code = r.integer_value("parameter token")?;
    let Some(name) = u8::try_from(code).ok().and_then(tables::param_name) else {
        return Ok((format!("x-wsp-param-0x{code:02x}").into(), values::generic(r, "parameter value")?));
    };
    let value = typed_value(r, code as u8)?;
    Ok((Cow::Borrowed(name), value))
}

/// The Typed-value of a well-known parameter (§8.4.2.4, Table 38). A value in another form
/// than the table says (e.g. a text charset) is printed generically rather than refused.
fn typed_value<'a>(r: &mut Reader<'a>, code: u8) -> Result<Cow<'a, str>, WspError> {
    const WHAT: &str = "parameter value";
    let first = r.peek().ok_or(WspError::Truncated { what: WHAT, offset: r.offset() })?;
    let form = ValueForm::of(first);
    // Integer-value: a Short-integer, or a Long-integer whose Short-length is 1–30.
    let integer = matches!(first, 1..=30 | 0x80..=0xFF);
    Ok(match code {
        param::Q => values::q_value(r.uintvar("q-value")?).into(),
        param::CHARSET if integer => {
            let mib = r.integer_value(WHAT)?;
            tables::charset_name(mib).map_or_else(|| mib.to_string().into(), Cow::Borrowed)
        }
        param::LEVEL => values::version(r)?,
        param::TYPE_MULTIPART if form != ValueForm::Length => match form {
            ValueForm::Short => media_name(u64::from(r.short_integer(WHAT)?)),
            _ => r.text_string(WHAT)?,
        },
        param::DIFFERENCES if form == ValueForm::Short => values::header_field_name(r.short_integer(WHAT)?),
        param::SEC if form == ValueForm::Short => {
            let c = r.short_integer(WHAT)?;
            tables::sec_name(c).map_or_else(|| c.to_string().into(), Cow::Borrowed)
        }
        param::CREATION_DATE | param::MODIFICATION_DATE | param::READ_DATE if integer => {
            http_date::format(r.integer_value(WHAT)?).into()
        }
        _ => values::generic(r, WHAT)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ct(b: &[u8]) -> Result<ContentType<'_>, WspError> {
        decode(&mut Reader::new(b, 0))
    }

    fn p(v: &[(&'static str, &'static str)]) -> Vec<Pair<'static>> {
        v.iter().map(|&(a, b)| (Cow::Borrowed(a), Cow::Borrowed(b))).collect()
    }

    #[test]
    fn constrained_media() {
        // 0xAE = 0x80 | 0x2E.
        assert_eq!(ct(&[0xAE]).unwrap().media, "application/vnd.wap.sic");
        assert_eq!(
            ct(b"application/vnd.wap.mms-message\0").unwrap().media,
            "application/vnd.wap.mms-message"
        );
        // 0xDA = 0x80 | 0x5A: not in the table.
        assert_eq!(ct(&[0xDA]).unwrap().media, "application/x-wsp-0x5a");
    }

    #[test]
    fn general_form() {
        // Value-length 3, 0xAE sic, 0x81 charset, 0xEA = 106 utf-8.
        assert_eq!(
            ct(&[0x03, 0xAE, 0x81, 0xEA]).unwrap(),
            ContentType { media: "application/vnd.wap.sic".into(), params: p(&[("charset", "utf-8")]) }
        );
        // Value-length 3, Long-integer (length 2) 0x0201.
        assert_eq!(ct(&[0x03, 0x02, 0x02, 0x01]).unwrap().media, "application/vnd.uplanet.cacheop-wbxml");
        assert_eq!(ct(&[0x03, 0x02, 0x04, 0x00]).unwrap().media, "application/x-wsp-0x0400");
        // Value-length 7: text media "a/b" NUL, untyped "x" NUL, short-int 5.
        assert_eq!(
            ct(&[0x07, b'a', b'/', b'b', 0, b'x', 0, 0x85]).unwrap(),
            ContentType { media: "a/b".into(), params: p(&[("x", "5")]) }
        );
        // q (0x80) with uintvar 51 = 0.5; level (0x82) 0x92 = 1.2; type (0x83) 0x85.
        assert_eq!(
            ct(&[0x07, 0x82, 0x80, 51, 0x82, 0x92, 0x83, 0x85]).unwrap().params,
            p(&[("q", "0.5"), ("level", "1.2"), ("type", "5")])
        );
        // multipart type (0x89) with short int 0x3E and start (0x8A) text.
        assert_eq!(
            ct(&[0x06, 0xB3, 0x89, 0xBE, 0x8A, b's', 0]).unwrap().params,
            p(&[("type", "application/vnd.wap.mms-message"), ("start", "s")])
        );
        // Unknown parameter token 0x30 with text value.
        assert_eq!(ct(&[0x04, 0xB6, 0xB0, b'v', 0]).unwrap().params, p(&[("x-wsp-param-0x30", "v")]));
        // A charset given as text, leniently accepted.
        assert_eq!(ct(&[0x06, 0xB6, 0x81, b'k', b'o', b'i', 0]).unwrap().params, p(&[("charset", "koi")]));
    }

    #[test]
    fn general_form_errors() {
        // Value-length 4 but 2 octets follow.
        assert_eq!(ct(&[0x04, 0xAE, 0x81]), Err(WspError::Truncated { what: "Content-Type", offset: 1 }));
        // A parameter whose value runs past the general form's length.
        assert_eq!(
            ct(&[0x02, 0xAE, 0x81, 0xEA]),
            Err(WspError::Truncated { what: "parameter value", offset: 3 })
        );
        assert_eq!(ct(b"text/plain"), Err(WspError::Unterminated { what: "Content-Type", offset: 0 }));
        assert_eq!(ct(&[]), Err(WspError::Truncated { what: "Content-Type", offset: 0 }));
    }

    #[test]
    fn unknown_names_round_trip() {
        for c in [0x55, 0x7F, 0x400, 0x12345] {
            assert_eq!(unknown_media_code(&unknown_media_name(c)), Some(c));
        }
        assert_eq!(unknown_media_code("application/x-wsp-0x5A"), None);
        assert_eq!(unknown_media_code("application/x-wsp-0x005a"), None);
    }
}
