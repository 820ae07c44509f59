//! otapush's protocol cores, pure: bytes and time in (as values), values out. No I/O, no clock
//! reads, no async runtime; the daemon crate (`otapush`) holds the shells around them.
//!
//! ```text
//! sms (TS 23.040 / TS 23.038) → wsp (WAP-230) ; sse (WHATWG HTML §9.2)
//! hex, time: the helpers they share
//! ```
#![forbid(unsafe_code)]
#![warn(unreachable_pub, missing_docs)]

pub mod hex;
pub mod modem;
pub mod sms;
pub mod sse;
pub mod time;
pub mod wsp;
