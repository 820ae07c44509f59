//! Readable renderings of WSP value types shared by headers and parameters (WAP-230 §8.4.2):
//! Q-value, Version-value, Field-name and the generic self-delimiting value.

use super::basic::{Reader, QUOTED_STRING};
use super::error::WspError;
use super::tables;
use std::borrow::Cow;

/// Q-value (§8.4.2.1): uintvar 1–100 is (n−1)/100, 101–1099 is (n−100)/1000. Printed as a
/// decimal fraction without trailing zeros (`0.5`, `0.333`); other numbers print as they are.
pub(crate) fn q_value(n: u32) -> String {
    let (num, digits) = match n {
        1..=100 => (n - 1, 2),
        101..=1099 => (n - 100, 3),
        _ => return n.to_string(),
    };
    if num == 0 {
        return "0".into();
    }
    let mut frac = format!("{num:0digits$}");
    while frac.ends_with('0') {
        frac.pop();
    }
    format!("0.{frac}")
}

/// The uintvar a q-value string stands for, if `s` is exactly what [`q_value`] prints.
pub(crate) fn q_code(s: &str) -> Option<u32> {
    if s == "0" {
        return Some(1);
    }
    let frac = s.strip_prefix("0.")?;
    if frac.is_empty() || frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v: u32 = frac.parse().ok()?;
    let n = match frac.len() {
        1 => v * 10 + 1,
        2 => v + 1,
        _ => v + 100,
    };
    (q_value(n) == s).then_some(n)
}

/// Version-value (§8.4.2.3): a Short-integer (major in bits 6–4, minor in bits 3–0, minor 15
/// meaning none) printed `major.minor`, or a Text-string.
pub(crate) fn version<'a>(r: &mut Reader<'a>) -> Result<Cow<'a, str>, WspError> {
    match r.peek() {
        Some(b) if b & 0x80 != 0 => {
            let v = r.short_integer("Version-value")?;
            Ok(version_name(v).into())
        }
        _ => r.text_string("Version-value"),
    }
}

/// `major.minor` of a Version-value short integer.
pub(crate) fn version_name(v: u8) -> String {
    let (major, minor) = ((v >> 4) & 7, v & 0x0F);
    if minor == 15 {
        major.to_string()
    } else {
        format!("{major}.{minor}")
    }
}

/// The Version-value short integer a `major[.minor]` string stands for.
pub(crate) fn version_code(s: &str) -> Option<u8> {
    let (major, minor) = match s.split_once('.') {
        Some((a, b)) => (a.parse::<u8>().ok()?, b.parse::<u8>().ok()?),
        None => (s.parse::<u8>().ok()?, 15),
    };
    let code = (major < 8 && minor < 16).then_some((major << 4) | minor)?;
    (version_name(code) == s).then_some(code)
}

/// A well-known header field name (Field-name, §8.4.2.6) by code; unknown codes print as
/// `x-wsp-header-0xNN`.
pub(crate) fn header_field_name(code: u8) -> Cow<'static, str> {
    tables::header_name(code).map_or_else(|| format!("x-wsp-header-0x{code:02x}").into(), Cow::Borrowed)
}

/// Any self-delimiting value, printed as readably as its form allows: No-value (a lone
/// NUL) as empty, a Short-integer or Long-integer (up to 8 octets) as decimal, text as text
/// (Quote or Quoted-string mark dropped), any other length-prefixed value as hex.
pub(crate) fn generic<'a>(r: &mut Reader<'a>, what: &'static str) -> Result<Cow<'a, str>, WspError> {
    let first = r.peek().ok_or(WspError::Truncated { what, offset: r.offset() })?;
    match first {
        0 => {
            r.u8(what)?;
            Ok(Cow::Borrowed(""))
        }
        1..=31 => {
            let block = r.length_block(what)?.rest();
            if first <= 8 {
                Ok(block.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b)).to_string().into())
            } else {
                Ok(crate::hex::encode_lower(block).into())
            }
        }
        QUOTED_STRING => r.text_value(what),
        32..=127 => r.text_string(what),
        _ => Ok(r.short_integer(what)?.to_string().into()),
    }
}

/// Every value up to the end of `r`, each printed by [`generic`], joined by spaces.
pub(crate) fn generic_items(r: &mut Reader<'_>, what: &'static str) -> Result<String, WspError> {
    let mut out = String::new();
    let mut first = true;
    while !r.is_empty() {
        if !first {
            out.push(' ');
        }
        first = false;
        out.push_str(&generic(r, what)?);
    }
    Ok(out)
}

/// Standard base64 (RFC 4648 §4) with padding, as HTTP prints Content-MD5 and Basic
/// credentials.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sym = |i: u32| A[(i & 63) as usize] as char;
    let mut s = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (b(0) << 16) | (b(1) << 8) | b(2);
        s.push(sym(n >> 18));
        s.push(sym(n >> 12));
        s.push(if chunk.len() > 1 { sym(n >> 6) } else { '=' });
        s.push(if chunk.len() > 2 { sym(n) } else { '=' });
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q_values() {
        assert_eq!(q_value(1), "0");
        assert_eq!(q_value(51), "0.5");
        assert_eq!(q_value(100), "0.99");
        assert_eq!(q_value(433), "0.333");
        assert_eq!(q_value(101), "0.001");
        assert_eq!(q_value(1099), "0.999");
        assert_eq!(q_value(0), "0");
        assert_eq!(q_value(2000), "2000");
        for n in 1..=1099 {
            let s = q_value(n);
            let back = q_code(&s).unwrap();
            assert_eq!(q_value(back), s);
        }
        assert_eq!(q_code("0.50"), None);
        assert_eq!(q_code("1"), None);
    }

    #[test]
    fn versions() {
        assert_eq!(version_name(0x12), "1.2");
        assert_eq!(version_name(0x1F), "1");
        assert_eq!(version_code("1.3"), Some(0x13));
        assert_eq!(version_code("2"), Some(0x2F));
        assert_eq!(version_code("1.15"), None);
        assert_eq!(version_code("8.0"), None);
        assert_eq!(version(&mut Reader::new(&[0x93], 0)), Ok("1.3".into()));
        assert_eq!(version(&mut Reader::new(b"1.5a\0", 0)), Ok("1.5a".into()));
    }

    #[test]
    fn generic_values() {
        let mut r = Reader::new(
            &[0x00, 0x85, 0x02, 0x01, 0x00, b'a', 0, 0x22, b'q', 0, 0x09, 1, 2, 3, 4, 5, 6, 7, 8, 9],
            0,
        );
        assert_eq!(generic_items(&mut r, "v"), Ok(" 5 256 a q 010203040506070809".into()));
    }

    #[test]
    fn base64_rfc4648_vectors() {
        // RFC 4648 §10 test vectors.
        for (i, o) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foobar", "Zm9vYmFy")] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }
}
