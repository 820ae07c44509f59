//! Reassembly tests. Time is an input: every `push` names its millisecond.

use super::*;
use proptest::prelude::*;
use std::collections::BTreeSet;

const PUSH_PORTS: Option<Ports> = Some(Ports { src: 9200, dst: 2948, bits: 16 });

fn limits() -> Limits {
    Limits { max_partials: 8, max_bytes: 4096, timeout_ms: 60_000 }
}

fn seg<'a>(
    orig: &'a str,
    reference: u16,
    bits: u8,
    total: u8,
    seq: u8,
    data: &'a [u8],
    tag: u64,
) -> Segment<'a> {
    Segment { originator: orig, reference, ref_bits: bits, total, seq, ports: PUSH_PORTS, data, tag }
}

fn complete(o: Outcome) -> Datagram {
    match o.pushed {
        Pushed::Complete(d) => d,
        other => panic!("expected a datagram, got {other:?}"),
    }
}

#[test]
fn out_of_order_segments_complete_in_sequence_order() {
    let mut r = Reassembler::new(limits());
    let o = r.push(&seg("+491701", 7, 8, 3, 3, b"ccc", 30), 1_000).unwrap();
    assert_eq!(o.pushed, Pushed::Pending { have: 1, total: 3 });
    let o = r.push(&seg("+491701", 7, 8, 3, 1, b"a", 10), 2_000).unwrap();
    assert_eq!(o.pushed, Pushed::Pending { have: 2, total: 3 });
    assert_eq!(r.bytes_held(), 4);
    let d = complete(r.push(&seg("+491701", 7, 8, 3, 2, b"bb", 20), 3_000).unwrap());
    assert_eq!(d.data, b"abbccc");
    assert_eq!(d.tags, vec![10, 20, 30]);
    assert_eq!((d.first_ms, d.segments, d.reference, d.ref_bits), (1_000, 3, 7, 8));
    assert_eq!(d.ports, PUSH_PORTS);
    assert_eq!((r.partial_count(), r.bytes_held()), (0, 0));
    assert_eq!(r.next_deadline(), None);
}

#[test]
fn duplicates_and_conflicting_data() {
    let mut r = Reassembler::new(limits());
    r.push(&seg("A", 1, 16, 2, 1, b"one", 1), 0).unwrap();
    let o = r.push(&seg("A", 1, 16, 2, 1, b"one", 2), 1).unwrap();
    assert_eq!(o.pushed, Pushed::Duplicate { have: 1, total: 2 });
    let o = r.push(&seg("A", 1, 16, 2, 1, b"0ne", 3), 2).unwrap();
    assert_eq!(o.pushed, Pushed::Conflict { kind: ConflictKind::Data, have: 1, total: 2 });
    assert_eq!(r.held_tags().collect::<Vec<_>>(), vec![1]);
    let d = complete(r.push(&seg("A", 1, 16, 2, 2, b"two", 4), 3).unwrap());
    assert_eq!(d.data, b"onetwo");
    assert_eq!(d.tags, vec![1, 4]);
}

#[test]
fn segment_with_other_ports_is_a_conflict_and_dropped() {
    let mut r = Reassembler::new(limits());
    r.push(&seg("A", 9, 8, 2, 1, b"x", 1), 0).unwrap();
    let mut s = seg("A", 9, 8, 2, 2, b"y", 2);
    // Same numbers, 8-bit addressing: different ports.
    s.ports = Some(Ports { src: 9200, dst: 2948, bits: 8 });
    assert_eq!(
        r.push(&s, 1).unwrap().pushed,
        Pushed::Conflict { kind: ConflictKind::Ports, have: 1, total: 2 }
    );
    s.ports = None;
    assert_eq!(
        r.push(&s, 1).unwrap().pushed,
        Pushed::Conflict { kind: ConflictKind::Ports, have: 1, total: 2 }
    );
    assert_eq!(r.bytes_held(), 1);
    let d = complete(r.push(&seg("A", 9, 8, 2, 2, b"y", 3), 2).unwrap());
    assert_eq!((d.data, d.tags), (b"xy".to_vec(), vec![1, 3]));
}

#[test]
fn eight_and_sixteen_bit_references_do_not_collide() {
    let mut r = Reassembler::new(limits());
    r.push(&seg("A", 5, 8, 2, 1, b"8-", 1), 0).unwrap();
    r.push(&seg("A", 5, 16, 2, 1, b"16-", 2), 0).unwrap();
    assert_eq!(r.partial_count(), 2);
    let d16 = complete(r.push(&seg("A", 5, 16, 2, 2, b"b", 3), 1).unwrap());
    assert_eq!((d16.data, d16.ref_bits), (b"16-b".to_vec(), 16));
    let d8 = complete(r.push(&seg("A", 5, 8, 2, 2, b"a", 4), 1).unwrap());
    assert_eq!((d8.data, d8.ref_bits), (b"8-a".to_vec(), 8));
}

#[test]
fn key_includes_originator_and_total() {
    let mut r = Reassembler::new(limits());
    r.push(&seg("Operator", 0, 8, 2, 1, b"a", 1), 0).unwrap();
    r.push(&seg("+4917", 0, 8, 2, 1, b"b", 2), 0).unwrap();
    r.push(&seg("Operator", 0, 8, 3, 1, b"c", 3), 0).unwrap();
    assert_eq!(r.partial_count(), 3);
    // White space and ASCII case of the originator do not matter; reference 0 is valid.
    let d = complete(r.push(&seg(" OPERATOR ", 0, 8, 2, 2, b"z", 4), 1).unwrap());
    assert_eq!((d.data, d.originator, d.reference), (b"az".to_vec(), "Operator".to_owned(), 0));
}

#[test]
fn single_segment_messages_complete_at_once() {
    let mut r = Reassembler::new(limits());
    let d = complete(r.push(&seg("A", 3, 8, 1, 1, b"whole", 7), 5).unwrap());
    assert_eq!((d.data, d.tags, d.segments, d.first_ms), (b"whole".to_vec(), vec![7], 1, 5));
    let d = complete(r.push(&Segment::single("A", None, b"plain", 8), 6).unwrap());
    assert_eq!((d.ref_bits, d.ports), (0, None));
    assert_eq!(r.partial_count(), 0);
}

#[test]
fn invalid_segments_are_errors_and_change_nothing() {
    let mut r = Reassembler::new(limits());
    r.push(&seg("A", 1, 8, 2, 1, b"x", 1), 0).unwrap();
    let cases = [
        (seg("A", 1, 8, 2, 0, b"x", 2), ReassemblyError::BadSequence { seq: 0, total: 2 }),
        (seg("A", 1, 8, 2, 3, b"x", 2), ReassemblyError::BadSequence { seq: 3, total: 2 }),
        (seg("A", 1, 8, 0, 1, b"x", 2), ReassemblyError::ZeroTotal),
        (seg("A", 1, 7, 2, 1, b"x", 2), ReassemblyError::BadRefBits(7)),
        (seg("A", 1, 0, 2, 1, b"x", 2), ReassemblyError::BadRefBits(0)),
        (seg("A", 256, 8, 2, 1, b"x", 2), ReassemblyError::ReferenceTooWide(256)),
    ];
    for (s, e) in cases {
        assert_eq!(r.push(&s, 1), Err(e));
    }
    assert_eq!((r.partial_count(), r.bytes_held()), (1, 1));
    assert_eq!(r.held_tags().collect::<Vec<_>>(), vec![1]);
}

#[test]
fn expiry_after_timeout() {
    let mut r = Reassembler::new(Limits { timeout_ms: 1_000, ..limits() });
    r.push(&seg("A", 1, 8, 2, 1, b"old", 1), 10_000).unwrap();
    r.push(&seg("B", 1, 8, 2, 1, b"newer", 2), 10_500).unwrap();
    assert_eq!(r.next_deadline(), Some(11_000));
    assert!(r.expire(10_999).is_empty());
    let ev = r.expire(11_000);
    assert_eq!(ev.len(), 1);
    let e = &ev[0];
    assert_eq!(
        (e.originator.as_str(), e.reason, e.have, e.total, e.tags.clone()),
        ("A", EvictReason::Expired, 1, 2, vec![1])
    );
    assert_eq!(r.next_deadline(), Some(11_500));
    // A late sibling of B after B's deadline: B expires first, the sibling starts anew.
    let o = r.push(&seg("B", 1, 8, 2, 2, b"late", 3), 11_600).unwrap();
    assert_eq!(o.pushed, Pushed::Pending { have: 1, total: 2 });
    assert_eq!(o.evicted.len(), 1);
    assert_eq!((o.evicted[0].reason, o.evicted[0].tags.clone()), (EvictReason::Expired, vec![2]));
    assert_eq!(r.next_deadline(), Some(12_600));
}

#[test]
fn oldest_partial_evicted_when_count_cap_reached() {
    let mut r = Reassembler::new(Limits { max_partials: 2, ..limits() });
    r.push(&seg("A", 1, 8, 2, 1, b"a", 1), 0).unwrap();
    r.push(&seg("B", 1, 8, 3, 2, b"b", 2), 1).unwrap();
    r.push(&seg("B", 1, 8, 3, 3, b"b", 3), 2).unwrap();
    let o = r.push(&seg("C", 1, 8, 2, 1, b"c", 4), 3).unwrap();
    assert_eq!(o.pushed, Pushed::Pending { have: 1, total: 2 });
    assert_eq!(o.evicted.len(), 1);
    assert_eq!((o.evicted[0].originator.as_str(), o.evicted[0].reason), ("A", EvictReason::MaxPartials));
    // Adding to an existing partial needs no new slot.
    let o = r.push(&seg("C", 1, 8, 2, 2, b"d", 5), 4).unwrap();
    assert!(o.evicted.is_empty());
    assert_eq!(complete(o).data, b"cd");
    assert_eq!(r.held_tags().collect::<BTreeSet<_>>(), BTreeSet::from([2, 3]));
}

#[test]
fn oldest_partials_evicted_when_byte_cap_reached() {
    let mut r = Reassembler::new(Limits { max_bytes: 10, ..limits() });
    r.push(&seg("A", 1, 8, 2, 1, b"aaaaaa", 1), 0).unwrap();
    r.push(&seg("B", 1, 8, 3, 1, b"bbbb", 2), 1).unwrap();
    let o = r.push(&seg("B", 1, 8, 3, 2, b"BBB", 3), 2).unwrap();
    assert_eq!(o.pushed, Pushed::Pending { have: 2, total: 3 });
    assert_eq!(
        (o.evicted.len(), o.evicted[0].reason, o.evicted[0].tags.clone()),
        (1, EvictReason::MaxBytes, vec![1])
    );
    assert_eq!(r.bytes_held(), 7);
    // A completing segment is not held, so it needs no room.
    let d = complete(r.push(&seg("B", 1, 8, 3, 3, b"0123456789", 4), 3).unwrap());
    assert_eq!(d.data, b"bbbbBBB0123456789");
    // A segment larger than the cap can never be held.
    assert_eq!(
        r.push(&seg("C", 1, 8, 2, 1, b"0123456789X", 5), 4),
        Err(ReassemblyError::TooLarge { len: 11, max: 10 })
    );
}

#[test]
fn too_large_segment_changes_nothing_even_when_a_partial_is_due() {
    // Found by the reassembly fuzz target: `push` expired the due partial message first and
    // then refused the segment, so the expired one was dropped without being reported.
    let mut r = Reassembler::new(Limits { max_bytes: 10, timeout_ms: 1000, ..limits() });
    r.push(&seg("A", 1, 8, 2, 1, b"aaaa", 1), 0).unwrap();
    assert_eq!(
        r.push(&seg("B", 2, 8, 2, 1, b"0123456789X", 2), 5000),
        Err(ReassemblyError::TooLarge { len: 11, max: 10 })
    );
    assert_eq!(r.held_tags().collect::<Vec<_>>(), vec![1]);
    assert_eq!(r.expire(5000)[0].tags, vec![1]);
    // A segment over the cap that completes a message (it is never held) still completes it.
    r.push(&seg("C", 3, 8, 2, 1, b"c", 3), 5000).unwrap();
    let d = complete(r.push(&seg("C", 3, 8, 2, 2, b"0123456789X", 4), 5001).unwrap());
    assert_eq!(d.data, b"c0123456789X");
}

#[test]
fn message_too_large_for_the_cap_evicts_itself_and_restarts() {
    let mut r = Reassembler::new(Limits { max_bytes: 10, ..limits() });
    r.push(&seg("A", 1, 8, 3, 1, b"12345678", 1), 0).unwrap();
    let o = r.push(&seg("A", 1, 8, 3, 2, b"abcde", 2), 1).unwrap();
    assert_eq!(o.pushed, Pushed::Pending { have: 1, total: 3 });
    assert_eq!(o.evicted[0].tags, vec![1]);
    assert_eq!((r.bytes_held(), r.held_tags().collect::<Vec<_>>()), (5, vec![2]));
}

#[test]
fn set_limits_enforces_new_caps() {
    let mut r = Reassembler::new(limits());
    for (i, o) in ["A", "B", "C"].iter().enumerate() {
        r.push(&seg(o, 1, 8, 2, 1, b"xyz", i as u64), i as u64).unwrap();
    }
    let ev = r.set_limits(Limits { max_partials: 1, max_bytes: 2, timeout_ms: 1 });
    // Two evicted for the count, then the last for the bytes.
    let reasons: Vec<_> = ev.iter().map(|e| (e.originator.as_str(), e.reason)).collect();
    assert_eq!(
        reasons,
        vec![("A", EvictReason::MaxPartials), ("B", EvictReason::MaxPartials), ("C", EvictReason::MaxBytes)]
    );
    assert_eq!(r.partial_count(), 0);
}

#[test]
fn serde_round_trip_keeps_partials() {
    let mut r = Reassembler::new(limits());
    r.push(&seg("+4917", 0xBEEF, 16, 3, 2, &[0x00, 0xFF, 0x10], 11), 100).unwrap();
    r.push(&seg("+4917", 0xBEEF, 16, 3, 1, b"hd", 10), 200).unwrap();
    r.push(&seg("Op", 4, 8, 2, 1, b"x", 20), 300).unwrap();
    let json = serde_json::to_string(&r).unwrap();
    // Payloads persist as hex.
    assert!(json.contains("\"00ff10\""), "{json}");
    let mut back: Reassembler = serde_json::from_str(&json).unwrap();
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
    assert_eq!((back.partial_count(), back.bytes_held(), back.limits()), (2, 6, limits()));
    assert_eq!(back.next_deadline(), Some(60_100));
    let d = complete(back.push(&seg("+4917", 0xBEEF, 16, 3, 3, b"!", 12), 400).unwrap());
    assert_eq!((d.data, d.tags, d.first_ms), (b"hd\x00\xff\x10!".to_vec(), vec![10, 11, 12], 100));
    let d = complete(back.push(&seg("Op", 4, 8, 2, 2, b"y", 21), 400).unwrap());
    assert_eq!(d.data, b"xy");
}

#[test]
fn corrupted_state_is_sanitised() {
    let part = |seq: u8| serde_json::json!({"seq": seq, "tag": 1, "data": "aa"});
    let partial = |total: u8, bits: u8, reference: u16, parts: Vec<serde_json::Value>| {
        serde_json::json!({"originator": "A", "reference": reference, "ref_bits": bits, "total": total,
            "ports": null, "first_ms": 0, "parts": parts})
    };
    let state = serde_json::json!({
        "limits": {"max_partials": 8, "max_bytes": 100, "timeout_ms": 10},
        "partials": [
            partial(2, 8, 1, vec![part(1)]),          // fine
            partial(2, 8, 2, vec![part(3)]),          // seq beyond total
            partial(3, 8, 3, vec![part(1), part(1)]), // repeated seq
            partial(2, 8, 4, vec![part(1), part(2)]), // already complete
            partial(2, 12, 5, vec![part(1)]),         // bad width
            partial(2, 8, 300, vec![part(1)]),        // 8-bit ref too wide
            partial(2, 16, 6, vec![]),                // empty
        ]
    });
    let r: Reassembler = serde_json::from_value(state).unwrap();
    assert_eq!((r.partial_count(), r.bytes_held()), (1, 1));
    let bad_hex = serde_json::json!({"limits": limits(), "partials": [partial(2, 8, 1, vec![
        serde_json::json!({"seq": 1, "tag": 1, "data": "zz"})])]});
    assert!(serde_json::from_value::<Reassembler>(bad_hex).is_err());
}

/// A small deterministic generator (64-bit LCG, Knuth's MMIX constants).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn flood_of_bogus_segments_stays_within_caps_and_accounts_for_every_tag() {
    let lim = Limits { max_partials: 64, max_bytes: 16 * 1024, timeout_ms: 30_000 };
    let mut r = Reassembler::new(lim);
    let mut rng = Lcg(42);
    let payload = [0x5Au8; 140];
    let mut out_tags = BTreeSet::new();
    for tag in 0..100_000u64 {
        let total = 2 + (rng.next() % 254) as u8;
        let seq = 1 + (rng.next() % u64::from(total)) as u8;
        let bits = if rng.next() % 2 == 0 { 8 } else { 16 };
        let reference = (rng.next() % if bits == 8 { 256 } else { 65536 }) as u16;
        let orig = ["+4917", "+4918", "Spam"][(rng.next() % 3) as usize];
        let len = (rng.next() % 141) as usize;
        let s = Segment {
            originator: orig,
            reference,
            ref_bits: bits,
            total,
            seq,
            ports: PUSH_PORTS,
            data: &payload[..len],
            tag,
        };
        let o = r.push(&s, tag * 3).unwrap();
        match o.pushed {
            Pushed::Complete(d) => {
                for t in d.tags {
                    assert!(out_tags.insert(t), "tag {t} reported twice");
                }
            }
            Pushed::Duplicate { .. } | Pushed::Conflict { .. } => {
                out_tags.insert(tag);
            }
            Pushed::Pending { .. } => {}
        }
        for e in o.evicted {
            for t in e.tags {
                assert!(out_tags.insert(t), "tag {t} reported twice");
            }
        }
        assert!(r.partial_count() <= lim.max_partials);
        assert!(r.bytes_held() <= lim.max_bytes);
        assert!(r.spare_bufs.len() <= SPARE_BUFS && r.spare.len() <= SPARE_PARTIALS);
    }
    // Every tag is either reported or still held, exactly once.
    let held: BTreeSet<u64> = r.held_tags().collect();
    assert!(held.is_disjoint(&out_tags));
    assert_eq!(held.len() + out_tags.len(), 100_000);
}

#[test]
fn python_messaging_two_segment_mms_notification() {
    // The two user-data payloads after the UDH (16-bit ref 0x9F8E = 40846, ports 2948 ← 9200)
    // of python-messaging's test_wap.py, arriving in reverse order.
    let parts = crate::wsp::vectors::PYMESSAGING_SEGMENTS.map(|h| crate::hex::decode(h).unwrap());
    let mut r = Reassembler::new(limits());
    let orig = "88850100000018";
    let s2 = Segment {
        originator: orig,
        reference: 40846,
        ref_bits: 16,
        total: 2,
        seq: 2,
        ports: PUSH_PORTS,
        data: &parts[1],
        tag: 2,
    };
    let s1 = Segment { seq: 1, data: &parts[0], tag: 1, ..s2 };
    assert_eq!(r.push(&s2, 0).unwrap().pushed, Pushed::Pending { have: 1, total: 2 });
    let d = complete(r.push(&s1, 1).unwrap());
    assert_eq!(d.data.len(), parts[0].len() + parts[1].len());
    let p = crate::wsp::parse(&d.data).unwrap();
    assert_eq!(p.app_id.as_deref(), Some("x-wap-application:mms.ua"));
    assert!(p.body.ends_with(b"NOK5CiKcoTMYSG4MBSwAAsKv14FUHAAAAAAAA\0"));
}

/// Segments of one message (with some duplicated) in an arbitrary order.
fn shuffled_message() -> impl Strategy<Value = (Vec<Vec<u8>>, Vec<usize>)> {
    proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 2..8).prop_flat_map(|chunks| {
        let n = chunks.len();
        let dups = proptest::collection::vec(0..n, 0..4);
        (Just(chunks), dups).prop_flat_map(move |(chunks, dups)| {
            let mut order: Vec<usize> = (0..n).collect();
            order.extend(dups);
            (Just(chunks), Just(order).prop_shuffle())
        })
    })
}

proptest! {
    #[test]
    fn any_permutation_with_duplicates_reassembles((chunks, order) in shuffled_message(), bits in prop_oneof![Just(8u8), Just(16u8)]) {
        let mut r = Reassembler::new(limits());
        let total = chunks.len() as u8;
        let mut datagrams = Vec::new();
        let mut seen = BTreeSet::new();
        for (t, &i) in order.iter().enumerate() {
            let s = Segment { originator: "+1", reference: 200, ref_bits: bits, total, seq: i as u8 + 1,
                ports: PUSH_PORTS, data: &chunks[i], tag: t as u64 };
            let o = r.push(&s, t as u64).unwrap();
            prop_assert!(o.evicted.is_empty());
            let first_time = seen.insert(i);
            match o.pushed {
                Pushed::Complete(d) => datagrams.push(d),
                Pushed::Duplicate { .. } => prop_assert!(!first_time),
                Pushed::Pending { .. } => {}
                Pushed::Conflict { .. } => prop_assert!(false, "no conflict expected"),
            }
        }
        // Duplicates arriving after completion start a new partial message, which completes
        // again only if every segment came twice.
        prop_assert!(!datagrams.is_empty());
        for d in &datagrams {
            prop_assert_eq!(&d.data, &chunks.concat());
            prop_assert_eq!(d.segments, total);
        }
        let d = &datagrams[0];
        // The tags are those of the first arrival of each sequence number, in order.
        let expected: Vec<u64> = (0..chunks.len())
            .map(|i| order.iter().position(|&x| x == i).unwrap() as u64)
            .collect();
        prop_assert_eq!(&d.tags, &expected);
        prop_assert!(r.partial_count() <= 1);
    }
}
