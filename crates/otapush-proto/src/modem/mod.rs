//! The modem's pure parts: the AT engine, the SMS intake, the stored-message notifications
//! still to read, the state the daemon shows and the board profiles' values.

pub mod at;
pub mod intake;
pub mod pending;
pub mod profile;
pub mod state;

pub use state::ModemState;

use std::fmt;

/// A message slot on the modem: a storage (`"SM"`, `"ME"`, …, TS 27.005 §3.2.2 `<mem1>`) and
/// an index in it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    /// The storage, as `+CPMS` names it.
    pub mem: String,
    /// The index in it (`+CMTI` `<index>`).
    pub index: u32,
}

impl Location {
    /// A slot.
    pub fn new(mem: impl Into<String>, index: u32) -> Location {
        Location { mem: mem.into(), index }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.mem, self.index)
    }
}
