//! Issue 5's acceptance scenario against the real daemon: an event stream from an HTTP origin on
//! 127.0.0.1 while the data bearer is up, the same stream's events by WAP Push through the
//! simulated modem while it is down, and the replay after it comes back: the client sees events
//! 1-6 once each, in order, with the right `Source` and `EventId`. Then a SIGHUP reload adds
//! (and removes) a stream without disturbing the running one.

mod e2e_support;
mod support_http;

use e2e_support::*;
use std::time::Duration;
use support_http::Origin;
use zbus::zvariant::Value;

const TICKER: &str = "x-oma-application:sse.ticker";
const NEWS: &str = "x-oma-application:sse.news";

fn stream_section(name: &str, url: &str, app: &str) -> String {
    format!("[[sse]]\nname = {name:?}\nurl = {url:?}\napplication_id = {app:?}\n\n")
}

/// The `Streams` property as JSON: stream name → its dictionary.
async fn streams(rig: &Rig) -> serde_json::Value {
    let s = rig.manager().await.streams().await.unwrap();
    let d: std::collections::HashMap<&str, Value<'_>> =
        s.iter().map(|(k, v)| (k.as_str(), Value::from(v.clone()))).collect();
    otapush::ctl::bus::to_json(&Value::from(d))
}

async fn wait_stream(rig: &Rig, name: &str, key: &str, want: &str) {
    let deadline = tokio::time::Instant::now() + GUARD;
    loop {
        let s = streams(rig).await;
        if s[name][key] == want {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "Streams[{name}][{key}] never became {want:?}: {s}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Receives one event, checks where it came from, acknowledges it; gives its EventId.
async fn event(agent: &mut Agent, source: &str, data: &str) -> String {
    let d = agent.next().await;
    assert_eq!(d.meta_str("Source"), Some(source), "event {:?}", d.meta_str("EventId"));
    assert_eq!(d.meta_str("ApplicationId"), Some(TICKER));
    assert_eq!(d.meta_str("Stream"), Some("ticker"));
    assert_eq!(d.meta_str("EventType"), Some("tick"));
    assert_eq!(String::from_utf8_lossy(&d.body), data);
    let id = d.meta_str("EventId").unwrap_or_default().to_string();
    d.ack();
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_switch_between_http_and_sms_and_back_exactly_once() {
    let rig = Rig::new().await;
    let mut origin = Origin::start().await;
    let base = format!(
        "[bearer]\nmode = \"external\"\n\n{}",
        stream_section("ticker", &origin.url("/ticker"), TICKER)
    );
    let daemon = rig.daemon("sim", 25, &base).await;
    let manager = rig.manager().await;
    let mut agent = Agent::new(rig.address(), "ticker").await;
    agent.register(&[("ApplicationId", Value::from(TICKER))]).await;
    assert_eq!(manager.bearer_state().await.unwrap(), "down");
    wait_stream(&rig, "ticker", "State", "idle").await;
    assert!(origin.try_next().is_none(), "no connection while the bearer is down");

    // Bearer up: events 1-3 over HTTP.
    manager.set_bearer_state("up").await.unwrap();
    let mut first = origin.next().await;
    assert_eq!((first.method.as_str(), first.path.as_str()), ("GET", "/ticker"));
    assert_eq!(first.header("accept"), Some("text/event-stream"));
    assert_eq!(first.header("last-event-id"), None, "nothing seen yet");
    first.open_stream().await;
    for (id, data) in [("1", "one"), ("2", "two"), ("3", "three")] {
        first.event(id, "tick", data).await;
    }
    let mut seen = Vec::new();
    for data in ["one", "two", "three"] {
        seen.push(event(&mut agent, "sse", data).await);
    }
    wait_stream(&rig, "ticker", "State", "connected").await;
    wait_stream(&rig, "ticker", "LastEventId", "3").await;

    // Bearer down: the stream closes; events 4-5 come by WAP Push through the modem.
    manager.set_bearer_state("down").await.unwrap();
    assert!(first.closed_by_client().await, "the stream must close when the bearer goes down");
    wait_stream(&rig, "ticker", "State", "idle").await;
    let body = "id: 4\nevent: tick\ndata: four\n\nid: 5\nevent: tick\ndata: five\n\n";
    network_sends(&rig.simulator().await, &push_pdus(Some(TICKER), "text/event-stream", body.as_bytes(), 5))
        .await;
    for data in ["four", "five"] {
        seen.push(event(&mut agent, "sms", data).await);
    }
    wait_stream(&rig, "ticker", "LastEventId", "5").await;
    assert!(origin.try_next().is_none(), "no connection while the bearer is down");

    // Bearer up: the client resumes from 5; the origin replays 4-6; only 6 is new.
    manager.set_bearer_state("up").await.unwrap();
    let mut second = origin.next().await;
    assert_eq!(second.header("last-event-id"), Some("5"));
    second.open_stream().await;
    for (id, data) in [("4", "four"), ("5", "five"), ("6", "six")] {
        second.event(id, "tick", data).await;
    }
    seen.push(event(&mut agent, "sse", "six").await);
    agent.quiet(Duration::from_millis(500)).await;
    assert_eq!(seen, ["1", "2", "3", "4", "5", "6"]);
    wait_stream(&rig, "ticker", "LastEventId", "6").await;
    let s = streams(&rig).await;
    assert_eq!(s["ticker"]["Url"], origin.url("/ticker"));
    assert_eq!(s["ticker"]["ApplicationId"], TICKER);
    assert_eq!(s["ticker"]["Connects"], 2, "{s}");

    // SIGHUP with a second stream: it starts; the ticker's connection is left alone.
    let mut news = Agent::new(rig.address(), "news").await;
    news.register(&[("ApplicationId", Value::from(NEWS))]).await;
    let with_news = format!("{base}{}", stream_section("news", &origin.url("/news"), NEWS));
    daemon.rewrite_config(&config_text("sim", rig.address(), &rig.state, 25, &with_news));
    daemon.signal(libc::SIGHUP);
    let mut third = origin.next().await;
    assert_eq!(third.path, "/news");
    third.open_stream().await;
    third.event("n1", "headline", "rates unchanged").await;
    let d = news.next().await;
    assert_eq!(
        (d.meta_str("Stream"), d.meta_str("EventId"), d.meta_str("Source")),
        (Some("news"), Some("n1"), Some("sse"))
    );
    d.ack();
    wait_stream(&rig, "news", "State", "connected").await;
    assert!(second.still_open(Duration::from_millis(300)).await, "the unchanged ticker stream was restarted");

    // SIGHUP without it: the news stream stops and leaves the property.
    daemon.rewrite_config(&config_text("sim", rig.address(), &rig.state, 25, &base));
    daemon.signal(libc::SIGHUP);
    assert!(third.closed_by_client().await, "a removed stream must close its connection");
    eventually("the news stream to leave Streams", || async { streams(&rig).await.get("news").is_none() })
        .await;
    assert!(origin.try_next().is_none(), "nothing reconnected");
    agent.quiet(Duration::from_millis(200)).await;
}

/// The daemon with `extra` config and a `[store] max_queued_messages` cap.
async fn daemon_with_cap(rig: &Rig, cap: usize, extra: &str) -> Daemon {
    let text = config_text("sim", rig.address(), &rig.state, 25, extra)
        .replace("[store]\n", &format!("[store]\nmax_queued_messages = {cap}\n"));
    let mut d = Daemon::start(rig.address(), rig.dir.path(), &rig.state, &text);
    d.ready(&rig.conn, true).await;
    d
}

/// Issue 12 item 7: an origin floods 8 KiB events at a daemon whose queues hold 8 messages,
/// while the agent holds its first `Deliver`. The daemon must stop reading the body (the
/// origin's writes block) instead of dropping the oldest queued events; once the agent
/// acknowledges, every event arrives exactly once, in order, and Last-Event-ID is the last one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_into_full_queues_is_slowed_down_not_dropped() {
    const CAP: usize = 8;
    /// The client took nothing for this long: it stopped reading.
    const STALL: Duration = Duration::from_secs(1);
    /// The origin gives up here if the client never stopped reading (about 48 MiB).
    const MAX_EVENTS: usize = 6_000;
    let rig = Rig::new().await;
    let mut origin = Origin::start().await;
    let extra = format!(
        "[bearer]\nmode = \"external\"\n\n{}",
        stream_section("ticker", &origin.url("/ticker"), TICKER)
    );
    let daemon = daemon_with_cap(&rig, CAP, &extra).await;
    let manager = rig.manager().await;
    let mut agent = Agent::new(rig.address(), "ticker").await;
    agent.register(&[("ApplicationId", Value::from(TICKER))]).await;
    manager.set_bearer_state("up").await.unwrap();
    let mut x = origin.next().await;
    x.open_stream().await;

    let pad = "p".repeat(8 * 1024);
    let (stalled_tx, stalled_rx) = tokio::sync::oneshot::channel::<usize>();
    let flood = tokio::spawn(async move {
        let mut stalled_tx = Some(stalled_tx);
        let mut sent = 0;
        while sent < MAX_EVENTS {
            sent += 1;
            let text = format!("id: {sent}\nevent: tick\ndata: {sent} {pad}\n\n");
            if x.send_watching(text.as_bytes(), STALL).await {
                if let Some(tx) = stalled_tx.take() {
                    let _ = tx.send(sent);
                }
                // Blocked once: finish this event and stop.
                break;
            }
        }
        (x, sent)
    });

    // The first event reaches the agent, which holds it unanswered.
    let first = agent.next().await;
    let first_id: usize = first.meta_str("EventId").unwrap().parse().unwrap();
    let stalled_at = tokio::select! {
        r = stalled_rx => r.ok(),
        _ = tokio::time::sleep(GUARD) => None,
    };
    let queued: u32 = manager
        .list_registrations()
        .await
        .unwrap()
        .iter()
        .filter_map(|(_, d)| u32::try_from(d.get("Queued")?).ok())
        .sum();
    let released = std::time::Instant::now();
    first.ack();
    let mut ids = vec![first_id];
    let mut flood = flood;
    let mut sent: Option<usize> = None;
    // Kept open: a close would make the client reconnect.
    let mut _origin_side = None;
    while sent.is_none_or(|s| ids.last().is_none_or(|&l| l < s)) {
        tokio::select! {
            r = &mut flood, if sent.is_none() => {
                let (x, n) = r.unwrap();
                _origin_side = Some(x);
                sent = Some(n);
            }
            d = agent.next() => {
                let id: usize = d.meta_str("EventId").unwrap().parse().unwrap();
                let body = String::from_utf8_lossy(&d.body).into_owned();
                assert!(body.starts_with(&format!("{id} ")), "event {id} carried {body:.20}");
                d.ack();
                ids.push(id);
            }
        }
    }
    let sent = sent.unwrap_or_default();
    let drain = released.elapsed();
    agent.quiet(Duration::from_millis(300)).await;
    let distinct: std::collections::BTreeSet<usize> = ids.iter().copied().collect();
    let t = Tally {
        sent,
        delivered: distinct.len(),
        duplicated: ids.len() - distinct.len(),
        lost: sent - distinct.iter().filter(|&&i| i <= sent).count(),
        ..Tally::default()
    };
    report_with(
        "sse_flood_full_queue",
        &t,
        0,
        &format!(
            "cap={CAP} stalled_at={stalled_at:?} queued_while_blocked={queued} drain_ms={}",
            drain.as_millis()
        ),
    );
    assert_eq!((t.lost, t.duplicated), (0, 0), "{t:?}\n{}", daemon.log_tail(20));
    assert_eq!(ids, (1..=sent).collect::<Vec<_>>(), "in order");
    assert!(stalled_at.is_some(), "the origin was never blocked: the client read {sent} events regardless");
    assert!(queued as usize <= CAP, "{queued} queued over the cap {CAP}");
    wait_stream(&rig, "ticker", "LastEventId", &sent.to_string()).await;
}

/// Issue 12 item 8: an event whose block repeats the previous event's `id` is the same event:
/// one delivery, one message id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_explicit_event_id_twice_is_delivered_once() {
    let rig = Rig::new().await;
    let mut origin = Origin::start().await;
    let extra = format!(
        "[bearer]\nmode = \"external\"\n\n{}",
        stream_section("ticker", &origin.url("/ticker"), TICKER)
    );
    let daemon = rig.daemon("sim", 25, &extra).await;
    let manager = rig.manager().await;
    let mut agent = Agent::new(rig.address(), "ticker").await;
    agent.register(&[("ApplicationId", Value::from(TICKER))]).await;
    manager.set_bearer_state("up").await.unwrap();
    let mut x = origin.next().await;
    x.open_stream().await;
    x.event("x", "tick", "once").await;
    x.event("x", "tick", "once").await;
    // An event without an id field inherits "x" but is a new event.
    x.send("event: tick\ndata: inherited\n\n").await;
    x.event("y", "tick", "after").await;
    let mut got = Vec::new();
    for _ in 0..3 {
        let d = agent.next().await;
        got.push((d.meta_str("EventId").unwrap().to_string(), String::from_utf8_lossy(&d.body).into_owned()));
        d.ack();
    }
    agent.quiet(Duration::from_millis(300)).await;
    let want = [("x", "once"), ("x", "inherited"), ("y", "after")];
    assert_eq!(
        got.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect::<Vec<_>>(),
        want,
        "{}",
        daemon.log_tail(10)
    );
}
