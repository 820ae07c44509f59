//! Hexadecimal text ↔ bytes, as modems print PDUs.

use thiserror::Error;

/// Why a hex string is not a byte string.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HexError {
    /// The text has an odd number of digits (the count).
    #[error("odd number of hex digits ({0})")]
    OddLength(usize),
    /// A character that is not a hex digit.
    #[error("invalid hex digit {ch:?} at offset {offset}")]
    InvalidDigit {
        /// The character.
        ch: char,
        /// Its octet offset in the text.
        offset: usize,
    },
}

/// Value of each ASCII hex digit (either case); 0xFF for every other byte.
const NIBBLE: [u8; 256] = {
    let mut t = [0xFFu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Decodes hex digits (either case) into bytes. Surrounding whitespace is trimmed.
pub fn decode(text: &str) -> Result<Vec<u8>, HexError> {
    let mut out = Vec::new();
    decode_into(text.as_bytes(), &mut out)?;
    Ok(out)
}

/// [`decode`] of ASCII text into a reused buffer (cleared first), for batch readers.
pub fn decode_into(text: &[u8], out: &mut Vec<u8>) -> Result<(), HexError> {
    out.clear();
    let t = text.trim_ascii();
    if t.len() % 2 != 0 {
        return Err(HexError::OddLength(t.len()));
    }
    out.reserve(t.len() / 2);
    // Branch-free over the digits: an invalid one sets a high bit in `bad`; find it afterwards.
    let mut bad = 0u8;
    out.extend(t.chunks_exact(2).map(|pair| {
        let (hi, lo) = (NIBBLE[usize::from(pair[0])], NIBBLE[usize::from(pair[1])]);
        bad |= hi | lo;
        hi << 4 | lo & 15
    }));
    if bad > 15 {
        out.clear();
        let offset = t.iter().position(|&c| NIBBLE[usize::from(c)] > 15).unwrap_or(0);
        return Err(HexError::InvalidDigit { ch: char::from(t[offset]), offset });
    }
    Ok(())
}

fn encode_with(bytes: &[u8], digits: &[u8; 16], out: &mut [u8]) {
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = digits[usize::from(b >> 4)];
        pair[1] = digits[usize::from(b & 15)];
    }
}

/// Encodes bytes as upper-case hex, as modems print PDUs.
pub fn encode_upper(bytes: &[u8]) -> String {
    let mut out = vec![0u8; bytes.len() * 2];
    encode_with(bytes, b"0123456789ABCDEF", &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Encodes bytes as lower-case hex, as the JSON output of `otapushctl` prints them.
pub fn encode_lower(bytes: &[u8]) -> String {
    let mut out = vec![0u8; bytes.len() * 2];
    encode_lower_into(bytes, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Lower-case hex of `bytes` into the first `2 * bytes.len()` octets of `out`.
pub fn encode_lower_into(bytes: &[u8], out: &mut [u8]) {
    encode_with(bytes, b"0123456789abcdef", out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        assert_eq!(decode(" 0aFf\n").unwrap(), vec![0x0a, 0xff]);
        assert_eq!(encode_upper(&[0x0a, 0xff]), "0AFF");
        assert_eq!(encode_lower(&[0x0a, 0xff]), "0aff");
        assert_eq!(decode("abc"), Err(HexError::OddLength(3)));
        assert_eq!(decode("0g"), Err(HexError::InvalidDigit { ch: 'g', offset: 1 }));
        assert_eq!(decode("g0"), Err(HexError::InvalidDigit { ch: 'g', offset: 0 }));
        assert_eq!(decode("0A:0"), Err(HexError::InvalidDigit { ch: ':', offset: 2 }));
        let mut buf = vec![1, 2, 3];
        decode_into(b"\tFF00\r\n", &mut buf).unwrap();
        assert_eq!(buf, [0xff, 0x00]);
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(decode(&encode_lower(&all)).unwrap(), all);
        assert_eq!(decode(&encode_upper(&all)).unwrap(), all);
    }
}
