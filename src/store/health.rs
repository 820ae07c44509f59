//! Whether the store commits, and the pause between tries of a commit that fails (a full disk):
//! doubling from [`FIRST_RETRY`] up to `[store] commit_retry_max`, for as long as it takes
//! (docs/store.md, "A full disk"). The state is logged when it changes and shown as the
//! `StoreState` property.

use crate::backoff::Backoff;
use std::time::{Duration, Instant};

/// The pause after the first failure.
pub const FIRST_RETRY: Duration = Duration::from_millis(500);

/// What `StoreState` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreState {
    Ok,
    /// Commits fail; the newest reason.
    Failing(String),
}

impl std::fmt::Display for StoreState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreState::Ok => f.write_str("ok"),
            StoreState::Failing(reason) => write!(f, "failing: {reason}"),
        }
    }
}

#[derive(Debug)]
struct Failing {
    since: Instant,
    reason: String,
    tries: u64,
}

/// The store's commit health and the retry backoff.
#[derive(Debug)]
pub struct Health {
    max: Duration,
    backoff: Backoff,
    failing: Option<Failing>,
}

impl Health {
    /// `max`: the cap on the pause between tries.
    pub fn new(max: Duration) -> Health {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Health { max, backoff: Backoff::new(ms(FIRST_RETRY), ms(max)), failing: None }
    }

    /// A commit of `what` failed with `reason`: enters the failing state (one log line) and gives
    /// the pause before the next try.
    pub fn failed(&mut self, what: &str, reason: &str) -> Duration {
        match &mut self.failing {
            None => {
                log::error!(
                    "store: cannot commit {what} ({reason}); retrying with a pause doubling up to \
                     {:?} for as long as it fails; nothing leaves the modem meanwhile",
                    self.max
                );
                self.failing = Some(Failing { since: Instant::now(), reason: reason.into(), tries: 1 });
            }
            Some(f) => {
                f.tries += 1;
                if f.reason != reason {
                    log::warn!("store: commits still fail, now with: {reason}");
                    reason.clone_into(&mut f.reason);
                }
                log::debug!("store: try {} of {what} failed ({reason})", f.tries);
            }
        }
        Duration::from_millis(self.backoff.next())
    }

    /// A commit went through: leaves the failing state (one log line). True when it left it.
    pub fn succeeded(&mut self) -> bool {
        self.backoff.reset();
        let Some(f) = self.failing.take() else { return false };
        log::info!(
            "store: commits succeed again after {:.1} s and {} failed tries",
            f.since.elapsed().as_secs_f64(),
            f.tries
        );
        true
    }

    pub fn is_failing(&self) -> bool {
        self.failing.is_some()
    }

    pub fn state(&self) -> StoreState {
        match &self.failing {
            None => StoreState::Ok,
            Some(f) => StoreState::Failing(f.reason.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_to_the_cap_and_never_give_up() {
        let mut h = Health::new(Duration::from_secs(30));
        let pauses: Vec<u64> = (0..12).map(|_| h.failed("1 PDU", "disk full").as_millis() as u64).collect();
        assert_eq!(pauses, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000, 30000, 30000]);
        assert_eq!(h.state().to_string(), "failing: disk full");
        assert!(h.succeeded());
        assert_eq!(h.state(), StoreState::Ok);
        assert!(!h.succeeded(), "already ok");
        assert_eq!(h.failed("1 PDU", "disk full"), FIRST_RETRY, "the backoff starts over");
    }

    #[test]
    fn a_cap_below_the_first_pause_wins() {
        let mut h = Health::new(Duration::from_millis(200));
        assert_eq!(h.failed("x", "y"), Duration::from_millis(200));
        assert_eq!(h.failed("x", "y"), Duration::from_millis(200));
    }
}
