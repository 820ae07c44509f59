//! Exponential backoff, pure: a delay that starts at a base, doubles on every [`next`] up to a
//! cap, and starts over on [`reset`]. Milliseconds; jitter, if any, comes in from the caller.
//!
//! [`next`]: Backoff::next
//! [`reset`]: Backoff::reset

/// A doubling delay in milliseconds. See the module doc.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    base_ms: u64,
    cap_ms: u64,
    /// Delays handed out since the last reset.
    attempt: u32,
}

impl Backoff {
    /// Starts at `base_ms`, never exceeds `cap_ms` (a base above the cap is the cap).
    pub const fn new(base_ms: u64, cap_ms: u64) -> Backoff {
        Backoff { base_ms, cap_ms, attempt: 0 }
    }

    /// The delay [`next`](Self::next) returns, without advancing.
    pub fn peek(&self) -> u64 {
        // 2^40 ms is 35 years: any cap is reached long before the shift overflows.
        self.base_ms.saturating_mul(1u64 << self.attempt.min(40)).min(self.cap_ms)
    }

    /// The delay before the next try; the following one doubles (up to the cap). Not an
    /// `Iterator`: the sequence never ends, so an `Option` would only be unwrapped.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        let d = self.peek();
        self.attempt = self.attempt.saturating_add(1);
        d
    }

    /// [`next`](Self::next) plus jitter: up to half the delay more, from `random` (called only
    /// if the delay is at least 2 ms), the sum still capped.
    pub fn next_jittered(&mut self, random: impl FnOnce() -> u64) -> u64 {
        let nominal = self.next();
        let jitter = if nominal >= 2 { random() % (nominal / 2 + 1) } else { 0 };
        nominal.saturating_add(jitter).min(self.cap_ms)
    }

    /// Delays handed out since the last reset (consecutive failures).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// A new base for the delays to come; the doubling so far is kept.
    pub fn set_base(&mut self, base_ms: u64) {
        self.base_ms = base_ms;
    }

    /// After a success: the next delay is the base again.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_the_cap_and_resets() {
        let mut b = Backoff::new(1000, 5000);
        let d: Vec<u64> = (0..5).map(|_| b.next()).collect();
        assert_eq!(d, [1000, 2000, 4000, 5000, 5000]);
        assert_eq!(b.attempt(), 5);
        b.reset();
        assert_eq!((b.peek(), b.next()), (1000, 1000));
    }

    #[test]
    fn never_overflows() {
        let mut b = Backoff::new(u64::MAX, u64::MAX);
        for _ in 0..100 {
            assert_eq!(b.next(), u64::MAX);
        }
        let mut b = Backoff::new(3, 10);
        b.attempt = u32::MAX;
        assert_eq!(b.next(), 10);
        assert_eq!(b.attempt(), u32::MAX);
    }

    #[test]
    fn jitter_adds_at_most_half_and_stays_capped() {
        let mut b = Backoff::new(1000, 1200);
        assert_eq!(b.next_jittered(|| 0), 1000);
        assert_eq!(b.next_jittered(|| 0), 1200, "capped before jitter");
        let mut b = Backoff::new(1000, 10_000);
        assert_eq!(b.next_jittered(|| 500), 1500);
        assert_eq!(b.next_jittered(|| 1001), 2000, "1001 % 1001");
        let mut b = Backoff::new(1, 10);
        assert_eq!(b.next_jittered(|| panic!("no jitter below 2 ms")), 1);
    }
}
