//! SIGHUP reloads against the real daemon (docs/config.md, "Signals"): a file that fails a check
//! is refused with a log line naming the key, and the running configuration stays; keys that a
//! reload does not apply are named in one log line.

use otapush_test_support::{daemon::*, eventually::*};
use zbus::zvariant::Value;

fn stream(url: &str, extra: &str) -> String {
    format!("[[sse]]\nname = \"ticker\"\nurl = {url:?}\napplication_id = \"x-oma-application:sse.ticker\"\n{extra}\n")
}

/// The `Url` the `Streams` property shows for `name`.
async fn stream_url(rig: &Rig, name: &str) -> Option<String> {
    let streams = rig.manager().await.streams().await.unwrap();
    let d = Value::from(streams.get(name)?.clone());
    otapush::ctl::bus::to_json(&d)["Url"].as_str().map(str::to_string)
}

/// Waits for a log line containing `text`.
async fn log_line(daemon: &Daemon, text: &str) -> String {
    let mut found = String::new();
    eventually(&format!("a log line with {text:?}"), || {
        let line = daemon.log_text().lines().find(|l| l.contains(text)).map(str::to_string);
        found = line.clone().unwrap_or_default();
        async move { line.is_some() }
    })
    .await;
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_reload_is_refused_naming_the_key_and_restart_keys_are_named() {
    let rig = Rig::new().await;
    let old_url = "http://127.0.0.1:9/old";
    let daemon = rig.daemon("sim", 25, &stream(old_url, "")).await;
    assert_eq!(stream_url(&rig, "ticker").await.as_deref(), Some(old_url));

    // An out-of-range value: refused, naming key, value and range; the old stream runs on.
    let bad = stream("http://127.0.0.1:9/new", "idle_timeout = 0");
    daemon.rewrite_config(&config_text("sim", rig.address(), &rig.state, 25, &bad));
    daemon.signal(libc::SIGHUP);
    let line = log_line(&daemon, "reload failed").await;
    assert!(
        line.contains("[[sse]] idle_timeout = 0: must be 1..=86400 seconds (stream \"ticker\")"),
        "{line}"
    );
    assert_eq!(stream_url(&rig, "ticker").await.as_deref(), Some(old_url), "the old configuration stays");

    // [cai] and [[access.rule]] changes wait for a restart, and the reload says which.
    let rule = "[[access.rule]]\napplication_id = \"x-wap-application:mms.ua\"\n";
    let later = format!("{}{rule}", stream(old_url, ""));
    daemon.rewrite_config(&config_text("sim", rig.address(), &rig.state, 26, &later));
    daemon.signal(libc::SIGHUP);
    let line = log_line(&daemon, "applies at the next start").await;
    assert!(line.contains("reload: [cai] deliver_timeout, [[access.rule]] changed"), "{line}");
}
