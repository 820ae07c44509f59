//! Heap allocations per unit of work once warm, counted by a global allocator: SMS decode of
//! each PDU of the codec bench, the receive path per segment of the two-segment MMS push, a
//! WSP parse, and the event-stream parser per small event. Prints one line per figure.
//! Run: `cargo bench --bench allocs`.

use otapush::receive::{Outcome, Receiver};
use otapush::{hex, sms, sse, wdp, wsp};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

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

// The same vectors as benches/codec.rs (sources named there).
const SHORT: &str = "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37";
const UCS2: &str = concat!(
    "04819999990414D0FBFD7EBFDFEFF77BFE1E0019512090801361807E00DC00FC00C400E400D600F600C5",
    "00E500D800F800C600E600C700E700C900E900CA00EA00DF003100320033003400350036003700380039",
    "003000200054006800690073002000",
    "6D0065007300730061006700650020006900730020003600330020",
    "0075006E00690063006F00640065002000630068006100720073002E"
);
const MMS: [&str; 2] = [
    "0791447758100650400E80885810000000810004016082415464408C0C08049F8E020105040B8423F00106226170706C69636174696F6E2F766E642E7761702E6D6D732D6D65737361676500AF848C82984E4F4B3543694B636F544D595347344D4253774141734B7631344655484141414141414141008D908919802B3434373738353334323734392F545950453D504C4D4E008A808E0274008805810301194083687474703A2F",
    "0791447758100650440E8088581000000081000401608241547440440C08049F8E020205040B8423F02F70726F6D6D732F736572766C6574732F4E4F4B3543694B636F544D595347344D4253774141734B763134465548414141414141414100",
];

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let report = |name: &str, (allocs, bytes): (f64, f64)| {
        println!("allocs: {name:<40} {allocs:>6.1} allocations {bytes:>8.0} octets");
    };
    for (name, h) in
        [("sms_decode/gsm7_short", SHORT), ("sms_decode/ucs2_63", UCS2), ("sms_decode/8bit_mms", MMS[0])]
    {
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
            assert!(matches!(done.as_slice(), [Outcome::Complete(_)]));
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
            assert!(matches!(done.as_slice(), [Outcome::Complete(_)]));
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
