//! Allocation budget of WDP reassembly once warm: a pending segment allocates nothing; a
//! completing segment allocates only the datagram's payload, originator and tag list.
//! (A test binary of its own, because it installs a counting global allocator.)

use otapush::wdp::{Limits, Ports, Pushed, Reassembler, Segment};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (see `alloc`).
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    f();
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

#[test]
fn warm_two_segment_message_allocates_only_its_datagram() {
    let ports = Some(Ports { src: 9200, dst: 2948, bits: 16 });
    let first = [0x01u8; 127];
    let second = [0x02u8; 55];
    let mut r = Reassembler::new(Limits { max_partials: 64, max_bytes: 256 * 1024, timeout_ms: 60_000 });
    let mut now = 0;
    let mut message = |r: &mut Reassembler, reference: u16| {
        now += 1;
        let s1 = Segment {
            originator: "+447785016005",
            reference,
            ref_bits: 16,
            total: 2,
            seq: 1,
            ports,
            data: &first,
            tag: 1,
        };
        let s2 = Segment { seq: 2, data: &second, tag: 2, ..s1 };
        let pending = allocations_during(|| {
            let o = r.push(&s1, now).unwrap();
            assert_eq!(o.pushed, Pushed::Pending { have: 1, total: 2 });
        });
        let mut out = None;
        let completing = allocations_during(|| out = Some(r.push(&s2, now).unwrap()));
        match out.map(|o| o.pushed) {
            Some(Pushed::Complete(d)) => assert_eq!(d.data.len(), 182),
            other => panic!("not complete: {other:?}"),
        }
        (pending, completing)
    };
    // Warm up: the first messages fill the recycling pools.
    for reference in 0..4 {
        message(&mut r, reference);
    }
    for reference in 4..100 {
        let (pending, completing) = message(&mut r, reference);
        assert_eq!(pending, 0, "pending segment allocated");
        assert!(completing <= 3, "completing segment allocated {completing} times");
    }
}
