//! The receive path, pure: raw SMS PDUs → decoded SMS (TS 23.040) → reassembled WDP datagrams
//! (WAP-259) → WSP pushes (WAP-230), text and datagrams → [`Message`]s.
//!
//! Every PDU comes with a caller's `tag` (the spool row id in the daemon). A completed message
//! returns the tags it consumed, so the caller deletes spooled PDUs only once the message is
//! committed; a rejected PDU returns its tags with the reason, for the dead-letter table.

use crate::message::{Message, SmsOrigin};
use crate::push_meta::essence;
use crate::sms::{self, SmsPdu, Tpdu, UserData};
use crate::sse;
use crate::wdp::{self, Reassembler, Segment};
use crate::wsp;
use std::collections::HashMap;

pub use crate::message::{EVENT_STREAM, STATUS_REPORT_JSON};

/// What became of a PDU, or of the partial messages it displaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A message completed: the [`Message`]s it becomes (several for an event stream, one per
    /// event) and the tags of the PDUs it consumed.
    Complete {
        /// The messages, in order.
        messages: Vec<Message>,
        /// The tags of every PDU the message consumed.
        tags: Vec<u64>,
    },
    /// The segment is held until its siblings arrive.
    Pending {
        /// The PDU's tag.
        tag: u64,
        /// Segments of its message held now.
        have: u8,
        /// Segments the message has.
        total: u8,
    },
    /// The same segment is already held: the PDU can be dropped.
    Duplicate {
        /// The PDU's tag.
        tag: u64,
    },
    /// These PDUs cannot become a message.
    Rejected {
        /// The tags of the PDUs given up.
        tags: Vec<u64>,
        /// Why.
        reason: Rejection,
    },
}

/// Why PDUs cannot become a message (the dead-letter reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The PDU does not decode (TS 23.040).
    #[error("SMS PDU: {0}")]
    Sms(#[from] sms::SmsError),
    /// Its concatenation header is invalid (TS 23.040 §9.2.3.24.1).
    #[error("concatenation: {0}")]
    Concatenation(#[from] wdp::ReassemblyError),
    /// The segment contradicts those held for its message.
    #[error("segment contradicts its siblings ({}; {have} of {total} held)", conflict_text(*.kind))]
    Conflict {
        /// What differs.
        kind: wdp::ConflictKind,
        /// Segments held.
        have: u8,
        /// Segments the message has.
        total: u8,
    },
    /// A datagram on the WSP push port that is not a valid Push PDU (WAP-230 §8.2.4.1).
    #[error("WSP push: {0}")]
    Wsp(#[from] wsp::WspError),
    /// A partial message was given up (timed out or displaced).
    #[error(
        "incomplete message from {originator} (reference {reference}, {have} of {total} segments) given up: {}",
        .reason.as_str()
    )]
    GivenUp {
        /// Its originator (TP-OA).
        originator: String,
        /// Its concatenation reference.
        reference: u16,
        /// Segments held.
        have: u8,
        /// Segments it has.
        total: u8,
        /// Why it was given up.
        reason: wdp::EvictReason,
    },
}

fn conflict_text(kind: wdp::ConflictKind) -> &'static str {
    match kind {
        wdp::ConflictKind::Ports => "different ports",
        wdp::ConflictKind::Data => "different data for the same sequence number",
    }
}

/// Segment facts kept beside the reassembler until the message completes.
#[derive(Debug, Clone)]
struct SegmentMeta {
    seq: u8,
    /// Formatted only when the message completes, from its first segment.
    scts: sms::Timestamp,
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
    /// A receiver holding nothing, with these reassembly bounds.
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
        let decoded = match sms::decode(pdu, true) {
            Ok(d) => d,
            Err(e) => return vec![Outcome::Rejected { tags: vec![tag], reason: e.into() }],
        };
        match &decoded.tpdu {
            Tpdu::StatusReport(report) => {
                vec![self.status_report(tag, report, crate::time::format_unix_ms(now_ms))]
            }
            Tpdu::Deliver(_) => self.deliver(tag, &decoded, now_ms),
        }
    }

    fn status_report(&self, tag: u64, r: &sms::StatusReport, received_time: String) -> Outcome {
        let origin = SmsOrigin {
            originator: r.recipient.as_str().to_string(),
            sent_time: Some(r.scts.to_rfc3339()),
            reference: Some(r.message_reference as u16),
            port: None,
            received_time,
        };
        Outcome::Complete {
            messages: vec![Message::status_report(&origin, status_report_body(r))],
            tags: vec![tag],
        }
    }

    fn deliver(&mut self, tag: u64, decoded: &SmsPdu, now_ms: u64) -> Vec<Outcome> {
        let Tpdu::Deliver(d) = &decoded.tpdu else { return Vec::new() };
        let originator = d.originator.as_str();
        let ports = decoded.ports().map(|p| wdp::Ports { src: p.src, dst: p.dst, bits: p.bits });
        let (data, is_text): (&[u8], bool) = match &d.user_data {
            UserData::Text(t) => (t.as_bytes(), true),
            UserData::Binary(b) => (b.as_slice(), false),
        };
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
            Err(e) => return vec![Outcome::Rejected { tags: vec![tag], reason: e.into() }],
        };
        let seq = segment.seq;
        let mut out: Vec<Outcome> = outcome.evicted.into_iter().map(|e| self.evicted(e)).collect();
        match outcome.pushed {
            wdp::Pushed::Complete(dg) => {
                let mut first = (seq, d.scts);
                let mut text = is_text;
                for t in &dg.tags {
                    if let Some(m) = self.segments.remove(t) {
                        text &= m.text;
                        if m.seq < first.0 {
                            first = (m.seq, m.scts);
                        }
                    }
                }
                let received_time = crate::time::format_unix_ms(now_ms);
                out.push(self.complete(dg, Some(first.1.to_rfc3339()), text, received_time));
            }
            wdp::Pushed::Pending { have, total } => {
                self.segments.insert(tag, SegmentMeta { seq, scts: d.scts, text: is_text });
                out.push(Outcome::Pending { tag, have, total });
            }
            wdp::Pushed::Duplicate { .. } => out.push(Outcome::Duplicate { tag }),
            wdp::Pushed::Conflict { kind, have, total } => out.push(Outcome::Rejected {
                tags: vec![tag],
                reason: Rejection::Conflict { kind, have, total },
            }),
        }
        out
    }

    fn evicted(&mut self, e: wdp::Evicted) -> Outcome {
        for t in &e.tags {
            self.segments.remove(t);
        }
        Outcome::Rejected {
            reason: Rejection::GivenUp {
                originator: e.originator,
                reference: e.reference,
                have: e.have,
                total: e.total,
                reason: e.reason,
            },
            tags: e.tags,
        }
    }

    fn complete(
        &self,
        dg: wdp::Datagram,
        sent_time: Option<String>,
        text: bool,
        received_time: String,
    ) -> Outcome {
        let origin = SmsOrigin {
            originator: dg.originator,
            sent_time,
            reference: (dg.segments > 1).then_some(dg.reference),
            port: dg.ports.map(|p| p.dst),
            received_time,
        };
        let is_push_port =
            dg.ports.is_some_and(|p| p.dst == wdp::PORT_WAP_PUSH || p.dst == wdp::PORT_WAP_PUSH_SECURE);
        let messages = if is_push_port {
            let push = match wsp::parse(&dg.data) {
                Ok(p) => p,
                Err(e) => return Outcome::Rejected { tags: dg.tags, reason: e.into() },
            };
            let message = Message::wsp_push(&origin, &dg.data, &push);
            if essence(&push.content_type) == EVENT_STREAM {
                let parsed = sse::parse_body(push.body, sse::Limits::WAP_PUSH);
                self.event_messages(&message, &parsed.events)
            } else {
                vec![message]
            }
        } else if dg.ports.is_some() || !text {
            vec![Message::datagram(&origin, dg.data, text)]
        } else {
            vec![Message::text(&origin, dg.data)]
        };
        Outcome::Complete { messages, tags: dg.tags }
    }

    /// One message per event of a pushed event stream ([`Message::sms_event`]).
    fn event_messages(&self, push: &Message, events: &[sse::Event]) -> Vec<Message> {
        let app_id = push.application_id.as_deref().unwrap_or("");
        let stream = self.streams.get(&app_id.to_ascii_lowercase()).map(String::as_str).unwrap_or("");
        events.iter().enumerate().map(|(i, ev)| Message::sms_event(push, stream, i, ev)).collect()
    }
}

/// Classifies the datagrams of `msgs` that arrived on one of `wsp_ports` (the ports
/// registrations named in a `Port` filter) and parse as a WSP Push or ConfirmedPush: they become
/// `wsp_push` messages with the same id (docs/wap-push.md, "Other ports"). A datagram that does
/// not parse stays a datagram. Event streams are not split here: one message.
pub fn wsp_on_ports<'a>(
    msgs: &'a [Message],
    wsp_ports: &std::collections::BTreeSet<u16>,
) -> std::borrow::Cow<'a, [Message]> {
    let on_port = |m: &Message| {
        m.kind == crate::message::Kind::Datagram
            && m.source == crate::message::Source::Sms
            && m.port.is_some_and(|p| wsp_ports.contains(&p))
    };
    if !msgs.iter().any(on_port) {
        return std::borrow::Cow::Borrowed(msgs);
    }
    let reclassify = |m: &Message| -> Option<Message> {
        let push = wsp::parse(&m.body).ok()?;
        let origin = SmsOrigin {
            originator: m.originator.clone(),
            sent_time: m.sent_time.clone(),
            reference: None,
            port: m.port,
            received_time: m.received_time.clone(),
        };
        let mut w = Message::wsp_push(&origin, &m.body, &push);
        // The same payload: keep the datagram's id (it derives from its concatenation reference).
        w.id.clone_from(&m.id);
        Some(w)
    };
    std::borrow::Cow::Owned(
        msgs.iter()
            .map(|m| on_port(m).then(|| reclassify(m)).flatten().unwrap_or_else(|| m.clone()))
            .collect(),
    )
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{event_message_id, Kind};
    use crate::push_encode::{self, PushRequest};
    use crate::sms::{Address, DeliverTemplate, Timestamp};

    fn receiver() -> Receiver {
        Receiver::new(wdp::Limits { max_partials: 8, max_bytes: 4096, timeout_ms: 60_000 })
    }

    fn scts() -> Timestamp {
        // 2026-11-21 09:30:00 at UTC-03:00: the zone is -12 quarter hours.
        Timestamp {
            year: 2026,
            month: 11,
            day: 21,
            hour: 9,
            minute: 30,
            second: 0,
            tz_quarters: -12,
            nonbcd: false,
        }
    }

    /// `otapushctl encode push` at a fixed time: a request without a time stamp gets [`scts`].
    fn encode_push(req: &PushRequest) -> Result<Vec<Vec<u8>>, String> {
        push_encode::encode_push(req, scts())
    }

    fn push(app_id: &str, content_type: &str, body: &[u8], reference: u16) -> Vec<Vec<u8>> {
        encode_push(&PushRequest {
            app_id: Some(app_id.into()),
            content_type: content_type.into(),
            body: body.to_vec(),
            from: "+4912345".into(),
            reference,
            scts: Some(scts()),
            ..Default::default()
        })
        .unwrap()
    }

    struct Completed {
        messages: Vec<Message>,
        tags: Vec<u64>,
    }

    impl Completed {
        fn kind(&self) -> Kind {
            self.messages[0].kind
        }
        fn text(&self) -> Option<&str> {
            let m = &self.messages[0];
            (m.kind == Kind::Text).then(|| std::str::from_utf8(&m.body).unwrap())
        }
    }

    fn complete(outcomes: Vec<Outcome>) -> Completed {
        match outcomes.into_iter().find(|o| matches!(o, Outcome::Complete { .. })) {
            Some(Outcome::Complete { messages, tags }) => Completed { messages, tags },
            other => panic!("no complete message: {other:?}"),
        }
    }

    #[test]
    fn two_segment_push_out_of_order() {
        let body: Vec<u8> = (0..200u8).collect();
        let pdus = push("x-wap-application:mms.ua", "application/vnd.wap.mms-message", &body, 7);
        assert_eq!(pdus.len(), 2);
        let mut r = receiver();
        assert!(matches!(
            r.process(11, &pdus[1], 1000)[..],
            [Outcome::Pending { tag: 11, have: 1, total: 2 }]
        ));
        assert_eq!(r.partials(), 1);
        let c = complete(r.process(10, &pdus[0], 2000));
        assert_eq!(r.partials(), 0);
        assert_eq!(c.kind(), Kind::WspPush);
        assert_eq!(c.tags, vec![10, 11]);
        let m = &c.messages[0];
        assert_eq!(m.body, body);
        assert_eq!(m.application_id.as_deref(), Some("x-wap-application:mms.ua"));
        assert_eq!(m.content_type, "application/vnd.wap.mms-message");
        assert_eq!(m.originator, "+4912345");
        assert_eq!(m.sent_time.as_deref(), Some("2026-11-21T09:30:00-03:00"));
        assert_eq!(m.port, Some(2948));
        assert_eq!(m.pdu_type.as_deref(), Some("push"));
        // The same segments again (a network resend) give the same id.
        let mut r2 = receiver();
        r2.process(1, &pdus[0], 5000);
        let again = complete(r2.process(2, &pdus[1], 5000));
        assert_eq!(again.messages[0].id, m.id);
        // A repeated segment while the message is partial is a duplicate.
        let mut r3 = receiver();
        r3.process(1, &pdus[0], 0);
        assert_eq!(r3.process(2, &pdus[0], 0), vec![Outcome::Duplicate { tag: 2 }]);
    }

    /// The three lenient cases of TS 23.040 each complete at once: a concatenation element of
    /// total 1 (no reassembly wait), a text SMS with a malformed header (its text delivered),
    /// a status report with non-BCD zone octets.
    #[test]
    fn lenient_pdus_complete_at_once() {
        use crate::sms::test_vectors::{MALFORMED_UDH, NONBCD_STATUS_REPORT, SINGLE_CONCAT};
        let pdu = |h: &str| crate::hex::decode(h).unwrap();
        let mut r = receiver();
        let c = complete(r.process(1, &pdu(SINGLE_CONCAT), 0));
        assert_eq!((c.kind(), c.text()), (Kind::Text, Some("Your code is 4821")));
        let m = &c.messages[0];
        let unreferenced =
            crate::message::sms_message_id(&m.originator, m.sent_time.as_deref(), None, &m.body);
        assert_eq!(m.id, unreferenced, "a single segment has no concatenation reference");
        assert_eq!((c.tags, r.partials(), r.next_deadline()), (vec![1], 0, None));
        let c = complete(r.process(2, &pdu(MALFORMED_UDH), 0));
        assert_eq!((c.kind(), c.text()), (Kind::Text, Some("Balance: 12.50 EUR")));
        assert_eq!(c.messages[0].originator, "+4915259911630");
        let c = complete(r.process(3, &pdu(NONBCD_STATUS_REPORT), 0));
        assert_eq!(c.kind(), Kind::StatusReport);
        assert_eq!(c.messages[0].sent_time.as_deref(), Some("2010-09-21T14:03:46+02:30"));
        assert_eq!(r.partials(), 0);
    }

    #[test]
    fn push_without_app_id_gets_the_wap_default() {
        let pdus = encode_push(&PushRequest {
            content_type: "application/vnd.wap.sic".into(),
            body: vec![0x02, 0x05, 0x6A, 0x00],
            ..Default::default()
        })
        .unwrap();
        let c = complete(receiver().process(1, &pdus[0], 0));
        assert_eq!(c.messages[0].application_id.as_deref(), Some("x-wap-application:wml.ua"));
    }

    #[test]
    fn text_and_datagram_and_bad_wsp() {
        let t = DeliverTemplate {
            smsc: None,
            originator: Address::from_text("ACME").unwrap(),
            scts: scts(),
            pid: 0,
        };
        let text = crate::sms::segment_text(&t, "Grüße 😀", 1, 8).unwrap();
        let c = complete(receiver().process(1, &text[0], 0));
        assert_eq!(c.kind(), Kind::Text);
        assert_eq!(c.text(), Some("Grüße 😀"));
        assert_eq!(c.messages[0].content_type, "text/plain; charset=utf-8");
        assert_eq!(c.messages[0].body, "Grüße 😀".as_bytes());
        assert_eq!(c.messages[0].originator, "ACME");

        let ports = Some(sms::Ports { src: 9204, dst: 9204, bits: 16 });
        let vcard = crate::sms::segment_binary(&t, ports, b"BEGIN:VCARD", 1, 8).unwrap();
        let c = complete(receiver().process(1, &vcard[0], 0));
        assert_eq!(c.kind(), Kind::Datagram);
        assert_eq!(c.messages[0].content_type, "application/octet-stream");
        assert_eq!(c.messages[0].port, Some(9204));

        let ports = Some(sms::Ports { src: 9200, dst: 2948, bits: 16 });
        let bad = crate::sms::segment_binary(&t, ports, &[0x01, 0x06, 0x7f], 1, 8).unwrap();
        match &receiver().process(5, &bad[0], 0)[..] {
            [Outcome::Rejected { tags, reason: reason @ Rejection::Wsp(_) }] => {
                assert_eq!(tags, &[5]);
                assert!(reason.to_string().starts_with("WSP push:"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        match &receiver().process(6, &[0x00, 0x01], 0)[..] {
            [Outcome::Rejected { tags, reason: reason @ Rejection::Sms(_) }] => {
                assert_eq!(tags, &[6]);
                assert!(reason.to_string().starts_with("SMS PDU:"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_wsp_push_on_a_registered_port_is_a_wsp_push() {
        let pdus = encode_push(&PushRequest {
            app_id: Some("x-wap-application:mms.ua".into()),
            content_type: "application/vnd.wap.sic".into(),
            body: b"si".to_vec(),
            confirmed: true,
            dst_port: 49999,
            ..Default::default()
        })
        .unwrap();
        let dg = complete(receiver().process(1, &pdus[0], 0)).messages;
        assert_eq!(dg[0].kind, Kind::Datagram, "no registration asked for 49999");
        let ports = [49999].into_iter().collect();
        let none = std::collections::BTreeSet::new();
        assert!(matches!(wsp_on_ports(&dg, &none), std::borrow::Cow::Borrowed(_)));
        let w = wsp_on_ports(&dg, &ports);
        assert_eq!((w[0].kind, w[0].id.as_str()), (Kind::WspPush, dg[0].id.as_str()));
        assert_eq!(w[0].application_id.as_deref(), Some("x-wap-application:mms.ua"));
        assert_eq!((w[0].body.as_slice(), w[0].port), (&b"si"[..], Some(49999)));
        assert_eq!(w[0].pdu_type.as_deref(), Some("confirmed-push"));
        let t = DeliverTemplate {
            smsc: None,
            originator: Address::from_text("ACME").unwrap(),
            scts: scts(),
            pid: 0,
        };
        let p = Some(sms::Ports { src: 1, dst: 49999, bits: 16 });
        let junk = crate::sms::segment_binary(&t, p, &[0x01, 0x06, 0x7f], 1, 8).unwrap();
        let junk = complete(receiver().process(1, &junk[0], 0)).messages;
        assert_eq!(wsp_on_ports(&junk, &ports)[0], junk[0], "not WSP: still a datagram");
    }

    #[test]
    fn event_stream_push_becomes_one_message_per_event() {
        let body = b"id: 4\nevent: quote\ndata: a\n\ndata: b\n\nid: 5\ndata: c\ndata: d\n\ndata: unfinished";
        let pdus = push("x-oma-application:sse.ticker", "text/event-stream", body, 3);
        let mut r = receiver();
        r.set_streams([("X-OMA-Application:sse.ticker", "ticker")]);
        let c = complete(r.process(1, &pdus[0], 0));
        assert_eq!(c.messages.len(), 3);
        let ids: Vec<&str> = c.messages.iter().map(|m| m.event.as_ref().unwrap().event_id.as_str()).collect();
        assert_eq!(ids, ["4", "4", "5"]);
        assert_eq!(c.messages[2].body, b"c\nd");
        assert_eq!(c.messages[0].event.as_ref().unwrap().stream, "ticker");
        assert_eq!(c.messages[0].event.as_ref().unwrap().event_type, "quote");
        // Ids follow the event id, so the same event over HTTP gets the same message id.
        assert_eq!(c.messages[0].id, event_message_id("x-oma-application:sse.ticker", "4", "x"));
        assert_eq!(c.messages[2].id, event_message_id("x-oma-application:sse.ticker", "5", "x"));
        // The second event only inherited id 4: it gets an id of its own.
        assert_ne!(c.messages[1].id, c.messages[0].id);
    }

    #[test]
    fn a_repeated_explicit_event_id_is_the_same_message() {
        let body = b"id: 4\ndata: a\n\nid: 4\ndata: a\n\n";
        let pdus = push("x-oma-application:sse.ticker", "text/event-stream", body, 3);
        let c = complete(receiver().process(1, &pdus[0], 0));
        let id = event_message_id("x-oma-application:sse.ticker", "4", "x");
        assert_eq!([c.messages[0].id.as_str(), c.messages[1].id.as_str()], [id.as_str(), id.as_str()]);
    }

    #[test]
    fn status_report() {
        let report = sms::StatusReport {
            message_reference: 9,
            recipient: Address::from_text("+4912345").unwrap(),
            scts: scts(),
            discharge_time: scts(),
            status: 0,
            more_messages: false,
            loop_prevention: false,
            command_qualifier: false,
            pid: None,
            dcs: None,
            udh: None,
            user_data: None,
        };
        let pdu = sms::encode(&SmsPdu { smsc: None, tpdu: Tpdu::StatusReport(report) }, true).unwrap();
        let c = complete(receiver().process(1, &pdu, 0));
        assert_eq!(c.kind(), Kind::StatusReport);
        let v: serde_json::Value = serde_json::from_slice(&c.messages[0].body).unwrap();
        assert_eq!(v["mr"], 9);
        assert_eq!(v["recipient"], "+4912345");
        assert_eq!(c.messages[0].content_type, STATUS_REPORT_JSON);
    }

    #[test]
    fn expiry_rejects_the_partial_with_its_tags() {
        let body: Vec<u8> = (0..200u8).collect();
        let pdus = push("x-wap-application:mms.ua", "application/vnd.wap.mms-message", &body, 9);
        let mut r = receiver();
        r.process(42, &pdus[0], 1000);
        assert_eq!(r.next_deadline(), Some(61_000));
        assert!(r.expire(60_999).is_empty());
        match &r.expire(61_000)[..] {
            [Outcome::Rejected {
                tags,
                reason: reason @ Rejection::GivenUp { reference: 9, have: 1, total: 2, .. },
            }] => {
                assert_eq!(tags, &[42]);
                assert!(reason.to_string().contains("expired"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(r.next_deadline(), None);
    }
}
