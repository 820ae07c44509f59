//! The published interface: the introspection XML in `dbus/` matches the running service and
//! agents, the Rust and Python examples register, receive and acknowledge, and the
//! `otapushctl` bus commands print what the daemon holds.

#[allow(dead_code)]
#[path = "../examples/rust_client.rs"]
mod rust_client;

use otapush_test_support::bus::{connect, Bus};
use otapush_test_support::cai::*;
use otapush_test_support::eventually::*;
use std::collections::BTreeMap;
use zbus::zvariant::Value;

/// One element of introspection XML: its name attribute and children, or an arg.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
enum Item {
    Member { kind: String, name: String, attrs: BTreeMap<String, String>, children: Vec<Item> },
}

/// Parses the `<interface name="...">` element of introspection XML into its members (methods,
/// signals, properties with their args in order and attributes), sorted by kind and name.
/// Comments and layout are ignored, so the files may carry documentation.
fn interface(xml: &str, name: &str) -> Vec<Item> {
    let mut text = xml.to_string();
    while let Some(start) = text.find("<!--") {
        let end = text[start..].find("-->").map(|e| start + e + 3).expect("unterminated comment");
        text.replace_range(start..end, "");
    }
    // Tags in order: (name, attributes, self-closing, closing).
    let mut tags = Vec::new();
    let mut rest = text.as_str();
    while let Some(open) = rest.find('<') {
        let close = rest[open..].find('>').expect("unterminated tag") + open;
        let tag = rest[open + 1..close].trim();
        rest = &rest[close + 1..];
        if tag.starts_with('!') || tag.starts_with('?') {
            continue;
        }
        let closing = tag.starts_with('/');
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_start_matches('/').trim_end_matches('/').trim();
        let (tname, attr_text) = tag.split_once(char::is_whitespace).unwrap_or((tag, ""));
        let mut attrs = BTreeMap::new();
        let mut a = attr_text;
        while let Some(eq) = a.find('=') {
            let key = a[..eq].trim().to_string();
            let v = &a[eq + 1..];
            let q = v.find('"').unwrap();
            let end = v[q + 1..].find('"').unwrap() + q + 1;
            attrs.insert(key, v[q + 1..end].to_string());
            a = &v[end + 1..];
        }
        tags.push((tname.to_string(), attrs, self_closing, closing));
    }
    let start = tags
        .iter()
        .position(|(t, a, _, c)| t == "interface" && !c && a.get("name").map(String::as_str) == Some(name))
        .unwrap_or_else(|| panic!("no interface {name}"));
    let mut members = Vec::new();
    let mut stack: Vec<Item> = Vec::new();
    for (t, attrs, self_closing, closing) in &tags[start + 1..] {
        if t == "interface" && *closing {
            break;
        }
        if *closing {
            let done = stack.pop().unwrap();
            match stack.last_mut() {
                Some(Item::Member { children, .. }) => children.push(done),
                None => members.push(done),
            }
            continue;
        }
        let mut attrs = attrs.clone();
        let item_name = attrs.remove("name").unwrap_or_default();
        let item = Item::Member { kind: t.clone(), name: item_name, attrs, children: vec![] };
        if *self_closing {
            match stack.last_mut() {
                Some(Item::Member { children, .. }) => children.push(item),
                None => members.push(item),
            }
        } else {
            stack.push(item);
        }
    }
    members.sort();
    members
}

async fn introspect(conn: &zbus::Connection, dest: &str, path: &str) -> String {
    let p = zbus::fdo::IntrospectableProxy::builder(conn)
        .destination(dest.to_string())
        .unwrap()
        .path(path.to_string())
        .unwrap()
        .build()
        .await
        .unwrap();
    p.introspect().await.unwrap()
}

fn repo_file(rel: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap()
}

#[tokio::test]
async fn introspection_xml_matches_the_service_and_the_agents() {
    let bus = Bus::start();
    let dir = tempfile::tempdir().unwrap();
    let _svc = start_service(&bus, &config(dir.path())).await;
    let c = client(&bus).await;

    let manager_file =
        interface(&repo_file("dbus/org.otapush.Push1.Manager.xml"), "org.otapush.Push1.Manager");
    let running = interface(
        &introspect(&c.conn, "org.otapush.Push1", "/org/otapush/Push1").await,
        "org.otapush.Push1.Manager",
    );
    assert_eq!(running, manager_file);
    assert_eq!(running.len(), 14, "8 methods, 1 signal, 5 properties");

    let agent_file = interface(&repo_file("dbus/org.otapush.Push1.Agent.xml"), "org.otapush.Push1.Agent");
    // The library's agent.
    let _events = otapush::cai::client::serve_agent(&c.conn, "/test/agent", 1).await.unwrap();
    let me = c.conn.unique_name().unwrap().to_string();
    let lib_agent = interface(&introspect(&c.conn, &me, "/test/agent").await, "org.otapush.Push1.Agent");
    assert_eq!(lib_agent, agent_file);
    // The Rust example's agent, served on another connection.
    let ex = connect(&bus).await;
    let ex_task = {
        let ex = ex.clone();
        tokio::spawn(async move { rust_client::run(&ex, None, Some(1)).await })
    };
    let ex_name = ex.unique_name().unwrap().to_string();
    eventually("the example to register", || async {
        c.manager.list_registrations().await.unwrap().len() == 1
    })
    .await;
    let ex_agent =
        interface(&introspect(&c.conn, &ex_name, rust_client::AGENT_PATH).await, "org.otapush.Push1.Agent");
    assert_eq!(ex_agent, agent_file);
    ex_task.abort();
}

#[tokio::test]
async fn rust_example_registers_receives_and_acknowledges() {
    let bus = Bus::start();
    let dir = tempfile::tempdir().unwrap();
    let svc = start_service(&bus, &config(dir.path())).await;
    let conn = connect(&bus).await;
    let task =
        tokio::spawn(async move { rust_client::run(&conn, Some("x-wap-application:mms.ua"), Some(2)).await });
    let observer = client(&bus).await;
    eventually("the example to register", || async {
        observer.manager.list_registrations().await.unwrap().len() == 1
    })
    .await;
    let mms = |id: &str| push(id, Some("x-wap-application:mms.ua"), "application/vnd.wap.mms-message", b"n");
    svc.handle.submit(&[mms("e1"), text("not-for-it", "x"), mms("e2")], &[]).await.unwrap();
    let ids = tokio::time::timeout(GUARD, task).await.unwrap().unwrap().unwrap();
    assert_eq!(ids, vec!["e1".to_string(), "e2".to_string()]);
    // Both acknowledged; the example unregistered; the text message waits unclaimed. An
    // acknowledged message's removal commits a moment after the answer (the deliverer does not
    // wait for it), so the store is read until it has.
    assert!(observer.manager.list_registrations().await.unwrap().is_empty());
    eventually_sync("the acknowledged messages to be removed", || {
        svc.handle.store().totals().unwrap().messages == 1
    })
    .await;
    assert_eq!(svc.handle.store().queued_count(otapush::store::UNCLAIMED).unwrap(), 1);
}

#[tokio::test]
async fn python_example_registers_receives_and_acknowledges() {
    let bus = Bus::start();
    let dir = tempfile::tempdir().unwrap();
    let svc = start_service(&bus, &config(dir.path())).await;
    let mut child = tokio::process::Command::new("/usr/bin/python3")
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/python_client.py"))
        .args(["--address", &bus.address, "--app-id", "4", "--count", "1"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("/usr/bin/python3 (with python3-dbus and python3-gi)");
    let stdout = child.stdout.take().unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
    let first = tokio::time::timeout(GUARD, lines.next_line()).await.unwrap().unwrap().unwrap();
    assert!(first.starts_with("registered /org/otapush/Push1/registration/"), "{first}");

    let mut m = push("py1", Some("x-wap-application:mms.ua"), "application/vnd.wap.mms-message", b"\x8c\x82");
    m.originator = "+4930123".into();
    svc.handle.submit(&[m], &[]).await.unwrap();
    let line = tokio::time::timeout(GUARD, lines.next_line()).await.unwrap().unwrap().unwrap();
    assert_eq!(
        line,
        "deliver py1: wsp_push x-wap-application:mms.ua application/vnd.wap.mms-message from +4930123: 2 octets"
    );
    let status = tokio::time::timeout(GUARD, child.wait()).await.unwrap().unwrap();
    assert!(status.success());
    // The removal commits a moment after the acknowledgement.
    eventually_sync("the acknowledged message to be removed", || {
        svc.handle.store().totals().unwrap().messages == 0
    })
    .await;
}

#[tokio::test]
async fn otapushctl_status_list_inject_and_monitor() {
    let bus = Bus::start();
    let dir = tempfile::tempdir().unwrap();
    let mut svc = start_service(&bus, &config(dir.path())).await;
    let ctl = otapush::ctl::bus::status(&bus.address, false, &mut Vec::new()).await;
    assert!(ctl.is_ok());

    let c = client(&bus).await;
    let (reg, _agent) = c
        .register(&[
            ("ApplicationId", Value::from("x-wap-application:mms.ua")),
            ("Persistent", Value::Bool(true)),
            ("Name", Value::from("mms")),
            ("Groups", Value::from(vec!["family", "work"])),
        ])
        .await;
    svc.handle.set_modem_state("registered");
    svc.handle.set_bearer_state("down");
    let spooled = svc.handle.store().spool_pdu(&[0x00, 0x44, 0x0b], 0).unwrap();
    svc.handle.store().dead_letter(&[spooled], "TP-UDL exceeds the PDU at offset 2", 1000).unwrap();

    let mut out = Vec::new();
    otapush::ctl::bus::status(&bus.address, false, &mut out).await.unwrap();
    let human = String::from_utf8(out).unwrap();
    assert!(human.contains("modem:   registered\nbearer:  down\n"), "{human}");
    assert!(human.contains(&format!("  {reg}  uid ")), "{human}");
    assert!(human.contains("mms persistent  connected :"), "{human}");
    assert!(human.contains(" queued 0  groups: family, work  filter: "), "{human}");
    assert!(
        human.contains(
            "filter: ApplicationId=x-wap-application:mms.ua, Groups=[\"family\",\"work\"], Name=mms, Persistent=true"
        ),
        "{human}"
    );
    assert!(human.contains("dead letters: 1\n"), "{human}");
    assert!(human.contains("\neventsource: off\n"), "{human}");
    assert!(human.contains("TP-UDL exceeds the PDU at offset 2  PDU 00440b"), "{human}");

    let mut out = Vec::new();
    otapush::ctl::bus::status(&bus.address, true, &mut out).await.unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["modem"], "registered");
    assert_eq!(v["registrations"][0]["Path"], reg.as_str());
    assert_eq!(v["registrations"][0]["Filter"]["Persistent"], true);
    assert_eq!(v["registrations"][0]["Queued"], 0);
    assert_eq!(v["dead_letters"][0]["Pdu"], "00440b");
    assert_eq!(v["eventsource"], serde_json::json!({}));

    let mut out = Vec::new();
    otapush::ctl::bus::list(&bus.address, true, &mut out).await.unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v[0]["Name"], "mms");

    let n = otapush::ctl::bus::inject(&bus.address, "0004 0b").await;
    assert!(n.is_err(), "hex with a space inside is refused");
    assert_eq!(otapush::ctl::bus::inject(&bus.address, "00040B").await.unwrap(), 3);
    assert_eq!(svc.injected.recv().await.unwrap(), vec![0x00, 0x04, 0x0b]);

    // monitor prints each accepted message once; its first line says it is listening.
    let (tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
    let address = bus.address.clone();
    let monitor = tokio::spawn(async move {
        otapush::ctl::bus::monitor(&address, false, &mut LineSender(tx, Vec::new()), Some(2)).await.unwrap()
    });
    assert_eq!(next_line(&mut lines).await, format!("monitoring pushes on the {} bus", bus.address));
    let m = push("mon1", Some("x-wap-application:mms.ua"), "application/vnd.wap.mms-message", b"n");
    svc.handle.submit(&[m.clone(), m, text("mon2", "hi")], &[]).await.unwrap();
    assert_eq!(
        next_line(&mut lines).await,
        "2024-05-01T10:00:05+00:00  mon1  wsp_push  x-wap-application:mms.ua  application/vnd.wap.mms-message  \
         port 2948  from +4915112345678"
    );
    assert_eq!(
        next_line(&mut lines).await,
        "2024-05-01T10:00:05+00:00  mon2  text  text/plain; charset=utf-8  from +4915112345678"
    );
    tokio::time::timeout(GUARD, monitor).await.unwrap().unwrap();

    let err = otapush::ctl::bus::status(&Bus::start().address, false, &mut Vec::new()).await.unwrap_err();
    assert!(err.to_string().contains("otapushd is not running"), "{err}");
}

/// A `Write` that sends each complete line to a channel.
struct LineSender(tokio::sync::mpsc::UnboundedSender<String>, Vec<u8>);

impl std::io::Write for LineSender {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.1.extend_from_slice(buf);
        while let Some(nl) = self.1.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.1.drain(..=nl).collect();
            let _ = self.0.send(String::from_utf8_lossy(&line[..nl]).into_owned());
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn next_line(lines: &mut tokio::sync::mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(GUARD, lines.recv()).await.unwrap().unwrap()
}

// ---------------------------------------------------------------------------------------------
// Local users cannot block or watch each other (a second uid on a policy-enforcing bus as root).

use otapush_test_support::roles::{
    field, my_uid, read_until, role_main, role_output, run_role, spawn_role, NOBODY,
};

/// The child side of the tests below (does nothing unless run as a role).
#[test]
fn cai_role() {
    role_main();
}

/// Runs a role to its end, off the runtime's threads.
async fn role(uid: Option<u32>, name: &'static str, bus: &Bus, arg: &'static str) -> Vec<String> {
    let address = bus.address.clone();
    tokio::task::spawn_blocking(move || run_role(uid, name, &address, arg)).await.unwrap()
}

/// Queue rows written, bytes the store dir grows and milliseconds it takes per push, over `n`
/// text messages.
async fn push_cost(svc: &Service, dir: &std::path::Path, tag: &str, n: usize) -> (u64, u64, f64) {
    let size =
        || -> u64 { std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum() };
    let store = svc.handle.store();
    let rows = || -> u64 {
        let regs = store.registrations().unwrap();
        let ids = regs.iter().map(|r| r.id).chain([otapush::store::UNCLAIMED]);
        ids.map(|id| store.queued_count(id).unwrap()).sum()
    };
    let (before, rows_before) = (size(), rows());
    let t = std::time::Instant::now();
    for i in 0..n {
        svc.handle.submit(&[text(&format!("{tag}-{i}"), "cost")], &[]).await.unwrap();
    }
    let ms = t.elapsed().as_secs_f64() * 1000.0 / n as f64;
    ((rows() - rows_before) / n as u64, size().saturating_sub(before) / n as u64, ms)
}

/// Issue 12 item 9: one unprivileged uid made 1,022 persistent registrations (a fresh
/// connection per 60 dodged the per-connection cap); then every `Register`, root's included,
/// got `LimitExceeded`, also after a restart. Now the uid stops at `[cai]
/// max_persistent_per_uid`, root registers, before and after a restart, and each push costs
/// queue rows for at most that many of the uid's registrations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_user_cannot_squat_registrations_and_root_still_registers_after_restart() {
    let root = my_uid() == 0;
    // As root the attacker is nobody on a bus enforcing the shipped policy; otherwise the flood
    // runs as our own (unprivileged) uid and root's reserve is not checked.
    let (bus, attacker) = if root { (Bus::start_system(), Some(NOBODY)) } else { (Bus::start(), None) };
    if !root {
        eprintln!("not root: the flood runs as uid {}; root's reserve is not checked", my_uid());
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let quota = cfg.cai.max_persistent_per_uid;
    let svc = start_service(&bus, &cfg).await;
    let (idle_rows, idle_bytes, idle_ms) = push_cost(&svc, dir.path(), "idle", 50).await;
    let t = std::time::Instant::now();
    let out = role(attacker, "flood", &bus, "1030").await;
    let flood_s = t.elapsed().as_secs_f64();
    let accepted = field(&out[0], "accepted");
    let (rows, bytes, ms) = push_cost(&svc, dir.path(), "squat", 50).await;
    eprintln!("FIGURES squat: attempted 1030, accepted {accepted} in {flood_s:.1} s ({})", out[0]);
    eprintln!(
        "FIGURES per push: {idle_rows} queue rows {idle_bytes} B {idle_ms:.2} ms without, \
         {rows} rows {bytes} B {ms:.2} ms with the squatter"
    );
    assert!(
        rows <= quota as u64 + 1,
        "a push is queued for at most the quota of the squatter's registrations"
    );
    assert_eq!(accepted, quota, "{out:?}");
    let held = |svc: &Service| {
        let uid = attacker.unwrap_or_else(my_uid);
        svc.handle.store().registrations().unwrap().iter().filter(|r| r.uid == uid).count()
    };
    assert_eq!(held(&svc), quota);
    if root {
        let me = client(&bus).await;
        me.register(&[("Persistent", Value::from(true)), ("Name", Value::from("root-before"))]).await;
    }
    svc.handle.shutdown().await;

    let svc = start_service(&bus, &cfg).await;
    let out = role(attacker, "flood", &bus, "100").await;
    // Its own names are taken over; no new one is accepted.
    assert_eq!(field(&out[0], "accepted"), quota, "{out:?}");
    assert_eq!(held(&svc), quota);
    if root {
        let me = client(&bus).await;
        me.register(&[("Persistent", Value::from(true)), ("Name", Value::from("root-after"))]).await;
        let list = me.manager.list_registrations().await.unwrap();
        assert_eq!(list.len(), quota + 2, "root sees every registration");
    }
}

/// A store squatted by an older version (1,022 persistent registrations of one uid): on start
/// the uid keeps its oldest `max_persistent_per_uid`, the rest end, and registering works.
#[tokio::test]
async fn a_squatted_store_is_trimmed_to_the_quota_on_start() {
    let bus = Bus::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    {
        let store = otapush::store::Store::open(&cfg.store.dir, cfg.store_limits()).unwrap();
        for i in 0..1022 {
            store.insert_registration(4242, &[4242], &format!("sq{i}"), true, "{}", 1).unwrap();
        }
    }
    let svc = start_service(&bus, &cfg).await;
    let regs = svc.handle.store().registrations().unwrap();
    let names: Vec<&str> = regs.iter().filter(|r| r.uid == 4242).map(|r| r.name.as_str()).collect();
    let kept: Vec<String> = (0..cfg.cai.max_persistent_per_uid).map(|i| format!("sq{i}")).collect();
    assert_eq!(names, kept);
    let me = client(&bus).await;
    me.register(&[("Persistent", Value::from(true)), ("Name", Value::from("mine"))]).await;
}

/// Issue 12 item 9: any user saw `PushReceived` (originator, application id, headers,
/// transaction id) of pushes an `[access] rule` keeps from them, and `ListRegistrations`
/// showed every user's uid, filter and agent. Now nobody sees only its own registrations and
/// no `PushReceived` (the shipped policy lets only root and `otapush-admin` receive it), while
/// root's monitor still gets every one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_users_registrations_and_protected_push_metadata_stay_hidden() {
    if my_uid() != 0 {
        eprintln!("not root: a second uid needs root; skipped (CI runs as root)");
        return;
    }
    use futures_lite::StreamExt;
    let bus = Bus::start_system();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.access.rules = vec![otapush::config::AccessRule {
        application_id: "x-wap-application:syncml.dm".into(),
        users: vec!["root".into()],
        ..Default::default()
    }];
    let svc = start_service(&bus, &cfg).await;
    let me = client(&bus).await;
    let mut monitor = me.manager.receive_push_received().await.unwrap();
    let (_reg, mut dm_agent) =
        me.register(&[("ApplicationId", Value::from("x-wap-application:syncml.dm"))]).await;

    let mut peek = spawn_role(Some(NOBODY), "peek", &bus.address, "");
    let mut out = role_output(&mut peek);
    let mut out = tokio::task::spawn_blocking(move || {
        read_until(&mut out, "ready");
        out
    })
    .await
    .unwrap();
    let mut secret =
        push("dm-secret", Some("x-wap-application:syncml.dm"), "application/vnd.syncml.notification", b"x");
    secret.originator = "+4917000042".into();
    secret.headers.insert("X-Secret".into(), "kept".into());
    svc.handle.submit(&[secret], &[]).await.unwrap();
    svc.handle.submit(&[text("sentinel", "hi")], &[]).await.unwrap();
    assert_eq!(dm_agent.ack_next().await, "dm-secret");
    for id in ["dm-secret", "sentinel"] {
        let s = tokio::time::timeout(GUARD, monitor.next()).await.unwrap().unwrap();
        assert_eq!(s.args().unwrap().id(), id, "root's monitor gets every PushReceived");
    }
    let lines = tokio::task::spawn_blocking(move || {
        let lines = read_until(&mut out, "list");
        std::io::copy(&mut out, &mut std::io::sink()).unwrap();
        lines
    })
    .await
    .unwrap();
    peek.wait().unwrap();
    assert!(lines.iter().any(|l| l == "delivered sentinel"), "{lines:?}");
    let leaked: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("dm-secret") || l.contains("+4917000042") || l.contains("syncml"))
        .collect();
    assert!(leaked.is_empty(), "nobody saw protected metadata: {leaked:?}");
    assert!(!lines.iter().any(|l| l.starts_with("signal")), "nobody receives no PushReceived: {lines:?}");
    assert_eq!(lines.last().unwrap(), "list U32(65534)", "nobody lists only its own registration");

    // `otapushctl status` works for both; dead letters (other users' summaries) only for root.
    let status = |uid: Option<u32>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_otapushctl"));
        cmd.args(["status", "--json", "--bus", &bus.address]);
        if let Some(uid) = uid {
            std::os::unix::process::CommandExt::uid(&mut cmd, uid);
            std::os::unix::process::CommandExt::gid(&mut cmd, uid);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "status as {uid:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let as_nobody = status(Some(NOBODY));
    assert_eq!(as_nobody["dead_letters"], serde_json::Value::Null, "{as_nobody}");
    assert!(as_nobody["modem"].is_string(), "{as_nobody}");
    assert!(status(None)["dead_letters"].is_array());
}
