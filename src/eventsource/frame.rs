//! The frames a subscriber receives, as `text/event-stream` bytes (WHATWG HTML §9.2.5): one
//! `retry:` block first, then one block per event (`id:` = the stable message id, `event:` =
//! its type unless `message`, one `data:` line per line), and `:` comment lines as heartbeats.

use crate::sse::encode::Encoder;
use crate::sse::Event;
use crate::store::HistoryEvent;

/// The stream's opening: the reconnection time, and a comment when the resume found a gap.
pub fn opening(retry_ms: u64, gap: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = Encoder::new();
    enc.retry(retry_ms, &mut out);
    if gap {
        enc.comment(" gap: Last-Event-ID is not in the history window; replaying the window", &mut out);
    }
    out
}

/// One event block. Line breaks in the data become data lines (a CR, which no parsed event
/// carries, counts as one too); a type with a line break is sent as `message`.
pub fn event(ev: &HistoryEvent) -> Vec<u8> {
    let data = if ev.data.contains('\r') {
        ev.data.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        ev.data.clone()
    };
    let event_type = if ev.event_type.contains(['\r', '\n']) { String::new() } else { ev.event_type.clone() };
    let e = Event { event_type, data, id: ev.id.clone(), own_id: true };
    let mut out = Vec::with_capacity(ev.data.len() + ev.id.len() + ev.event_type.len() + 24);
    // The id is a hex message id and the data and type are clean now: this cannot fail.
    if Encoder::new().event(&e, &mut out).is_err() {
        out.clear();
    }
    out
}

/// A heartbeat: an empty comment line, which receivers ignore.
pub fn heartbeat() -> &'static [u8] {
    b":\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sse::{Output, Parser};

    fn ev(id: &str, t: &str, data: &str) -> HistoryEvent {
        HistoryEvent {
            seq: 1,
            app_id: "a".into(),
            id: id.into(),
            stream: String::new(),
            event_type: t.into(),
            data: data.into(),
            topic: None,
            groups: Vec::new(),
        }
    }

    #[test]
    fn frames_parse_back_to_the_events() {
        let mut bytes = opening(2500, false);
        bytes.extend_from_slice(heartbeat());
        bytes.extend(event(&ev("00ff", "quote", "a\nb")));
        bytes.extend(event(&ev("0100", "message", "")));
        bytes.extend(event(&ev("0101", "bad\ntype", "x\r\ny\rz")));
        assert!(bytes.starts_with(b"retry: 2500\n\n:\nid: 00ff\nevent: quote\ndata: a\ndata: b\n\n"));
        let mut p = Parser::new(crate::sse::Limits::WAP_PUSH);
        let mut out = Vec::new();
        p.feed(&bytes, &mut |o| out.push(o));
        let events: Vec<_> = out
            .iter()
            .filter_map(|o| match o {
                Output::Event(e) => Some((e.id.as_str(), e.event_type.as_str(), e.data.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(
            events,
            [("00ff", "quote", "a\nb"), ("0100", "message", ""), ("0101", "message", "x\ny\nz")]
        );
        assert!(out.contains(&Output::Retry(2500)));
    }

    #[test]
    fn a_gap_is_a_comment() {
        let o = opening(0, true);
        assert!(o.starts_with(b"retry: 0\n\n: gap"), "{}", String::from_utf8_lossy(&o));
    }
}
