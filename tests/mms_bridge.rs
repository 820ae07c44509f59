//! `otapushctl mms-bridge` against Debian's real mmsd-tng (docs/mms.md): otapushd with its
//! simulated modem and a minimal ModemManager on one private bus (the "system" bus), mmsd-tng
//! and the bridge's second connection on another (the user's session bus). An MMS notification
//! sent by the simulated network must end up stored by mmsd-tng as a notification, and leave
//! otapushd's queue only once mmsd-tng has it; while mmsd-tng is absent or refuses (no modem),
//! it stays queued and arrives, once, when mmsd-tng takes it; the persistent registration keeps
//! it while the bridge is away, and the bridge registers again after otapushd restarts.

mod mms_support;

use futures_lite::StreamExt;
use mms_support::*;
use otapush_test_support::{agents::*, bus::connect, daemon::*, eventually::*, pdu::*};
use std::time::Duration;
use zbus::zvariant::Value;

const MMS_APP: &str = "x-wap-application:mms.ua";
const MMS_TYPE: &str = "application/vnd.wap.mms-message";

/// An m-notification-ind (OMA-MMS-ENC §6.2) without a subject, fetched from the test MMSC path.
fn notification(transaction: &str) -> Vec<u8> {
    let location = format!("http://mmsc.example.net/mms/{transaction}");
    otapush::ctl::demo::mms_notification(transaction, None, &location)
}

/// The bridge's registration: its `Queued` count, once it is connected.
async fn queued(manager: &ManagerProxy<'_>) -> Option<u32> {
    let regs = manager.list_registrations().await.ok()?;
    regs.iter().find_map(|(_, d)| {
        let get = |k: &str| d.get(k).map(|v| &**v);
        match (get("Name"), get("Connected"), get("Queued")) {
            (Some(Value::Str(n)), Some(Value::Bool(true)), Some(Value::U32(q)))
                if n.as_str() == "mms-bridge" =>
            {
                Some(*q)
            }
            _ => None,
        }
    })
}

async fn bridge_registered(manager: &ManagerProxy<'_>, bridge: &mut Bridge) {
    let deadline = tokio::time::Instant::now() + GUARD;
    while queued(manager).await.is_none() {
        assert!(bridge.running(), "the bridge exited:\n{}", bridge.log_text());
        assert!(
            tokio::time::Instant::now() < deadline,
            "the bridge never registered:\n{}",
            bridge.log_text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the bridge logged `what` at least `n` times.
async fn bridge_logged(bridge: &Bridge, what: &str, n: usize) {
    let deadline = tokio::time::Instant::now() + GUARD;
    while bridge.count(what) < n {
        assert!(tokio::time::Instant::now() < deadline, "the bridge never logged {what:?} {n} times");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// With the message queued, polls until the bridge's queue is empty and then checks mmsd-tng already has `body`: the
/// acknowledgement came after the acceptance.
async fn acked_after_acceptance(manager: &ManagerProxy<'_>, mmsd: &Mmsd, bodies: &[&[u8]]) {
    let deadline = tokio::time::Instant::now() + GUARD;
    loop {
        if queued(manager).await == Some(0) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the notification never left the queue");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let want: Vec<Vec<u8>> = bodies.iter().map(|b| b.to_vec()).collect();
    assert_eq!(mmsd.notifications(), want, "acknowledged before mmsd-tng stored it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mms_notification_reaches_mmsd_tng_before_it_leaves_the_queue() {
    let rig = Rig::new().await;
    let session = otapush_test_support::bus::Bus::start();
    let session_conn = connect(session.address()).await;
    let _mm = FakeModemManager::start(rig.address()).await;
    let mut mmsd = Mmsd::start(session.address(), rig.address(), &rig.dir.path().join("home"));
    mmsd.ready(&session_conn).await;
    let daemon = rig.daemon("sim", 10, "").await;
    let manager = rig.manager().await;
    let mut bridge = Bridge::start(rig.address(), session.address(), rig.dir.path());
    bridge_registered(&manager, &mut bridge).await;

    let mut received = manager.receive_push_received().await.unwrap();
    let body = notification("T-bridge-0001");
    network_sends(&rig.simulator().await, &push_pdus(Some(MMS_APP), MMS_TYPE, &body, 7)).await;

    // PushReceived comes after the message and its queue entry are committed.
    tokio::time::timeout(GUARD, received.next()).await.expect("no PushReceived").unwrap();
    acked_after_acceptance(&manager, &mmsd, &[&body]).await;
    let log = mmsd.log_text();
    assert!(log.contains("MMS transaction id: T-bridge-0001"), "mmsd-tng log:\n{log}");
    assert!(log.contains("Location: http://mmsc.example.net/mms/T-bridge-0001"), "mmsd-tng log:\n{log}");
    assert_eq!(bridge.count("accepted by mmsd-tng"), 1);
    assert_eq!(bridge.count("not acknowledged"), 0, "{}", bridge.log_text());
    drop(daemon);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_mmsd_tng_is_absent_or_refuses_the_notification_stays_queued() {
    let rig = Rig::new().await;
    let session = otapush_test_support::bus::Bus::start();
    let session_conn = connect(session.address()).await;
    let daemon = rig.daemon("sim", 10, "").await;
    let manager = rig.manager().await;
    let mut bridge = Bridge::start(rig.address(), session.address(), rig.dir.path());
    bridge_registered(&manager, &mut bridge).await;

    let body = notification("T-bridge-0002");
    network_sends(&rig.simulator().await, &push_pdus(Some(MMS_APP), MMS_TYPE, &body, 8)).await;

    // mmsd-tng absent: nobody owns org.ofono.mms. Two failed attempts: the daemon redelivered.
    bridge_logged(&bridge, "not acknowledged", 2).await;
    assert!(bridge.log_text().contains("ServiceUnknown"), "{}", bridge.log_text());
    assert_eq!(queued(&manager).await, Some(1));

    // mmsd-tng running without a modem: PushNotify answers "Modem is not active!".
    let mut mmsd = Mmsd::start(session.address(), rig.address(), &rig.dir.path().join("home"));
    mmsd.ready(&session_conn).await;
    bridge_logged(&bridge, "Modem is not active", 1).await;
    assert_eq!(queued(&manager).await, Some(1));
    assert!(mmsd.notifications().is_empty());
    assert_eq!(bridge.count("accepted by mmsd-tng"), 0);

    // ModemManager appears with a registered modem: the next redelivery is accepted, once.
    let _mm = FakeModemManager::start(rig.address()).await;
    acked_after_acceptance(&manager, &mmsd, &[&body]).await;
    assert_eq!(bridge.count("accepted by mmsd-tng"), 1, "{}", bridge.log_text());
    assert!(mmsd.log_text().contains("MMS transaction id: T-bridge-0002"));
    drop(daemon);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registration_outlives_bridge_and_daemon_restarts_and_crashes() {
    let rig = Rig::new().await;
    let session = otapush_test_support::bus::Bus::start();
    let session_conn = connect(session.address()).await;
    let _mm = FakeModemManager::start(rig.address()).await;
    let mut mmsd = Mmsd::start(session.address(), rig.address(), &rig.dir.path().join("home"));
    mmsd.ready(&session_conn).await;
    let mut daemon = rig.daemon("sim", 10, "").await;
    let manager = rig.manager().await;
    let mut bridge = Bridge::start(rig.address(), session.address(), rig.dir.path());
    bridge_registered(&manager, &mut bridge).await;

    // The bridge is away: the persistent registration queues the notification.
    drop(bridge);
    let mut received = manager.receive_push_received().await.unwrap();
    let first = notification("T-bridge-0003");
    network_sends(&rig.simulator().await, &push_pdus(Some(MMS_APP), MMS_TYPE, &first, 9)).await;
    tokio::time::timeout(GUARD, received.next()).await.expect("no PushReceived").unwrap();
    assert!(mmsd.notifications().is_empty());
    let mut bridge = Bridge::start(rig.address(), session.address(), rig.dir.path());
    acked_after_acceptance(&manager, &mmsd, &[&first]).await;

    // otapushd restarts (Release to the bridge): the bridge registers again by itself.
    daemon.stop().await;
    daemon.spawn();
    daemon.ready(&rig.conn, true).await;
    bridge_registered(&manager, &mut bridge).await;
    assert!(bridge.count("released by otapushd") >= 1, "{}", bridge.log_text());
    let mut received = manager.receive_push_received().await.unwrap();
    let second = notification("T-bridge-0004");
    network_sends(&rig.simulator().await, &push_pdus(Some(MMS_APP), MMS_TYPE, &second, 10)).await;
    tokio::time::timeout(GUARD, received.next()).await.expect("no PushReceived").unwrap();
    acked_after_acceptance(&manager, &mmsd, &[&first, &second]).await;
    assert_eq!(bridge.count("accepted by mmsd-tng"), 2, "{}", bridge.log_text());

    // otapushd is killed (no Release): the owner change alone makes the bridge register again.
    daemon.kill();
    daemon.spawn();
    daemon.ready(&rig.conn, true).await;
    bridge_registered(&manager, &mut bridge).await;
    assert!(bridge.count("otapushd left the bus") >= 1, "{}", bridge.log_text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_bridge_takes_the_registration_over_and_the_first_stops() {
    let rig = Rig::new().await;
    let session = otapush_test_support::bus::Bus::start();
    let _daemon = rig.daemon("sim", 10, "").await;
    let manager = rig.manager().await;
    let mut first = Bridge::start(rig.address(), session.address(), rig.dir.path());
    bridge_registered(&manager, &mut first).await;
    let mut second =
        Bridge::start_logging(rig.address(), session.address(), &rig.dir.path().join("second.log"));
    let status = first.exited().await;
    assert_eq!(status.code(), Some(1), "{}", first.log_text());
    assert!(first.log_text().contains("taken over by another agent"), "{}", first.log_text());
    bridge_registered(&manager, &mut second).await;
    assert!(second.running());
    assert_eq!(manager.list_registrations().await.unwrap().len(), 1);
}
