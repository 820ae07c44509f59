//! Hexadecimal text ↔ bytes, as modems print PDUs.

use thiserror::Error;

/// Why a hex string is not a byte string.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HexError {
    #[error("odd number of hex digits ({0})")]
    OddLength(usize),
    #[error("invalid hex digit {ch:?} at offset {offset}")]
    InvalidDigit { ch: char, offset: usize },
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes hex digits (either case) into bytes. Surrounding whitespace is trimmed.
pub fn decode(text: &str) -> Result<Vec<u8>, HexError> {
    let t = text.trim().as_bytes();
    if t.len() % 2 != 0 {
        return Err(HexError::OddLength(t.len()));
    }
    let mut out = Vec::with_capacity(t.len() / 2);
    for (i, pair) in t.chunks_exact(2).enumerate() {
        let hi = nibble(pair[0]).ok_or(HexError::InvalidDigit { ch: pair[0] as char, offset: 2 * i })?;
        let lo = nibble(pair[1]).ok_or(HexError::InvalidDigit { ch: pair[1] as char, offset: 2 * i + 1 })?;
        out.push(hi << 4 | lo);
    }
    Ok(out)
}

/// Encodes bytes as upper-case hex, as modems print PDUs.
pub fn encode_upper(bytes: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(D[(b >> 4) as usize] as char);
        s.push(D[(b & 15) as usize] as char);
    }
    s
}

/// Encodes bytes as lower-case hex, as the JSON output of `otapushctl` prints them.
pub fn encode_lower(bytes: &[u8]) -> String {
    encode_upper(bytes).to_ascii_lowercase()
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
    }
}
