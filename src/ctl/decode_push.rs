//! `otapushctl decode push`: the whole receive path over a list of SMS PDUs, in order.

use super::decode_sms::PortsRecord;
use super::decode_sse::EventRecord;
use super::decode_wsp::WspRecord;
use super::json::Hex;
use crate::cai::filter::essence;
use crate::message::{Kind, Message, EVENT_STREAM};
use crate::receive::{Outcome, Receiver};
use crate::sms::{self, SmsPdu, Tpdu, UserData};
use crate::{sse, wdp};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;

/// A fresh [`Receiver`] (reassembly included) fed one PDU at a time, numbered from 1.
pub struct PushDecoder {
    receiver: Receiver,
    /// The PDUs of messages not complete yet, by tag, for [`explain`].
    held: HashMap<u64, Vec<u8>>,
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
            held: HashMap::new(),
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
    pub fn feed(&mut self, pdu: &[u8]) -> Vec<Result<Box<Explained>, RejectRecord>> {
        let tag = self.next;
        self.next += 1;
        self.held.insert(tag, pdu.to_vec());
        let mut out = Vec::new();
        for outcome in self.receiver.process(tag, pdu, self.now) {
            match outcome {
                Outcome::Complete { messages, tags } => {
                    let pdus: Vec<Vec<u8>> = tags.iter().filter_map(|t| self.held.remove(t)).collect();
                    out.push(Ok(Box::new(explain(&pdus, messages))))
                }
                Outcome::Rejected { tags, reason } => {
                    for t in &tags {
                        self.held.remove(t);
                    }
                    out.push(Err(RejectRecord {
                        error: reason.to_string(),
                        pdus: tags.iter().map(|t| t + 1).collect(),
                    }))
                }
                Outcome::Duplicate { tag } => {
                    self.held.remove(&tag);
                }
                Outcome::Pending { .. } => {}
            }
        }
        out
    }
}

/// A completed message with the layers it was decoded from.
#[derive(Debug, Clone)]
pub struct Explained {
    pub kind: Kind,
    pub originator: String,
    pub sent_time: Option<String>,
    pub ports: Option<sms::Ports>,
    /// The concatenation reference, for a message of several segments.
    pub reference: Option<u16>,
    /// The reassembled user data without headers.
    pub payload: Vec<u8>,
    /// The text of a text message.
    pub text: Option<String>,
    /// The events of a push whose body is an event stream.
    pub events: Vec<sse::Event>,
    /// The messages it became (one per event for an event stream).
    pub messages: Vec<Message>,
    pub segments: usize,
}

/// Decodes the layers of a completed message again from its PDUs (in sequence order, as the
/// receive path returns their tags): TS 23.040 for the SMS, WAP-259 ports, WAP-230 for a push.
pub fn explain(pdus: &[Vec<u8>], messages: Vec<Message>) -> Explained {
    let decoded: Vec<SmsPdu> = pdus.iter().filter_map(|p| sms::decode(p, true).ok()).collect();
    let mut e = Explained {
        kind: Kind::Text,
        originator: String::new(),
        sent_time: None,
        ports: None,
        reference: None,
        payload: Vec::new(),
        text: None,
        events: Vec::new(),
        messages,
        segments: pdus.len(),
    };
    let mut text = true;
    for (i, d) in decoded.iter().enumerate() {
        match &d.tpdu {
            Tpdu::StatusReport(r) => {
                e.kind = Kind::StatusReport;
                e.originator = r.recipient.as_str().to_string();
                e.sent_time = Some(r.scts.to_rfc3339());
                e.payload = crate::receive::status_report_body(r);
                return e;
            }
            Tpdu::Deliver(del) => {
                if i == 0 {
                    e.originator = del.originator.as_str().trim().to_string();
                    e.sent_time = Some(del.scts.to_rfc3339());
                    e.ports = d.ports();
                    e.reference = d.concat().filter(|c| c.total > 1).map(|c| c.reference);
                }
                match &del.user_data {
                    UserData::Text(t) => e.payload.extend_from_slice(t.as_bytes()),
                    UserData::Binary(b) => {
                        text = false;
                        e.payload.extend_from_slice(b)
                    }
                }
            }
        }
    }
    let push_port =
        e.ports.is_some_and(|p| p.dst == wdp::PORT_WAP_PUSH || p.dst == wdp::PORT_WAP_PUSH_SECURE);
    if push_port {
        e.kind = Kind::WspPush;
        if let Ok(push) = crate::wsp::parse(&e.payload) {
            if essence(&push.content_type) == EVENT_STREAM {
                e.events = sse::parse_body(push.body, sse::Limits::WAP_PUSH).events;
            }
        }
    } else if e.ports.is_some() || !text {
        e.kind = Kind::Datagram;
    } else {
        e.text = Some(String::from_utf8_lossy(&e.payload).into_owned());
    }
    e
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
                    super::json::to_value(&MessageRecord::new(&c)).map_err(|e| Value::String(e.to_string()))
                }
                Err(r) => Err(super::json::to_value(&r).unwrap_or(Value::Null)),
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
    pub fn new(c: &'a Explained) -> Self {
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
            segments: c.segments,
            text: c.text.as_deref(),
            wsp,
            events: has_events.then(|| c.events.iter().map(EventRecord::new).collect()),
            ids: c.messages.iter().map(|m| m.id.as_str()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctl::encode::{encode_push, PushRequest};

    #[test]
    fn explains_a_two_segment_push_and_a_text() {
        let body: Vec<u8> = (0..200u8).collect();
        let req = PushRequest {
            app_id: Some("x-wap-application:mms.ua".into()),
            content_type: "application/vnd.wap.mms-message".into(),
            body: body.clone(),
            from: "+4912345".into(),
            reference: 7,
            ..Default::default()
        };
        let pdus = encode_push(&req).unwrap();
        let mut d = PushDecoder::new();
        assert!(d.feed(&pdus[1]).is_empty());
        let done = d.feed(&pdus[0]);
        let [Ok(e)] = &done[..] else { panic!("{}", done.len()) };
        assert_eq!(
            (e.kind, e.originator.as_str(), e.reference, e.segments),
            (Kind::WspPush, "+4912345", Some(7), 2)
        );
        assert_eq!(e.ports.map(|p| p.dst), Some(2948));
        let push = crate::wsp::parse(&e.payload).unwrap();
        assert_eq!(push.body, body.as_slice());
        assert_eq!((e.text.as_deref(), e.messages.len()), (None, 1));
        assert!(d.held.is_empty(), "nothing kept once complete");

        let t = sms::DeliverTemplate {
            smsc: None,
            originator: sms::Address::from_text("ACME").unwrap(),
            scts: sms::Timestamp {
                year: 2026,
                month: 11,
                day: 21,
                hour: 9,
                minute: 30,
                second: 0,
                tz_quarters: 4,
                nonbcd: false,
            },
            pid: 0,
        };
        let text = sms::segment_text(&t, "hello", 1, 8).unwrap();
        let done = d.feed(&text[0]);
        let [Ok(e)] = &done[..] else { panic!("{}", done.len()) };
        assert_eq!(
            (e.kind, e.text.as_deref(), e.reference, e.ports),
            (Kind::Text, Some("hello"), None, None)
        );
    }
}
