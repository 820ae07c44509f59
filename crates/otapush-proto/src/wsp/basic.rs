//! The basic rules of WSP encoding (WAP-230 §8.1.2 uintvar, §8.4.2.1 basic rules, §8.4.2.2
//! length): a bounds-checked cursor whose errors carry absolute PDU offsets.

use super::error::WspError;
use std::borrow::Cow;

/// Octet 31: a uintvar length follows (§8.4.2.2).
pub(crate) const LENGTH_QUOTE: u8 = 31;
/// Octet 127: the text that follows starts with an octet ≥ 128 (§8.4.2.1).
pub(crate) const QUOTE: u8 = 127;
/// Octet 34: a Quoted-string follows (§8.4.2.1).
pub(crate) const QUOTED_STRING: u8 = 34;

/// A view of one field of the PDU. `base` is the PDU offset of `buf[0]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

/// What the first octet of a value says about its form (§8.4.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueForm {
    /// 0–30: Short-length, or 31: Length-quote; `len` value octets follow.
    Length,
    /// 32–127: NUL-terminated text.
    Text,
    /// 128–255: one Short-integer octet.
    Short,
}

impl ValueForm {
    pub(crate) fn of(first: u8) -> ValueForm {
        match first {
            0..=31 => ValueForm::Length,
            32..=127 => ValueForm::Text,
            _ => ValueForm::Short,
        }
    }
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], base: usize) -> Self {
        Reader { buf, pos: 0, base }
    }

    /// The PDU offset of the next octet.
    pub(crate) fn offset(&self) -> usize {
        self.base + self.pos
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// The octets not read yet.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, WspError> {
        let b = self.peek().ok_or(WspError::Truncated { what, offset: self.offset() })?;
        self.pos += 1;
        Ok(b)
    }

    /// The next `n` octets.
    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], WspError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let s = end
            .and_then(|e| self.buf.get(self.pos..e))
            .ok_or(WspError::Truncated { what, offset: self.offset() })?;
        self.pos += n;
        Ok(s)
    }

    /// A reader over the next `n` octets, which this reader skips.
    pub(crate) fn sub(&mut self, n: usize, what: &'static str) -> Result<Reader<'a>, WspError> {
        let base = self.offset();
        Ok(Reader::new(self.take(n, what)?, base))
    }

    /// Uintvar-integer (§8.1.2): at most 5 octets, MSB = continuation, value ≤ 2³²−1.
    pub(crate) fn uintvar(&mut self, what: &'static str) -> Result<u32, WspError> {
        let start = self.offset();
        let mut v: u64 = 0;
        for _ in 0..5 {
            let b = self.u8(what)?;
            v = (v << 7) | u64::from(b & 0x7F);
            if b & 0x80 == 0 {
                return u32::try_from(v).map_err(|_| WspError::IntegerOverflow { what, offset: start });
            }
        }
        Err(WspError::UintvarTooLong { what, offset: start })
    }

    /// Short-integer: one octet with the high bit set; the value is the low 7 bits.
    pub(crate) fn short_integer(&mut self, what: &'static str) -> Result<u8, WspError> {
        let at = self.offset();
        let b = self.u8(what)?;
        if b & 0x80 == 0 {
            return Err(WspError::Invalid { what, offset: at });
        }
        Ok(b & 0x7F)
    }

    /// Long-integer: Short-length (1–30) then that many big-endian octets.
    pub(crate) fn long_integer(&mut self, what: &'static str) -> Result<u64, WspError> {
        let at = self.offset();
        let len = self.u8(what)?;
        if len == 0 || len > 30 {
            return Err(WspError::Invalid { what, offset: at });
        }
        let octets = self.take(len as usize, what)?;
        let mut v: u64 = 0;
        for &b in octets {
            if v >> 56 != 0 {
                return Err(WspError::IntegerOverflow { what, offset: at });
            }
            v = (v << 8) | u64::from(b);
        }
        Ok(v)
    }

    /// Integer-value: Short-integer or Long-integer.
    pub(crate) fn integer_value(&mut self, what: &'static str) -> Result<u64, WspError> {
        match self.peek() {
            Some(b) if b & 0x80 != 0 => self.short_integer(what).map(u64::from),
            _ => self.long_integer(what),
        }
    }

    /// Value-length (§8.4.2.2): Short-length 0–30, or Length-quote then a uintvar.
    pub(crate) fn value_length(&mut self, what: &'static str) -> Result<usize, WspError> {
        let at = self.offset();
        match self.u8(what)? {
            n @ 0..=30 => Ok(n as usize),
            LENGTH_QUOTE => Ok(self.uintvar(what)? as usize),
            _ => Err(WspError::Invalid { what, offset: at }),
        }
    }

    /// A Value-length followed by that many octets, as a reader.
    pub(crate) fn length_block(&mut self, what: &'static str) -> Result<Reader<'a>, WspError> {
        let n = self.value_length(what)?;
        self.sub(n, what)
    }

    /// The octets up to the next NUL (which is consumed, not returned).
    pub(crate) fn raw_text(&mut self, what: &'static str) -> Result<&'a [u8], WspError> {
        let at = self.offset();
        let rest = self.rest();
        let n = rest.iter().position(|&b| b == 0).ok_or(WspError::Unterminated { what, offset: at })?;
        let text = rest.get(..n).unwrap_or(&[]);
        self.pos += n + 1;
        Ok(text)
    }

    /// Text-string: an optional Quote (127) then NUL-terminated text. Invalid UTF-8 → U+FFFD.
    pub(crate) fn text_string(&mut self, what: &'static str) -> Result<Cow<'a, str>, WspError> {
        if self.peek() == Some(QUOTE) {
            self.pos += 1;
        }
        Ok(lossy(self.raw_text(what)?))
    }

    /// Text-value: No-value (a lone NUL), Token-text, or Quoted-string (its `"` dropped).
    pub(crate) fn text_value(&mut self, what: &'static str) -> Result<Cow<'a, str>, WspError> {
        if self.peek() == Some(QUOTED_STRING) {
            self.pos += 1;
            return Ok(lossy(self.raw_text(what)?));
        }
        self.text_string(what)
    }

    /// The whole of a self-delimiting value (§8.4.1.2): one Short-integer octet, a
    /// length-prefixed value (prefix included), or NUL-terminated text (NUL included).
    pub(crate) fn skip_value(&mut self, what: &'static str) -> Result<&'a [u8], WspError> {
        let start = self.pos;
        let first = self.peek().ok_or(WspError::Truncated { what, offset: self.offset() })?;
        match ValueForm::of(first) {
            ValueForm::Short => {
                self.pos += 1;
            }
            ValueForm::Length => {
                let n = self.value_length(what)?;
                self.take(n, what)?;
            }
            ValueForm::Text => {
                self.raw_text(what)?;
            }
        }
        Ok(self.buf.get(start..self.pos).unwrap_or(&[]))
    }
}

/// Text bytes as a string, borrowed when valid UTF-8; invalid UTF-8 becomes U+FFFD.
pub(crate) fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(b: &[u8]) -> Reader<'_> {
        Reader::new(b, 10)
    }

    #[test]
    fn uintvar_limits() {
        assert_eq!(r(&[0x00]).uintvar("x"), Ok(0));
        assert_eq!(r(&[0x7F]).uintvar("x"), Ok(127));
        // 0x81 0x00 = 1·128 + 0.
        assert_eq!(r(&[0x81, 0x00]).uintvar("x"), Ok(128));
        // 0x8F 0xFF 0xFF 0xFF 0x7F = 4 + 7·4 = 32 bits, all ones.
        assert_eq!(r(&[0x8F, 0xFF, 0xFF, 0xFF, 0x7F]).uintvar("x"), Ok(u32::MAX));
        // 0x90 in the first of five octets sets bit 32.
        assert_eq!(
            r(&[0x90, 0x80, 0x80, 0x80, 0x00]).uintvar("x"),
            Err(WspError::IntegerOverflow { what: "x", offset: 10 })
        );
        assert_eq!(
            r(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x00]).uintvar("x"),
            Err(WspError::UintvarTooLong { what: "x", offset: 10 })
        );
        assert_eq!(r(&[0x81]).uintvar("x"), Err(WspError::Truncated { what: "x", offset: 11 }));
    }

    #[test]
    fn integers_and_lengths() {
        assert_eq!(r(&[0x84]).integer_value("x"), Ok(4));
        assert_eq!(r(&[0x02, 0x80, 0x02]).integer_value("x"), Ok(0x8002));
        assert_eq!(r(&[0x00]).long_integer("x"), Err(WspError::Invalid { what: "x", offset: 10 }));
        assert_eq!(r(&[0x02, 0x01]).long_integer("x"), Err(WspError::Truncated { what: "x", offset: 11 }));
        // Nine significant octets do not fit in 64 bits.
        assert_eq!(
            r(&[9, 1, 0, 0, 0, 0, 0, 0, 0, 0]).long_integer("x"),
            Err(WspError::IntegerOverflow { what: "x", offset: 10 })
        );
        // Leading zero octets are fine.
        assert_eq!(r(&[9, 0, 0xFF, 0, 0, 0, 0, 0, 0, 1]).long_integer("x"), Ok(0xFF00_0000_0000_0001));
        assert_eq!(r(&[0x1F, 0x81, 0x00]).value_length("x"), Ok(128));
        assert_eq!(r(&[0x20]).value_length("x"), Err(WspError::Invalid { what: "x", offset: 10 }));
        assert_eq!(
            r(&[0x03, 1, 2]).length_block("x").map(|b| b.rest()),
            Err(WspError::Truncated { what: "x", offset: 11 })
        );
    }

    #[test]
    fn texts() {
        assert_eq!(r(b"abc\0d").text_string("x"), Ok("abc".into()));
        assert_eq!(r(b"\x7f\xc3\xa9\0").text_string("x"), Ok("é".into()));
        assert_eq!(r(b"\"quoted\0").text_value("x"), Ok("quoted".into()));
        assert_eq!(r(b"\0").text_value("x"), Ok("".into()));
        assert_eq!(r(b"abc").text_string("x"), Err(WspError::Unterminated { what: "x", offset: 10 }));
        assert_eq!(r(b"\xff\xfe\0").raw_text("x"), Ok(&b"\xff\xfe"[..]));
        assert_eq!(r(b"a\xff\0").text_string("x"), Ok("a\u{fffd}".into()));
    }

    #[test]
    fn skip_values() {
        let mut rd = r(&[0x85, 0x02, 1, 2, b'h', b'i', 0, 0x1F, 0x01, 9]);
        assert_eq!(rd.skip_value("x"), Ok(&[0x85][..]));
        assert_eq!(rd.skip_value("x"), Ok(&[0x02, 1, 2][..]));
        assert_eq!(rd.skip_value("x"), Ok(&b"hi\0"[..]));
        assert_eq!(rd.skip_value("x"), Ok(&[0x1F, 0x01, 9][..]));
        assert!(rd.is_empty());
        assert_eq!(rd.skip_value("x"), Err(WspError::Truncated { what: "x", offset: 20 }));
    }
}
