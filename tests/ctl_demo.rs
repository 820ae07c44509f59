//! `otapushctl demo` (the README's first command) runs its story to the end: the D-Bus clients
//! and the browser-style EventSource client get their messages (docs/eventsource.md).

use otapush::message::event_message_id;
use otapush_test_support::daemon::bin;

const TICKER: &str = "x-oma-application:sse.ticker";

#[test]
fn the_demo_shows_the_event_stream_to_dbus_and_eventsource_clients() {
    let out = std::process::Command::new(bin("otapushctl"))
        .arg("demo")
        .env("RUST_LOG", "warn")
        .output()
        .expect("cannot run otapushctl demo");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("Done. Every push reached its application once"), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    let dbus: Vec<&str> = lines.iter().copied().filter(|l| l.contains("ticker     ← event")).collect();
    assert_eq!(
        dbus,
        [
            "   ticker     ← event 101 (quote): EUR/USD 1.0842",
            "   ticker     ← event 102 (quote): EUR/USD 1.0845",
            "   ticker     ← event 103 (news): ECB holds rates",
        ],
        "{text}"
    );
    let page: Vec<String> =
        lines.iter().filter(|l| l.contains("web page   ← EventSource")).map(|l| l.to_string()).collect();
    let want: Vec<String> = [
        ("101", "quote", "EUR/USD 1.0842"),
        ("102", "quote", "EUR/USD 1.0845"),
        ("103", "news", "ECB holds rates"),
    ]
    .iter()
    .map(|(id, ty, data)| {
        format!(
            "   web page   ← EventSource id {}… event {ty}: {data}",
            &event_message_id(TICKER, id, "")[..12]
        )
    })
    .collect();
    assert_eq!(page, want, "{text}");
    assert!(
        text.contains("web page   new EventSource(\"/v1/events/x-oma-application:sse.ticker\")"),
        "{text}"
    );
}
