//! Issue 12 item 5, after a suspend: the modem stored a push while the host slept and its
//! `+CMTI` was lost. Nothing polls, so the push stays on the SIM until systemd-logind says the
//! system resumed (`PrepareForSleep(false)`, played here by the test on the private bus); the
//! daemon then lists the storage, delivers the push and deletes it from the SIM.

use otapush_test_support::agents::*;
use otapush_test_support::bus::connect;
use otapush_test_support::daemon::*;
use otapush_test_support::eventually::*;
use otapush_test_support::faults::*;
use otapush_test_support::modem::PtyModem;
use otapush_test_support::pdu::*;
use std::time::{Duration, Instant};
use zbus::zvariant::Value;

const LOGIND: &str = "org.freedesktop.login1";
const LOGIND_PATH: &str = "/org/freedesktop/login1";
const LOGIND_MANAGER: &str = "org.freedesktop.login1.Manager";

async fn prepare_for_sleep(logind: &zbus::Connection, start: bool) {
    logind.emit_signal(None::<()>, LOGIND_PATH, LOGIND_MANAGER, "PrepareForSleep", &(start,)).await.unwrap();
}

fn listings(sim: &otapush::modem::SimHandle) -> usize {
    sim.commands().iter().filter(|c| *c == "AT+CMGL=4").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_stored_during_suspend_is_read_after_resume() {
    let rig = Rig::new().await;
    let modem = PtyModem::open();
    let mut daemon = rig.daemon(&modem.device(), 25, "").await;
    let rec = Recorder::start(
        rig.address(),
        "resume",
        &[("ApplicationId", Value::from("x-wap-application:mms.ua"))],
    )
    .await;
    let logind = connect(rig.address()).await;
    logind.request_name(LOGIND).await.unwrap();
    prepare_for_sleep(&logind, true).await;

    // While the host sleeps the modem stores the push; the notification goes nowhere.
    let pdus = burst_message(0, 0);
    for p in &pdus {
        modem.sim.store_silently(p).expect("a free slot");
    }
    let listed = listings(&modem.sim);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(modem.sim.stored().len(), pdus.len(), "nothing read before the resume");
    assert_eq!(listings(&modem.sim), listed, "no polling while idle");
    assert_eq!(rec.count(), 0);

    let resumed = Instant::now();
    prepare_for_sleep(&logind, false).await;
    let t = all_delivered("the push stored during suspend", &rec.got, 1, &daemon).await;
    let recovery = resumed.elapsed();
    let sim = modem.sim.clone();
    eventually("the push deleted from the SIM", || {
        let s = sim.clone();
        async move { s.stored().is_empty() }
    })
    .await;
    rec.quiet_check(Duration::from_millis(300)).await;
    let t = tally(t.sent, &rec.snapshot());
    daemon.sample();
    report_with("resume-lost-cmti", &t, daemon.peak_kib, &format!("recovery={recovery:?}"));
    t.assert_sound("resume");
    assert_eq!(t.duplicated, 0);
    assert!(listings(&modem.sim) > listed, "listed after the resume");
}
