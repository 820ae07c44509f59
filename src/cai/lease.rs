//! Registration leases (filter key `Expires`, method `Refresh`; docs/pubsub.md, Expiry): one
//! task sleeps until the earliest lease end and ends what lapsed, as `Unregister` would, and
//! sends its agent `Release`. With no registration that expires it waits for one: no timer.

use super::manager::release;
use super::registry::Registry;
use std::sync::Arc;
use std::time::Instant;

pub(super) async fn run(registry: Arc<Registry>, conn: zbus::Connection) {
    loop {
        let Some(end) = registry.next_lease_end() else {
            registry.lease_wake.notified().await;
            continue;
        };
        tokio::select! {
            () = tokio::time::sleep_until(end.into()) => {}
            // A new registration may end sooner.
            () = registry.lease_wake.notified() => {}
        }
        for agent in registry.end_lapsed(Instant::now()) {
            let conn = conn.clone();
            tokio::spawn(async move { release(&conn, &agent).await });
        }
    }
}
