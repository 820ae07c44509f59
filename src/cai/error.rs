//! Errors: the D-Bus errors of the Manager interface, and why the service could not start.

use crate::store::StoreError;
use thiserror::Error;

/// The D-Bus errors `org.otapush.Push1.Error.*`. Agents use [`PushError::Rejected`] to refuse a
/// message for good; any other error from `Deliver` means "retry later".
#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "org.otapush.Push1.Error")]
pub enum PushError {
    #[zbus(error)]
    ZBus(zbus::Error),
    /// A filter key that does not exist, has the wrong type or a bad value.
    InvalidFilter(String),
    /// The registration belongs to another connection (or user).
    NotOwner(String),
    /// No registration at that path.
    UnknownRegistration(String),
    /// The caller lacks the privilege or is not allowed by an `[access] rule`.
    AccessDenied(String),
    /// A bad argument other than a filter.
    InvalidArgs(String),
    /// Too many registrations.
    LimitExceeded(String),
    /// The daemon could not do it (store error, shutting down).
    Failed(String),
    /// From an agent's `Deliver`: never send this message to this registration again.
    Rejected(String),
}

impl From<zbus::fdo::Error> for PushError {
    fn from(e: zbus::fdo::Error) -> Self {
        PushError::ZBus(zbus::Error::FDO(Box::new(e)))
    }
}

impl From<zbus::zvariant::Error> for PushError {
    fn from(e: zbus::zvariant::Error) -> Self {
        PushError::ZBus(zbus::Error::Variant(e))
    }
}

impl From<StoreError> for PushError {
    fn from(e: StoreError) -> Self {
        log::error!("store: {e}");
        PushError::Failed(format!("store: {e}"))
    }
}

/// Why the Push-CAI service could not start or a submission failed.
#[derive(Debug, Error)]
pub enum Error {
    #[error("the bus name org.otapush.Push1 is already owned on this bus (is another otapushd running?)")]
    NameTaken,
    #[error("D-Bus: {0}")]
    Bus(#[from] zbus::Error),
    #[error("{0}")]
    Store(#[from] StoreError),
}
