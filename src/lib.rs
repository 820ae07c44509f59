//! otapush: the terminal-side push client for embedded Linux handsets.
//!
//! The modules follow the data path. Each protocol layer is a pure core (bytes and time in,
//! values and actions out) with a thin async shell around it:
//!
//! ```text
//! modem (AT engine, intake, profiles, simulator) → sms (TS 23.040/23.038) → wdp (WAP-259)
//!   → wsp (WAP-230) → cai (routing, queues, D-Bus)
//! sse (event-stream parser, HTTP client, reconnect policy) + bearer → cai
//! store (durable state) under intake, reassembly, queues and event history
//! ```
#![forbid(unsafe_op_in_unsafe_fn)]

pub use otapush_proto::backoff;
pub mod bearer;
pub mod cai;
pub mod config;
pub mod ctl;
pub mod daemon;
pub mod eventsource;
pub use otapush_proto::hex;
pub mod logging;
pub mod memory;
pub use otapush_proto::message;
pub mod modem;
pub use otapush_proto::receive;
pub use otapush_proto::sms;
pub mod sse;
pub mod store;
pub mod time;
pub use otapush_proto::wdp;
pub use otapush_proto::wsp;
