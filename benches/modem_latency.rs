//! Latency from a `+CMTI` written on the pty master to the `ReceivedPdu` handed on by the real
//! driver (tokio-serial on the slave path): the intake reads it with `AT+CMGR` in between.
//! Prints p50/p99 besides criterion's estimate. Run: `cargo bench --bench modem_latency`.

use criterion::{criterion_group, criterion_main, Criterion};
use otapush::config::ModemConfig;
use otapush::modem::sim::pty::Pty;
use otapush::modem::sim::{sample_deliver_pdu, SimHandle, SimOptions};
use otapush::modem::{run_modem, ModemState, Profile, ReceivedPdu, Transport};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

struct Setup {
    sim: SimHandle,
    rx: mpsc::Receiver<ReceivedPdu>,
    _dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("modem");
    let sim = SimHandle::new(SimOptions::default());
    let pty = Pty::open().unwrap();
    std::os::unix::fs::symlink(pty.path(), &link).unwrap();
    sim.attach(pty);
    let (tx, rx) = mpsc::channel(4);
    let (stx, mut srx) = watch::channel(ModemState::NoDevice);
    let cfg = ModemConfig { device: link.to_string_lossy().into(), ..ModemConfig::default() };
    tokio::spawn(run_modem(
        cfg,
        Profile::default(),
        Transport::Serial(link),
        tx,
        stx,
        std::future::pending(),
    ));
    srx.wait_for(|s| *s == ModemState::Ready).await.unwrap();
    Setup { sim, rx, _dir: dir }
}

/// One SMS: deliver, time until handed on, answer durable, wait until deleted.
async fn one(s: &mut Setup, n: u8) -> Duration {
    let start = Instant::now();
    s.sim.deliver(&sample_deliver_pdu(n));
    let p = s.rx.recv().await.unwrap();
    let took = start.elapsed();
    let _ = p.durable.send(Ok(()));
    while !s.sim.stored().is_empty() {
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    took
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut s = rt.block_on(setup());
    let mut samples = Vec::new();
    c.bench_function("cmti_to_received_pdu", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for i in 0..iters {
                    let d = one(&mut s, i as u8).await;
                    samples.push(d);
                    total += d;
                }
                total
            })
        })
    });
    samples.sort();
    if !samples.is_empty() {
        let pct = |p: usize| samples[(samples.len() * p / 100).min(samples.len() - 1)];
        println!("cmti_to_received_pdu: n={} p50={:?} p99={:?}", samples.len(), pct(50), pct(99));
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
