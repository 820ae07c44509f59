//! `otapushctl decode push`: the whole receive path over a list of SMS PDUs, in order.

use super::decode_sms::PortsRecord;
use super::decode_sse::EventRecord;
use super::decode_wsp::WspRecord;
use super::json::Hex;
use crate::receive::{Completed, Outcome, Receiver};
use serde::Serialize;
use serde_json::Value;

/// A fresh [`Receiver`] (reassembly included) fed one PDU at a time, numbered from 1.
pub struct PushDecoder {
    receiver: Receiver,
    next: u64,
    now: u64,
}

impl Default for PushDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl PushDecoder {
    pub fn new() -> Self {
        PushDecoder {
            receiver: Receiver::new(crate::wdp::Limits::default()),
            next: 0,
            now: crate::time::now_ms(),
        }
    }

    /// Counts an input line that was not a PDU, so later PDU numbers stay line numbers.
    pub fn skip(&mut self) {
        self.next += 1;
    }

    /// Runs one PDU through the receiver: completed messages (`Ok`) and PDUs that cannot become
    /// one (`Err`). Incomplete messages yield nothing.
    pub fn feed(&mut self, pdu: &[u8]) -> Vec<Result<Box<Completed>, RejectRecord>> {
        let tag = self.next;
        self.next += 1;
        let mut out = Vec::new();
        for outcome in self.receiver.process(tag, pdu, self.now) {
            match outcome {
                Outcome::Complete(c) => out.push(Ok(c)),
                Outcome::Rejected { tags, reason } => out.push(Err(RejectRecord {
                    error: reason.to_string(),
                    pdus: tags.iter().map(|t| t + 1).collect(),
                })),
                Outcome::Pending { .. } | Outcome::Duplicate { .. } => {}
            }
        }
        out
    }
}

/// Runs the PDUs through a [`PushDecoder`] and returns one JSON value per completed message, or
/// per PDU that cannot become one (`{"error": …, "pdus": [n…]}`, as `Err`).
pub fn decode_push_json(pdus: &[Vec<u8>]) -> Vec<Result<Value, Value>> {
    let mut decoder = PushDecoder::new();
    let mut out = Vec::new();
    for pdu in pdus {
        for r in decoder.feed(pdu) {
            out.push(match r {
                Ok(c) => {
                    serde_json::to_value(MessageRecord::new(&c)).map_err(|e| Value::String(e.to_string()))
                }
                Err(r) => Err(serde_json::to_value(r).unwrap_or(Value::Null)),
            });
        }
    }
    out
}

/// A PDU, or the partial message it ended, that the receive path refused.
#[derive(Serialize)]
pub struct RejectRecord {
    pub error: String,
    /// 1-based input positions of the PDUs concerned.
    pub pdus: Vec<u64>,
}

/// One completed message: the transport fields, the WSP fields of a push, its events.
#[derive(Serialize)]
pub struct MessageRecord<'a> {
    kind: &'static str,
    originator: &'a str,
    sent_time: Option<&'a str>,
    payload_hex: Hex<'a>,
    ports: Option<PortsRecord>,
    reference: Option<u16>,
    segments: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    #[serde(flatten)]
    wsp: Option<WspRecord<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    events: Option<Vec<EventRecord<'a>>>,
    ids: Vec<&'a str>,
}

impl<'a> MessageRecord<'a> {
    pub fn new(c: &'a Completed) -> Self {
        let push = c.kind == crate::message::Kind::WspPush;
        let wsp = if push { crate::wsp::parse(&c.payload).ok().map(|p| WspRecord::new(&p)) } else { None };
        let has_events = push && (!c.events.is_empty() || c.messages.iter().any(|m| m.event.is_some()));
        MessageRecord {
            kind: c.kind.as_str(),
            originator: &c.originator,
            sent_time: c.sent_time.as_deref(),
            payload_hex: Hex(&c.payload),
            ports: c.ports.map(|p| PortsRecord { src: p.src, dst: p.dst, bits: p.bits }),
            reference: c.reference,
            segments: c.tags.len(),
            text: c.text.as_deref(),
            wsp,
            events: has_events.then(|| c.events.iter().map(EventRecord::new).collect()),
            ids: c.messages.iter().map(|m| m.id.as_str()).collect(),
        }
    }
}
