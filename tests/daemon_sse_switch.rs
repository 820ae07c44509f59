//! Issue 5's acceptance scenario against the real daemon: an event stream from an HTTP origin on
//! 127.0.0.1 while the data bearer is up, the same stream's events by WAP Push through the
//! simulated modem while it is down, and the replay after it comes back: the client sees events
//! 1-6 once each, in order, with the right `Source` and `EventId`. Then a SIGHUP reload adds
//! (and removes) a stream without disturbing the running one.

use otapush_test_support::agents::*;
use otapush_test_support::daemon::*;
use otapush_test_support::eventually::*;
use otapush_test_support::faults::*;
use otapush_test_support::http::{Exchange, Origin};
use otapush_test_support::pdu::*;
use std::time::Duration;
use zbus::zvariant::Value;

const TICKER: &str = "x-oma-application:sse.ticker";
const NEWS: &str = "x-oma-application:sse.news";

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

/// The client took nothing for this long: it stopped reading.
const STALL: Duration = Duration::from_secs(1);
/// The origin gives up here if the client never stopped reading (about 48 MiB).
const MAX_EVENTS: usize = 6_000;

/// Event `n` of a flood: id `n`, data `n` and 8 KiB of padding.
fn flood_event(n: usize) -> String {
    format!("id: {n}\nevent: tick\ndata: {n} {}\n\n", "p".repeat(8 * 1024))
}

/// Writes flood events from 1 until a write stalls (the receiver gets the event number then),
/// finishes that event and gives the connection back with the number of events sent.
fn flood(
    mut x: Exchange,
) -> (tokio::task::JoinHandle<(Exchange, usize)>, tokio::sync::oneshot::Receiver<usize>) {
    let (stalled_tx, stalled_rx) = tokio::sync::oneshot::channel::<usize>();
    let task = tokio::spawn(async move {
        let mut stalled_tx = Some(stalled_tx);
        let mut sent = 0;
        while sent < MAX_EVENTS {
            sent += 1;
            let on_stall = || {
                if let Some(tx) = stalled_tx.take() {
                    let _ = tx.send(sent);
                }
            };
            if x.send_watching(flood_event(sent).as_bytes(), STALL, on_stall).await {
                break;
            }
        }
        (x, sent)
    });
    (task, stalled_rx)
}

/// Acknowledges deliveries (checking that each body belongs to its EventId) into `ids` until
/// event `last` has arrived.
async fn collect_until(agent: &mut Agent, ids: &mut Vec<usize>, last: usize) {
    while ids.last().is_none_or(|&l| l < last) {
        let d = agent.next().await;
        let id: usize = d.meta_str("EventId").unwrap().parse().unwrap();
        let body = String::from_utf8_lossy(&d.body).into_owned();
        assert!(body.starts_with(&format!("{id} ")), "event {id} carried {body:.20}");
        d.ack();
        ids.push(id);
    }
}

/// Awaits `until` while acknowledging deliveries into `ids` (see [`collect_until`]).
async fn acking_while<T>(
    agent: &mut Agent,
    ids: &mut Vec<usize>,
    until: impl std::future::Future<Output = T>,
) -> T {
    tokio::select! {
        r = until => r,
        () = collect_until(agent, ids, usize::MAX) => unreachable!("collects forever"),
    }
}

/// Sent, delivered, duplicated and lost of the events `1..=sent`, from the delivered ids.
fn flood_tally(sent: usize, ids: &[usize]) -> Tally {
    let distinct: std::collections::BTreeSet<usize> = ids.iter().copied().filter(|&i| i <= sent).collect();
    Tally {
        sent,
        delivered: distinct.len(),
        duplicated: ids.len() - distinct.len(),
        lost: sent - distinct.len(),
        ..Tally::default()
    }
}

/// A daemon with queue cap `cap`, its agent registered, and the first connection of the
/// ticker stream open.
async fn flood_rig(cap: usize) -> (Rig, Origin, Daemon, Agent, Exchange) {
    let rig = Rig::new().await;
    let mut origin = Origin::start().await;
    let extra = format!(
        "[bearer]\nmode = \"external\"\n\n{}",
        stream_section("ticker", &origin.url("/ticker"), TICKER)
    );
    let daemon = daemon_with_cap(&rig, cap, &extra).await;
    let agent = Agent::new(rig.address(), "ticker").await;
    agent.register(&[("ApplicationId", Value::from(TICKER))]).await;
    rig.manager().await.set_bearer_state("up").await.unwrap();
    let mut x = origin.next().await;
    x.open_stream().await;
    (rig, origin, daemon, agent, x)
}

/// Issue 12 item 7: an origin floods 8 KiB events at a daemon whose queues hold 8 messages,
/// while the agent holds its first `Deliver`. The daemon must stop reading the body (the
/// origin's writes block) instead of dropping the oldest queued events; once the agent
/// acknowledges, every event arrives exactly once, in order, and Last-Event-ID is the last one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_into_full_queues_is_slowed_down_not_dropped() {
    const CAP: usize = 8;
    let (rig, _origin, daemon, mut agent, x) = flood_rig(CAP).await;
    let (flood, stalled) = flood(x);
    // The first event reaches the agent, which holds it unanswered.
    let first = agent.next().await;
    let first_id: usize = first.meta_str("EventId").unwrap().parse().unwrap();
    let stalled_at = tokio::select! {
        r = stalled => r.ok(),
        _ = tokio::time::sleep(GUARD) => None,
    };
    let queued: u32 = rig
        .manager()
        .await
        .list_registrations()
        .await
        .unwrap()
        .iter()
        .filter_map(|(_, d)| u32::try_from(d.get("Queued")?).ok())
        .sum();
    let released = std::time::Instant::now();
    first.ack();
    let mut ids = vec![first_id];
    // Acknowledge until the flood has ended and its last event arrived.
    let (_x, sent) = acking_while(&mut agent, &mut ids, flood).await.unwrap();
    collect_until(&mut agent, &mut ids, sent).await;
    let drain = released.elapsed();
    agent.quiet(Duration::from_millis(300)).await;
    let t = flood_tally(sent, &ids);
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

/// Item 7 with a reconnect: the origin drops the connection while the client is paused. The
/// client reconnects with the Last-Event-ID of an event that is in the store (never one it
/// only read), the origin replays from there, and every event still arrives exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_cut_while_paused_resumes_from_the_last_committed_event() {
    const CAP: usize = 8;
    let (rig, mut origin, daemon, mut agent, x) = flood_rig(CAP).await;
    let (flood, stalled) = flood(x);
    let first = agent.next().await;
    let mut ids = vec![first.meta_str("EventId").unwrap().parse::<usize>().unwrap()];
    let stalled_at = tokio::time::timeout(GUARD, stalled).await.ok().and_then(Result::ok);
    // The origin stops here: what it wrote is in flight, and the connection closes after it.
    let last_id_before = streams(&rig).await["ticker"]["LastEventId"].as_str().unwrap_or("").to_string();
    first.ack();
    let (x, sent) = acking_while(&mut agent, &mut ids, flood).await.unwrap();
    drop(x);
    let cut = std::time::Instant::now();
    // The client drains what was in flight (the agent keeps acknowledging), sees the end of
    // the stream and reconnects.
    let mut second = acking_while(&mut agent, &mut ids, origin.next()).await;
    let reconnect = cut.elapsed();
    let resume: usize = second.header("last-event-id").expect("Last-Event-ID on reconnect").parse().unwrap();
    let committed: usize = last_id_before.parse().unwrap_or(0);
    assert!(
        resume >= committed && resume <= sent,
        "resumed from {resume}; committed {committed}, sent {sent}"
    );
    second.open_stream().await;
    // The origin replays everything after the resume point, then five new events.
    let total = sent + 5;
    for n in resume + 1..=total {
        second.send(&flood_event(n)).await;
    }
    let started = std::time::Instant::now();
    collect_until(&mut agent, &mut ids, total).await;
    agent.quiet(Duration::from_millis(300)).await;
    let t = flood_tally(total, &ids);
    report_with(
        "sse_flood_cut_while_paused",
        &t,
        0,
        &format!(
            "cap={CAP} stalled_at={stalled_at:?} resumed_from={resume} replayed={} reconnect_ms={} drain_ms={}",
            total - resume,
            reconnect.as_millis(),
            started.elapsed().as_millis()
        ),
    );
    assert_eq!((t.lost, t.duplicated), (0, 0), "{t:?}\n{}", daemon.log_tail(20));
    assert_eq!(ids, (1..=total).collect::<Vec<_>>(), "in order");
    assert!(stalled_at.is_some(), "the origin was never blocked");
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
