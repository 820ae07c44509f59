//! The reconnect policy of one event stream, pure: results and bearer changes in, the next
//! [`Action`] out. Time enters only as delays the shell sleeps; jitter comes from a seed.
//!
//! Rules (WHATWG HTML §9.2.3, WPT `request-status-error`, docs/config.md `[[sse]]`):
//! - only status 200 with MIME essence `text/event-stream` is a stream ([`classify`]);
//! - 204 stops the stream; any other non-200 that is not 5xx (4xx, other 2xx, 3xx that is not a
//!   followed redirect) and a wrong Content-Type stop it until the config is reloaded;
//! - 5xx and network errors (connect, TLS, a broken body, too many redirects) follow
//!   `on_server_error`: back off, or stop;
//! - a clean end of the body and a read-idle timeout always reconnect with backoff (a server
//!   closing a stream is normal EventSource use, not an error);
//! - backoff starts from the reconnection time (`retry:`, else 1 s, never below a floor so
//!   `retry: 0` cannot spin), doubles per consecutive failure, adds up to 50 % jitter, is capped
//!   at 5 minutes, and resets when a connection delivered events;
//! - bearer down → idle (close, rely on SMS); bearer up → connect now, whatever timer runs.

pub use super::error::{SseError, StopReason};
use crate::backoff::Backoff;
use serde::{Deserialize, Serialize};

/// What 5xx and network errors do (`[[sse]] on_server_error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OnServerError {
    /// Back off and retry.
    #[default]
    Backoff,
    /// Stop until the config is reloaded.
    Stop,
}

/// Backoff parameters; [`Tuning::default`] is the production policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuning {
    /// Reconnection time before any `retry:` field (HTML leaves it to the UA: "a few seconds").
    pub initial_ms: u64,
    /// No delay is shorter (guards against `retry: 0` with a server that closes at once).
    pub min_ms: u64,
    /// No delay is longer.
    pub max_ms: u64,
}

impl Default for Tuning {
    fn default() -> Tuning {
        Tuning { initial_ms: 1000, min_ms: 250, max_ms: 5 * 60 * 1000 }
    }
}

/// What a response means for the stream ([`classify`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// 200 with `text/event-stream`: read events.
    Stream,
    /// 301, 302, 303, 307, 308: follow `Location` (the shell counts and limits).
    Redirect,
    /// Anything else: why, and how the policy takes it.
    Failure(Failure),
}

/// Why a connection attempt or a stream failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// 204 No Content: the server asks the client to stop reconnecting.
    NoContent,
    /// Stops the stream until the config is reloaded (4xx, unexpected status, wrong type).
    Fatal(SseError),
    /// 5xx or a network error: follows `on_server_error`.
    Server(SseError),
}

/// How a connected stream ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// The body ended cleanly.
    Eof,
    /// No byte for the idle timeout.
    IdleTimeout,
    /// The connection broke mid-body (a network error).
    Error(SseError),
}

/// What the shell does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Connect now.
    Connect,
    /// Sleep `delay_ms`, then call [`Policy::timer`]. `attempt` counts consecutive failures.
    Wait {
        /// How long.
        delay_ms: u64,
        /// Consecutive failures.
        attempt: u32,
    },
    /// The bearer is down: hold no connection, wait for [`Policy::bearer`].
    Idle,
    /// Done until the config is reloaded.
    Stop {
        /// Why.
        reason: StopReason,
    },
}

/// Sorts a response by status and `Content-Type` (HTML §9.2.3; MIME essence per the MIME Sniffing
/// standard: the part before `;`, trimmed, ASCII case-insensitive).
pub fn classify(status: u16, content_type: Option<&[u8]>) -> Response {
    match status {
        200 => {
            let essence = content_type
                .map(|ct| ct.split(|&b| b == b';').next().unwrap_or_default().trim_ascii())
                .unwrap_or_default();
            if essence.eq_ignore_ascii_case(b"text/event-stream") {
                Response::Stream
            } else {
                let shown = String::from_utf8_lossy(content_type.unwrap_or(b"(none)")).into_owned();
                Response::Failure(Failure::Fatal(SseError::ContentType(shown)))
            }
        }
        204 => Response::Failure(Failure::NoContent),
        301 | 302 | 303 | 307 | 308 => Response::Redirect,
        500..=599 => Response::Failure(Failure::Server(SseError::Status(status))),
        _ => Response::Failure(Failure::Fatal(SseError::Status(status))),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    Connecting,
    Streaming,
    Waiting,
    Stopped,
}

/// The state machine of one stream.
#[derive(Debug, Clone)]
pub struct Policy {
    tuning: Tuning,
    on_server_error: OnServerError,
    reconnection_ms: Option<u64>,
    /// Counts consecutive failures since events were last delivered.
    backoff: Backoff,
    rng: u64,
    bearer_up: bool,
    phase: Phase,
}

impl Policy {
    /// A policy for a stream with `on_server_error` and `tuning`; `seed` seeds the jitter.
    pub fn new(on_server_error: OnServerError, tuning: Tuning, seed: u64) -> Policy {
        Policy {
            tuning,
            on_server_error,
            reconnection_ms: None,
            backoff: Backoff::new(tuning.initial_ms, tuning.max_ms),
            rng: seed,
            bearer_up: false,
            phase: Phase::Idle,
        }
    }

    /// The first action, given the bearer state at start.
    pub fn start(&mut self, bearer_up: bool) -> Action {
        self.bearer_up = bearer_up;
        if bearer_up {
            self.phase = Phase::Connecting;
            Action::Connect
        } else {
            self.phase = Phase::Idle;
            Action::Idle
        }
    }

    /// A bearer notification. Up → connect at once, cancelling any backoff timer and replacing
    /// any connection (an up seen while up is a down/up flap folded into one notification: the
    /// old connection may be bound to an address that is gone). Down → drop the connection and
    /// idle. `None`: nothing to do (still down, or stopped).
    pub fn bearer(&mut self, up: bool) -> Option<Action> {
        if self.phase == Phase::Stopped || (!up && !self.bearer_up) {
            return None;
        }
        self.bearer_up = up;
        Some(self.start(up))
    }

    /// The reconnection time from a `retry:` field (kept for later connections).
    pub fn set_retry(&mut self, ms: u64) {
        self.reconnection_ms = Some(ms);
    }

    /// The reconnection time the server set with `retry:` (HTML §9.2.6), if any.
    pub fn reconnection_ms(&self) -> Option<u64> {
        self.reconnection_ms
    }

    /// A 200 `text/event-stream` response arrived.
    pub fn connected(&mut self) {
        self.phase = Phase::Streaming;
    }

    /// The connection delivered an event: the backoff starts over.
    pub fn delivered(&mut self) {
        self.backoff.reset();
    }

    /// A connection attempt failed before a stream started.
    pub fn failed(&mut self, failure: Failure) -> Action {
        match failure {
            Failure::NoContent => self.stop(StopReason::NoContent),
            Failure::Fatal(why) => self.stop(StopReason::Refused(why)),
            Failure::Server(why) => self.server_error(why),
        }
    }

    /// A connected stream ended.
    pub fn ended(&mut self, end: End) -> Action {
        match end {
            End::Eof | End::IdleTimeout => self.backoff(),
            End::Error(why) => self.server_error(why),
        }
    }

    /// The backoff timer of [`Action::Wait`] fired: connect. `None` for a stale timer (the
    /// bearer went down meanwhile, or the stream stopped).
    pub fn timer(&mut self) -> Option<Action> {
        if self.phase != Phase::Waiting {
            return None;
        }
        self.phase = Phase::Connecting;
        Some(Action::Connect)
    }

    fn server_error(&mut self, why: SseError) -> Action {
        match self.on_server_error {
            OnServerError::Backoff => self.backoff(),
            OnServerError::Stop => self.stop(StopReason::ServerError(why)),
        }
    }

    fn stop(&mut self, reason: StopReason) -> Action {
        self.phase = Phase::Stopped;
        Action::Stop { reason }
    }

    fn backoff(&mut self) -> Action {
        let t = self.tuning;
        self.backoff.set_base(self.reconnection_ms.unwrap_or(t.initial_ms).max(t.min_ms).min(t.max_ms));
        let delay_ms = self.backoff.next_jittered(|| next_random(&mut self.rng));
        self.phase = Phase::Waiting;
        Action::Wait { delay_ms, attempt: self.backoff.attempt() }
    }
}

/// SplitMix64: a small, good-enough generator for jitter.
fn next_random(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(on: OnServerError) -> Policy {
        let mut p = Policy::new(on, Tuning::default(), 42);
        assert_eq!(p.start(true), Action::Connect);
        p
    }

    fn delay(a: Action) -> u64 {
        match a {
            Action::Wait { delay_ms, .. } => delay_ms,
            other => panic!("expected a wait, got {other:?}"),
        }
    }

    fn server() -> Failure {
        Failure::Server(SseError::Status(500))
    }

    #[test]
    fn classify_status_and_type() {
        let ct = |s: &str| classify(200, Some(s.as_bytes()));
        assert_eq!(ct("text/event-stream"), Response::Stream);
        assert_eq!(ct("text/event-stream; charset=windows-1252"), Response::Stream);
        assert_eq!(ct("Text/Event-Stream"), Response::Stream);
        assert_eq!(ct(" text/event-stream ;x"), Response::Stream);
        // WPT format-mime-trailing-semicolon / format-mime-valid-bogus / format-mime-bogus.
        assert_eq!(ct("text/event-stream;"), Response::Stream);
        assert!(matches!(ct("text/x-bogus"), Response::Failure(Failure::Fatal(_))));
        assert!(matches!(ct("text/event-streams"), Response::Failure(Failure::Fatal(_))));
        assert!(matches!(classify(200, None), Response::Failure(Failure::Fatal(_))));
        // WPT request-status-error: 204, 205, 210, 299, 404, 410 fail; 503 is a server error,
        // which otapush retries by policy.
        assert_eq!(classify(204, None), Response::Failure(Failure::NoContent));
        for s in [205, 210, 299, 404, 410, 400, 401, 304, 300, 100] {
            assert!(matches!(classify(s, None), Response::Failure(Failure::Fatal(_))), "{s}");
        }
        for s in [500, 503, 599] {
            assert!(matches!(classify(s, None), Response::Failure(Failure::Server(_))), "{s}");
        }
        for s in [301, 302, 303, 307, 308] {
            assert_eq!(classify(s, None), Response::Redirect, "{s}");
        }
    }

    #[test]
    fn server_errors_back_off_exponentially_with_bounded_jitter_to_the_cap() {
        let mut p = policy(OnServerError::Backoff);
        let mut nominal = 1000u64;
        for attempt in 1..=15u32 {
            let a = p.failed(server());
            let Action::Wait { delay_ms, attempt: n } = a else { panic!("{a:?}") };
            assert_eq!(n, attempt);
            let hi = (nominal + nominal / 2).min(300_000);
            assert!(
                (nominal..=hi).contains(&delay_ms),
                "attempt {attempt}: {delay_ms} not in {nominal}..={hi}"
            );
            assert_eq!(p.timer(), Some(Action::Connect));
            nominal = (nominal * 2).min(300_000);
        }
        assert_eq!(nominal, 300_000, "reached the cap");
    }

    #[test]
    fn jitter_comes_from_the_seed() {
        let run = |seed| {
            let mut p = Policy::new(OnServerError::Backoff, Tuning::default(), seed);
            p.start(true);
            (0..6)
                .map(|_| {
                    let d = delay(p.failed(server()));
                    p.timer();
                    d
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn retry_field_sets_the_base_and_zero_is_floored() {
        let mut p = policy(OnServerError::Backoff);
        p.set_retry(3000);
        let d = delay(p.ended(End::Eof));
        assert!((3000..=4500).contains(&d), "{d}");
        let mut p = policy(OnServerError::Backoff);
        p.set_retry(0);
        let d = delay(p.ended(End::Eof));
        assert!((250..=375).contains(&d), "{d}: floored at min_ms");
        // A huge retry is capped.
        let mut p = policy(OnServerError::Backoff);
        p.set_retry(u64::MAX);
        assert_eq!(delay(p.ended(End::Eof)), 300_000);
    }

    #[test]
    fn clean_eof_backs_off_and_delivered_events_reset_the_backoff() {
        let mut p = policy(OnServerError::Backoff);
        // A server that accepts and closes at once, without events: the delay grows.
        let mut last = 0;
        for _ in 0..4 {
            p.connected();
            let d = delay(p.ended(End::Eof));
            assert!(d > last, "{d} after {last}");
            last = d;
            p.timer();
        }
        assert!(last >= 8000);
        // A connection that delivered events starts over from the reconnection time.
        p.connected();
        p.delivered();
        let d = delay(p.ended(End::Eof));
        assert!((1000..=1500).contains(&d), "{d}");
    }

    #[test]
    fn stops_on_204_4xx_and_wrong_type_whatever_on_server_error_says() {
        for on in [OnServerError::Backoff, OnServerError::Stop] {
            let mut p = policy(on);
            assert!(p.failed(Failure::NoContent) == Action::Stop { reason: StopReason::NoContent });
            // Stopped: bearer changes and stale timers do not revive it.
            assert_eq!(p.bearer(false), None);
            assert_eq!(p.bearer(true), None);
            assert_eq!(p.timer(), None);
            let mut p = policy(on);
            let Response::Failure(f) = classify(404, None) else { panic!() };
            let want = StopReason::Refused(SseError::Status(404));
            assert_eq!(p.failed(f), Action::Stop { reason: want.clone() });
            assert_eq!(want.to_string(), "HTTP 404 (stopped until the config is reloaded)");
        }
    }

    #[test]
    fn on_server_error_stop_stops_on_5xx_and_broken_streams_but_not_on_eof() {
        let mut p = policy(OnServerError::Stop);
        let want = StopReason::ServerError(SseError::Status(500));
        assert_eq!(want.to_string(), "HTTP 500 (on_server_error = \"stop\")");
        assert_eq!(p.failed(server()), Action::Stop { reason: want });
        let mut p = policy(OnServerError::Stop);
        p.connected();
        assert!(matches!(p.ended(End::Error(SseError::Body("reset".into()))), Action::Stop { .. }));
        let mut p = policy(OnServerError::Stop);
        p.connected();
        assert!(matches!(p.ended(End::Eof), Action::Wait { .. }));
        p.timer();
        p.connected();
        assert!(matches!(p.ended(End::IdleTimeout), Action::Wait { .. }));
    }

    #[test]
    fn bearer_up_connects_at_once_and_down_idles() {
        let mut p = Policy::new(OnServerError::Backoff, Tuning::default(), 1);
        assert_eq!(p.start(false), Action::Idle);
        assert_eq!(p.bearer(false), None, "no change");
        assert_eq!(p.bearer(true), Some(Action::Connect));
        p.connected();
        assert_eq!(p.bearer(false), Some(Action::Idle));
        assert_eq!(p.bearer(true), Some(Action::Connect));
        // During a backoff wait, bearer up (after a down) connects without waiting.
        assert!(matches!(p.failed(server()), Action::Wait { .. }));
        assert_eq!(p.bearer(false), Some(Action::Idle));
        assert_eq!(p.timer(), None, "the stale timer does nothing");
        assert_eq!(p.bearer(true), Some(Action::Connect));
        // The failure count survives bearer changes (a flapping bearer cannot hammer a server
        // that keeps failing: every failure still backs off further).
        let d = delay(p.failed(server()));
        assert!(d >= 2000, "{d}");
        // A flap folded into one "up" notification also connects at once.
        assert_eq!(p.bearer(true), Some(Action::Connect));
    }
}
