//! The delivery rules (pure): what an agent's answer to `Deliver` means, and the retry backoff.

use std::time::Duration;

/// The error an agent returns for "never send me this one again".
pub const REJECTED_ERROR: &str = "org.otapush.Push1.Error.Rejected";

/// What to do with a queue entry after one `Deliver` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A normal return: acknowledged, remove it.
    Ack,
    /// `org.otapush.Push1.Error.Rejected`: remove it, never send it to this registration again.
    Rejected(String),
    /// Any other error, or no reply in time: keep it and retry after the backoff.
    Retry(String),
}

/// Classifies the outcome of a `Deliver` call bounded by `timeout`. The agent's error text is
/// clipped ([`crate::logging::clip`]): it is logged on every retry.
pub fn verdict<T>(
    outcome: Result<zbus::Result<T>, tokio::time::error::Elapsed>,
    timeout: Duration,
) -> Verdict {
    let clip = |text: Option<String>| crate::logging::clip(text.as_deref().unwrap_or_default()).into_owned();
    match outcome {
        Ok(Ok(_)) => Verdict::Ack,
        Ok(Err(zbus::Error::MethodError(name, text, _))) if name.as_str() == REJECTED_ERROR => {
            Verdict::Rejected(clip(text))
        }
        Ok(Err(zbus::Error::MethodError(name, text, _))) => Verdict::Retry(format!("{name}: {}", clip(text))),
        Ok(Err(e)) => Verdict::Retry(clip(Some(e.to_string()))),
        Err(_) => Verdict::Retry(format!("no reply within {} s", timeout.as_secs())),
    }
}

/// Retry delays: 1 s, doubling up to 5 minutes (docs/dbus-api.md, Agent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff(crate::backoff::Backoff);

impl Backoff {
    pub const FIRST: Duration = Duration::from_secs(1);
    pub const MAX: Duration = Duration::from_secs(300);

    pub fn new() -> Backoff {
        Backoff(crate::backoff::Backoff::new(1000, 300_000))
    }

    /// The delay before the next try; each call doubles the following one.
    pub fn next_delay(&mut self) -> Duration {
        Duration::from_millis(self.0.next())
    }

    /// After a success.
    pub fn reset(&mut self) {
        self.0.reset();
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_five_minutes_and_resets() {
        let mut b = Backoff::new();
        let secs: Vec<u64> = (0..11).map(|_| b.next_delay().as_secs()).collect();
        assert_eq!(secs, vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        b.reset();
        assert_eq!(b.next_delay(), Backoff::FIRST);
    }

    #[test]
    fn verdicts() {
        let t = Duration::from_secs(25);
        assert_eq!(verdict::<()>(Ok(Ok(())), t), Verdict::Ack);
        let err = |name: &str| {
            let msg = zbus::message::Message::method_call("/a", "M").unwrap().build(&()).unwrap();
            zbus::Error::MethodError(name.try_into().unwrap(), Some("why".into()), msg)
        };
        assert_eq!(verdict::<()>(Ok(Err(err(REJECTED_ERROR))), t), Verdict::Rejected("why".into()));
        assert_eq!(
            verdict::<()>(Ok(Err(err("org.freedesktop.DBus.Error.Failed"))), t),
            Verdict::Retry("org.freedesktop.DBus.Error.Failed: why".into())
        );
        let huge = "e".repeat(1 << 20);
        let msg = zbus::message::Message::method_call("/a", "M").unwrap().build(&()).unwrap();
        let e = zbus::Error::MethodError("org.example.Huge".try_into().unwrap(), Some(huge), msg);
        match verdict::<()>(Ok(Err(e)), t) {
            Verdict::Retry(why) => assert!(why.len() < 400 && why.ends_with("(1048576 bytes)"), "{why}"),
            other => panic!("{other:?}"),
        }
    }
}
