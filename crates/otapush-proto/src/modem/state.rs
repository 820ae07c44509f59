//! The modem's state as the daemon shows it (D-Bus property `ModemState`).

use std::fmt;

/// What the modem driver is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModemState {
    /// The device is absent (unplugged, or not yet created); waiting for it.
    NoDevice,
    /// The port is open and the init sequence runs.
    Initializing,
    /// Receiving SMS.
    Ready,
    /// The SIM needs a PIN or PUK; nothing is retried until it reports `+CPIN: READY`.
    SimLocked,
    /// The modem reported a reset; re-initialising.
    Resetting,
    /// Something is wrong; the text (starting `error: `) says what.
    Error(String),
}

impl ModemState {
    /// `error: <reason>`.
    pub fn error(reason: impl fmt::Display) -> ModemState {
        ModemState::Error(format!("error: {reason}"))
    }

    /// The D-Bus property value: `no-device`, `initializing`, `ready`, `sim-locked`,
    /// `resetting`, or `error: …`.
    pub fn as_str(&self) -> &str {
        match self {
            ModemState::NoDevice => "no-device",
            ModemState::Initializing => "initializing",
            ModemState::Ready => "ready",
            ModemState::SimLocked => "sim-locked",
            ModemState::Resetting => "resetting",
            ModemState::Error(s) => s,
        }
    }
}

impl fmt::Display for ModemState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings() {
        assert_eq!(ModemState::Ready.as_str(), "ready");
        assert_eq!(ModemState::error("no SIM card").as_str(), "error: no SIM card");
        assert_eq!(ModemState::SimLocked.to_string(), "sim-locked");
    }
}
