//! The EventSource endpoint (docs/eventsource.md) through the real daemon: events of one
//! application id arrive by WAP Push through the simulated modem and by an `[[sse]]` stream from
//! a loopback origin; a subscriber on the Unix socket sees them in one order, once each, with
//! `id:` = the stable message id; after a disconnect it resumes with `Last-Event-ID` and gets
//! exactly the events it missed.
#![cfg(all(feature = "eventsource", feature = "sse-http"))]

use hyper::body::{Body, Incoming};
use hyper_util::rt::TokioIo;
use otapush::message::event_message_id;
use otapush::sse::{Event, Output, Parser};
use otapush_test_support::daemon::*;
use otapush_test_support::eventually::*;
use otapush_test_support::http::Origin;
use otapush_test_support::pdu::*;
use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::pin::Pin;
use zbus::zvariant::OwnedValue;

const TICKER: &str = "x-oma-application:sse.ticker";

/// A subscriber reading one `text/event-stream` response over the Unix socket.
struct Subscriber {
    body: Incoming,
    parser: Parser,
    events: VecDeque<Event>,
}

impl Subscriber {
    async fn connect(socket: &Path, last_event_id: Option<&str>) -> Subscriber {
        let io = TokioIo::new(tokio::net::UnixStream::connect(socket).await.unwrap());
        let (mut tx, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
        tokio::spawn(conn);
        let mut req = hyper::Request::get(format!("/v1/events/{TICKER}"))
            .header("host", "localhost")
            .header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        let r = tx.send_request(req.body(String::new()).unwrap()).await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers().get("content-type").unwrap(), "text/event-stream");
        Subscriber {
            body: r.into_body(),
            parser: Parser::new(otapush::sse::Limits::WAP_PUSH),
            events: VecDeque::new(),
        }
    }

    async fn next(&mut self) -> Event {
        while self.events.is_empty() {
            let frame = tokio::time::timeout(
                GUARD,
                std::future::poll_fn(|cx| Pin::new(&mut self.body).poll_frame(cx)),
            )
            .await
            .expect("an event")
            .expect("the stream goes on")
            .unwrap();
            let Ok(data) = frame.into_data() else { continue };
            let events = &mut self.events;
            self.parser.feed(&data, &mut |o| {
                if let Output::Event(e) = o {
                    events.push_back(e)
                }
            });
        }
        self.events.pop_front().unwrap()
    }

    /// The next event, checked: type `tick`, `id:` = the message id of event `n`, data `data`.
    async fn expect(&mut self, n: &str, data: &str) {
        let e = self.next().await;
        assert_eq!(
            (e.id.as_str(), e.event_type.as_str(), e.data.as_str()),
            (event_message_id(TICKER, n, "").as_str(), "tick", data),
            "expected event {n}"
        );
    }
}

fn sms_events(events: &[(&str, &str)]) -> Vec<Vec<u8>> {
    let body: String =
        events.iter().map(|(id, data)| format!("id: {id}\nevent: tick\ndata: {data}\n\n")).collect();
    static REF: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(40);
    let reference = REF.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    push_pdus(Some(TICKER), "text/event-stream", body.as_bytes(), reference)
}

async fn eventsource(rig: &Rig) -> HashMap<String, OwnedValue> {
    rig.manager().await.event_source().await.unwrap()
}

fn subscribers(d: &HashMap<String, OwnedValue>) -> Option<u32> {
    d.get("Subscribers").and_then(|v| u32::try_from(v).ok())
}

async fn last_event_id(rig: &Rig) -> String {
    let s = rig.manager().await.streams().await.unwrap();
    let ticker = s.get("ticker").and_then(|v| HashMap::<String, OwnedValue>::try_from(v.clone()).ok());
    ticker.and_then(|d| String::try_from(d.get("LastEventId")?.clone()).ok()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_and_stream_events_reach_a_socket_subscriber_once_in_order_and_resume_without_gap() {
    let rig = Rig::new().await;
    let mut origin = Origin::start().await;
    let socket = rig.dir.path().join("run/events.sock");
    let extra = format!(
        "[bearer]\nmode = \"external\"\n\n[eventsource]\nsocket = {:?}\n\n\
         [[sse]]\nname = \"ticker\"\nurl = {:?}\napplication_id = {TICKER:?}\n\n",
        socket.display().to_string(),
        origin.url("/ticker")
    );
    let daemon = rig.daemon("sim", 25, &extra).await;
    let d = eventsource(&rig).await;
    assert_eq!(
        d.get("Socket").and_then(|v| String::try_from(v.clone()).ok()),
        Some(socket.display().to_string())
    );
    assert!(!d.contains_key("Tcp"), "{d:?}");
    assert_eq!(subscribers(&d), Some(0));

    let mut sub = Subscriber::connect(&socket, None).await;
    eventually("one subscriber", || async { subscribers(&eventsource(&rig).await) == Some(1) }).await;
    let status = daemon.ctl(&["status"]);
    let want = format!("eventsource: Socket={}, Subscribers=1\n", socket.display());
    assert!(status.contains(&want), "{status}");
    let json: serde_json::Value = serde_json::from_str(&daemon.ctl(&["status", "--json"])).unwrap();
    assert_eq!(
        json["eventsource"],
        serde_json::json!({"Socket": socket.display().to_string(), "Subscribers": 1}),
        "{json}"
    );
    rig.manager().await.set_bearer_state("up").await.unwrap();
    let mut http = origin.next().await;
    http.open_stream().await;
    let sim = rig.simulator().await;

    // 1, 2 by the stream; 3 (and 2 again) by SMS; 4 (and 3 again) by the stream.
    http.event("1", "tick", "one").await;
    http.event("2", "tick", "two").await;
    sub.expect("1", "one").await;
    sub.expect("2", "two").await;
    network_sends(&sim, &sms_events(&[("2", "two"), ("3", "three")])).await;
    sub.expect("3", "three").await;
    http.event("3", "tick", "three").await;
    http.event("4", "tick", "four").await;
    sub.expect("4", "four").await;

    // Away: 5 by the stream, 6 (and 5 again) by SMS, all committed before it comes back.
    drop(sub);
    http.event("5", "tick", "five").await;
    eventually("event 5 committed", || async { last_event_id(&rig).await == "5" }).await;
    network_sends(&sim, &sms_events(&[("5", "five"), ("6", "six")])).await;
    eventually("event 6 committed", || async { last_event_id(&rig).await == "6" }).await;

    // Back with Last-Event-ID = event 4's message id: exactly 5 and 6, then live 7.
    let mut sub = Subscriber::connect(&socket, Some(&event_message_id(TICKER, "4", ""))).await;
    sub.expect("5", "five").await;
    sub.expect("6", "six").await;
    http.event("6", "tick", "six").await;
    http.event("7", "tick", "seven").await;
    sub.expect("7", "seven").await;
    network_sends(&sim, &sms_events(&[("7", "seven"), ("8", "eight")])).await;
    sub.expect("8", "eight").await;
    assert!(daemon.log_text().contains("eventsource: listening"), "{}", daemon.log_tail(20));
}

/// examples/eventsource-curl.sh (`curl -N --unix-socket`) against the daemon: resumes after the
/// Last-Event-ID it is given, then prints live events as they arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_curl_example_resumes_from_its_last_event_id_and_follows_live_events() {
    use tokio::io::AsyncBufReadExt;
    let rig = Rig::new().await;
    let socket = rig.dir.path().join("events.sock");
    let extra = format!("[eventsource]\nsocket = {:?}\n", socket.display().to_string());
    let daemon = rig.daemon("sim", 25, &extra).await;
    let sim = rig.simulator().await;
    network_sends(&sim, &sms_events(&[("1", "one"), ("2", "two"), ("3", "three")])).await;
    let mut sub = Subscriber::connect(&socket, None).await;
    sub.expect("1", "one").await;
    sub.expect("2", "two").await;
    sub.expect("3", "three").await;

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/eventsource-curl.sh");
    let mut curl = tokio::process::Command::new("sh")
        .arg(script)
        .arg(TICKER)
        .arg(&socket)
        .arg(event_message_id(TICKER, "1", ""))
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(curl.stdout.take().unwrap()).lines();
    let mut got = Vec::new();
    let mut read_event = async || {
        let mut block = Vec::new();
        loop {
            let line = tokio::time::timeout(GUARD, lines.next_line())
                .await
                .expect("curl printed the event")
                .unwrap()
                .expect("curl (scripts/install-deps) exited early");
            if line.is_empty() && !block.is_empty() {
                return block.join("\n");
            }
            if !line.is_empty() && !line.starts_with(':') && !line.starts_with("retry:") {
                block.push(line);
            }
        }
    };
    got.push(read_event().await);
    got.push(read_event().await);
    network_sends(&sim, &sms_events(&[("4", "four")])).await;
    got.push(read_event().await);
    let want: Vec<String> = [("2", "two"), ("3", "three"), ("4", "four")]
        .iter()
        .map(|(n, d)| format!("id: {}\nevent: tick\ndata: {d}", event_message_id(TICKER, n, "")))
        .collect();
    assert_eq!(got, want, "{}", daemon.log_tail(20));
    sub.expect("4", "four").await;
}
