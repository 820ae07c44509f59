//! Waiting for a condition, with one failure guard for every wait.

use std::future::Future;
use std::time::Duration;

/// The failure guard of every wait: generous, never the expected duration of anything.
pub const GUARD: Duration = Duration::from_secs(60);

/// Polls `cond` every 20 ms until it holds; panics with `what` after [`GUARD`].
pub async fn eventually<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + GUARD;
    while !cond().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// [`eventually`] for a condition that needs no `.await`.
pub async fn eventually_sync(what: &str, mut cond: impl FnMut() -> bool) {
    eventually(what, || std::future::ready(cond())).await
}
