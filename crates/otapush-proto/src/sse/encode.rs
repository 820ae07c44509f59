//! The event-stream encoder: events back to `text/event-stream` bytes (WHATWG HTML §9.2.5
//! grammar), for the parser's round-trip tests (nothing in the daemon writes event streams).
//!
//! The output parses back to the same events with [`super::parser`]: data lines are split at LF,
//! the `id` field is written when the last event ID changes (it persists across events) or the
//! event owns it ([`Event::own_id`]), and
//! the `event` field is left out for the default type `message`.

use super::parser::Event;
use thiserror::Error;

/// An event the stream grammar cannot carry.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// CR ends a line in an event stream, so no dispatched `data` ever contains one.
    #[error("event data contains CR at offset {offset}")]
    CrInData {
        /// Octet offset of the CR in the data.
        offset: usize,
    },
    /// The event type is a single line.
    #[error("event type contains a line break at offset {offset}")]
    BreakInType {
        /// Octet offset of the CR or LF in the type.
        offset: usize,
    },
    /// The id is a single line, and an id containing U+0000 is ignored by receivers.
    #[error("event id contains CR, LF or NUL at offset {offset}")]
    BadId {
        /// Octet offset of the character in the id.
        offset: usize,
    },
}

/// Writes events in order, tracking the receiver's last event ID.
#[derive(Debug, Clone, Default)]
pub struct Encoder {
    last_id: String,
}

impl Encoder {
    /// An encoder for a receiver whose last event ID is empty (a new stream).
    pub fn new() -> Encoder {
        Encoder::default()
    }

    /// Appends one event, ending with the blank line that dispatches it.
    pub fn event(&mut self, ev: &Event, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if let Some(offset) = ev.data.find('\r') {
            return Err(EncodeError::CrInData { offset });
        }
        if let Some(offset) = ev.event_type.find(['\r', '\n']) {
            return Err(EncodeError::BreakInType { offset });
        }
        if let Some(offset) = ev.id.find(['\r', '\n', '\0']) {
            return Err(EncodeError::BadId { offset });
        }
        if ev.id != self.last_id || ev.own_id {
            field(out, "id", &ev.id);
            self.last_id.clone_from(&ev.id);
        }
        if !ev.event_type.is_empty() && ev.event_type != "message" {
            field(out, "event", &ev.event_type);
        }
        for line in ev.data.split('\n') {
            field(out, "data", line);
        }
        out.push(b'\n');
        Ok(())
    }

    /// Appends a `retry` field in a block of its own.
    pub fn retry(&mut self, ms: u64, out: &mut Vec<u8>) {
        field(out, "retry", &ms.to_string());
        out.push(b'\n');
    }

    /// Appends a comment line (a keep-alive); line breaks in `text` start new comment lines.
    pub fn comment(&mut self, text: &str, out: &mut Vec<u8>) {
        for line in text.split(['\r', '\n']) {
            out.push(b':');
            out.extend_from_slice(line.as_bytes());
            out.push(b'\n');
        }
    }
}

/// `name: value` LF, or `name:` LF for an empty value.
fn field(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.push(b':');
    if !value.is_empty() {
        // One space after the colon is always removed by the receiver, so a value that starts
        // with a space survives.
        out.push(b' ');
        out.extend_from_slice(value.as_bytes());
    }
    out.push(b'\n');
}
