//! What a connection-oriented stream reports: its events and its status. Plain data, compiled
//! without the `sse-http` feature too, so an SMS-only daemon reports its streams as stopped.

use super::{Event, SseError, StopReason};

/// One event from a stream, for the daemon to deduplicate and deliver. Its commit moves the
/// stream's Last-Event-ID in the store, and the daemon's copy that the next connect sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamEvent {
    /// The `[[sse]] name`.
    pub stream: String,
    /// The event.
    pub event: Event,
    /// When the stream task read it (Unix ms) and its number among the task's events: together
    /// they name an event without an id of its own, however long it waits for the daemon.
    pub received_ms: u64,
    /// The event's number among the task's events.
    pub seq: u64,
}

/// Where a stream is (the `Streams` property and `otapushctl status`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StreamState {
    /// The bearer is down: no connection, events come by SMS.
    #[default]
    Idle,
    /// Connecting (a request in flight).
    Connecting,
    /// Connected: reading events.
    Connected,
    /// Waiting to reconnect until `until_ms` (Unix ms); `attempt` consecutive failures so far.
    BackingOff {
        /// When the wait ends.
        until_ms: u64,
        /// Consecutive failures.
        attempt: u32,
    },
    /// Stopped until the config is reloaded (or for good, after 204).
    Stopped {
        /// Why.
        reason: StopReason,
    },
}

impl StreamState {
    /// A short name: `idle`, `connecting`, `connected`, `backing_off`, `stopped`.
    pub fn as_str(&self) -> &'static str {
        match self {
            StreamState::Idle => "idle",
            StreamState::Connecting => "connecting",
            StreamState::Connected => "connected",
            StreamState::BackingOff { .. } => "backing_off",
            StreamState::Stopped { .. } => "stopped",
        }
    }
}

/// The status of one stream, published on a watch channel.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamStatus {
    /// Where the stream is.
    pub state: StreamState,
    /// Events received.
    pub events: u64,
    /// Connection attempts (requests started, redirects not counted).
    pub attempts: u64,
    /// Attempts that became a stream (200 `text/event-stream`).
    pub connects: u64,
    /// Failed attempts and streams that ended by an error or the idle timeout.
    pub errors: u64,
    /// The last failure.
    pub last_error: Option<SseError>,
    /// The reconnection time the server set with `retry:`, to persist.
    pub retry_ms: Option<u64>,
    /// Events dropped for breaking the size cap.
    pub oversized: u64,
}
