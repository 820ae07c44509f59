//! The AT command engine (ITU-T V.250, 3GPP TS 27.007 and TS 27.005): framing, final result
//! codes, URCs, response grammars and the I/O-free engine that ties them together.

pub mod command;
pub mod engine;
pub mod framer;
pub mod pdu;
pub mod response;
pub mod result;
pub mod urc;

pub use command::Command;
pub use engine::{AtEngine, CommandId, Event, Response, ResponseLine};
pub use pdu::RawPdu;
pub use result::FinalResult;
pub use urc::{PduUrcKind, Urc};
