//! Push-CAI: registrations, routing, per-registration queues and the D-Bus service
//! (docs/dbus-api.md).
//!
//! Pure parts: [`filter`] (filter keys), [`route`] (which queues a message goes to),
//! [`access`] (who may do what), [`meta`] (the `meta` dictionary), [`delivery`] (verdicts and
//! backoff). The shell: [`registry`] (live registrations), the delivery task per registration,
//! the Manager interface and [`start`] / [`CaiHandle`]. Queues live in the [`crate::store`];
//! memory holds only the registrations and one message per delivery task.
//!
//! Message ids follow [`crate::message::sms_message_id`] and
//! [`crate::message::event_message_id`]: derived from the message, so stable across
//! redeliveries, restarts and both paths, and the store's dedup window works on them.

pub mod access;
pub mod activation;
pub mod client;
pub mod credentials;
mod deliverer;
pub mod delivery;
mod error;
pub mod filter;
mod lease;
pub use otapush_proto::lifetime;
mod manager;
pub mod meta;
pub mod registry;
pub use otapush_proto::route;
mod service;

pub use error::{Error, PushError};
pub use manager::MAX_INJECTED_PDU;
pub use service::{
    bus_builder, connect, start, start_on, CaiHandle, Connected, EventSourceHooks, ServiceHooks, Settings,
};

/// The well-known bus name of the daemon.
pub const BUS_NAME: &str = "org.otapush.Push1";
/// The Manager's object path.
pub const OBJECT_PATH: &str = "/org/otapush/Push1";
pub const AGENT_INTERFACE: &str = "org.otapush.Push1.Agent";
