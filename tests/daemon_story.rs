//! The whole daemon end to end: a private bus, the real `otapushd` with its simulated modem
//! (the real AT engine reads every PDU with `+CMGR`), several client agents with different
//! filters, and the simulated network sending each kind of SMS docs/dbus-api.md names. Each message
//! must reach exactly the agents whose filter matches, with the documented meta keys and
//! values, `PushReceived` must fire once per message, a repeated PDU set must be suppressed, and
//! `otapushctl decode push` must agree with what was delivered.

use futures_lite::StreamExt;
use otapush::ctl::encode::{encode_push, PushRequest};
use otapush_test_support::agents::*;
use otapush_test_support::daemon::*;
use otapush_test_support::eventually::*;
use otapush_test_support::pdu::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;
use zbus::zvariant::Value;

/// One message of the story: its PDUs (in the order the network sends them) and what the
/// docs/dbus-api.md says `Deliver` must carry.
struct Sent {
    name: &'static str,
    pdus: Vec<Vec<u8>>,
    /// The order in which the PDUs go out (indexes into `pdus`).
    order: Vec<usize>,
    body: Vec<u8>,
    meta: Vec<(&'static str, Value<'static>)>,
    /// Meta keys that must be absent.
    absent: &'static [&'static str],
}

/// An MMS m-notification-ind (OMA-MMS-ENC §6.2), long enough for two SMS segments.
fn mms_body(transaction: &str) -> Vec<u8> {
    let mut b = vec![0x8C, 0x82]; // X-Mms-Message-Type: m-notification-ind
    b.push(0x98); // X-Mms-Transaction-ID, text
    b.extend_from_slice(transaction.as_bytes());
    b.push(0);
    b.extend_from_slice(&[0x8D, 0x92]); // X-Mms-MMS-Version: 1.2
    b.extend_from_slice(&[0x8A, 0x80]); // X-Mms-Message-Class: personal
    b.extend_from_slice(&[0x8E, 0x02, 0x4B, 0x00]); // X-Mms-Message-Size: 19200
    b.push(0x83); // X-Mms-Content-Location, text
    b.extend_from_slice(b"http://mmsc.example.net/mms/retrieve?id=");
    b.extend_from_slice(transaction.as_bytes());
    b.extend(std::iter::repeat_n(b'x', 120)); // a long id, so the push needs two segments
    b.push(0);
    b
}

fn story() -> Vec<Sent> {
    let mms = "application/vnd.wap.mms-message";
    let mms_app = "x-wap-application:mms.ua";
    let push_meta = |ct: &'static str, app: &'static str, tid: u8, pdu_type: &'static str| {
        vec![
            ("Kind", Value::from("wsp_push")),
            ("ContentType", Value::from(ct)),
            ("ApplicationId", Value::from(app)),
            ("TransactionId", Value::U8(tid)),
            ("PduType", Value::from(pdu_type)),
            ("Port", Value::U16(2948)),
        ]
    };
    let mms1 = mms_body("T-0001");
    let mms2 = mms_body("T-0002");
    let text = "Meet at 10:30 — bring the keys";
    let datagram: Vec<u8> = (0u8..40).map(|i| i.wrapping_mul(37) ^ 0x5A).collect();
    // A Service Indication (WAP-167, WBXML): <si><indication href="http://example.org/">Hi</indication></si>.
    let si: Vec<u8> = [
        &[0x02, 0x05, 0x6A, 0x00][..], // WBXML 1.2, SI 1.0, UTF-8, no string table
        &[0x45, 0xC6, 0x0C, 0x03],     // <si><indication href="http:// + inline string
        b"example.org/",
        &[0x00, 0x01, 0x03], // end of string, end of attributes, inline string content
        b"Hi",
        &[0x00, 0x01, 0x01], // end of string, </indication></si>
    ]
    .concat();
    let confirmed = encode_push(&PushRequest {
        app_id: None,
        content_type: "application/vnd.wap.sic".into(),
        body: si.clone(),
        from: FROM.into(),
        tid: 0x2A,
        confirmed: true,
        reference: 7,
        scts: Some(scts()),
        ..Default::default()
    })
    .unwrap();
    let report = status_report_pdu(0x21, "+15550199", 0);
    vec![
        Sent {
            name: "mms in order",
            pdus: push_pdus(Some(mms_app), mms, &mms1, 0x42),
            order: vec![0, 1],
            body: mms1,
            meta: push_meta(mms, mms_app, 1, "push"),
            absent: &["Stream", "EventId"],
        },
        Sent {
            name: "mms out of order",
            pdus: push_pdus(Some(mms_app), mms, &mms2, 0x43),
            order: vec![1, 0],
            body: mms2,
            meta: push_meta(mms, mms_app, 1, "push"),
            absent: &["Stream", "EventId"],
        },
        Sent {
            name: "text",
            pdus: text_pdus(text, 0),
            order: vec![0],
            body: text.as_bytes().to_vec(),
            meta: vec![
                ("Kind", Value::from("text")),
                ("ContentType", Value::from("text/plain; charset=utf-8")),
            ],
            absent: &["ApplicationId", "Port", "TransactionId", "PduType"],
        },
        Sent {
            name: "datagram",
            pdus: datagram_pdus(5000, 5000, &datagram, 0),
            order: vec![0],
            body: datagram,
            meta: vec![
                ("Kind", Value::from("datagram")),
                ("ContentType", Value::from("application/octet-stream")),
                ("Port", Value::U16(5000)),
            ],
            absent: &["ApplicationId", "TransactionId", "PduType"],
        },
        Sent {
            name: "status report",
            pdus: vec![report],
            order: vec![0],
            body: Vec::new(), // checked separately (a JSON object)
            meta: vec![
                ("Kind", Value::from("status_report")),
                ("ContentType", Value::from("application/json")),
                ("Originator", Value::from("+15550199")),
            ],
            absent: &["ApplicationId", "Port", "TransactionId"],
        },
        Sent {
            name: "confirmed push",
            pdus: confirmed,
            order: vec![0],
            body: si,
            // No X-Wap-Application-Id: the WAP default applies.
            meta: push_meta("application/vnd.wap.sic", "x-wap-application:wml.ua", 0x2A, "confirmed-push"),
            absent: &["Stream"],
        },
    ]
}

/// A filter as the tests write it.
type Filter = Vec<(&'static str, Value<'static>)>;

/// The agents, their filters, and which messages (by index into [`story`]) each must get.
fn agents() -> Vec<(&'static str, Filter, Vec<usize>)> {
    vec![
        ("mms", vec![("ApplicationId", Value::from("x-wap-application:mms.ua"))], vec![0, 1]),
        // A numeric code is mapped through the OMNA table (0x02 = wml.ua).
        ("wml", vec![("ApplicationId", Value::from("0x02"))], vec![5]),
        ("texttype", vec![("ContentType", Value::from("text/*"))], vec![2]),
        (
            "apppush",
            vec![("ContentType", Value::from("application/*")), ("Kind", Value::from("wsp_push"))],
            vec![0, 1, 5],
        ),
        ("port5000", vec![("Port", Value::U16(5000))], vec![3]),
        ("port2948", vec![("Port", Value::U16(2948))], vec![0, 1, 5]),
        ("kindtext", vec![("Kind", Value::from("text"))], vec![2]),
        ("reports", vec![("Kind", Value::from("status_report"))], vec![4]),
        ("all", vec![], vec![0, 1, 2, 3, 4, 5]),
    ]
}

fn check_meta(s: &Sent, d: &Delivery) {
    let get = |k: &str| d.meta.get(k).map(|v| Value::from(v.clone()));
    assert_eq!(get("Source"), Some(Value::from("sms")), "{}", s.name);
    if !s.meta.iter().any(|(k, _)| *k == "Originator") {
        assert_eq!(get("Originator"), Some(Value::from(FROM)), "{}", s.name);
    }
    assert_eq!(get("SentTime"), Some(Value::from(SCTS_RFC3339)), "{}: SentTime", s.name);
    let received = d.meta_str("ReceivedTime").unwrap_or_default();
    assert!(received.len() >= 20 && (received.ends_with('Z') || received.contains('+')), "{received}");
    for (k, v) in &s.meta {
        assert_eq!(get(k).as_ref(), Some(v), "{}: meta {k}", s.name);
    }
    for k in s.absent {
        assert!(!d.meta.contains_key(*k), "{}: meta {k} must be absent: {:?}", s.name, d.meta);
    }
    if s.name == "status report" {
        let j: serde_json::Value = serde_json::from_slice(&d.body).unwrap();
        assert_eq!(j["mr"], 0x21);
        assert_eq!(j["recipient"], "+15550199");
        assert_eq!(j["status"], 0);
        assert_eq!(j["discharge_time"], "2026-11-21T09:31:00-03:00");
    } else {
        assert_eq!(d.body, s.body, "{}: body", s.name);
    }
}

/// `otapushctl decode push` over the same PDUs, in the same order, must report the same ids,
/// kinds and payloads as the daemon delivered.
fn check_decode_push(daemon: &Daemon, story: &[Sent], ids: &[String]) {
    let mut args = vec!["decode".to_string(), "push".to_string()];
    for s in story {
        for &i in &s.order {
            args.push(otapush::hex::encode_lower(&s.pdus[i]));
        }
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_otapushctl")).args(&args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), story.len(), "one object per completed message: {lines:?}");
    for ((s, j), id) in story.iter().zip(&lines).zip(ids) {
        assert_eq!(j["ids"], serde_json::json!([id]), "{}: decode push id", s.name);
        let kind = s.meta.iter().find(|(k, _)| *k == "Kind").map(|(_, v)| v.clone());
        assert_eq!(kind, Some(Value::from(j["kind"].as_str().unwrap())), "{}", s.name);
        match j["kind"].as_str() {
            Some("wsp_push") => {
                assert_eq!(j["body_hex"], otapush::hex::encode_lower(&s.body), "{}", s.name);
                assert_eq!(j["originator"], FROM);
                assert_eq!(j["segments"], s.pdus.len());
                let ct = s.meta.iter().find(|(k, _)| *k == "ContentType").unwrap();
                assert_eq!(Value::from(j["content_type"].as_str().unwrap()), ct.1);
                let pdu_type = s.meta.iter().find(|(k, _)| *k == "PduType").unwrap();
                assert_eq!(Value::from(j["pdu_type"].as_str().unwrap()), pdu_type.1);
            }
            Some("text") => assert_eq!(j["text"].as_str().map(str::as_bytes), Some(&s.body[..])),
            Some("datagram") => {
                assert_eq!(j["payload_hex"], otapush::hex::encode_lower(&s.body));
                assert_eq!(j["ports"]["dst"], 5000);
            }
            Some("status_report") => {}
            other => panic!("{}: unexpected kind {other:?}", s.name),
        }
    }
    let _ = daemon;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_sms_reaches_exactly_the_matching_agents() {
    let rig = Rig::new().await;
    let daemon = rig.daemon("sim", 25, "").await;
    let manager = rig.manager().await;
    let mut signals = manager.receive_push_received().await.unwrap();
    let sim = rig.simulator().await;
    let story = story();
    let mut agents_got: Vec<(Agent, Vec<usize>)> = Vec::new();
    for (name, f, want) in agents() {
        let a = Agent::new(rig.address(), name).await;
        a.register(&f).await;
        agents_got.push((a, want));
    }

    // The network sends every message; the `all` agent sees them in order, so each can be
    // checked before the next is sent (the out-of-order MMS sends segment 2 first).
    let mut ids = Vec::new();
    for (i, s) in story.iter().enumerate() {
        for &p in &s.order {
            sim.deliver(&s.pdus[p]).await.unwrap();
        }
        let all = &mut agents_got.last_mut().unwrap().0;
        let d = all.next().await;
        check_meta(s, &d);
        assert!(!ids.contains(&d.id), "message {i} ({}) got an id already used", s.name);
        ids.push(d.id.clone());
        d.ack();
    }

    // Every other agent gets exactly its messages, with the same ids and meta.
    let n = agents_got.len();
    for (a, want) in agents_got.iter_mut().take(n - 1) {
        let mut got = BTreeMap::new();
        for _ in 0..want.len() {
            let d = a.next().await;
            let i = ids.iter().position(|id| *id == d.id).unwrap_or_else(|| panic!("{}: unknown id", a.path));
            check_meta(&story[i], &d);
            assert!(got.insert(i, d.id.clone()).is_none(), "{}: message {i} twice", a.path);
            d.ack();
        }
        assert_eq!(got.keys().copied().collect::<Vec<_>>(), *want, "{}", a.path);
    }

    // PushReceived: once per message, in order, with meta but no body.
    let mut signalled = Vec::new();
    for _ in 0..story.len() {
        let s = tokio::time::timeout(GUARD, signals.next()).await.expect("PushReceived").unwrap();
        let args = s.args().unwrap();
        assert!(args.meta().contains_key("Kind") && args.meta().contains_key("ReceivedTime"));
        signalled.push(args.id().to_string());
    }
    assert_eq!(signalled, ids);

    // The network repeats the out-of-order MMS and the ConfirmedPush (same originator, time
    // stamp, reference and payload), then a new text. The repeats must vanish: the `all` agent's
    // next delivery is the new text, and nobody hears anything else.
    network_sends(&sim, &story[1].pdus).await;
    network_sends(&sim, &story[5].pdus).await;
    let sentinel = text_pdus("sentinel", 0);
    network_sends(&sim, &sentinel).await;
    let all = &mut agents_got.last_mut().unwrap().0;
    let d = all.next().await;
    assert_eq!(d.body, b"sentinel", "a repeated PDU set was delivered again");
    let sentinel_id = d.id.clone();
    d.ack();
    let s = tokio::time::timeout(GUARD, signals.next()).await.expect("PushReceived").unwrap();
    assert_eq!(s.args().unwrap().id(), sentinel_id.as_str(), "PushReceived for a suppressed repeat");
    for (a, want) in agents_got.iter_mut() {
        if want.contains(&2) && a.path != "/test/agent/all" {
            let d = a.next().await;
            assert_eq!(d.id, sentinel_id);
            d.ack();
        }
    }
    for (a, _) in agents_got.iter_mut() {
        a.quiet(Duration::from_millis(500)).await;
    }
    if let Ok(Some(extra)) = tokio::time::timeout(Duration::from_millis(200), signals.next()).await {
        panic!("extra PushReceived {}", extra.args().unwrap().id());
    }

    // The registrations: nothing left queued for anyone.
    let regs = manager.list_registrations().await.unwrap();
    assert_eq!(regs.len(), agents().len());
    let queued: HashMap<String, u32> =
        regs.iter().map(|(p, d)| (p.to_string(), d["Queued"].downcast_ref::<u32>().unwrap())).collect();
    assert!(queued.values().all(|q| *q == 0), "{queued:?}");

    check_decode_push(&daemon, &story, &ids);
    let distinct: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), story.len());
}
