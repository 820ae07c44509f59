//! The fuzz harness: one entry point per target, each feeding arbitrary bytes to a decoder or
//! state machine of `otapush` and asserting its invariants. The cargo-fuzz targets in
//! `fuzz_targets/` call these functions; `tests/fuzz_regressions.rs` (stable toolchain, no
//! libFuzzer) includes this file and replays `fuzz/corpus/*` and `fuzz/regressions/*`
//! through the same functions.
//!
//! Structured targets (sse, reassembly, receive, at) read their input with [`Input`]: a
//! short header of limits, then a sequence of records. A record cut short by the end of the
//! input is simply not executed, so every byte string is a valid input.

use otapush::ctl::{decode_push, decode_sms, decode_sse, decode_wsp};
use otapush::modem::at::{
    self, command::Command, framer::LineFramer, response, AtEngine, Event as AtEvent, FinalResult, Urc,
};
use otapush::receive::{Outcome as RxOutcome, Receiver};
use otapush::sse::{self, Output};
use otapush::wdp::{self, Pushed, Reassembler, Segment};
use otapush_proto::{sms, wsp};
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

/// A fuzz target's entry point.
pub type Target = fn(&[u8]);

/// Every target by name, for the replay test and the scripts.
pub const TARGETS: &[(&str, Target)] = &[
    ("sms", sms),
    ("udh", udh),
    ("wsp", wsp),
    ("sse", sse),
    ("reassembly", reassembly),
    ("receive", receive),
    ("at", at),
];

/// A cursor over fuzz input. Reads past the end return `None`.
pub struct Input<'a> {
    rest: &'a [u8],
}

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Input { rest: data }
    }

    pub fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.rest.split_first()?;
        self.rest = rest;
        Some(b)
    }

    /// The first octet, or 0 past the end (for headers, so short inputs still run).
    pub fn u8_or0(&mut self) -> u8 {
        self.u8().unwrap_or(0)
    }

    pub fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.rest.len() {
            return None;
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Some(head)
    }

    /// A length octet and that many bytes.
    pub fn chunk(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.bytes(usize::from(n))
    }

    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.rest)
    }
}

// ---------------------------------------------------------------------------------------------
// sms, udh, wsp: plain decoders.

/// `sms::decode` with and without the SMSC prefix, the JSON of `otapushctl decode sms`, and
/// the encoder as an oracle: a decoded PDU that encodes again must decode to itself. The
/// borrowed `sms::view` must agree with `decode` ([`sms_view`]).
pub fn sms(data: &[u8]) {
    sms_view(data);
    for with_smsc in [false, true] {
        match sms::decode(data, with_smsc) {
            Ok(p) => {
                let json = decode_sms::to_json(&p);
                serde_json::to_string(&json).expect("JSON of a decoded PDU");
                let _ = (p.kind(), p.originator().as_str(), p.timestamp().to_rfc3339(), p.class());
                if let Some(c) = p.concat() {
                    assert!((1..=c.total).contains(&c.seq), "{c:?}");
                    assert!(c.ref_bits == 16 || (c.ref_bits == 8 && c.reference <= 0xFF), "{c:?}");
                }
                if let Some(h) = p.udh() {
                    udh_invariants(h);
                }
                if let Ok(again) = sms::encode(&p, with_smsc) {
                    let back = sms::decode(&again, with_smsc).expect("decoding what the encoder built");
                    // The encoder writes BCD: a non-BCD time stamp comes back unflagged.
                    assert_eq!(back, bcd(&p), "decode(encode(p)) != p for {:02x?}", again);
                }
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
        let _ = decode_sms::decode_sms_json(data, with_smsc);
    }
}

/// `sms::view` against `sms::decode`, with and without the SMSC prefix: the same error, or a
/// view whose owned form is the decoded PDU and whose borrowed accessors (addresses, header,
/// text into a reused buffer, borrowed 8-bit data) say what the owned values say. The cargo-fuzz
/// target `sms_view` runs only this; the `sms` target (and so its corpus replay) runs it too.
pub fn sms_view(data: &[u8]) {
    otapush_proto::fuzzing::sms_view_agrees(data, false);
    otapush_proto::fuzzing::sms_view_agrees(data, true);
}

/// `p` with the non-BCD flags of its time stamps cleared.
fn bcd(p: &sms::SmsPdu) -> sms::SmsPdu {
    let mut p = p.clone();
    match &mut p.tpdu {
        sms::Tpdu::Deliver(d) => d.scts.nonbcd = false,
        sms::Tpdu::StatusReport(s) => {
            s.scts.nonbcd = false;
            s.discharge_time.nonbcd = false;
        }
    }
    p
}

/// `UserDataHeader::from_bytes`: the elements tile the header exactly.
pub fn udh(data: &[u8]) {
    if let Ok(h) = sms::UserDataHeader::from_bytes(data) {
        assert_eq!(h.as_bytes(), data);
        udh_invariants(&h);
    }
}

fn udh_invariants(h: &sms::UserDataHeader) {
    assert_eq!(h.encoded_len(), 1 + h.as_bytes().len());
    if h.malformed().is_some() {
        // An ignored header (TS 23.040 §9.2.3.24): nothing in it counts.
        assert_eq!(h.elements().count(), 0);
        assert!(h.concat().is_none() && h.ports().is_none() && h.single_shift().is_none());
        return;
    }
    let covered: usize = h.elements().map(|e| 2 + e.data.len()).sum();
    assert_eq!(covered, h.as_bytes().len(), "elements do not tile the header");
    if let Some(c) = h.concat() {
        assert!((1..=c.total).contains(&c.seq), "{c:?}");
    }
    if let Some(p) = h.ports() {
        assert!(p.bits == 16 || (p.bits == 8 && p.src <= 0xFF && p.dst <= 0xFF), "{p:?}");
    }
}

/// `wsp::parse` and `otapushctl decode wsp`: the body and headers are views of the input.
pub fn wsp(data: &[u8]) {
    if let Ok(p) = wsp::parse(data) {
        assert!(data.ends_with(p.body), "body is not the end of the PDU");
        assert!(p.headers_raw.len() + p.body.len() + 3 <= data.len());
        assert_eq!(data.get(1).copied(), Some(p.pdu_type.code()));
        assert!(wsp::looks_like_push(data));
        let _ = (p.headers_map(), p.content_type_params_map(), p.app_id_or_default());
        if let Some(app) = &p.app_id {
            assert!(p.headers.iter().any(|(_, v)| v == app), "app id {app:?} not among the headers");
        }
    }
    match decode_wsp::decode_wsp_json(data) {
        Ok(v) => {
            serde_json::to_string(&v).expect("JSON");
        }
        Err(e) => assert!(!e.is_empty()),
    }
    let text = String::from_utf8_lossy(data);
    if let Some(secs) = otapush_proto::fuzzing::http_date_parse(&text) {
        let _ = otapush_proto::fuzzing::http_date_format(secs);
    }
    let _ = wsp::encode::split_content_type(&text);
}

// ---------------------------------------------------------------------------------------------
// sse: the event-stream parser in chunks, with small caps and a memory bound.

/// Header: `max_line`, `max_event`, `max_lines` (each 1 + octet), a chunking seed; then the
/// stream. The stream is parsed whole and in chunks of sizes drawn from the seed; the outputs
/// must be the same. Every event fits the caps, and the heap this thread holds while parsing
/// stays within a bound set by the caps, not by the input length.
pub fn sse(data: &[u8]) {
    let mut input = Input::new(data);
    let limits = sse::Limits {
        max_line: 1 + usize::from(input.u8_or0()),
        max_event: 1 + usize::from(input.u8_or0()),
        max_lines: 1 + usize::from(input.u8_or0() % 16),
    };
    let mut seed = u32::from(input.u8_or0()) | 0x100;
    let stream = input.rest();

    let whole = sse_run(limits, stream, &mut |_| stream.len().max(1));
    let before = alloc::live();
    alloc::reset_peak();
    let chunked = sse_run(limits, stream, &mut |left| {
        // xorshift32: chunk sizes 1..=17, and now and then a large one.
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        if seed % 8 == 0 {
            left
        } else {
            1 + (seed % 17) as usize
        }
    });
    let peak = usize::try_from(alloc::peak() - before).unwrap_or(0);
    // Line buffer (grown by doubling), the lossy-decoded copy of one line (U+FFFD is 3 octets
    // per bad octet), data/type/id buffers (doubling), the event handed out; plus slack.
    let bound = 8 * limits.max_line + 8 * limits.max_event + 4096;
    if alloc::installed() {
        assert!(peak <= bound, "parser held {peak} heap octets, bound {bound} for {limits:?}");
    }
    assert_eq!(whole.digest, chunked.digest, "chunking changed the result: {limits:?}");
    assert_eq!(whole.events, chunked.events);

    let parsed = sse::parse_body(stream, limits);
    assert_eq!(parsed.events.len(), whole.events);
    let json = decode_sse::decode_sse_json(stream);
    serde_json::to_string(&json).expect("JSON");
}

struct SseRun {
    digest: u64,
    events: usize,
}

/// Parses `stream` in chunks of `next(left)` octets; digests the outputs (no list is kept,
/// so the memory measured is the parser's).
fn sse_run(limits: sse::Limits, stream: &[u8], next: &mut dyn FnMut(usize) -> usize) -> SseRun {
    let mut parser = sse::Parser::new(limits);
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let mut events = 0;
    let mut on = |o: Output| {
        match &o {
            Output::Event(e) => {
                events += 1;
                assert!(e.data.len() <= limits.max_event, "event data over the cap");
                assert!(e.id.len() <= limits.max_event, "event id over the cap");
                assert!(!e.event_type.is_empty());
                if e.event_type != "message" {
                    assert!(e.data.len() + e.event_type.len() <= limits.max_event);
                }
                (0u8, &e.event_type, &e.data, &e.id).hash(&mut h);
            }
            Output::Retry(ms) => (1u8, ms).hash(&mut h),
            Output::Oversized { bytes } => (2u8, bytes).hash(&mut h),
        };
    };
    let mut rest = stream;
    while !rest.is_empty() {
        let n = next(rest.len()).clamp(1, rest.len());
        let (chunk, tail) = rest.split_at(n);
        parser.feed(chunk, &mut on);
        rest = tail;
    }
    parser.finish(&mut on);
    let _ = (parser.last_event_id(), parser.retry_ms());
    SseRun { digest: h.finish(), events }
}

// ---------------------------------------------------------------------------------------------
// reassembly: segment sequences against a model of what is held.

const ORIGINATORS: [&str; 6] = ["+447700900123", " +447700900123 ", "Vodafone", "VODAFONE", "", "+1"];

fn ports(sel: u8) -> Option<wdp::Ports> {
    match sel % 4 {
        0 => None,
        1 => Some(wdp::Ports { src: 9200, dst: 2948, bits: 16 }),
        2 => Some(wdp::Ports { src: 1, dst: 2, bits: 8 }),
        _ => Some(wdp::Ports { src: 9201, dst: 2948, bits: 16 }),
    }
}

/// Reads limits: partials 1-8, bytes 1-1024, timeout 1-256 s.
fn wdp_limits(input: &mut Input<'_>) -> wdp::Limits {
    wdp::Limits {
        max_partials: 1 + usize::from(input.u8_or0() % 8),
        max_bytes: 1 + 4 * usize::from(input.u8_or0()),
        timeout_ms: 1000 * (1 + u64::from(input.u8_or0())),
    }
}

/// Header: limits (3 octets). Records: `op`; op % 8 == 7 expires at the current time, op % 8
/// == 6 round-trips the state through JSON; otherwise a segment `orig ref flags total seq
/// dt len data…` (flags: bit 0 16-bit high octet = ref, bits 1-2 ref width 0/8/16/7, bits
/// 3-4 ports). Time advances by `dt` seconds.
///
/// Invariants: the caps hold after every step; every tag held or returned was accepted,
/// comes back at most once, and in a datagram whose data is its segments' data in sequence
/// order; the held tags are exactly the accepted ones not returned; at the end, expiring
/// everything returns every accepted tag.
pub fn reassembly(data: &[u8]) {
    let mut input = Input::new(data);
    let limits = wdp_limits(&mut input);
    let mut r = Reassembler::new(limits);
    // tag → (seq, data) of segments held.
    let mut held: BTreeMap<u64, (u8, Vec<u8>)> = BTreeMap::new();
    let mut done: BTreeSet<u64> = BTreeSet::new();
    let mut now = 0u64;
    let mut tag = 0u64;
    let settle = |ev: &[wdp::Evicted], held: &mut BTreeMap<u64, (u8, Vec<u8>)>, done: &mut BTreeSet<u64>| {
        for e in ev {
            assert!(!e.tags.is_empty() && e.tags.len() == usize::from(e.have), "{e:?}");
            assert!(e.have < e.total, "{e:?}");
            for t in &e.tags {
                assert!(held.remove(t).is_some(), "evicted tag {t} was not held");
                assert!(done.insert(*t), "tag {t} returned twice");
            }
        }
    };
    while let Some(op) = input.u8() {
        match op % 8 {
            7 => {
                let ev = r.expire(now);
                settle(&ev, &mut held, &mut done);
            }
            6 => {
                let json = serde_json::to_string(&r).expect("state serialises");
                let back: Reassembler = serde_json::from_str(&json).expect("state deserialises");
                let a: BTreeSet<u64> = r.held_tags().collect();
                let b: BTreeSet<u64> = back.held_tags().collect();
                assert_eq!(a, b, "restored state holds other segments");
                assert_eq!((back.bytes_held(), back.partial_count()), (r.bytes_held(), r.partial_count()));
                r = back;
            }
            _ => {
                let Some(&[orig, reference, flags, total, seq, dt, len]) = input.bytes(7) else { break };
                let Some(payload) = input.bytes(usize::from(len)) else { break };
                now += u64::from(dt) * 1000;
                tag += 1;
                let ref_bits = [0, 8, 16, 7][usize::from(flags >> 1 & 3)];
                let high = if flags & 1 == 1 { u16::from(reference) << 8 } else { 0 };
                let seg = Segment {
                    originator: ORIGINATORS[usize::from(orig) % ORIGINATORS.len()],
                    reference: high | u16::from(reference),
                    ref_bits,
                    total,
                    seq,
                    ports: ports(flags >> 3),
                    data: payload,
                    tag,
                };
                let before: BTreeSet<u64> = r.held_tags().collect();
                match r.push(&seg, now) {
                    Err(_) => {
                        let after: BTreeSet<u64> = r.held_tags().collect();
                        assert_eq!(before, after, "a rejected segment changed the state");
                    }
                    Ok(o) => {
                        settle(&o.evicted, &mut held, &mut done);
                        match o.pushed {
                            Pushed::Complete(d) => {
                                assert_eq!(d.tags.len(), usize::from(d.segments), "{d:?}");
                                assert!(d.tags.contains(&tag), "a completing segment is missing");
                                let mut expect = Vec::new();
                                let mut last_seq = 0u16;
                                for t in &d.tags {
                                    let (s, bytes) = if *t == tag {
                                        (seq, payload.to_vec())
                                    } else {
                                        held.remove(t).unwrap_or_else(|| panic!("completed tag {t} not held"))
                                    };
                                    assert!(u16::from(s) > last_seq || d.segments == 1, "tags out of order");
                                    last_seq = u16::from(s);
                                    expect.extend_from_slice(&bytes);
                                    assert!(done.insert(*t), "tag {t} returned twice");
                                }
                                assert_eq!(d.data, expect, "datagram data");
                            }
                            Pushed::Pending { have, total: t } => {
                                assert!(have < t);
                                held.insert(tag, (seq, payload.to_vec()));
                            }
                            Pushed::Duplicate { .. } | Pushed::Conflict { .. } => {}
                        }
                    }
                }
            }
        }
        assert!(r.partial_count() <= limits.max_partials, "partials over the cap");
        assert!(r.bytes_held() <= limits.max_bytes, "bytes over the cap");
        let bytes: usize = held.values().map(|(_, d)| d.len()).sum();
        assert_eq!(r.bytes_held(), bytes, "bytes held");
        let tags: BTreeSet<u64> = r.held_tags().collect();
        assert_eq!(tags, held.keys().copied().collect(), "held tags");
    }
    let ev = r.expire(u64::MAX);
    settle(&ev, &mut held, &mut done);
    assert!(held.is_empty() && r.partial_count() == 0 && r.bytes_held() == 0);
}

// ---------------------------------------------------------------------------------------------
// receive: the whole receive path over a sequence of PDUs.

/// Header: reassembly limits (3 octets). Records: `dt len pdu…` (`dt` seconds pass first;
/// `dt` 0xFF expires instead, with no PDU). Each PDU's tag is its record number.
///
/// Invariants: every tag is settled (complete, rejected, duplicate) at most once, a pending
/// tag only once held; the partials stay under the cap; every message has an id and
/// serialises; after expiring everything, no tag is left unsettled. `otapushctl decode push`
/// runs over the same PDUs.
pub fn receive(data: &[u8]) {
    let mut input = Input::new(data);
    let limits = wdp_limits(&mut input);
    let mut rx = Receiver::new(limits);
    rx.set_streams([("x-wap-application:mms.ua", "mms")]);
    let mut pending: BTreeSet<u64> = BTreeSet::new();
    let mut settled: BTreeSet<u64> = BTreeSet::new();
    let mut pdus: Vec<Vec<u8>> = Vec::new();
    let mut now = 1_700_000_000_000u64;
    let mut tag = 0u64;
    let check = |outs: Vec<RxOutcome>,
                 current: Option<u64>,
                 pending: &mut BTreeSet<u64>,
                 settled: &mut BTreeSet<u64>| {
        for o in outs {
            let mut settle = |t: u64| {
                assert!(Some(t) == current || pending.remove(&t), "tag {t} settled but not held");
                assert!(settled.insert(t), "tag {t} settled twice");
            };
            match o {
                RxOutcome::Complete { messages, tags } => {
                    assert!(!tags.is_empty());
                    for t in &tags {
                        settle(*t);
                    }
                    for m in &messages {
                        assert!(!m.id.is_empty());
                        serde_json::to_string(m).expect("message serialises");
                    }
                    // One message, or one per event of a pushed event stream (none if it had none).
                    if messages.len() > 1 {
                        assert!(messages.iter().all(|m| m.event.is_some()), "{messages:?}");
                    }
                }
                RxOutcome::Rejected { tags, reason } => {
                    assert!(!tags.is_empty() && !reason.to_string().is_empty());
                    for t in tags {
                        settle(t);
                    }
                }
                RxOutcome::Duplicate { tag: t } => settle(t),
                RxOutcome::Pending { tag: t, have, total } => {
                    assert_eq!(Some(t), current, "pending for another PDU");
                    assert!(have < total);
                    assert!(!settled.contains(&t) && pending.insert(t), "tag {t} pending twice");
                }
            }
        }
    };
    while let Some(dt) = input.u8() {
        if dt == 0xFF {
            now += 1000 * u64::from(input.u8_or0());
            let outs = rx.expire(now);
            check(outs, None, &mut pending, &mut settled);
            continue;
        }
        let Some(pdu) = input.chunk() else { break };
        now += u64::from(dt) * 1000;
        tag += 1;
        let outs = rx.process(tag, pdu, now);
        assert!(!outs.is_empty(), "a PDU with no outcome");
        check(outs, Some(tag), &mut pending, &mut settled);
        assert!(pending.contains(&tag) || settled.contains(&tag), "tag {tag} neither held nor settled");
        assert!(rx.partials() <= limits.max_partials);
        pdus.push(pdu.to_vec());
    }
    let outs = rx.expire(u64::MAX);
    check(outs, None, &mut pending, &mut settled);
    assert!(pending.is_empty(), "tags {pending:?} never settled");
    assert_eq!(rx.partials(), 0);
    assert_eq!(rx.next_deadline(), None);
    for r in decode_push::decode_push_json(&pdus) {
        let v = r.unwrap_or_else(|e| e);
        serde_json::to_string(&v).expect("JSON");
    }
    let _ = otapush::cai::filter::essence(&String::from_utf8_lossy(data));
}

// ---------------------------------------------------------------------------------------------
// at: the AT engine as a sequence of reads, commands and timeouts, and the line grammars.

fn command(sel: u8, arg: u8) -> Command {
    match sel % 10 {
        0 => Command::probe(),
        1 => Command::cmgr(u32::from(arg)),
        2 => Command::cmgl(i32::from(arg % 5)),
        3 => Command::cmgd(u32::from(arg)),
        4 => Command::query("+CPIN", "+CPIN:"),
        5 => Command::cpms_set(&["SM", "ME", "MT"][..usize::from(arg % 3) + 1]),
        6 => Command::test("+CNMI", "+CNMI:"),
        7 => Command::query("+CPMS", "+CPMS:"),
        8 => Command::set_ints("+CNMI", &[2, 1, 0, 2, 0], &[]),
        _ => Command::raw("ATE0"),
    }
}

/// Header: max line (8 + octet). Records: `op`, op % 5: 0 feed `len bytes…`; 1 submit
/// `sel arg`; 2 time passes `octet × 100 ms` and timeouts fire; 3 reset; 4 drain writes.
///
/// Invariants: each command is answered at most once and in submission order (reset drops
/// the unanswered); response and URC lines fit the line cap and hold only printable ASCII; PDUs
/// handed on are decoded with their SMSC part within them; `busy` and `next_deadline` agree with what is unanswered. Every
/// line grammar runs on every line seen, and the framer alone on the raw bytes.
pub fn at(data: &[u8]) {
    let mut input = Input::new(data);
    let max_line = 8 + usize::from(input.u8_or0());
    let t0 = Instant::now();
    let mut now = t0;
    let mut engine = AtEngine::new(max_line, Duration::from_millis(1500));
    let mut outstanding: std::collections::VecDeque<u64> = std::collections::VecDeque::new();
    let mut raw: Vec<u8> = Vec::new();
    while let Some(op) = input.u8() {
        match op % 5 {
            0 => {
                let Some(bytes) = input.chunk() else { break };
                raw.extend_from_slice(bytes);
                engine.feed(bytes, now);
            }
            1 => {
                let (sel, arg) = (input.u8_or0(), input.u8_or0());
                let id = engine.submit(command(sel, arg), now);
                assert!(outstanding.back().is_none_or(|&last| id > last));
                outstanding.push_back(id);
            }
            2 => {
                now += Duration::from_millis(100 * u64::from(input.u8_or0()));
                engine.handle_timeout(now);
            }
            3 => {
                engine.reset();
                outstanding.clear();
            }
            _ => {
                while let Some(w) = engine.poll_transmit() {
                    assert!(w.ends_with(b"\r") && w.starts_with(b"AT"), "{w:?}");
                }
            }
        }
        while let Some(ev) = engine.poll_event() {
            match ev {
                AtEvent::Response(r) => {
                    assert_eq!(outstanding.pop_front(), Some(r.id), "response out of order");
                    assert!(r.command.starts_with("AT"));
                    for l in &r.lines {
                        at_line_ok(&l.text, max_line);
                        at_lines(&l.text);
                        if let Some(p) = &l.pdu {
                            raw_pdu_ok(p);
                        }
                    }
                    let _ = (r.result.to_string(), r.result.is_ok(), r.line("+CMGR:"));
                }
                AtEvent::Urc(u) => match u {
                    Urc::Pdu { pdu, .. } => raw_pdu_ok(&pdu),
                    Urc::Line(l) => {
                        at_line_ok(&l, max_line);
                        at_lines(&l);
                    }
                    Urc::Error(fr) => {
                        assert!(matches!(fr, FinalResult::CmsError(_) | FinalResult::CmeError(_)))
                    }
                    Urc::MessageStored(_) | Urc::StatusReportStored(_) | Urc::Indicator { .. } => {}
                },
            }
        }
        assert_eq!(engine.busy(), !outstanding.is_empty(), "busy disagrees");
        assert_eq!(engine.next_deadline().is_some(), !outstanding.is_empty(), "deadline disagrees");
        let _ = engine.junk_lines();
    }
    // The framer alone, on everything fed, and the grammars on every line of the raw input.
    let mut framer = LineFramer::new(max_line);
    framer.feed(&raw, |l| {
        at_line_ok(l, max_line);
        at_lines(l);
    });
    assert!(framer.partial().len() <= max_line);
    for l in String::from_utf8_lossy(input_all(data)).split(['\r', '\n']) {
        at_lines(l);
    }
}

fn input_all(data: &[u8]) -> &[u8] {
    data.get(1..).unwrap_or_default()
}

fn at_line_ok(l: &str, max_line: usize) {
    assert!(!l.is_empty() && l.len() <= max_line, "line of {} octets, cap {max_line}", l.len());
    assert!(l.bytes().all(|b| b == b'\t' || (0x20..=0x7e).contains(&b)), "{l:?}");
}

/// A PDU the engine decoded: not empty, its SMSC part and TPDU within it.
fn raw_pdu_ok(p: &at::RawPdu) {
    assert!(!p.bytes().is_empty());
    assert!(p.smsc_len() >= 1 && p.smsc_len() <= p.bytes().len(), "{p:?}");
    assert_eq!(p.smsc_len() + p.tpdu().len(), p.bytes().len());
    let _ = (p.tp_mti(), p.index(), p.stat(), p.tpdu_len());
}

fn hex_pdu_ok(p: &str) {
    assert!(!p.is_empty() && p.len() % 2 == 0 && p.bytes().all(|b| b.is_ascii_hexdigit()), "{p:?}");
}

/// Every response grammar on one line; none may panic.
fn at_lines(l: &str) {
    let _ = FinalResult::parse(l);
    let _ = Urc::classify(l);
    let _ = response::split_fields(l);
    let _ = response::parse_stored_indication(l, "+CMTI:");
    let _ = response::parse_ciev(l);
    for prefix in at::urc::TWO_LINE_URCS.iter().chain(&["+CMGR:", "+CMGL:"]) {
        if let Ok(h) = response::parse_pdu_header(l, prefix) {
            let _ = h.number(0);
        }
    }
    if let Some((hex, _)) = response::pdu_hex(l) {
        hex_pdu_ok(hex);
    }
    let _ = response::looks_like_pdu(l);
    let _ = response::parse_int_ranges(l, "+CNMI:");
    let _ = response::parse_cpms_test(l);
    if let Ok(u) = response::parse_cpms_usage(l) {
        for s in &u {
            let _ = s.is_full();
        }
    }
    let _ = response::parse_cind_smsfull(l);
}

// ---------------------------------------------------------------------------------------------

/// A global allocator that counts the heap octets each thread holds, for the sse target's
/// memory bound. Per thread, so parallel tests do not disturb each other.
pub mod alloc {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    pub struct Counting;

    thread_local! {
        static LIVE: Cell<isize> = const { Cell::new(0) };
        static PEAK: Cell<isize> = const { Cell::new(0) };
        static ON: Cell<bool> = const { Cell::new(false) };
    }

    fn add(n: isize) {
        let _ = LIVE.try_with(|l| {
            let v = l.get() + n;
            l.set(v);
            let _ = PEAK.try_with(|p| p.set(p.get().max(v)));
        });
        let _ = ON.try_with(|o| o.set(true));
    }

    // SAFETY: every call is forwarded unchanged to the system allocator; the counters are
    // thread-local cells with constant initialisers, which never allocate.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            add(layout.size() as isize);
            // SAFETY: forwarded unchanged.
            unsafe { System.alloc(layout) }
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            add(layout.size() as isize);
            // SAFETY: forwarded unchanged.
            unsafe { System.alloc_zeroed(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            add(-(layout.size() as isize));
            // SAFETY: `ptr` came from `System` with `layout`.
            unsafe { System.dealloc(ptr, layout) }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            add(new_size as isize - layout.size() as isize);
            // SAFETY: `ptr` came from `System` with `layout`.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    #[global_allocator]
    static GLOBAL: Counting = Counting;

    /// Whether this thread's allocations are being counted (the allocator is installed).
    pub fn installed() -> bool {
        ON.try_with(Cell::get).unwrap_or(false)
    }

    /// Heap octets this thread allocated minus those it freed (negative when it frees what
    /// another thread allocated); compare two readings.
    pub fn live() -> isize {
        LIVE.try_with(Cell::get).unwrap_or(0)
    }

    /// The highest [`live`] since [`reset_peak`].
    pub fn peak() -> isize {
        PEAK.try_with(Cell::get).unwrap_or(0)
    }

    pub fn reset_peak() {
        let v = LIVE.try_with(Cell::get).unwrap_or(0);
        let _ = PEAK.try_with(|p| p.set(v));
    }
}
