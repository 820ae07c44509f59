//! Activation (docs/activation.md): a persistent registration may name a D-Bus service
//! (`Activate`) or a systemd unit (`Unit`) that otapushd starts when a message is queued for it
//! while its agent is away, at most once per rate window, until the agent registers again.
//!
//! Pure parts: the [`Target`] names and their checks, the per-registration [`Activation`]
//! state and the rule of who may name a unit ([`may_name_unit`]). The shell: [`start`] (one
//! `StartServiceByName` or `StartUnit` call) and [`run`], the one task that makes the calls.

use super::access::{AccessPolicy, Caller};
use super::registry::Registry;
use crate::backoff::Backoff;
use crate::time::now_ms;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

/// The longest unit name systemd accepts (`UNIT_NAME_MAX`).
const MAX_UNIT_NAME: usize = 255;
/// The unit types `StartUnit` can start.
const UNIT_SUFFIXES: &[&str] = &[".service", ".socket", ".target", ".path", ".timer", ".mount"];
/// A start call longer than this counts as failed (dbus-daemon's own limit is 25 s).
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

pub use otapush_proto::filter::Target;

/// Checks an `Activate` value: a well-known bus name (D-Bus specification, "Bus names"), not
/// the bus daemon's own.
pub fn check_service_name(name: &str) -> Result<(), String> {
    if name == "org.freedesktop.DBus" {
        return Err("the bus daemon is not activatable".into());
    }
    zbus::names::WellKnownName::try_from(name)
        .map(|_| ())
        .map_err(|_| format!("{name:?} is not a well-known bus name"))
}

/// Checks a `Unit` value: systemd.unit(5) name characters, a unit type suffix.
pub fn check_unit_name(name: &str) -> Result<(), String> {
    let valid_chars = name.chars().all(|c| c.is_ascii_alphanumeric() || ":-_.\\@".contains(c));
    let typed = UNIT_SUFFIXES.iter().any(|s| name.len() > s.len() && name.ends_with(s));
    if name.len() > MAX_UNIT_NAME || !valid_chars || !typed || name.starts_with('.') {
        return Err(format!("{name:?} is not a unit name (name.service, name.target, ...)"));
    }
    Ok(())
}

/// Whether `caller` may name a systemd unit: root, a privileged user or group (`[cai]
/// privileged_users` / `privileged_groups`), or the daemon's own uid (a session daemon
/// starting its user's units). Starting a unit needs more than a plain user has on the system
/// manager; otapushd starts nothing its caller could not start itself. A D-Bus `Activate`
/// name needs no privilege: any client may call `StartServiceByName`.
pub fn may_name_unit(policy: &AccessPolicy, caller: &Caller, daemon_uid: u32) -> bool {
    policy.is_privileged(caller) || caller.uid == daemon_uid
}

/// The uid otapushd runs as.
pub fn daemon_uid() -> u32 {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() }
}

/// The outcome of the last start call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// None this run.
    Never,
    /// A call is in flight.
    Starting,
    /// The bus or systemd accepted the last call (the agent may still not register).
    Started,
    /// The last call failed, with why.
    Failed(String),
}

impl State {
    pub fn as_str(&self) -> &str {
        match self {
            State::Never => "never",
            State::Starting => "starting",
            State::Started => "started",
            State::Failed(_) => "failed",
        }
    }
}

/// One registration's activation: whether a start is wanted, the rate window, the counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activation {
    pub target: Target,
    /// A message waits for the absent agent.
    wanted: bool,
    /// A start is decided and counted, not yet made ([`Activation::take_call`]).
    pending: bool,
    in_flight: bool,
    /// No start before this (ms since the epoch).
    not_before_ms: u64,
    window: Backoff,
    /// Start calls and failed ones, this run.
    pub attempts: u32,
    pub errors: u32,
    pub state: State,
}

impl Activation {
    /// `window`: the rate window after a start, doubling while the agent does not register.
    pub fn new(target: Target, window: Backoff) -> Activation {
        Activation {
            target,
            wanted: false,
            pending: false,
            in_flight: false,
            not_before_ms: 0,
            window,
            attempts: 0,
            errors: 0,
            state: State::Never,
        }
    }

    /// A message was queued while the agent is away; true if a start is to be made now.
    pub fn want(&mut self, now_ms: u64) -> bool {
        self.wanted = true;
        self.due(now_ms)
    }

    /// True (and counts the attempt) if a start is wanted, none is pending or in flight and
    /// the rate window has passed; the start is then pending until [`Activation::take_call`].
    pub fn due(&mut self, now_ms: u64) -> bool {
        if !self.wanted || self.pending || self.in_flight || now_ms < self.not_before_ms {
            return false;
        }
        self.pending = true;
        self.attempts = self.attempts.saturating_add(1);
        self.not_before_ms = now_ms.saturating_add(self.window.next());
        true
    }

    /// True once per [`Activation::due`]: the call is to be made now.
    pub fn take_call(&mut self) -> bool {
        if !std::mem::take(&mut self.pending) {
            return false;
        }
        self.in_flight = true;
        self.state = State::Starting;
        true
    }

    /// The start call returned.
    pub fn finished(&mut self, result: &Result<(), StartError>) {
        self.in_flight = false;
        self.state = match result {
            Ok(()) => State::Started,
            Err(e) => {
                self.errors = self.errors.saturating_add(1);
                State::Failed(e.to_string())
            }
        };
    }

    /// Nothing waits any more (the queue drained or expired).
    pub fn satisfied(&mut self) {
        self.wanted = false;
    }

    /// The agent registered: nothing waits, a start not yet made is not made, the rate window
    /// starts over.
    pub fn registered(&mut self) {
        if std::mem::take(&mut self.pending) {
            self.attempts = self.attempts.saturating_sub(1);
        }
        self.wanted = false;
        self.not_before_ms = 0;
        self.window.reset();
    }

    /// When a wanted start is next allowed (None: nothing waits, or a call is in flight).
    pub fn next_due_ms(&self) -> Option<u64> {
        (self.wanted && !self.pending && !self.in_flight).then_some(self.not_before_ms)
    }

    /// Keeps the counters and state of `old` (the same registration, registered again).
    pub fn carry(&mut self, old: &Activation) {
        self.attempts = old.attempts;
        self.errors = old.errors;
        self.state = old.state.clone();
        self.pending = old.pending;
        self.in_flight = old.in_flight;
    }
}

/// Why a start call failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StartError {
    /// The bus daemon or systemd answered with an error.
    #[error("{name}: {text}")]
    Refused { name: String, text: String },
    #[error("D-Bus: {0}")]
    Bus(String),
    #[error("no reply within {} s", START_TIMEOUT.as_secs())]
    Timeout,
}

/// One start call on otapushd's bus.
pub async fn start(conn: &zbus::Connection, target: &Target) -> Result<(), StartError> {
    let call = async {
        match target {
            Target::Service(name) => conn
                .call_method(
                    Some("org.freedesktop.DBus"),
                    "/org/freedesktop/DBus",
                    Some("org.freedesktop.DBus"),
                    "StartServiceByName",
                    &(name.as_str(), 0u32),
                )
                .await
                .map(drop),
            Target::Unit(name) => conn
                .call_method(
                    Some("org.freedesktop.systemd1"),
                    "/org/freedesktop/systemd1",
                    Some("org.freedesktop.systemd1.Manager"),
                    "StartUnit",
                    &(name.as_str(), "replace"),
                )
                .await
                .map(drop),
        }
    };
    match tokio::time::timeout(START_TIMEOUT, call).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(zbus::Error::MethodError(name, text, _))) => Err(StartError::Refused {
            name: name.to_string(),
            text: crate::logging::clip(text.as_deref().unwrap_or_default()).into_owned(),
        }),
        Ok(Err(e)) => Err(StartError::Bus(crate::logging::clip(&e.to_string()).into_owned())),
        Err(_) => Err(StartError::Timeout),
    }
}

/// The activation task: makes the starts the registry asks for, and the retries when their
/// rate window has passed. With nothing waiting it only waits for a notification.
pub(super) async fn run(registry: Arc<Registry>, conn: zbus::Connection) {
    /// Sleeps are capped so a clock set late is noticed (as for queue expiry).
    const MAX_SLEEP: Duration = Duration::from_secs(3600);
    loop {
        let now = now_ms();
        let (starts, next) = registry.due_activations(now);
        for (id, target) in starts {
            let (registry, conn) = (registry.clone(), conn.clone());
            tokio::spawn(async move {
                let result = start(&conn, &target).await;
                match &result {
                    Ok(()) => log::info!("registration {id}: started {target}"),
                    Err(e) => log::warn!("registration {id}: starting {target} failed: {e}"),
                }
                registry.activation_finished(id, &result);
            });
        }
        match next {
            None => registry.activation_wake.notified().await,
            Some(t) => {
                let d = Duration::from_millis(t.saturating_sub(now)).min(MAX_SLEEP);
                tokio::select! {
                    _ = tokio::time::sleep(d) => {}
                    _ = registry.activation_wake.notified() => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn act() -> Activation {
        Activation::new(Target::Service("org.example.App".into()), Backoff::new(30_000, 600_000))
    }

    #[test]
    fn first_start_at_once_then_once_per_doubling_window() {
        let mut a = act();
        assert_eq!(a.next_due_ms(), None, "nothing waits");
        assert!(a.want(1_000));
        assert!(!a.want(1_001), "pending");
        assert!(a.take_call() && !a.take_call());
        assert_eq!(a.state, State::Starting);
        assert!(!a.want(1_002), "in flight");
        a.finished(&Err(StartError::Timeout));
        assert_eq!((a.attempts, a.errors, a.state.as_str()), (1, 1, "failed"));
        assert_eq!(a.next_due_ms(), Some(31_000));
        assert!(!a.want(30_999), "within the 30 s window");
        assert!(a.due(31_000) && a.take_call());
        a.finished(&Ok(()));
        assert_eq!(a.next_due_ms(), Some(91_000), "60 s: the agent did not register");
        assert!(!a.due(90_999) && a.due(91_000) && a.take_call());
        a.finished(&Ok(()));
        assert_eq!((a.attempts, a.errors, a.state.clone()), (3, 1, State::Started));
        // Registering resets the window; nothing waits until the next message.
        a.registered();
        assert_eq!(a.next_due_ms(), None);
        assert!(a.want(91_001), "at once again");
        // Registering before a decided start is made cancels it.
        a.registered();
        assert_eq!((a.attempts, a.take_call()), (3, false));
    }

    #[test]
    fn the_window_is_capped_and_a_drained_queue_stops_retries() {
        let mut a = act();
        let mut now = 0;
        for _ in 0..10 {
            assert!(a.want(now) && a.take_call());
            a.finished(&Ok(()));
            now = a.next_due_ms().unwrap();
        }
        assert!(a.due(now) && a.take_call());
        a.finished(&Ok(()));
        assert_eq!(a.next_due_ms(), Some(now + 600_000), "10 min cap");
        a.satisfied();
        assert_eq!(a.next_due_ms(), None);
    }

    #[test]
    fn names_are_checked() {
        assert!(check_service_name("org.otapush.test.Agent").is_ok());
        assert!(check_service_name(":1.42").is_err());
        assert!(check_service_name("org.freedesktop.DBus").is_err());
        assert!(check_service_name("no-dots").is_err());
        assert!(check_unit_name("mms-agent.service").is_ok());
        assert!(check_unit_name("agent@1000.service").is_ok());
        assert!(check_unit_name("agent").is_err());
        assert!(check_unit_name(".service").is_err());
        assert!(check_unit_name("a b.service").is_err());
        assert!(check_unit_name(&format!("{}.service", "a".repeat(250))).is_err());
    }

    #[test]
    fn units_need_privilege_or_the_daemons_own_uid() {
        let policy = AccessPolicy::default();
        let user = Caller { uid: 1000, gids: vec![1000] };
        assert!(!may_name_unit(&policy, &user, 0), "a plain user, a root daemon");
        assert!(may_name_unit(&policy, &user, 1000), "a session daemon of the same user");
        assert!(may_name_unit(&policy, &Caller { uid: 0, gids: vec![] }, 999), "root");
    }
}
