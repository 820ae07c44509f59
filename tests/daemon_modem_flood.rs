//! Issue 12 item 6 against the real daemon: a modem on a pty that answers each command after
//! 10 ms prints 200,000 `+CMTI` notifications for slots that hold nothing, then stores one real
//! push. The pending notifications stay bounded (the daemon's memory with them), the push is
//! delivered within seconds, and D-Bus calls are answered throughout.

use otapush_test_support::agents::*;
use otapush_test_support::daemon::*;
use otapush_test_support::eventually::*;
use otapush_test_support::faults::*;
use otapush_test_support::modem::PtyModem;
use otapush_test_support::pdu::*;
use std::time::{Duration, Instant};
use zbus::zvariant::Value;

const FLOOD: u32 = 200_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cmti_flood_from_a_slow_modem_stays_bounded_and_responsive() {
    let rig = Rig::new().await;
    let modem = PtyModem::open();
    let mut daemon = rig.daemon(&modem.device(), 25, "").await;
    let filter = [("ApplicationId", Value::from("x-wap-application:mms.ua"))];
    let rec = Recorder::start(rig.address(), "flood", &filter).await;
    let manager = rig.manager().await;
    let base = daemon.sample().expect("daemon stats");
    modem.sim.set_latency(Duration::from_millis(10));
    // The simulator's storages hold 10 and 20 slots: every flooded index is bogus.
    modem.sim.flood_cmti("ME", 1000, FLOOD);
    let sent = Instant::now();
    for p in burst_message(0, 0) {
        modem.sim.deliver(&p);
    }
    let mut worst = Duration::ZERO;
    let mut peak = base.rss_kib;
    while rec.count() == 0 {
        assert!(sent.elapsed() < GUARD, "the push never came:\n{}", daemon.log_tail(30));
        let t = Instant::now();
        let state = tokio::time::timeout(Duration::from_secs(5), manager.modem_state()).await;
        assert!(state.is_ok(), "no D-Bus answer within 5 s during the flood");
        worst = worst.max(t.elapsed());
        peak = peak.max(daemon.sample().map_or(0, |s| s.rss_kib));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let delivered_after = sent.elapsed();
    let t = all_delivered("the real push behind the flood", &rec.got, 1, &daemon).await;
    rec.quiet_check(Duration::from_millis(300)).await;
    let end = daemon.sample().expect("daemon stats");
    println!(
        "cmti flood: {FLOOD} notifications, push delivered after {delivered_after:?}, slowest D-Bus answer \
         {worst:?}, RSS {} → {} KiB (peak {peak})",
        base.rss_kib, end.rss_kib
    );
    report_with("cmti-flood", &t, daemon.peak_kib, &format!("push-after={delivered_after:?}"));
    t.assert_sound("cmti flood");
    assert_eq!(t.duplicated, 0);
    assert!(delivered_after < Duration::from_secs(15), "push delayed {delivered_after:?}");
    assert!(worst < Duration::from_secs(1), "D-Bus answer took {worst:?}");
    // 200,000 notifications held would be several MiB; the bounded set is a few KiB.
    assert!(peak <= base.rss_kib + 4 * 1024, "RSS {} → {peak} KiB", base.rss_kib);
    let sim = modem.sim.clone();
    eventually("storage emptied", || {
        let s = sim.clone();
        async move { s.stored().is_empty() }
    })
    .await;
}
