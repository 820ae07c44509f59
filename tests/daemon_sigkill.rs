//! SIGKILL of the daemon at random moments of a 1,000-message burst (deterministic seed), over
//! both ways in: the modem (a simulated modem on a real pty, which outlives the daemon as a
//! real one would) and `InjectPdu`. A persistent agent records what it acknowledges; at the end
//! every message was delivered at least once, a repeat always under the same id, none lost.

use otapush_test_support::agents::*;
use otapush_test_support::daemon::*;
use otapush_test_support::eventually::*;
use otapush_test_support::faults::*;
use otapush_test_support::modem::PtyModem;
use otapush_test_support::pdu::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use zbus::zvariant::Value;

fn burst_filter() -> Vec<(&'static str, Value<'static>)> {
    vec![
        ("ApplicationId", Value::from("x-wap-application:mms.ua")),
        ("Persistent", Value::Bool(true)),
        ("Name", Value::from("burst")),
    ]
}

/// Kill points: `rounds` progress marks spread over the first 90 % of the burst, each with a
/// random extra delay, so kills land between every pair of steps (read, spool, commit, deliver).
fn kill_plan(rng: &mut Rng, n: usize, rounds: usize) -> Vec<(usize, Duration)> {
    let mut marks: Vec<(usize, Duration)> = (0..rounds)
        .map(|_| (rng.range(0, (n * 9 / 10) as u64) as usize, Duration::from_millis(rng.range(0, 80))))
        .collect();
    marks.sort();
    marks
}

async fn restart(rig: &Rig, daemon: &mut Daemon, rec: &Recorder) {
    daemon.kill();
    daemon.spawn();
    daemon.ready(&rig.conn, true).await;
    rec.register_again(&burst_filter()).await;
}

/// Waits until `progress()` reaches `mark` (or the burst is over).
async fn reach(mark: usize, progress: impl Fn() -> usize, done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + GUARD;
    while progress() < mark && !done() {
        assert!(tokio::time::Instant::now() < deadline, "stuck before mark {mark} at {}", progress());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_burst_through_the_modem_loses_nothing() {
    let rig = Rig::new().await;
    let modem = PtyModem::open();
    let mut daemon = rig.daemon(&modem.device(), 25, "").await;
    let rec = Recorder::start(rig.address(), "burst", &burst_filter()).await;
    let n = 1000;
    let rounds = size(5, 20);
    let mut rng = Rng::new(0x0DA7_A5EED);
    // The network hands the whole burst over at once: the modem stores what fits and the
    // network holds the rest until the daemon frees a slot (SMMA), so the burst runs at the
    // daemon's pace and every kill lands in it. Every tenth message has two segments.
    for i in 0..n {
        for p in burst_message(i, 10) {
            modem.sim.deliver(&p);
        }
    }
    for (mark, extra) in kill_plan(&mut rng, n, rounds) {
        reach(mark, || rec.count(), || modem.pending() == 0).await;
        tokio::time::sleep(extra).await;
        daemon.sample();
        restart(&rig, &mut daemon, &rec).await;
    }
    let t = all_delivered("modem burst", &rec.got, n, &daemon).await;
    daemon.sample();
    report(&format!("sigkill-modem-x{rounds}"), &t, daemon.peak_kib);
    t.assert_sound("sigkill through the modem");
    // The last restart may still be deleting PDUs it read again (duplicates of messages already
    // delivered) after the last delivery: the storage empties soon after, never stays full.
    eventually_sync("the modem's storage to empty after the last delivery", || modem.pending() == 0).await;
    assert_eq!(daemon.starts as usize, rounds + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_an_injected_burst_loses_nothing() {
    let rig = Rig::new().await;
    let mut daemon = rig.daemon("sim", 25, "").await;
    let rec = Recorder::start(rig.address(), "burst", &burst_filter()).await;
    let n = 1000;
    let rounds = size(5, 20);
    let mut rng = Rng::new(0x1_4EC7);
    // The sender counts a PDU as handed over when InjectPdu returned without error; a call that
    // failed (the daemon was gone) is repeated, as any client of a restarting service would.
    let handed = Arc::new(AtomicUsize::new(0));
    let sender = {
        let (handed, conn) = (handed.clone(), rig.conn.clone());
        tokio::spawn(async move {
            let manager = ManagerProxy::builder(&conn)
                .cache_properties(zbus::proxy::CacheProperties::No)
                .build()
                .await
                .unwrap();
            for i in 0..n {
                for p in burst_message(i, 10) {
                    while manager.inject_pdu(&p).await.is_err() {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
                handed.store(i + 1, Ordering::SeqCst);
            }
        })
    };
    for (mark, extra) in kill_plan(&mut rng, n, rounds) {
        reach(mark, || handed.load(Ordering::SeqCst), || sender.is_finished()).await;
        tokio::time::sleep(extra).await;
        daemon.sample();
        restart(&rig, &mut daemon, &rec).await;
    }
    tokio::time::timeout(GUARD, sender).await.expect("sender finishes").unwrap();
    let t = all_delivered("injected burst", &rec.got, n, &daemon).await;
    daemon.sample();
    report(&format!("sigkill-inject-x{rounds}"), &t, daemon.peak_kib);
    t.assert_sound("sigkill with InjectPdu");
}
