//! The local EventSource endpoint (docs/eventsource.md): applications on the device read their
//! events as `text/event-stream` (WHATWG HTML §9.2) from a Unix socket or a loopback TCP port.
//!
//! - [`request`]: the pure core: request head + peer → decision (route, Last-Event-ID, access,
//!   CORS).
//! - [`frame`]: the pure frames (`retry:` once, events, heartbeat comments).
//! - [`select`]: a subscriber's pub/sub selection (`?event=&topic=&group=`).
//! - [`hub`]: the in-memory, bounded fan-out per application id, fed after each commit.
//! - [`token`]: the per-application tokens that `IssueEventSourceToken` hands out.
//! - `server` (feature `eventsource`): the hyper shell over the listeners.

pub mod frame;
pub mod hub;
pub mod request;
pub mod select;
#[cfg(feature = "eventsource")]
pub mod server;
pub mod token;

pub use hub::{Hub, HubLimits, Subscription};
#[cfg(feature = "eventsource")]
pub use server::{spawn, Endpoint, Settings};
pub use token::Tokens;

/// The path prefix: `/v1/events/<application id>[/<stream>]`.
pub const PATH_PREFIX: &str = "/v1/events/";
