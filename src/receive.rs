//! The receive path, pure: raw SMS PDUs → decoded SMS (TS 23.040) → reassembled WDP datagrams
//! (WAP-259) → WSP pushes (WAP-230), text and datagrams → [`Message`]s.
//!
//! Every PDU comes with a caller's `tag` (the spool row id in the daemon). A completed message
//! returns the tags it consumed, so the caller deletes spooled PDUs only once the message is
//! committed; a rejected PDU returns its tags with the reason, for the dead-letter table.

use crate::message::{event_message_id, sms_message_id, EventInfo, Kind, Message, Source};
use crate::sms::{self, SmsPdu, Tpdu, UserData};
use crate::sse;
use crate::wdp::{self, Reassembler, Segment};
use crate::wsp;
use std::collections::{BTreeMap, HashMap};

/// The content type of a WAP Push body that is an event stream.
pub const EVENT_STREAM: &str = "text/event-stream";
const TEXT_PLAIN: &str = "text/plain; charset=utf-8";
const OCTET_STREAM: &str = "application/octet-stream";
/// The content type of a status report's body (a JSON object, see [`status_report_body`]).
pub const STATUS_REPORT_JSON: &str = "application/json";

/// A message completed from one or more PDUs, with the decoded layers `otapushctl decode push`
/// shows, and the [`Message`]s it becomes (several for an event stream, one per event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completed {
    pub kind: Kind,
    pub originator: String,
    pub sent_time: Option<String>,
    pub ports: Option<wdp::Ports>,
    /// The concatenation reference, for a message of several segments.
    pub reference: Option<u16>,
    /// The reassembled user data without headers.
    pub payload: Vec<u8>,
    /// The text of a text message.
    pub text: Option<String>,
    /// The events of a push whose body is an event stream.
    pub events: Vec<sse::Event>,
    pub messages: Vec<Message>,
    /// The tags of the PDUs this message consumed.
    pub tags: Vec<u64>,
}

/// What became of a PDU, or of the partial messages it displaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Complete(Box<Completed>),
    /// The segment is held until its siblings arrive.
    Pending {
        tag: u64,
        have: u8,
        total: u8,
    },
    /// The same segment is already held: the PDU can be dropped.
    Duplicate {
        tag: u64,
    },
    /// These PDUs cannot become a message; `reason` says why.
    Rejected {
        tags: Vec<u64>,
        reason: String,
    },
}

/// Segment facts kept beside the reassembler until the message completes.
#[derive(Debug, Clone)]
struct SegmentMeta {
    seq: u8,
    sent_time: String,
    text: bool,
}

/// The receive path's state: the reassembler and the event-stream routes.
pub struct Receiver {
    reassembler: Reassembler,
    segments: HashMap<u64, SegmentMeta>,
    /// Lower-case application id → `[[sse]]` stream name.
    streams: HashMap<String, String>,
}

impl Receiver {
    pub fn new(limits: wdp::Limits) -> Receiver {
        Receiver { reassembler: Reassembler::new(limits), segments: HashMap::new(), streams: HashMap::new() }
    }

    /// Sets which stream an application id's events belong to (`[[sse]] application_id`).
    pub fn set_streams<'a>(&mut self, routes: impl IntoIterator<Item = (&'a str, &'a str)>) {
        self.streams =
            routes.into_iter().map(|(app, name)| (app.to_ascii_lowercase(), name.to_string())).collect();
    }

    /// Changes the reassembly bounds; partial messages that no longer fit are returned rejected.
    pub fn set_limits(&mut self, limits: wdp::Limits) -> Vec<Outcome> {
        let evicted = self.reassembler.set_limits(limits);
        evicted.into_iter().map(|e| self.evicted(e)).collect()
    }

    /// When the oldest partial message expires (ms since the epoch), if any is held.
    pub fn next_deadline(&self) -> Option<u64> {
        self.reassembler.next_deadline()
    }

    /// Partial messages held now.
    pub fn partials(&self) -> usize {
        self.reassembler.partial_count()
    }

    /// Gives up partial messages older than the reassembly timeout.
    pub fn expire(&mut self, now_ms: u64) -> Vec<Outcome> {
        let evicted = self.reassembler.expire(now_ms);
        evicted.into_iter().map(|e| self.evicted(e)).collect()
    }

    /// Processes one PDU (with the SMSC prefix, as modems print it).
    pub fn process(&mut self, tag: u64, pdu: &[u8], now_ms: u64) -> Vec<Outcome> {
        let received_time = crate::time::format_unix_ms(now_ms);
        let decoded = match sms::decode(pdu, true) {
            Ok(d) => d,
            Err(e) => return vec![Outcome::Rejected { tags: vec![tag], reason: format!("SMS PDU: {e}") }],
        };
        match &decoded.tpdu {
            Tpdu::StatusReport(report) => vec![self.status_report(tag, report, &received_time)],
            Tpdu::Deliver(_) => self.deliver(tag, &decoded, now_ms, &received_time),
        }
    }

    fn status_report(&self, tag: u64, r: &sms::StatusReport, received_time: &str) -> Outcome {
        let originator = r.recipient.as_str().to_string();
        let sent_time = r.scts.to_rfc3339();
        let body = status_report_body(r);
        let id = sms_message_id(&originator, Some(&sent_time), Some(r.message_reference as u16), &body);
        let message = Message {
            id,
            kind: Kind::StatusReport,
            source: Source::Sms,
            originator: originator.clone(),
            sent_time: Some(sent_time.clone()),
            received_time: received_time.to_string(),
            application_id: None,
            content_type: STATUS_REPORT_JSON.into(),
            content_type_params: BTreeMap::new(),
            headers: BTreeMap::new(),
            transaction_id: None,
            pdu_type: None,
            port: None,
            event: None,
            body: body.clone(),
        };
        Outcome::Complete(Box::new(Completed {
            kind: Kind::StatusReport,
            originator,
            sent_time: Some(sent_time),
            ports: None,
            reference: None,
            payload: body,
            text: None,
            events: Vec::new(),
            messages: vec![message],
            tags: vec![tag],
        }))
    }

    fn deliver(&mut self, tag: u64, decoded: &SmsPdu, now_ms: u64, received_time: &str) -> Vec<Outcome> {
        let Tpdu::Deliver(d) = &decoded.tpdu else { return Vec::new() };
        let originator = d.originator.as_str();
        let ports = decoded.ports().map(|p| wdp::Ports { src: p.src, dst: p.dst, bits: p.bits });
        let (data, is_text): (&[u8], bool) = match &d.user_data {
            UserData::Text(t) => (t.as_bytes(), true),
            UserData::Binary(b) => (b.as_slice(), false),
        };
        let sent_time = d.scts.to_rfc3339();
        let segment = match decoded.concat() {
            Some(c) if c.total > 1 => Segment {
                originator,
                reference: c.reference,
                ref_bits: c.ref_bits,
                total: c.total,
                seq: c.seq,
                ports,
                data,
                tag,
            },
            _ => Segment::single(originator, ports, data, tag),
        };
        let outcome = match self.reassembler.push(&segment, now_ms) {
            Ok(o) => o,
            Err(e) => {
                return vec![Outcome::Rejected { tags: vec![tag], reason: format!("concatenation: {e}") }]
            }
        };
        let seq = segment.seq;
        let mut out: Vec<Outcome> = outcome.evicted.into_iter().map(|e| self.evicted(e)).collect();
        match outcome.pushed {
            wdp::Pushed::Complete(dg) => {
                let mut first = (seq, sent_time);
                let mut text = is_text;
                for t in &dg.tags {
                    if let Some(m) = self.segments.remove(t) {
                        text &= m.text;
                        if m.seq < first.0 {
                            first = (m.seq, m.sent_time);
                        }
                    }
                }
                out.push(self.complete(dg, Some(first.1), text, received_time));
            }
            wdp::Pushed::Pending { have, total } => {
                self.segments.insert(tag, SegmentMeta { seq, sent_time, text: is_text });
                out.push(Outcome::Pending { tag, have, total });
            }
            wdp::Pushed::Duplicate { .. } => out.push(Outcome::Duplicate { tag }),
            wdp::Pushed::Conflict { kind, have, total } => out.push(Outcome::Rejected {
                tags: vec![tag],
                reason: format!(
                    "segment contradicts its siblings ({}; {have} of {total} held)",
                    match kind {
                        wdp::ConflictKind::Ports => "different ports",
                        wdp::ConflictKind::Data => "different data for the same sequence number",
                    }
                ),
            }),
        }
        out
    }

    fn evicted(&mut self, e: wdp::Evicted) -> Outcome {
        for t in &e.tags {
            self.segments.remove(t);
        }
        Outcome::Rejected {
            reason: format!(
                "incomplete message from {} (reference {}, {} of {} segments) given up: {}",
                e.originator,
                e.reference,
                e.have,
                e.total,
                e.reason.as_str()
            ),
            tags: e.tags,
        }
    }

    fn complete(
        &self,
        dg: wdp::Datagram,
        sent_time: Option<String>,
        text: bool,
        received_time: &str,
    ) -> Outcome {
        let reference = (dg.segments > 1).then_some(dg.reference);
        let id = sms_message_id(&dg.originator, sent_time.as_deref(), reference, &dg.data);
        let mut message = Message {
            id,
            kind: Kind::Text,
            source: Source::Sms,
            originator: dg.originator.clone(),
            sent_time: sent_time.clone(),
            received_time: received_time.to_string(),
            application_id: None,
            content_type: TEXT_PLAIN.into(),
            content_type_params: BTreeMap::new(),
            headers: BTreeMap::new(),
            transaction_id: None,
            pdu_type: None,
            port: dg.ports.map(|p| p.dst),
            event: None,
            body: dg.data.clone(),
        };
        let mut completed = Completed {
            kind: Kind::Text,
            originator: dg.originator.clone(),
            sent_time,
            ports: dg.ports,
            reference,
            payload: dg.data.clone(),
            text: None,
            events: Vec::new(),
            messages: Vec::new(),
            tags: dg.tags.clone(),
        };
        let is_push_port =
            dg.ports.is_some_and(|p| p.dst == wdp::PORT_WAP_PUSH || p.dst == wdp::PORT_WAP_PUSH_SECURE);
        if is_push_port {
            let push = match wsp::parse(&dg.data) {
                Ok(p) => p,
                Err(e) => return Outcome::Rejected { tags: dg.tags, reason: format!("WSP push: {e}") },
            };
            completed.kind = Kind::WspPush;
            message.kind = Kind::WspPush;
            let app_id = push.app_id_or_default().to_string();
            message.application_id = Some(app_id.clone());
            message.content_type = push.content_type.to_string();
            message.content_type_params = push.content_type_params_map();
            message.headers = push.headers_map();
            message.transaction_id = Some(push.tid);
            message.pdu_type = Some(push.pdu_type.as_str().to_string());
            message.body = push.body.to_vec();
            if essence(&push.content_type) == EVENT_STREAM {
                let parsed = sse::parse_body(push.body, sse::Limits::WAP_PUSH);
                completed.messages = self.event_messages(&message, &parsed.events);
                completed.events = parsed.events;
            } else {
                completed.messages.push(message);
            }
        } else if dg.ports.is_some() || !text {
            completed.kind = Kind::Datagram;
            message.kind = Kind::Datagram;
            if !text {
                message.content_type = OCTET_STREAM.into();
            }
            completed.messages.push(message);
        } else {
            completed.text = Some(String::from_utf8_lossy(&dg.data).into_owned());
            completed.messages.push(message);
        }
        Outcome::Complete(Box::new(completed))
    }

    /// One message per event of a pushed event stream. An event whose id merely repeats the
    /// previous event's (the id persists across events, HTML §9.2.6) gets an id of its own.
    fn event_messages(&self, push: &Message, events: &[sse::Event]) -> Vec<Message> {
        let app_id = push.application_id.clone().unwrap_or_default();
        let stream = self.streams.get(&app_id.to_ascii_lowercase()).cloned().unwrap_or_default();
        let mut previous = String::new();
        events
            .iter()
            .enumerate()
            .map(|(i, ev)| {
                let own_id = if ev.id == previous { "" } else { ev.id.as_str() };
                previous.clone_from(&ev.id);
                let mut m = push.clone();
                m.id = event_message_id(&app_id, own_id, &format!("{}#{i}", push.id));
                m.body = ev.data.as_bytes().to_vec();
                m.event = Some(EventInfo {
                    stream: stream.clone(),
                    event_type: ev.event_type.clone(),
                    event_id: ev.id.clone(),
                });
                m
            })
            .collect()
    }
}

/// The MIME essence of a content type: `type/subtype`, lower case, without parameters.
pub fn essence(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// A status report as the JSON object `Deliver` carries as its body.
pub fn status_report_body(r: &sms::StatusReport) -> Vec<u8> {
    serde_json::json!({
        "mr": r.message_reference,
        "recipient": r.recipient.as_str(),
        "recipient_type": r.recipient.kind_str(),
        "timestamp": r.scts.to_rfc3339(),
        "discharge_time": r.discharge_time.to_rfc3339(),
        "status": r.status,
        "status_kind": r.status_kind().as_str(),
    })
    .to_string()
    .into_bytes()
}
