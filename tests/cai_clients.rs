//! The published interface: the introspection XML in `dbus/` matches the running service and
//! agents, the Rust and Python examples register, receive and acknowledge, and the
//! `otapushctl` bus commands print what the daemon holds.

mod cai_common;

#[allow(dead_code)]
#[path = "../examples/rust_client.rs"]
mod rust_client;

use cai_common::*;
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
    assert_eq!(running.len(), 11, "6 methods, 1 signal, 4 properties");

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
    wait_until("the example to register", || async {
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
    wait_until("the example to register", || async {
        observer.manager.list_registrations().await.unwrap().len() == 1
    })
    .await;
    let mms = |id: &str| push(id, Some("x-wap-application:mms.ua"), "application/vnd.wap.mms-message", b"n");
    svc.handle.submit(&[mms("e1"), text("not-for-it", "x"), mms("e2")], &[]).await.unwrap();
    let ids = tokio::time::timeout(GUARD, task).await.unwrap().unwrap().unwrap();
    assert_eq!(ids, vec!["e1".to_string(), "e2".to_string()]);
    // Both acknowledged; the example unregistered; the text message waits unclaimed.
    assert!(observer.manager.list_registrations().await.unwrap().is_empty());
    let t = svc.handle.store().totals().unwrap();
    assert_eq!(t.messages, 1);
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
    assert_eq!(svc.handle.store().totals().unwrap().messages, 0, "acknowledged");
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
    assert!(
        human.contains("filter: ApplicationId=x-wap-application:mms.ua, Name=mms, Persistent=true"),
        "{human}"
    );
    assert!(human.contains("dead letters: 1\n"), "{human}");
    assert!(human.contains("TP-UDL exceeds the PDU at offset 2  PDU 00440b"), "{human}");

    let mut out = Vec::new();
    otapush::ctl::bus::status(&bus.address, true, &mut out).await.unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["modem"], "registered");
    assert_eq!(v["registrations"][0]["Path"], reg.as_str());
    assert_eq!(v["registrations"][0]["Filter"]["Persistent"], true);
    assert_eq!(v["registrations"][0]["Queued"], 0);
    assert_eq!(v["dead_letters"][0]["Pdu"], "00440b");

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
