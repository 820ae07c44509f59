//! `otapushctl decode push`: the whole receive path over a list of SMS PDUs, in order.

use crate::receive::{Completed, Outcome, Receiver};
use serde_json::{json, Map, Value};

/// Runs the PDUs through a fresh [`Receiver`] (reassembly included) and returns one JSON object
/// per completed message, or per PDU that cannot become one (`{"error": …}`, as `Err`).
/// Incomplete messages yield nothing.
pub fn decode_push_json(pdus: &[Vec<u8>]) -> Vec<Result<Value, Value>> {
    let mut receiver = Receiver::new(crate::wdp::Limits::from(&crate::config::WdpConfig::default()));
    let mut out = Vec::new();
    let now = crate::time::now_ms();
    for (i, pdu) in pdus.iter().enumerate() {
        for outcome in receiver.process(i as u64, pdu, now) {
            match outcome {
                Outcome::Complete(c) => out.push(Ok(completed_json(&c))),
                Outcome::Rejected { tags, reason } => {
                    let which: Vec<u64> = tags.iter().map(|t| t + 1).collect();
                    out.push(Err(json!({ "error": reason, "pdus": which })))
                }
                Outcome::Pending { .. } | Outcome::Duplicate { .. } => {}
            }
        }
    }
    out
}

fn completed_json(c: &Completed) -> Value {
    let mut o = Map::new();
    o.insert("kind".into(), json!(c.kind.as_str()));
    o.insert("originator".into(), json!(c.originator));
    o.insert("sent_time".into(), json!(c.sent_time));
    o.insert("payload_hex".into(), json!(crate::hex::encode_lower(&c.payload)));
    o.insert(
        "ports".into(),
        c.ports.map_or(Value::Null, |p| json!({ "src": p.src, "dst": p.dst, "bits": p.bits })),
    );
    o.insert("reference".into(), json!(c.reference));
    o.insert("segments".into(), json!(c.tags.len()));
    if let Some(t) = &c.text {
        o.insert("text".into(), json!(t));
    }
    if c.kind == crate::message::Kind::WspPush {
        if let Ok(Value::Object(w)) = super::decode_wsp::decode_wsp_json(&c.payload) {
            o.extend(w);
        }
        if !c.events.is_empty() || c.messages.iter().any(|m| m.event.is_some()) {
            let events: Vec<Value> = c
                .events
                .iter()
                .map(|e| json!({ "type": e.event_type, "data": e.data, "id": e.id }))
                .collect();
            o.insert("events".into(), Value::Array(events));
        }
    }
    o.insert("ids".into(), json!(c.messages.iter().map(|m| m.id.as_str()).collect::<Vec<_>>()));
    Value::Object(o)
}
