//! Streaming JSON output of `otapushctl decode`: one object per line, written with
//! `serde_json::to_writer` into a buffered writer, and the small serializers the records share.

use serde::{Serialize, Serializer};
use std::io::{self, Write};

/// Bytes serialized as a lower-case hex string, formatted on the stack when they fit.
pub struct Hex<'a>(pub &'a [u8]);

impl Serialize for Hex<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut stack = [0u8; 512];
        if self.0.len() * 2 <= stack.len() {
            let out = &mut stack[..self.0.len() * 2];
            crate::hex::encode_lower_into(self.0, out);
            s.serialize_str(std::str::from_utf8(out).unwrap_or_default())
        } else {
            s.serialize_str(&crate::hex::encode_lower(self.0))
        }
    }
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
    serde_json::to_writer(&mut *out, record).map_err(io::Error::from)?;
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
