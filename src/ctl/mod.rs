//! The commands of `otapushctl`, as library functions the binary and tests call.

pub mod bus;
pub mod decode_push;
pub mod decode_sms;
pub mod decode_sse;
pub mod decode_wsp;
pub mod demo;
pub mod encode;
pub mod json;
pub mod mms_bridge;
pub mod private_bus;
pub mod sim;
