//! The modem: an AT engine (pure core + tokio-serial shell), the SMS intake flow, board
//! profiles, and a simulated modem.
//!
//! The daemon calls [`run_modem`] with a [`Transport`] (a tty path or the simulator), a
//! [`Profile`], a channel for [`ReceivedPdu`]s and a watch for [`ModemState`].

pub use otapush_proto::modem::at;
pub mod device;
pub mod driver;
pub use otapush_proto::modem::intake;
#[cfg(test)]
mod intake_sim_tests;
pub use otapush_proto::modem::pending;
pub mod profile;
pub mod resume;
pub mod sim;
pub use otapush_proto::modem::state;

pub use driver::{run_modem, run_modem_with, run_modem_with_commands, ModemCommand, Settings, Transport};
pub use intake::StoreRetry;
pub use otapush_proto::modem::Location;
pub use profile::{LoadProfile, Profile, ProfileError};
pub use sim::{spawn_sim, SimHandle, SimOptions, SimQuirks, SimTransport};
pub use state::ModemState;

use tokio::sync::oneshot;

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
