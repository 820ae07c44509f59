//! The EventSource endpoint's shell, started directly (no daemon) over a real SQLite store:
//! messages are committed and published through the hub as the daemon does, and read with real
//! HTTP clients (hyper's client, and curl from scripts/install-deps) over the Unix socket and
//! loopback TCP (docs/eventsource.md).
#![cfg(feature = "eventsource")]

use hyper::body::{Body, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use otapush::cai::access::{AccessPolicy, ResolveNss};
use otapush::config::{AccessRule, Config};
use otapush::eventsource::hub::HubLimits;
use otapush::eventsource::server::Settings;
use otapush::eventsource::{self, Hub, Tokens};
use otapush::message::{event_message_id, EventInfo, Kind, Message, Source};
use otapush::sse::{Event, Output, Parser};
use otapush::store::{Disposition, Limits, Outcome, QueueTarget, Store, UNCLAIMED};
use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

const TICKER: &str = "x-oma-application:sse.ticker";
const DM: &str = "x-wap-application:syncml.dm";
const MINE: &str = "x-oma-application:mine";
const ORIGIN: &str = "http://localhost:8000";
const WAIT: Duration = Duration::from_secs(10);

fn my_uid() -> u32 {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() }
}

struct Rig {
    dir: tempfile::TempDir,
    store: Store,
    hub: Hub,
    tokens: Arc<Tokens>,
    ep: eventsource::Endpoint,
    n: u32,
}

impl Rig {
    async fn start(limits: HubLimits) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let store =
            Store::open(&dir.path().join("state"), Limits { history_window: 100, ..Limits::default() })
                .unwrap();
        let hub = Hub::new(store.clone(), limits);
        let mut cfg = Config::default();
        cfg.access.rules = vec![
            AccessRule { application_id: DM.into(), users: vec!["65534".into()], ..Default::default() },
            AccessRule {
                application_id: MINE.into(),
                users: vec![my_uid().to_string()],
                ..Default::default()
            },
        ];
        let policy = Arc::new(AccessPolicy::resolve(&cfg.cai_settings().access));
        let tokens = Arc::new(Tokens::new(60_000));
        let settings = Settings {
            socket: Some(dir.path().join("run/events.sock")),
            tcp: Some("127.0.0.1:0".parse().unwrap()),
            allowed_origins: vec![ORIGIN.into()],
            heartbeat: Duration::from_millis(150),
            retry_ms: 1500,
            header_timeout: Duration::from_secs(2),
            max_connections: 32,
        };
        let ep = eventsource::spawn(settings, hub.clone(), policy, tokens.clone()).await.unwrap();
        Rig { dir, store, hub, tokens, ep, n: 0 }
    }

    fn socket(&self) -> PathBuf {
        self.ep.socket.clone().unwrap()
    }

    /// A new event for `app`, as the receive path builds one (by SMS or by the stream).
    fn event(&mut self, app: &str, source: Source, data: &str) -> Message {
        self.n += 1;
        let event_id = format!("e{}", self.n);
        Message {
            id: event_message_id(app, &event_id, ""),
            kind: Kind::WspPush,
            source,
            originator: "+491700000".into(),
            sent_time: None,
            received_time: "2026-01-01T00:00:00+00:00".into(),
            application_id: Some(app.into()),
            content_type: "text/event-stream".into(),
            content_type_params: BTreeMap::new(),
            headers: BTreeMap::new(),
            transaction_id: None,
            pdu_type: None,
            port: None,
            event: Some(EventInfo { stream: "ticker".into(), event_type: "quote".into(), event_id }),
            body: data.as_bytes().to_vec(),
        }
    }

    /// Commits as the daemon does, then publishes the new ones; gives the outcomes.
    fn deliver(&self, msgs: &[Message]) -> Vec<Outcome> {
        let q =
            || Disposition::Queue(vec![QueueTarget { registration: UNCLAIMED, expires_ms: u64::MAX / 4 }]);
        let batch: Vec<_> = msgs.iter().map(|m| (m, q())).collect();
        let out = self.store.commit_messages(&batch, &[], otapush::time::now_ms()).unwrap();
        let new: Vec<Message> =
            msgs.iter().zip(&out).filter(|(_, (_, o))| *o == Outcome::New).map(|(m, _)| m.clone()).collect();
        self.hub.publish(&new);
        out.into_iter().map(|(_, o)| o).collect()
    }
}

fn limits() -> HubLimits {
    HubLimits { max_subscribers: 16, max_per_uid: 8, buffer: 8 }
}

/// A reader of one event stream response.
struct Sse {
    head: hyper::http::response::Parts,
    body: Incoming,
    raw: Vec<u8>,
    parser: Parser,
    events: VecDeque<Event>,
}

impl Sse {
    fn new(r: Response<Incoming>) -> Sse {
        let (head, body) = r.into_parts();
        Sse {
            head,
            body,
            raw: Vec::new(),
            parser: Parser::new(otapush::sse::Limits::WAP_PUSH),
            events: VecDeque::new(),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.head.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Reads one more chunk; false at the end of the body.
    async fn read_chunk(&mut self) -> bool {
        loop {
            let frame = tokio::time::timeout(
                WAIT,
                std::future::poll_fn(|cx| Pin::new(&mut self.body).poll_frame(cx)),
            )
            .await
            .expect("the stream went quiet");
            let Some(frame) = frame else { return false };
            let Ok(data) = frame.unwrap().into_data() else { continue };
            self.raw.extend_from_slice(&data);
            let events = &mut self.events;
            self.parser.feed(&data, &mut |o| {
                if let Output::Event(e) = o {
                    events.push_back(e)
                }
            });
            return true;
        }
    }

    async fn next_event(&mut self) -> Event {
        while self.events.is_empty() {
            assert!(self.read_chunk().await, "the stream ended");
        }
        self.events.pop_front().unwrap()
    }
}

async fn send<S>(io: S, req: Request<String>) -> Response<Incoming>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut tx, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await.unwrap();
    tokio::spawn(conn);
    tx.send_request(req).await.unwrap()
}

fn get(target: &str, headers: &[(&str, &str)]) -> Request<String> {
    let mut b = Request::get(target).header("host", "localhost").header("accept", "text/event-stream");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(String::new()).unwrap()
}

async fn over_unix(rig: &Rig, req: Request<String>) -> Response<Incoming> {
    send(tokio::net::UnixStream::connect(rig.socket()).await.unwrap(), req).await
}

async fn over_tcp(rig: &Rig, req: Request<String>) -> Response<Incoming> {
    send(tokio::net::TcpStream::connect(rig.ep.tcp_addr.unwrap()).await.unwrap(), req).await
}

fn path(app: &str) -> String {
    format!("/v1/events/{}", app.replace(':', "%3A"))
}

#[tokio::test]
async fn backlog_then_live_events_in_one_order_once_with_retry_once_and_heartbeats() {
    let mut rig = Rig::start(limits()).await;
    let (e1, e2) = (rig.event(TICKER, Source::Sms, "one"), rig.event(TICKER, Source::Sse, "two\nlines"));
    assert_eq!(rig.deliver(&[e1.clone(), e2.clone()]), [Outcome::New, Outcome::New]);
    let mut s = Sse::new(over_unix(&rig, get(&path(TICKER), &[])).await);
    assert_eq!(s.head.status, 200);
    assert_eq!(s.header("content-type"), Some("text/event-stream"));
    let ev = s.next_event().await;
    assert_eq!((ev.id.as_str(), ev.event_type.as_str(), ev.data.as_str()), (e1.id.as_str(), "quote", "one"));
    assert_eq!(s.next_event().await.data, "two\nlines");
    // Live: one by the stream, one by SMS, and e2 again by SMS (the same event id, so the same
    // message id): it is a duplicate, and even published again it is not sent twice.
    let (e3, e4) = (rig.event(TICKER, Source::Sse, "three"), rig.event(TICKER, Source::Sms, "four"));
    let mut e2_sms = e2.clone();
    e2_sms.source = Source::Sms;
    assert_eq!(
        rig.deliver(&[e3.clone(), e2_sms.clone(), e4.clone()]),
        [Outcome::New, Outcome::Duplicate, Outcome::New]
    );
    rig.hub.publish(&[e2_sms, e3.clone()]);
    let other = rig.event("x-oma-application:other", Source::Sse, "not for this subscriber");
    rig.deliver(&[other]);
    let e5 = rig.event(TICKER, Source::Sse, "five");
    rig.deliver(std::slice::from_ref(&e5));
    let ids: Vec<String> =
        [s.next_event().await, s.next_event().await, s.next_event().await].map(|e| e.id).into();
    assert_eq!(ids, [e3.id, e4.id, e5.id]);
    // Idle: heartbeat comments.
    while !s.raw.ends_with(b"\n:\n") {
        assert!(s.read_chunk().await);
    }
    let raw = String::from_utf8_lossy(&s.raw);
    assert!(raw.starts_with("retry: 1500\n\n"), "{raw}");
    assert_eq!(raw.matches("retry:").count(), 1, "{raw}");
    assert!(raw.contains(&format!("id: {}\nevent: quote\ndata: two\ndata: lines\n\n", e2.id)), "{raw}");
}

#[tokio::test]
async fn resumes_after_last_event_id_from_header_or_query_and_replays_the_window_on_a_gap() {
    let mut rig = Rig::start(limits()).await;
    let evs: Vec<Message> = (0..4).map(|i| rig.event(TICKER, Source::Sse, &format!("d{i}"))).collect();
    rig.deliver(&evs);
    let mut s = Sse::new(over_unix(&rig, get(&path(TICKER), &[("last-event-id", &evs[1].id)])).await);
    assert_eq!(s.next_event().await.id, evs[2].id);
    assert_eq!(s.next_event().await.id, evs[3].id);
    let target = format!("{}?lastEventId={}", path(TICKER), evs[2].id);
    let mut s = Sse::new(over_tcp(&rig, get(&target, &[("origin", ORIGIN)])).await);
    assert_eq!(s.head.status, 200);
    assert_eq!(s.next_event().await.id, evs[3].id);
    // Then live, without a repeat.
    let e5 = rig.event(TICKER, Source::Sms, "live");
    rig.deliver(std::slice::from_ref(&e5));
    assert_eq!(s.next_event().await.id, e5.id);
    // An id the window does not hold: the whole window, after a gap comment.
    let mut s = Sse::new(over_unix(&rig, get(&path(TICKER), &[("last-event-id", "0123")])).await);
    assert_eq!(s.next_event().await.id, evs[0].id);
    assert!(String::from_utf8_lossy(&s.raw).contains("\n: gap"), "{:?}", String::from_utf8_lossy(&s.raw));
    // A backlog longer than a page (16 events) arrives whole, in order, then live events.
    let news = "x-oma-application:news";
    let many: Vec<Message> = (0..40).map(|i| rig.event(news, Source::Sms, &format!("n{i}"))).collect();
    rig.deliver(&many[..37]);
    let mut s = Sse::new(over_unix(&rig, get(&path(news), &[])).await);
    rig.deliver(&many[37..]);
    for m in &many {
        assert_eq!(s.next_event().await.id, m.id);
    }
    let last = rig.event(news, Source::Sse, "live");
    rig.deliver(std::slice::from_ref(&last));
    assert_eq!(s.next_event().await.id, last.id);
    // Per stream: `/<stream>`.
    let mut s = Sse::new(over_unix(&rig, get(&format!("{}/ticker", path(TICKER)), &[])).await);
    assert_eq!(s.next_event().await.id, evs[0].id);
    let s = Sse::new(over_unix(&rig, get(&format!("{}/news", path(TICKER)), &[])).await);
    assert_eq!(s.head.status, 200);
}

#[tokio::test]
async fn access_by_peer_uid_token_or_origin_with_cors() {
    let rig = Rig::start(limits()).await;
    // Unix: the [access] rule for DM names uid 65534 only; MINE names this uid.
    assert_eq!(over_unix(&rig, get(&path(DM), &[])).await.status(), 403);
    assert_eq!(over_unix(&rig, get(&path(MINE), &[])).await.status(), 200);
    // TCP without a token or an Origin, with a bad token, with another app's token.
    assert_eq!(over_tcp(&rig, get(&path(TICKER), &[])).await.status(), 403);
    let other = rig.tokens.issue(TICKER, otapush::time::now_ms()).unwrap();
    let dm = rig.tokens.issue(DM, otapush::time::now_ms()).unwrap();
    let bad = format!("{}?token=00112233", path(DM));
    assert_eq!(over_tcp(&rig, get(&bad, &[])).await.status(), 403);
    assert_eq!(over_tcp(&rig, get(&format!("{}?token={other}", path(DM)), &[])).await.status(), 403);
    // A token for the app, in the query or as a bearer token.
    let s = Sse::new(
        over_tcp(&rig, get(&format!("{}?token={dm}", path(DM)), &[("origin", "http://app.example")])).await,
    );
    assert_eq!(s.head.status, 200);
    assert_eq!(s.header("access-control-allow-origin"), Some("http://app.example"));
    let auth = format!("Bearer {dm}");
    assert_eq!(over_tcp(&rig, get(&path(DM), &[("authorization", &auth)])).await.status(), 200);
    // Origins: an allowed one for an open app id (CORS), not for a restricted one; others never.
    let s = Sse::new(over_tcp(&rig, get(&path(TICKER), &[("origin", ORIGIN)])).await);
    assert_eq!((s.head.status.as_u16(), s.header("access-control-allow-origin")), (200, Some(ORIGIN)));
    assert_eq!(over_tcp(&rig, get(&path(DM), &[("origin", ORIGIN)])).await.status(), 403);
    let r = over_tcp(&rig, get(&path(TICKER), &[("origin", "http://evil.example")])).await;
    assert_eq!(r.status(), 403);
    assert!(r.headers().get("access-control-allow-origin").is_none());
    // DNS rebinding: the loopback port under another name.
    let rebind = Request::get(path(TICKER)).header("host", "evil.example:80").header("origin", ORIGIN);
    assert_eq!(over_tcp(&rig, rebind.body(String::new()).unwrap()).await.status(), 403);
    // CORS preflight.
    let pre = |origin: &str| {
        Request::options(path(TICKER))
            .header("host", "127.0.0.1")
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "last-event-id")
            .body(String::new())
            .unwrap()
    };
    let r = over_tcp(&rig, pre(ORIGIN)).await;
    assert_eq!(r.status(), 204);
    let h = |n: &str| r.headers().get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
    assert_eq!(h("access-control-allow-origin").as_deref(), Some(ORIGIN));
    assert!(h("access-control-allow-headers").unwrap().contains("last-event-id"));
    assert_eq!(over_tcp(&rig, pre("http://evil.example")).await.status(), 403);
    // Not a route, not a method.
    assert_eq!(over_unix(&rig, get("/v1/other", &[])).await.status(), 404);
    let post = Request::post(path(TICKER)).header("host", "localhost").body(String::new()).unwrap();
    assert_eq!(over_unix(&rig, post).await.status(), 405);
}

/// Runs `curl -N` over the socket (as `as_nobody`: uid/gid 65534 via setpriv); gives its status
/// line and the first event block, or the whole output when it ends first.
fn curl(rig: &Rig, app: &str, as_nobody: bool) -> (String, String) {
    let mut cmd = if as_nobody {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "curl"]);
        c
    } else {
        std::process::Command::new("curl")
    };
    let url = format!("http://localhost{}", path(app));
    let mut child = cmd
        .args(["-N", "-s", "-i", "--unix-socket"])
        .arg(rig.socket())
        .arg(url)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("curl and setpriv (util-linux) are installed by scripts/install-deps");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut status = String::new();
    out.read_line(&mut status).unwrap();
    let mut text = String::new();
    let mut line = String::new();
    while out.read_line(&mut line).unwrap() > 0 {
        text.push_str(&line);
        if text.contains("data:") && line == "\n" {
            break;
        }
        line.clear();
    }
    let _ = child.kill();
    let _ = child.wait();
    (status.trim_end().to_string(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_reads_the_stream_and_peer_credentials_decide_access() {
    let mut rig = Rig::start(limits()).await;
    let e = rig.event(DM, Source::Sms, "for nobody");
    rig.deliver(std::slice::from_ref(&e));
    let mine = rig.event(MINE, Source::Sms, "for me");
    rig.deliver(std::slice::from_ref(&mine));
    // Let uid 65534 reach the socket (the temporary directory is 0700).
    use std::os::unix::fs::PermissionsExt;
    for d in [rig.dir.path().to_path_buf(), rig.dir.path().join("run")] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let rig = Arc::new(rig);
    let r = rig.clone();
    let ((st_me, _), (st_nobody, text), (st_mine_nobody, _), (st_mine, mine_text)) =
        tokio::task::spawn_blocking(move || {
            (curl(&r, DM, false), curl(&r, DM, true), curl(&r, MINE, true), curl(&r, MINE, false))
        })
        .await
        .unwrap();
    assert!(st_me.starts_with("HTTP/1.1 403 "), "{st_me}");
    if my_uid() == 0 {
        assert!(st_nobody.starts_with("HTTP/1.1 200 "), "{st_nobody}");
        assert!(text.contains(&format!("id: {}\nevent: quote\ndata: for nobody\n", e.id)), "{text}");
        assert!(st_mine_nobody.starts_with("HTTP/1.1 403 "), "{st_mine_nobody}");
    } else {
        eprintln!("not root: the setpriv half of this test ran as this user (and was refused)");
    }
    assert!(st_mine.starts_with("HTTP/1.1 200 "), "{st_mine}");
    assert!(mine_text.contains("data: for me\n"), "{mine_text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_subscriber_is_dropped_and_the_caps_hold() {
    let mut rig = Rig::start(HubLimits { max_subscribers: 4, max_per_uid: 2, buffer: 8 }).await;
    // A client that sends its request and then reads nothing.
    let mut slow = std::os::unix::net::UnixStream::connect(rig.socket()).unwrap();
    slow.write_all(format!("GET {} HTTP/1.1\r\nHost: localhost\r\n\r\n", path(TICKER)).as_bytes()).unwrap();
    let fast = Sse::new(over_unix(&rig, get(&path(TICKER), &[])).await);
    assert_eq!(fast.head.status, 200);
    // Two subscribers for this uid: a third is refused.
    let r = over_unix(&rig, get(&path(TICKER), &[])).await;
    assert_eq!((r.status().as_u16(), r.headers().get("retry-after").is_some()), (503, true));
    let data = "x".repeat(16 * 1024);
    let mut published = 0;
    while rig.hub.stats().dropped_slow == 0 {
        assert!(published < 4000, "the slow subscriber was never dropped");
        let e = rig.event(TICKER, Source::Sse, &data);
        rig.deliver(&[e]);
        published += 1;
        // Let the connection tasks write (a fast reader would have been read by now).
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    drop(fast);
    // The connection is closed: the slow client reads what the kernel buffered, then EOF.
    let received = tokio::task::spawn_blocking(move || {
        slow.set_read_timeout(Some(WAIT)).unwrap();
        let mut all = Vec::new();
        slow.read_to_end(&mut all).expect("EOF, not a timeout");
        all.len()
    })
    .await
    .unwrap();
    let sent = published * data.len();
    assert!(received < sent, "received {received} of {sent} octets");
    assert_eq!(rig.hub.stats().subscribers, 0);
    // It reconnects and resumes from the history.
    let mut again = Sse::new(over_unix(&rig, get(&path(TICKER), &[])).await);
    assert_eq!(again.head.status, 200);
    assert_eq!(again.next_event().await.data.len(), data.len());
}

#[tokio::test]
async fn a_request_head_that_never_ends_is_cut_off() {
    let rig = Rig::start(limits()).await;
    let mut s = tokio::net::UnixStream::connect(rig.socket()).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    s.write_all(b"GET /v1/events/a HTTP/1.1\r\nHost: localhost\r\n").await.unwrap();
    let mut buf = Vec::new();
    let n = tokio::time::timeout(WAIT, s.read_to_end(&mut buf)).await.expect("closed by the header timeout");
    assert!(n.is_ok());
    // And an oversized head is refused.
    let mut s = tokio::net::UnixStream::connect(rig.socket()).await.unwrap();
    let big = format!("GET /v1/events/a HTTP/1.1\r\nHost: localhost\r\nX: {}\r\n\r\n", "y".repeat(20_000));
    let _ = s.write_all(big.as_bytes()).await;
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(WAIT, s.read_to_end(&mut buf)).await.expect("answered and closed");
    let text = String::from_utf8_lossy(&buf);
    assert!(text.is_empty() || text.starts_with("HTTP/1.1 431"), "{text}");
}

#[tokio::test]
async fn query_filters_select_by_event_type_topic_and_group_in_backlog_and_live() {
    let mut rig = Rig::start(limits()).await;
    let mut ev = |event_type: &str, data: &str| {
        let mut m = rig.event(TICKER, Source::Sse, data);
        m.event.as_mut().unwrap().event_type = event_type.into();
        m
    };
    let backlog = [
        ev("quote", r#"{"topic":"eur","p":1}"#),
        ev("quote", r#"{"topic":"usd"}"#),
        ev("trade", r#"{"topic":"eur"}"#),
        ev("quote", r#"{"topic":"eur","group":"g"}"#),
        ev("quote", "not json: no topic"),
    ];
    let live = [
        ev("trade", r#"{"topic":"usd"}"#),
        ev("quote", r#"{"topic":"eur","group":["h","g"]}"#),
        ev("quote", r#"{"topic":"eur"}"#),
    ];
    rig.deliver(&backlog);
    let quotes = format!("{}?event=quote&topic=eur", path(TICKER));
    let mut quotes = Sse::new(over_unix(&rig, get(&quotes, &[])).await);
    let member = format!("{}/ticker?group=g&topic=eur%2Cchf", path(TICKER));
    let mut member = Sse::new(over_tcp(&rig, get(&member, &[("origin", ORIGIN)])).await);
    assert_eq!((quotes.head.status.as_u16(), member.head.status.as_u16()), (200, 200));
    rig.deliver(&live);
    // The group event reaches only the member; nobody gets what its lists leave out.
    for (s, want) in [
        (&mut quotes, vec![&backlog[0], &live[2]]),
        (&mut member, vec![&backlog[0], &backlog[2], &backlog[3], &live[1], &live[2]]),
    ] {
        for m in want {
            let e = s.next_event().await;
            assert_eq!((e.id.as_str(), e.data.as_bytes()), (m.id.as_str(), m.body.as_slice()));
        }
    }
    // A resumed subscription keeps its selection; a bad list is refused.
    let resumed = format!("{}?event=quote&topic=eur&lastEventId={}", path(TICKER), backlog[0].id);
    let mut resumed = Sse::new(over_unix(&rig, get(&resumed, &[])).await);
    assert_eq!(resumed.next_event().await.id, live[2].id);
    let names = (0..33).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    let r = over_unix(&rig, get(&format!("{}?topic={names}", path(TICKER)), &[])).await;
    assert_eq!(r.status(), 400);
}
