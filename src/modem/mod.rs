//! The modem: an AT engine (pure core + tokio-serial shell), the SMS intake flow, board
//! profiles, and a simulated modem.
//!
//! The daemon calls [`run_modem`] with a [`Transport`] (a tty path or the simulator), a
//! [`Profile`], a channel for [`ReceivedPdu`]s and a watch for [`ModemState`].

pub mod at;
pub mod device;
pub mod driver;
pub mod intake;
pub mod pending;
pub mod profile;
pub mod resume;
pub mod sim;
pub use otapush_proto::modem::state;

pub use driver::{run_modem, run_modem_with, run_modem_with_commands, ModemCommand, Settings, Transport};
pub use intake::StoreRetry;
pub use profile::{Profile, ProfileError};
pub use sim::{spawn_sim, SimHandle, SimOptions, SimQuirks, SimTransport};
pub use state::ModemState;

use std::fmt;
use tokio::sync::oneshot;

/// A message slot on the modem: a storage (`"SM"`, `"ME"`, …, TS 27.005 §3.2.2 `<mem1>`) and
/// an index in it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    pub mem: String,
    pub index: u32,
}

impl Location {
    pub fn new(mem: impl Into<String>, index: u32) -> Location {
        Location { mem: mem.into(), index }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.mem, self.index)
    }
}

/// One SMS PDU read from the modem, handed to durable storage. The intake deletes it from the
/// modem (`+CMGD`) or acknowledges it (`+CNMA`) only after `durable` answers `Ok`.
#[derive(Debug)]
pub struct ReceivedPdu {
    /// The PDU as the modem printed it, decoded from hex, with the SMSC prefix.
    pub pdu: Vec<u8>,
    /// Where it was stored; `None` for a routed `+CMT`.
    pub location: Option<Location>,
    /// Answered once the PDU is durable (`Ok`) or could not be made durable (`Err`, reason).
    pub durable: oneshot::Sender<Result<(), String>>,
}
