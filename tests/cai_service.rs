//! Push-CAI against a real dbus-daemon: routing to several clients, filter errors, ownership,
//! agents that fail, time out or reject, dedup, PushReceived, unclaimed messages, access control.

use futures_lite::StreamExt;
use otapush::cai::client::{AgentEvent, Reply};
use otapush::config::AccessRule;
use otapush::store::Outcome;
use otapush_test_support::bus::Bus;
use otapush_test_support::cai::*;
use otapush_test_support::eventually::*;
use std::collections::HashMap;
use std::time::Duration;
use zbus::zvariant::{OwnedValue, Value};

#[tokio::test]
async fn each_matching_client_gets_each_message_and_push_received_fires_once() {
    let bus = Bus::start();
    let dir = tempfile::tempdir().unwrap();
    let svc = start_service(&bus, &config(dir.path())).await;
    let monitor = client(&bus).await;
    let mut signals = monitor.manager.receive_push_received().await.unwrap();

    let a = client(&bus).await;
    let (_, mut mms) = a.register(&[("ApplicationId", Value::from("x-wap-application:mms.ua"))]).await;
    let b = client(&bus).await;
    let (_, mut texts) = b.register(&[("ContentType", Value::from("text/*"))]).await;
    let c = client(&bus).await;
    let (_, mut port) = c.register(&[("Port", Value::U16(2948))]).await;
    let d = client(&bus).await;
    let (_, mut kind) = d.register(&[("Kind", Value::from("text"))]).await;

    let m1 = push("m1", Some("x-wap-application:mms.ua"), "application/vnd.wap.mms-message", b"\x8c\x82");
    let m2 = text("m2", "hello");
    let out = svc.handle.submit(&[m1.clone(), m2.clone()], &[]).await.unwrap();
    assert_eq!(out, vec![("m1".into(), Outcome::New), ("m2".into(), Outcome::New)]);

    let got = mms.delivery().await;
    assert_eq!((got.id.as_str(), got.body.as_slice()), ("m1", &b"\x8c\x82"[..]));
    assert_eq!(got.meta_str("ApplicationId"), Some("x-wap-application:mms.ua"));
    assert_eq!(got.meta_str("Originator"), Some("+4915112345678"));
    assert_eq!(got.meta_str("PduType"), Some("push"));
    assert_eq!(&*got.meta["Port"], &Value::U16(2948));
    assert_eq!(&*got.meta["TransactionId"], &Value::U8(1));
    got.ack();
    assert_eq!(port.ack_next().await, "m1");
    let t = texts.delivery().await;
    assert_eq!((t.id.as_str(), t.body.as_slice(), t.meta_str("Kind")), ("m2", &b"hello"[..], Some("text")));
    t.ack();
    assert_eq!(kind.ack_next().await, "m2");

    // One signal per message, in order, with meta and no body.
    for want in ["m1", "m2"] {
        let s = tokio::time::timeout(GUARD, signals.next()).await.unwrap().unwrap();
        let args = s.args().unwrap();
        assert_eq!(args.id(), want);
        assert!(args.meta().contains_key("ReceivedTime"));
    }
    // Nobody else got anything, and a resubmission is a duplicate: no delivery, no signal.
    let again = svc.handle.submit(&[m1], &[]).await.unwrap();
    assert_eq!(again[0].1, Outcome::Duplicate);
    svc.handle.submit(&[text("m3", "after")], &[]).await.unwrap();
    assert_eq!(texts.ack_next().await, "m3");
    let s = tokio::time::timeout(GUARD, signals.next()).await.unwrap().unwrap();
    assert_eq!(s.args().unwrap().id(), "m3", "no PushReceived for the duplicate");
    mms.assert_quiet(Duration::from_millis(200)).await;
    port.assert_quiet(Duration::from_millis(50)).await;
}

#[tokio::test]
async fn bad_filters_and_foreign_registrations_get_errors_naming_the_problem() {
    let bus = Bus::start();
    let dir = tempfile::tempdir().unwrap();
    let _svc = start_service(&bus, &config(dir.path())).await;
    let a = client(&bus).await;
    let path: zbus::zvariant::ObjectPath<'_> = "/test/agent".try_into().unwrap();

    let cases: Vec<(HashMap<&str, Value<'_>>, &str)> = vec![
        (HashMap::from([("Foo", Value::from("x"))]), "unknown filter key \"Foo\""),
        (HashMap::from([("Port", Value::from("2948"))]), "filter key \"Port\" must have type q, not s"),
        (HashMap::from([("Persistent", Value::Bool(true))]), "\"Name\" is required with Persistent"),
        (HashMap::from([("Kind", Value::from("mms"))]), "filter key \"Kind\""),
    ];
    for (filter, want) in cases {
        let e = a.manager.register(filter, &path).await.unwrap_err();
        assert_eq!(error_name(&e), "org.otapush.Push1.Error.InvalidFilter");
        assert!(e.to_string().contains(want), "{e} should contain {want}");
    }

    let (reg, _agent) = a.register(&[]).await;
    let b = client(&bus).await;
    let e = b.manager.unregister(&reg.as_ref()).await.unwrap_err();
    assert_eq!(error_name(&e), "org.otapush.Push1.Error.NotOwner");
    let bogus: zbus::zvariant::ObjectPath<'_> = "/org/otapush/Push1/registration/9999".try_into().unwrap();
    let e = b.manager.unregister(&bogus).await.unwrap_err();
    assert_eq!(error_name(&e), "org.otapush.Push1.Error.UnknownRegistration");
    let e = b.manager.unregister(&"/elsewhere".try_into().unwrap()).await.unwrap_err();
    assert_eq!(error_name(&e), "org.otapush.Push1.Error.UnknownRegistration");

    let list = b.manager.list_registrations().await.unwrap();
    assert_eq!(list.len(), 1);
    let (p, d) = &list[0];
    assert_eq!(p, &reg);
    assert_eq!(&*d["Owner"], &Value::from(a.conn.unique_name().unwrap().as_str()));
    assert_eq!(&*d["Uid"], &Value::U32(my_uid()));
    assert_eq!(&*d["Connected"], &Value::Bool(true));
    assert_eq!(&*d["Persistent"], &Value::Bool(false));
    assert_eq!(&*d["Queued"], &Value::U32(0));
    assert_eq!(&*d["Name"], &Value::from(""));
    assert!(matches!(&*d["Filter"], Value::Dict(_)));

    a.manager.unregister(&reg.as_ref()).await.unwrap();
    assert!(b.manager.list_registrations().await.unwrap().is_empty());
}

/// The test process's uid, from /proc.
fn my_uid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// How a test agent answers.
#[derive(Clone, Copy)]
enum Behaviour {
    Ack,
    /// The very first delivery gets an error (retry), the rest are acknowledged.
    FailFirst,
    /// The very first delivery is never answered (the call times out), the rest are acknowledged.
    HangFirst,
    /// Message "a" is rejected, the rest are acknowledged.
    RejectA,
}

/// Answers an agent's deliveries in the background, recording (id, when) of each.
fn answer(
    mut agent: Agent,
    how: Behaviour,
) -> std::sync::Arc<std::sync::Mutex<Vec<(String, tokio::time::Instant)>>> {
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = log.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Some(AgentEvent::Deliver(d)) = agent.events.recv().await {
            let first = {
                let mut l = seen.lock().unwrap();
                l.push((d.id.clone(), tokio::time::Instant::now()));
                l.len() == 1
            };
            match how {
                Behaviour::FailFirst if first => d.answer(Reply::Retry("busy".into())),
                Behaviour::HangFirst if first => held.push(d),
                Behaviour::RejectA if d.id == "a" => d.answer(Reply::Reject("not for me".into())),
                _ => d.ack(),
            }
        }
    });
    log
}

fn ids(log: &std::sync::Mutex<Vec<(String, tokio::time::Instant)>>) -> Vec<String> {
    log.lock().unwrap().iter().map(|(id, _)| id.clone()).collect()
}

#[tokio::test]
async fn failing_slow_and_rejecting_agents_do_not_delay_each_other() {
    let bus = Bus::start();
    let dir = tempfile::tempdir().unwrap();
    let svc = start_service(&bus, &config(dir.path())).await; // deliver_timeout = 1 s
    let mut logs = Vec::new();
    let mut clients = Vec::new();
    for how in [Behaviour::Ack, Behaviour::FailFirst, Behaviour::HangFirst, Behaviour::RejectA] {
        let c = client(&bus).await;
        let (_, agent) = c.register(&[]).await;
        logs.push(answer(agent, how));
        clients.push(c);
    }
    svc.handle.submit(&[text("a", "1")], &[]).await.unwrap();
    svc.handle.submit(&[text("b", "2")], &[]).await.unwrap();
    let want: [&[&str]; 4] = [&["a", "b"], &["a", "a", "b"], &["a", "a", "b"], &["a", "b"]];
    eventually("every agent's deliveries", || {
        let done = logs.iter().zip(want).all(|(l, w)| ids(l).len() >= w.len());
        async move { done }
    })
    .await;
    // Retries come after 1 s; past the next one nothing more may arrive.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for (l, w) in logs.iter().zip(want) {
        assert_eq!(ids(l), w);
    }
    // The healthy agent had both before the hanging agent's call even timed out (1 s).
    let fine_b = logs[0].lock().unwrap()[1].1;
    let hang_retry = logs[2].lock().unwrap()[1].1;
    assert!(fine_b < hang_retry);
    let list = clients[0].manager.list_registrations().await.unwrap();
    assert!(list.iter().all(|(_, d)| *d["Queued"] == Value::U32(0)), "all queues empty: {list:?}");
}

#[tokio::test]
async fn unclaimed_messages_wait_for_the_first_matching_registration() {
    let bus = Bus::start();
    let dir = tempfile::tempdir().unwrap();
    let svc = start_service(&bus, &config(dir.path())).await;
    let si = push("si", None, "text/vnd.wap.si", b"si");
    let mms = push("mms", Some("x-wap-application:mms.ua"), "application/vnd.wap.mms-message", b"n");
    svc.handle.submit(&[si, mms], &[]).await.unwrap();
    assert_eq!(svc.handle.store().queued_count(otapush::store::UNCLAIMED).unwrap(), 2);

    // A push without an application id is for wml.ua (code 2); the numeric form maps to it.
    let a = client(&bus).await;
    let (_, mut wml) = a.register(&[("ApplicationId", Value::from("2"))]).await;
    assert_eq!(wml.ack_next().await, "si");
    let b = client(&bus).await;
    let (_, mut any) = b.register(&[]).await;
    assert_eq!(any.ack_next().await, "mms");
    wml.assert_quiet(Duration::from_millis(200)).await;
    assert_eq!(svc.handle.store().queued_count(otapush::store::UNCLAIMED).unwrap(), 0);
}

#[tokio::test]
async fn access_rules_and_originator_allow_lists() {
    let bus = Bus::start();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.access.rules = vec![AccessRule {
        application_id: "x-wap-application:syncml.dm".into(),
        users: vec!["nobody".into()],
        originators: vec!["+4917000001".into()],
        ..Default::default()
    }];
    let svc = start_service(&bus, &cfg).await;
    let me = client(&bus).await;
    let path: zbus::zvariant::ObjectPath<'_> = "/test/agent".try_into().unwrap();
    let e = me
        .manager
        .register(HashMap::from([("ApplicationId", Value::from("x-wap-application:syncml.dm"))]), &path)
        .await
        .unwrap_err();
    assert_eq!(error_name(&e), "org.otapush.Push1.Error.AccessDenied");
    assert!(e.to_string().contains("syncml.dm"), "{e}");

    // A catch-all registration of this (non-nobody) user does not receive device management.
    let (_, mut all) = me.register(&[]).await;
    let mut dm = push("dm", Some("x-wap-application:syncml.dm"), "application/vnd.syncml.notification", b"n");
    dm.originator = "+4917000001".into();
    let mut evil = dm.clone();
    evil.id = "evil".into();
    evil.originator = "+4917666666".into();
    let out = svc.handle.submit(&[dm, evil, text("t", "x")], &[]).await.unwrap();
    assert_eq!(
        out.iter().map(|o| o.1).collect::<Vec<_>>(),
        vec![Outcome::New, Outcome::DeadLettered, Outcome::New]
    );
    assert_eq!(all.ack_next().await, "t");
    assert_eq!(svc.handle.store().queued_count(otapush::store::UNCLAIMED).unwrap(), 1, "dm waits for nobody");

    let dead = me.manager.list_dead_letters().await.unwrap();
    assert_eq!(dead.len(), 1);
    let d = &dead[0].1;
    assert_eq!(&*d["MessageId"], &Value::from("evil"));
    let reason: &str = d["Reason"].downcast_ref().unwrap();
    assert!(reason.contains("+4917666666") && reason.contains("syncml.dm"), "{reason}");
}

/// Runs `gdbus call` on the test bus as uid/gid 65534 (nobody); gives (success, output).
async fn gdbus_as_nobody(bus: &Bus, method: &str, args: &[&str]) -> (bool, String) {
    let out = tokio::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "gdbus", "call", "--address"])
        .arg(&bus.address)
        .args(["--dest", "org.otapush.Push1", "--object-path", "/org/otapush/Push1", "--method"])
        .arg(format!("org.otapush.Push1.Manager.{method}"))
        .args(args)
        .output()
        .await
        .expect("setpriv and gdbus");
    (
        out.status.success(),
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    )
}

#[tokio::test]
async fn privileged_methods_check_the_callers_credentials() {
    if my_uid() != 0 {
        // Only root can start a client as another uid; as a plain user the denial is tested below.
        let bus = Bus::start();
        let dir = tempfile::tempdir().unwrap();
        let _svc = start_service(&bus, &config(dir.path())).await;
        let me = client(&bus).await;
        let e = me.manager.inject_pdu(&[0]).await.unwrap_err();
        assert_eq!(error_name(&e), "org.otapush.Push1.Error.AccessDenied");
        return;
    }
    let bus = Bus::start();
    let dir = tempfile::tempdir().unwrap();
    let mut svc = start_service(&bus, &config(dir.path())).await;
    let root = client(&bus).await;
    root.manager.inject_pdu(&[0x00, 0x04, 0x01]).await.unwrap();
    assert_eq!(svc.injected.recv().await.unwrap(), vec![0x00, 0x04, 0x01]);
    root.manager.set_bearer_state("up").await.unwrap();
    assert_eq!(svc.bearer.recv().await, Some(true));
    let e = root.manager.set_bearer_state("sideways").await.unwrap_err();
    assert_eq!(error_name(&e), "org.otapush.Push1.Error.InvalidArgs");
    let e = root.manager.inject_pdu(&[0u8; 177]).await.unwrap_err();
    assert_eq!(error_name(&e), "org.otapush.Push1.Error.InvalidArgs");

    let (ok, out) = gdbus_as_nobody(&bus, "InjectPdu", &["[byte 0x00, 0x01]"]).await;
    assert!(!ok && out.contains("org.otapush.Push1.Error.AccessDenied"), "{out}");
    let (ok, out) = gdbus_as_nobody(&bus, "SetBearerState", &["down"]).await;
    assert!(!ok && out.contains("org.otapush.Push1.Error.AccessDenied"), "{out}");
    // Unprivileged methods work for anyone.
    let (ok, out) = gdbus_as_nobody(&bus, "ListRegistrations", &[]).await;
    assert!(ok, "{out}");
    assert!(svc.injected.try_recv().is_err(), "nothing injected by nobody");
    svc.handle.shutdown().await;

    // Named in privileged_users, nobody may inject.
    let mut cfg = config(dir.path());
    cfg.cai.privileged_users = vec!["nobody".into()];
    let mut svc = start_service(&bus, &cfg).await;
    let (ok, out) = gdbus_as_nobody(&bus, "InjectPdu", &["[byte 0x00, 0x02]"]).await;
    assert!(ok, "{out}");
    assert_eq!(svc.injected.recv().await.unwrap(), vec![0x00, 0x02]);
}

#[tokio::test]
async fn second_service_on_the_bus_fails_clearly_and_properties_change() {
    let bus = Bus::start();
    let dir = tempfile::tempdir().unwrap();
    let svc = start_service(&bus, &config(dir.path())).await;
    let dir2 = tempfile::tempdir().unwrap();
    let cfg2 = config(dir2.path());
    let (inject, _) = tokio::sync::mpsc::channel(1);
    let (bearer, _) = tokio::sync::mpsc::channel(1);
    let store2 = otapush::store::Store::open(&cfg2.store.dir, cfg2.store_limits()).unwrap();
    match otapush::cai::start(
        &bus.address,
        store2,
        cfg2.cai_settings(),
        otapush::cai::ServiceHooks { inject, bearer },
    )
    .await
    {
        Err(otapush::cai::Error::NameTaken) => {}
        Err(e) => panic!("expected NameTaken, got {e}"),
        Ok(_) => panic!("expected NameTaken, got a second service"),
    }

    let c = client(&bus).await;
    assert_eq!(c.manager.modem_state().await.unwrap(), "unknown");
    let mut changes = c.manager.receive_modem_state_changed().await;
    svc.handle.set_modem_state("registered");
    svc.handle.set_bearer_state("up");
    svc.handle.set_streams(HashMap::from([(
        "ticker".to_string(),
        OwnedValue::from(HashMap::from([("State".to_string(), "connected".to_string())])),
    )]));
    loop {
        let ch = tokio::time::timeout(GUARD, changes.next()).await.unwrap().unwrap();
        if ch.get().await.unwrap() == "registered" {
            break;
        }
    }
    let fresh = client(&bus).await;
    assert_eq!(fresh.manager.bearer_state().await.unwrap(), "up");
    let streams = fresh.manager.streams().await.unwrap();
    let ticker: HashMap<String, String> = streams["ticker"].try_clone().unwrap().try_into().unwrap();
    assert_eq!(ticker["State"], "connected");
}

/// Issue 12 item 9: an agent's 1 MB error message was logged in full on every retry. Now each
/// retry's line carries at most 256 bytes of it and says how long it was.
#[tokio::test]
async fn a_huge_agent_error_is_logged_clipped_on_every_retry() {
    otapush_test_support::logs::capture();
    let bus = Bus::start();
    let dir = tempfile::tempdir().unwrap();
    let svc = start_service(&bus, &config(dir.path())).await;
    let c = client(&bus).await;
    let (_reg, mut agent) = c.register(&[]).await;
    svc.handle.submit(&[text("huge-error", "x")], &[]).await.unwrap();
    let huge = "E".repeat(1 << 20);
    for _ in 0..2 {
        let d = agent.delivery().await;
        assert_eq!(d.id, "huge-error");
        d.answer(Reply::Retry(huge.clone()));
    }
    // The third try comes after both retries were logged.
    assert_eq!(agent.ack_next().await, "huge-error");
    let lines = otapush_test_support::logs::lines_with("message huge-error not delivered");
    assert_eq!(lines.len(), 2, "one line per retry");
    for l in &lines {
        assert!(l.len() < 512, "a log line of {} bytes", l.len());
        assert!(l.contains("EEEE… (1048576 bytes)"), "{}", &l[..l.len().min(400)]);
    }
}

/// Issue 13 item 5: commits run on the store's writer thread. While one is stalled inside its
/// transaction (as in a slow fsync), the runtime goes on answering D-Bus calls.
#[tokio::test]
async fn the_bus_is_answered_while_a_commit_is_stalled_in_the_writer() {
    let bus = Bus::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let store = otapush::store::Store::open(&cfg.store.dir, cfg.store_limits()).unwrap();
    let (inject, _) = tokio::sync::mpsc::channel(1);
    let (bearer, _) = tokio::sync::mpsc::channel(1);
    let hooks = otapush::cai::ServiceHooks { inject, bearer };
    let handle = otapush::cai::start(&bus.address, store.clone(), cfg.cai_settings(), hooks).await.unwrap();
    let c = client(&bus).await;

    let mut stall = store.stall_next_commit();
    let msgs = [text("s1", "during a stall")];
    let submit = handle.submit(&msgs, &[]);
    tokio::pin!(submit);
    tokio::select! {
        _ = &mut submit => panic!("committed through the stall"),
        () = stall.reached() => {}
    }
    let get = c.conn.call_method(
        Some(otapush::cai::BUS_NAME),
        otapush::cai::OBJECT_PATH,
        Some("org.freedesktop.DBus.Properties"),
        "Get",
        &("org.otapush.Push1.Manager", "ModemState"),
    );
    let reply = tokio::time::timeout(GUARD, get).await.expect("no answer while the writer stalls").unwrap();
    let state: OwnedValue = reply.body().deserialize().unwrap();
    assert_eq!(String::try_from(state).unwrap(), "unknown");
    stall.release();
    let out = tokio::time::timeout(GUARD, submit).await.unwrap().unwrap();
    assert_eq!(out, vec![("s1".to_string(), Outcome::New)]);
}

/// The message ids in the queue table, in queue order, read on a connection of the test's own
/// (a WAL reader: it does not wait for a commit stalled in the writer).
fn queued_ids(dir: &std::path::Path) -> Vec<String> {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    let conn = rusqlite::Connection::open_with_flags(dir.join(otapush::store::DB_FILE), flags).unwrap();
    let mut q = conn.prepare("SELECT msg FROM queue ORDER BY seq").unwrap();
    q.query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect()
}

/// `Queued` of the caller's one registration, as `ListRegistrations` shows it.
async fn listed_queued(c: &Client) -> u32 {
    let list = c.manager.list_registrations().await.unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    list[0].1["Queued"].downcast_ref().unwrap()
}

async fn delivered(log: &std::sync::Mutex<Vec<(String, tokio::time::Instant)>>, n: usize, what: &str) {
    eventually(what, || {
        let got = ids(log).len();
        async move { got >= n }
    })
    .await;
}

async fn emptied(dir: &std::path::Path) {
    eventually("the queue emptied", || {
        let n = queued_ids(dir).len();
        async move { n == 0 }
    })
    .await;
}

/// Four messages queued unclaimed, then one agent (registered with `filter`) that acknowledges
/// everything; the first removal (the writer's next group commit) stalls. Gives the agent's
/// log, the stall, the service and the agent's client.
async fn deliveries_with_a_stalled_ack(
    bus: &Bus,
    dir: &std::path::Path,
    filter: &[(&str, Value<'_>)],
) -> (
    std::sync::Arc<std::sync::Mutex<Vec<(String, tokio::time::Instant)>>>,
    otapush::store::CommitStall,
    Service,
    Client,
) {
    let svc = start_service(bus, &config(dir)).await;
    let msgs: Vec<_> = ["a", "b", "c", "d"].iter().map(|id| text(id, id)).collect();
    svc.handle.submit(&msgs, &[]).await.unwrap();
    // Claiming writes in the caller's turn, not in a group: the first group is a removal.
    let mut stall = svc.handle.store().stall_next_commit();
    let c = client(bus).await;
    let (_, agent) = c.register(filter).await;
    let log = answer(agent, Behaviour::Ack);
    tokio::time::timeout(GUARD, stall.reached()).await.expect("no removal reached the writer");
    (log, stall, svc, c)
}

/// Issue 13 item 5: the deliverer does not wait for an acknowledgement's commit before the
/// next `Deliver`, and the next head is the entry after the acknowledged one (not it again
/// while its removal is pending). Every message comes once, in order; the removals commit
/// after the stall.
#[tokio::test]
async fn deliveries_go_on_while_an_acknowledgement_commits() {
    let bus = Bus::start();
    let dir = tempfile::tempdir().unwrap();
    let (log, stall, _svc, c) = deliveries_with_a_stalled_ack(&bus, dir.path(), &[]).await;
    delivered(&log, 4, "b, c and d delivered while a's removal is stalled").await;
    assert_eq!(ids(&log), ["a", "b", "c", "d"]);
    // Delivered, none removed yet: a crash here would deliver all four again, in order.
    assert_eq!(queued_ids(dir.path()), ["a", "b", "c", "d"]);
    // `Queued` counts what the agent has not acknowledged, whatever the writer is doing (the
    // agent's answer to "d" leaves a moment after it was logged).
    eventually("none unacknowledged", || async { listed_queued(&c).await == 0 }).await;
    stall.release();
    emptied(dir.path()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(ids(&log), ["a", "b", "c", "d"], "nothing came twice");
}

/// The removal of the first acknowledgement fails (rolled back): the acknowledgements after it
/// are not removed either, so the queue keeps a suffix of what was delivered, as after a
/// crash, and all four come again with the same ids in order (after the 1 s backoff).
#[tokio::test]
async fn a_failed_acknowledgement_commit_delivers_the_rest_again_in_order() {
    let bus = Bus::start();
    let dir = tempfile::tempdir().unwrap();
    let (log, stall, _svc, c) = deliveries_with_a_stalled_ack(&bus, dir.path(), &[]).await;
    delivered(&log, 4, "four deliveries during the stall").await;
    eventually("none unacknowledged", || async { listed_queued(&c).await == 0 }).await;
    stall.fail();
    // Not removed: unacknowledged again until they come again.
    eventually("the four counted again", || async { listed_queued(&c).await == 4 }).await;
    delivered(&log, 8, "eight deliveries").await;
    emptied(dir.path()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(ids(&log), ["a", "b", "c", "d", "a", "b", "c", "d"]);
}

/// Lets `stall` go from another thread a moment from now. For a test whose next call blocks
/// the runtime on the writer (a registration's end writes in the caller's turn): it can only
/// be released from outside. Were the call to come after the release, the test would pass
/// without having tested anything, never fail wrongly.
fn release_soon(stall: otapush::store::CommitStall) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        stall.release();
    })
}

/// [`deliveries_with_a_stalled_ack`] once the agent has answered all four: the first removal
/// stalls in the writer and the other three wait behind it.
async fn four_answered_none_removed(
    bus: &Bus,
    dir: &std::path::Path,
    filter: &[(&str, Value<'_>)],
) -> (otapush::store::CommitStall, Service, Client) {
    let (log, stall, svc, c) = deliveries_with_a_stalled_ack(bus, dir, filter).await;
    delivered(&log, 4, "four deliveries during the stall").await;
    eventually("none unacknowledged", || async { listed_queued(&c).await == 0 }).await;
    (stall, svc, c)
}

/// Once the four answered messages are gone from the queue, `agent` gets a new message and
/// none of them.
async fn only_a_new_message_comes(svc: &Service, dir: &std::path::Path, agent: Agent) {
    let again = answer(agent, Behaviour::Ack);
    eventually("the queue emptied", || async { queued_ids(dir).is_empty() }).await;
    svc.handle.submit(&[text("e", "after")], &[]).await.unwrap();
    delivered(&again, 1, "the new message").await;
    assert_eq!(ids(&again), ["e"]);
}

/// An agent acknowledges four messages and unregisters before their removals commit: the
/// acknowledged messages go with the registration. They used to be handed to the unclaimed
/// queue, for the next registration to get again.
#[tokio::test]
async fn acknowledged_messages_go_with_a_registration_that_unregisters_before_their_removal() {
    let bus = Bus::start();
    let dir = tempfile::tempdir().unwrap();
    let (stall, svc, c) = four_answered_none_removed(&bus, dir.path(), &[]).await;
    let path = c.manager.list_registrations().await.unwrap()[0].0.clone();
    let release = release_soon(stall);
    c.manager.unregister(&path).await.unwrap();
    release.join().unwrap();
    assert_eq!(queued_ids(dir.path()), Vec::<String>::new());
    assert_eq!(svc.handle.store().totals().unwrap().messages, 0);
    let next = client(&bus).await;
    let (_, agent) = next.register(&[]).await;
    only_a_new_message_comes(&svc, dir.path(), agent).await;
}

const KEEPER: [(&str, Value<'static>); 2] =
    [("Persistent", Value::Bool(true)), ("Name", Value::Str(zbus::zvariant::Str::from_static("keeper")))];

/// The same for a persistent registration whose agent's connection closes: when the agent
/// comes back it gets only what it did not acknowledge.
#[tokio::test]
async fn acknowledged_messages_are_not_delivered_again_after_a_persistent_agent_reconnects() {
    let bus = Bus::start();
    let dir = tempfile::tempdir().unwrap();
    let (stall, svc, c) = four_answered_none_removed(&bus, dir.path(), &KEEPER).await;
    let observer = client(&bus).await;
    let release = release_soon(stall);
    c.conn.close().await.unwrap();
    eventually("the registration disconnected", || async {
        let list = observer.manager.list_registrations().await.unwrap();
        let connected = list.first().map(|r| r.1["Connected"].downcast_ref::<bool>().unwrap());
        connected == Some(false)
    })
    .await;
    release.join().unwrap();
    let back = client(&bus).await;
    let (_, agent) = back.register(&KEEPER).await;
    only_a_new_message_comes(&svc, dir.path(), agent).await;
}

/// The same when another connection takes a persistent registration over while the first
/// agent's acknowledgements wait to commit: the new agent gets only what is new.
#[tokio::test]
async fn a_takeover_does_not_deliver_the_previous_agents_acknowledged_messages_again() {
    let bus = Bus::start();
    let dir = tempfile::tempdir().unwrap();
    let (stall, svc, _c) = four_answered_none_removed(&bus, dir.path(), &KEEPER).await;
    let release = release_soon(stall);
    let next = client(&bus).await;
    let (_, agent) = next.register(&KEEPER).await;
    release.join().unwrap();
    only_a_new_message_comes(&svc, dir.path(), agent).await;
}
