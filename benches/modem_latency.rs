//! Latency from a `+CMTI` written on the pty master to the `ReceivedPdu` handed on by the real
//! driver (tokio-serial on the slave path): the intake reads it with `AT+CMGR` in between. Then,
//! as the daemon does, the PDU is spooled durably (SQLite, `fsync`, state dir on disk under
//! /var/tmp) before `durable` is answered. Criterion's estimate is +CMTI → handed on; the
//! printed p50/p99 give both handed on and durable. Run: `cargo bench --bench modem_latency`.

use criterion::{criterion_group, criterion_main, Criterion};
use otapush::modem::sim::{sample_deliver_pdu, SimHandle};
use otapush::modem::ReceivedPdu;
use otapush::store::{Limits, Store};
use otapush_test_support::modem::ready_intake;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

struct Setup {
    sim: SimHandle,
    rx: mpsc::Receiver<ReceivedPdu>,
    store: Store,
    _dir: tempfile::TempDir,
    _state: tempfile::TempDir,
}

async fn setup() -> Setup {
    let (sim, rx, dir) = ready_intake(4).await;
    // On disk, as a board's state dir is (/tmp may be a tmpfs).
    let state = tempfile::Builder::new().prefix("otapush-bench-").tempdir_in("/var/tmp").unwrap();
    let store = Store::open(state.path(), Limits::default()).unwrap();
    Setup { sim, rx, store, _dir: dir, _state: state }
}

/// One SMS: deliver, time until handed on and until spooled durably, answer durable, wait
/// until deleted.
async fn one(s: &mut Setup, n: u8) -> (Duration, Duration) {
    let start = Instant::now();
    s.sim.deliver(&sample_deliver_pdu(n));
    let p = s.rx.recv().await.unwrap();
    let handed = start.elapsed();
    s.store.spool_pdu(&p.pdu, 0).unwrap();
    let durable = start.elapsed();
    let _ = p.durable.send(Ok(()));
    while !s.sim.stored().is_empty() {
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    (handed, durable)
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut s = rt.block_on(setup());
    let mut samples = Vec::new();
    let mut durable = Vec::new();
    c.bench_function("cmti_to_received_pdu", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for i in 0..iters {
                    let (d, k) = one(&mut s, i as u8).await;
                    samples.push(d);
                    durable.push(k);
                    total += d;
                }
                total
            })
        })
    });
    for (name, v) in [("cmti_to_received_pdu", &mut samples), ("cmti_to_durable_spool", &mut durable)] {
        v.sort();
        if !v.is_empty() {
            let pct = |p: usize| v[(v.len() * p / 100).min(v.len() - 1)];
            println!("{name}: n={} p50={:?} p99={:?}", v.len(), pct(50), pct(99));
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
