//! Server-sent events (WHATWG HTML §9.2): the event-stream parser (pure, used by the HTTP stream
//! and by `text/event-stream` bodies that arrive by WAP Push), the reconnect policy (pure), and
//! the HTTP client shell (feature `sse-http`). The encoder is a test tool of the parser's
//! round-trip properties.

#[cfg(feature = "sse-http")]
pub mod client;
pub use otapush_proto::sse::{encode, error, parser, policy, status};

#[cfg(feature = "sse-http")]
pub use client::{spawn_stream, spawn_stream_with, StreamHandle, StreamOptions};
pub use error::{SseError, StopReason};
pub use parser::{parse_body, Event, Limits, Output, ParsedBody, Parser};
pub use status::{StreamEvent, StreamState, StreamStatus};
