//! What otapush's integration tests share, one module per concern: waiting ([`eventually`]),
//! private buses ([`bus`]), the `otapushd` process and its rig ([`daemon`]), the simulated modem
//! on a pty ([`modem`]), loopback HTTP origins ([`http`]), client agents ([`agents`], [`cai`]),
//! PDU builders ([`pdu`]), fault bookkeeping ([`faults`]), other uids ([`roles`]), captured logs
//! ([`logs`]) and the repository's files and host tools ([`packaging`]).

pub mod agents;
pub mod bus;
pub mod cai;
pub mod daemon;
pub mod eventually;
pub mod faults;
pub mod http;
pub mod logs;
pub mod modem;
pub mod packaging;
pub mod pdu;
pub mod roles;

use std::path::Path;

/// The repository root (the `otapush` package).
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).expect("crates/test-support in the repository")
}
