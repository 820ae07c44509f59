//! `otapushctl decode sse`: an event stream on stdin → `{"events": [{"type", "data", "id"}],
//! "retry_ms": n|null}` (docs/cli.md, decode sse).

use crate::sse::{parse_body, Limits};
use serde_json::{json, Value};

/// Parses a whole event stream (BOM stripped once, an unterminated last block discarded, 1 MiB
/// event cap). `id` is each event's last event ID at dispatch; `retry_ms` is the reconnection
/// time the stream set last, or null. A `"dropped"` count of events over the cap is added only
/// when some were dropped.
pub fn decode_sse_json(input: &[u8]) -> Value {
    let parsed = parse_body(input, Limits::default());
    let events: Vec<Value> = parsed
        .events
        .into_iter()
        .map(|e| json!({"type": e.event_type, "data": e.data, "id": e.id}))
        .collect();
    let mut v = json!({"events": events, "retry_ms": parsed.retry_ms});
    if parsed.dropped > 0 {
        v["dropped"] = json!(parsed.dropped);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

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
