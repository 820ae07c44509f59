//! Pub/sub and groups over Push-CAI (docs/pubsub.md) against a real dbus-daemon: `Groups`,
//! `EventType` and `Topic` filters, `ListRegistrations` membership, and a push through the real
//! daemon and its simulated network addressed by the `X-Otapush-Topic` header; registration
//! leases (`Expires`, `Refresh`).

use otapush::cai::client::AgentEvent;
use otapush::message::{EventInfo, Message, Source};
use otapush::store::Outcome;
use otapush_test_support::bus::Bus;
use otapush_test_support::cai::*;
use otapush_test_support::daemon::{network_sends, Rig};
use otapush_test_support::eventually::{eventually, GUARD};
use otapush_test_support::pdu::push_pdus_with_headers;
use std::collections::HashMap;
use std::time::Duration;
use zbus::zvariant::Value;

const TICKER: &str = "x-oma-application:sse.ticker";

fn list(items: &[&str]) -> Value<'static> {
    Value::from(items.iter().map(|s| s.to_string()).collect::<Vec<_>>())
}

/// A push for [`TICKER`] with WSP application headers.
fn addressed(id: &str, headers: &[(&str, &str)]) -> Message {
    let mut m = push(id, Some(TICKER), "text/plain", id.as_bytes());
    m.headers = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    m
}

/// An event of the `ticker` stream.
fn event(id: &str, event_type: &str, data: &str) -> Message {
    Message {
        source: Source::Sse,
        content_type: "text/event-stream".into(),
        event: Some(EventInfo {
            stream: "ticker".into(),
            event_type: event_type.into(),
            event_id: id.into(),
        }),
        body: data.as_bytes().to_vec(),
        ..push(id, Some(TICKER), "", b"")
    }
}

#[tokio::test]
async fn a_group_push_reaches_every_member_once_and_no_one_else() {
    let bus = Bus::start();
    let dir = tempfile::tempdir().unwrap();
    let svc = start_service(&bus, &config(dir.path())).await;
    let (a, b, c) = (client(&bus).await, client(&bus).await, client(&bus).await);
    let (reg_a, mut member_a) = a.register(&[("Groups", list(&["g"]))]).await;
    let (_, mut member_b) = b.register(&[("Groups", list(&["h", "g"]))]).await;
    let (reg_c, mut outsider) = c.register(&[("ApplicationId", Value::from(TICKER))]).await;

    // Addressed to g (twice, and to a group nobody joined): each member once, same id.
    let g = addressed("to-g", &[("X-Otapush-Group", "g, nobody, g")]);
    assert_eq!(svc.handle.submit(&[g], &[]).await.unwrap(), vec![("to-g".into(), Outcome::New)]);
    for agent in [&mut member_a, &mut member_b] {
        let d = agent.delivery().await;
        assert_eq!((d.id.as_str(), d.body.as_slice()), ("to-g", &b"to-g"[..]));
        d.ack();
    }
    // An event addressed by its data's `group` member.
    svc.handle.submit(&[event("e1", "quote", r#"{"group":["h"],"p":1}"#)], &[]).await.unwrap();
    assert_eq!(member_b.ack_next().await, "e1");
    // Unaddressed: everyone whose filter matches, members or not.
    svc.handle.submit(&[addressed("all", &[])], &[]).await.unwrap();
    for agent in [&mut member_a, &mut member_b, &mut outsider] {
        assert_eq!(agent.ack_next().await, "all", "the outsider got a group push before this");
    }
    for agent in [&mut member_a, &mut member_b, &mut outsider] {
        agent.assert_quiet(Duration::from_millis(200)).await;
    }

    // ListRegistrations shows membership (an empty list for no group) and the filter keys.
    let regs: HashMap<_, _> = a.manager.list_registrations().await.unwrap().into_iter().collect();
    assert_eq!(&*regs[&reg_a]["Groups"], &list(&["g"]));
    assert_eq!(&*regs[&reg_c]["Groups"], &list(&[]));
    assert_eq!(regs.len(), 3);
}

#[tokio::test]
async fn event_type_and_topic_filters_select_what_a_registration_gets() {
    let bus = Bus::start();
    let dir = tempfile::tempdir().unwrap();
    let svc = start_service(&bus, &config(dir.path())).await;
    let (a, b, c) = (client(&bus).await, client(&bus).await, client(&bus).await);
    let (_, mut quotes) = a.register(&[("EventType", list(&["quote", "halt"]))]).await;
    let (_, mut eur) = b.register(&[("Topic", list(&["eur"]))]).await;
    let (_, mut eur_trades) = c.register(&[("Topic", list(&["eur"])), ("EventType", list(&["trade"]))]).await;

    let msgs = [
        event("q-eur", "quote", r#"{"topic":"eur","p":1.08}"#),
        event("q-usd", "quote", r#"{"topic":"usd","p":1.27}"#),
        event("t-eur", "trade", r#"{"topic":"eur"}"#),
        event("note", "message", "plain data names no topic"),
        // A push has no event type; its topic is the header.
        addressed("p-eur", &[("X-Otapush-Topic", "eur")]),
        event("h", "halt", "{}"),
    ];
    let out = svc.handle.submit(&msgs, &[]).await.unwrap();
    assert!(out.iter().all(|(_, o)| *o == Outcome::New), "{out:?}");
    for want in ["q-eur", "q-usd", "h"] {
        assert_eq!(quotes.ack_next().await, want);
    }
    for want in ["q-eur", "t-eur", "p-eur"] {
        assert_eq!(eur.ack_next().await, want);
    }
    assert_eq!(eur_trades.ack_next().await, "t-eur");
    for agent in [&mut quotes, &mut eur, &mut eur_trades] {
        agent.assert_quiet(Duration::from_millis(200)).await;
    }

    // Bad values are refused with the key named.
    let path: zbus::zvariant::ObjectPath<'_> = "/test/agent".try_into().unwrap();
    let e = a.manager.register(HashMap::from([("Topic", Value::from("eur"))]), &path).await.unwrap_err();
    assert_eq!(error_name(&e), "org.otapush.Push1.Error.InvalidFilter");
    assert!(e.to_string().contains("filter key \"Topic\" must have type as"), "{e}");
    let e = a.manager.register(HashMap::from([("Groups", list(&[]))]), &path).await.unwrap_err();
    assert!(e.to_string().contains("\"Groups\": needs 1 to 32 entries"), "{e}");
}

/// The push WSP encodes with an `X-Otapush-Topic` application header (WAP-230 §8.4.2.6,
/// Application-header as Token-text).
fn topic_push(topic: &str, body: &[u8], reference: u16) -> Vec<Vec<u8>> {
    push_pdus_with_headers(Some(TICKER), "text/plain", &[("X-Otapush-Topic", topic)], body, reference)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_with_a_topic_header_reaches_the_topic_subscriber_only() {
    use otapush_test_support::agents::Agent;
    let rig = Rig::new().await;
    let _daemon = rig.daemon("sim", 25, "").await;
    let sim = rig.simulator().await;
    let eur = Agent::new(rig.address(), "eur").await;
    eur.register(&[("Topic", list(&["eur"]))]).await;
    let usd = Agent::new(rig.address(), "usd").await;
    usd.register(&[("Topic", list(&["usd"]))]).await;
    let all = Agent::new(rig.address(), "all").await;
    all.register(&[("ApplicationId", Value::from(TICKER))]).await;
    let (mut eur, mut usd, mut all) = (eur, usd, all);

    network_sends(&sim, &topic_push("eur", b"EUR 1.08", 0x51)).await;
    let d = eur.next().await;
    assert_eq!(d.body, b"EUR 1.08");
    let id = d.id.clone();
    d.ack();
    let d = all.next().await;
    assert_eq!(d.id, id, "one message id for every receiver");
    d.ack();
    // The next push (to usd) is the sentinel: the eur subscriber heard nothing in between.
    network_sends(&sim, &topic_push("usd", b"USD 1.27", 0x52)).await;
    let d = usd.next().await;
    assert_eq!(d.body, b"USD 1.27");
    d.ack();
    let d = all.next().await;
    assert_eq!(d.body, b"USD 1.27");
    d.ack();
    eur.quiet(Duration::from_millis(300)).await;
    usd.quiet(Duration::from_millis(100)).await;
}

/// Whether `agent` gets `Release` (deliveries before it are a failure).
async fn released(agent: &mut Agent) {
    match tokio::time::timeout(GUARD, agent.events.recv()).await {
        Ok(Some(AgentEvent::Released)) => {}
        Ok(Some(AgentEvent::Deliver(d))) => panic!("delivery of {} instead of Release", d.id),
        Ok(None) => panic!("agent closed"),
        Err(_) => panic!("no Release within {GUARD:?}"),
    }
}

#[tokio::test]
async fn a_registration_not_refreshed_expires_its_queue_goes_unclaimed_and_refresh_keeps_one() {
    let bus = Bus::start();
    let dir = tempfile::tempdir().unwrap();
    let svc = start_service(&bus, &config(dir.path())).await;
    let topic = |t: &str| ("Topic", list(&[t]));
    // A keeper refreshes its 2 s lease every 500 ms.
    let keeper = client(&bus).await;
    let (kept, _kept_agent) = keeper.register(&[("Expires", Value::U32(2)), topic("kept")]).await;
    // Its witness has the same lease, unrefreshed.
    let witness = client(&bus).await;
    let (_, mut witness_agent) = witness.register(&[("Expires", Value::U32(2)), topic("w")]).await;
    let refresher = {
        let (manager, kept) = (keeper.manager.clone(), kept.clone());
        tokio::spawn(async move {
            loop {
                assert_eq!(manager.refresh(&kept.as_ref()).await.unwrap(), 2);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    };
    // A tab with a 1 s lease that never refreshes; and a persistent one whose tab vanished,
    // holding a queued message.
    let started = tokio::time::Instant::now();
    let tab = client(&bus).await;
    let (tab_reg, mut tab_agent) = tab.register(&[("Expires", Value::U32(1)), topic("tab")]).await;
    let vanished = client(&bus).await;
    let persistent =
        [("Expires", Value::U32(1)), ("Persistent", Value::Bool(true)), ("Name", Value::from("v"))];
    let (gone, _) = vanished.register(&persistent).await;
    drop(vanished);
    eventually("the vanished tab's registration to be disconnected", || async {
        let regs = keeper.manager.list_registrations().await.unwrap();
        regs.iter().any(|(p, d)| *p == gone && *d["Connected"] == Value::Bool(false))
    })
    .await;
    svc.handle.submit(&[addressed("held", &[])], &[]).await.unwrap();

    // The tab's lease ends: its agent is released, no sooner than its lease.
    released(&mut tab_agent).await;
    assert!(started.elapsed() >= Duration::from_secs(1), "released after {:?}", started.elapsed());
    eventually("the lapsed registrations to end", || async {
        let regs = keeper.manager.list_registrations().await.unwrap();
        !regs.iter().any(|(p, _)| *p == tab_reg || *p == gone)
    })
    .await;
    // The queue went unclaimed, as Unregister leaves it: the next matching registration gets it.
    let late = client(&bus).await;
    let (_, mut late_agent) = late.register(&[("ApplicationId", Value::from(TICKER))]).await;
    assert_eq!(late_agent.ack_next().await, "held");
    // The witness's lease ends; the keeper's, refreshed, does not; once its refreshes stop, it does.
    released(&mut witness_agent).await;
    let regs = keeper.manager.list_registrations().await.unwrap();
    assert!(regs.iter().any(|(p, _)| *p == kept), "the refreshed registration ended");
    refresher.abort();
    let _ = refresher.await;
    let e = keeper.manager.refresh(&gone.as_ref()).await.unwrap_err();
    assert_eq!(error_name(&e), "org.otapush.Push1.Error.UnknownRegistration");
    let (no_lease, _) = late.register_at("/test/other", &[]).await;
    assert_eq!(late.manager.refresh(&no_lease.as_ref()).await.unwrap(), 0, "no Expires: 0");
    let e = late.manager.refresh(&kept.as_ref()).await.unwrap_err();
    assert_eq!(error_name(&e), "org.otapush.Push1.Error.NotOwner");
    eventually("the keeper's lease to end", || async {
        keeper.manager.list_registrations().await.unwrap().iter().all(|(p, _)| *p != kept)
    })
    .await;
}

#[tokio::test]
async fn group_membership_of_a_persistent_registration_survives_a_restart() {
    let bus = Bus::start();
    let dir = tempfile::tempdir().unwrap();
    let svc = start_service(&bus, &config(dir.path())).await;
    let a = client(&bus).await;
    let f = [("Persistent", Value::Bool(true)), ("Name", Value::from("p")), ("Groups", list(&["g"]))];
    let (reg, _agent) = a.register(&f).await;
    svc.handle.shutdown().await;
    drop(a);

    // From the SQLite store: the registration, its groups, and group pushes queued for it only.
    let svc = start_service(&bus, &config(dir.path())).await;
    let b = client(&bus).await;
    let (_, mut outsider) = b.register(&[]).await;
    svc.handle.submit(&[addressed("to-g", &[("X-Otapush-Group", "g")])], &[]).await.unwrap();
    let regs: HashMap<_, _> = b.manager.list_registrations().await.unwrap().into_iter().collect();
    assert_eq!(&*regs[&reg]["Groups"], &list(&["g"]));
    assert_eq!(&*regs[&reg]["Queued"], &Value::U32(1));
    outsider.assert_quiet(Duration::from_millis(200)).await;
    let (again, mut agent) = b.register_at("/test/again", &f).await;
    assert_eq!(again, reg, "taken over");
    assert_eq!(agent.ack_next().await, "to-g");
}
