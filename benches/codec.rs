//! Codec costs: SMS decode plus text per PDU, the whole receive path per segment of a
//! two-segment MMS notification push, WSP parse, and event-stream parser throughput.
//! Run: `cargo bench --bench codec` (figures and budgets in BENCHMARKS.md).
//!
//! The PDUs are the published vectors of the unit tests (crates/otapush-proto/src/sms/tests.rs) where one fits,
//! otherwise built with the crate's encoder (the 160-character GSM 7-bit PDU).

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use otapush::receive::{Outcome, Receiver};
use otapush::sms::{self, Address, DeliverTemplate, Timestamp};
use otapush::{hex, sse, wdp, wsp};
use std::time::Duration;
use vectors::{GSM7_160, MMS, SHORT, UCS2};

mod vectors;

fn pdu(h: &str) -> Vec<u8> {
    hex::decode(h).unwrap()
}

/// A 160-character GSM 7-bit SMS-DELIVER (one PDU, no UDH), built with the encoder: SMSC
/// +447785016005, originator +447700900123, SCTS 2024-05-17 12:30:45 -02:00.
fn gsm7_160() -> Vec<u8> {
    let text: String =
        "The quick brown fox jumps over the lazy dog 0123456789. ".chars().cycle().take(160).collect();
    let t = DeliverTemplate {
        smsc: Some(Address::international("+447785016005").unwrap()),
        originator: Address::international("+447700900123").unwrap(),
        scts: Timestamp::new((2024, 5, 17), (12, 30, 45), -8).unwrap(),
        pid: 0,
    };
    let pdus = sms::segment_text(&t, &text, 0, 8).unwrap();
    assert_eq!(pdus.len(), 1);
    assert_eq!(pdus[0], pdu(GSM7_160));
    pdus.into_iter().next().unwrap()
}

/// Decode plus the text (or data) of one PDU.
fn decode_text(p: &[u8]) -> usize {
    let d = sms::decode(p, true).unwrap();
    d.user_data().map_or(0, |u| u.as_bytes().len())
}

fn sms_decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("sms_decode_text");
    let cases = [
        ("gsm7_160", gsm7_160()),
        ("gsm7_short", pdu(SHORT)),
        ("ucs2_63", pdu(UCS2)),
        ("8bit_mms_segment", pdu(MMS[0])),
    ];
    for (name, p) in &cases {
        assert!(decode_text(p) > 0);
        g.bench_with_input(BenchmarkId::from_parameter(name), p, |b, p| b.iter(|| decode_text(black_box(p))));
    }
    g.finish();
}

/// The whole receive path for both segments: SMS decode, reassembly, WSP parse, the message
/// (id, meta maps). Criterion's time is per message (two segments).
fn receive_path(c: &mut Criterion) {
    let segs = [pdu(MMS[0]), pdu(MMS[1])];
    let mut rx =
        Receiver::new(wdp::Limits { max_partials: 64, max_bytes: 256 * 1024, timeout_ms: 3_600_000 });
    let mut now = 1_700_000_000_000u64;
    let mut tag = 0u64;
    let mut one = |rx: &mut Receiver| {
        now += 1;
        tag += 2;
        let a = rx.process(tag, black_box(&segs[0]), now);
        let b = rx.process(tag + 1, black_box(&segs[1]), now);
        debug_assert!(matches!(a.as_slice(), [Outcome::Pending { .. }]));
        match b.as_slice() {
            [Outcome::Complete { messages, .. }] => messages.len(),
            other => panic!("not complete: {other:?}"),
        }
    };
    assert_eq!(one(&mut rx), 1);
    let mut g = c.benchmark_group("receive_path");
    g.throughput(Throughput::Elements(2));
    g.bench_function("mms_two_segments", |b| b.iter(|| one(&mut rx)));
    g.finish();
}

/// The message id of the same push (SHA-256 over originator, time stamp, reference and the
/// 180-octet payload): the largest single cost inside `receive_path`.
fn message_id(c: &mut Criterion) {
    let mut payload = Vec::new();
    for h in MMS {
        let d = sms::decode(&pdu(h), true).unwrap();
        payload.extend_from_slice(d.user_data().unwrap().binary().unwrap());
    }
    c.bench_function("message_id/mms_notification", |b| {
        b.iter(|| {
            otapush::message::sms_message_id(
                black_box("+447785016005"),
                Some("2010-06-28T14:45:44+01:00"),
                Some(40846),
                black_box(&payload),
            )
        })
    });
}

fn wsp_parse(c: &mut Criterion) {
    let mut payload = Vec::new();
    for h in MMS {
        let d = sms::decode(&pdu(h), true).unwrap();
        payload.extend_from_slice(d.user_data().unwrap().binary().unwrap());
    }
    assert_eq!(wsp::parse(&payload).unwrap().content_type, "application/vnd.wap.mms-message");
    c.bench_function("wsp_parse/mms_notification", |b| {
        b.iter(|| wsp::parse(black_box(&payload)).map(|p| p.headers.len()).unwrap())
    });
}

/// About 1 MiB of event stream made of `event`.
fn stream_of(event: &[u8]) -> Vec<u8> {
    let n = (1 << 20) / event.len() + 1;
    event.repeat(n)
}

fn sse_parse(c: &mut Criterion) {
    let small = stream_of(b"id: 42\nevent: update\ndata: {\"seq\":1,\"v\":\"hello\"}\n\n");
    let large = {
        let mut e = b"data: ".to_vec();
        e.extend(std::iter::repeat_n(b'x', 64 * 1024));
        e.extend_from_slice(b"\n\n");
        stream_of(&e)
    };
    let many_lines = {
        let mut e = Vec::new();
        for i in 0..100 {
            e.extend_from_slice(format!("data: line {i:03} of a many-line event, forty octets\n").as_bytes());
        }
        e.push(b'\n');
        stream_of(&e)
    };
    let mut g = c.benchmark_group("sse_parse");
    for (name, stream) in
        [("small_events", &small), ("large_events_64k", &large), ("many_line_events", &many_lines)]
    {
        g.throughput(Throughput::Bytes(stream.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(name), stream, |b, s| {
            b.iter(|| {
                let mut p = sse::Parser::new(sse::Limits::default());
                let mut events = 0usize;
                // 16 KiB reads, as an HTTP body arrives.
                for chunk in s.chunks(16 * 1024) {
                    p.feed(chunk, &mut |o| {
                        if let sse::Output::Event(e) = o {
                            events += black_box(e).data.len().min(1);
                        }
                    });
                }
                events
            })
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3))
}

criterion_group! { name = benches; config = config(); targets = sms_decode, receive_path, message_id, wsp_parse, sse_parse }
criterion_main!(benches);
