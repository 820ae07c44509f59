//! Streaming JSON output of `otapushctl decode`: one object per line, written by serde_json's
//! serializer (compact, with [`HexFormatter`]) into a buffered writer, and the small
//! serializers the records share.

use serde::{Serialize, Serializer};
use std::io::{self, Write};

/// Bytes written as a lower-case hex string by [`HexFormatter`]: they go through
/// `serialize_bytes`, so only a serializer with that formatter (every `decode` output and
/// [`to_value`]) gives the string; serde_json's own formatters would give an array.
pub struct Hex<'a>(pub &'a [u8]);

impl Serialize for Hex<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

/// serde_json's compact output with byte arrays as lower-case hex strings, through
/// `Formatter::write_byte_array` (documented for hex or base64 strings). Hex digits never need
/// escaping, so they skip the escape scan every `serialize_str` pays.
pub struct HexFormatter;

impl serde_json::ser::Formatter for HexFormatter {
    fn write_byte_array<W: ?Sized + Write>(&mut self, w: &mut W, value: &[u8]) -> io::Result<()> {
        let mut digits = [0u8; 512];
        w.write_all(b"\"")?;
        for chunk in value.chunks(digits.len() / 2) {
            let out = &mut digits[..chunk.len() * 2];
            crate::hex::encode_lower_into(chunk, out);
            w.write_all(out)?;
        }
        w.write_all(b"\"")
    }
}

/// `record` as a JSON value, through the same formatter as the output (tests and fuzzing).
pub fn to_value<T: Serialize + ?Sized>(record: &T) -> serde_json::Result<serde_json::Value> {
    let mut out = Vec::new();
    record.serialize(&mut serde_json::Serializer::with_formatter(&mut out, HexFormatter))?;
    serde_json::from_slice(&out)
}

/// An RFC 3339 time stamp already formatted as ASCII (`Timestamp::rfc3339_bytes`).
pub struct Rfc3339(pub [u8; 25]);

impl Serialize for Rfc3339 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(std::str::from_utf8(&self.0).unwrap_or_default())
    }
}

/// Writes `record` as one JSON line.
pub fn write_line<W: Write + ?Sized, T: Serialize + ?Sized>(out: &mut W, record: &T) -> io::Result<()> {
    record
        .serialize(&mut serde_json::Serializer::with_formatter(&mut *out, HexFormatter))
        .map_err(io::Error::from)?;
    out.write_all(b"\n")
}

/// The `{"error": "…"}` line of an input that could not be decoded.
pub fn write_error<W: Write + ?Sized>(out: &mut W, message: &dyn std::fmt::Display) -> io::Result<()> {
    #[derive(Serialize)]
    struct ErrorRecord<'a> {
        #[serde(serialize_with = "display")]
        error: &'a dyn std::fmt::Display,
    }
    fn display<S: Serializer>(v: &&dyn std::fmt::Display, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }
    write_line(out, &ErrorRecord { error: message })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_small_and_large_and_error_lines() {
        let mut out = Vec::new();
        write_line(&mut out, &Hex(&[0x0a, 0xff])).unwrap();
        let big = vec![0xABu8; 300];
        write_line(&mut out, &Hex(&big)).unwrap();
        write_error(&mut out, &"bad \"pdu\"").unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "\"0aff\"");
        assert_eq!(lines[1], format!("\"{}\"", "ab".repeat(300)));
        assert_eq!(lines[2], r#"{"error":"bad \"pdu\""}"#);
    }
}
