//! A push's own lifetime and its PDU type, end to end (docs/wap-push.md): the real `otapushd`
//! with its simulated modem, agents on a private bus. A push whose WSP `Expires` is past is
//! logged and not delivered; Service Indications (WAP-167 §6.2), compiled by libwbxml's
//! `xml2wbxml`, replace, are discarded and delete by `si-id` and `created` while a persistent
//! registration's agent is away; `QueueTtl` bounds a far-future `Expires`; a ConfirmedPush on
//! 2948 and 2949 is delivered flagged `Confirmed`; a WSP Push on a port a registration asked for
//! is a `wsp_push`.

mod foreign_support;

use foreign_support::{run, tool};
use futures_lite::StreamExt;
use otapush::ctl::encode::{encode_push, PushRequest};
use otapush_test_support::agents::*;
use otapush_test_support::daemon::*;
use otapush_test_support::eventually::*;
use otapush_test_support::pdu::*;
use std::process::Command;
use std::time::Duration;
use zbus::zvariant::Value;

const SIC: &str = "application/vnd.wap.sic";

fn push(headers: &[(&str, &str)], content_type: &str, body: &[u8], reference: u16) -> Vec<Vec<u8>> {
    push_pdus_with_headers(None, content_type, headers, body, reference)
}

/// An SI document (WAP-167 §8) compiled by `xml2wbxml`; `attrs` are the `indication`'s
/// attributes besides `href`.
fn si(attrs: &str, text: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let (xml, out) = (dir.path().join("si.xml"), dir.path().join("si.wbxml"));
    std::fs::write(
        &xml,
        format!(
            "<?xml version=\"1.0\"?>\n<!DOCTYPE si PUBLIC \"-//WAPFORUM//DTD SI 1.0//EN\" \
             \"http://www.wapforum.org/DTD/si.dtd\">\n<si><indication href=\"http://www.example.org/n\" \
             {attrs}>{text}</indication></si>\n"
        ),
    )
    .unwrap();
    run(Command::new(tool("xml2wbxml", "libwbxml2-utils")).arg("-o").arg(&out).arg(&xml));
    std::fs::read(&out).unwrap()
}

/// `Queued` of the registration at `path` (`ListRegistrations`).
async fn queued(manager: &ManagerProxy<'_>, path: &zbus::zvariant::OwnedObjectPath) -> u32 {
    let regs = manager.list_registrations().await.unwrap();
    let (_, d) = regs.iter().find(|(p, _)| p == path).expect("the registration");
    d["Queued"].downcast_ref::<u32>().unwrap()
}

/// Registers `filter` (persistent) from an agent that then leaves; waits until the daemon
/// logged it leaving (the `n`-th such line).
async fn registered_and_away(
    rig: &Rig,
    daemon: &Daemon,
    name: &str,
    filter: &[(&str, Value<'_>)],
    n: usize,
) -> zbus::zvariant::OwnedObjectPath {
    let away = Agent::new(rig.address(), name).await;
    let path = away.register(filter).await;
    drop(away);
    eventually_sync("the agent to leave", || {
        daemon.log_text().matches("left; persistent, queueing").count() >= n
    })
    .await;
    path
}

async fn next_signal(signals: &mut otapush::cai::client::PushReceivedStream) -> String {
    let s = tokio::time::timeout(GUARD, signals.next()).await.expect("PushReceived").unwrap();
    s.args().unwrap().id().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_pushes_are_dropped_and_service_indications_replace_by_si_id() {
    let rig = Rig::new().await;
    let daemon = rig.daemon("sim", 25, "").await;
    let manager = rig.manager().await;
    let mut signals = manager.receive_push_received().await.unwrap();
    let sim = rig.simulator().await;

    // (a) Expires in the past: not delivered, and the log says why. A later push is.
    let mut all = Agent::new(rig.address(), "all").await;
    all.register(&[("Kind", Value::from("wsp_push"))]).await;
    let past = [("Expires", "Sun, 06 Nov 1994 08:49:37 GMT")];
    network_sends(&sim, &push(&past, "text/plain", b"stale", 1)).await;
    let future = [("Expires", "Thu, 01 Jan 2099 00:00:00 GMT")];
    network_sends(&sim, &push(&future, "text/plain", b"fresh", 2)).await;
    let d = all.next().await;
    assert_eq!(d.body, b"fresh", "the expired push was delivered");
    assert_eq!(d.meta_str("Expires"), Some("2099-01-01T00:00:00+00:00"));
    let fresh = d.id.clone();
    d.ack();
    assert_eq!(next_signal(&mut signals).await, fresh, "PushReceived only for the fresh one");
    let log = daemon.log_text();
    assert!(log.contains("discarded: expired at 1994-11-06T08:49:37+00:00"), "{log}");
    drop(all);

    // (b) A persistent registration whose agent is away.
    let filter = [
        ("Persistent", Value::Bool(true)),
        ("Name", Value::from("si_ua")),
        ("ContentType", Value::from(SIC)),
    ];
    let si_ua = registered_and_away(&rig, &daemon, "si_ua", &filter, 1).await;
    let sis = [
        ("n1 first", si(r#"si-id="n1" created="2026-11-21T10:00:00Z""#, "first")),
        (
            "n1 newer",
            si(r#"si-id="n1" created="2026-11-21T11:00:00Z" si-expires="2099-06-01T00:00:00Z""#, "newer"),
        ),
        ("n1 older", si(r#"si-id="n1" created="2026-11-21T10:30:00Z""#, "older")),
        ("n2", si(r#"si-id="n2" created="2026-11-21T10:00:00Z""#, "two")),
        ("n2 delete", si(r#"si-id="n2" created="2026-11-21T12:00:00Z" action="delete""#, "")),
    ];
    for (i, (name, body)) in sis.iter().enumerate() {
        network_sends(&sim, &push(&[], SIC, body, 10 + i as u16)).await;
        if *name == "n1 older" {
            eventually_sync("the older SI's log line", || {
                daemon.log_text().contains("SI older than a queued one with its si-id, discarded")
            })
            .await;
        } else {
            next_signal(&mut signals).await;
        }
    }
    let log = daemon.log_text();
    assert_eq!(log.matches("queued SI replaced by message").count(), 1, "{log}");
    assert_eq!(log.matches("queued SI deleted by message").count(), 1, "{log}");
    assert_eq!(queued(&manager, &si_ua).await, 2, "n1 newer and n2's delete");
    let mut back = Agent::new(rig.address(), "si_ua").await;
    back.register(&filter).await;
    let d = back.next().await;
    assert_eq!(d.body, sis[1].1, "n1's newer SI replaced the first");
    assert_eq!(d.meta_str("Expires"), Some("2099-06-01T00:00:00+00:00"), "si-expires");
    d.ack();
    let d = back.next().await;
    assert_eq!(d.body, sis[4].1, "the delete, not the SI it removed");
    d.ack();
    back.quiet(Duration::from_millis(300)).await;
    drop(back);

    // (c) QueueTtl (1 s) bounds a far-future Expires: the queue entry ends after the TTL.
    let filter = [
        ("Persistent", Value::Bool(true)),
        ("Name", Value::from("ttl_ua")),
        ("ContentType", Value::from("text/x-ttl")),
        ("QueueTtl", Value::U32(1)),
    ];
    let ttl_ua = registered_and_away(&rig, &daemon, "ttl_ua", &filter, 2).await;
    network_sends(&sim, &push(&future, "text/x-ttl", b"bounded", 30)).await;
    next_signal(&mut signals).await;
    eventually("the queue entry to expire by QueueTtl", || async { queued(&manager, &ttl_ua).await == 0 })
        .await;
    let mut back = Agent::new(rig.address(), "ttl_ua").await;
    back.register(&filter).await;
    back.quiet(Duration::from_millis(300)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirmed_push_and_wsp_on_a_registered_port() {
    let rig = Rig::new().await;
    let _daemon = rig.daemon("sim", 25, "").await;
    let sim = rig.simulator().await;
    let mut agent = Agent::new(rig.address(), "any").await;
    agent.register(&[]).await;
    let confirmed = |port: u16, reference: u16| {
        encode_push(&PushRequest {
            content_type: "text/plain".into(),
            body: format!("{reference} to {port}").into_bytes(),
            from: FROM.into(),
            tid: 0x2A,
            confirmed: true,
            dst_port: port,
            reference,
            scts: Some(scts()),
            ..Default::default()
        })
        .unwrap()
    };
    // A ConfirmedPush on 2948 and on 2949 (no WTLS: read as plain WSP): delivered, flagged.
    for (port, reference) in [(2948, 1), (2949, 2)] {
        network_sends(&sim, &confirmed(port, reference)).await;
        let d = agent.next().await;
        assert_eq!(d.meta_str("Kind"), Some("wsp_push"), "port {port}");
        assert_eq!(d.meta_str("PduType"), Some("confirmed-push"));
        assert_eq!(d.meta.get("Confirmed").map(|v| Value::from(v.clone())), Some(Value::Bool(true)));
        assert_eq!(d.meta.get("Port").and_then(|v| u16::try_from(v).ok()), Some(port));
        assert_eq!(d.body, format!("{reference} to {port}").as_bytes());
        d.ack();
    }
    // A ConfirmedPush on 49999: a datagram while no registration names the port, a WSP Push
    // once one does (for every registration it reaches).
    network_sends(&sim, &confirmed(49999, 3)).await;
    let d = agent.next().await;
    assert_eq!((d.meta_str("Kind"), d.meta.contains_key("Confirmed")), (Some("datagram"), false));
    d.ack();
    let mut port = Agent::new(rig.address(), "port").await;
    port.register(&[("Port", Value::U16(49999))]).await;
    network_sends(&sim, &confirmed(49999, 4)).await;
    for a in [&mut agent, &mut port] {
        let d = a.next().await;
        assert_eq!(d.meta_str("Kind"), Some("wsp_push"), "{}", a.path);
        assert_eq!(d.meta_str("ContentType"), Some("text/plain"));
        assert_eq!(d.meta_str("ApplicationId"), Some("x-wap-application:wml.ua"));
        assert_eq!(d.meta_str("PduType"), Some("confirmed-push"));
        assert_eq!(d.body, b"4 to 49999");
        d.ack();
    }
}
