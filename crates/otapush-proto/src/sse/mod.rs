//! Server-sent events (WHATWG HTML §9.2): the `text/event-stream` parser and encoder, the
//! reconnect policy, and what a stream reports (its events, status and errors).

pub mod encode;
pub mod error;
pub mod parser;
pub mod policy;
pub mod status;

pub use error::{SseError, StopReason};
pub use parser::{parse_body, Event, Limits, Output, ParsedBody, Parser};
pub use status::{StreamEvent, StreamState, StreamStatus};
