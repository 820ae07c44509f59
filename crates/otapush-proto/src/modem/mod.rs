//! The modem's pure parts: the state the daemon shows.

pub mod state;

pub use state::ModemState;
