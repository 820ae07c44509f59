//! The event-stream client (WHATWG HTML §9.2) against servers nobody here wrote, on 127.0.0.1:
//! sse-starlette served by uvicorn (Python ASGI; lines end in CRLF, chunked bodies, `: ping`
//! comments) and sse-channel on node:http (its history replays after `Last-Event-ID`). The test
//! plays the daemon: it reads the events channel and moves the shared last-event-id watch.
//! Every failure message carries a few bytes the peer actually sent.
#![cfg(feature = "sse-http")]

mod peers;

use otapush::config::{OnServerError, SseConfig};
use otapush::sse::{spawn_stream_with, StreamEvent, StreamHandle, StreamOptions, StreamStatus};
use peers::{body, show, wire, Peer, GUARD};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

fn config(url: String) -> SseConfig {
    SseConfig {
        name: "peer".into(),
        url,
        application_id: "x-oma-application:sse.peer".into(),
        ca_file: None,
        on_server_error: OnServerError::Backoff,
        idle_timeout: 30,
        max_event_bytes: 1 << 20,
    }
}

/// Production tuning (1 s before any `retry:`), a fixed jitter seed.
fn production() -> StreamOptions {
    StreamOptions { seed: 11, ..StreamOptions::default() }
}

/// The daemon's side of one stream.
struct Client {
    events: mpsc::Receiver<StreamEvent>,
    status: watch::Receiver<StreamStatus>,
    last_id: watch::Sender<String>,
    _bearer: watch::Sender<bool>,
    _handle: StreamHandle,
}

impl Client {
    fn start(cfg: SseConfig, opts: StreamOptions) -> Client {
        let (events_tx, events) = mpsc::channel(8);
        let (status_tx, status) = watch::channel(StreamStatus::default());
        let (last_id, last_id_rx) = watch::channel(String::new());
        let (bearer, bearer_rx) = watch::channel(true);
        let handle =
            spawn_stream_with(cfg.stream_settings(), opts, last_id_rx, bearer_rx, events_tx, status_tx);
        Client { events, status, last_id, _bearer: bearer, _handle: handle }
    }

    /// The next event as (id, type, data); moves the last event id as the daemon does after
    /// delivery.
    async fn event(&mut self, peer: &Peer, wire: &[u8]) -> (String, String, String) {
        let ev = match tokio::time::timeout(GUARD, self.events.recv()).await {
            Ok(Some(ev)) => ev,
            _ => panic!(
                "no event; status {:?}; {}; on the wire: {}",
                *self.status.borrow(),
                peer.diagnostics(),
                show(wire)
            ),
        };
        self.last_id.send_replace(ev.event.id.clone());
        (ev.event.id, ev.event.event_type, ev.event.data)
    }

    fn status(&self) -> StreamStatus {
        self.status.borrow().clone()
    }
}

fn tick(id: u32, data: &str) -> (String, String, String) {
    (id.to_string(), "tick".to_string(), data.to_string())
}

/// What the Python peer sends for event `id`: two data lines.
fn starlette_event(id: u32) -> (String, String, String) {
    tick(id, &format!("event {id}\nsecond line"))
}

#[tokio::test]
async fn starlette_crlf_lines_parse_as_lf_and_cr_do() {
    let mut peer = Peer::starlette().await;
    // On the wire: chunked HTTP/1.1, every line of every event ended by CRLF.
    let raw = wire(peer.port, "/events?count=2", None, b"\r\n0\r\n\r\n", GUARD);
    let event1 = b"id: 1\r\nevent: tick\r\ndata: event 1\r\ndata: second line\r\n\r\n";
    assert!(body(&raw).windows(event1.len()).any(|w| w == event1), "not CRLF: {}", show(&raw));
    let bare_lf = raw.windows(2).filter(|w| w[1] == b'\n' && w[0] != b'\r').count();
    assert_eq!(bare_lf, 0, "a line ended by LF alone: {}", show(&raw));
    assert!(show(&raw).to_lowercase().contains("transfer-encoding: chunked"), "{}", show(&raw));
    peer.expect("end").await;

    // The same events whatever ends the lines: CRLF (the default), LF, CR. Each is out as soon
    // as its blank line is in, while the server holds the next one back for 20 s: a line end at
    // the end of a chunk (CR, maybe half a CRLF) does not wait for the next chunk.
    for sep in ["", "&sep=lf", "&sep=cr"] {
        let raw = wire(peer.port, &format!("/events?count=3{sep}"), None, b"\r\n0\r\n\r\n", GUARD);
        let path = format!("/events?count=3&hold=20{sep}");
        let mut c = Client::start(config(peer.url(&path)), production());
        for id in 1..=2 {
            let ev = tokio::time::timeout(Duration::from_secs(10), c.event(&peer, &raw)).await;
            let ev = ev.unwrap_or_else(|_| panic!("sep {sep:?}: event {id} held back; {}", show(&raw)));
            assert_eq!(ev, starlette_event(id), "sep {sep:?}");
        }
        let s = c.status();
        assert_eq!((s.events, s.oversized, s.connects), (2, 0, 1), "sep {sep:?}: {s:?}");
    }
}

#[tokio::test]
async fn starlette_retry_sets_the_reconnect_delay_and_the_resume_continues_after_the_last_id() {
    const RETRY: u64 = 2000;
    let mut peer = Peer::starlette().await;
    let path = format!("/events?count=2&retry={RETRY}");
    let raw = wire(peer.port, &path, None, b"\r\n0\r\n\r\n", GUARD);
    let field = b"retry: 2000\r\n\r\n";
    assert!(body(&raw).windows(field.len()).any(|w| w == field), "{}", show(&raw));
    peer.expect("connect").await;
    peer.expect("end").await;

    let mut c = Client::start(config(peer.url(&path)), production());
    assert_eq!(peer.expect("connect").await.word(2), "-");
    for id in 1..=2 {
        assert_eq!(c.event(&peer, &raw).await, starlette_event(id));
    }
    let ended = peer.expect("end").await.ms(1);
    // The stream ended after event 2: the client waits the server's 2 s (not its own 1 s),
    // plus at most 50 % jitter, and resumes after id 2.
    let again = peer.expect("connect").await;
    assert_eq!(again.word(2), "2", "{}", peer.diagnostics());
    let waited = again.ms(1).saturating_sub(ended);
    assert!(
        (RETRY..=RETRY * 3 / 2 + 1500).contains(&waited),
        "reconnected after {waited} ms; {}",
        show(&raw)
    );
    for id in 3..=4 {
        assert_eq!(c.event(&peer, &raw).await, starlette_event(id), "no gap, no duplicate");
    }
    let s = c.status();
    assert_eq!((s.retry_ms, s.connects, s.errors), (Some(RETRY), 2, 0), "{s:?}");
}

#[tokio::test]
async fn starlette_pings_keep_the_stream_up_and_make_no_events() {
    let mut peer = Peer::starlette().await;
    let raw = wire(peer.port, "/events?count=2&hold=0.5&ping=0.2", None, b"\r\n0\r\n\r\n", GUARD);
    assert!(body(&raw).windows(9).any(|w| w == b": ping - "), "no ping comment: {}", show(&raw));
    peer.expect("end").await;

    // 3 s between two events with a 1 s idle timeout: only the 0.25 s pings keep it up.
    let path = "/events?count=2&hold=3&ping=0.25";
    let mut cfg = config(peer.url(path));
    cfg.idle_timeout = 1;
    let mut c = Client::start(cfg, production());
    assert_eq!(c.event(&peer, &raw).await, starlette_event(1));
    assert_eq!(c.event(&peer, &raw).await, starlette_event(2));
    let s = c.status();
    assert_eq!((s.connects, s.errors, s.events), (1, 0, 2), "{s:?}; {}", peer.diagnostics());
    // Up to the end of the client's stream: the wire capture's connection and one more.
    peer.expect("end").await;
    let log = peer.log.lock().unwrap().clone();
    let ends: Vec<usize> = (0..log.len()).filter(|&i| log[i].starts_with("end")).collect();
    let connects = log[..ends[1]].iter().filter(|l| l.starts_with("connect")).count();
    assert_eq!(connects, 2, "{}", peer.diagnostics());
}

#[tokio::test]
async fn sse_channel_replays_its_history_after_last_event_id_with_no_gap_and_no_duplicate() {
    let mut peer = Peer::sse_channel(300, 20_000).await;
    let pre = wire(peer.port, "/events", None, b"retry: 300\n", GUARD);
    assert_eq!(body(&pre), b":ok\n\nretry: 300\n", "{}", show(&pre));
    peer.expect("closed").await;
    let mut c = Client::start(config(peer.url("/events")), production());
    assert_eq!(peer.expect("connect").await.word(2), "-");
    let mut seen = Vec::new();
    peer.command(&["send 1 one", "send 2 two", "send 3 three"]);
    for _ in 1..=3 {
        seen.push(c.event(&peer, &pre).await);
    }

    // A clean end mid-stream; 4-6 published while nobody is connected: only the replay after
    // Last-Event-ID 3 can bring them.
    peer.command(&["end", "send 4 four", "send 5 five", "send 6 six"]);
    assert_eq!(peer.expect("ended").await.word(2), "1");
    for id in ["4", "5", "6"] {
        let sent = peer.expect("sent").await;
        assert_eq!((sent.word(1), sent.word(3)), (id, "0"), "{}", peer.diagnostics());
    }
    assert_eq!(peer.expect("connect").await.word(2), "3");
    for _ in 4..=6 {
        seen.push(c.event(&peer, &pre).await);
    }
    peer.command(&["send 7 seven", "send 8 eight"]);
    for _ in 7..=8 {
        seen.push(c.event(&peer, &pre).await);
    }

    // Broken in the middle of event 9 (its id line already sent): the half event is dropped and
    // the client resumes from 8, the last id it dispatched, so the replay brings 9 whole.
    peer.command(&["break 9 nine-broken", "send 9 nine"]);
    assert_eq!(peer.expect("broken").await.word(1), "1");
    assert_eq!(peer.expect("sent").await.word(3), "0", "{}", peer.diagnostics());
    assert_eq!(peer.expect("connect").await.word(2), "8", "{}", peer.diagnostics());
    seen.push(c.event(&peer, &pre).await);
    peer.command(&["send 10 ten"]);
    seen.push(c.event(&peer, &pre).await);

    let words = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"];
    let want: Vec<_> = (1..=10).zip(words).map(|(id, w)| tick(id, w)).collect();
    // What a replay looks like on the wire.
    let raw = wire(peer.port, "/events", Some("8"), b"data: ten\n\n", GUARD);
    assert_eq!(seen, want, "on the wire after Last-Event-ID 8: {}", show(&raw));
    assert!(body(&raw).starts_with(b":ok\n\nretry: 300\n"), "{}", show(&raw));
    let s = c.status();
    assert_eq!((s.connects, s.errors, s.events), (3, 1, 10), "{s:?}");
}

#[tokio::test]
async fn sse_channel_retry_sets_the_reconnect_delay_and_its_pings_keep_the_stream_up() {
    const RETRY: u64 = 2500;
    let mut peer = Peer::sse_channel(RETRY, 200).await;
    let raw = wire(peer.port, "/events", None, b"\n:\n", GUARD);
    assert!(body(&raw).starts_with(b":ok\n\nretry: 2500\n"), "{}", show(&raw));
    peer.expect("connect").await;

    let mut cfg = config(peer.url("/events"));
    cfg.idle_timeout = 1;
    let mut c = Client::start(cfg, production());
    assert_eq!(peer.expect("connect").await.word(2), "-");
    peer.command(&["send 1 one"]);
    assert_eq!(c.event(&peer, &raw).await, tick(1, "one"));
    // Pacing the server, not an assertion: 2.5 s of pings only, over a 1 s idle timeout.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    peer.command(&["send 2 two"]);
    assert_eq!(c.event(&peer, &raw).await, tick(2, "two"));
    let s = c.status();
    assert_eq!((s.connects, s.errors, s.events), (1, 0, 2), "{s:?}; {}", peer.diagnostics());

    // The channel's 2.5 s, not the client's own 1 s, plus at most 50 % jitter.
    peer.command(&["end"]);
    let ended = peer.expect("ended").await.ms(1);
    let again = peer.expect("connect").await;
    assert_eq!(again.word(2), "2");
    let waited = again.ms(1).saturating_sub(ended);
    assert!(
        (RETRY..=RETRY * 3 / 2 + 1500).contains(&waited),
        "reconnected after {waited} ms; {}",
        show(&raw)
    );
    assert_eq!(c.status().retry_ms, Some(RETRY));
}
