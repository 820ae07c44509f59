//! WSP headers (WAP-230 §8.4): well-known headers of encoding versions 1.1–1.4 decoded to
//! readable HTTP-style values, application headers kept as text, header code page shifts.
//!
//! Every value is first delimited by its own form (§8.4.1.2); a value running past the
//! headers is an error. A delimited value whose inside does not follow the header's grammar
//! is kept as the hex of its octets instead of failing the push, except X-Wap-Application-Id,
//! which routing depends on.

use super::basic::{lossy, Reader, ValueForm};
use super::content_type;
use super::error::WspError;
use super::tables::{self, header as h};
use super::{http_date, values, Pair};
use std::borrow::Cow;

/// Octet 127: a Page-identity octet follows (§8.4.2.70).
const SHIFT_DELIMITER: u8 = 127;

/// Decodes headers until the end of `r` into `out`, in wire order, and returns the index in
/// `out` of the first X-Wap-Application-Id. Names are canonical for well-known headers, the
/// sender's text for application headers, and `x-wsp-header-0xNN` for unknown codes
/// (`x-wsp-page-P-header-0xNN` on a code page P ≠ 1).
pub(crate) fn decode<'a>(r: &mut Reader<'a>, out: &mut Vec<Pair<'a>>) -> Result<Option<usize>, WspError> {
    let mut app_id_at = None;
    let mut page: u8 = 1;
    while let Some(first) = r.peek() {
        let at = r.offset();
        match first {
            SHIFT_DELIMITER => {
                r.u8("shift delimiter")?;
                page = r.u8("page identity")?;
                if page == 0 {
                    return Err(WspError::Invalid { what: "page identity", offset: at + 1 });
                }
            }
            1..=31 => {
                // Short-cut-shift-delimiter.
                r.u8("shift delimiter")?;
                page = first;
            }
            0 => return Err(WspError::Invalid { what: "header field name", offset: at }),
            32..=126 => {
                let name = lossy(r.raw_text("header field name")?);
                let value = application_value(r)?;
                out.push((name, value));
            }
            _ => {
                let code = first & 0x7F;
                r.u8("header field name")?;
                let vat = r.offset();
                let raw = r.skip_value("header value")?;
                let hex = || Cow::Owned(crate::hex::encode_lower(raw));
                if page != 1 {
                    out.push((format!("x-wsp-page-{page}-header-0x{code:02x}").into(), hex()));
                    continue;
                }
                let Some(name) = tables::header_name(code) else {
                    out.push((format!("x-wsp-header-0x{code:02x}").into(), hex()));
                    continue;
                };
                let mut vr = Reader::new(raw, vat);
                let value = if code == h::X_WAP_APPLICATION_ID {
                    if app_id_at.is_none() {
                        app_id_at = Some(out.len());
                    }
                    app_id(&mut vr)?
                } else {
                    match well_known_value(code, &mut vr) {
                        Ok(v) if vr.is_empty() => v,
                        _ => hex(),
                    }
                };
                out.push((Cow::Borrowed(name), value));
            }
        }
    }
    Ok(app_id_at)
}

/// Application-specific-value: a Text-string, or leniently any self-delimiting value.
fn application_value<'a>(r: &mut Reader<'a>) -> Result<Cow<'a, str>, WspError> {
    const WHAT: &str = "header value";
    match r.peek() {
        Some(0) => {
            r.u8(WHAT)?;
            Ok(Cow::Borrowed(""))
        }
        Some(32..=127) => r.text_string(WHAT),
        _ => values::generic(r, WHAT),
    }
}

/// X-Wap-Application-Id (WAP-230 §8.4.2.54 as amended): App-assigned-code (Integer-value,
/// mapped through the OMNA table; unknown codes become `x-wap-application:<decimal>`) or
/// Absolute-uri (text, kept as sent).
pub(crate) fn app_id<'a>(r: &mut Reader<'a>) -> Result<Cow<'a, str>, WspError> {
    const WHAT: &str = "X-Wap-Application-Id";
    match r.peek() {
        Some(32..=127) => r.text_string(WHAT),
        _ => {
            let code = r.integer_value(WHAT)?;
            Ok(tables::app_id_name(code)
                .map_or_else(|| format!("x-wap-application:{code}").into(), Cow::Borrowed))
        }
    }
}

/// The first octet of `r`, or a truncation error.
fn first(r: &Reader<'_>, what: &'static str) -> Result<u8, WspError> {
    r.peek().ok_or(WspError::Truncated { what, offset: r.offset() })
}

/// A Short-integer token looked up in `table`, or Token-text.
fn token_or_text<'a>(
    r: &mut Reader<'a>,
    what: &'static str,
    table: fn(u8) -> Option<&'static str>,
) -> Result<Cow<'a, str>, WspError> {
    if first(r, what)? & 0x80 != 0 {
        let c = r.short_integer(what)?;
        Ok(table(c).map_or_else(|| c.to_string().into(), Cow::Borrowed))
    } else {
        r.text_value(what)
    }
}

/// Text or Quoted-string values (URIs, host names, entity tags, …).
fn text<'a>(r: &mut Reader<'a>) -> Result<Cow<'a, str>, WspError> {
    r.text_value("header value")
}

fn integer<'a>(r: &mut Reader<'a>) -> Result<Cow<'a, str>, WspError> {
    Ok(r.integer_value("header value")?.to_string().into())
}

fn date<'a>(r: &mut Reader<'a>) -> Result<Cow<'a, str>, WspError> {
    Ok(http_date::format(r.integer_value("Date-value")?).into())
}

/// `value` followed by the optional Q-value that ends a general form: `value; q=…`.
fn with_q<'a>(value: Cow<'a, str>, r: &mut Reader<'a>) -> Result<Cow<'a, str>, WspError> {
    if r.is_empty() {
        return Ok(value);
    }
    Ok(format!("{value}; q={}", values::q_value(r.uintvar("q-value")?)).into())
}

fn charset(c: u64) -> Cow<'static, str> {
    tables::charset_name(c).map_or_else(|| c.to_string().into(), Cow::Borrowed)
}

fn language(c: u64) -> Cow<'static, str> {
    tables::language_name(c).map_or_else(|| c.to_string().into(), Cow::Borrowed)
}

/// Decodes the value of a well-known header (page 1) by its grammar in §8.4.2.
fn well_known_value<'a>(code: u8, r: &mut Reader<'a>) -> Result<Cow<'a, str>, WspError> {
    const WHAT: &str = "header value";
    let form = ValueForm::of(first(r, WHAT)?);
    match code {
        h::ACCEPT | h::CONTENT_TYPE => Ok(content_type::decode(r)?.to_header_value().into()),
        h::ACCEPT_CHARSET_1_1 | h::ACCEPT_CHARSET => match form {
            ValueForm::Length => {
                let mut b = r.length_block(WHAT)?;
                let cs = match first(&b, WHAT)? {
                    32..=127 => b.text_string(WHAT)?,
                    _ => charset(b.integer_value(WHAT)?),
                };
                with_q(cs, &mut b)
            }
            ValueForm::Short => Ok(charset(u64::from(r.short_integer(WHAT)?))),
            ValueForm::Text => r.text_string(WHAT),
        },
        h::ACCEPT_ENCODING_1_1 | h::ACCEPT_ENCODING => match form {
            ValueForm::Length => {
                let mut b = r.length_block(WHAT)?;
                let enc = token_or_text(&mut b, WHAT, tables::encoding_name)?;
                with_q(enc, &mut b)
            }
            _ => token_or_text(r, WHAT, tables::encoding_name),
        },
        h::ACCEPT_LANGUAGE => match form {
            ValueForm::Length => {
                let mut b = r.length_block(WHAT)?;
                let lang = match first(&b, WHAT)? {
                    32..=127 => b.text_string(WHAT)?,
                    _ => language(b.integer_value(WHAT)?),
                };
                with_q(lang, &mut b)
            }
            ValueForm::Short => Ok(language(u64::from(r.short_integer(WHAT)?))),
            ValueForm::Text => r.text_string(WHAT),
        },
        h::CONTENT_LANGUAGE => match form {
            ValueForm::Text => r.text_string(WHAT),
            _ => Ok(language(r.integer_value(WHAT)?)),
        },
        h::ACCEPT_RANGES => token_or_text(r, WHAT, |c| ["none", "bytes"].get(c as usize).copied()),
        h::AGE | h::CONTENT_LENGTH | h::MAX_FORWARDS | h::BEARER_INDICATION | h::PUSH_FLAG => integer(r),
        h::ALLOW | h::PUBLIC => token_or_text(r, WHAT, tables::method_name),
        h::AUTHORIZATION | h::PROXY_AUTHORIZATION => credentials(&mut r.length_block(WHAT)?).map(Cow::Owned),
        h::PROXY_AUTHENTICATE | h::WWW_AUTHENTICATE => challenge(&mut r.length_block(WHAT)?).map(Cow::Owned),
        h::CACHE_CONTROL_1_1 | h::CACHE_CONTROL_1_3 | h::CACHE_CONTROL => match form {
            ValueForm::Length => cache_directive(&mut r.length_block(WHAT)?).map(Cow::Owned),
            _ => token_or_text(r, WHAT, tables::cache_directive_name),
        },
        h::CONNECTION => token_or_text(r, WHAT, |c| (c == 0).then_some("close")),
        h::CONTENT_ENCODING => token_or_text(r, WHAT, tables::encoding_name),
        h::TRANSFER_ENCODING => token_or_text(r, WHAT, |c| (c == 0).then_some("chunked")),
        h::CONTENT_MD5 => Ok(values::base64(r.length_block(WHAT)?.rest()).into()),
        h::CONTENT_RANGE_1_1 | h::CONTENT_RANGE => {
            let mut b = r.length_block(WHAT)?;
            let first_byte = b.uintvar("First-byte-pos")?;
            let len = if b.peek() == Some(0x80) {
                b.u8(WHAT)?;
                "*".to_owned()
            } else {
                b.uintvar("Entity-length")?.to_string()
            };
            Ok(format!("bytes {first_byte}-*/{len}").into())
        }
        c if h::takes_date(c) => date(r),
        h::IF_RANGE => match form {
            ValueForm::Text => text(r),
            _ => date(r),
        },
        c if h::takes_text(c) => text(r),
        h::PRAGMA => match form {
            ValueForm::Length => Ok(param_text(content_type::parameter(&mut r.length_block(WHAT)?)?)),
            _ => token_or_text(r, WHAT, |c| (c == 0).then_some("no-cache")),
        },
        h::RANGE => {
            let mut b = r.length_block(WHAT)?;
            match b.u8(WHAT)? {
                0x80 => {
                    let from = b.uintvar("First-byte-pos")?;
                    let to =
                        if b.is_empty() { String::new() } else { b.uintvar("Last-byte-pos")?.to_string() };
                    Ok(format!("bytes={from}-{to}").into())
                }
                0x81 => Ok(format!("bytes=-{}", b.uintvar("Suffix-length")?).into()),
                _ => Err(WspError::Invalid { what: "Range", offset: b.offset() }),
            }
        }
        h::RETRY_AFTER => {
            let mut b = r.length_block(WHAT)?;
            match b.u8(WHAT)? {
                0x80 => date(&mut b),
                0x81 => integer(&mut b),
                _ => Err(WspError::Invalid { what: "Retry-After", offset: b.offset() }),
            }
        }
        h::VARY | h::TRAILER => match form {
            ValueForm::Short => Ok(values::header_field_name(r.short_integer(WHAT)?)),
            _ => text(r),
        },
        h::WARNING => match form {
            ValueForm::Length => values::generic_items(&mut r.length_block(WHAT)?, WHAT).map(Cow::Owned),
            _ => integer(r),
        },
        h::CONTENT_DISPOSITION_1_1 | h::CONTENT_DISPOSITION => {
            let mut b = r.length_block(WHAT)?;
            let disp = token_or_text(&mut b, WHAT, tables::disposition_name)?;
            let params = content_type::parameters(&mut b)?;
            Ok(content_type::ContentType { media: disp, params }.to_header_value().into())
        }
        h::ACCEPT_APPLICATION => match form {
            ValueForm::Text => text(r),
            _ => app_id(r),
        },
        h::PROFILE_DIFF => Ok(crate::hex::encode_lower(r.length_block(WHAT)?.rest()).into()),
        h::PROFILE_WARNING_1_2 | h::PROFILE_WARNING => {
            let warn_code = |c: u8| u32::from(c >> 4) * 100 + u32::from(c & 0x0F);
            match form {
                ValueForm::Length => {
                    let mut b = r.length_block(WHAT)?;
                    let code = warn_code(b.short_integer(WHAT)?);
                    let target = b.text_value(WHAT)?;
                    let date = if b.is_empty() { String::new() } else { format!(" {}", date(&mut b)?) };
                    Ok(format!("{code} {target}{date}").into())
                }
                _ => Ok(warn_code(r.short_integer(WHAT)?).to_string().into()),
            }
        }
        h::EXPECT => match form {
            ValueForm::Length => {
                let mut b = r.length_block(WHAT)?;
                let var = b.text_value(WHAT)?;
                let val = b.text_value(WHAT)?;
                let params = content_type::parameters(&mut b)?;
                let media = format!("{var}={val}").into();
                Ok(content_type::ContentType { media, params }.to_header_value().into())
            }
            _ => token_or_text(r, WHAT, |c| (c == 0).then_some("100-continue")),
        },
        h::TE => match form {
            ValueForm::Length => {
                let mut b = r.length_block(WHAT)?;
                let te = token_or_text(&mut b, WHAT, tables::te_name)?;
                with_q(te, &mut b)
            }
            _ => token_or_text(r, WHAT, tables::te_name),
        },
        h::ENCODING_VERSION => match form {
            ValueForm::Length => {
                let mut b = r.length_block(WHAT)?;
                let page = b.short_integer("Code-page")?;
                let version =
                    if b.is_empty() { String::new() } else { format!(" {}", values::version(&mut b)?) };
                Ok(format!("page {page}{version}").into())
            }
            _ => values::version(r),
        },
        h::X_WAP_SECURITY => token_or_text(r, WHAT, |c| (c == 0).then_some("close-subordinate")),
        // Set-Cookie, Cookie and anything else: every item of the value, readably.
        _ => match form {
            ValueForm::Length => values::generic_items(&mut r.length_block(WHAT)?, WHAT).map(Cow::Owned),
            _ => values::generic(r, WHAT),
        },
    }
}

/// A parameter as `name` or `name=value`.
fn param_text<'a>((n, v): Pair<'a>) -> Cow<'a, str> {
    if v.is_empty() {
        n
    } else {
        format!("{n}={v}").into()
    }
}

/// Credentials (§8.4.2.5): Basic user and password as RFC 7617 prints them, or a scheme
/// with its parameters.
fn credentials(b: &mut Reader<'_>) -> Result<String, WspError> {
    const WHAT: &str = "Credentials";
    if b.peek() == Some(0x80) {
        b.u8(WHAT)?;
        let user = b.text_string("User-id")?;
        let password = b.text_string("Password")?;
        return Ok(format!("Basic {}", values::base64(format!("{user}:{password}").as_bytes())));
    }
    let scheme = b.text_string("Authentication-scheme")?.into_owned();
    auth_params(scheme, b)
}

/// Challenge (§8.4.2.5): `Basic realm="…"`, or a scheme, realm and parameters.
fn challenge(b: &mut Reader<'_>) -> Result<String, WspError> {
    let scheme = if b.peek() == Some(0x80) {
        b.u8("Challenge")?;
        Cow::Borrowed("Basic")
    } else {
        b.text_string("Authentication-scheme")?
    };
    let realm = b.text_string("Realm-value")?;
    auth_params(format!("{scheme} realm=\"{realm}\""), b)
}

fn auth_params(mut s: String, b: &mut Reader<'_>) -> Result<String, WspError> {
    let mut sep = if s.contains(' ') { ", " } else { " " };
    for (n, v) in content_type::parameters(b)? {
        s.push_str(sep);
        sep = ", ";
        s.push_str(&n);
        s.push('=');
        s.push_str(&v);
    }
    Ok(s)
}

/// Cache-directive (§8.4.2.15) in its Value-length form.
fn cache_directive(b: &mut Reader<'_>) -> Result<String, WspError> {
    const WHAT: &str = "Cache-directive";
    if first(b, WHAT)? & 0x80 == 0 {
        // Cache-extension: a parameter.
        return Ok(param_text(content_type::parameter(b)?).into_owned());
    }
    let c = b.short_integer(WHAT)?;
    let name = tables::cache_directive_name(c).ok_or(WspError::Invalid { what: WHAT, offset: b.offset() })?;
    match c {
        // no-cache, private: field names.
        0 | 7 => {
            let mut fields = Vec::new();
            while !b.is_empty() {
                fields.push(match first(b, WHAT)? {
                    0x80..=0xFF => values::header_field_name(b.short_integer(WHAT)?),
                    _ => b.text_string(WHAT)?,
                });
            }
            Ok(format!("{name}=\"{}\"", fields.join(", ")))
        }
        // max-age, max-stale, min-fresh, s-maxage: delta seconds.
        2 | 3 | 4 | 11 => Ok(format!("{name}={}", b.integer_value(WHAT)?)),
        _ => Ok(name.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hs(b: &[u8]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        decode(&mut Reader::new(b, 0), &mut out).unwrap();
        out.into_iter().map(|(n, v)| (n.into_owned(), v.into_owned())).collect()
    }

    fn one(b: &[u8]) -> (String, String) {
        let v = hs(b);
        assert_eq!(v.len(), 1, "{v:?}");
        v.into_iter().next().unwrap()
    }

    fn kv(k: &str, v: &str) -> (String, String) {
        (k.into(), v.into())
    }

    #[test]
    fn app_ids() {
        // 0xAF = X-Wap-Application-Id; 0x84 = short int 4.
        assert_eq!(one(&[0xAF, 0x84]), kv("X-Wap-Application-Id", "x-wap-application:mms.ua"));
        // Long-integer 0x8002.
        assert_eq!(one(&[0xAF, 0x02, 0x80, 0x02]), kv("X-Wap-Application-Id", "x-wap-docomo:imode.mail.ua"));
        assert_eq!(one(&[0xAF, 0x02, 0x90, 0x00]), kv("X-Wap-Application-Id", "x-wap-application:36864"));
        assert_eq!(one(&[0xAF, 0x8B]), kv("X-Wap-Application-Id", "x-wap-application:11"));
        assert_eq!(
            one(b"\xafx-oma-application:ulp.ua\0"),
            kv("X-Wap-Application-Id", "x-oma-application:ulp.ua")
        );
        // A malformed Long-integer (length 0) inside the app id is an error, not hex.
        assert_eq!(
            decode(&mut Reader::new(&[0xAF, 0x00], 5), &mut Vec::new()),
            Err(WspError::Invalid { what: "X-Wap-Application-Id", offset: 6 })
        );
    }

    #[test]
    fn integer_date_and_text_headers() {
        assert_eq!(one(&[0x8D, 0xC7]), kv("Content-Length", "71"));
        assert_eq!(one(&[0x8D, 0x02, 0x01, 0x00]), kv("Content-Length", "256"));
        assert_eq!(one(&[0xB4, 0x85]), kv("Push-Flag", "5"));
        assert_eq!(one(&[0xB3, 0x81]), kv("Bearer-Indication", "1"));
        // Date 0x2EBC_98A1 = 784111777 s.
        assert_eq!(one(&[0x92, 0x04, 0x2E, 0xBC, 0x98, 0xA1]), kv("Date", "Sun, 06 Nov 1994 08:49:37 GMT"));
        assert_eq!(
            one(&[0xBF, 0x04, 0x2E, 0xBC, 0x98, 0xA1]),
            kv("X-Wap-Tod", "Sun, 06 Nov 1994 08:49:37 GMT")
        );
        assert_eq!(one(b"\xb1http://demo.dk/\0"), kv("X-Wap-Initiator-URI", "http://demo.dk/"));
        assert_eq!(one(b"\x93\"abc\0"), kv("Etag", "abc"));
        assert_eq!(one(&[0xC3, 0x93]), kv("Encoding-Version", "1.3"));
        assert_eq!(one(&[0xC3, 0x02, 0x82, 0x92]), kv("Encoding-Version", "page 2 1.2"));
    }

    #[test]
    fn structured_headers() {
        // Accept-Charset 1.1 short form 0xEA = utf-8 (a sloppy but common SI push header).
        assert_eq!(one(&[0x81, 0xEA]), kv("Accept-Charset", "utf-8"));
        // Accept-Charset general form: length 3, Long-integer 2 octets 1000, ...
        assert_eq!(one(&[0xBB, 0x04, 0x02, 0x03, 0xE8, 51]), kv("Accept-Charset", "iso-10646-ucs-2; q=0.5"));
        assert_eq!(one(&[0x80, 0x03, 0xAE, 0x80, 51]), kv("Accept", "application/vnd.wap.sic; q=0.5"));
        assert_eq!(one(&[0x83, 0x99]), kv("Accept-Language", "en"));
        assert_eq!(one(&[0x8C, 0x01, 0x82]), kv("Content-Language", "fo"));
        assert_eq!(one(&[0xBC, 0x02, 0x80, 0x0B]), kv("Accept-Encoding", "gzip; q=0.1"));
        assert_eq!(one(&[0x86, 0xE0]), kv("Allow", "POST"));
        // Authorization: length 9, Basic, "foo" NUL, "bar" NUL (NowSMS forum example).
        assert_eq!(
            one(&[0x87, 0x09, 0x80, b'f', b'o', b'o', 0, b'b', b'a', b'r', 0]),
            kv("Authorization", "Basic Zm9vOmJhcg==")
        );
        assert_eq!(one(b"\xad\x05\x80abc\0"), kv("WWW-Authenticate", "Basic realm=\"abc\""));
        assert_eq!(one(&[0xC7, 0x80]), kv("Cache-Control", "no-cache"));
        assert_eq!(one(&[0x88, 0x02, 0x82, 0xBC]), kv("Cache-Control", "max-age=60"));
        assert_eq!(
            one(&[0xBD, 0x03, 0x80, 0x8D, 0x91]),
            kv("Cache-Control", "no-cache=\"Content-Length, Content-Type\"")
        );
        assert_eq!(one(&[0x8F, 0x03, b'f', b'o', b'o']), kv("Content-MD5", "Zm9v"));
        assert_eq!(one(&[0xBE, 0x03, 0x00, 0x80, 0x64]), kv("Content-Range", "bytes 0-*/*"));
        assert_eq!(one(&[0x90, 0x02, 0x05, 0x64]), kv("Content-Range", "bytes 5-*/100"));
        assert_eq!(one(&[0xA3, 0x03, 0x80, 0x00, 0x63]), kv("Range", "bytes=0-99"));
        assert_eq!(one(&[0xA3, 0x02, 0x81, 0x0A]), kv("Range", "bytes=-10"));
        assert_eq!(one(&[0xA5, 0x02, 0x81, 0x9E]), kv("Retry-After", "30"));
        assert_eq!(one(&[0x9F, 0x80]), kv("Pragma", "no-cache"));
        assert_eq!(one(&[0xAA, 0x91]), kv("Vary", "Content-Type"));
        assert_eq!(
            one(&[0xC5, 0x06, 0x81, 0x98, b'a', b'.', b'b', 0]),
            kv("Content-Disposition", "attachment; filename=a.b")
        );
        assert_eq!(
            one(&[0x91, 0x03, 0xAE, 0x81, 0xEA]),
            kv("Content-Type", "application/vnd.wap.sic; charset=utf-8")
        );
        assert_eq!(one(&[0xB2, 0x80]), kv("Accept-Application", "x-wap-application:*"));
        assert_eq!(one(&[0xB7, 0x92]), kv("Profile-Warning", "102"));
        assert_eq!(one(&[0xB8, 0x80]), kv("Expect", "100-continue"));
        assert_eq!(one(&[0xB9, 0x81]), kv("TE", "trailers"));
        assert_eq!(one(&[0xB9, 0x02, 0x82, 0x0B]), kv("TE", "chunked; q=0.1"));
        assert_eq!(one(&[0xC6, 0x80]), kv("X-WAP-Security", "close-subordinate"));
        assert_eq!(one(&[0x89, 0x80]), kv("Connection", "close"));
        assert_eq!(one(&[0xA7, 0x80]), kv("Transfer-Encoding", "chunked"));
        assert_eq!(one(&[0xC2, 0x03, 0x81, b'a', 0]), kv("Cookie", "1 a"));
    }

    #[test]
    fn malformed_inner_value_is_kept_as_hex() {
        // Date whose Long-integer has length 0: delimited, but not a Long-integer.
        assert_eq!(one(&[0x92, 0x00]), kv("Date", "00"));
        // Range with an unknown range type.
        assert_eq!(one(&[0xA3, 0x01, 0x85]), kv("Range", "0185"));
    }

    #[test]
    fn unknown_application_and_shifted_headers() {
        // 0xD0 = code 0x50, unknown: kept with the hex of its value.
        assert_eq!(one(&[0xD0, 0x02, 0xAB, 0xCD]), kv("x-wsp-header-0x50", "02abcd"));
        assert_eq!(one(b"\xd1text\0"), kv("x-wsp-header-0x51", "7465787400"));
        assert_eq!(hs(b"X-Custom\0hello\0X-Empty\0\0"), vec![kv("X-Custom", "hello"), kv("X-Empty", "")]);
        // Shift to page 2 (0x7F 0x02), then a well-known code of that page; shortcut back
        // to page 1 (0x01), then Push-Flag.
        assert_eq!(
            hs(&[0x7F, 0x02, 0x85, 0x81, 0x01, 0xB4, 0x81]),
            vec![kv("x-wsp-page-2-header-0x05", "81"), kv("Push-Flag", "1")]
        );
        // Short-cut shift to page 3.
        assert_eq!(hs(&[0x03, 0x90, 0x00]), vec![kv("x-wsp-page-3-header-0x10", "00")]);
    }

    #[test]
    fn truncation_errors() {
        let e = |b: &[u8]| decode(&mut Reader::new(b, 100), &mut Vec::new()).unwrap_err();
        assert_eq!(e(&[0x8D]), WspError::Truncated { what: "header value", offset: 101 });
        assert_eq!(e(&[0x92, 0x04, 0x2E]), WspError::Truncated { what: "header value", offset: 102 });
        assert_eq!(e(b"\xb1http://"), WspError::Unterminated { what: "header value", offset: 101 });
        assert_eq!(e(b"X-A\0abc"), WspError::Unterminated { what: "header value", offset: 104 });
        assert_eq!(e(b"X-A"), WspError::Unterminated { what: "header field name", offset: 100 });
        assert_eq!(e(&[0x7F]), WspError::Truncated { what: "page identity", offset: 101 });
        assert_eq!(e(&[0x7F, 0x00]), WspError::Invalid { what: "page identity", offset: 101 });
        assert_eq!(e(&[0x00]), WspError::Invalid { what: "header field name", offset: 100 });
    }
}
