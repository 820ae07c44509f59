//! Server-sent events (WHATWG HTML §9.2): the event-stream parser and encoder (pure, used by the
//! HTTP stream and by `text/event-stream` bodies that arrive by WAP Push), the reconnect policy
//! (pure), and the HTTP client shell (feature `sse-http`).

#[cfg(feature = "sse-http")]
pub mod client;
pub use otapush_proto::sse::{encode, parser};
pub mod policy;
pub mod status;

#[cfg(feature = "sse-http")]
pub use client::{spawn_stream, spawn_stream_with, StreamHandle, StreamOptions};
pub use parser::{parse_body, Event, Limits, Output, ParsedBody, Parser};
pub use status::{StreamEvent, StreamState, StreamStatus};
