//! Caller credentials cached per unique bus name: `GetConnectionCredentials` costs a round
//! trip through the bus daemon on every method call otherwise. A unique name belongs to one
//! connection for its life and is never given to another, and a connection's credentials are
//! fixed when it connects, so an entry stays right until the name is gone (`NameOwnerChanged`
//! with no new owner: [`Credentials::forget`]). Bounded: past [`Credentials::CAP`] names the
//! oldest entry goes (it is fetched again when needed).

use super::access::{caller_credentials, Caller};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use zbus::names::UniqueName;

#[derive(Debug)]
pub struct Credentials {
    cap: usize,
    state: Mutex<State>,
    /// Round trips made to the bus daemon (for tests).
    fetches: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    by_name: HashMap<String, Caller>,
    /// Names in insertion order, for the bound.
    order: VecDeque<String>,
}

impl Default for Credentials {
    fn default() -> Self {
        Credentials::with_cap(Credentials::CAP)
    }
}

impl Credentials {
    /// Callers remembered at most.
    pub const CAP: usize = 256;

    pub fn with_cap(cap: usize) -> Self {
        Credentials { cap: cap.max(1), state: Mutex::default(), fetches: AtomicU64::new(0) }
    }

    /// `sender`'s credentials, from the cache or from the bus daemon (then remembered).
    pub async fn get(
        &self,
        dbus: &zbus::fdo::DBusProxy<'_>,
        sender: &UniqueName<'_>,
    ) -> zbus::Result<Caller> {
        if let Some(c) = self.lock().by_name.get(sender.as_str()) {
            return Ok(c.clone());
        }
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let caller = caller_credentials(dbus, sender).await?;
        // A name that left during the fetch stays until the bound pushes it out: unique names
        // are never reused, so it is only memory.
        let mut state = self.lock();
        if !state.by_name.contains_key(sender.as_str()) {
            while state.order.len() >= self.cap {
                if let Some(old) = state.order.pop_front() {
                    state.by_name.remove(&old);
                }
            }
            state.order.push_back(sender.to_string());
            state.by_name.insert(sender.to_string(), caller.clone());
        }
        Ok(caller)
    }

    /// The unique name `name` is gone from the bus.
    pub fn forget(&self, name: &str) {
        let mut state = self.lock();
        if state.by_name.remove(name).is_some() {
            state.order.retain(|n| n != name);
        }
    }

    /// Names remembered.
    pub fn len(&self) -> usize {
        self.lock().by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Round trips to the bus daemon so far.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctl::private_bus::PrivateBus;
    use futures_lite::StreamExt;

    async fn connect(bus: &PrivateBus) -> zbus::Connection {
        zbus::connection::Builder::address(bus.address()).unwrap().build().await.unwrap()
    }

    /// Against a real dbus-daemon: one round trip per caller, the entry goes with the
    /// caller's `NameOwnerChanged`, and the cache never holds more than its cap.
    #[tokio::test]
    async fn cached_per_unique_name_evicted_when_gone_and_bounded() {
        let bus = PrivateBus::start().expect("dbus-daemon (scripts/install-deps installs dbus-daemon)");
        let server = connect(&bus).await;
        let dbus = zbus::fdo::DBusProxy::builder(&server)
            .cache_properties(zbus::proxy::CacheProperties::No)
            .build()
            .await
            .unwrap();
        let mut gone = dbus.receive_name_owner_changed_with_args(&[(2, "")]).await.unwrap();
        let cache = Credentials::with_cap(2);

        let a = connect(&bus).await;
        let a_name = a.unique_name().unwrap().to_owned();
        let first = cache.get(&dbus, &a_name).await.unwrap();
        assert_eq!(first.uid, rustix_uid());
        assert_eq!(cache.get(&dbus, &a_name).await.unwrap(), first);
        assert_eq!(cache.fetches(), 1, "the second call is served from the cache");

        drop(a);
        loop {
            let signal = tokio::time::timeout(std::time::Duration::from_secs(10), gone.next())
                .await
                .expect("NameOwnerChanged for the client")
                .unwrap();
            let args = signal.args().unwrap();
            if args.name().as_str() == a_name.as_str() && args.new_owner().is_none() {
                cache.forget(args.name());
                break;
            }
        }
        assert!(cache.is_empty(), "evicted with its name");

        let clients = [connect(&bus).await, connect(&bus).await, connect(&bus).await];
        for c in &clients {
            cache.get(&dbus, c.unique_name().unwrap()).await.unwrap();
        }
        assert_eq!(cache.len(), 2, "bounded");
        assert_eq!(cache.fetches(), 4);
        // The oldest went; the newest is still served without a round trip.
        cache.get(&dbus, clients[2].unique_name().unwrap()).await.unwrap();
        assert_eq!(cache.fetches(), 4);
        cache.get(&dbus, clients[0].unique_name().unwrap()).await.unwrap();
        assert_eq!(cache.fetches(), 5, "the evicted one is fetched again");
    }

    fn rustix_uid() -> u32 {
        // SAFETY: getuid has no preconditions.
        unsafe { libc::getuid() }
    }
}
