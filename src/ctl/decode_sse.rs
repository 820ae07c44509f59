//! `otapushctl decode sse`: an event stream on stdin → `{"events": [{"type", "data", "id"}],
//! "retry_ms": n|null}`, with `"dropped": n` only when events broke the cap (docs/cli.md,
//! decode sse).

use crate::sse::{parse_body, Event, Limits, ParsedBody};
use serde::Serialize;
use serde_json::Value;

/// Parses a whole event stream (BOM stripped once, an unterminated last block discarded, 1 MiB
/// event cap). `id` is each event's last event ID at dispatch; `retry_ms` is the reconnection
/// time the stream set last, or null.
pub fn parse(input: &[u8]) -> ParsedBody {
    parse_body(input, Limits::default())
}

/// [`parse`] as a JSON value (tests and fuzzing).
pub fn decode_sse_json(input: &[u8]) -> Value {
    super::json::to_value(&SseRecord::new(&parse(input))).unwrap_or(Value::Null)
}

/// The JSON record of a parsed stream.
#[derive(Serialize)]
pub struct SseRecord<'a> {
    events: Vec<EventRecord<'a>>,
    retry_ms: Option<u64>,
    #[serde(skip_serializing_if = "is_zero")]
    dropped: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl<'a> SseRecord<'a> {
    pub fn new(p: &'a ParsedBody) -> Self {
        SseRecord {
            events: p.events.iter().map(EventRecord::new).collect(),
            retry_ms: p.retry_ms,
            dropped: p.dropped,
        }
    }
}

/// One dispatched event (HTML Living Standard §9.2.6): also used by `decode push`.
#[derive(Serialize)]
pub struct EventRecord<'a> {
    #[serde(rename = "type")]
    event_type: &'a str,
    data: &'a str,
    id: &'a str,
}

impl<'a> EventRecord<'a> {
    pub fn new(e: &'a Event) -> Self {
        EventRecord { event_type: &e.event_type, data: &e.data, id: &e.id }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn contract_shape() {
        let v = decode_sse_json(
            b"\xEF\xBB\xBFretry: 2500\nid: 7\nevent: tick\ndata: a\ndata: b\n\ndata: c\n\ndata: cut",
        );
        assert_eq!(
            v,
            json!({
                "events": [
                    {"type": "tick", "data": "a\nb", "id": "7"},
                    {"type": "message", "data": "c", "id": "7"},
                ],
                "retry_ms": 2500,
            })
        );
    }

    #[test]
    fn empty_input_and_no_retry() {
        assert_eq!(decode_sse_json(b""), json!({"events": [], "retry_ms": null}));
    }

    #[test]
    fn oversized_event_is_counted() {
        let mut input = b"data: ".to_vec();
        input.extend(std::iter::repeat_n(b'x', (1 << 20) + 1));
        input.extend_from_slice(b"\n\ndata: small\n\n");
        let v = decode_sse_json(&input);
        assert_eq!(v["events"], json!([{"type": "message", "data": "small", "id": ""}]));
        assert_eq!(v["dropped"], json!(1));
    }
}
