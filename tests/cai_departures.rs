//! A registration ends (or, persistent, disconnects) when its owner leaves the bus: the
//! service learns that from `NameOwnerChanged` with an empty new owner, which only the bus
//! sends. A peer's forged copy (a unicast signal to the service) changes nothing.

use otapush_test_support::bus::Bus;
use otapush_test_support::cai::*;
use otapush_test_support::eventually::eventually;
use zbus::zvariant::{OwnedObjectPath, Value};

async fn connected(by: &Client, reg: &OwnedObjectPath) -> Option<bool> {
    let regs = by.manager.list_registrations().await.unwrap();
    regs.iter().find(|(p, _)| p == reg).map(|(_, d)| *d["Connected"] == Value::Bool(true))
}

fn persistent(name: &str) -> [(&'static str, Value<'static>); 2] {
    [("Persistent", Value::Bool(true)), ("Name", Value::from(name.to_string()))]
}

#[tokio::test]
async fn a_forged_name_owner_changed_disconnects_no_one_and_a_real_departure_does() {
    let bus = Bus::start();
    let dir = tempfile::tempdir().unwrap();
    let svc = start_service(&bus, &config(dir.path())).await;
    let service_name = svc.handle.connection().unique_name().unwrap().to_string();
    let victim = client(&bus).await;
    let (victim_reg, _victim_agent) = victim.register(&persistent("victim")).await;
    let leaver = client(&bus).await;
    let (leaver_reg, _) = leaver.register(&persistent("leaver")).await;
    assert_eq!(connected(&victim, &victim_reg).await, Some(true));

    // The forger claims the victim left, in a signal sent to the service alone.
    let forger = client(&bus).await;
    let gone = victim.conn.unique_name().unwrap().to_string();
    forger
        .conn
        .emit_signal(
            Some(service_name.as_str()),
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "NameOwnerChanged",
            &(gone.as_str(), gone.as_str(), ""),
        )
        .await
        .unwrap();
    // Once the bus answers the forger, it has routed the forged signal; the real departure
    // that follows reaches the service after it.
    zbus::fdo::DBusProxy::new(&forger.conn).await.unwrap().get_id().await.unwrap();
    drop(leaver);
    eventually("the leaver's registration to be disconnected", || async {
        connected(&victim, &leaver_reg).await == Some(false)
    })
    .await;
    assert_eq!(connected(&victim, &victim_reg).await, Some(true), "a forged departure disconnected it");
}
