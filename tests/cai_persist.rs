//! Durability of Push-CAI: persistent registrations and their queues across client crashes and
//! service restarts, queues of crashed clients, the spool, and a 1,000-message burst.

use otapush::store::Outcome;
use otapush_test_support::bus::Bus;
use otapush_test_support::cai::*;
use otapush_test_support::eventually::*;
use std::collections::HashSet;
use std::time::{Duration, Instant};
use zbus::zvariant::Value;

async fn queued_of(c: &Client, name: &str) -> Option<(u32, bool)> {
    let list = c.manager.list_registrations().await.unwrap();
    list.iter().find(|(_, d)| *d["Name"] == Value::from(name)).map(|(_, d)| {
        let q: u32 = d["Queued"].downcast_ref().unwrap();
        let c: bool = d["Connected"].downcast_ref().unwrap();
        (q, c)
    })
}

/// Waits until no connection owns org.otapush.Push1 (a dropped service's socket is closed).
async fn wait_name_free(c: &Client) {
    let dbus = zbus::fdo::DBusProxy::new(&c.conn).await.unwrap();
    eventually("the service name to be released", || {
        let dbus = dbus.clone();
        async move { !dbus.name_has_owner("org.otapush.Push1".try_into().unwrap()).await.unwrap() }
    })
    .await;
}

#[tokio::test]
async fn persistent_queue_survives_client_crash_and_service_restart() {
    let bus = Bus::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let svc = start_service(&bus, &cfg).await;
    let filter = [
        ("ApplicationId", Value::from("x-wap-application:mms.ua")),
        ("Persistent", Value::Bool(true)),
        ("Name", Value::from("mms")),
    ];
    let reg_path;
    {
        // The client registers, then crashes (its connection drops, no Unregister).
        let mms = client(&bus).await;
        let (reg, _agent) = mms.register(&filter).await;
        reg_path = reg;
    }
    let observer = client(&bus).await;
    eventually("the crashed client to be seen as gone", || async {
        queued_of(&observer, "mms").await == Some((0, false))
    })
    .await;

    // Messages for it queue while it is away, across a clean restart and a crash of the service.
    let n1 = push("n1", Some("x-wap-application:mms.ua"), "application/vnd.wap.mms-message", b"1");
    svc.handle.submit(&[n1], &[]).await.unwrap();
    assert_eq!(queued_of(&observer, "mms").await, Some((1, false)));
    svc.handle.shutdown().await;
    wait_name_free(&observer).await;

    let svc = start_service(&bus, &cfg).await;
    assert_eq!(queued_of(&observer, "mms").await, Some((1, false)), "registration and queue came back");
    let n2 = push("n2", Some("x-wap-application:mms.ua"), "application/vnd.wap.mms-message", b"2");
    svc.handle.submit(&[n2], &[]).await.unwrap();
    drop(svc); // a crash: no shutdown
    wait_name_free(&observer).await;

    let svc = start_service(&bus, &cfg).await;
    assert_eq!(queued_of(&observer, "mms").await, Some((2, false)));
    // The client comes back (another connection, same uid and Name): same registration, in order.
    let mms = client(&bus).await;
    let (reg, mut agent) = mms.register(&filter).await;
    assert_eq!(reg, reg_path);
    let first = agent.delivery().await;
    assert_eq!((first.id.as_str(), first.body.as_slice()), ("n1", &b"1"[..]));
    first.ack();
    assert_eq!(agent.ack_next().await, "n2");
    eventually("the queue to drain", || async { queued_of(&observer, "mms").await == Some((0, true)) }).await;
    // n1 was committed before: still a duplicate after two restarts.
    let again = push("n1", Some("x-wap-application:mms.ua"), "application/vnd.wap.mms-message", b"1");
    assert_eq!(svc.handle.submit(&[again], &[]).await.unwrap()[0].1, Outcome::Duplicate);
}

#[tokio::test]
async fn takeover_releases_the_previous_agent() {
    let bus = Bus::start();
    let dir = tempfile::tempdir().unwrap();
    let svc = start_service(&bus, &config(dir.path())).await;
    let filter = [("Persistent", Value::Bool(true)), ("Name", Value::from("dm"))];
    let old = client(&bus).await;
    let (reg1, mut old_agent) = old.register(&filter).await;
    let new = client(&bus).await;
    let (reg2, mut new_agent) = new.register(&filter).await;
    assert_eq!(reg1, reg2);
    match tokio::time::timeout(GUARD, old_agent.events.recv()).await.unwrap() {
        Some(otapush::cai::client::AgentEvent::Released) => {}
        other => panic!("expected Release, got {other:?}"),
    }
    svc.handle.submit(&[text("t", "x")], &[]).await.unwrap();
    assert_eq!(new_agent.ack_next().await, "t");
    assert_eq!(new.manager.list_registrations().await.unwrap().len(), 1);
    // Shutdown releases the connected agent.
    svc.handle.shutdown().await;
    match tokio::time::timeout(GUARD, new_agent.events.recv()).await.unwrap() {
        Some(otapush::cai::client::AgentEvent::Released) => {}
        other => panic!("expected Release, got {other:?}"),
    }
}

#[tokio::test]
async fn a_crashed_clients_undelivered_message_goes_to_the_next_matching_client() {
    let bus = Bus::start();
    let dir = tempfile::tempdir().unwrap();
    let svc = start_service(&bus, &config(dir.path())).await;
    {
        let c = client(&bus).await;
        let (_, mut agent) = c.register(&[("Kind", Value::from("text"))]).await;
        svc.handle.submit(&[text("lost?", "x")], &[]).await.unwrap();
        let d = agent.delivery().await;
        assert_eq!(d.id, "lost?");
        // Crash before acknowledging: the delivery is dropped with the connection.
        drop(d);
    }
    let observer = client(&bus).await;
    eventually("the crashed registration to end", || async {
        observer.manager.list_registrations().await.unwrap().is_empty()
    })
    .await;
    assert_eq!(svc.handle.store().queued_count(otapush::store::UNCLAIMED).unwrap(), 1);
    let (_, mut again) = observer.register(&[("Kind", Value::from("text"))]).await;
    assert_eq!(again.ack_next().await, "lost?");
}

#[tokio::test]
async fn spooled_pdus_are_consumed_by_the_commit_and_survive_until_then() {
    let bus = Bus::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let svc = start_service(&bus, &cfg).await;
    let s1 = svc.handle.store().spool_pdu(b"segment 1", 1).unwrap();
    let s2 = svc.handle.store().spool_pdu(b"segment 2", 2).unwrap();
    // Only segment 1 was used so far (e.g. segment 2 belongs to an incomplete message).
    svc.handle.submit(&[text("whole", "x")], &[s1]).await.unwrap();
    drop(svc);
    let observer = client(&bus).await;
    wait_name_free(&observer).await;
    let svc = start_service(&bus, &cfg).await;
    let left = svc.handle.store().spooled_pdus().unwrap();
    assert_eq!(
        left.iter().map(|p| (p.id, p.pdu.as_slice())).collect::<Vec<_>>(),
        vec![(s2, &b"segment 2"[..])]
    );
}

#[tokio::test]
async fn burst_of_1000_messages_is_delivered_once_each() {
    let bus = Bus::start();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.cai.deliver_timeout = 25;
    let svc = start_service(&bus, &cfg).await;
    let c = client(&bus).await;
    let (_, mut agent) = c.register(&[]).await;
    let mut monitor_signals = {
        use futures_lite::StreamExt;
        let m = client(&bus).await;
        let s = m.manager.receive_push_received().await.unwrap();
        (m, s.take(1000))
    };

    let started = Instant::now();
    let receiver = tokio::spawn(async move {
        let mut seen = Vec::with_capacity(1000);
        for _ in 0..1000 {
            seen.push(agent.ack_next().await);
        }
        agent.assert_quiet(Duration::from_millis(300)).await;
        seen
    });
    for batch in 0..50 {
        let msgs: Vec<_> = (0..20).map(|i| text(&format!("burst-{:04}", batch * 20 + i), "tick")).collect();
        let out = svc.handle.submit(&msgs, &[]).await.unwrap();
        assert!(out.iter().all(|o| o.1 == Outcome::New));
    }
    let seen = tokio::time::timeout(Duration::from_secs(120), receiver).await.unwrap().unwrap();
    let elapsed = started.elapsed();
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), 1000, "no message lost or duplicated");
    let expected: Vec<String> = (0..1000).map(|i| format!("burst-{i:04}")).collect();
    assert_eq!(seen, expected, "in order");
    eprintln!("burst: 1000 messages submitted, delivered and acknowledged in {elapsed:?}");
    use futures_lite::StreamExt;
    let mut signals = 0;
    while tokio::time::timeout(GUARD, monitor_signals.1.next()).await.unwrap().is_some() {
        signals += 1;
    }
    assert_eq!(signals, 1000);
    eventually("the queue to drain", || async { svc.handle.store().totals().unwrap().messages == 0 }).await;
}
