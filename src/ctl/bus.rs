//! `otapushctl monitor | status | list | inject`: talk to a running `otapushd` over D-Bus.
//! Human output by default, JSON (one object per line for `monitor`) with `--json`. A library
//! API: the binary and the integration tests call these functions (docs/architecture.md).
#![warn(missing_docs)]

use crate::cai::client::ManagerProxy;
use futures_lite::StreamExt;
use serde_json::{json, Map, Value as Json};
use std::collections::HashMap;
use std::io::Write;
use thiserror::Error;
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

/// Why a command could not talk to the daemon.
#[derive(Debug, Error)]
pub enum CtlError {
    /// Nobody owns the bus name on that bus.
    #[error("otapushd is not running on the {0} bus (nobody owns org.otapush.Push1)")]
    NotRunning(String),
    /// The bus refused the connection or a call.
    #[error("D-Bus: {0}")]
    Bus(#[from] zbus::Error),
    /// `inject`'s argument is not hex.
    #[error("bad PDU hex: {0}")]
    Hex(#[from] crate::hex::HexError),
    /// Writing the output failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Connects to `bus` (`system`, `session` or an address) and checks the daemon is there.
pub async fn connect(bus: &str) -> Result<(zbus::Connection, ManagerProxy<'static>), CtlError> {
    let conn = crate::cai::bus_builder(bus)?.build().await?;
    let dbus = zbus::fdo::DBusProxy::new(&conn).await?;
    let name = zbus::names::BusName::try_from(crate::cai::BUS_NAME).map_err(zbus::Error::from)?;
    if !dbus.name_has_owner(name).await.map_err(zbus::Error::from)? {
        return Err(CtlError::NotRunning(bus.to_string()));
    }
    let manager =
        ManagerProxy::builder(&conn).cache_properties(zbus::proxy::CacheProperties::No).build().await?;
    Ok((conn, manager))
}

/// Converts a D-Bus value to JSON: `ay` as lower-case hex, dictionaries as objects,
/// structures as arrays.
pub fn to_json(v: &Value<'_>) -> Json {
    match v {
        Value::U8(n) => json!(n),
        Value::Bool(b) => json!(b),
        Value::I16(n) => json!(n),
        Value::U16(n) => json!(n),
        Value::I32(n) => json!(n),
        Value::U32(n) => json!(n),
        Value::I64(n) => json!(n),
        Value::U64(n) => json!(n),
        Value::F64(n) => json!(n),
        Value::Str(s) => json!(s.as_str()),
        Value::Signature(s) => json!(s.to_string()),
        Value::ObjectPath(p) => json!(p.as_str()),
        Value::Value(inner) => to_json(inner),
        Value::Array(a) if a.element_signature().to_string() == "y" => {
            let bytes: Vec<u8> =
                a.iter().filter_map(|b| if let Value::U8(b) = b { Some(*b) } else { None }).collect();
            json!(crate::hex::encode_lower(&bytes))
        }
        Value::Array(a) => Json::Array(a.iter().map(to_json).collect()),
        Value::Dict(d) => Json::Object(
            d.iter()
                .map(|(k, v)| {
                    let key = match to_json(k) {
                        Json::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Value::Structure(s) => Json::Array(s.fields().iter().map(to_json).collect()),
        #[allow(unreachable_patterns)]
        _ => Json::Null,
    }
}

fn dict_json(d: &HashMap<String, OwnedValue>) -> Map<String, Json> {
    let mut keys: Vec<&String> = d.keys().collect();
    keys.sort();
    keys.into_iter().map(|k| (k.clone(), to_json(&d[k]))).collect()
}

/// A dictionary as `Key=value, Key=value` (sorted), for human output.
fn dict_text(d: &Map<String, Json>) -> String {
    d.iter()
        .map(|(k, v)| match v {
            Json::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn registrations_json(list: &[(OwnedObjectPath, HashMap<String, OwnedValue>)]) -> Vec<Json> {
    list.iter()
        .map(|(path, d)| {
            let mut o = dict_json(d);
            o.insert("Path".into(), json!(path.as_str()));
            Json::Object(o)
        })
        .collect()
}

fn write_registration(out: &mut impl Write, r: &Json) -> std::io::Result<()> {
    let s = |k: &str| r.get(k).cloned().unwrap_or(Json::Null);
    let text = |k: &str| match s(k) {
        Json::String(v) => v,
        Json::Null => String::new(),
        other => other.to_string(),
    };
    let filter = match s("Filter") {
        Json::Object(f) if !f.is_empty() => dict_text(&f),
        _ => "(everything)".into(),
    };
    let name = if text("Name").is_empty() { "-".to_string() } else { text("Name") };
    let persistent = if s("Persistent") == json!(true) { " persistent" } else { "" };
    let conn =
        if s("Connected") == json!(true) { format!("connected {}", text("Owner")) } else { "away".into() };
    // docs/pubsub.md: the groups joined, which also address pushes to this registration.
    let groups = match s("Groups") {
        Json::Array(g) if !g.is_empty() => {
            let names: Vec<String> =
                g.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned)).collect();
            format!("  groups: {}", names.join(", "))
        }
        _ => String::new(),
    };
    // docs/activation.md, ListRegistrations.
    let activation = match s("ActivationState") {
        Json::String(state) => format!(
            "  activation: {state} ({} starts, {} failed)",
            text("ActivationAttempts"),
            text("ActivationErrors")
        ),
        _ => String::new(),
    };
    writeln!(
        out,
        "  {}  uid {}  {name}{persistent}  {conn}  queued {}{groups}  filter: {filter}{activation}",
        text("Path"),
        text("Uid"),
        text("Queued")
    )
}

/// Whether this process runs as root (which sees every registration and `PushReceived`).
fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// `otapushctl list`: the registrations (the daemon shows an unprivileged caller only its own).
pub async fn list(bus: &str, json: bool, out: &mut impl Write) -> Result<(), CtlError> {
    let (_conn, manager) = connect(bus).await?;
    let regs = registrations_json(&manager.list_registrations().await?);
    if json {
        writeln!(out, "{}", Json::Array(regs))?;
    } else {
        writeln!(out, "registrations: {}", regs.len())?;
        if !is_root() {
            writeln!(out, "  (your own; root and [cai] privileged users and groups see all)")?;
        }
        for r in &regs {
            write_registration(out, r)?;
        }
    }
    Ok(())
}

/// `otapushctl status`: modem, bearer, streams, the EventSource endpoint, registrations and dead
/// letters.
pub async fn status(bus: &str, json: bool, out: &mut impl Write) -> Result<(), CtlError> {
    let (_conn, manager) = connect(bus).await?;
    let modem = manager.modem_state().await?;
    let bearer = manager.bearer_state().await?;
    let store = manager.store_state().await?;
    let streams = dict_json(&manager.streams().await?);
    let eventsource = dict_json(&manager.event_source().await?);
    let regs = registrations_json(&manager.list_registrations().await?);
    // The shipped system-bus policy keeps dead letters (other users' summaries) to root and
    // `otapush-admin`: for anyone else the bus refuses the call, and status shows the rest.
    let dead: Option<Vec<Json>> = match manager.list_dead_letters().await {
        Ok(list) => Some(
            list.iter()
                .map(|(id, d)| {
                    let mut o = dict_json(d);
                    o.insert("Id".into(), json!(id));
                    Json::Object(o)
                })
                .collect(),
        ),
        Err(zbus::Error::MethodError(name, _, _))
            if name.as_str() == "org.freedesktop.DBus.Error.AccessDenied" =>
        {
            None
        }
        Err(e) => return Err(e.into()),
    };
    if json {
        let v = json!({
            "modem": modem,
            "bearer": bearer,
            "store": store,
            "streams": streams,
            "eventsource": eventsource,
            "registrations": regs,
            "dead_letters": dead,
        });
        writeln!(out, "{v}")?;
        return Ok(());
    }
    writeln!(out, "modem:   {modem}")?;
    writeln!(out, "bearer:  {bearer}")?;
    writeln!(out, "store:   {store}")?;
    writeln!(out, "streams: {}", streams.len())?;
    for (name, s) in &streams {
        match s {
            Json::Object(o) => writeln!(out, "  {name}: {}", dict_text(o))?,
            other => writeln!(out, "  {name}: {other}")?,
        }
    }
    if eventsource.is_empty() {
        writeln!(out, "eventsource: off")?;
    } else {
        writeln!(out, "eventsource: {}", dict_text(&eventsource))?;
    }
    writeln!(out, "registrations: {}", regs.len())?;
    for r in &regs {
        write_registration(out, r)?;
    }
    let Some(dead) = dead else {
        writeln!(out, "dead letters: not visible to this user (root and otapush-admin)")?;
        return Ok(());
    };
    writeln!(out, "dead letters: {}", dead.len())?;
    for d in &dead {
        let get = |k: &str| d.get(k).and_then(|v| v.as_str()).unwrap_or("");
        let what = match (get("Summary"), get("Pdu")) {
            ("", "") => String::new(),
            ("", pdu) => format!("  PDU {pdu}"),
            (summary, _) => format!("  {summary}"),
        };
        writeln!(out, "  #{} {}  {}{what}", get("Id"), get("DeadTime"), get("Reason"))?;
    }
    Ok(())
}

/// `otapushctl inject HEX`: feeds one PDU to the daemon (`InjectPdu`). Gives its length.
pub async fn inject(bus: &str, hex: &str) -> Result<usize, CtlError> {
    let pdu = crate::hex::decode(hex)?;
    let (_conn, manager) = connect(bus).await?;
    manager.inject_pdu(&pdu).await?;
    Ok(pdu.len())
}

/// One `PushReceived` as a human line.
fn monitor_line(id: &str, meta: &Map<String, Json>) -> String {
    let get = |k: &str| meta.get(k).and_then(|v| v.as_str()).unwrap_or("");
    let mut line = format!("{}  {id}  {}", get("ReceivedTime"), get("Kind"));
    for key in ["ApplicationId", "ContentType", "Stream", "EventId"] {
        if !get(key).is_empty() {
            line.push_str("  ");
            line.push_str(get(key));
        }
    }
    if let Some(port) = meta.get("Port") {
        line.push_str(&format!("  port {port}"));
    }
    if !get("Originator").is_empty() {
        line.push_str(&format!("  from {}", get("Originator")));
    }
    line
}

/// One `PushReceived` as a JSON line: `{"id": ..., "meta": {...}}`.
fn monitor_json(id: &str, meta: Map<String, Json>) -> Json {
    json!({"id": id, "meta": meta})
}

/// `otapushctl monitor`: prints each message as the daemon accepts it (`PushReceived`), until
/// the connection ends or, with `limit`, after that many. On the system bus the policy
/// delivers `PushReceived` only to root and `otapush-admin`; others are told so there.
pub async fn monitor(
    bus: &str,
    json: bool,
    out: &mut impl Write,
    limit: Option<usize>,
) -> Result<(), CtlError> {
    let (_conn, manager) = connect(bus).await?;
    let mut signals = manager.receive_push_received().await?;
    if !json {
        writeln!(out, "monitoring pushes on the {bus} bus")?;
        if !is_root() && bus == "system" {
            writeln!(out, "(the bus delivers PushReceived only to root and members of otapush-admin)")?;
        }
        out.flush()?;
    }
    let mut count = 0;
    while limit.is_none_or(|l| count < l) {
        let Some(signal) = signals.next().await else { break };
        let args = signal.args()?;
        let meta = dict_json(args.meta());
        if json {
            writeln!(out, "{}", monitor_json(args.id(), meta))?;
        } else {
            writeln!(out, "{}", monitor_line(args.id(), &meta))?;
        }
        out.flush()?;
        count += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_become_json() {
        let d: HashMap<&str, Value<'_>> = HashMap::from([("a", Value::from("x"))]);
        assert_eq!(to_json(&Value::from(d)), json!({"a": "x"}));
        assert_eq!(to_json(&Value::from(vec![0x0au8, 0xff])), json!("0aff"));
        assert_eq!(to_json(&Value::from(vec!["a", "b"])), json!(["a", "b"]));
        assert_eq!(to_json(&Value::U16(2948)), json!(2948));
        assert_eq!(to_json(&Value::Value(Box::new(Value::Bool(true)))), json!(true));
    }

    #[test]
    fn monitor_lines_read_like_a_log_or_json() {
        let meta: Map<String, Json> = serde_json::from_value(json!({
            "ReceivedTime": "2024-05-01T10:00:05+00:00", "Kind": "wsp_push",
            "ApplicationId": "x-wap-application:mms.ua", "ContentType": "application/vnd.wap.mms-message",
            "Port": 2948, "Originator": "+4915112345678"
        }))
        .unwrap();
        assert_eq!(
            monitor_line("ab12", &meta),
            "2024-05-01T10:00:05+00:00  ab12  wsp_push  x-wap-application:mms.ua  \
             application/vnd.wap.mms-message  port 2948  from +4915112345678"
        );
        let j = monitor_json("ab12", meta);
        assert_eq!(j["id"], "ab12");
        assert_eq!(j["meta"]["Port"], 2948);
        assert_eq!(j.to_string().lines().count(), 1);
    }
}
