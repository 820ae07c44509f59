//! The event-stream client against a real HTTP/1.1 server on 127.0.0.1 (plain and TLS with a
//! CA made at test time), written by hand on std threads so that every status, header, delay and
//! close is under the test's control. The test plays the daemon: it reads the events channel and
//! moves the shared last-event-id watch.
#![cfg(feature = "sse-http")]

use otapush::config::{OnServerError, SseConfig};
use otapush::sse::policy::Tuning;
use otapush::sse::{
    spawn_stream_with, SseError, StreamEvent, StreamHandle, StreamOptions, StreamState, StreamStatus,
};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// A failure guard, never a pacing assumption.
const GUARD: Duration = Duration::from_secs(20);

#[derive(Debug, Clone)]
struct Req {
    /// Connection number, from 0.
    n: usize,
    at: Instant,
    path: String,
    headers: HashMap<String, String>,
}

impl Req {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

type Script = dyn Fn(&Req, &mut dyn Write) + Send + Sync;

struct Server {
    addr: SocketAddr,
    reqs: mpsc::UnboundedReceiver<Req>,
}

impl Server {
    /// Serves each connection on its own thread: reads one request head, logs it, and lets
    /// `script` write the response; the connection closes when `script` returns.
    fn start(
        tls: Option<Arc<rustls::ServerConfig>>,
        script: impl Fn(&Req, &mut dyn Write) + Send + Sync + 'static,
    ) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, reqs) = mpsc::unbounded_channel();
        let script: Arc<Script> = Arc::new(script);
        std::thread::spawn(move || {
            for (n, tcp) in listener.incoming().enumerate() {
                let Ok(tcp) = tcp else { continue };
                let (tx, script, tls) = (tx.clone(), script.clone(), tls.clone());
                std::thread::spawn(move || match tls {
                    None => serve(n, tcp, &tx, &*script),
                    Some(cfg) => {
                        let conn = rustls::ServerConnection::new(cfg).unwrap();
                        serve(n, rustls::StreamOwned::new(conn, tcp), &tx, &*script)
                    }
                });
            }
        });
        Server { addr, reqs }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn next(&mut self) -> Req {
        tokio::time::timeout(GUARD, self.reqs.recv()).await.expect("no request in time").unwrap()
    }
}

fn serve<S: Read + Write>(n: usize, mut s: S, tx: &mpsc::UnboundedSender<Req>, script: &Script) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(k) => head.extend_from_slice(&buf[..k]),
        }
    }
    let at = Instant::now();
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let path = lines.next().unwrap_or("").split(' ').nth(1).unwrap_or("").to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let req = Req { n, at, path, headers };
    let _ = tx.send(req.clone());
    script(&req, &mut s);
    let _ = s.flush();
}

/// Writes a response head (close-delimited body) and `body`.
fn respond(w: &mut dyn Write, status: &str, headers: &[(&str, &str)], body: &[u8]) {
    let mut head = format!("HTTP/1.1 {status}\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    let _ = w.write_all(head.as_bytes());
    let _ = w.write_all(body);
    let _ = w.flush();
}

fn stream_head(w: &mut dyn Write, body: &[u8]) {
    respond(w, "200 OK", &[("Content-Type", "text/event-stream; charset=utf-8")], body);
}

fn empty(w: &mut dyn Write, status: &str) {
    respond(w, status, &[("Content-Length", "0")], b"");
}

/// Keeps the connection open with a comment every 20 ms until the client goes away (or the
/// guard runs out); returns when the client closed it.
fn hold(w: &mut dyn Write) -> bool {
    let end = Instant::now() + GUARD;
    while Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
        if w.write_all(b":\n").and_then(|_| w.flush()).is_err() {
            return true;
        }
    }
    false
}

fn config(url: String, on_server_error: OnServerError) -> SseConfig {
    SseConfig {
        name: "t".into(),
        url,
        application_id: "x-oma-application:sse.test".into(),
        ca_file: None,
        on_server_error,
        idle_timeout: 30,
        max_event_bytes: 1 << 20,
    }
}

/// Fast but real backoff: 50 ms doubling, floor 10 ms.
fn fast() -> StreamOptions {
    StreamOptions {
        tuning: Tuning { initial_ms: 50, min_ms: 10, max_ms: 5000 },
        seed: 7,
        ..StreamOptions::default()
    }
}

/// The daemon's side of one stream.
struct Client {
    events: mpsc::Receiver<StreamEvent>,
    status: watch::Receiver<StreamStatus>,
    last_id: watch::Sender<String>,
    bearer: watch::Sender<bool>,
    handle: StreamHandle,
}

impl Client {
    fn start(cfg: SseConfig, opts: StreamOptions, bearer_up: bool) -> Client {
        let (events_tx, events) = mpsc::channel(8);
        let (status_tx, status) = watch::channel(StreamStatus::default());
        let (last_id, last_id_rx) = watch::channel(String::new());
        let (bearer, bearer_rx) = watch::channel(bearer_up);
        let handle =
            spawn_stream_with(cfg.stream_settings(), opts, last_id_rx, bearer_rx, events_tx, status_tx);
        Client { events, status, last_id, bearer, handle }
    }

    /// Receives the next event and, like the daemon after delivery, moves the last event id.
    async fn event(&mut self) -> StreamEvent {
        let ev = tokio::time::timeout(GUARD, self.events.recv()).await.expect("no event in time").unwrap();
        self.last_id.send_replace(ev.event.id.clone());
        ev
    }

    async fn wait(&mut self, what: &str, f: impl FnMut(&StreamStatus) -> bool) -> StreamStatus {
        let got = match tokio::time::timeout(GUARD, self.status.wait_for(f)).await {
            Ok(s) => Some(s.unwrap().clone()),
            Err(_) => None,
        };
        got.unwrap_or_else(|| panic!("status never became {what}: {:?}", *self.status.borrow()))
    }

    /// The reason, as the `Streams` property shows it.
    async fn stopped(&mut self) -> String {
        let s = self.wait("stopped", |s| matches!(s.state, StreamState::Stopped { .. })).await;
        let StreamState::Stopped { reason } = s.state else { unreachable!() };
        // The task ends with the stream: nothing can reconnect any more.
        tokio::time::timeout(GUARD, async {
            while !self.handle.is_finished() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("task still running");
        reason.to_string()
    }
}

fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

#[tokio::test]
async fn reconnects_with_last_event_id_and_sends_the_eventsource_headers() {
    let mut server = Server::start(None, |req, w| match req.n {
        0 => stream_head(w, b"id: 1\ndata: a\n\nid: 2\ndata: b\n\n"),
        _ => {
            stream_head(w, b"data: c\n\n");
            hold(w);
        }
    });
    let mut c = Client::start(config(server.url("/events"), OnServerError::Backoff), fast(), true);
    let r0 = server.next().await;
    assert_eq!(r0.path, "/events");
    assert_eq!(r0.header("accept"), Some("text/event-stream"));
    assert_eq!(r0.header("cache-control"), Some("no-cache"));
    assert_eq!(r0.header("last-event-id"), None, "not sent while empty");
    let (a, b) = (c.event().await, c.event().await);
    assert_eq!((a.stream.as_str(), a.event.data.as_str(), a.event.id.as_str()), ("t", "a", "1"));
    assert_eq!((b.event.data.as_str(), b.event.id.as_str()), ("b", "2"));
    assert_eq!(b.event.event_type, "message");
    // The server closed after "b": the client reconnects and sends the shared last event id.
    let r1 = server.next().await;
    assert_eq!(r1.header("last-event-id"), Some("2"));
    let ev = c.event().await;
    assert_eq!((ev.event.data.as_str(), ev.event.id.as_str()), ("c", "2"), "the id carries over");
    let s = c.wait("connected", |s| s.state == StreamState::Connected && s.connects == 2).await;
    assert_eq!((s.events, s.attempts), (3, 2));
}

#[tokio::test]
async fn the_last_event_id_sent_is_the_shared_one_not_the_streams_own() {
    // The daemon moved the history (an event came by SMS meanwhile): the next connect sends it.
    let mut server = Server::start(None, |req, w| match req.n {
        0 => stream_head(w, b"id: 1\ndata: a\n\n"),
        _ => {
            stream_head(w, b"");
            hold(w);
        }
    });
    let mut c = Client::start(config(server.url("/"), OnServerError::Backoff), fast(), true);
    server.next().await;
    let ev = tokio::time::timeout(GUARD, c.events.recv()).await.unwrap().unwrap();
    assert_eq!(ev.event.id, "1");
    c.last_id.send_replace("5".into());
    assert_eq!(server.next().await.header("last-event-id"), Some("5"));
}

#[tokio::test]
async fn retry_field_sets_the_reconnection_time() {
    let closed = Arc::new(Mutex::new(None));
    let closed2 = closed.clone();
    let mut server = Server::start(None, move |req, w| match req.n {
        0 => {
            stream_head(w, b"retry: 600\ndata: x\n\n");
            *closed2.lock().unwrap() = Some(Instant::now());
        }
        _ => {
            stream_head(w, b"");
            hold(w);
        }
    });
    // Production tuning: the 600 ms from the server replace the initial 1 s.
    let opts = StreamOptions { seed: 3, ..StreamOptions::default() };
    let mut c = Client::start(config(server.url("/"), OnServerError::Backoff), opts, true);
    server.next().await;
    c.event().await;
    let r1 = server.next().await;
    let waited = ms(r1.at - closed.lock().unwrap().unwrap());
    assert!((600..=600 * 3 / 2 + 500).contains(&waited), "reconnected after {waited} ms");
    let s = c.wait("connected again", |s| s.connects == 2).await;
    assert_eq!(s.retry_ms, Some(600));
}

#[tokio::test]
async fn no_content_204_stops_for_good() {
    let mut server = Server::start(None, |_, w| empty(w, "204 No Content"));
    let mut c = Client::start(config(server.url("/"), OnServerError::Backoff), fast(), true);
    let reason = c.stopped().await;
    assert!(reason.contains("204"), "{reason}");
    server.next().await;
    assert!(server.reqs.try_recv().is_err(), "exactly one request");
}

#[tokio::test]
async fn client_errors_other_statuses_and_wrong_types_stop_the_stream() {
    type Case = (&'static str, fn(&mut dyn Write), &'static str);
    let cases: [Case; 6] = [
        ("404", |w| empty(w, "404 Not Found"), "404"),
        ("410", |w| empty(w, "410 Gone"), "410"),
        ("205", |w| empty(w, "205 Reset Content"), "205"),
        (
            "text/plain",
            |w| respond(w, "200 OK", &[("Content-Type", "text/plain")], b"data: x\n\n"),
            "text/plain",
        ),
        ("no type", |w| respond(w, "200 OK", &[], b"data: x\n\n"), "content type"),
        ("304", |w| empty(w, "304 Not Modified"), "304"),
    ];
    for (name, reply, expect) in cases {
        let mut server = Server::start(None, move |_, w| reply(w));
        let mut c = Client::start(config(server.url("/"), OnServerError::Backoff), fast(), true);
        let reason = c.stopped().await;
        assert!(reason.contains(expect), "{name}: {reason}");
        assert!(reason.contains("reloaded"), "{name}: {reason}");
        assert!(c.events.try_recv().is_err(), "{name}: no event from a failed response");
        server.next().await;
        assert!(server.reqs.try_recv().is_err(), "{name}: exactly one request");
    }
}

#[tokio::test]
async fn server_errors_back_off_exponentially_then_recover() {
    let mut server = Server::start(None, |req, w| {
        if req.n < 4 {
            empty(w, "500 Internal Server Error");
        } else {
            stream_head(w, b"data: ok\n\n");
            hold(w);
        }
    });
    let opts = StreamOptions { tuning: Tuning { initial_ms: 100, min_ms: 10, max_ms: 10_000 }, ..fast() };
    let mut c = Client::start(config(server.url("/"), OnServerError::Backoff), opts, true);
    let mut at = Vec::new();
    for _ in 0..5 {
        at.push(server.next().await.at);
    }
    for k in 1..5 {
        let gap = ms(at[k] - at[k - 1]);
        let nominal = 100u64 << (k - 1);
        assert!(gap >= nominal, "attempt {k}: {gap} ms < {nominal} ms");
        assert!(gap <= nominal * 3 / 2 + 500, "attempt {k}: {gap} ms, far over {nominal} ms");
    }
    assert_eq!(c.event().await.event.data, "ok");
    let s = c.wait("connected", |s| s.state == StreamState::Connected).await;
    assert_eq!((s.attempts, s.errors, s.connects), (5, 4, 1));
    assert_eq!(s.last_error, Some(SseError::Status(500)));
}

#[tokio::test]
async fn server_errors_stop_when_the_policy_says_stop() {
    let mut server = Server::start(None, |_, w| empty(w, "503 Service Unavailable"));
    let mut c = Client::start(config(server.url("/"), OnServerError::Stop), fast(), true);
    let reason = c.stopped().await;
    assert!(reason.contains("503") && reason.contains("on_server_error"), "{reason}");
    server.next().await;
    assert!(server.reqs.try_recv().is_err());
}

#[tokio::test]
async fn clean_eof_without_events_is_paced_never_a_tight_loop() {
    let mut server = Server::start(None, |_, w| stream_head(w, b": hello\n\n"));
    let c = Client::start(config(server.url("/"), OnServerError::Stop), fast(), true);
    let mut at = Vec::new();
    for _ in 0..5 {
        at.push(server.next().await.at);
    }
    for k in 1..5 {
        let gap = ms(at[k] - at[k - 1]);
        assert!(gap >= 50 << (k - 1), "attempt {k}: {gap} ms");
    }
    // A clean end is not a server error: even with on_server_error = "stop" it reconnects.
    let s = c.status.borrow().clone();
    assert!(!matches!(s.state, StreamState::Stopped { .. }), "{s:?}");
}

#[tokio::test]
async fn redirects_are_followed() {
    let port = Arc::new(AtomicUsize::new(0));
    let p = port.clone();
    let mut server = Server::start(None, move |req, w| {
        let port = p.load(Ordering::SeqCst);
        let to = |w: &mut dyn Write, status: &str, loc: String| {
            respond(w, status, &[("Location", &loc), ("Content-Length", "0")], b"")
        };
        match req.path.as_str() {
            "/start" => to(w, "302 Found", "/b".into()),
            "/b" => to(w, "307 Temporary Redirect", format!("http://127.0.0.1:{port}/c/x")),
            "/c/x" => to(w, "308 Permanent Redirect", "d".into()),
            "/c/d" => to(w, "301 Moved Permanently", format!("//127.0.0.1:{port}/e")),
            "/e" => to(w, "303 See Other", "/final".into()),
            "/final" => {
                stream_head(w, b"data: redirected\n\n");
                hold(w);
            }
            _ => empty(w, "404 Not Found"),
        }
    });
    port.store(server.addr.port() as usize, Ordering::SeqCst);
    let mut c = Client::start(config(server.url("/start"), OnServerError::Backoff), fast(), true);
    c.last_id.send_replace("9".into());
    assert_eq!(c.event().await.event.data, "redirected");
    let mut paths = Vec::new();
    for _ in 0..6 {
        let r = server.next().await;
        assert_eq!(r.header("accept"), Some("text/event-stream"), "{}", r.path);
        paths.push(r.path);
    }
    assert_eq!(paths, ["/start", "/b", "/c/x", "/c/d", "/e", "/final"]);
    let s = c.wait("connected", |s| s.state == StreamState::Connected).await;
    assert_eq!((s.attempts, s.errors), (1, 0), "redirects are one attempt");
}

#[tokio::test]
async fn redirect_limit_is_ten() {
    let mut server = Server::start(None, |_, w| {
        respond(w, "302 Found", &[("Location", "/again"), ("Content-Length", "0")], b"")
    });
    let mut c = Client::start(config(server.url("/"), OnServerError::Stop), fast(), true);
    let reason = c.stopped().await;
    assert!(reason.contains("more than 10 redirects"), "{reason}");
    for _ in 0..11 {
        server.next().await;
    }
    assert!(server.reqs.try_recv().is_err(), "the first request and ten redirects");
}

#[tokio::test]
async fn idle_timeout_reconnects_a_silent_stream() {
    let mut server = Server::start(None, |req, w| match req.n {
        0 => {
            stream_head(w, b"data: a\n\n");
            std::thread::sleep(Duration::from_secs(4));
        }
        _ => {
            stream_head(w, b"data: b\n\n");
            hold(w);
        }
    });
    let mut cfg = config(server.url("/"), OnServerError::Backoff);
    cfg.idle_timeout = 1;
    let mut c = Client::start(cfg, fast(), true);
    server.next().await;
    c.event().await;
    let got_a = Instant::now();
    let r1 = server.next().await;
    let after = ms(r1.at - got_a);
    assert!((1000..3000).contains(&after), "reconnected {after} ms after the last byte");
    assert_eq!(c.event().await.event.data, "b");
    let s = c.status.borrow().clone();
    assert!(matches!(s.last_error, Some(SseError::Idle(_))), "{s:?}");
}

#[tokio::test]
async fn comments_keep_a_stream_alive() {
    let mut server = Server::start(None, |req, w| match req.n {
        0 => {
            stream_head(w, b"");
            for _ in 0..8 {
                std::thread::sleep(Duration::from_millis(300));
                let _ = w.write_all(b": keep-alive\n").and_then(|_| w.flush());
            }
            let _ = w.write_all(b"data: end\n\n");
        }
        _ => {
            stream_head(w, b"");
            hold(w);
        }
    });
    let mut cfg = config(server.url("/"), OnServerError::Backoff);
    cfg.idle_timeout = 1;
    let mut c = Client::start(cfg, fast(), true);
    server.next().await;
    // 2.4 s of comments only, with a 1 s idle timeout: the stream stays up until "end".
    assert_eq!(c.event().await.event.data, "end");
    assert!(server.reqs.try_recv().is_err(), "no reconnect while comments flowed");
    assert_eq!(c.status.borrow().errors, 0);
}

#[tokio::test]
async fn oversized_events_are_dropped_and_the_stream_goes_on() {
    let mut server = Server::start(None, |_, w| {
        stream_head(w, b"");
        // 3 MiB over a 1 MiB cap, then an event just under the cap, then a small one.
        let _ = w.write_all(b"data: ");
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..48 {
            let _ = w.write_all(&chunk);
        }
        let _ = w.write_all(b"\n\ndata: ");
        let _ = w.write_all(&vec![b'y'; (1 << 20) - 10]);
        let _ = w.write_all(b"\n\ndata: small\n\n");
        hold(w);
    });
    let mut c = Client::start(config(server.url("/"), OnServerError::Backoff), fast(), true);
    let big = c.event().await;
    assert_eq!(big.event.data.len(), (1 << 20) - 10);
    assert!(big.event.data.bytes().all(|b| b == b'y'));
    assert_eq!(c.event().await.event.data, "small");
    let s = c.status.borrow().clone();
    assert_eq!((s.oversized, s.events, s.connects), (1, 2, 1));
    server.next().await;
}

#[tokio::test]
async fn a_slow_consumer_slows_the_stream_down() {
    const EVENTS: usize = 500;
    let written = Arc::new(AtomicUsize::new(0));
    let w2 = written.clone();
    let server = Server::start(None, move |_, w| {
        stream_head(w, b"");
        for i in 0..EVENTS {
            let ev = format!("id: {i}\ndata: {}\n\n", "z".repeat(64 * 1024));
            if w.write_all(ev.as_bytes()).is_err() {
                return;
            }
            w2.fetch_add(ev.len(), Ordering::SeqCst);
        }
        hold(w);
    });
    let mut c = Client::start(config(server.url("/"), OnServerError::Backoff), fast(), true);
    assert_eq!(c.event().await.event.id, "0");
    // Not reading for a while: the channel (8 events) fills, the client stops reading the body,
    // and the server's writes block once the socket buffers are full.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let sent = written.load(Ordering::SeqCst);
    assert!(sent < 16 << 20, "the server got {sent} bytes out of {} into the client", EVENTS * 64 * 1024);
    for i in 1..EVENTS {
        assert_eq!(c.event().await.event.id, i.to_string());
    }
}

#[tokio::test]
async fn bearer_down_closes_and_bearer_up_connects_at_once() {
    let (closed_tx, mut closed) = mpsc::unbounded_channel();
    let mut server = Server::start(None, move |req, w| {
        if req.n % 2 == 0 {
            stream_head(w, b"data: up\n\n");
            if hold(w) {
                let _ = closed_tx.send(req.n);
            }
        } else {
            empty(w, "500 Internal Server Error");
        }
    });
    // A one-minute backoff: only the bearer can bring the stream back quickly.
    let opts =
        StreamOptions { tuning: Tuning { initial_ms: 60_000, min_ms: 60_000, max_ms: 300_000 }, ..fast() };
    let mut c = Client::start(config(server.url("/"), OnServerError::Backoff), opts, true);
    // The first connection (its time includes loading the system roots at start).
    assert_eq!(server.next().await.n, 0);
    assert_eq!(c.event().await.event.data, "up");
    let mut latencies = Vec::new();
    for round in 0..5 {
        // Down: the connection closes and the stream idles.
        c.bearer.send_replace(false);
        let n = tokio::time::timeout(GUARD, closed.recv()).await.expect("connection not closed").unwrap();
        assert_eq!(n, 2 * round);
        c.wait("idle", |s| s.state == StreamState::Idle).await;
        // Up again, the server fails, the client backs off for a minute; a down/up cancels that.
        let t0 = Instant::now();
        c.bearer.send_replace(true);
        let r = server.next().await;
        latencies.push(r.at - t0);
        assert_eq!(r.n, 2 * round + 1);
        c.wait("backing off", |s| matches!(s.state, StreamState::BackingOff { .. })).await;
        c.bearer.send_replace(false);
        c.wait("idle", |s| s.state == StreamState::Idle).await;
        // Up: connect now.
        let t0 = Instant::now();
        c.bearer.send_replace(true);
        let r = server.next().await;
        latencies.push(r.at - t0);
        assert_eq!(r.n, 2 * round + 2);
        assert_eq!(c.event().await.event.data, "up");
    }
    eprintln!("bearer up → request at the server: {latencies:?}");
    latencies.sort();
    let median = latencies[latencies.len() / 2];
    assert!(median < Duration::from_millis(50), "median {median:?}");
    assert!(
        latencies.iter().all(|l| *l < Duration::from_secs(5)),
        "never waited for the backoff: {latencies:?}"
    );
}

#[tokio::test]
async fn bearer_down_at_start_means_no_connection() {
    let mut server = Server::start(None, |_, w| {
        stream_head(w, b"data: x\n\n");
        hold(w);
    });
    let mut c = Client::start(config(server.url("/"), OnServerError::Backoff), fast(), false);
    c.wait("idle", |s| s.state == StreamState::Idle).await;
    // Give a would-be connection every chance (the backoff is 50 ms), then check none came.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(server.reqs.try_recv().is_err());
    c.bearer.send_replace(true);
    server.next().await;
    assert_eq!(c.event().await.event.data, "x");
}

/// A CA and a server certificate for 127.0.0.1 signed by it.
fn test_pki() -> (String, Arc<rustls::ServerConfig>) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "otapush test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    (ca.pem(), Arc::new(server))
}

#[tokio::test]
async fn tls_with_a_ca_file() {
    let (ca_pem, tls) = test_pki();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    let mut server = Server::start(Some(tls), |req, w| match req.n {
        0 => stream_head(w, b"id: 1\ndata: secret\n\n"),
        _ => {
            stream_head(w, b"data: again\n\n");
            hold(w);
        }
    });
    let mut cfg = config(format!("https://127.0.0.1:{}/events", server.addr.port()), OnServerError::Backoff);
    cfg.ca_file = Some(ca_file);
    let mut c = Client::start(cfg, fast(), true);
    assert_eq!(c.event().await.event.data, "secret");
    assert_eq!(c.event().await.event.data, "again");
    server.next().await;
    assert_eq!(server.next().await.header("last-event-id"), Some("1"));
}

#[tokio::test]
async fn tls_without_the_ca_is_a_network_error() {
    let (_, tls) = test_pki();
    let mut server = Server::start(Some(tls), |_, w| stream_head(w, b"data: x\n\n"));
    let url = format!("https://127.0.0.1:{}/events", server.addr.port());
    // Backoff: the failure counts and the stream retries.
    let mut c = Client::start(config(url.clone(), OnServerError::Backoff), fast(), true);
    let s = c.wait("backing off", |s| matches!(s.state, StreamState::BackingOff { .. })).await;
    let Some(SseError::Network { reason, .. }) = s.last_error else { panic!("{s:?}") };
    assert!(reason.to_lowercase().contains("certificate"), "{reason}");
    assert_eq!(s.connects, 0);
    drop(c);
    // Stop: the stream stops.
    let mut c = Client::start(config(url, OnServerError::Stop), fast(), true);
    let reason = c.stopped().await;
    assert!(reason.to_lowercase().contains("certificate"), "{reason}");
    // The TLS handshake failed before any request was read.
    assert!(server.reqs.try_recv().is_err());
}

#[tokio::test]
async fn an_unreadable_ca_file_stops_the_stream() {
    let mut cfg = config("https://127.0.0.1:9/".into(), OnServerError::Backoff);
    cfg.ca_file = Some("/nonexistent/otapush-ca.pem".into());
    let mut c = Client::start(cfg, fast(), true);
    let reason = c.stopped().await;
    assert!(reason.contains("otapush-ca.pem"), "{reason}");
}

#[tokio::test]
async fn connection_refused_backs_off() {
    // A port nobody listens on: bind, note the port, close.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut c =
        Client::start(config(format!("http://127.0.0.1:{port}/"), OnServerError::Backoff), fast(), true);
    let s = c.wait("two errors", |s| s.errors >= 2).await;
    assert!(
        matches!(&s.last_error, Some(SseError::Network { reason, .. }) if reason.contains("onnect")),
        "{s:?}"
    );
    assert_eq!(s.connects, 0);
}
