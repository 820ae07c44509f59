//! Heap allocations per unit of work once warm, counted by a global allocator: SMS decode of
//! each PDU of the codec bench, the receive path per segment of the two-segment MMS push, a
//! WSP parse, and the event-stream parser per small event. Prints one line per figure.
//! Run: `cargo bench --bench allocs`.

use otapush::receive::{Outcome, Receiver};
use otapush::{hex, sms, sse, wdp, wsp};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use vectors::{GSM7_160, MMS, SHORT, UCS2};

mod vectors;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call unchanged to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(new_size, Ordering::Relaxed);
        // SAFETY: `ptr` came from `System` with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations and allocated octets per call of `f`, averaged over `n` calls after `n` warm-up
/// calls.
fn per_call(n: usize, mut f: impl FnMut()) -> (f64, f64) {
    for _ in 0..n {
        f();
    }
    let (a0, b0) = (ALLOCATIONS.load(Ordering::Relaxed), BYTES.load(Ordering::Relaxed));
    for _ in 0..n {
        f();
    }
    let (a1, b1) = (ALLOCATIONS.load(Ordering::Relaxed), BYTES.load(Ordering::Relaxed));
    ((a1 - a0) as f64 / n as f64, (b1 - b0) as f64 / n as f64)
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let report = |name: &str, (allocs, bytes): (f64, f64)| {
        println!("allocs: {name:<40} {allocs:>6.1} allocations {bytes:>8.0} octets");
    };
    for (name, h) in [
        ("sms_decode/gsm7_160", GSM7_160),
        ("sms_decode/gsm7_short", SHORT),
        ("sms_decode/ucs2_63", UCS2),
        ("sms_decode/8bit_mms", MMS[0]),
    ] {
        let p = hex::decode(h).unwrap();
        report(name, per_call(1000, || drop(std::hint::black_box(sms::decode(&p, true).unwrap()))));
    }

    let segs: Vec<Vec<u8>> = MMS.iter().map(|h| hex::decode(h).unwrap()).collect();
    let mut rx =
        Receiver::new(wdp::Limits { max_partials: 64, max_bytes: 256 * 1024, timeout_ms: 3_600_000 });
    let mut now = 1_700_000_000_000u64;
    let mut tag = 0;
    let (mut pending, mut completing) = ((0.0, 0.0), (0.0, 0.0));
    for _ in 0..2 {
        pending = per_call(500, || {
            now += 1;
            tag += 2;
            let o = rx.process(tag, &segs[0], now);
            assert!(matches!(o.as_slice(), [Outcome::Pending { .. }]));
            // Complete it outside the count, so the next call starts a new message.
            let (a, b) = (ALLOCATIONS.load(Ordering::Relaxed), BYTES.load(Ordering::Relaxed));
            let done = rx.process(tag + 1, &segs[1], now);
            assert!(matches!(done.as_slice(), [Outcome::Complete { .. }]));
            drop(done);
            ALLOCATIONS.store(a, Ordering::Relaxed);
            BYTES.store(b, Ordering::Relaxed);
        });
        completing = per_call(500, || {
            now += 1;
            tag += 2;
            let (a, b) = (ALLOCATIONS.load(Ordering::Relaxed), BYTES.load(Ordering::Relaxed));
            drop(rx.process(tag, &segs[0], now));
            ALLOCATIONS.store(a, Ordering::Relaxed);
            BYTES.store(b, Ordering::Relaxed);
            let done = rx.process(tag + 1, &segs[1], now);
            assert!(matches!(done.as_slice(), [Outcome::Complete { .. }]));
        });
    }
    report("receive/mms_segment_1_of_2 (pending)", pending);
    report("receive/mms_segment_2_of_2 (completes)", completing);
    report(
        "receive/per_segment (mean of both)",
        ((pending.0 + completing.0) / 2.0, (pending.1 + completing.1) / 2.0),
    );

    let mut payload = Vec::new();
    for s in &segs {
        payload.extend_from_slice(sms::decode(s, true).unwrap().user_data().unwrap().binary().unwrap());
    }
    report(
        "wsp_parse/mms_notification",
        per_call(1000, || drop(std::hint::black_box(wsp::parse(&payload).unwrap()))),
    );

    let event = b"id: 42\nevent: update\ndata: {\"seq\":1,\"v\":\"hello\"}\n\n";
    let mut p = sse::Parser::new(sse::Limits::default());
    report("sse_parse/small_event", per_call(1000, || p.feed(event, &mut |o| drop(std::hint::black_box(o)))));
}
