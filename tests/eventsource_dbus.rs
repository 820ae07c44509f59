//! The EventSource endpoint wired to the D-Bus service as the daemon wires it: tokens from
//! `IssueEventSourceToken` on a real `dbus-daemon` open the TCP listener, and messages committed
//! through `CaiHandle::submit` reach the subscriber (docs/eventsource.md).
#![cfg(feature = "eventsource")]

use hyper::body::{Body, Incoming};
use hyper_util::rt::TokioIo;
use otapush::cai::access::{AccessPolicy, ResolveNss};
use otapush::cai::EventSourceHooks;
use otapush::config::AccessRule;
use otapush::eventsource::{self, Hub, Tokens};
use otapush::message::{event_message_id, EventInfo, Kind, Message, Source};
use otapush_test_support::bus::Bus;
use otapush_test_support::cai::*;
use otapush_test_support::eventually::GUARD;
use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::Arc;

const TICKER: &str = "x-oma-application:sse.ticker";
const DM: &str = "x-wap-application:syncml.dm";

async fn issue(conn: &zbus::Connection, app: &str) -> Result<String, zbus::Error> {
    let reply = conn
        .call_method(
            Some("org.otapush.Push1"),
            "/org/otapush/Push1",
            Some("org.otapush.Push1.Manager"),
            "IssueEventSourceToken",
            &(app,),
        )
        .await?;
    reply.body().deserialize::<String>()
}

fn error_name(e: &zbus::Error) -> String {
    match e {
        zbus::Error::MethodError(name, _, _) => name.to_string(),
        other => format!("{other:?}"),
    }
}

async fn get(addr: std::net::SocketAddr, target: &str) -> hyper::Response<Incoming> {
    let io = TokioIo::new(tokio::net::TcpStream::connect(addr).await.unwrap());
    let (mut tx, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
    tokio::spawn(conn);
    let req = hyper::Request::get(target).header("host", "127.0.0.1").body(String::new()).unwrap();
    tx.send_request(req).await.unwrap()
}

fn event(app: &str, event_id: &str, data: &str) -> Message {
    Message {
        id: event_message_id(app, event_id, ""),
        kind: Kind::WspPush,
        source: Source::Sse,
        originator: "http://127.0.0.1:1/events".into(),
        sent_time: None,
        received_time: "2026-01-01T00:00:00+00:00".into(),
        application_id: Some(app.into()),
        content_type: "text/event-stream".into(),
        content_type_params: BTreeMap::new(),
        headers: BTreeMap::new(),
        transaction_id: None,
        pdu_type: None,
        port: None,
        event: Some(EventInfo {
            stream: "ticker".into(),
            event_type: "quote".into(),
            event_id: event_id.into(),
        }),
        body: data.as_bytes().to_vec(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_over_dbus_open_the_tcp_listener_and_submitted_events_reach_it() {
    let bus = Bus::start();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.eventsource.tcp_listen = Some("127.0.0.1:0".into());
    cfg.access.rules =
        vec![AccessRule { application_id: DM.into(), users: vec!["0".into()], ..Default::default() }];
    let svc = start_service(&bus, &cfg).await;
    let c = client(&bus).await;
    // Not wired yet: Failed.
    let e = issue(&c.conn, TICKER).await.unwrap_err();
    assert_eq!(error_name(&e), "org.otapush.Push1.Error.Failed", "{e}");

    // The daemon's wiring: hub on the service's store, tokens, the endpoint, the hooks.
    let hub = Hub::new(svc.handle.store().clone(), cfg.eventsource_hub_limits());
    let tokens = Arc::new(Tokens::new(cfg.eventsource.token_ttl * 1000));
    let policy = Arc::new(AccessPolicy::resolve(&cfg.cai_settings().access));
    let ep =
        eventsource::spawn(cfg.eventsource_settings(), hub.clone(), policy, tokens.clone()).await.unwrap();
    svc.handle.set_eventsource(EventSourceHooks { hub, tokens, socket: None, tcp: ep.tcp_addr });
    let addr = ep.tcp_addr.unwrap();

    let token = issue(&c.conn, TICKER).await.unwrap();
    assert_eq!(get(addr, &format!("/v1/events/{TICKER}")).await.status(), 403);
    let r = get(addr, &format!("/v1/events/{TICKER}?token={token}")).await;
    assert_eq!(r.status(), 200);
    let mut body = r.into_body();
    let e1 = event(TICKER, "1", "hello");
    let out = svc.handle.submit(std::slice::from_ref(&e1), &[]).await.unwrap();
    assert_eq!(out[0].1, otapush::store::Outcome::New);
    let mut raw = String::new();
    while !raw.contains("data: hello\n\n") {
        let frame =
            tokio::time::timeout(GUARD, std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)))
                .await
                .expect("the event arrives")
                .expect("the stream goes on")
                .unwrap();
        if let Ok(d) = frame.into_data() {
            raw.push_str(&String::from_utf8_lossy(&d));
        }
    }
    assert!(raw.contains(&format!("id: {}\nevent: quote\ndata: hello\n\n", e1.id)), "{raw}");

    // The token names one application id; DM's rule admits root only.
    assert_eq!(get(addr, &format!("/v1/events/{DM}?token={token}")).await.status(), 403);
    let dm = issue(&c.conn, DM).await;
    if otapush::cai::access::lookup_uid("root") == Some(unsafe { libc::geteuid() }) {
        let dm = dm.unwrap();
        assert_eq!(get(addr, &format!("/v1/events/{DM}?token={dm}")).await.status(), 200);
        let out = tokio::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "gdbus", "call", "--address"])
            .arg(&bus.address)
            .args(["--dest", "org.otapush.Push1", "--object-path", "/org/otapush/Push1", "--method"])
            .args(["org.otapush.Push1.Manager.IssueEventSourceToken", DM])
            .output()
            .await
            .expect("setpriv (util-linux) and gdbus (libglib2.0-bin), from scripts/install-deps");
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && text.contains("AccessDenied"), "{text}");
    } else {
        assert_eq!(error_name(&dm.unwrap_err()), "org.otapush.Push1.Error.AccessDenied");
    }
}

/// The `EventSource` property as the daemon wires it: `Socket`, `Tcp` with the port the kernel
/// chose for `127.0.0.1:0`, and `Subscribers` counting a subscriber reading over the socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_eventsource_property_shows_socket_bound_port_and_live_subscribers() {
    use otapush_test_support::eventually::eventually;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let bus = Bus::start();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    let sock = dir.path().join("run/events.sock");
    cfg.eventsource.socket = Some(sock.clone());
    cfg.eventsource.tcp_listen = Some("127.0.0.1:0".into());
    let svc = start_service(&bus, &cfg).await;
    let c = client(&bus).await;
    assert!(c.manager.event_source().await.unwrap().is_empty(), "empty while the endpoint is off");

    let hub = Hub::new(svc.handle.store().clone(), cfg.eventsource_hub_limits());
    let tokens = Arc::new(Tokens::new(cfg.eventsource.token_ttl * 1000));
    let policy = Arc::new(AccessPolicy::resolve(&cfg.cai_settings().access));
    let ep =
        eventsource::spawn(cfg.eventsource_settings(), hub.clone(), policy, tokens.clone()).await.unwrap();
    let tcp = ep.tcp_addr.unwrap();
    assert_ne!(tcp.port(), 0);
    svc.handle.set_eventsource(EventSourceHooks { hub, tokens, socket: ep.socket.clone(), tcp: Some(tcp) });

    let str_of = |d: &std::collections::HashMap<String, zbus::zvariant::OwnedValue>, k: &str| {
        d.get(k).and_then(|v| String::try_from(v.clone()).ok())
    };
    let subscribers = |d: &std::collections::HashMap<String, zbus::zvariant::OwnedValue>| {
        d.get("Subscribers").and_then(|v| u32::try_from(v).ok())
    };
    let d = c.manager.event_source().await.unwrap();
    assert_eq!(str_of(&d, "Socket"), Some(sock.display().to_string()), "{d:?}");
    assert_eq!(str_of(&d, "Tcp"), Some(tcp.to_string()), "{d:?}");
    assert_eq!(subscribers(&d), Some(0), "{d:?}");

    // A subscriber over the Unix socket, speaking HTTP/1.1 by hand.
    let mut s = tokio::net::UnixStream::connect(&sock).await.unwrap();
    let req =
        format!("GET /v1/events/{TICKER} HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        let n = tokio::time::timeout(GUARD, s.read(&mut b)).await.expect("the response head").unwrap();
        assert_eq!(n, 1, "closed before the head: {}", String::from_utf8_lossy(&head));
        head.push(b[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&head));
    eventually("Subscribers = 1", || async {
        subscribers(&c.manager.event_source().await.unwrap()) == Some(1)
    })
    .await;
    drop(s);
}
