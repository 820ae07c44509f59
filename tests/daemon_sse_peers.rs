//! The daemon's `[[sse]]` path end to end against third-party servers on 127.0.0.1: two
//! streams, one from sse-channel (Node.js, history replayed after `Last-Event-ID`), one from
//! sse-starlette under uvicorn (Python ASGI, CRLF line ends), each to its own agent over D-Bus.
//! The sse-channel stream is ended by the server and closed by a bearer drop; each time the
//! daemon resumes from the last event it delivered, and each event arrives once, in order.
#![cfg(feature = "sse-http")]

mod peers;

use otapush_test_support::{agents::*, daemon::*, eventually::*};
use peers::Peer;
use std::time::Duration;
use zbus::zvariant::Value;

const TICKER: &str = "x-oma-application:sse.ticker";
const NEWS: &str = "x-oma-application:sse.news";

/// Receives one delivery from stream `stream`, acknowledges it; gives (EventId, body).
async fn event(agent: &mut Agent, stream: &str, peer: &Peer) -> (String, String) {
    let d = agent.next().await;
    assert_eq!(d.meta_str("Source"), Some("sse"), "{}", peer.diagnostics());
    assert_eq!(d.meta_str("Stream"), Some(stream));
    assert_eq!(d.meta_str("EventType"), Some("tick"));
    let got = (
        d.meta_str("EventId").unwrap_or_default().to_string(),
        String::from_utf8_lossy(&d.body).into_owned(),
    );
    d.ack();
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_streams_from_sse_channel_and_sse_starlette_resume_without_gap_or_duplicate() {
    let mut node = Peer::sse_channel(300, 20_000).await;
    let python = Peer::starlette().await;
    let rig = Rig::new().await;
    let config = format!(
        "[bearer]\nmode = \"external\"\n\n{}{}",
        stream_section("ticker", &node.url("/ticker"), TICKER),
        stream_section("news", &python.url("/events?count=2&retry=200"), NEWS)
    );
    let _daemon = rig.daemon("sim", 25, &config).await;
    let manager = rig.manager().await;
    let mut ticker = Agent::new(rig.address(), "ticker").await;
    ticker.register(&[("ApplicationId", Value::from(TICKER))]).await;
    let mut news = Agent::new(rig.address(), "news").await;
    news.register(&[("ApplicationId", Value::from(NEWS))]).await;
    manager.set_bearer_state("up").await.unwrap();

    // sse-channel: 1-2 live; the server ends the stream and 3-4 go to its history only.
    assert_eq!(node.expect("connect").await.word(2), "-");
    let mut seen = Vec::new();
    node.command(&["send 1 one", "send 2 two"]);
    for _ in 0..2 {
        seen.push(event(&mut ticker, "ticker", &node).await);
    }
    node.command(&["end", "send 3 three", "send 4 four"]);
    assert_eq!(node.expect("ended").await.word(2), "1");
    for _ in 0..2 {
        assert_eq!(node.expect("sent").await.word(3), "0", "{}", node.diagnostics());
    }
    assert_eq!(node.expect("connect").await.word(2), "2", "{}", node.diagnostics());
    for _ in 0..2 {
        seen.push(event(&mut ticker, "ticker", &node).await);
    }

    // sse-starlette, meanwhile: two events per connection, resumed after the last id; CRLF
    // line ends and two data lines each.
    let mut headlines = Vec::new();
    for _ in 0..4 {
        headlines.push(event(&mut news, "news", &python).await);
    }
    let want: Vec<_> = (1..=4).map(|i| (i.to_string(), format!("event {i}\nsecond line"))).collect();
    assert_eq!(headlines, want, "{}", python.diagnostics());

    // Bearer down: the daemon closes both streams; 5-6 go to sse-channel's history. Bearer up:
    // the daemon resumes from 4 and the channel replays 5-6.
    manager.set_bearer_state("down").await.unwrap();
    eventually("sse-channel to see both connections closed", || async { node.count("closed") == 2 }).await;
    eventually("both streams idle", || async {
        let s = streams(&rig).await;
        s["ticker"]["State"] == "idle" && s["news"]["State"] == "idle"
    })
    .await;
    node.command(&["send 5 five", "send 6 six"]);
    assert_eq!(node.expect("sent").await.word(3), "0", "{}", node.diagnostics());
    manager.set_bearer_state("up").await.unwrap();
    assert_eq!(node.expect("connect").await.word(2), "4", "{}", node.diagnostics());
    for _ in 0..2 {
        seen.push(event(&mut ticker, "ticker", &node).await);
    }
    node.command(&["send 7 seven"]);
    seen.push(event(&mut ticker, "ticker", &node).await);
    let words = ["one", "two", "three", "four", "five", "six", "seven"];
    let want: Vec<_> = (1..=7).zip(words).map(|(i, w)| (i.to_string(), w.to_string())).collect();
    assert_eq!(seen, want, "{}", node.diagnostics());
    ticker.quiet(Duration::from_millis(300)).await;
}
