//! `org.otapush.Push1.Simulator`, served only with `device = "sim"`: the simulated network
//! (docs/dbus-api.md).

use super::SimHandle;

/// The D-Bus face of a [`SimHandle`].
pub struct SimulatorIface {
    pub sim: SimHandle,
}

/// Where [`SimulatorIface`] is served.
pub const SIMULATOR_PATH: &str = "/org/otapush/Push1/Simulator";

#[zbus::interface(name = "org.otapush.Push1.Simulator")]
impl SimulatorIface {
    /// The network delivers this SMS PDU (SMSC prefix included): the simulated modem stores it
    /// and signals `+CMTI` (or `+CMT`), and the real AT engine reads it.
    fn deliver(&self, pdu: Vec<u8>) {
        self.sim.deliver(&pdu);
    }
    /// The modem resets (prints its boot URCs and forgets volatile settings).
    fn reset(&self) {
        self.sim.reset();
    }
    /// The modem is unplugged (`true`) or plugged back in (`false`).
    fn unplug(&self, gone: bool) {
        if gone {
            self.sim.unplug()
        } else {
            self.sim.replug()
        }
    }
    /// The modem's SMS storage fills up.
    fn fill_storage(&self) {
        self.sim.fill_storage();
    }
}
