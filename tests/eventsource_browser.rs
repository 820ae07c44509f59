//! A real browser against the EventSource endpoint: Debian's headless Chromium (from
//! scripts/install-deps) opens examples/eventsource.html, which uses `new EventSource(...)`,
//! receives events committed as by SMS and by an event stream, is navigated away and back and
//! reloaded, and resumes with no gap and no duplicate (docs/eventsource.md); then the same
//! against the real daemon's `tcp_listen`, with events by SMS through the simulated modem and
//! from a loopback SSE origin. Driven over the
//! DevTools protocol on `--remote-debugging-pipe` (fds 3 and 4, NUL-terminated JSON).
#![cfg(feature = "eventsource")]

use hyper_util::rt::TokioIo;
use otapush::cai::access::{AccessPolicy, ResolveNss};
use otapush::config::Config;
use otapush::eventsource::hub::HubLimits;
use otapush::eventsource::server::Settings;
use otapush::eventsource::{self, Hub, Tokens};
use otapush::message::{event_message_id, EventInfo, Kind, Message, Source};
use otapush::store::{Disposition, Limits, Outcome, QueueTarget, Store, UNCLAIMED};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

const APP: &str = "x-oma-application:sse.ticker";
const GUARD: Duration = Duration::from_secs(30);

/// Chromium with a DevTools pipe; killed when dropped.
struct Browser {
    child: std::process::Child,
    to: std::fs::File,
    from: mpsc::Receiver<Value>,
    next: u64,
    session: String,
    target: String,
}

/// A pipe whose ends are at fd 10 or above (so that dup2 to 3 and 4 never hits one of them).
fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    let high = |fd: i32| {
        // SAFETY: fd is open; F_DUPFD_CLOEXEC gives a new descriptor >= 10 that we then own.
        let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 10) };
        assert!(new >= 10);
        // SAFETY: fd is ours and closed once.
        unsafe { libc::close(fd) };
        // SAFETY: `new` is a fresh descriptor nobody else owns.
        unsafe { OwnedFd::from_raw_fd(new) }
    };
    (high(fds[0]), high(fds[1]))
}

impl Browser {
    fn start(profile: &std::path::Path) -> Browser {
        use std::os::fd::AsRawFd;
        use std::os::unix::process::CommandExt;
        let (cmd_read, cmd_write) = pipe();
        let (ev_read, ev_write) = pipe();
        let (r, w) = (cmd_read.as_raw_fd(), ev_write.as_raw_fd());
        let mut cmd = std::process::Command::new("chromium");
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--remote-debugging-pipe",
            "--disable-features=BackForwardCache",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("about:blank")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
        // SAFETY: between fork and exec only async-signal-safe dup2 calls; dup2 clears
        // FD_CLOEXEC on the new descriptors 3 (commands in) and 4 (replies out).
        unsafe {
            cmd.pre_exec(move || {
                if libc::dup2(r, 3) < 0 || libc::dup2(w, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("chromium is installed by scripts/install-deps");
        drop((cmd_read, ev_write));
        let (tx, from) = mpsc::channel();
        std::thread::spawn(move || {
            let mut rd = BufReader::new(std::fs::File::from(ev_read));
            let mut buf = Vec::new();
            while rd.read_until(0, &mut buf).is_ok_and(|n| n > 0) {
                buf.pop();
                if let Ok(v) = serde_json::from_slice::<Value>(&buf) {
                    if tx.send(v).is_err() {
                        break;
                    }
                }
                buf.clear();
            }
        });
        Browser {
            child,
            to: std::fs::File::from(cmd_write),
            from,
            next: 0,
            session: String::new(),
            target: String::new(),
        }
    }

    /// Opens `url` in a new tab and attaches to it.
    fn open(&mut self, url: &str) {
        let target = self.call("Target.createTarget", json!({"url": url}), false);
        self.target = target["targetId"].as_str().unwrap().to_string();
        let attached =
            self.call("Target.attachToTarget", json!({"targetId": self.target, "flatten": true}), false);
        self.session = attached["sessionId"].as_str().unwrap().to_string();
    }

    /// Closes the tab.
    fn close(&mut self) {
        let target = std::mem::take(&mut self.target);
        self.call("Target.closeTarget", json!({"targetId": target}), false);
    }

    /// Sends one command (to the page's session if `page`) and waits for its result.
    fn call(&mut self, method: &str, params: Value, page: bool) -> Value {
        self.next += 1;
        let mut msg = json!({"id": self.next, "method": method, "params": params});
        if page {
            msg["sessionId"] = json!(self.session);
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        self.to.write_all(&bytes).unwrap();
        let deadline = Instant::now() + GUARD;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let v =
                self.from.recv_timeout(left).unwrap_or_else(|_| panic!("chromium did not answer {method}"));
            if v["id"] == json!(self.next) {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
        }
    }

    /// The ids the page lists, in order.
    fn listed(&mut self) -> Vec<String> {
        let expr = "JSON.stringify([...document.querySelectorAll('#events li')].map(l => l.dataset.id))";
        let r = self.call("Runtime.evaluate", json!({"expression": expr, "returnByValue": true}), true);
        r["result"]["value"].as_str().and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default()
    }

    /// Waits until the page lists exactly `want`.
    fn wait_for(&mut self, want: &[String]) {
        let deadline = Instant::now() + GUARD;
        loop {
            let got = self.listed();
            if got == want {
                return;
            }
            assert!(Instant::now() < deadline, "the page lists {got:?}, expected {want:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn event(n: u32, source: Source) -> Message {
    let event_id = format!("b{n}");
    Message {
        id: event_message_id(APP, &event_id, ""),
        kind: Kind::WspPush,
        source,
        originator: "+491700000".into(),
        sent_time: None,
        received_time: "2026-01-01T00:00:00+00:00".into(),
        application_id: Some(APP.into()),
        content_type: "text/event-stream".into(),
        content_type_params: BTreeMap::new(),
        headers: BTreeMap::new(),
        transaction_id: None,
        pdu_type: None,
        port: None,
        event: Some(EventInfo { stream: "ticker".into(), event_type: "quote".into(), event_id }),
        body: format!("event {n}").into_bytes(),
    }
}

fn deliver(store: &Store, hub: &Hub, msgs: &[Message]) {
    let q = || Disposition::Queue(vec![QueueTarget { registration: UNCLAIMED, expires_ms: u64::MAX / 4 }]);
    let batch: Vec<_> = msgs.iter().map(|m| (m, q())).collect();
    let out = store.commit_messages(&batch, &[], otapush::time::now_ms()).unwrap();
    assert!(out.iter().all(|(_, o)| *o == Outcome::New));
    hub.publish(msgs);
}

/// Serves examples/eventsource.html at any path.
async fn page_server() -> std::net::SocketAddr {
    let html =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/eventsource.html")).unwrap();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let html = html.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |_req| {
                    let r = hyper::Response::builder()
                        .header("content-type", "text/html; charset=utf-8")
                        .body(html.clone())
                        .unwrap();
                    async move { Ok::<_, std::convert::Infallible>(r) }
                });
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(s), svc).await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_eventsource_receives_and_resumes_after_reload_without_gap_or_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        Store::open(&dir.path().join("state"), Limits { history_window: 100, ..Limits::default() }).unwrap();
    let hub = Hub::new(store.clone(), HubLimits { max_subscribers: 8, max_per_uid: 8, buffer: 64 });
    let page = page_server().await;
    let origin = format!("http://localhost:{}", page.port());
    let settings = Settings {
        socket: None,
        tcp: Some("127.0.0.1:0".parse().unwrap()),
        allowed_origins: vec![origin.clone()],
        heartbeat: Duration::from_secs(1),
        retry_ms: 500,
        header_timeout: Duration::from_secs(5),
        max_connections: 16,
    };
    let policy = Arc::new(AccessPolicy::resolve(&Config::default().cai_settings().access));
    let ep = eventsource::spawn(settings, hub.clone(), policy, Arc::new(Tokens::new(60_000))).await.unwrap();
    let url = format!("{origin}/eventsource.html?port={}&app={APP}&types=quote", ep.tcp_addr.unwrap().port());
    let evs: Vec<Message> =
        (1..=8).map(|n| event(n, if n % 2 == 0 { Source::Sse } else { Source::Sms })).collect();
    let all: Vec<String> = evs.iter().map(|m| m.id.clone()).collect();
    let ids = move |r: std::ops::Range<usize>| all[r].to_vec();
    deliver(&store, &hub, &evs[0..2]);
    let profile = dir.path().join("profile");
    let (store2, hub2) = (store.clone(), hub.clone());
    tokio::task::spawn_blocking(move || {
        let (store, hub) = (store2, hub2);
        let mut b = Browser::start(&profile);
        b.open(&url);
        // The backlog (a fresh profile has no last id), then a live event.
        b.wait_for(&ids(0..2));
        deliver(&store, &hub, &evs[2..3]);
        b.wait_for(&ids(0..3));
        assert_eq!(hub.stats().subscribers, 1);
        // The tab closes: events arrive while no page listens.
        b.close();
        let deadline = Instant::now() + GUARD;
        while hub.stats().subscribers > 0 {
            assert!(Instant::now() < deadline, "the page's EventSource never closed");
            std::thread::sleep(Duration::from_millis(20));
        }
        deliver(&store, &hub, &evs[3..5]);
        // The page again (same profile): it resumes after its stored id, with exactly the
        // missed events, then live ones.
        b.open(&url);
        b.wait_for(&ids(3..5));
        deliver(&store, &hub, &evs[5..6]);
        b.wait_for(&ids(3..6));
        // A reload: nothing is repeated; live events follow.
        b.call("Page.reload", json!({}), true);
        b.wait_for(&[]);
        deliver(&store, &hub, &evs[6..8]);
        b.wait_for(&ids(6..8));
    })
    .await
    .unwrap();
}

/// Runs blocking browser calls on this runtime thread (the test runtime is multi-threaded).
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

/// The same page against the real daemon's `tcp_listen` (port 0: the page learns the real one
/// from the `EventSource` property): events of one application id by WAP Push through the
/// simulated modem and by an `[[sse]]` stream from a loopback origin; the tab is closed and
/// opened again, then reloaded, and resumes without a gap or a duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_against_the_daemon_gets_sms_and_stream_events_and_resumes_after_reload() {
    use otapush_test_support::daemon::{network_sends, Rig};
    use otapush_test_support::eventually::eventually;
    use otapush_test_support::http::Origin;
    use otapush_test_support::pdu::push_pdus;
    const TICKER: &str = "x-oma-application:sse.ticker";
    let rig = Rig::new().await;
    let mut origin = Origin::start().await;
    let page = page_server().await;
    let page_origin = format!("http://localhost:{}", page.port());
    let extra = format!(
        "[bearer]\nmode = \"external\"\n\n[eventsource]\ntcp_listen = \"127.0.0.1:0\"\n\
         allowed_origins = [{page_origin:?}]\nretry = 500\n\n\
         [[sse]]\nname = \"ticker\"\nurl = {:?}\napplication_id = {TICKER:?}\n\n",
        origin.url("/ticker")
    );
    let _daemon = rig.daemon("sim", 25, &extra).await;
    let manager = rig.manager().await;
    let prop = manager.event_source().await.unwrap();
    let tcp: std::net::SocketAddr =
        String::try_from(prop["Tcp"].clone()).unwrap().parse().expect("Tcp is ADDRESS:PORT");
    assert_ne!(tcp.port(), 0);
    let subscribers =
        || async { u32::try_from(&manager.event_source().await.unwrap()["Subscribers"]).unwrap() };
    manager.set_bearer_state("up").await.unwrap();
    let mut http = origin.next().await;
    http.open_stream().await;
    let sim = rig.simulator().await;
    let mut reference = 60u16;
    let mut sms = |events: &[&str]| {
        let body: String =
            events.iter().map(|n| format!("id: {n}\nevent: tick\ndata: event {n}\n\n")).collect();
        reference += 1;
        push_pdus(Some(TICKER), "text/event-stream", body.as_bytes(), reference)
    };
    let id = |n: &str| event_message_id(TICKER, n, "");
    let ids = |ns: &[&str]| ns.iter().map(|n| id(n)).collect::<Vec<_>>();
    let last_event_id = || async {
        use std::collections::HashMap;
        use zbus::zvariant::OwnedValue;
        let s = manager.streams().await.unwrap();
        let ticker = s.get("ticker").and_then(|v| HashMap::<String, OwnedValue>::try_from(v.clone()).ok());
        ticker.and_then(|d| String::try_from(d.get("LastEventId")?.clone()).ok()).unwrap_or_default()
    };

    let url = format!("{page_origin}/eventsource.html?port={}&app={TICKER}&types=tick", tcp.port());
    let profile = rig.dir.path().join("profile");
    let mut b = blocking(|| Browser::start(&profile));
    blocking(|| b.open(&url));
    eventually("the page's EventSource", || async { subscribers().await == 1 }).await;
    http.event("1", "tick", "event 1").await;
    blocking(|| b.wait_for(&ids(&["1"])));
    network_sends(&sim, &sms(&["1", "2"])).await;
    blocking(|| b.wait_for(&ids(&["1", "2"])));

    // The tab closes; 3 by the stream, 4 (and 3 again) by SMS while no page listens.
    blocking(|| b.close());
    eventually("the page's EventSource to close", || async { subscribers().await == 0 }).await;
    http.event("3", "tick", "event 3").await;
    eventually("event 3 committed", || async { last_event_id().await == "3" }).await;
    network_sends(&sim, &sms(&["3", "4"])).await;
    eventually("event 4 committed", || async { last_event_id().await == "4" }).await;

    // The page again: exactly the missed events, then live ones from both paths.
    blocking(|| b.open(&url));
    blocking(|| b.wait_for(&ids(&["3", "4"])));
    network_sends(&sim, &sms(&["5"])).await;
    blocking(|| b.wait_for(&ids(&["3", "4", "5"])));

    // A reload: nothing repeated; live events follow, once each. The old document is gone
    // when its marker is.
    let eval = |b: &mut Browser, e: &str| {
        b.call("Runtime.evaluate", json!({"expression": e, "returnByValue": true}), true)["result"]["value"]
            .clone()
    };
    blocking(|| eval(&mut b, "window.beforeReload = true"));
    blocking(|| b.call("Page.reload", json!({}), true));
    blocking(|| {
        let deadline = Instant::now() + GUARD;
        let reloaded = "window.beforeReload === undefined && document.readyState === 'complete'";
        while eval(&mut b, reloaded) != json!(true) {
            assert!(Instant::now() < deadline, "the page was never reloaded");
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    blocking(|| b.wait_for(&[]));
    http.event("5", "tick", "event 5").await;
    http.event("6", "tick", "event 6").await;
    blocking(|| b.wait_for(&ids(&["6"])));
    network_sends(&sim, &sms(&["6", "7"])).await;
    blocking(|| b.wait_for(&ids(&["6", "7"])));
}
