//! Intake throughput against a slow modem: the pty simulator looks at every command only after
//! 20 ms (a real modem takes 10-50 ms), a burst of SMS is delivered at once and the real driver
//! reads, hands over and deletes them; `durable` is answered at once, so the figure is the AT
//! side alone. Bursts of 100 (20 fit in `ME`, the network holds the rest until slots are free)
//! and of 20 (they all fit). Prints SMS/s and the AT commands per SMS by kind. Run:
//! `cargo bench --bench modem_throughput`.

use otapush::modem::sim::sample_deliver_pdu;
use otapush_test_support::modem::ready_intake;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const LATENCY: Duration = Duration::from_millis(20);

async fn burst(n: usize) {
    let (sim, mut rx, _dir) = ready_intake(n).await;
    sim.set_latency(LATENCY);
    let before = sim.commands().len();
    let start = Instant::now();
    for k in 0..n {
        sim.deliver(&sample_deliver_pdu(k as u8));
    }
    for _ in 0..n {
        let p = rx.recv().await.expect("a PDU");
        let _ = p.durable.send(Ok(()));
    }
    while !sim.stored().is_empty() || sim.network_queue_len() > 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let elapsed = start.elapsed();
    // The check once the burst has ended belongs to it too.
    tokio::time::sleep(LATENCY * 3).await;
    let log = sim.commands();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for c in &log[before..] {
        let kind = c.split(['=', '?']).next().unwrap_or(c);
        let kind = if c.starts_with("AT+CPMS?") { "AT+CPMS?" } else { kind };
        *kinds.entry(kind.to_string()).or_default() += 1;
    }
    let total = log.len() - before;
    println!(
        "intake burst={n} latency={LATENCY:?}: {:.1} SMS/s ({elapsed:?}), {total} AT commands, {:.2} per SMS: {kinds:?}",
        n as f64 / elapsed.as_secs_f64(),
        total as f64 / n as f64
    );
}

fn main() {
    // `cargo bench` passes `--bench` (and maybe `--quick`): one burst of each size either way.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(burst(100));
    rt.block_on(burst(20));
}
