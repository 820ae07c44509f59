//! Server-sent events (WHATWG HTML §9.2): the event-stream parser, the HTTP client and its
//! reconnect policy.

pub mod encode;
pub mod parser;

pub use parser::{parse_body, Event, Limits, Output, ParsedBody, Parser};
