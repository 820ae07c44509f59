//! Connection sharing (docs/event-streams.md, Shared connections) against the real daemon: two
//! `[[sse]]` entries of one URL open one connection to a loopback origin that counts them; each
//! application's agent gets each event once; `Streams` shows one stream with both applications;
//! after the server closes it, the one reconnect sends the one Last-Event-ID.
#![cfg(feature = "sse-http")]

use otapush_test_support::agents::*;
use otapush_test_support::daemon::*;
use otapush_test_support::eventually::*;
use otapush_test_support::http::Origin;
use std::time::Duration;
use zbus::zvariant::Value;

const TICKER: &str = "x-oma-application:sse.ticker";
const QUOTES: &str = "x-oma-application:sse.quotes";

/// Receives one event, checks its application and stream, acknowledges it; gives its EventId.
async fn event(agent: &mut Agent, app: &str, stream: &str, data: &str) -> String {
    let d = agent.next().await;
    assert_eq!(d.meta_str("ApplicationId"), Some(app));
    assert_eq!(d.meta_str("Stream"), Some(stream));
    assert_eq!(d.meta_str("Source"), Some("sse"));
    assert_eq!(String::from_utf8_lossy(&d.body), data);
    let id = d.meta_str("EventId").unwrap_or_default().to_string();
    d.ack();
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_of_one_url_share_one_connection_and_one_last_event_id() {
    let rig = Rig::new().await;
    let mut origin = Origin::start().await;
    let url = origin.url("/feed");
    let config = format!(
        "[bearer]\nmode = \"external\"\n\n{}{}",
        stream_section("ticker", &url, TICKER),
        stream_section("quotes", &url, QUOTES)
    );
    let _daemon = rig.daemon("sim", 25, &config).await;
    let mut ticker = Agent::new(rig.address(), "ticker").await;
    ticker.register(&[("ApplicationId", Value::from(TICKER))]).await;
    let mut quotes = Agent::new(rig.address(), "quotes").await;
    quotes.register(&[("ApplicationId", Value::from(QUOTES))]).await;
    rig.manager().await.set_bearer_state("up").await.unwrap();

    let mut first = origin.next().await;
    assert_eq!(first.header("last-event-id"), None);
    first.open_stream().await;
    first.send("retry: 100\n\n").await;
    for (id, data) in [("1", "one"), ("2", "two")] {
        first.event(id, "tick", data).await;
    }
    let mut seen = (Vec::new(), Vec::new());
    for data in ["one", "two"] {
        seen.0.push(event(&mut ticker, TICKER, "ticker", data).await);
        seen.1.push(event(&mut quotes, QUOTES, "quotes", data).await);
    }
    eventually("one stream at Last-Event-ID 2", || async {
        let s = streams(&rig).await;
        s["ticker"]["LastEventId"] == "2" && s["ticker"]["State"] == "connected"
    })
    .await;
    let s = streams(&rig).await;
    assert_eq!(s.as_object().map(|o| o.len()), Some(1), "one stream: {s}");
    assert_eq!(s["ticker"]["Applications"], serde_json::json!([TICKER, QUOTES]), "{s}");
    assert_eq!(s["ticker"]["ApplicationId"], TICKER, "the old key stays: {s}");
    assert_eq!(s["ticker"]["Connects"], 1, "{s}");
    assert!(origin.try_next().is_none(), "a second connection for the same URL");

    // The server closes: one reconnect, from the one Last-Event-ID; only event 3 is new.
    drop(first);
    let mut second = origin.next().await;
    assert_eq!(second.n, 1, "the reconnect is the second connection in all");
    assert_eq!(second.header("last-event-id"), Some("2"));
    second.open_stream().await;
    for (id, data) in [("2", "two"), ("3", "three")] {
        second.event(id, "tick", data).await;
    }
    seen.0.push(event(&mut ticker, TICKER, "ticker", "three").await);
    seen.1.push(event(&mut quotes, QUOTES, "quotes", "three").await);
    ticker.quiet(Duration::from_millis(300)).await;
    quotes.quiet(Duration::from_millis(100)).await;
    assert_eq!(seen.0, ["1", "2", "3"]);
    assert_eq!(seen.1, ["1", "2", "3"]);
    assert!(origin.try_next().is_none(), "one connection at a time");
    assert!(second.still_open(Duration::from_millis(100)).await);
}

/// A SIGHUP that adds an entry of the running URL restarts the one connection from the stored
/// Last-Event-ID: the new application gets the events from there on, the old one loses none and
/// gets none twice; removing it again leaves one connection for the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_joining_and_leaving_a_shared_url_restarts_the_connection_without_loss() {
    let rig = Rig::new().await;
    let mut origin = Origin::start().await;
    let url = origin.url("/feed");
    let base = format!("[bearer]\nmode = \"external\"\n\n{}", stream_section("ticker", &url, TICKER));
    let daemon = rig.daemon("sim", 25, &base).await;
    let mut ticker = Agent::new(rig.address(), "ticker").await;
    ticker.register(&[("ApplicationId", Value::from(TICKER))]).await;
    let mut quotes = Agent::new(rig.address(), "quotes").await;
    quotes.register(&[("ApplicationId", Value::from(QUOTES))]).await;
    rig.manager().await.set_bearer_state("up").await.unwrap();

    let mut first = origin.next().await;
    first.open_stream().await;
    first.event("1", "tick", "one").await;
    assert_eq!(event(&mut ticker, TICKER, "ticker", "one").await, "1");
    eventually("Last-Event-ID 1", || async { streams(&rig).await["ticker"]["LastEventId"] == "1" }).await;

    let shared = format!("{base}{}", stream_section("quotes", &url, QUOTES));
    daemon.rewrite_config(&config_text("sim", rig.address(), &rig.state, 25, &shared));
    daemon.signal(libc::SIGHUP);
    assert!(first.closed_by_client().await, "the connection restarts for its new entry");
    let mut second = origin.next().await;
    assert_eq!(second.header("last-event-id"), Some("1"));
    second.open_stream().await;
    second.event("2", "tick", "two").await;
    assert_eq!(event(&mut ticker, TICKER, "ticker", "two").await, "2");
    assert_eq!(event(&mut quotes, QUOTES, "quotes", "two").await, "2");
    eventually("both applications on one stream", || async {
        streams(&rig).await["ticker"]["Applications"] == serde_json::json!([TICKER, QUOTES])
    })
    .await;

    daemon.rewrite_config(&config_text("sim", rig.address(), &rig.state, 25, &base));
    daemon.signal(libc::SIGHUP);
    assert!(second.closed_by_client().await, "the connection restarts without the entry");
    let mut third = origin.next().await;
    assert_eq!(third.header("last-event-id"), Some("2"));
    third.open_stream().await;
    third.event("3", "tick", "three").await;
    assert_eq!(event(&mut ticker, TICKER, "ticker", "three").await, "3");
    ticker.quiet(Duration::from_millis(300)).await;
    quotes.quiet(Duration::from_millis(100)).await;
    let s = streams(&rig).await;
    assert_eq!(s["ticker"]["Applications"], serde_json::json!([TICKER]), "{s}");
    assert!(origin.try_next().is_none(), "one connection at a time");
}
