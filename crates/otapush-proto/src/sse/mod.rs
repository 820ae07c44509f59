//! Server-sent events (WHATWG HTML §9.2): the `text/event-stream` parser and encoder.

pub mod encode;
pub mod parser;

pub use parser::{parse_body, Event, Limits, Output, ParsedBody, Parser};
