//! `otapushctl mms-bridge`: an agent that hands every MMS notification push to mmsd-tng
//! (`org.ofono.mms.ModemManager.PushNotify(ay)` on the user's bus) and acknowledges it to
//! otapushd only once mmsd-tng has accepted it (docs/mms.md).
//!
//! `PushNotify` takes the whole connectionless WSP Push PDU, TID first (WAP-230 §8.2.4.1), and
//! mmsd-tng only keeps a Push (0x06); `Deliver` gives the body after the headers, so the PDU is
//! rebuilt from the meta keys: TID, PDU type 0x06, content type and X-Wap-Application-Id.

use futures_lite::StreamExt;
use otapush::cai::client::{serve_agent, AgentEvent, Delivery, ManagerProxy, Reply};
use otapush::wsp::encode::{encode, EncodeError, PushSpec};
use otapush::wsp::PduType;
use std::collections::HashMap;
use std::time::Duration;
use zbus::zvariant::{ObjectPath, OwnedValue, Value};

/// The MMS notification filter: OMNA app id 0x04 and the MMS content type.
pub const APPLICATION_ID: &str = "x-wap-application:mms.ua";
pub const CONTENT_TYPE: &str = "application/vnd.wap.mms-message";
/// Where the bridge serves `org.otapush.Push1.Agent` on its connection to otapushd.
pub const AGENT_PATH: &str = "/org/otapush/MmsBridge";

/// mmsd-tng's push entry point.
#[zbus::proxy(
    interface = "org.ofono.mms.ModemManager",
    default_service = "org.ofono.mms",
    default_path = "/org/ofono/mms",
    gen_blocking = false
)]
trait MmsdModemManager {
    fn push_notify(&self, smswap: &[u8]) -> zbus::Result<()>;
}

/// How the bridge runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// otapushd's bus: `system`, `session` or an address.
    pub bus: String,
    /// mmsd-tng's bus (the user's session bus).
    pub mmsd_bus: String,
    /// `Name` of the persistent registration.
    pub name: String,
    /// Bound on one `PushNotify` call; keep it below otapushd's `[cai] deliver_timeout`.
    pub timeout: Duration,
    /// `QueueTtl` of the registration (seconds), if not the daemon's default.
    pub queue_ttl: Option<u32>,
}

/// Why a delivery cannot become a WSP Push PDU.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PduError {
    #[error("meta key {0} is missing or has the wrong type")]
    Meta(&'static str),
    #[error("cannot encode the push: {0}")]
    Encode(#[from] EncodeError),
}

fn meta_str<'a>(meta: &'a HashMap<String, OwnedValue>, key: &'static str) -> Result<&'a str, PduError> {
    match meta.get(key).map(|v| &**v) {
        Some(Value::Str(s)) => Ok(s.as_str()),
        _ => Err(PduError::Meta(key)),
    }
}

/// The connectionless WSP Push PDU (WAP-230 §8.2.4.1) of a delivered WAP Push: its TID, PDU
/// type Push (a ConfirmedPush cannot be confirmed over SMS, and mmsd-tng drops 0x07), content
/// type with parameters, X-Wap-Application-Id, then `body`. Other headers are not carried:
/// mmsd-tng reads none of them.
pub fn wsp_pdu(meta: &HashMap<String, OwnedValue>, body: &[u8]) -> Result<Vec<u8>, PduError> {
    if meta_str(meta, "Kind")? != "wsp_push" {
        return Err(PduError::Meta("Kind"));
    }
    let tid = match meta.get("TransactionId").map(|v| &**v) {
        Some(Value::U8(t)) => *t,
        _ => return Err(PduError::Meta("TransactionId")),
    };
    let content_type = meta_str(meta, "ContentType")?.to_string();
    let app_id = meta_str(meta, "ApplicationId").ok().map(str::to_string);
    let mut content_type_params: Vec<(String, String)> = match meta.get("ContentTypeParams") {
        None => Vec::new(),
        Some(v) => HashMap::<String, String>::try_from(
            v.try_clone().map_err(|_| PduError::Meta("ContentTypeParams"))?,
        )
        .map_err(|_| PduError::Meta("ContentTypeParams"))?
        .into_iter()
        .collect(),
    };
    content_type_params.sort();
    let spec = PushSpec {
        tid,
        pdu_type: PduType::Push,
        content_type,
        content_type_params,
        app_id,
        headers: Vec::new(),
        body: body.to_vec(),
    };
    Ok(encode(&spec)?)
}

/// The filter the bridge registers with.
pub fn filter(o: &Options) -> HashMap<&'static str, Value<'static>> {
    let mut f = HashMap::new();
    f.insert("ApplicationId", Value::from(APPLICATION_ID));
    f.insert("ContentType", Value::from(CONTENT_TYPE));
    f.insert("Persistent", Value::from(true));
    f.insert("Name", Value::from(o.name.clone()));
    if let Some(ttl) = o.queue_ttl {
        f.insert("QueueTtl", Value::U32(ttl));
    }
    f
}

/// Hands one delivery to mmsd-tng and says how to answer otapushd.
async fn forward(mmsd: &mut Option<zbus::Connection>, o: &Options, d: &Delivery) -> Reply {
    let pdu = match wsp_pdu(&d.meta, &d.body) {
        Ok(p) => p,
        // Nothing mmsd-tng could ever take: never again.
        Err(e) => return Reply::Reject(e.to_string()),
    };
    let attempt = async {
        if mmsd.is_none() {
            *mmsd = Some(otapush::cai::bus_builder(&o.mmsd_bus)?.build().await?);
        }
        let conn = mmsd.as_ref().ok_or_else(|| zbus::Error::Failure("no connection".into()))?;
        MmsdModemManagerProxy::builder(conn)
            .cache_properties(zbus::proxy::CacheProperties::No)
            .build()
            .await?
            .push_notify(&pdu)
            .await
    };
    match tokio::time::timeout(o.timeout, attempt).await {
        Ok(Ok(())) => Reply::Ack,
        Ok(Err(e)) => {
            if matches!(e, zbus::Error::InputOutput(_)) {
                *mmsd = None;
            }
            Reply::Retry(format!("mmsd-tng did not accept it: {e}"))
        }
        Err(_) => {
            *mmsd = None;
            Reply::Retry(format!("mmsd-tng did not answer within {:?}", o.timeout))
        }
    }
}

type OwnerChanges = zbus::fdo::NameOwnerChangedStream;

/// The unique name owning `org.otapush.Push1` now, or after the next change that gives it one.
async fn daemon_owner(dbus: &zbus::fdo::DBusProxy<'_>, changes: &mut OwnerChanges) -> Result<String, String> {
    let name = zbus::names::BusName::try_from(otapush::cai::BUS_NAME).map_err(|e| e.to_string())?;
    if let Ok(owner) = dbus.get_name_owner(name).await {
        return Ok(owner.to_string());
    }
    log::info!("waiting for otapushd ({}) on the bus", otapush::cai::BUS_NAME);
    while let Some(sig) = changes.next().await {
        if let Some(owner) = sig.args().ok().and_then(|a| a.new_owner().as_ref().map(|n| n.to_string())) {
            return Ok(owner);
        }
    }
    Err("the bus connection closed".into())
}

/// Waits (at most `limit`) until `org.otapush.Push1` is no longer owned by `owner`.
async fn owner_gone(changes: &mut OwnerChanges, owner: &str, limit: Duration) {
    let _ = tokio::time::timeout(limit, async {
        while let Some(sig) = changes.next().await {
            let new = sig.args().ok().and_then(|a| a.new_owner().as_ref().map(|n| n.to_string()));
            if new.as_deref() != Some(owner) {
                return;
            }
        }
    })
    .await;
}

/// Runs the bridge until the bus connection to otapushd closes or another bridge takes the
/// registration over.
pub async fn run(o: Options) -> Result<(), String> {
    let conn = otapush::cai::bus_builder(&o.bus)
        .map_err(|e| e.to_string())?
        .build()
        .await
        .map_err(|e| format!("cannot connect to the {} bus: {e}", o.bus))?;
    let mut inbox = serve_agent(&conn, AGENT_PATH, 4).await.map_err(|e| e.to_string())?;
    let manager = ManagerProxy::builder(&conn)
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()
        .await
        .map_err(|e| e.to_string())?;
    let agent = ObjectPath::try_from(AGENT_PATH).map_err(|e| e.to_string())?;
    let dbus = zbus::fdo::DBusProxy::new(&conn).await.map_err(|e| e.to_string())?;
    let mut changes = dbus
        .receive_name_owner_changed_with_args(&[(0, otapush::cai::BUS_NAME)])
        .await
        .map_err(|e| e.to_string())?;
    let mut mmsd = None;
    loop {
        let owner = daemon_owner(&dbus, &mut changes).await?;
        let reg = match manager.register(filter(&o), &agent).await {
            Ok(r) => r,
            Err(e) => {
                // The daemon may be starting or stopping; try again shortly.
                log::warn!("Register: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        log::info!("registered as {} for {APPLICATION_ID}, {CONTENT_TYPE}", reg.as_str());
        loop {
            let event = tokio::select! {
                ev = inbox.recv() => ev,
                sig = changes.next() => {
                    let new = sig.and_then(|s| s.args().ok().and_then(|a| a.new_owner().as_ref().map(|n| n.to_string())));
                    if new.as_deref() == Some(owner.as_str()) {
                        continue;
                    }
                    // otapushd went away without a Release (a crash): register with the next one.
                    log::info!("otapushd left the bus; registering again when it is back");
                    break;
                }
            };
            match event {
                Some(AgentEvent::Deliver(d)) => {
                    let reply = forward(&mut mmsd, &o, &d).await;
                    match &reply {
                        Reply::Ack => log::info!("{}: accepted by mmsd-tng", d.id),
                        Reply::Retry(why) => {
                            log::warn!("{}: not acknowledged, otapushd retries: {why}", d.id)
                        }
                        Reply::Reject(why) => log::error!("{}: rejected: {why}", d.id),
                    }
                    d.answer(reply);
                }
                Some(AgentEvent::Released) => {
                    // The daemon is stopping, or another agent of this uid took the
                    // registration over (then stop: two bridges would take turns).
                    if registered_elsewhere(&manager, &o.name, &conn).await {
                        return Err(format!("registration {:?} was taken over by another agent", o.name));
                    }
                    log::info!("released by otapushd; registering again when it is back");
                    owner_gone(&mut changes, &owner, Duration::from_secs(30)).await;
                    break;
                }
                None => return Err("the agent closed".into()),
            }
        }
    }
}

/// The registration `name` is connected to an agent on another connection.
async fn registered_elsewhere(manager: &ManagerProxy<'_>, name: &str, conn: &zbus::Connection) -> bool {
    let me = conn.unique_name().map(|n| n.to_string()).unwrap_or_default();
    let Ok(list) = manager.list_registrations().await else { return false };
    list.iter().any(|(_, d)| {
        let s = |k: &str| match d.get(k).map(|v| &**v) {
            Some(Value::Str(s)) => s.to_string(),
            _ => String::new(),
        };
        s("Name") == name && !s("Owner").is_empty() && s("Owner") != me
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(pairs: Vec<(&str, Value<'_>)>) -> HashMap<String, OwnedValue> {
        pairs.into_iter().map(|(k, v)| (k.to_string(), v.try_to_owned().unwrap())).collect()
    }

    fn mms_meta(pdu_type: &str) -> HashMap<String, OwnedValue> {
        meta(vec![
            ("Kind", Value::from("wsp_push")),
            ("ContentType", Value::from(CONTENT_TYPE)),
            ("ApplicationId", Value::from(APPLICATION_ID)),
            ("TransactionId", Value::U8(0x5A)),
            ("PduType", Value::from(pdu_type)),
        ])
    }

    #[test]
    fn the_pdu_is_a_push_with_tid_content_type_and_app_id_first() {
        let body = [0x8C, 0x82, 0x98, b'T', 0];
        let pdu = wsp_pdu(&mms_meta("push"), &body).unwrap();
        // TID, Push, HeadersLen 3, application/vnd.wap.mms-message (0x3E), X-Wap-Application-Id 4.
        assert_eq!(pdu[..6], [0x5A, 0x06, 0x03, 0xBE, 0xAF, 0x84]);
        assert_eq!(&pdu[6..], &body);
        let parsed = otapush::wsp::parse(&pdu).unwrap();
        assert_eq!(parsed.body, &body);
    }

    #[test]
    fn a_confirmed_push_is_forwarded_as_a_push() {
        let pdu = wsp_pdu(&mms_meta("confirmed-push"), b"x").unwrap();
        assert_eq!(pdu[1], 0x06);
    }

    #[test]
    fn content_type_parameters_are_kept() {
        let mut m = mms_meta("push");
        let params: HashMap<String, String> = [("charset".to_string(), "utf-8".to_string())].into();
        m.insert("ContentTypeParams".into(), Value::from(params).try_to_owned().unwrap());
        let pdu = wsp_pdu(&m, b"x").unwrap();
        let parsed = otapush::wsp::parse(&pdu).unwrap();
        assert_eq!(parsed.content_type, CONTENT_TYPE);
        assert_eq!(parsed.content_type_params.len(), 1);
    }

    #[test]
    fn a_delivery_without_wsp_meta_is_a_typed_error() {
        let mut m = mms_meta("push");
        m.remove("TransactionId");
        assert_eq!(wsp_pdu(&m, b"x"), Err(PduError::Meta("TransactionId")));
        let text = meta(vec![("Kind", Value::from("text"))]);
        assert_eq!(wsp_pdu(&text, b"x"), Err(PduError::Meta("Kind")));
    }
}
